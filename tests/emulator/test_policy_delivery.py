"""mlcp policy publish | status | migrate against the AppConfig fills, and the functions' store
(AppConfig first, the legacy SSM parameter until the first deployment)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mlcp.adapters import clients
from mlcp.adapters.policy_appconfig import AppConfigPolicyStore, policy_source_from_env
from mlcp.policy import PolicyError, canonical_json, parse_policy
from mlcp_cli.commands.policy import DeliveryTarget, migrate_from_parameter, publish_to_appconfig
from mlcp_cli.emulator.gaps import GapFills
from mlcp_cli.policy_delivery import AppConfigTarget, publish, status, write_status

from .test_gaps_appconfig import POLICY, _setup, _validator

FREEZE = [{"start": "2026-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z", "reason": "incident"}]


def _target(ids: dict[str, str]) -> DeliveryTarget:
    return DeliveryTarget(
        AppConfigTarget(ids["app"], ids["env"], ids["profile"]), ids["immediate"], ids["gradual"]
    )


def _file(tmp_path: Path, name: str, **changes: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({**POLICY, **changes}))
    return path


def _store(ids: dict[str, str]) -> AppConfigPolicyStore:
    return AppConfigPolicyStore(ids["app"], ids["env"], ids["profile"], client=boto3.client("appconfigdata"))


def test_first_publish_is_immediate_then_gradual_then_a_freeze_is_immediate(
    fills: GapFills, tmp_path: Path
) -> None:
    ids = _setup(validator=_validator(fills))
    target, ac = _target(ids), boto3.client("appconfig")
    first = publish_to_appconfig(ac, target, _file(tmp_path, "a.yaml"))
    store = _store(ids)
    assert (first.strategy, first.reason) == (
        ids["immediate"],
        "the first deployment: nothing to roll back to",
    )
    assert store.get().groups[0].tier == "low"

    changed = publish_to_appconfig(
        ac, target, _file(tmp_path, "b.yaml", groups=[{"match": "x-*", "tier": "low"}])
    )
    assert changed.strategy == ids["gradual"]
    freeze = publish_to_appconfig(ac, target, _file(tmp_path, "c.yaml", change_freezes=FREEZE))
    assert (freeze.strategy, freeze.reason, freeze.stopped) == (
        ids["immediate"],
        "a new change freeze: applies at once",
        [changed.deployment],
    )
    # The very next read has the freeze: no cache TTL, one GetLatestConfiguration per decision.
    polls = store.polls
    assert len(store.get().change_freezes) == 1
    assert store.polls == polls + 1

    report = status(ac, target.appconfig)
    assert report["deployed"]["version"] == freeze.version
    assert report["rolling_out"] is None
    stopped = next(d for d in report["deployments"] if d["deployment"] == changed.deployment)
    assert stopped["state"] == "ROLLED_BACK"
    assert stopped["why"] == "Deployment stopped by the user"
    out = io.StringIO()
    write_status(report, out)
    assert f"deployed:    version {freeze.version}" in out.getvalue()


def test_a_refused_policy_is_not_deployed_and_the_previous_stays(fills: GapFills, tmp_path: Path) -> None:
    ids = _setup(validator=_validator(fills))
    target, ac = _target(ids), boto3.client("appconfig")
    publish_to_appconfig(ac, target, _file(tmp_path, "a.yaml"))
    # What reaches AppConfig is what its validator judges, whoever uploads it (the console, a script).
    hand_edited = dict(POLICY, tiers={"low": {"auto_approve": True, "human_approval": True}})
    with pytest.raises(
        PolicyError, match=r"the new version was refused: BadRequestException.*cannot both be true"
    ):
        publish(
            _RawPolicyClient(ac, hand_edited),
            target.appconfig,
            parse_policy(POLICY, "ok"),
            immediate_strategy=ids["immediate"],
            gradual_strategy=ids["gradual"],
            urgent=True,
        )
    assert _store(ids).get().tiers["low"].auto_approve is True
    report = status(ac, target.appconfig)
    assert report["deployed"]["version"] == 1
    assert len(report["deployments"]) == 1


class _RawPolicyClient:
    """An AppConfig client that uploads ``document`` instead of the canonical policy (a hand-edited
    version, as someone with the console could create)."""

    def __init__(self, client: Any, document: dict[str, Any]) -> None:
        self._client = client
        self._document = document

    def create_hosted_configuration_version(self, **kwargs: Any) -> Any:
        import json

        return self._client.create_hosted_configuration_version(
            **{**kwargs, "Content": json.dumps(self._document).encode()}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_store_serves_the_legacy_parameter_until_the_first_deployment(
    fills: GapFills, tmp_path: Path
) -> None:
    clients.reset()  # the fallback reads through the cached client: one made under another test's mock
    ids = _setup()
    ssm = boto3.client("ssm")
    legacy = parse_policy(dict(POLICY, groups=[{"match": "legacy-*", "tier": "low"}]), "legacy")
    ssm.put_parameter(Name="/mlcp/policy", Value=canonical_json(legacy), Type="String")
    store = policy_source_from_env(
        {
            "MLCP_POLICY_APPCONFIG": f"{ids['app']}/{ids['env']}/{ids['profile']}",
            "MLCP_POLICY_PARAMETER": "/mlcp/policy",
        }
    )
    assert store.get().groups[0].match == "legacy-*"
    # migrate: the parameter's policy, unchanged, deployed at once
    result = migrate_from_parameter(ssm, boto3.client("appconfig"), _target(ids), "/mlcp/policy")
    assert result.strategy == ids["immediate"]
    assert store.get() == legacy
    gradual = publish_to_appconfig(boto3.client("appconfig"), _target(ids), _file(tmp_path, "new.yaml"))
    assert gradual.strategy == ids["gradual"]
    fills.advance(16 * 60)  # 4 minutes of growth and 10 of bake, on the virtual clock
    assert store.get().groups[0].match == "*"


def test_store_without_a_deployment_or_fallback_says_so(fills: GapFills) -> None:
    ids = _setup()
    with pytest.raises(PolicyError, match="no policy is deployed to this environment yet"):
        _store(ids).get()
