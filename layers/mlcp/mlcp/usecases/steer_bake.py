"""An operator ends a managed bake early (``mlcp promote``) or aborts it (``mlcp abort``), ADR 24.

The bake of a managed deployment (multi-variant shift, serverless bake) is a task token wait; the
shift-traffic task parked its token in the control-plane table. This use case answers that token
after re-checking everything at the moment of effect: the bake is still the one the operator saw
(same execution and step, nobody ended it), the candidate is unchanged and the endpoint still serves
the bake's config; for a promotion also the policy read now (the tier's ``deployment.early_promotion``,
no change freeze in force for the tier). The bake is claimed with a conditional write (one answer per
bake), audited with who and why, then answered: SendTaskSuccess (the bake ends as if its time had run
out: alarms, analysis, next step) or SendTaskFailure ``DeploymentAborted`` (the workflow rolls back).
A refused promotion is audited ``deployment.promote_refused``; none of this counts in the
change-failure rate (only deployment outcomes do).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any, Literal, Protocol

from mlcp.accounts import account_stream
from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.audit import AuditAction
from mlcp.errors import InvalidEvent
from mlcp.policy.model import Policy
from mlcp.ports import AuditLog, PolicySource, TaskCallbacks
from mlcp.records import record_class

Action = Literal["promote", "abort"]
_PACKAGE = re.compile(r"model-package/(?P<group>[^/]+)/(?P<version>\d+)$")


class Refused(Exception):
    """The bake cannot be steered now; the message says why, in an operator's words."""


class BakeRecords(Protocol):
    def bake(self, endpoint: str) -> dict[str, str] | None: ...

    def claim_bake(self, endpoint: str, task_token: str, *, action: str, by: str, reason: str) -> bool: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class SteerDeps:
    bakes: BakeRecords
    hosting: SageMakerHosting
    policies: PolicySource
    audit: AuditLog
    callbacks: TaskCallbacks
    clock: Callable[[], dt.datetime]
    #: The control plane's own account: the only one whose bakes are steered (ADR 36).
    home_account: str | None = None


@record_class
class SteerRequest:
    """What the operator saw and asks for (``mlcp promote`` / ``mlcp abort`` send it)."""

    action: Action
    endpoint: str
    execution: str
    index: int
    package_arn: str
    reason: str
    requested_by: str
    account: str | None = None
    """The account of the endpoint (``mlcp`` sends it; absent: the control plane's own)."""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> SteerRequest:
        """The request, or ``InvalidEvent`` naming what is missing or wrong."""
        action = raw.get("action")
        if action not in ("promote", "abort"):
            raise InvalidEvent(f"steer-bake: action must be promote or abort, got {action!r}")
        missing = [
            k for k in ("endpoint", "execution", "package_arn", "reason", "requested_by") if not raw.get(k)
        ]
        if missing or not isinstance(raw.get("index"), int):
            raise InvalidEvent(f"steer-bake: missing or invalid {', '.join(missing) or 'index'}")
        account = raw.get("account")
        if account is not None and not (
            isinstance(account, str) and len(account) == 12 and account.isdigit()
        ):
            raise InvalidEvent(f"steer-bake: account must be a 12-digit account id, got {account!r}")
        return cls(
            action,
            str(raw["endpoint"]),
            str(raw["execution"]),
            int(raw["index"]),
            str(raw["package_arn"]),
            str(raw["reason"]),
            str(raw["requested_by"]),
            account,
        )


def freeze_in_force(policy: Policy, group: str, now: dt.datetime) -> str | None:
    """The change freeze in force for ``group``'s tier at ``now`` (None: none, or the tier's
    ``change_freeze`` gate is off). Start inclusive, end exclusive, as the gate has it."""
    matched = policy.tier_for(group)
    if matched is not None and not matched[1].gates.change_freeze.enabled:
        return None
    for freeze in policy.change_freezes:
        if freeze.start <= now < freeze.end:
            why = f" ({freeze.reason})" if freeze.reason else ""
            return f"change freeze {freeze.start.isoformat()} to {freeze.end.isoformat()}{why}"
    return None


