"""Deploy an approved package to its endpoint through SageMaker's deployment guardrails (or, for
serverless and multi-variant endpoints, a managed deployment: ``mlcp.usecases.traffic_shift``), one
deployment per endpoint at a time, and record the outcome.

The deployment workflow calls these as tasks: take the endpoint's lease, start the deployment
(CreateModel + CreateEndpointConfig from the package, then CreateEndpoint or UpdateEndpoint with a
blue/green DeploymentConfig and the policy's rollback alarms), wait for the outcome (endpoint events
complete a task token; a describe-based check is the polling fallback), finish (audit, package tags,
incident on a rollback or failure) and release the lease.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from datetime import datetime
from typing import Any, Literal, Protocol

from mlcp import clock as mlcp_clock
from mlcp.accounts import account_stream
from mlcp.adapters.endpoints import EndpointState, SageMakerHosting, resource_name
from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditAction
from mlcp.errors import DeploymentNotSupported
from mlcp.models.incidents import IncidentRequest
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import AuditLog, Clock, TaskCallbacks
from mlcp.records import record_class
from mlcp.usecases.incidents import IncidentDeps, open_incident
from mlcp.usecases.traffic_shift import plan_managed_bake, plan_managed_shift

Outcome = Literal["in_progress", "promoted", "rolled_back", "failed"]

#: Capacity of a first deployment (later ones copy the endpoint's current variant).
DEFAULT_VARIANT = {"VariantName": "AllTraffic", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
#: How long the workflow waits for an endpoint event before it describes the endpoint itself.
POLL_INTERVAL_SECONDS = 300
#: With a canary analysis the wait is shorter: the analysis runs at each look during the bake.
ANALYSIS_INTERVAL_SECONDS = 120


class VerdictAlarms(Protocol):
    def ensure_verdict_alarm(self, endpoint: str, candidate: str) -> str: ...


class IncidentOpener(Protocol):
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


def incident_opener(deps: IncidentDeps) -> IncidentOpener:
    """Open (or count another occurrence of) the endpoint's incident for a deployment outcome."""

    def open_for_endpoint(
        *,
        endpoint: str,
        cause: str,
        severity: int,
        title: str,
        details: dict[str, Any],
        event_id: str | None,
        stream: str | None = None,
    ) -> None:
        open_incident(
            IncidentRequest(
                resource=f"endpoint/{endpoint}",
                cause=cause,
                severity=severity,
                title=title,
                description="; ".join(f"{k}={v}" for k, v in details.items() if v is not None),
                operational_data={k: str(v) for k, v in details.items() if v is not None},
                stream=stream or f"endpoint#{endpoint}",
                event_id=event_id,
                category="Availability",
            ),
            deps,
        )

    return open_for_endpoint


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


# ---------------------------------------------------------------------------- start


@record_class
class Refusal:
    """Why an approval may no longer take effect, found when it is re-checked just before deploying."""

    reasons: list[str]
    #: A gate failed: the workflow sets the package Rejected. False: the registry already says no.
    reject_package: bool
    report_uri: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


#: Re-reads what can have changed since the approval was verified (registry, gates); None: still valid.
Recheck = Callable[[dict[str, Any]], Refusal | None]


def deployment_config(settings: dict[str, Any], extra_alarms: list[str] | None = None) -> dict[str, Any]:
    """SageMaker's blue/green DeploymentConfig from the tier's deployment settings (``extra_alarms``:
    the canary analysis's verdict alarm, rolled back on like the tier's own)."""
    strategy = settings.get("strategy", "canary")
    routing: dict[str, Any] = {"Type": {"canary": "CANARY", "linear": "LINEAR"}.get(strategy, "ALL_AT_ONCE")}
    if strategy in {"canary", "linear"}:
        routing["WaitIntervalInSeconds"] = int(settings.get("wait_interval_seconds", 300))
    if strategy == "canary":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": int(settings.get("canary_percent", 10))}
    if strategy == "linear":
        routing["LinearStepSize"] = {
            "Type": "CAPACITY_PERCENT",
            "Value": int(settings.get("linear_step_percent", 25)),
        }
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": int(settings.get("termination_wait_seconds", 300)),
            "MaximumExecutionTimeoutInSeconds": int(settings.get("maximum_execution_timeout_seconds", 3600)),
        }
    }
    alarms = [*(settings.get("alarms") or []), *(extra_alarms or [])]
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return config


