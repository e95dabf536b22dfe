"""Start a deployment (the deploy-model task): re-check the approval at the moment of effect, then
CreateModel + CreateEndpointConfig from the package and CreateEndpoint or UpdateEndpoint with
SageMaker's deployment guardrails, or plan a managed deployment (``mlcp.usecases.traffic_shift``)
for the endpoints guardrails exclude. Idempotent on retry and redrive. A module of its own: the
lease, the waits and the finish (:mod:`mlcp.usecases.deployment`) never plan a deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any

from mlcp.adapters.endpoints import EndpointState, resource_name
from mlcp.audit import AuditAction
from mlcp.errors import DeploymentNotSupported
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.records import record_class
from mlcp.usecases.deployment import DeploymentDeps, newer_version_serving
from mlcp.usecases.traffic_shift import plan_managed_bake, plan_managed_shift

#: Capacity of a first deployment (later ones copy the endpoint's current variant).
DEFAULT_VARIANT = {"VariantName": "AllTraffic", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
#: How long the workflow waits for an endpoint event before it describes the endpoint itself.
POLL_INTERVAL_SECONDS = 300
#: With a canary analysis the wait is shorter: the analysis runs at each look during the bake.
ANALYSIS_INTERVAL_SECONDS = 120


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


def newer_champion(package: dict[str, Any], endpoint: str, deps: DeploymentDeps) -> str | None:
    """The newer version of the package's group that the endpoint already serves, if any.

    Approvals reach the endpoint in any order (queued behind the lease, redelivered, out of order):
    the check runs under the lease, just before the update, so an older version never replaces a
    newer champion of its group. Another group's model on the endpoint is not comparable: it is replaced.
    """
    return newer_version_serving(package, deps.hosting.serving_package(endpoint))


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
