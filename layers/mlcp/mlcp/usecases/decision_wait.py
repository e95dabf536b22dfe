"""The approval-decision workflow's wait (ADR 16): park the execution's task token until its verdict
is known, and answer a parked token with a verdict.

Apart from :mod:`mlcp.usecases.console_decision`, which applies verdicts (approval, gates, policy):
the wait task needs the state table and Step Functions only, and imports nothing else at cold start.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlcp.records import record_class

if TYPE_CHECKING:
    from mlcp.adapters.state import ControlPlaneState
    from mlcp.ports import TaskCallbacks

#: The error a refused decision execution fails with (its cause says why).
DECISION_REFUSED = "DecisionRefused"


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class DecisionWaitDeps:
    #: Where a decision's task token and verdict meet (whichever comes first waits for the other).
    state: ControlPlaneState
    #: Answers the decision execution's parked token (SendTaskSuccess / SendTaskFailure).
    callbacks: TaskCallbacks


def await_decision(execution: str, task_token: str, deps: DecisionWaitDeps) -> dict[str, Any]:
    """The decision execution's wait: keep its token; complete it if the verdict came first."""
    item = deps.state.await_decision(execution, task_token)
    if item.get("verdict"):
        complete_decision(task_token, json.loads(item["verdict"]), deps.callbacks)
    return {"waiting": not item.get("verdict")}


def complete_decision(task_token: str, verdict: dict[str, Any], callbacks: TaskCallbacks) -> None:
    """Succeed the decision execution with the verdict, or fail it with ``DecisionRefused``. A gone
    token (completed already, the other side came second too, or the wait timed out) is nothing to do."""
    if verdict.get("verdict") in {"granted", "denied"}:
        callbacks.succeed(task_token, json.dumps(verdict))
    else:
        callbacks.fail(task_token, DECISION_REFUSED, str(verdict.get("why", "")))
