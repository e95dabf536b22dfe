"""The shadow phase of a deployment (ADR 25): before any caller is exposed, the candidate runs as a
shadow variant of production on the same endpoint, receives a sampled copy of live traffic for the
tier's duration, is judged against the production variant over the same window (Kayenta's judge,
``mlcp.usecases.canary_analysis`` with phase ``shadow``), and the endpoint goes back to the config
it served before. Pass: the canary as today. Fail: the package is rejected with the analysis as
evidence; production never served the candidate.

The workflow calls, under the endpoint's lease, before DeployModel:

- ``start_shadow``: re-reads the endpoint, the registry and the champion; CreateModel, an endpoint
  config = the serving config's production variant + a ``ShadowProductionVariants`` entry (the
  candidate, same instance type and count, weight = production weight x ``sample_percent``),
  UpdateEndpoint (no DeploymentConfig: the production variant's model does not change);
- ``endpoint_progress``: where an update of the endpoint stands (polled while it applies);
- ``end_shadow``: after the wait and the analysis, re-reads the endpoint and the registry (the
  moment of effect), puts the endpoint back on the config it served before, and says what the
  workflow does next: ``proceed`` (the canary), ``reject`` (the package), ``stale`` (the registry
  no longer says Approved: nothing more to do) or ``abandon`` (the analysis could not run).

What SageMaker cannot shadow (Developer Guide, shadow tests' *Exclusions* and limits: serverless
and asynchronous inference, more than one production variant, one shadow at a time) is refused
(``deployment.refused``) or, when the tier says ``unsupported: skip``, skipped with an
``analysis.completed`` record whose verdict is ``not_applicable`` — never a silent pass.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from mlcp import clock
from mlcp.adapters.endpoints import EndpointState, SageMakerHosting, resource_name
from mlcp.audit import AuditAction
from mlcp.errors import DeploymentNotSupported
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.policy.model import ShadowTest
from mlcp.ports import AuditLog
from mlcp.records import record_class
from mlcp.usecases.deployment import newer_version_serving

Decision = Literal["proceed", "reject", "stale", "abandon"]

#: Seconds between two looks at the endpoint while an update applies.
POLL_SECONDS = 60
#: An update that has not applied after this long fails the deployment (SageMaker's own updates of
#: one production variant take minutes).
UPDATE_TIMEOUT_SECONDS = 3600


class PackageStatus(Protocol):
    def approval_status(self, model_package_arn: str) -> str: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ShadowDeps:
    hosting: SageMakerHosting
    registry: PackageStatus
    audit: AuditLog
    model_role_arn: str
    clock: Any = None

    def now(self) -> datetime:
        return self.clock() if self.clock is not None else clock.now()


def _stream(endpoint: str) -> str:
    return f"endpoint#{endpoint}"


def shadow_variant_name(package: dict[str, Any]) -> str:
    return resource_name("shadow", f"v{package['version']}")


def shadow_config_name(package: dict[str, Any], endpoint: str) -> str:
    return resource_name(endpoint, str(package["group"]), f"v{package['version']}", "shadow")


def unsupported_reason(current: EndpointState, shadow_config: str) -> str | None:
    """Why SageMaker cannot run this shadow on the endpoint as it is (None: it can)."""
    if current.serverless:
        return "serverless endpoint: SageMaker shadow variants exclude serverless inference"
    if current.variant_count > 1:
        return (
            f"{current.variant_count} production variants: an endpoint with a shadow variant has at most "
            "one production variant"
        )
    if current.shadow_variants and current.config_name != shadow_config:
        return (
            f"the endpoint already runs shadow variant {', '.join(current.shadow_variants)}: "
            "SageMaker takes one shadow variant per endpoint"
        )
    return None


def _result(
    mode: str,
    package: dict[str, Any],
    endpoint: str,
    shadow: ShadowTest,
    *,
    baseline_config: str | None = None,
    production_variant: str | None = None,
    reason: str | None = None,
    started_at: datetime,
) -> dict[str, Any]:
    return {
        "mode": mode,
        "config": shadow_config_name(package, endpoint),
        "variant": shadow_variant_name(package),
        "baseline_config": baseline_config,
        "production_variant": production_variant,
        "duration_seconds": shadow.duration_minutes * 60,
        "poll_seconds": POLL_SECONDS,
        "started_at": started_at.isoformat(),
        "reasons": [reason] if reason else [],
        "reject_package": False,
    }


def _not_applicable(
    package: dict[str, Any], endpoint: str, reason: str, execution: str, deps: ShadowDeps
) -> None:
    deps.audit.append(
        stream=_stream(endpoint),
        action=AuditAction.ANALYSIS_COMPLETED,
        actor="mlcp",
        subject=package["arn"],
        evidence={
            "endpoint": endpoint,
            "phase": "shadow",
            "step": 0,
            "final": True,
            "model_package_arn": package["arn"],
            "execution": execution,
            "verdict": "not_applicable",
            "reason": reason,
            "roll_back": False,
        },
        decision_id=f"analysis.completed:{execution}:shadow:not_applicable",
    )


def start_shadow(
    package: dict[str, Any], endpoint: str, settings: dict[str, Any], *, execution: str, deps: ShadowDeps
) -> dict[str, Any]:
    """Put the candidate on the endpoint as a shadow of its production variant (see the module doc).

    Modes: ``started`` (UpdateEndpoint sent) and ``resumed`` (a retry: the endpoint is already on, or
    updating to, the shadow config) — the workflow waits for the update, then the duration;
    ``skipped`` — no shadow: DeployModel decides as it does without one (a first deployment, a
    package the registry no longer approves, a newer champion, or ``unsupported: skip``);
    ``refused`` — the endpoint cannot run a shadow and the tier refuses to go on without one."""
    shadow = ShadowTest.model_validate(settings["shadow"])
    config = shadow_config_name(package, endpoint)
    current = deps.hosting.endpoint(endpoint)
    if current is None:
        _not_applicable(
            package,
            endpoint,
            "first deployment on the endpoint: no production traffic to copy",
            execution,
            deps,
        )
        return _result("skipped", package, endpoint, shadow, reason="first deployment", started_at=deps.now())
    if config in {current.config_name, current.pending_config_name}:
        return _resumed(package, endpoint, shadow, execution, deps)
    status = deps.registry.approval_status(package["arn"])
    if status != "Approved":
        # DeployModel's re-check refuses it and says why; spending a shadow on it would be waste.
        return _result(
            "skipped", package, endpoint, shadow, reason=f"registry status {status}", started_at=deps.now()
        )
    if newer_version_serving(package, deps.hosting.serving_package(endpoint)) is not None:
        return _result(
            "skipped",
            package,
            endpoint,
            shadow,
            reason="a newer version is the champion",
            started_at=deps.now(),
        )
    if current.status != "InService":
        raise DeploymentNotSupported(f"{endpoint} is {current.status}: a shadow needs it InService")
    why = unsupported_reason(current, config)
    if why is not None:
        if shadow.unsupported == "skip":
            _not_applicable(package, endpoint, why, execution, deps)
            return _result("skipped", package, endpoint, shadow, reason=why, started_at=deps.now())
        return _refuse(package, endpoint, shadow, why, execution, deps)

    production = deps.hosting.config_variants(current.config_name)
    source = production[0]
    model_name = resource_name(str(package["group"]), f"v{package['version']}")
    deps.hosting.ensure_model(model_name, package["arn"], deps.model_role_arn)
    weight = float(source.get("InitialVariantWeight", 1.0))
    shadow_variant = {
        "VariantName": shadow_variant_name(package),
        "ModelName": model_name,
        "InstanceType": str(source.get("InstanceType", "ml.m5.large")),
        "InitialInstanceCount": int(source.get("InitialInstanceCount", 1)),
        # The share of production requests SageMaker copies: the shadow's weight relative to the
        # production variant's (ADR 25).
        "InitialVariantWeight": round(weight * shadow.sample_percent / 100, 4),
    }
    deps.hosting.ensure_endpoint_config_of(
        config, production, package["arn"], shadow_variants=[shadow_variant]
    )
    now = deps.now()
    deps.audit.append(
        stream=_stream(endpoint),
        action=AuditAction.SHADOW_STARTED,
        actor="mlcp",
        subject=package["arn"],
        evidence={
            "endpoint": endpoint,
            "model_package_arn": package["arn"],
            "shadow_config": config,
            "baseline_config": current.config_name,
            "production_variant": str(source["VariantName"]),
            "shadow_variant": shadow_variant["VariantName"],
            "sample_percent": shadow.sample_percent,
            "duration_minutes": shadow.duration_minutes,
            "execution": execution,
            "started_at": now.isoformat(),
        },
        decision_id=f"shadow.started:{execution}",
    )
    deps.hosting.update_endpoint(endpoint, config, None)
    metrics.add_metric(name="ShadowTestsStarted", unit=MetricUnit.Count, value=1)
    logger.info("shadow started", extra={"endpoint": endpoint, "shadow_config": config})
    return _result(
        "started",
        package,
        endpoint,
        shadow,
        baseline_config=current.config_name,
        production_variant=str(source["VariantName"]),
        started_at=now,
    )


def _resumed(
    package: dict[str, Any], endpoint: str, shadow: ShadowTest, execution: str, deps: ShadowDeps
) -> dict[str, Any]:
    """A retry after the UpdateEndpoint: what the first attempt recorded (``shadow.started``)."""
    for record in reversed(list(deps.audit.read(_stream(endpoint)))):
        if record.action == AuditAction.SHADOW_STARTED and record.evidence.get("execution") == execution:
            evidence = record.evidence
            return _result(
                "resumed",
                package,
                endpoint,
                shadow,
                baseline_config=str(evidence["baseline_config"]),
                production_variant=str(evidence["production_variant"]),
                started_at=datetime.fromisoformat(str(evidence["started_at"])),
            )
    raise DeploymentNotSupported(
        f"{endpoint} serves shadow config {shadow_config_name(package, endpoint)} that this deployment "
        "did not start: refusing to judge or remove another deployment's shadow"
    )


def _refuse(
    package: dict[str, Any], endpoint: str, shadow: ShadowTest, why: str, execution: str, deps: ShadowDeps
) -> dict[str, Any]:
    reason = f"the tier requires a shadow test; {why}"
    deps.audit.append(
        stream=_stream(endpoint),
        action=AuditAction.DEPLOYMENT_REFUSED,
        actor="mlcp",
        subject=package["arn"],
        evidence={"reasons": [reason], "rejects_package": False, "execution": execution, "phase": "shadow"},
        decision_id=f"deployment.refused:{package['arn']}:{execution}",
    )
    metrics.add_metric(name="DeploymentsRefused", unit=MetricUnit.Count, value=1)
    return _result("refused", package, endpoint, shadow, reason=reason, started_at=deps.now())


def endpoint_progress(
    endpoint: str, target_config: str, started_at: str, *, deps: ShadowDeps
) -> dict[str, Any]:
    """``ready`` once the endpoint is InService on ``target_config``; ``updating`` before; an update
    that failed (SageMaker left the endpoint on another config, or Failed) or runs past
    ``UPDATE_TIMEOUT_SECONDS`` raises (the workflow fails the deployment, lease released)."""
    state = deps.hosting.endpoint(endpoint)
    now = deps.now()
    if state is None:
        raise DeploymentNotSupported(f"{endpoint} no longer exists")
    if state.status == "InService" and state.config_name == target_config:
        return {"status": "ready", "at": now.isoformat()}
    if state.status in {"Failed", "UpdateRollbackFailed"} or (
        state.status == "InService" and state.pending_config_name is None
    ):
        raise DeploymentNotSupported(
            f"{endpoint} did not reach {target_config}: {state.status} on {state.config_name}"
            f"{'; ' + state.failure_reason if state.failure_reason else ''}"
        )
    if (now - datetime.fromisoformat(started_at)).total_seconds() > UPDATE_TIMEOUT_SECONDS:
        raise DeploymentNotSupported(f"{endpoint} still {state.status} after {UPDATE_TIMEOUT_SECONDS} s")
    return {"status": "updating", "at": now.isoformat()}


def end_shadow(
    package: dict[str, Any],
    endpoint: str,
    shadow: dict[str, Any],
    verdict: dict[str, Any],
    *,
    execution: str,
    deps: ShadowDeps,
) -> dict[str, Any]:
    """Remove the shadow and decide (see the module doc). Re-reads, after the wait, what can have
    changed: the endpoint (still on our shadow config? it goes back to the config it served before;
    already back: a retry; on anything else: someone else changed it — raise, touch nothing) and the
    registry (no longer Approved: ``stale``, neither rejected again nor deployed)."""
    current = deps.hosting.endpoint(endpoint)
    config, baseline = str(shadow["config"]), str(shadow["baseline_config"])
    if current is None:
        raise DeploymentNotSupported(f"{endpoint} no longer exists")
    if (
        current.config_name == config
        and current.pending_config_name is None
        and current.status == "InService"
    ):
        deps.hosting.update_endpoint(endpoint, baseline, None)
        restore = "restoring"
    elif baseline in {current.config_name, current.pending_config_name}:
        restore = "restored"
    else:
        raise DeploymentNotSupported(
            f"{endpoint} changed during the shadow test ({current.status} on {current.config_name}): "
            "left alone; the deployment does not go on"
        )
    status = deps.registry.approval_status(package["arn"])
    verdict_name = str(verdict.get("verdict") or "error")
    decision: Decision
    if verdict_name == "error":
        decision = "abandon"
    elif status != "Approved":
        decision = "stale"
    elif verdict.get("roll_back"):
        decision = "reject"
    else:
        decision = "proceed"
    reasons = [str(verdict["reason"])] if verdict.get("reason") else []
    if decision == "reject" and not reasons:
        reasons = [f"shadow test: {verdict_name} (score {verdict.get('score')})"]
    deps.audit.append(
        stream=_stream(endpoint),
        action=AuditAction.SHADOW_ENDED,
        actor="mlcp",
        subject=package["arn"],
        evidence={
            "endpoint": endpoint,
            "model_package_arn": package["arn"],
            "shadow_config": config,
            "restored_config": baseline,
            "verdict": verdict_name,
            "score": verdict.get("score"),
            "report_uri": verdict.get("report_uri"),
            "registry_status": status,
            "decision": decision,
            "execution": execution,
        },
        decision_id=f"shadow.ended:{execution}",
    )
    metrics.add_metric(name=f"ShadowTests{decision.title()}", unit=MetricUnit.Count, value=1)
    return {
        "decision": decision,
        "restore": restore,
        "reasons": reasons,
        "report_uri": verdict.get("report_uri"),
        "started_at": deps.now().isoformat(),
    }
