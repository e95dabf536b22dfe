"""The steer-bake use case (ADR 24) with fakes: every re-check at the moment of effect can refuse, a
refused promotion is audited with who and why, and only a bake that passes them all is answered."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.adapters.endpoints import EndpointState
from mlcp.errors import InvalidEvent
from mlcp.policy import parse_policy
from mlcp.policy.model import Policy
from mlcp.ports import TaskAnswer
from mlcp.usecases.steer_bake import SteerDeps, SteerRequest, freeze_in_force, steer_bake

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 7, 22, 0, tzinfo=dt.UTC)
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/scoring-model/1"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:deployment:run-1"


def _policy(**changes: Any) -> Policy:
    document = yaml.safe_load((ROOT / "scenarios/policies/early-promotion.yaml").read_text())
    document.update(changes)
    return parse_policy(document, "test")


class Bakes:
    def __init__(self, bake: dict[str, str] | None) -> None:
        self.item = bake
        self.claims: list[tuple[str, str]] = []

    def bake(self, endpoint: str) -> dict[str, str] | None:
        return self.item

    def claim_bake(self, endpoint: str, task_token: str, *, action: str, by: str, reason: str) -> bool:
        if self.item is None or self.item.get("ended_by") or self.item["task_token"] != task_token:
            return False
        self.item = {**self.item, "ended_by": action, "ended_by_identity": by, "end_reason": reason}
        self.claims.append((action, by))
        return True


class Hosting:
    def __init__(self, status: str = "InService", config: str = "scoring-shift") -> None:
        self.state = EndpointState(name="scoring-prod", status=status, config_name=config)

    def endpoint(self, name: str) -> EndpointState:
        return self.state


class Policies:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.forced: list[bool] = []

    def get(self, *, force_fetch: bool = False) -> Policy:
        self.forced.append(force_fetch)
        return self.policy


class Audit:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, **record: Any) -> None:
        self.records.append(record)


class Callbacks:
    """``TaskCallbacks``: the answers sent, or every token gone (the bake's wait timed out)."""

    def __init__(self, gone: bool = False) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.gone = gone

    def _send(self, kind: str, **kwargs: Any) -> TaskAnswer:
        if self.gone:
            return TaskAnswer(gone="TaskTimedOut")
        self.sent.append((kind, kwargs))
        return TaskAnswer()

    def succeed(self, token: str, output: str) -> TaskAnswer:
        return self._send("Success", taskToken=token, output=output)

    def fail(self, token: str, error: str, cause: str) -> TaskAnswer:
        return self._send("Failure", taskToken=token, error=error, cause=cause)

    def heartbeat(self, token: str) -> TaskAnswer:
        return self._send("Heartbeat", taskToken=token)


def _bake(**changes: str) -> dict[str, str]:
    bake = {
        "task_token": "token-1",
        "execution": EXECUTION,
        "index": "0",
        "percent": "10",
        "bake_seconds": "600",
        "started_at": "2026-12-07T21:55:00Z",
        "package_arn": PACKAGE,
        "config": "scoring-shift",
        "strategy": "shift",
    }
    return {**bake, **changes}


def _deps(bake: dict[str, str] | None = None, *, policy: Policy | None = None, **parts: Any) -> SteerDeps:
    return SteerDeps(
        bakes=parts.get("bakes") or Bakes(bake if bake is not None else _bake()),
        hosting=parts.get("hosting") or Hosting(),  # type: ignore[arg-type]
        policies=Policies(policy or _policy()),
        audit=parts.get("audit") or Audit(),  # type: ignore[arg-type]
        callbacks=parts.get("callbacks") or Callbacks(),
        clock=lambda: NOW,
    )


def _request(action: str = "promote", **changes: Any) -> SteerRequest:
    raw = {
        "action": action,
        "endpoint": "scoring-prod",
        "execution": EXECUTION,
        "index": 0,
        "package_arn": PACKAGE,
        "reason": "flat errors",
        "requested_by": "arn:aws:iam::123456789012:user/on-call",
        **changes,
    }
    return SteerRequest.parse(raw)


def test_a_promotion_that_passes_every_check_answers_the_token_once() -> None:
    deps = _deps()
    answer = steer_bake(_request(), deps=deps)
    assert answer["outcome"] == "promoted"
    ((kind, sent),) = deps.callbacks.sent  # type: ignore[attr-defined]
    assert (kind, sent["taskToken"]) == ("Success", "token-1")
    (record,) = deps.audit.records  # type: ignore[attr-defined]
    assert (record["action"].value, record["actor"]) == (
        "deployment.promote_requested",
        "arn:aws:iam::123456789012:user/on-call",
    )
    assert record["evidence"]["reason"] == "flat errors"
    assert deps.policies.forced == [True]  # type: ignore[attr-defined]  # the policy in force, not a cache
    again = steer_bake(_request(), deps=deps)
    assert again["outcome"] == "refused"
    assert "already ended (promote by" in again["refused"]
    assert len(deps.callbacks.sent) == 1  # type: ignore[attr-defined]


def test_an_abort_fails_the_token_with_the_error_the_workflow_catches() -> None:
    deps = _deps(
        policy=_policy(change_freezes=[{"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}])
    )
    answer = steer_bake(_request("abort", reason="complaints"), deps=deps)
    assert answer["outcome"] == "aborted"  # a freeze never blocks taking a candidate back
    ((kind, sent),) = deps.callbacks.sent  # type: ignore[attr-defined]
    assert (kind, sent["error"]) == ("Failure", "DeploymentAborted")
    assert sent["cause"] == "aborted by arn:aws:iam::123456789012:user/on-call: complaints"
    assert [r["action"].value for r in deps.audit.records] == ["deployment.abort_requested"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("bake", "hosting", "policy", "why"),
    [
        (_bake(execution="arn:other"), None, None, "nothing is baking at step 1"),
        (_bake(index="1"), None, None, "nothing is baking at step 1"),
        (_bake(package_arn=PACKAGE.replace("/1", "/2")), None, None, "the candidate changed"),
        (None, Hosting(status="Updating"), None, "the endpoint is Updating on scoring-shift"),
        (None, Hosting(config="scoring-rollback"), None, "not InService on the bake's config"),
        (None, None, "tier-off", "tier managed does not allow ending a bake early"),
        (
            None,
            None,
            "frozen",
            "a change freeze 2026-12-01T00:00:00+00:00 to 2027-01-01T00:00:00+00:00 (year end)",
        ),
    ],
)
def test_every_check_at_the_moment_of_effect_refuses_and_the_refusal_is_audited(
    bake: dict[str, str] | None, hosting: Hosting | None, policy: str | None, why: str
) -> None:
    chosen = None
    if policy == "frozen":
        chosen = _policy(
            change_freezes=[
                {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z", "reason": "year end"}
            ]
        )
    elif policy == "tier-off":
        document = yaml.safe_load((ROOT / "scenarios/policy.yaml").read_text())
        chosen = parse_policy(document, "test")
    deps = _deps(bake, policy=chosen, hosting=hosting)
    answer = steer_bake(_request(), deps=deps)
    assert answer["outcome"] == "refused"
    assert why in answer["refused"]
    assert deps.callbacks.sent == []  # type: ignore[attr-defined]
    assert deps.bakes.claims == []  # type: ignore[attr-defined]
    (record,) = deps.audit.records  # type: ignore[attr-defined]
    assert record["action"].value == "deployment.promote_refused"
    assert (record["actor"], record["evidence"]["reason"]) == (
        "arn:aws:iam::123456789012:user/on-call",
        "flat errors",
    )
    assert why in record["evidence"]["refused"]


def test_a_token_that_timed_out_meanwhile_is_a_refusal_not_an_error() -> None:
    deps = _deps(callbacks=Callbacks(gone=True))
    answer = steer_bake(_request(), deps=deps)
    assert answer["outcome"] == "refused"
    assert "the bake ended meanwhile" in answer["refused"]
    assert [r["action"].value for r in deps.audit.records] == [  # type: ignore[attr-defined]
        "deployment.promote_requested",
        "deployment.promote_refused",
    ]


def test_a_freeze_does_not_apply_to_a_tier_whose_freeze_gate_is_off() -> None:
    window = [{"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}]
    policy = _policy(change_freezes=window)
    assert freeze_in_force(policy, "scoring-model", NOW) is not None
    assert (
        freeze_in_force(policy, "scoring-model", dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) is None
    )  # end exclusive
    document = yaml.safe_load((ROOT / "scenarios/policies/early-promotion.yaml").read_text())
    document["tiers"]["managed"]["gates"]["change_freeze"] = {"enabled": False}
    assert (
        freeze_in_force(parse_policy({**document, "change_freezes": window}, "t"), "scoring-model", NOW)
        is None
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"action": "pause"},
        {"action": "promote", "endpoint": "e"},
        {"action": "abort", "endpoint": "e", "index": "0"},
    ],
)
def test_a_malformed_request_is_rejected_with_a_reason(raw: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent, match="steer-bake"):
        SteerRequest.parse(raw)
