"""SageMaker endpoints: fill j (lifecycle events, UpdateEndpoint as a simulated blue/green deployment
with traffic shifting, bake and auto-rollback)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from mlcp_cli.emulator.gaps.events import _put_aws_event
from mlcp_cli.emulator.gaps.state import _call_original, _State, _state, wake_settle

FLEET_LAUNCH_SECONDS = 60.0
"""Simulated seconds to launch a new (green) fleet, or to finish a plain UpdateEndpoint."""

FLEET_TERMINATE_SECONDS = 30.0
"""Simulated seconds to terminate the green fleet when a deployment rolls back."""

"""Real seconds between two reads of the rollback alarms while a deployment stage waits."""

_ENDPOINTS_LOCK = threading.RLock()
"""Serialises changes to moto's endpoint objects (API threads and deployment threads)."""


class _DeploymentStopped(Exception):
    """The control plane is closing: the deployment thread ends where it is."""


@dataclass(frozen=True)
class EndpointDeploymentStatus:
    """A snapshot of one simulated endpoint deployment (what ``LocalControlPlane`` reports).

    ``strategy`` is ``CANARY``, ``LINEAR``, ``ALL_AT_ONCE``, ``NONE`` (UpdateEndpoint without a
    DeploymentConfig) or ``WEIGHTS`` (UpdateEndpointWeightsAndCapacities); ``stage`` the current variant stage (``Creating``, ``ActivatingTraffic``,
    ``Baking``, ``Deleting``) or the outcome; ``outcome`` is ``None`` while in flight, then
    ``Completed``, ``RolledBack``, ``Stopped`` (control plane closed, endpoint deleted) or ``Error``.
    """

    endpoint_name: str
    from_config: str
    to_config: str
    strategy: str
    stage: str
    traffic_to_new_percent: float
    outcome: str | None
    reason: str | None
    started: dt.datetime
    stages: tuple[str, ...]
    finished: dt.datetime | None = None
    """When it reached its outcome: with ``started``, the interval the endpoint was being updated."""
    account: str = ""
    """The account whose endpoint it is (several accounts share one emulator, issue 20)."""

    @property
    def in_flight(self) -> bool:
        return self.outcome is None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _with_ms_times(value: Any) -> Any:
    """A JSON-able copy of a describe structure with every datetime as epoch milliseconds."""
    if isinstance(value, dt.datetime):
        return int(_utc(value).timestamp() * 1000)
    if isinstance(value, dict):
        return {key: _with_ms_times(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_ms_times(item) for item in value]
    return value


def event_endpoint_status(status: str) -> str:
    """The API's status spelling -> the events' (``InService`` -> ``IN_SERVICE``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", status).upper()


def endpoint_event_detail(endpoint: Any, *, deployment: bool, status: str | None = None) -> dict[str, Any]:
    """The detail of ``SageMaker Endpoint State Change`` (``deployment=False``) or ``SageMaker
    Endpoint Deployment State Change`` (with the ``PendingDeploymentSummary`` while one is in
    flight): DescribeEndpoint's fields, status in the events' spelling, times in epoch ms."""
    detail: dict[str, Any] = {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.endpoint_config_name,
        "ProductionVariants": _with_ms_times(endpoint.production_variants),
        "EndpointStatus": event_endpoint_status(status or endpoint.endpoint_status),
        "CreationTime": _with_ms_times(endpoint.creation_time),
        "LastModifiedTime": _with_ms_times(endpoint.last_modified_time),
        "Tags": {tag["Key"]: tag["Value"] for tag in endpoint.tags or []},
    }
    if endpoint.failure_reason:
        detail["FailureReason"] = endpoint.failure_reason
    pending = getattr(endpoint, "pending_deployment_summary", None)
    if deployment and pending:
        detail["PendingDeploymentSummary"] = _with_ms_times(pending)
    shaped: dict[str, Any] = json.loads(json.dumps(detail, default=str))
    return shaped


def _emit_endpoint_event(
    account_id: str, region: str, endpoint: Any, *, deployment: bool, status: str | None = None
) -> None:
    detail_type = (
        "SageMaker Endpoint Deployment State Change" if deployment else "SageMaker Endpoint State Change"
    )
    _put_aws_event(
        account_id,
        region,
        "aws.sagemaker",
        detail_type,
        [endpoint.arn],
        endpoint_event_detail(endpoint, deployment=deployment, status=status),
    )


def _default_weights(
    variants: list[dict[str, Any]], config_variants: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Each variant's weight is the config's ``InitialVariantWeight`` (0 included), 1.0 when absent.

    AWS: every variant, serverless or not, reports ``CurrentWeight``/``DesiredWeight``; a weight of
    0 (a variant that takes no traffic yet) is kept. moto copies the weight only when it is truthy,
    so 0 and a missing weight both come out without weights."""
    initial = {
        str(v["VariantName"]): float(v["InitialVariantWeight"])
        for v in config_variants or []
        if v.get("InitialVariantWeight") is not None
    }
    shaped = [dict(variant) for variant in variants]
    for variant in shaped:
        weight = initial.get(str(variant["VariantName"]))
        if weight is not None:
            variant["CurrentWeight"] = variant["DesiredWeight"] = weight
        variant.setdefault("CurrentWeight", 1.0)
        variant.setdefault("DesiredWeight", variant["CurrentWeight"])
    return shaped


def fill_sagemaker_create_endpoint(
    self: Any, endpoint_name: str, endpoint_config_name: str, tags: list[dict[str, str]]
) -> Any:
    """CreateEndpoint emits ``SageMaker Endpoint State Change`` (``CREATING``, then ``IN_SERVICE``).

    AWS: the endpoint is ``Creating`` while its fleet launches (minutes), then ``InService``; each
    status change puts the event on the default bus; variants get weight 1.0 unless the config
    says otherwise. moto: the endpoint is ``InService`` at once, without weights; no event.
    Fill: keep moto's immediate ``InService`` (so existing callers need not wait), default the
    weights, and put both events, ``CREATING`` then ``IN_SERVICE``.
    """
    endpoint = _call_original(type(self), "create_endpoint", self, endpoint_name, endpoint_config_name, tags)
    config_variants = self.describe_endpoint_config(endpoint_config_name)["ProductionVariants"]
    with _ENDPOINTS_LOCK:
        endpoint.production_variants = _default_weights(endpoint.production_variants, config_variants)
    _emit_endpoint_event(self.account_id, self.region_name, endpoint, deployment=False, status="Creating")
    _emit_endpoint_event(self.account_id, self.region_name, endpoint, deployment=False)
    return endpoint


def fill_sagemaker_create_endpoint_config(
    self: Any, endpoint_config_name: str, production_variants: list[dict[str, Any]], *args: Any, **kwargs: Any
) -> Any:
    """CreateEndpointConfig refuses a serverless config with more than one production variant.

    AWS: SageMaker Serverless Inference's feature exclusions (Developer Guide, "Serverless
    Inference") include multiple production variants, so a config with a ``ServerlessConfig``
    variant takes that variant alone (no weight-0 candidate next to it). moto 5.2.5 accepts any
    number of serverless variants. Fill: refuse such a config with a ValidationException (our
    wording: AWS's exact message is not documented), before anything is created.
    """
    variants = production_variants or []
    if len(variants) > 1 and any(v.get("ServerlessConfig") for v in variants):
        raise _validation(
            f"Serverless endpoint configuration {endpoint_config_name!r} has {len(variants)} production "
            "variants: serverless inference supports exactly one production variant."
        )
    return _call_original(
        type(self), "create_endpoint_config", self, endpoint_config_name, production_variants, *args, **kwargs
    )


def fill_sagemaker_update_endpoint_request(self: Any) -> Any:
    """UpdateEndpoint request: moto's SageMaker responses have no such action (see below)."""
    from moto.core.responses import ActionResult

    arn = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
        retain_all_variant_properties=bool(self._get_param("RetainAllVariantProperties", False)),
        exclude_retained_variant_properties=self._get_param("ExcludeRetainedVariantProperties") or [],
        deployment_config=self._get_param("DeploymentConfig"),
        retain_deployment_config=bool(self._get_param("RetainDeploymentConfig", False)),
    )
    return ActionResult({"EndpointArn": arn})


