"""Deploy an approved package to its endpoint through SageMaker's deployment guardrails (or, for
serverless and multi-variant endpoints, a managed deployment: ``mlcp.usecases.traffic_shift``), one
deployment per endpoint at a time, and record the outcome.

The deployment workflow calls these as tasks: take the endpoint's lease, start the deployment
(:mod:`mlcp.usecases.deployment_start`: CreateModel + CreateEndpointConfig from the package, then
CreateEndpoint or UpdateEndpoint with a blue/green DeploymentConfig and the policy's rollback
alarms), wait for the outcome (endpoint events complete a task token; a describe-based check is the
polling fallback), finish (audit, package tags, incident on a rollback or failure) and release the
lease. The dependencies of every task are ``DeploymentDeps``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from mlcp import clock as mlcp_clock
from mlcp.accounts import account_stream
from mlcp.adapters.endpoints import EndpointState, SageMakerHosting
from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditAction
from mlcp.errors import DeploymentNotSupported
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import AuditLog, Clock, TaskCallbacks
from mlcp.records import record_class

Outcome = Literal["in_progress", "promoted", "rolled_back", "failed"]


class VerdictAlarms(Protocol):
    def ensure_verdict_alarm(self, endpoint: str, candidate: str) -> str: ...


class IncidentOpener(Protocol):
    """Opens (or counts another occurrence of) the endpoint's incident for a deployment outcome
    (``mlcp.usecases.incidents.incident_opener``): only finishing a deployment opens one."""

    def __call__(
        self,
        *,
        endpoint: str,
        cause: str,
        severity: int,
        title: str,
        details: dict[str, Any],
        event_id: str | None,
        stream: str | None = None,
    ) -> None: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class DeploymentDeps:
    hosting: SageMakerHosting
    state: ControlPlaneState
    audit: AuditLog
    model_role_arn: str
    open_incident: IncidentOpener | None = None
    clock: Clock = mlcp_clock.current
    #: The canary analysis's verdict alarm (joins AutoRollbackConfiguration when the tier analyses).
    verdict_alarms: VerdictAlarms | None = None
    #: The account the endpoint is in (ADR 26) and the control plane's own; None: home.
    account: str | None = None
    home_account: str | None = None
    #: Shares the package's group with the member's deployment role before CreateModel (ADR 27).
    share_package: Callable[[dict[str, Any]], object] | None = None
    #: Answers the workflow's parked endpoint token (the waiting tasks; a rollback needs none).
    callbacks: TaskCallbacks | None = None

    def now(self) -> datetime:
        return self.clock()

    def key(self, endpoint: str) -> str:
        """The endpoint's key in the state table (lease, callback): ``<account>:<endpoint>`` in a
        member, so staging's and prod's endpoints of one name have a lease each; the name at home."""
        if self.account is None or self.account == self.home_account:
            return endpoint
        return f"{self.account}:{endpoint}"

    def stream(self, endpoint: str) -> str:
        """The endpoint's audit stream, keyed with its account in a member (ADR 26)."""
        if self.account is None:
            return f"endpoint#{endpoint}"
        return account_stream(f"endpoint#{endpoint}", self.account, self.home_account)


# ---------------------------------------------------------------------------- lease


def acquire_lease(
    endpoint: str, holder: str, ttl_seconds: int, *, package_arn: str, deps: DeploymentDeps
) -> dict[str, Any]:
    """Take the endpoint's lease or say who has it (the workflow then waits and tries again)."""
    other = deps.state.acquire_lease(deps.key(endpoint), holder, ttl_seconds, deps.now())
    if other is None:
        return {"acquired": True, "holder": holder}
    # Recorded once per waiting execution: why this deployment is queued.
    deps.audit.append(
        stream=deps.stream(endpoint),
        action=AuditAction.DEPLOYMENT_QUEUED,
        actor="mlcp",
        subject=package_arn,
        evidence={"endpoint": endpoint, "waiting_for": other, "execution": holder},
        decision_id=f"deployment.queued:{holder}",
    )
    metrics.add_metric(name="DeploymentsQueued", unit=MetricUnit.Count, value=1)
    return {"acquired": False, "holder": other}


def release_lease(endpoint: str, holder: str, *, deps: DeploymentDeps) -> dict[str, Any]:
    return {"released": deps.state.release_lease(deps.key(endpoint), holder)}


# ---------------------------------------------------------------------------- what serves


_PACKAGE_ARN = re.compile(r"arn:[^:]+:sagemaker:[^:]*:\d*:model-package/(?P<group>[^/]+)/(?P<version>\d+)$")


def newer_version_serving(package: dict[str, Any], serving: str | None) -> str | None:
    """``serving`` (a package ARN) when it is a newer version of ``package``'s group, else None."""
    match = _PACKAGE_ARN.match(serving or "")
    if match is None or match["group"] != package["group"]:
        return None
    return match.string if int(match["version"]) > int(package["version"]) else None


