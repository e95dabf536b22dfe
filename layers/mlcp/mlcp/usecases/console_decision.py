"""An approver answers a pending approval in the Step Functions console.

The approver starts an execution of the ``approval-decision`` state machine with
``{"approval_id": ..., "decision": "grant" | "deny", "reason": ...}``. Who started it is never read
from that input: CloudTrail records the StartExecution call with the signer's identity and EventBridge
delivers the record (``aws.states`` events cannot be put by anyone but AWS). The input is read back
with DescribeExecution. The answer then takes the same path as ``mlcp approve|reject``
(:func:`mlcp.usecases.approval.decide_approval`: separation of duties, one answer per approval,
audit with the approver's identity), and the verdict completes the decision execution: it succeeds
with ``granted`` / ``denied`` or fails with ``DecisionRefused`` and why, in the console.

The verdict is written once per decision execution, so a redelivered CloudTrail event changes nothing;
the execution's wait and the verdict may arrive in either order (whichever comes second completes it).
"""

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcp.errors import ApprovalNotPending, SeparationOfDutiesViolation
from mlcp.events import validation_reason
from mlcp.events.cloudtrail import StartExecutionCallEvent
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.ports import UNKNOWN, Executions, TaskCallbacks
from mlcp.records import record_class
from mlcp.usecases.approval import ApprovalDeps, decide_approval
from mlcp.usecases.decision_wait import DECISION_REFUSED, complete_decision

__all__ = [
    "DECISION_REFUSED",
    "ConsoleDecisionDeps",
    "DecisionInput",
    "complete_decision",
    "decide_from_console",
]


class DecisionInput(BaseModel):
    """What the approver types into "Start execution" (identity is never part of it)."""

    model_config = ConfigDict(extra="forbid")

    approval_id: str = Field(min_length=1, max_length=64)
    decision: Literal["grant", "deny"]
    reason: str = Field(min_length=1, max_length=1000)


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class ConsoleDecisionDeps:
    approvals: ApprovalDeps
    #: The decision executions, read back (DescribeExecution).
    executions: Executions
    #: Answers the decision execution's parked token (SendTaskSuccess / SendTaskFailure).
    callbacks: TaskCallbacks
    #: The approval-decision state machine: events about any other are not decisions.
    state_machine_arn: str


def decide_from_console(event: StartExecutionCallEvent, deps: ConsoleDecisionDeps) -> dict[str, Any]:
    """Apply the decision a console execution carries, as the identity CloudTrail recorded."""
    detail = event.detail
    if detail.request_parameters.state_machine_arn != deps.state_machine_arn:
        return {"verdict": "ignored", "why": "not a StartExecution of the approval-decision state machine"}
    if detail.error_code or detail.response_elements is None:
        return {"verdict": "ignored", "why": f"the StartExecution call failed ({detail.error_code})"}
    execution = detail.response_elements.execution_arn
    described = deps.executions.describe(execution)
    if described.get("stateMachineArn") != deps.state_machine_arn:
        return {"verdict": "ignored", "why": "the execution belongs to another state machine"}
    identity = detail.user_identity.arn or UNKNOWN
    known = deps.approvals.state.decision(execution)
    if not known.get("verdict"):
        verdict = _apply(str(described.get("input") or ""), identity, deps)
        written, known = deps.approvals.state.record_verdict(execution, json.dumps(verdict))
    else:
        written = False
    if not written:
        # A redelivered event: the first verdict stands (its decision is never applied twice).
        logger.info("decision already recorded", extra={"execution": execution})
        verdict = {**json.loads(known["verdict"]), "redelivered": True}
    else:
        metrics.add_metric(
            name=f"ConsoleDecisions{verdict['verdict'].title()}", unit=MetricUnit.Count, value=1
        )
    if known.get("task_token"):
        complete_decision(known["task_token"], verdict, deps.callbacks)
    return verdict


def _apply(raw_input: str, identity: str, deps: ConsoleDecisionDeps) -> dict[str, Any]:
    """The verdict: ``granted`` / ``denied``, or ``refused`` with why (nothing changed then)."""
    try:
        request = DecisionInput.model_validate_json(raw_input)
    except ValidationError as exc:
        why = 'the input must be {"approval_id": ..., "decision": "grant" | "deny", "reason": ...}: '
        return {"verdict": "refused", "why": why + validation_reason(exc), "decided_by": identity}
    answer: dict[str, Any] = {"approval_id": request.approval_id, "decided_by": identity}
    try:
        decided = decide_approval(
            request.approval_id,
            grant=request.decision == "grant",
            reason=request.reason,
            identity=identity,
            deps=deps.approvals,
        )
    except (SeparationOfDutiesViolation, ApprovalNotPending) as exc:
        return {**answer, "verdict": "refused", "why": str(exc)}
    return {
        **answer,
        "verdict": decided.status,
        "model_package_arn": decided.model_package_arn,
        "reason": request.reason,
    }
