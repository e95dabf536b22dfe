"""Managed deployments for endpoints SageMaker's deployment guardrails do not cover (ADR 9).

Two strategies, one deployment workflow loop (Task -> Wait -> Task), each task idempotent and safe
to redrive (names derive from the package version; DescribeEndpoint is read before anything is
changed):

- **shift** (multi-variant instance endpoints): ``plan_managed_shift`` adds the candidate variant at
  weight 0 (a *shift* EndpointConfig, UpdateEndpoint without a DeploymentConfig); ``shift_step``
  moves step *i*'s share with UpdateEndpointWeightsAndCapacities; ``promote`` leaves the candidate
  alone on the endpoint; ``roll_back`` takes the weights back, then the previous config.
- **bake** (serverless endpoints, which take one production variant): ``plan_managed_bake``
  updates the endpoint to the candidate's single-variant config at once; ``shift_step`` only waits
  for it to be InService (no weights); the workflow bakes and ``check_alarms``; ``promote`` finds it
  done; ``roll_back`` updates the endpoint back to the previous config.

Both check the tier's alarms (DescribeAlarms; a missing alarm fails closed) before and after each
bake (a Wait state in the workflow).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from mlcp.adapters.endpoints import EndpointState, SageMakerHosting, resource_name
from mlcp.errors import DeploymentNotSupported
from mlcp.observability import logger
from mlcp.records import record_class

#: Simulated/real seconds between two looks at an endpoint that is applying a change.
SHIFT_POLL_SECONDS = 30

StepStatus = Literal["updating", "shifted", "ok", "alarm", "failed"]
ShiftOutcome = Literal["in_progress", "promoted", "rolled_back", "failed"]
Strategy = Literal["shift", "bake"]

#: Why each strategy runs (recorded with the deployment's outcome).
STRATEGY_REASONS: dict[Strategy, str] = {
    "shift": (
        "multi-variant endpoint: the candidate joins as a variant at weight 0 and the traffic "
        "shifts by variant weight (UpdateEndpointWeightsAndCapacities)"
    ),
    "bake": "serverless endpoints take one production variant: all at once with a bake",
}


class AlarmStates(Protocol):
    def states(self, names: list[str]) -> dict[str, str]: ...


class BakeStore(Protocol):
    def put_bake(self, endpoint: str, bake: dict[str, str | int]) -> None: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ShiftDeps:
    hosting: SageMakerHosting
    alarms: AlarmStates
    bakes: BakeStore | None = None


def shift_steps(settings: dict[str, Any]) -> list[dict[str, int]]:
    """The tier's deployment settings as traffic steps: percent on the candidate, bake after it.

    ``canary``: ``canary_percent`` baked ``wait_interval_seconds``; ``linear``: every
    ``linear_step_percent`` baked ``wait_interval_seconds``; ``all_at_once``: straight to 100. The last
    step (100 %) bakes ``termination_wait_seconds`` with the old variant still deployed, as
    SageMaker's blue/green keeps the old fleet for TerminationWaitInSeconds.
    """
    strategy = settings.get("strategy", "canary")
    wait = int(settings.get("wait_interval_seconds", 300))
    percents: list[int] = []
    if strategy == "canary":
        percents = [int(settings.get("canary_percent", 10))]
    elif strategy == "linear":
        step = int(settings.get("linear_step_percent", 25))
        percents = list(range(step, 100, step))
    steps = [{"percent": p, "bake_seconds": wait} for p in percents]
    return [*steps, {"percent": 100, "bake_seconds": int(settings.get("termination_wait_seconds", 300))}]


def bake_seconds(settings: dict[str, Any]) -> int:
    """How long a serverless candidate bakes with all the traffic: as long as the tier's steps would
    have watched it in total (canary: ``wait_interval_seconds`` + ``termination_wait_seconds``;
    ``all_at_once``: ``termination_wait_seconds``)."""
    return sum(step["bake_seconds"] for step in shift_steps(settings))


def _candidate_variant(template: dict[str, Any], variant_name: str, model_name: str) -> dict[str, Any]:
    """The candidate's ProductionVariant at weight 0, with the instance capacity of ``template``."""
    return {
        "VariantName": variant_name,
        "ModelName": model_name,
        "InitialVariantWeight": 0.0,
        "InstanceType": str(template.get("InstanceType", "ml.m5.large")),
        "InitialInstanceCount": int(template.get("InitialInstanceCount", 1)),
    }