# ---------------------------------------------------------------------------- wait and check


def outcome_of(state: EndpointState | None, target_config: str, previous_config: str | None) -> Outcome:
    """Where the deployment stands, from what DescribeEndpoint says (never from an event)."""
    if state is None:
        return "failed"
    if state.status in {"Failed", "UpdateRollbackFailed"}:
        return "failed"
    if state.status != "InService":
        return "in_progress"
    if state.config_name == target_config:
        return "promoted"
    if previous_config and state.config_name == previous_config:
        return "rolled_back"
    return "failed"


def check_deployment(
    endpoint: str, target_config: str, previous_config: str | None, *, deps: DeploymentDeps
) -> dict[str, Any]:
    state = deps.hosting.endpoint(endpoint)
    return {
        "outcome": outcome_of(state, target_config, previous_config),
        "status": state.status if state else "Missing",
        "config": state.config_name if state else None,
        "failure_reason": state.failure_reason if state else None,
    }


def await_endpoint(
    endpoint: str,
    task_token: str,
    target_config: str,
    previous_config: str | None,
    *,
    deps: DeploymentDeps,
) -> dict[str, Any]:
    """Park the workflow's token until an endpoint event says the deployment ended; if it already
    has (the event came first), complete the token at once."""
    deps.state.put_deployment_callback(deps.key(endpoint), task_token, target_config, previous_config)
    check = check_deployment(endpoint, target_config, previous_config, deps=deps)
    if check["outcome"] != "in_progress":
        complete_callback(endpoint, deps=deps)
    return {"registered": True}


def complete_callback(endpoint: str, *, deps: DeploymentDeps) -> dict[str, Any]:
    """An endpoint event arrived: if the waiting deployment has ended (per DescribeEndpoint), resume it."""
    import json

    if deps.key(endpoint) != endpoint and not deps.state.deployment_waiting(deps.key(endpoint)):
        # A member's event about an endpoint no deployment waits on: the deployment role may not
        # even read it (member.yaml's EndpointNamePrefix), and there is nothing to resume.
        return {"resumed": False, "status": "not-waiting"}
    state = deps.hosting.endpoint(endpoint)
    if state is None or state.status not in {"InService", "Failed", "UpdateRollbackFailed"}:
        return {"resumed": False, "status": state.status if state else "Missing"}
    callback = deps.state.take_deployment_callback(deps.key(endpoint))
    if callback is None:
        return {"resumed": False, "status": state.status}
    outcome = outcome_of(state, callback["target_config"], callback.get("previous_config"))
    if deps.callbacks is None:
        raise TypeError("DeploymentDeps.callbacks is needed to resume a waiting deployment")
    answer = deps.callbacks.succeed(
        callback["task_token"], json.dumps({"outcome": outcome, "status": state.status})
    )
    if not answer.delivered:
        # The wait already timed out (the workflow is describing the endpoint itself): nothing to resume.
        logger.info("deployment callback was stale", extra={"endpoint": endpoint})
        return {"resumed": False, "outcome": outcome, "stale": True}
    return {"resumed": True, "outcome": outcome}


# ---------------------------------------------------------------------------- finish