def _validation(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _range_check(value: Any, path: str, low: int, high: int) -> None:
    if value is None:
        return
    if not low <= int(value) <= high:
        bound = f"greater than or equal to {low}" if int(value) < low else f"less than or equal to {high}"
        raise _validation(
            f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: "
            f"Member must have value {bound}"
        )


def _capacity(size: dict[str, Any], fleet: int) -> int:
    """Instances of a ``CapacitySize`` (``INSTANCE_COUNT`` or ``CAPACITY_PERCENT`` of ``fleet``)."""
    value = int(size["Value"])
    if size["Type"] == "INSTANCE_COUNT":
        return value
    return max(1, math.ceil(fleet * value / 100))


def _percent_of(size: dict[str, Any], fleet: int) -> float:
    value = float(size["Value"])
    return value if size["Type"] == "CAPACITY_PERCENT" else 100.0 * value / fleet


def _traffic_schedule(routing: dict[str, Any], fleet: int) -> list[tuple[int, float, str]]:
    """(instances of the new fleet with traffic on, bake seconds after it, which parameter) per step.

    Between steps the bake is ``WaitIntervalInSeconds``; after the last (all traffic on the new
    fleet) it is ``TerminationWaitInSeconds`` (filled in by the caller)."""
    kind = routing["Type"]
    wait = float(routing.get("WaitIntervalInSeconds", 0))
    if kind == "ALL_AT_ONCE":
        return [(fleet, 0.0, "TerminationWaitInSeconds")]
    if kind == "CANARY":
        canary = routing.get("CanarySize")
        if not canary:
            raise _validation("CanarySize is required when the traffic routing type is CANARY.")
        if _percent_of(canary, fleet) > 50:
            raise _validation(
                f"CanarySize must be less than or equal to 50% of the variant's total instance count ({fleet})."
            )
        return [
            (_capacity(canary, fleet), wait, "WaitIntervalInSeconds"),
            (fleet, 0.0, "TerminationWaitInSeconds"),
        ]
    if kind == "LINEAR":
        step = routing.get("LinearStepSize")
        if not step:
            raise _validation("LinearStepSize is required when the traffic routing type is LINEAR.")
        if not 10 <= _percent_of(step, fleet) <= 50:
            raise _validation(
                f"LinearStepSize must be 10-50% of the variant's total instance count ({fleet})."
            )
        size = _capacity(step, fleet)
        steps = [(on, wait, "WaitIntervalInSeconds") for on in range(size, fleet, size)]
        return [*steps, (fleet, 0.0, "TerminationWaitInSeconds")]
    raise _validation(
        f"1 validation error detected: Value '{kind}' at "
        "'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]"
    )


def _retained_variants(
    current: list[dict[str, Any]], new: list[dict[str, Any]], excluded: set[str]
) -> list[dict[str, Any]]:
    """RetainAllVariantProperties: the current variants' instance count and weight win."""
    by_name = {variant["VariantName"]: variant for variant in current}
    retained = [dict(variant) for variant in new]
    for variant in retained:
        old = by_name.get(variant["VariantName"])
        if old is not None:
            if "DesiredInstanceCount" not in excluded and "DesiredInstanceCount" in old:
                variant["DesiredInstanceCount"] = old["DesiredInstanceCount"]
            if "DesiredWeight" not in excluded and "DesiredWeight" in old:
                variant["DesiredWeight"] = old["DesiredWeight"]
    return retained


def fill_sagemaker_update_endpoint(
    self: Any,
    endpoint_name: str,
    endpoint_config_name: str,
    retain_all_variant_properties: bool = False,
    exclude_retained_variant_properties: list[dict[str, str]] | None = None,
    deployment_config: dict[str, Any] | None = None,
    retain_deployment_config: bool = False,
) -> str:
    """UpdateEndpoint deploys the new config as a simulated blue/green deployment.

    AWS: validates the endpoint and config exist and the endpoint is ``InService`` ("Cannot update
    in-progress endpoint"); sets ``Updating`` and launches a new (green) fleet; shifts traffic
    ALL_AT_ONCE, CANARY (``CanarySize``, bake ``WaitIntervalInSeconds``, then the rest) or LINEAR
    (``LinearStepSize`` every ``WaitIntervalInSeconds``); bakes ``TerminationWaitInSeconds`` with all
    traffic on the green fleet; terminates the old fleet and is ``InService`` on the new config.
    Any ``AutoRollbackConfiguration`` alarm in ALARM, or running past
    ``MaximumExecutionTimeoutInSeconds``, rolls traffic back to the old fleet: ``InService`` on the
    old config with a ``FailureReason``. DescribeEndpoint shows ``PendingDeploymentSummary`` while
    the deployment runs and ``LastDeploymentConfig``; ``SageMaker Endpoint State Change`` and
    ``SageMaker Endpoint Deployment State Change`` events track it.
    moto 5.2.5: no UpdateEndpoint at all ("The update_endpoint action has not been implemented").
    Fill: validate as above (plus: a DeploymentConfig on a serverless or multi-variant endpoint, or
    a new config whose variant name differs, is refused, naming the exclusion), then run the
    deployment in a background thread (:class:`EndpointDeployment`) on the emulator's virtual
    clock: each stage blocks there for its simulated duration and re-reads the alarms' state in
    moto's CloudWatch whenever one changes (SetAlarmState pokes the clock), so an alarm set to
    ALARM while a stage bakes rolls the deployment back. Without a DeploymentConfig: ``Updating``, then ``InService`` on the
    new config after ``FLEET_LAUNCH_SECONDS``. Returns the endpoint ARN.
    """
    with _ENDPOINTS_LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            self.describe_endpoint(endpoint_name)  # moto's "Could not find endpoint" ValidationException
        config = self.describe_endpoint_config(endpoint_config_name)  # likewise for the config
        if endpoint.endpoint_status != "InService":
            raise _validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        if deployment_config is None and retain_deployment_config:
            deployment_config = getattr(endpoint, "last_deployment_config", None)
        new_variants = _default_weights(
            endpoint._process_production_variants(config["ProductionVariants"]), config["ProductionVariants"]
        )
        if retain_all_variant_properties:
            excluded = {p.get("VariantPropertyType", "") for p in exclude_retained_variant_properties or []}
            new_variants = _retained_variants(endpoint.production_variants, new_variants, excluded)
        schedule: list[tuple[int, float, str]] = []
        if deployment_config:
            schedule = _validate_deployment(endpoint, new_variants, deployment_config)
            endpoint.last_deployment_config = copy.deepcopy(deployment_config)
        deployment = EndpointDeployment(
            _state(), self, endpoint, endpoint_config_name, new_variants, deployment_config or None, schedule
        )
        deployment.begin()
    deployment.thread.start()
    return str(endpoint.arn)


WEIGHTS_UPDATE_SECONDS = 30.0
"""Simulated seconds for UpdateEndpointWeightsAndCapacities to take effect."""


def fill_sagemaker_update_endpoint_weights_and_capacities(
    self: Any, endpoint_name: str, desired_weights_and_capacities: list[dict[str, Any]]
) -> str:
    """UpdateEndpointWeightsAndCapacities is an endpoint update: ``Updating``, then ``InService``.

    AWS: refused unless the endpoint is ``InService`` ("Cannot update in-progress endpoint"); each
    named variant must exist once; a weight is >= 0; serverless variants take no instance count.
    The endpoint is ``Updating`` (DescribeEndpoint: the new ``DesiredWeight``, the old
    ``CurrentWeight``) until the change is applied, then ``InService`` with current = desired;
    both status changes put ``SageMaker Endpoint State Change``. A field left out keeps its value.
    moto 5.2.5: applies the change at once (never ``Updating``, no in-progress check, no event) and
    writes ``None`` over an instance count or weight the request leaves out.
    Fill: validate as above, then run the change like a plain UpdateEndpoint
    (:class:`EndpointDeployment`, strategy ``WEIGHTS``) taking ``WEIGHTS_UPDATE_SECONDS`` simulated
    seconds. Returns the endpoint ARN.
    """
    with _ENDPOINTS_LOCK:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            self.describe_endpoint(endpoint_name)  # moto's "Could not find endpoint" ValidationException
        if endpoint.endpoint_status != "InService":
            raise _validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        desired = copy.deepcopy(endpoint.production_variants)
        by_name = {str(variant["VariantName"]): variant for variant in desired}
        seen: set[str] = set()
        for change in desired_weights_and_capacities:
            name = str(change.get("VariantName"))
            if name in seen:
                raise _validation(f'The variant name "{name}" was non-unique within the request.')
            seen.add(name)
            variant = by_name.get(name)
            if variant is None:
                raise _validation(
                    f'The variant name(s) "{name}" is/are not present within endpoint configuration '
                    f'"{endpoint.endpoint_config_name}".'
                )
            weight, count = change.get("DesiredWeight"), change.get("DesiredInstanceCount")
            if weight is None and count is None:
                raise _validation(f"Variant {name}: specify DesiredWeight, DesiredInstanceCount or both.")
            if weight is not None:
                if float(weight) < 0:
                    raise _validation(
                        f"1 validation error detected: Value '{weight}' at 'desiredWeightsAndCapacities."
                        "member.desiredWeight' failed to satisfy constraint: Member must have value "
                        "greater than or equal to 0"
                    )
                variant["DesiredWeight"] = float(weight)
            if count is not None:
                if "CurrentServerlessConfig" in variant:
                    raise _validation(
                        f"Variant {name} is serverless: DesiredInstanceCount does not apply to serverless variants."
                    )
                variant["DesiredInstanceCount"] = int(count)
        deployment = EndpointDeployment(
            _state(), self, endpoint, endpoint.endpoint_config_name, desired, None, []
        )
        deployment.strategy = "WEIGHTS"
        deployment.settle_seconds = WEIGHTS_UPDATE_SECONDS
        endpoint.production_variants = copy.deepcopy(desired)  # desired now, current when applied
        deployment.begin()
    deployment.thread.start()
    return str(endpoint.arn)


def _validate_deployment(
    endpoint: Any, new_variants: list[dict[str, Any]], deployment_config: dict[str, Any]
) -> list[tuple[int, float, str]]:
    """Check a DeploymentConfig against the endpoint (exclusions, ranges); the traffic schedule."""
    if "RollingUpdatePolicy" in deployment_config:
        raise _validation(
            "RollingUpdatePolicy is not supported by the local emulator (use BlueGreenUpdatePolicy)."
        )
    current = endpoint.production_variants
    if any(
        "CurrentServerlessConfig" in v or "DesiredServerlessConfig" in v for v in [*current, *new_variants]
    ):
        raise _validation(
            "DeploymentConfig is not supported for serverless endpoints: deployment guardrails "
            "exclude serverless inference."
        )
    if len(current) > 1 or len(new_variants) > 1:
        raise _validation(
            "DeploymentConfig is not supported for multi-variant endpoints: deployment guardrails "
            "exclude endpoints with more than one production variant."
        )
    if current[0]["VariantName"] != new_variants[0]["VariantName"]:
        raise _validation(
            f"The new endpoint configuration's variant name {new_variants[0]['VariantName']!r} must be "
            f"the same as the current one ({current[0]['VariantName']!r}) for a blue/green deployment."
        )
    policy = deployment_config.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    prefix = "deploymentConfig.blueGreenUpdatePolicy"
    _range_check(
        routing.get("WaitIntervalInSeconds"),
        f"{prefix}.trafficRoutingConfiguration.waitIntervalInSeconds",
        0,
        3600,
    )
    _range_check(policy.get("TerminationWaitInSeconds"), f"{prefix}.terminationWaitInSeconds", 0, 3600)
    _range_check(
        policy.get("MaximumExecutionTimeoutInSeconds"),
        f"{prefix}.maximumExecutionTimeoutInSeconds",
        600,
        28800,
    )
    fleet = int(new_variants[0].get("DesiredInstanceCount") or 1)
    schedule = _traffic_schedule(routing, fleet)
    on, _, label = schedule[-1]
    schedule[-1] = (on, float(policy.get("TerminationWaitInSeconds", 0)), label)
    return schedule


class EndpointDeployment:
    """One simulated UpdateEndpoint, advanced by its own thread on the simulated clock.

    ``begin()`` (under the endpoints lock, in the API call) sets ``Updating`` and puts the first
    events; the thread then walks the stages, writing the moto endpoint's status, variants and
    ``pending_deployment_summary`` (what DescribeEndpoint returns) and putting an event per stage.
    ``stop()`` ends the thread at its next wait (the control plane is closing).
    """

    def __init__(
        self,
        state: _State,
        backend: Any,
        endpoint: Any,
        new_config: str,
        new_variants: list[dict[str, Any]],
        deployment_config: dict[str, Any] | None,
        schedule: list[tuple[int, float, str]],
    ) -> None:
        self.state = state
        self.backend = backend
        self.endpoint = endpoint
        self.old_config: str = endpoint.endpoint_config_name
        self.new_config = new_config
        self.old_variants: list[dict[str, Any]] = copy.deepcopy(endpoint.production_variants)
        self.new_variants = new_variants
        self.deployment_config = deployment_config
        self.schedule = schedule
        policy = (deployment_config or {}).get("BlueGreenUpdatePolicy") or {}
        routing = policy.get("TrafficRoutingConfiguration") or {}
        self.strategy = str(routing.get("Type", "ALL_AT_ONCE")) if deployment_config else "NONE"
        self.settle_seconds = FLEET_LAUNCH_SECONDS
        """Simulated seconds an update without a DeploymentConfig takes."""
        self.alarms = [
            str(alarm["AlarmName"])
            for alarm in ((deployment_config or {}).get("AutoRollbackConfiguration") or {}).get("Alarms")
            or []
        ]
        timeout = policy.get("MaximumExecutionTimeoutInSeconds")
        self.max_seconds = float(timeout) if timeout is not None else None
        self.started = state.clock.now()
        self.finished: dt.datetime | None = None
        self.stage = "Creating"
        self.stages: list[str] = []
        self.traffic = 0.0
        self.outcome: str | None = None
        self.reason: str | None = None
        self._clock = state.clock
        self._begun = self._clock.elapsed()
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"mlcp-endpoint-deployment-{endpoint.endpoint_name}", daemon=True
        )

    # -- snapshot and control ------------------------------------------------------------------

    def status(self) -> EndpointDeploymentStatus:
        return EndpointDeploymentStatus(
            endpoint_name=self.endpoint.endpoint_name,
            from_config=self.old_config,
            to_config=self.new_config,
            strategy=self.strategy,
            stage=self.stage,
            traffic_to_new_percent=round(self.traffic * 100, 2),
            outcome=self.outcome,
            reason=self.reason,
            started=self.started,
            stages=tuple(self.stages),
            finished=self.finished,
            account=str(self.backend.account_id),
        )

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    # -- the deployment ----------------------------------------------------------------------

    def begin(self) -> None:
        """Synchronous part of UpdateEndpoint: ``Updating``, the pending deployment, first events."""
        endpoint = self.endpoint
        endpoint.endpoint_status = "Updating"
        endpoint.failure_reason = None
        endpoint.last_modified_time = self._clock.now()
        self._record("Creating")
        self.state.deployments.append(self)
        self._emit(deployment=False)
        if self.deployment_config:
            fleet = self._fleet()
            self._set_pending(0, 0.0, "Creating", f"Launching {fleet} instance(s).")
            self._emit(deployment=True)

    def _run(self) -> None:
        try:
            if self.deployment_config:
                self._blue_green()
            else:
                self._plain()
        except _DeploymentStopped:
            self._finish("Stopped", self.reason)
        except Exception as exc:  # keep the thread's failure visible in the status
            self._finish("Error", f"{type(exc).__name__}: {exc}")
        finally:
            wake_settle()

    def _plain(self) -> None:
        self._wait(self.settle_seconds, watch=False)
        self._complete(deployment_event=False)

    def _blue_green(self) -> None:
        reason = self._wait(FLEET_LAUNCH_SECONDS, watch=True)
        fleet = self._fleet()
        for on, bake, parameter in self.schedule:
            if reason is not None:
                break
            share = on / fleet
            self._shift(
                on, share, "ActivatingTraffic", f"Turning on traffic on {on} instance(s) of the new fleet."
            )
            reason = self._check()
            if reason is not None:
                break
            self._shift(
                on,
                share,
                "Baking",
                f"Baking for {bake:.0f} seconds ({parameter}) with traffic enabled on {on} instance(s) "
                f"({share:.0%} of the new fleet).",
            )
            reason = self._wait(bake, watch=True)
        if reason is not None:
            self._roll_back(reason)
        else:
            self._complete(deployment_event=True)

    # -- stages --------------------------------------------------------------------------------

    def _fleet(self) -> int:
        return max(1, int(self.new_variants[0].get("DesiredInstanceCount") or 1))

    def _record(self, stage: str) -> None:
        self.stage = stage
        self.stages.append(stage)

    def _set_pending(self, on: int, share: float, stage: str, message: str) -> None:
        now = self._clock.now()
        pending_variants = []
        for variant in self.new_variants:
            weight = float(variant.get("DesiredWeight", 1.0))
            pending_variants.append(
                {
                    **{
                        k: v for k, v in variant.items() if k not in {"CurrentWeight", "CurrentInstanceCount"}
                    },
                    "CurrentWeight": weight * share,
                    "DesiredWeight": weight,
                    "CurrentInstanceCount": on,
                    "VariantStatus": [{"Status": stage, "StatusMessage": message, "StartTime": now}],
                }
            )
        self.endpoint.pending_deployment_summary = {
            "EndpointConfigName": self.new_config,
            "StartTime": self.started,
            "ProductionVariants": pending_variants,
        }

    def _shift(self, on: int, share: float, stage: str, message: str) -> None:
        """The new fleet serves ``share`` of the traffic: weights of both fleets, pending summary, event."""
        with _ENDPOINTS_LOCK:
            self._alive()
            old_fleet = int(self.old_variants[0].get("CurrentInstanceCount") or 0)
            blue = [dict(variant) for variant in self.old_variants]
            for variant in blue:
                variant["CurrentWeight"] = float(variant.get("DesiredWeight", 1.0)) * (1 - share)
                if self.strategy == "LINEAR":  # linear deactivates the same portion of the old fleet
                    variant["CurrentInstanceCount"] = old_fleet - round(old_fleet * share)
            self.endpoint.production_variants = blue
            self.traffic = share
            self._record(stage)
            self._set_pending(on, share, stage, message)
            self._emit(deployment=True)

    def _complete(self, *, deployment_event: bool) -> None:
        with _ENDPOINTS_LOCK:
            self._alive()
            endpoint = self.endpoint
            endpoint.endpoint_config_name = self.new_config
            live = [dict(variant) for variant in self.new_variants]
            for variant in live:
                for current, desired in (
                    ("CurrentInstanceCount", "DesiredInstanceCount"),
                    ("CurrentWeight", "DesiredWeight"),
                ):
                    if desired in variant:
                        variant[current] = variant[desired]
            endpoint.production_variants = live
            endpoint.pending_deployment_summary = None
            endpoint.endpoint_status = "InService"
            endpoint.last_modified_time = self._clock.now()
            self.traffic = 1.0
            if deployment_event:
                self._emit(deployment=True)
            self._emit(deployment=False)
            self._finish("Completed", None)

    def _roll_back(self, reason: str) -> None:
        with _ENDPOINTS_LOCK:
            self._alive()
            endpoint = self.endpoint
            endpoint.endpoint_status = "RollingBack"
            endpoint.failure_reason = reason
            endpoint.last_modified_time = self._clock.now()
            endpoint.production_variants = copy.deepcopy(self.old_variants)
            launched = self._fleet()
            self.traffic = 0.0
            self.reason = reason
            self._record("Deleting")
            self._set_pending(launched, 0.0, "Deleting", f"Terminating {launched} instance(s).")
            pending = endpoint.pending_deployment_summary
            for variant in pending["ProductionVariants"]:
                variant["DesiredWeight"] = 0.0
                variant["DesiredInstanceCount"] = 0
            self._emit(deployment=False)
            self._emit(deployment=True)
        self._wait(FLEET_TERMINATE_SECONDS, watch=False)
        with _ENDPOINTS_LOCK:
            self._alive()
            endpoint.pending_deployment_summary = None
            endpoint.endpoint_status = "InService"
            endpoint.endpoint_config_name = self.old_config
            endpoint.last_modified_time = self._clock.now()
            self._emit(deployment=True)
            self._emit(deployment=False)
            self._finish("RolledBack", reason)

    def _finish(self, outcome: str, reason: str | None) -> None:
        self.reason = reason
        self.stage = outcome
        self.stages.append(outcome)
        self.finished = self._clock.now()
        self.outcome = outcome

    # -- clock, alarms, events -----------------------------------------------------------------

    def _alive(self) -> None:
        """Raise when stopping, or when the endpoint was deleted (or replaced) meanwhile."""
        if self._stop.is_set():
            raise _DeploymentStopped()
        if self.backend.endpoints.get(self.endpoint.endpoint_name) is not self.endpoint:
            self.reason = "the endpoint was deleted during the deployment"
            raise _DeploymentStopped()

    def _simulated_elapsed(self) -> float:
        return self._clock.elapsed() - self._begun

    def _check(self) -> str | None:
        """Why the deployment must roll back now (an alarm in ALARM, the timeout), else None."""
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = cloudwatch_backends[self.backend.account_id][self.backend.region_name].alarms
        tripped = [name for name in self.alarms if name in alarms and alarms[name].state_value == "ALARM"]
        if tripped:
            return (
                f"Endpoint update rolled back: CloudWatch alarm(s) {', '.join(tripped)} in ALARM state "
                f"(AutoRollbackConfiguration) during stage {self.stage}."
            )
        if self.max_seconds is not None and self._simulated_elapsed() >= self.max_seconds:
            return (
                "Endpoint update rolled back: the deployment did not finish within "
                f"MaximumExecutionTimeoutInSeconds ({self.max_seconds:.0f} seconds)."
            )
        return None

    def _wait(self, seconds: float, *, watch: bool) -> str | None:
        """Let ``seconds`` simulated seconds pass on the virtual clock (blocked there, tagged with
        this deployment); with ``watch``, end early with the rollback reason (an alarm change pokes
        the clock, so the alarms are re-read at once)."""
        end = self._clock.elapsed() + max(0.0, seconds)
        if watch and self.max_seconds is not None:
            end = min(end, self._begun + self.max_seconds)
        while True:
            self._alive()
            reason = self._check() if watch else None
            if reason is not None:
                return reason
            if self._clock.elapsed() >= end:
                return None
            # A poke (SetAlarmState) wakes the sleeper, but sleep_until only returns when ``ready``
            # holds: with ``watch`` it must hold for a tripped alarm, else the bake ran to its end.
            ready = (lambda: self._stop.is_set() or self._check() is not None) if watch else self._stop.is_set
            self._clock.sleep_until(end, ready=ready, tag=self)

    def _emit(self, *, deployment: bool) -> None:
        _emit_endpoint_event(
            self.backend.account_id, self.backend.region_name, self.endpoint, deployment=deployment
        )


def stop_endpoint_deployments(state: _State, timeout: float = 5.0) -> None:
    """Stop (and join) every deployment thread started under ``state``."""
    for deployment in list(state.deployments):
        deployment.stop(timeout)