def start_deployment(
    package: dict[str, Any],
    endpoint: str,
    settings: dict[str, Any],
    *,
    deps: DeploymentDeps,
    recheck: Recheck | None = None,
    execution: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """Create the model and endpoint config from the package and start the deployment.

    Runs under the endpoint's lease, after every wait of the workflow (a human answer, the lease
    queue, a redrive): ``recheck`` re-reads the registry and re-runs the gates first, and a refusal
    leaves the endpoint alone (mode ``refused``). ``deployment.started`` is recorded only when a
    deployment really starts (never for a superseded or refused approval).

    Idempotent: names derive from the package version, existing resources are reused, and an
    endpoint already on (or updating to) the target config is not updated again (nor re-checked:
    that deployment has already taken effect).
    """
    version = str(package["version"])
    config_name = resource_name(endpoint, package["group"], f"v{version}")
    # A member's deployment role may create only resources named like its endpoints (member.yaml's
    # EndpointNamePrefix): there the model is named after the endpoint too.
    model_name = (
        resource_name(package["group"], f"v{version}") if deps.key(endpoint) == endpoint else config_name
    )
    current = deps.hosting.endpoint(endpoint)
    champion = newer_champion(package, endpoint, deps) if current is not None else None
    if champion is not None:
        return superseded(package, endpoint, champion, model_name, config_name, deps=deps)
    in_effect = current is not None and config_name in {current.config_name, current.pending_config_name}
    refusal = recheck(package) if recheck is not None and not in_effect else None
    if refusal is None and not in_effect:
        refusal = member_refusal(current, config_name, settings, endpoint, deps=deps)
    if refusal is not None:
        return refused(package, endpoint, refusal, model_name, config_name, execution=execution, deps=deps)
    deps.audit.append(
        stream=deps.stream(endpoint),
        action=AuditAction.DEPLOYMENT_STARTED,
        actor="mlcp",
        subject=package["arn"],
        evidence={
            "model_package_arn": package["arn"],
            "endpoint": endpoint,
            "deployment": settings,
            "execution": execution,
            "rechecked": recheck is not None and not in_effect,
        },
        # Once per approval transition, whatever the retries and redrives.
        # A promotion deploys the same approval again in another stage: keyed with its account there.
        decision_id=f"deployment.started:{package['arn']}:{package.get('last_modified_time')}"
        + ("" if deps.key(endpoint) == endpoint else f":{deps.key(endpoint)}"),
        event_id=event_id,
    )
    if deps.share_package is not None:
        deps.share_package(package)
    deps.hosting.ensure_model(model_name, package["arn"], deps.model_role_arn)
    poll = ANALYSIS_INTERVAL_SECONDS if settings.get("analysis") else POLL_INTERVAL_SECONDS
    result: dict[str, Any] = {
        "model_name": model_name,
        "target_config": config_name,
        "previous_config": current.config_name if current else None,
        "poll_interval_seconds": poll,
        "max_polls": max(2, int(settings.get("maximum_execution_timeout_seconds", 3600)) // poll * 2 + 2),
        "shift": None,
        **_NO_REFUSAL,
    }
    if current is not None and current.serverless:
        # One production variant only (Serverless Inference): all at once, baked, checked (ADR 9).
        # Even when already on the candidate config (a retry): the bake has not been done.
        bake = plan_managed_bake(
            package,
            endpoint,
            settings,
            current,
            model_name=model_name,
            final_config=config_name,
            hosting=deps.hosting,
        )
        return {**result, "mode": "managed", "previous_config": bake["previous_config"], "shift": bake}
    if (
        current is not None
        and config_name not in {current.config_name, current.pending_config_name}
        and current.variant_count > 1
    ):
        # The candidate joins as a variant and the control plane shifts the weights itself (ADR 9).
        shift = plan_managed_shift(
            package,
            endpoint,
            settings,
            current,
            model_name=model_name,
            final_config=config_name,
            hosting=deps.hosting,
        )
        return {**result, "mode": "managed", "previous_config": shift["previous_config"], "shift": shift}
    variants = deps.hosting.config_variants(current.config_name) if current else [dict(DEFAULT_VARIANT)]
    deps.hosting.ensure_endpoint_config(config_name, model_name, variants, package["arn"])
    if current is None:
        deps.hosting.create_endpoint(endpoint, config_name)
        return {**result, "mode": "create"}
    if config_name in {current.config_name, current.pending_config_name}:
        return {
            **result,
            "mode": "resumed",
            "previous_config": None if current.config_name == config_name else current.config_name,
        }
    verdict_alarm: list[str] = []
    if settings.get("analysis"):
        if deps.verdict_alarms is None:
            raise DeploymentNotSupported(
                "the tier asks for a canary analysis; this task cannot create its alarm"
            )
        # Created before the update: SageMaker reads the alarm from the first bake on.
        verdict_alarm.append(deps.verdict_alarms.ensure_verdict_alarm(endpoint, config_name))
    deps.hosting.update_endpoint(endpoint, config_name, deployment_config(settings, verdict_alarm))
    logger.info("deployment started", extra={"endpoint": endpoint, "target_config": config_name})
    return {**result, "mode": "guardrails"}


def member_refusal(
    current: EndpointState | None,
    config_name: str,
    settings: dict[str, Any],
    endpoint: str,
    *,
    deps: DeploymentDeps,
) -> Refusal | None:
    """Why this deployment cannot run in its member account (ADR 35), decided before anything is
    created there: managed traffic shifting (a serverless or multi-variant endpoint, ADR 9) and the
    canary analysis (its verdict alarm is the governance account's) are not supported in members
    yet. None at home, or when SageMaker's guardrails can run it."""
    if deps.key(endpoint) == endpoint:
        return None
    where = f"member account {deps.account} ({endpoint})"
    reasons: list[str] = []
    if current is not None and (
        current.serverless
        or (
            config_name not in {current.config_name, current.pending_config_name}
            and current.variant_count > 1
        )
    ):
        shape = "serverless" if current.serverless else f"{current.variant_count} production variants"
        reasons.append(
            f"managed traffic shifting (the endpoint has {shape}) is not supported in {where} yet: "
            "a member's endpoint deploys with SageMaker's guardrails (one instance-backed variant)"
        )
    if settings.get("analysis") and deps.verdict_alarms is None:
        reasons.append(f"the canary analysis is not supported in {where} yet")
    if not reasons:
        return None
    return Refusal(reasons, reject_package=False, evidence={"account": deps.account})


_NO_REFUSAL: dict[str, Any] = {"reasons": [], "reject_package": False, "report_uri": None}

_PACKAGE_ARN = re.compile(r"arn:[^:]+:sagemaker:[^:]*:\d*:model-package/(?P<group>[^/]+)/(?P<version>\d+)$")


def newer_champion(package: dict[str, Any], endpoint: str, deps: DeploymentDeps) -> str | None:
    """The newer version of the package's group that the endpoint already serves, if any.

    Approvals reach the endpoint in any order (queued behind the lease, redelivered, out of order):
    the check runs under the lease, just before the update, so an older version never replaces a
    newer champion of its group. Another group's model on the endpoint is not comparable: it is replaced.
    """
    return newer_version_serving(package, deps.hosting.serving_package(endpoint))


def newer_version_serving(package: dict[str, Any], serving: str | None) -> str | None:
    """``serving`` (a package ARN) when it is a newer version of ``package``'s group, else None."""
    match = _PACKAGE_ARN.match(serving or "")
    if match is None or match["group"] != package["group"]:
        return None
    return match.string if int(match["version"]) > int(package["version"]) else None


def superseded(
    package: dict[str, Any],
    endpoint: str,
    champion: str,
    model_name: str,
    config_name: str,
    *,
    deps: DeploymentDeps,
) -> dict[str, Any]:
    """Leave the endpoint alone (no model, config or update) and audit the approval as stale."""
    deps.audit.append(
        stream=deps.stream(endpoint),
        action=AuditAction.EVENT_IGNORED,
        actor="mlcp",
        subject=package["arn"],
        evidence={"reason": "superseded: the endpoint serves a newer version", "champion": champion},
        decision_id=f"event.ignored:superseded:{package['arn']}"
        + ("" if deps.key(endpoint) == endpoint else f":{deps.key(endpoint)}"),
    )
    metrics.add_metric(name="DeploymentsSuperseded", unit=MetricUnit.Count, value=1)
    return {**_untouched("superseded", model_name, config_name), "champion": champion, **_NO_REFUSAL}


def _untouched(mode: str, model_name: str, config_name: str) -> dict[str, Any]:
    """DeployModel's result when it left the endpoint alone (nothing to wait for)."""
    return {
        "mode": mode,
        "model_name": model_name,
        "target_config": config_name,
        "previous_config": None,
        "poll_interval_seconds": POLL_INTERVAL_SECONDS,
        "max_polls": 0,
        "shift": None,
    }


def refused(
    package: dict[str, Any],
    endpoint: str,
    refusal: Refusal,
    model_name: str,
    config_name: str,
    *,
    execution: str | None,
    deps: DeploymentDeps,
) -> dict[str, Any]:
    """Leave the endpoint alone and audit why the approval could not take effect (``deployment.refused``)."""
    deps.audit.append(
        stream=deps.stream(endpoint),
        action=AuditAction.DEPLOYMENT_REFUSED,
        actor="mlcp",
        subject=package["arn"],
        evidence={
            "reasons": refusal.reasons,
            "report_uri": refusal.report_uri,
            "rejects_package": refusal.reject_package,
            "execution": execution,
            **refusal.evidence,
        },
        decision_id=f"deployment.refused:{package['arn']}:{execution}",
    )
    metrics.add_metric(name="DeploymentsRefused", unit=MetricUnit.Count, value=1)
    logger.info("deployment refused at the moment of effect", extra={"reasons": refusal.reasons})
    return {
        **_untouched("refused", model_name, config_name),
        "reasons": refusal.reasons,
        "reject_package": refusal.reject_package,
        "report_uri": refusal.report_uri,
    }


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