def finish_deployment(
    outcome: Outcome,
    package: dict[str, Any],
    endpoint: str,
    deploy: dict[str, Any],
    *,
    execution: str,
    event_id: str | None,
    failure_reason: str | None,
    deps: DeploymentDeps,
) -> dict[str, Any]:
    """Record the outcome: the promoted package is the champion (the endpoint serves it); a rolled
    back or failed one is tagged, audited and opens an incident. The champion is never changed by a
    rollback: the endpoint keeps serving the previous config."""
    action = {
        "promoted": AuditAction.DEPLOYMENT_PROMOTED,
        "rolled_back": AuditAction.DEPLOYMENT_ROLLED_BACK,
    }.get(outcome, AuditAction.DEPLOYMENT_FAILED)
    evidence = {
        "endpoint": endpoint,
        "model_package_arn": package["arn"],
        "version": package["version"],
        "mode": deploy.get("mode"),
        # Which managed strategy ran and why (serverless: bake; multi-variant: shift).
        "strategy": (deploy.get("shift") or {}).get("strategy"),
        "strategy_reason": (deploy.get("shift") or {}).get("strategy_reason"),
        "target_config": deploy.get("target_config"),
        "previous_config": deploy.get("previous_config"),
        "failure_reason": failure_reason,
        "execution": execution,
    }
    deps.audit.append(
        stream=deps.stream(endpoint),
        action=action,
        actor="mlcp",
        subject=package["arn"],
        evidence=evidence,
        decision_id=f"{action.value}:{execution}",
        event_id=event_id,
    )
    deps.hosting.tag_package(package["arn"], {"mlcp:deployment": outcome, "mlcp:endpoint": endpoint})
    metrics.add_metric(name=f"Deployments{outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    if outcome != "promoted" and deps.open_incident is not None:
        deps.open_incident(
            # A member's endpoint is its own incident resource (endpoint/<account>:<name>, ADR 26).
            endpoint=deps.key(endpoint),
            stream=deps.stream(endpoint),
            cause=f"deployment.{outcome}",
            severity=2 if outcome == "failed" else 3,
            title=f"{endpoint}: deployment of {package['group']} v{package['version']} {outcome.replace('_', ' ')}",
            details=evidence,
            event_id=event_id,
        )
    return {"outcome": outcome}


# ---------------------------------------------------------------------------- manual rollback


def promoted_configs(endpoint: str, *, deps: DeploymentDeps) -> dict[str, str]:
    """Package version -> endpoint config of every deployment promoted on ``endpoint`` (audit trail)."""
    return dict(promotions(endpoint, deps=deps))


def promotions(endpoint: str, *, deps: DeploymentDeps) -> list[tuple[str, str]]:
    """(package version, endpoint config) of every deployment promoted on ``endpoint``, oldest first."""
    found: list[tuple[str, str]] = []
    for record in deps.audit.read(deps.stream(endpoint)):
        if record.action == AuditAction.DEPLOYMENT_PROMOTED and record.evidence.get("target_config"):
            found.append((str(record.evidence.get("version")), str(record.evidence["target_config"])))
    return found


def previous_champion(endpoint: str, serving_config: str, *, deps: DeploymentDeps) -> str | None:
    """The version promoted most recently on ``endpoint`` whose config is not the one serving now."""
    for version, config in reversed(promotions(endpoint, deps=deps)):
        if config != serving_config:
            return version
    return None


def manual_rollback(
    endpoint: str,
    to_version: str | None,
    *,
    reason: str,
    identity: str,
    deps: DeploymentDeps,
    wait_until_in_service: Any,
) -> dict[str, Any]:
    """Put ``endpoint`` back on the config that served ``to_version`` when it was promoted (None:
    the previous champion, the version promoted most recently that is not serving now).

    Refuses (``DeploymentNotSupported``, nothing audited, nothing changed) a version never promoted
    here and a no-op: the endpoint already serves that version's config. Takes the endpoint's lease
    (never races a deployment), updates the endpoint, waits for it (``wait_until_in_service(endpoint)``),
    records ``deployment.rolled_back`` (manual, by whom, why) and releases the lease.
    """
    current = deps.hosting.endpoint(endpoint)
    if current is None:
        raise DeploymentNotSupported(f"endpoint {endpoint} does not exist")
    configs = promoted_configs(endpoint, deps=deps)
    if to_version is None:
        to_version = previous_champion(endpoint, current.config_name, deps=deps)
        if to_version is None:
            raise DeploymentNotSupported(
                f"{endpoint}: no previous champion to roll back to (promoted here: "
                f"{', '.join(sorted(configs)) or 'none'}; serving config {current.config_name})"
            )
    config = configs.get(str(to_version))
    if config is None:
        known = ", ".join(sorted(configs)) or "none"
        raise DeploymentNotSupported(
            f"{endpoint}: no promoted deployment of version {to_version} (known: {known})"
        )
    if current.config_name == config and current.pending_config_name is None:
        raise DeploymentNotSupported(
            f"{endpoint} already serves version {to_version} (config {config}): nothing to roll back"
        )
    holder = f"manual-rollback:{identity}"
    other = deps.state.acquire_lease(deps.key(endpoint), holder, 3600, deps.now())
    if other is not None:
        raise DeploymentNotSupported(f"{endpoint} is being deployed ({other}); try again when it is done")
    try:
        current = deps.hosting.endpoint(endpoint)
        if current is None:
            raise DeploymentNotSupported(f"endpoint {endpoint} does not exist")
        if current.config_name == config:  # re-read under the lease: someone else already did it
            raise DeploymentNotSupported(
                f"{endpoint} already serves version {to_version} (config {config}): nothing to roll back"
            )
        deps.hosting.update_endpoint(endpoint, config, None)
        wait_until_in_service(endpoint)
        deps.audit.append(
            stream=deps.stream(endpoint),
            action=AuditAction.DEPLOYMENT_ROLLED_BACK,
            actor=identity,
            subject=f"endpoint/{deps.key(endpoint)}",
            evidence={
                "manual": True,
                "to_version": str(to_version),
                "to_config": config,
                "from_config": current.config_name,
                "reason": reason,
            },
            decision_id=f"deployment.rolled_back:manual:{deps.key(endpoint)}:{current.config_name}->{config}",
        )
    finally:
        deps.state.release_lease(deps.key(endpoint), holder)
    return {
        "endpoint": endpoint,
        "config": config,
        "from_config": current.config_name,
        "version": str(to_version),
    }