def _check(request: SteerRequest, deps: SteerDeps) -> dict[str, str]:
    """The bake the operator saw, re-read now; ``Refused`` with the reason otherwise."""
    endpoint = request.endpoint
    if request.account is not None and request.account != deps.home_account:
        # Bakes are parked under the home endpoint's name only (a member refuses managed shifting):
        # steering one here would answer the home endpoint's bake for another account's request.
        raise Refused(
            f"{endpoint} (account {request.account}): managed bakes run only in the control plane's own "
            f"account {deps.home_account or '(unknown)'}; a member's deployment bakes as a SageMaker "
            "blue/green update, which this function cannot steer"
        )
    bake = deps.bakes.bake(endpoint)
    if bake is None or bake.get("execution") != request.execution or bake.get("index") != str(request.index):
        raise Refused(
            f"{endpoint}: nothing is baking at step {request.index + 1} of that deployment any more; see mlcp status"
        )
    if bake.get("ended_by"):
        raise Refused(
            f"{endpoint}: this bake was already ended ({bake['ended_by']} by {bake.get('ended_by_identity')}: "
            f"{bake.get('end_reason')})"
        )
    if bake.get("package_arn") != request.package_arn:
        raise Refused(f"{endpoint}: the candidate changed since the bake started; see mlcp status")
    state = deps.hosting.endpoint(endpoint)
    if state is None or state.status != "InService" or state.config_name != bake.get("config"):
        where = f"{state.status} on {state.config_name}" if state else "gone"
        raise Refused(
            f"{endpoint}: the endpoint is {where}, not InService on the bake's config {bake.get('config')}"
        )
    if request.action == "promote":
        match = _PACKAGE.search(request.package_arn)
        group = match["group"] if match else ""
        policy = deps.policies.get(force_fetch=True)
        matched = policy.tier_for(group)
        if matched is None or not matched[1].deployment.early_promotion:
            tier = matched[0].tier if matched else "(none: no policy group matches)"
            raise Refused(
                f"{endpoint}: tier {tier} does not allow ending a bake early (deployment.early_promotion is "
                "off in the policy in force); the bake ends on its own"
            )
        freeze = freeze_in_force(policy, group, deps.clock())
        if freeze is not None:
            raise Refused(f"{endpoint}: a {freeze} is in force; the bake ends on its own")
    return bake


def _evidence(request: SteerRequest, bake: dict[str, str] | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "endpoint": request.endpoint,
        "reason": request.reason,
        "execution": request.execution,
        "bake_index": request.index,
        "candidate": request.package_arn,
    }
    if bake is not None:
        evidence.update(
            percent=int(bake.get("percent") or 0),
            bake_seconds=int(bake.get("bake_seconds") or 0),
            bake_started_at=bake.get("started_at"),
            strategy=bake.get("strategy"),
        )
    return evidence


def _refuse(request: SteerRequest, why: str, deps: SteerDeps) -> dict[str, Any]:
    if request.action == "promote":
        deps.audit.append(
            stream=account_stream(
                f"endpoint#{request.endpoint}", request.account or deps.home_account or "", deps.home_account
            ),
            action=AuditAction.DEPLOYMENT_PROMOTE_REFUSED,
            actor=request.requested_by,
            subject=request.package_arn,
            evidence={**_evidence(request, None), "refused": why},
            decision_id=(
                f"deployment.promote_refused:{request.execution}:{request.index}:"
                f"{request.requested_by}:{deps.clock().isoformat()}"
            ),
        )
    return {"outcome": "refused", "endpoint": request.endpoint, "refused": why}


def steer_bake(request: SteerRequest, *, deps: SteerDeps) -> dict[str, Any]:
    """Promote (end early) or abort the bake ``request`` names, re-checked now; the outcome:
    ``promoted`` / ``aborted`` (the token answered) or ``refused`` with the reason."""
    try:
        bake = _check(request, deps)
    except Refused as refused:
        return _refuse(request, str(refused), deps)
    if not deps.bakes.claim_bake(
        request.endpoint,
        bake["task_token"],
        action=request.action,
        by=request.requested_by,
        reason=request.reason,
    ):
        return _refuse(request, f"{request.endpoint}: someone else ended this bake a moment ago", deps)
    action = (
        AuditAction.DEPLOYMENT_PROMOTE_REQUESTED
        if request.action == "promote"
        else AuditAction.DEPLOYMENT_ABORT_REQUESTED
    )
    deps.audit.append(
        stream=f"endpoint#{request.endpoint}",
        action=action,
        actor=request.requested_by,
        subject=request.package_arn,
        evidence=_evidence(request, bake),
        decision_id=f"{action.value}:{request.execution}:bake:{request.index}",
    )
    if request.action == "promote":
        answer = deps.callbacks.succeed(
            bake["task_token"],
            json.dumps({"ended_by": "promote", "by": request.requested_by, "reason": request.reason}),
        )
    else:
        answer = deps.callbacks.fail(
            bake["task_token"], "DeploymentAborted", f"aborted by {request.requested_by}: {request.reason}"
        )
    if not answer.delivered:
        return _refuse(request, f"{request.endpoint}: the bake ended meanwhile (its time ran out)", deps)
    return {
        "outcome": "promoted" if request.action == "promote" else "aborted",
        "endpoint": request.endpoint,
        "execution": request.execution,
        "percent": int(bake.get("percent") or 0),
        "index": request.index,
        "by": request.requested_by,
    }
