"""What the control plane parked, and sending it back once the cause is fixed.

Three queues hold what could not be done (docs/adr/0014): ``undelivered`` (EventDeliveryDLQ: the
event EventBridge could not deliver, with the rule, target and error as message attributes),
``failed`` (FunctionFailureQueue: Lambda's OnFailure record of an asynchronous invocation that
failed its retries) and ``rejected`` (RejectedEventsQueue: an event the control plane refused, with
the reason and the function that refused it).

A redrive sends each message's event to where it was going, then deletes the message: a Lambda
function is invoked asynchronously (``InvocationType=Event``, the way EventBridge invokes it), a
state machine gets an execution named after the message (``redrive-<message id>``: running the
redrive twice starts it once). Nothing in a message is trusted: the target must be a function or
state machine that one of this stack's EventBridge rules targets, else the message is kept with the
reason (a workflow task's rejection is redriven by redriving its execution). The handlers are
idempotent, so redriving something that had been applied meanwhile changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

QueueKind = Literal["undelivered", "failed", "rejected"]

#: queue kind -> the stack's logical id of the queue
QUEUES: dict[QueueKind, str] = {
    "undelivered": "EventDeliveryDLQ",
    "failed": "FunctionFailureQueue",
    "rejected": "RejectedEventsQueue",
}


@dataclass(frozen=True)
class StackTargets:
    """The stack's queues and what a parked event may be sent back to."""

    queue_urls: dict[QueueKind, str]
    functions: dict[str, str]
    """function name -> its ARN (unqualified), of the functions EventBridge rules invoke"""
    state_machines: set[str]
    """the ARNs of the state machines EventBridge rules start"""
    service_names: dict[str, str] = field(default_factory=dict)
    """Powertools service name (what a rejection names as ``rejected_by``) -> function name"""

    def function_named(self, name_or_arn: str) -> str | None:
        """The stack's function behind a name or an ARN (a version qualifier is ignored)."""
        name = (
            name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
            if ":function:" in name_or_arn
            else name_or_arn
        )
        return name if name in self.functions else None


@dataclass(frozen=True)
class ParkedMessage:
    """One parked message: what to send again, to where, and why it was parked."""

    queue: QueueKind
    message_id: str
    receipt_handle: str
    sent_at: str
    reason: str
    what: str
    """the event's detail-type and id, for people"""
    event: Any = None
    target: str | None = None
    """a function name or a state machine ARN of this stack"""
    problem: str | None = None
    """why it cannot be redriven (then it is kept)"""


def stack_targets(cloudformation: Any, lambda_client: Any, events: Any, stack_name: str) -> StackTargets:
    """Queues of ``stack_name`` and its event entry points: the functions and state machines its
    EventBridge rules target (a workflow task's function is not one: only its workflow calls it)."""
    physical: dict[str, tuple[str, str]] = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            physical[resource["LogicalResourceId"]] = (
                resource["ResourceType"],
                resource.get("PhysicalResourceId", ""),
            )
    queue_urls: dict[QueueKind, str] = {
        kind: physical[logical][1] for kind, logical in QUEUES.items() if logical in physical
    }
    targets = {
        target["Arn"]
        for kind, rule in physical.values()
        if kind == "AWS::Events::Rule"
        for target in events.list_targets_by_rule(Rule=rule.split("|")[-1])["Targets"]
    }
    functions: dict[str, str] = {}
    services: dict[str, str] = {}
    for kind, name in physical.values():
        if kind != "AWS::Lambda::Function":
            continue
        config = lambda_client.get_function_configuration(FunctionName=name)
        if config["FunctionArn"] not in targets:
            continue
        functions[name] = config["FunctionArn"]
        service = (config.get("Environment") or {}).get("Variables", {}).get("POWERTOOLS_SERVICE_NAME")
        if service:
            services[service] = name
    machines = {
        arn
        for kind, arn in physical.values()
        if kind == "AWS::StepFunctions::StateMachine" and arn in targets
    }
    return StackTargets(queue_urls, functions, machines, services)


def _what(event: Any) -> str:
    if not isinstance(event, dict):
        return f"not an event ({type(event).__name__})"
    detail_type = event.get("detail-type")
    if detail_type is None and "action" in event:  # a workflow task's payload, not an event
        return f"task {event.get('action')!r}"
    return f"{detail_type} {event.get('id', '-')}"


def _attribute(message: dict[str, Any], name: str) -> str:
    return str((message.get("MessageAttributes") or {}).get(name, {}).get("StringValue", ""))