def _plan(
    strategy: Strategy,
    settings: dict[str, Any],
    steps: list[dict[str, int]],
    *,
    config: str,
    final_config: str,
    previous: str | None,
    candidate: str,
    package_arn: str,
) -> dict[str, Any]:
    timeout = int(settings.get("maximum_execution_timeout_seconds", 3600))
    return {
        "strategy": strategy,
        "strategy_reason": STRATEGY_REASONS[strategy],
        "config": config,
        "final_config": final_config,
        "previous_config": previous,
        "candidate": candidate,
        # Tags the configs the shift creates, so retirement can find them once nothing serves them.
        "package_arn": package_arn,
        "steps": steps,
        "step_count": len(steps),
        "alarms": list(settings.get("alarms") or []),
        "poll_seconds": SHIFT_POLL_SECONDS,
        # Polls while the endpoint applies a change (the bakes are Wait states, not polls).
        "max_polls": max(10, timeout // SHIFT_POLL_SECONDS),
    }


def plan_managed_shift(
    package: dict[str, Any],
    endpoint: str,
    settings: dict[str, Any],
    current: EndpointState,
    *,
    model_name: str,
    final_config: str,
    hosting: SageMakerHosting,
) -> dict[str, Any]:
    """Put the candidate on ``endpoint`` at weight 0 (the shift config) and return the shift plan.

    Idempotent: an endpoint already on (or updating to) the shift config is left alone. Once it is on
    the shift config the previous config is unknown here (``None``): a rollback then builds a config
    without the candidate. Refused (nothing changed) while the endpoint is busy with another update.
    """
    shift_config = resource_name(endpoint, package["group"], f"v{package['version']}", "shift")
    variant_name = model_name
    previous: str | None = current.config_name
    if shift_config in {current.config_name, current.pending_config_name}:
        previous = None  # a redrive after the shift started: the previous config is not known here
    elif current.status != "InService":
        # Updating: our own UpdateEndpoint to the shift config (a retry after it was sent) when the
        # shift config exists; anything else is not ours to interrupt.
        if not hosting.config_exists(shift_config):
            raise DeploymentNotSupported(f"endpoint {endpoint} is {current.status}; it must be InService")
    else:
        old_variants = hosting.config_variants(current.config_name)
        if any(v["VariantName"] == variant_name for v in old_variants):
            raise DeploymentNotSupported(
                f"endpoint {endpoint}: config {current.config_name} already has a variant {variant_name}"
            )
        shifted = [
            {
                **v,
                "InitialVariantWeight": current.weights.get(
                    v["VariantName"], v.get("InitialVariantWeight", 1.0)
                ),
            }
            for v in old_variants
        ]
        hosting.ensure_endpoint_config_of(
            shift_config,
            [*shifted, _candidate_variant(old_variants[0], variant_name, model_name)],
            package["arn"],
        )
        hosting.update_endpoint(endpoint, shift_config, None)
        logger.info("managed shift started", extra={"endpoint": endpoint, "shift_config": shift_config})
    return _plan(
        "shift",
        settings,
        shift_steps(settings),
        config=shift_config,
        final_config=final_config,
        previous=previous,
        candidate=variant_name,
        package_arn=package["arn"],
    )


def plan_managed_bake(
    package: dict[str, Any],
    endpoint: str,
    settings: dict[str, Any],
    current: EndpointState,
    *,
    model_name: str,
    final_config: str,
    hosting: SageMakerHosting,
) -> dict[str, Any]:
    """Update a serverless ``endpoint`` to the candidate's config at once and return the bake plan.

    The candidate config has the endpoint's one variant (its name and ServerlessConfig) serving the
    candidate model: SageMaker Serverless Inference does not take a second production variant.
    Idempotent: an endpoint already on (or updating to) the candidate config is left alone; when it
    is already on it, the previous config is not known here (``None``: a rollback then fails closed).
    Refused (nothing changed) while the endpoint is busy with another update.
    """
    previous: str | None = current.config_name
    if final_config in {current.config_name, current.pending_config_name}:
        previous = None if current.config_name == final_config else current.config_name
    elif current.status != "InService":
        # Updating: our own UpdateEndpoint (a retry after it was sent) when the candidate config
        # exists; DescribeEndpoint still names the previous config until the update is done.
        if not hosting.config_exists(final_config):
            raise DeploymentNotSupported(f"endpoint {endpoint} is {current.status}; it must be InService")
    else:
        old_variants = hosting.config_variants(current.config_name)
        if len(old_variants) != 1:
            raise DeploymentNotSupported(
                f"serverless endpoint {endpoint}: config {current.config_name} has "
                f"{len(old_variants)} production variants, expected 1"
            )
        hosting.ensure_endpoint_config(final_config, model_name, old_variants, package["arn"])
        hosting.update_endpoint(endpoint, final_config, None)
        logger.info("managed bake started", extra={"endpoint": endpoint, "config": final_config})
    candidate = str(hosting.config_variants(final_config)[0]["VariantName"])
    return _plan(
        "bake",
        settings,
        [{"percent": 100, "bake_seconds": bake_seconds(settings)}],
        config=final_config,
        final_config=final_config,
        previous=previous,
        candidate=candidate,
        package_arn=package["arn"],
    )


# ---------------------------------------------------------------------------- weights


def _old_weights(hosting: SageMakerHosting, shift: dict[str, Any]) -> dict[str, float]:
    """The old variants' weights as they were before the shift (from the shift config)."""
    return {
        str(v["VariantName"]): float(v.get("InitialVariantWeight", 1.0))
        for v in hosting.config_variants(shift["config"])
        if v["VariantName"] != shift["candidate"]
    }


def weights_at(percent: int, old: dict[str, float], candidate: str) -> dict[str, float]:
    """Variant weights that send ``percent`` % of the traffic to ``candidate`` and the rest to the old
    variants in their original proportions."""
    total = sum(old.values()) or 1.0
    rest = (100 - percent) / 100
    weights = {name: round(weight / total * rest, 6) for name, weight in old.items()}
    return {**weights, candidate: round(percent / 100, 6)}


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(abs(a.get(name, -1.0) - weight) < 1e-6 for name, weight in b.items())


# ---------------------------------------------------------------------------- steps


def _step_result(shift: dict[str, Any], index: int, status: StepStatus, reason: str | None) -> dict[str, Any]:
    step = shift["steps"][index]
    return {
        "status": status,
        "percent": step["percent"],
        "bake_seconds": step["bake_seconds"],
        "last": index >= len(shift["steps"]) - 1,
        "reason": reason,
    }


def _tripped(shift: dict[str, Any], alarms: AlarmStates) -> str | None:
    """Why the canary must roll back now: an alarm in ALARM, or one that does not exist (fail closed)."""
    names = list(shift.get("alarms") or [])
    if not names:
        return None
    states = alarms.states(names)
    missing = [name for name in names if name not in states]
    tripped = [name for name in names if states.get(name) == "ALARM"]
    if tripped:
        return f"CloudWatch alarm(s) {', '.join(tripped)} in ALARM state"
    if missing:
        return f"CloudWatch alarm(s) {', '.join(missing)} do not exist: the canary cannot be checked"
    return None


def shift_step(endpoint: str, shift: dict[str, Any], index: int, *, deps: ShiftDeps) -> dict[str, Any]:
    """Step ``index``: the candidate's share of the traffic, once the endpoint can take it."""
    if not 0 <= index < len(shift["steps"]):
        raise DeploymentNotSupported(f"shift step {index} out of range (0..{len(shift['steps']) - 1})")
    state = deps.hosting.endpoint(endpoint)
    if state is None:
        return _step_result(shift, index, "failed", f"endpoint {endpoint} no longer exists")
    if state.status != "InService":
        if state.status in {"Failed", "UpdateRollbackFailed"}:
            return _step_result(shift, index, "failed", state.failure_reason or state.status)
        return _step_result(shift, index, "updating", None)
    if state.config_name != shift["config"]:
        return _step_result(
            shift,
            index,
            "failed",
            f"endpoint is on {state.config_name}, not the shift config {shift['config']}",
        )
    reason = _tripped(shift, deps.alarms)
    if reason is not None:
        return _step_result(shift, index, "alarm", reason)
    if shift.get("strategy") == "bake":
        return _step_result(shift, index, "shifted", None)  # all the traffic since the update
    target = weights_at(
        int(shift["steps"][index]["percent"]), _old_weights(deps.hosting, shift), shift["candidate"]
    )
    if _same(state.weights, target):
        return _step_result(shift, index, "shifted", None)
    deps.hosting.update_weights(endpoint, target)
    logger.info("traffic shifted", extra={"endpoint": endpoint, "weights": target})
    return _step_result(shift, index, "updating", None)


def check_alarms(endpoint: str, shift: dict[str, Any], index: int, *, deps: ShiftDeps) -> dict[str, Any]:
    """After a bake: roll back when one of the tier's alarms is in ALARM (or missing)."""
    reason = _tripped(shift, deps.alarms)
    return _step_result(shift, index, "alarm" if reason else "ok", reason)


def park_bake(
    endpoint: str,
    task_token: str,
    shift: dict[str, Any],
    index: int,
    *,
    execution: str,
    started_at: str,
    package_arn: str,
    deps: ShiftDeps,
) -> dict[str, Any]:
    """The bake of step ``index`` starts (a task token wait, ADR 24): park its token with what
    identifies this bake, so that ``mlcp promote`` can end it early and ``mlcp abort`` can roll it
    back; the workflow's timeout ends it otherwise. Idempotent (a retried invoke parks the token it
    carries: the latest wins)."""
    if deps.bakes is None:
        raise DeploymentNotSupported("shift-traffic: no bake store configured (MLCP_STATE_TABLE)")
    step = shift["steps"][index]
    deps.bakes.put_bake(
        endpoint,
        {
            "task_token": task_token,
            "execution": execution,
            "index": index,
            "started_at": started_at,
            "bake_seconds": int(step["bake_seconds"]),
            "percent": int(step["percent"]),
            "package_arn": package_arn,
            "config": str(shift["config"]),
            "strategy": str(shift.get("strategy", "shift")),
        },
    )
    logger.info("bake parked", extra={"endpoint": endpoint, "index": index, "execution": execution})
    return {"parked": True}


# ---------------------------------------------------------------------------- outcomes


def _outcome(outcome: ShiftOutcome, state: EndpointState | None, reason: str | None = None) -> dict[str, Any]:
    return {"outcome": outcome, "status": state.status if state else "Missing", "failure_reason": reason}


def promote(endpoint: str, shift: dict[str, Any], *, deps: ShiftDeps) -> dict[str, Any]:
    """UpdateEndpoint to the final config (the candidate alone); promoted once InService on it."""
    state = deps.hosting.endpoint(endpoint)
    if state is None:
        return _outcome("failed", None, f"endpoint {endpoint} no longer exists")
    if state.status in {"Failed", "UpdateRollbackFailed"}:
        return _outcome("failed", state, state.failure_reason or state.status)
    if state.config_name == shift["final_config"] and state.status == "InService":
        return _outcome("promoted", state)
    if state.status != "InService" or state.pending_config_name == shift["final_config"]:
        return _outcome("in_progress", state)
    if state.config_name != shift["config"]:
        return _outcome("failed", state, f"endpoint is on {state.config_name}, not the shift config")
    candidate = next(
        v for v in deps.hosting.config_variants(shift["config"]) if v["VariantName"] == shift["candidate"]
    )
    deps.hosting.ensure_endpoint_config_of(
        shift["final_config"], [{**candidate, "InitialVariantWeight": 1.0}], shift.get("package_arn")
    )
    deps.hosting.update_endpoint(endpoint, shift["final_config"], None)
    return _outcome("in_progress", state)


def _rollback_config(shift: dict[str, Any]) -> str:
    return str(shift.get("previous_config") or f"{shift['config'][:54].rstrip('-')}-rollback")


def roll_back(endpoint: str, shift: dict[str, Any], reason: str | None, *, deps: ShiftDeps) -> dict[str, Any]:
    """Traffic back to the old variants, then UpdateEndpoint to a config without the candidate."""
    state = deps.hosting.endpoint(endpoint)
    if state is None:
        return _outcome("failed", None, f"endpoint {endpoint} no longer exists")
    if state.status in {"Failed", "UpdateRollbackFailed"}:
        return _outcome("failed", state, state.failure_reason or state.status)
    if state.status != "InService":
        return _outcome("in_progress", state, reason)
    if shift.get("strategy") == "bake":
        return _roll_back_bake(endpoint, shift, reason, state, deps=deps)
    target = _rollback_config(shift)
    if state.config_name == target:
        return _outcome("rolled_back", state, reason)
    if state.config_name == shift["final_config"]:
        # The promotion finished before the rollback was asked for: the candidate serves.
        return _outcome("promoted", state)
    if state.config_name != shift["config"]:
        # The candidate never received traffic (UpdateEndpoint to the shift config did not take).
        return _outcome("rolled_back", state, reason)
    old = _old_weights(deps.hosting, shift)
    back = weights_at(0, old, shift["candidate"])
    if not _same(state.weights, back):
        deps.hosting.update_weights(endpoint, back)
        return _outcome("in_progress", state, reason)
    if not shift.get("previous_config"):
        old_variants = [
            v for v in deps.hosting.config_variants(shift["config"]) if v["VariantName"] != shift["candidate"]
        ]
        deps.hosting.ensure_endpoint_config_of(target, old_variants)
    deps.hosting.update_endpoint(endpoint, target, None)
    return _outcome("in_progress", state, reason)


def _roll_back_bake(
    endpoint: str, shift: dict[str, Any], reason: str | None, state: EndpointState, *, deps: ShiftDeps
) -> dict[str, Any]:
    """UpdateEndpoint from the candidate's config back to the previous one (the endpoint is InService)."""
    previous = shift.get("previous_config")
    if previous and state.config_name == previous:
        return _outcome("rolled_back", state, reason)
    if state.config_name != shift["config"]:
        # The candidate never served (the update to its config did not take).
        return _outcome("rolled_back", state, reason)
    if not previous:
        return _outcome(
            "failed",
            state,
            f"{reason or 'rollback asked'}; the previous config of {endpoint} is not known (the "
            "deployment was redriven after the update), so the candidate keeps serving: roll back "
            "with mlcp rollback",
        )
    deps.hosting.update_endpoint(endpoint, str(previous), None)
    logger.info("managed bake rolling back", extra={"endpoint": endpoint, "config": previous})
    return _outcome("in_progress", state, reason)
