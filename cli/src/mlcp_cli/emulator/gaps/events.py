"""EventBridge: fill b (rules deliver to Lambda and Step Functions targets; ``aws.*`` sources are
refused to outsiders) and the delivery of queued events."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

from mlcp_cli.emulator.gaps.awslambda import FunctionRegistry, _function_name_of, _send_sqs, invoke_async
from mlcp_cli.emulator.gaps.deliveries import AsyncInvocation, Deliveries, Delivery
from mlcp_cli.emulator.gaps.state import _call_original, _state

DELIVERY_CHECKS: list[Callable[[Delivery, str], None]] = []
"""Authorization of a delivery, called with ``"target"`` before the target and ``"dead-letter"``
before its DLQ; raises what AWS would refuse it with (installed by :mod:`mlcp_cli.emulator.iam`)."""


def _aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """moto's internal event message -> the event as AWS delivers it (ISO time, no ingestion-time)."""
    shaped = {k: copy.deepcopy(v) for k, v in event.items() if k != "ingestion-time"}
    when = shaped.get("time")
    if isinstance(when, int | float):
        shaped["time"] = dt.datetime.fromtimestamp(float(when), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for key in ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"):
        shaped.setdefault(key, [] if key == "resources" else "0" if key == "version" else None)
    return shaped


def target_payload(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge hands the target: the event, or ``Input``, ``InputPath`` or ``InputTransformer`` output."""
    from jsonpath_ng.ext import parse as jsonpath  # type: ignore[attr-defined]
    from moto.events.utils import EventTemplateParser

    aws_event = _aws_event(event)
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = jsonpath(target["InputPath"]).find(aws_event)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        with_ingestion = {**aws_event, "ingestion-time": event.get("ingestion-time", time.time())}
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=with_ingestion,  # type: ignore[arg-type]
        )
    return aws_event


def fill_events_send_to_targets(
    self: Any, original_event: dict[str, Any], transform_input: bool = True
) -> None:
    """EventBridge delivers matching events to Lambda and Step Functions targets.

    AWS: a rule's Lambda target gets an asynchronous invocation, a Step Functions target a
    StartExecution with the event (after ``Input``/``InputPath``/``InputTransformer``); a delivery
    that fails goes to the target's ``DeadLetterConfig`` queue. Disabled rules deliver nothing.
    moto: ``NotImplementedError: Expr not defined`` for those targets (it aborts put_events);
    only ``InputTransformer`` is honoured for the targets it supports.
    A schedule-only rule (``ScheduleExpression``, no ``EventPattern``) matches no event on AWS;
    moto matches every event with it (an empty pattern), so its targets would get them all.
    Fill: queue a :class:`Delivery` for Lambda and ``states`` targets (``pump()`` makes it);
    every other target keeps moto's behaviour; schedule-only rules take no events.
    """
    from moto.utilities.arns import parse_arn

    schedule_only = getattr(self, "scheduled_expression", None) and not self.event_pattern.dump()
    if (
        schedule_only
        or getattr(self, "state", "ENABLED") == "DISABLED"
        or not self.event_pattern.matches_event(original_event)
    ):
        return
    ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("lambda", "states")]
    buses = [t for t in self.targets if parse_arn(t["Arn"]).resource_type == "event-bus"]
    others = [t for t in self.targets if t not in ours and t not in buses]
    for target in buses:
        forward_to_bus(self, target, original_event)
    state = _state()
    for target in ours:
        state.deliveries.enqueue(
            Delivery(
                rule_arn=self.arn,
                target=copy.deepcopy(target),
                event=_aws_event(original_event),
                payload=target_payload(target, original_event),
                account_id=self.account_id,
                region=self.region_name,
            )
        )
    if others:
        all_targets = self.targets
        self.targets = others
        try:
            _call_original(
                type(self), "send_to_targets", self, copy.deepcopy(original_event), transform_input
            )
        finally:
            self.targets = all_targets


def forward_to_bus(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> str:
    """An event bus target receives the event as it was put, if the bus's policy admits it (fill z).

    AWS: a rule whose target is an event bus (in another account, or in its own: bus-to-bus) puts
    the event on that bus as the rule's ``RoleArn``: the role's identity policy must allow
    ``events:PutEvents`` on the bus and, across accounts, the receiving bus's resource policy must
    allow it too. The event keeps its envelope (``account`` stays the sender's, ``source``,
    ``resources``, ``time``), so the receiver's rules can match ``account``. A refused or failed
    delivery goes to the target's dead-letter queue. moto: re-puts the event in the target account
    as a new event of that account (``account`` becomes the receiver's, ``resources`` dropped),
    ignoring the bus policy and the role.
    Fill: authorize as AWS does (:func:`mlcp_cli.emulator.iam.bus_delivery_refusal`), then hand the
    event, envelope intact, to every rule of the target bus.
    """
    from moto.events.models import events_backends

    from mlcp_cli.emulator.iam import bus_delivery_refusal

    target_arn = str(target["Arn"])
    _, _, _, region, account, resource = target_arn.split(":", 5)
    bus_name = resource.split("/", 1)[1]
    rule_name = str(rule.arn).rsplit("/", 1)[-1]
    deliveries = _state().deliveries
    try:
        bus = events_backends[account][region].describe_event_bus(bus_name)
        refusal = bus_delivery_refusal(
            source_account=str(rule.account_id),
            role_arn=target.get("RoleArn"),
            bus_arn=target_arn,
            bus_policy=bus.policy,
            event=_aws_event(event),
        )
    except Exception as exc:  # the bus does not exist (ResourceNotFoundException)
        refusal = f"{type(exc).__name__}: {exc}"
    if refusal is None:
        deliveries.record(rule_name, target_arn, "forwarded")
        for receiving_rule in list(bus.rules.values()):
            receiving_rule.send_to_targets(cast(Any, copy.deepcopy(event)))
        return "forwarded"
    dlq = target.get("DeadLetterConfig", {}).get("Arn")
    if dlq:
        _send_sqs(
            dlq,
            json.dumps(_aws_event(event), default=str),
            {
                "ERROR_CODE": "NO_PERMISSIONS",
                "ERROR_MESSAGE": refusal,
                "RULE_ARN": str(rule.arn),
                "TARGET_ARN": target_arn,
            },
        )
    deliveries.record(rule_name, target_arn, "dead-lettered" if dlq else "dropped", refusal)
    return "dead-lettered" if dlq else "dropped"


AWS_SOURCE_PREFIX = "aws."
"""Sources only AWS services may put on an event bus."""


def fill_events_put_events_aws_source(self: Any) -> str:
    """PutEvents refuses entries whose source begins with ``aws.``.

    AWS: only AWS services put events with an ``aws.`` source; a PutEvents entry claiming one fails
    with ``NotAuthorizedForSourceException`` ("Not authorized for the source.") in its position of
    the result, and the other entries of the call are put. So nobody can forge ``aws.sagemaker``.
    moto: accepts any source through the API.
    Fill: those entries fail as on AWS; the rest go to moto. The emulator's own service events
    (SageMaker, CloudWatch, S3) are put on the backend directly, as the services do
    (``LocalControlPlane.put_aws_events`` for a scenario or test playing an AWS service).
    """
    entries = self._get_param("Entries") or []
    forged = [str(entry.get("Source") or "").startswith(AWS_SOURCE_PREFIX) for entry in entries]
    if not any(forged) or len(entries) > 10:  # moto's own validation answers a batch that is too big
        return str(_call_original(type(self), "put_events", self))
    allowed = [entry for entry, refused in zip(entries, forged, strict=True) if not refused]
    put = iter(self.events_backend.put_events(allowed) if allowed else [])
    results = [
        {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}
        if refused
        else next(put)
        for refused in forged
    ]
    return json.dumps({"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results})


def deliver(delivery: Delivery, deliveries: Deliveries, registry: FunctionRegistry) -> str:
    """Make one queued delivery; a target that cannot be reached sends the event to its DLQ."""
    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.stepfunctions.responses import get_backend as sfn_backend
    from moto.utilities.arns import parse_arn

    target_arn = delivery.target["Arn"]
    rule_name = delivery.rule_arn.rsplit("/", 1)[-1]
    service = parse_arn(target_arn).service
    try:
        for check in DELIVERY_CHECKS:
            check(delivery, "target")
        if service == "lambda":
            backend = lambda_backend(delivery.account_id, delivery.region)
            backend.get_function(target_arn)
        else:
            sfn = sfn_backend(delivery.account_id, delivery.region)
            execution = sfn.start_execution(
                target_arn, name=str(uuid.uuid4()), execution_input=json.dumps(delivery.payload, default=str)
            )
            deliveries.record(rule_name, target_arn, "execution-started", execution.execution_arn)
            return "execution-started"
    except Exception as exc:
        code = type(exc).__name__
        dlq = delivery.target.get("DeadLetterConfig", {}).get("Arn")
        try:
            for check in DELIVERY_CHECKS if dlq else []:
                check(delivery, "dead-letter")
        except Exception as refused:  # AWS drops the event (InvocationsFailedToBeSentToDlq)
            deliveries.record(rule_name, target_arn, "dropped", f"{code}: {exc}; DLQ refused: {refused}")
            return "dropped"
        if dlq:
            _send_sqs(
                dlq,
                json.dumps(delivery.event, default=str),
                {
                    "ERROR_CODE": code,
                    "ERROR_MESSAGE": str(exc),
                    "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttemptsExhausted",
                    "RETRY_ATTEMPTS": "0",
                    "RULE_ARN": delivery.rule_arn,
                    "TARGET_ARN": target_arn,
                },
            )
        deliveries.record(rule_name, target_arn, "dead-lettered" if dlq else "dropped", f"{code}: {exc}")
        return "dead-lettered" if dlq else "dropped"
    invocation = AsyncInvocation(
        _function_name_of(target_arn),
        delivery.payload,
        delivery.account_id,
        delivery.region,
        source=rule_name,
    )
    return (
        "invoked" if invoke_async(invocation, deliveries, registry, rule=rule_name) else "retries-exhausted"
    )


def process_pending(deliveries: Deliveries, registry: FunctionRegistry) -> int:
    """Make every queued delivery and async invocation (including ones they queue); returns how many."""
    done = 0
    item = deliveries.take()
    while item is not None:
        if isinstance(item, Delivery):
            deliver(item, deliveries, registry)
        else:
            invoke_async(item, deliveries, registry)
        done += 1
        item = deliveries.take()
    return done


def _put_aws_event(
    account_id: str, region: str, source: str, detail_type: str, resources: list[str], detail: Any
) -> None:
    from moto.events.models import events_backends

    events_backends[account_id][region].put_events(
        [{"Source": source, "DetailType": detail_type, "Resources": resources, "Detail": json.dumps(detail)}]
    )