def parse_message(kind: QueueKind, message: dict[str, Any], stack: StackTargets) -> ParkedMessage:
    """What ``message`` of a ``kind`` queue asks to send again, checked against the stack."""
    base = {
        "queue": kind,
        "message_id": message["MessageId"],
        "receipt_handle": message["ReceiptHandle"],
        "sent_at": str((message.get("Attributes") or {}).get("SentTimestamp", "")),
    }
    try:
        body = json.loads(message["Body"])
    except (json.JSONDecodeError, TypeError):
        return ParkedMessage(**base, reason="-", what="-", problem="the body is not JSON")
    fields: dict[str, Any] = body if isinstance(body, dict) else {}  # a Lambda record or a rejection
    if kind == "undelivered":
        event = body
        target_arn = _attribute(message, "TARGET_ARN")
        reason = f"{_attribute(message, 'ERROR_CODE')}: {_attribute(message, 'ERROR_MESSAGE')}"
        target = stack.function_named(target_arn) or (
            target_arn if target_arn in stack.state_machines else None
        )
        problem = None if target else f"target {target_arn or '(none)'} is not an event target of this stack"
    elif kind == "failed":
        context = fields.get("requestContext", {})
        event = fields.get("requestPayload")
        response = fields.get("responsePayload")
        reason = (
            f"{response.get('errorType')}: {response.get('errorMessage')}"
            if isinstance(response, dict)
            else str(response)
        )
        function_arn = str(context.get("functionArn", ""))
        target = stack.function_named(function_arn)
        problem = (
            None if target else f"function {function_arn or '(none)'} is not an event target of this stack"
        )
    else:
        event = fields.get("event")
        reason = str(fields.get("reason", "-"))
        rejected_by = str(fields.get("rejected_by", ""))
        target = stack.service_names.get(rejected_by)
        problem = (
            None
            if target
            else f"rejected by {rejected_by or '(unknown)'}, not an event target of this stack "
            "(a workflow task: redrive its execution instead)"
        )
    if problem is None and not isinstance(event, dict):
        problem = "the message carries no event (a JSON object) to send"
    return ParkedMessage(
        **base, reason=reason, what=_what(event), event=event, target=target, problem=problem
    )


#: How long a message being read stays hidden; whatever is not deleted is made visible again.
READ_VISIBILITY_SECONDS = 120


def receive_all(sqs: Any, queue_url: str, *, limit: int) -> Iterator[dict[str, Any]]:
    """Up to ``limit`` messages of the queue, each once; each stays hidden while the caller works
    (an SQS receive cannot peek: hiding is what lets the next receive return the next messages)."""
    seen = 0
    while seen < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - seen),
            VisibilityTimeout=READ_VISIBILITY_SECONDS,
            AttributeNames=["SentTimestamp"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            return
        for message in batch:
            seen += 1
            yield message


def _release(sqs: Any, queue_url: str, handles: list[str]) -> None:
    """Make messages read but not deleted visible again at once."""
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)


def list_parked(
    sqs: Any, stack: StackTargets, kinds: list[QueueKind], *, limit: int = 100
) -> list[ParkedMessage]:
    """Up to ``limit`` messages per queue, left in place."""
    found: list[ParkedMessage] = []
    for kind in kinds:
        url = stack.queue_urls[kind]
        messages = [parse_message(kind, m, stack) for m in receive_all(sqs, url, limit=limit)]
        _release(sqs, url, [m.receipt_handle for m in messages])
        found += messages
    return found


@dataclass(frozen=True)
class Redriven:
    message: ParkedMessage
    outcome: str
    """``redriven`` / ``would redrive`` / ``kept: <why>``"""


def send_again(message: ParkedMessage, lambda_client: Any, sfn: Any) -> str:
    """Send the message's event to its target: an asynchronous Invoke, or an execution named after the
    message (ExecutionAlreadyExists: a previous redrive started it)."""
    payload = json.dumps(message.event)
    if message.target and message.target.startswith("arn:") and ":stateMachine:" in message.target:
        try:
            sfn.start_execution(
                stateMachineArn=message.target, name=f"redrive-{message.message_id}"[:80], input=payload
            )
        except sfn.exceptions.ExecutionAlreadyExists:
            return "execution already started by an earlier redrive"
        return "execution started"
    response = lambda_client.invoke(
        FunctionName=message.target, InvocationType="Event", Payload=payload.encode()
    )
    if int(response.get("StatusCode", 0)) != 202:
        raise RuntimeError(f"Invoke {message.target}: status {response.get('StatusCode')}")
    return "invoked"


def redrive(
    kind: QueueKind,
    stack: StackTargets,
    *,
    sqs: Any,
    lambda_client: Any,
    sfn: Any,
    apply: bool,
    limit: int = 100,
) -> list[Redriven]:
    """Send up to ``limit`` parked messages of one queue back (``apply``), deleting each one sent.

    A message that cannot be sent (``problem``) is kept and made visible again; without ``apply``
    nothing is sent or deleted. A send that fails stops the redrive (the message stays parked and
    reappears after ``READ_VISIBILITY_SECONDS``)."""
    done: list[Redriven] = []
    url = stack.queue_urls[kind]
    kept: list[str] = []
    try:
        for raw in receive_all(sqs, url, limit=limit):
            message = parse_message(kind, raw, stack)
            if message.problem is not None:
                kept.append(message.receipt_handle)
                done.append(Redriven(message, f"kept: {message.problem}"))
                continue
            if not apply:
                kept.append(message.receipt_handle)
                done.append(Redriven(message, "would redrive"))
                continue
            how = send_again(message, lambda_client, sfn)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message.receipt_handle)
            done.append(Redriven(message, f"redriven ({how})"))
    finally:
        _release(sqs, url, kept)
    return done
