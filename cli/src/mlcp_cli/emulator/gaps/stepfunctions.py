"""Step Functions: fills h (``$$.Execution.StartTime``; waits, timeouts and retry intervals on the
simulated clock), o (RedriveExecution), p (parse a definition once) and r (StopExecution ends a
task-token wait)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from typing import Any, cast

from mlcp_cli.emulator.gaps.clock import _time_scale
from mlcp_cli.emulator.gaps.state import _call_original, _state


def fill_sfn_start_time_iso(self: Any) -> Any:
    """``$$.Execution.StartTime`` is an ISO 8601 string.

    AWS: the context object's StartTime is a string such as ``2026-11-26T17:00:00.123Z``.
    moto: a ``datetime``, so passing ``$$`` (or StartTime) to an SDK/optimized integration fails
    with "Object of type datetime is not JSON serializable".
    Fill: convert it to AWS's string form when the execution environment is built.
    """
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    env = _call_original(ExecutionWorker, "_get_evaluation_environment", self)
    execution = env.states.context_object.context_object_data["Execution"]
    start = execution.get("StartTime")
    if isinstance(start, dt.datetime):
        start = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
        execution["StartTime"] = (
            start.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
    return env


def fill_sfn_scaled_timeout(self: Any, env: Any) -> None:
    """TimeoutSeconds / TimeoutSecondsPath / HeartbeatSeconds on a simulated clock.

    AWS: a task's timeout fires after that many real seconds (an approval may wait 48 h).
    moto 5.2.5: the same, in wall-clock time, so a timeout path cannot be exercised locally.
    Fill: divide explicit timeouts by the emulator's ``time_scale`` (default 1: unchanged);
    the implicit default timeout is left alone.
    """
    seconds = self._eval_seconds(env=env)
    scale = _time_scale()
    if scale != 1.0 and not self.is_default_value():
        seconds = max(0.05, seconds / scale)
    env.stack.append(seconds)


def fill_sfn_scaled_wait(self: Any, env: Any, wait_seconds: float) -> None:
    """Wait states on the simulated clock.

    AWS: a Wait state pauses that many seconds. moto 5.2.5: sleeps in wall-clock time (and its
    re-entry loop truncates to whole seconds, so fractional waits would never end). Fill: wait
    ``wait_seconds / time_scale`` real seconds, returning early when the execution stops.
    """
    deadline = time.monotonic() + max(0.0, wait_seconds) / _time_scale()
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


class ScaledRetrySleep:
    """Retry intervals on the simulated clock (stands in for the ``time`` module of moto's Retrier).

    AWS: a Retrier waits ``IntervalSeconds * BackoffRate^n`` (jittered) between attempts.
    moto 5.2.5: ``time.sleep`` of that interval in wall-clock time. Fill: sleep
    ``interval / time_scale`` real seconds (default 1: unchanged), as Wait states do.
    """

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) / _time_scale())

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")

REDRIVE_PERIOD = dt.timedelta(days=14)

_REDRIVE_LOCK = threading.Lock()
"""Serialises redrives: the status check and the switch back to RUNNING are one step."""


def _not_redrivable(message: str) -> Exception:
    from moto.core.exceptions import AWSError

    class ExecutionNotRedrivable(AWSError):
        TYPE = "ExecutionNotRedrivable"
        STATUS = 400

    return ExecutionNotRedrivable(message)


def unsuccessful_state(definition: dict[str, Any], history: list[dict[str, Any]]) -> tuple[str, Any]:
    """The top-level state an unsuccessful execution stopped in (entered, never exited) and the
    input it was entered with, from the execution's history."""
    states: dict[str, Any] = definition["States"]
    entered: dict[str, dict[str, Any]] = {}
    for event in history:
        if (details := event.get("stateEnteredEventDetails")) and details["name"] in states:
            entered[details["name"]] = event
        elif (details := event.get("stateExitedEventDetails")) and details["name"] in states:
            entered.pop(details["name"], None)
    if not entered:
        raise _not_redrivable("Execution has no unsuccessful state to redrive from.")
    last = max(entered.values(), key=lambda event: int(event["id"]))
    name = last["stateEnteredEventDetails"]["name"]
    if states[name]["Type"] in {"Map", "Parallel"}:
        # AWS redrives only the failed iterations/branches; the fill does not model that.
        raise _not_redrivable(
            f"state {name!r} is a {states[name]['Type']}: redriving inside it is not emulated"
        )
    return name, json.loads(last["stateEnteredEventDetails"]["input"])


def redrive_execution(execution: Any, client_token: str | None = None) -> dt.datetime:
    """Resume an unsuccessful execution of moto's interpreter at its unsuccessful state.

    Same execution (ARN, definition snapshot, history); the state is re-entered with the input it
    had; an ``ExecutionRedriven`` event (with ``redriveCount``) precedes it. A Fail state is
    re-entered too, so an execution a Catch led to a Fail state fails again, as on AWS.
    """
    from moto.stepfunctions.parser.api import (
        ExecutionRedrivenEventDetails,
        ExecutionStatus,
        HistoryEventType,
    )
    from moto.stepfunctions.parser.asl.component.common.flow.start_at import StartAt
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext

    with _REDRIVE_LOCK:
        if client_token is not None and client_token == getattr(execution, "redrive_client_token", None):
            redriven: dt.datetime = execution.redrive_date
            return redriven  # the same request again: AWS answers it once
        reason = redrive_status_reason(execution)
        if reason:
            raise _not_redrivable(reason)
        previous = execution.exec_worker
        history = previous.env.event_manager.get_event_history()
        state_name, state_input = unsuccessful_state(json.loads(execution.state_machine.definition), history)

        worker = execution._get_start_execution_worker()
        # A copy: the parsed program is shared by every execution of the definition (fill p).
        program = copy.copy(worker._get_evaluation_entrypoint())
        program.start_at = StartAt(state_name)
        env = worker._get_evaluation_environment()
        env.event_manager = previous.env.event_manager  # one history, its event ids continue
        env.event_history_context = EventHistoryContext(previous_event_id=int(history[-1]["id"]))
        env.states.reset(input_value=state_input)
        worker.env = env
        count = int(getattr(execution, "redrive_count", 0)) + 1
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionRedriven,
            # moto's EventDetails TypedDict has no key for it, its HistoryEvent does
            event_details=cast(
                Any, {"executionRedrivenEventDetails": ExecutionRedrivenEventDetails(redriveCount=count)}
            ),
        )
        execution.exec_worker = worker
        execution.exec_status = ExecutionStatus.RUNNING
        execution.stop_date = execution.error = execution.cause = execution.output = None
        execution.redrive_count = count
        execution.redrive_date = dt.datetime.now(dt.UTC)
        execution.redrive_client_token = client_token

        def resume() -> None:
            program.eval(env)
            worker._execution_communication.terminated()

        thread = threading.Thread(target=resume, daemon=True, name=f"redrive-{execution.name}")
        thread.start()
        redrive_date: dt.datetime = execution.redrive_date
        return redrive_date


def redrive_status_reason(execution: Any) -> str | None:
    """Why AWS would refuse to redrive ``execution`` (its ``redriveStatusReason``); None if it can."""
    if execution.sm_type == "EXPRESS":
        return "Express executions are not redrivable."
    if execution.status not in REDRIVABLE_STATUSES or getattr(execution, "exec_worker", None) is None:
        return f"Execution is {execution.status} and cannot be redriven"
    stopped = execution.stop_date
    if stopped is not None and dt.datetime.now(dt.UTC) - stopped > REDRIVE_PERIOD:
        return "Execution redrivable period exceeded"
    return None


def fill_sfn_redrive_execution(self: Any) -> Any:
    """RedriveExecution restarts an unsuccessful Standard execution from its unsuccessful state.

    AWS: a FAILED, TIMED_OUT or ABORTED Standard execution (stopped within 14 days) continues from
    the state that did not succeed, with the input that state had; states that succeeded are not
    re-run; same execution ARN; ``redriveCount`` goes up, the history gets ``ExecutionRedriven``;
    anything else is ``ExecutionNotRedrivable``.
    moto 5.2.5: no RedriveExecution (``NotImplementedError``).
    Fill: :func:`redrive_execution` on moto's interpreter (Map/Parallel-internal failures: refused
    with a clear ``ExecutionNotRedrivable``, the fill does not redrive single branches). A
    StopExecution during a ``.waitForTaskToken`` wait ends ABORTED (fill r) and is redriven at
    that task, which asks for a new token.
    """
    from moto.core.responses import ActionResult

    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    if not hasattr(execution, "exec_worker"):
        raise _not_redrivable("the state machine interpreter is off (moto's execute_state_machine)")
    redriven = redrive_execution(execution, self._get_param("clientToken"))
    return ActionResult({"redriveDate": redriven})


def fill_sfn_describe_execution_redrive(self: Any) -> Any:
    """DescribeExecution reports redrives: ``redriveCount``, ``redriveStatus`` (and its reason),
    ``redriveDate`` once redriven. moto 5.2.5 reports none of them. Fill: add them."""
    from moto.stepfunctions.responses import StepFunctionResponse

    response = _call_original(StepFunctionResponse, "describe_execution", self)
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    if hasattr(execution, "exec_worker"):
        described = response.result
        reason = redrive_status_reason(execution)
        described["redriveCount"] = int(getattr(execution, "redrive_count", 0))
        described["redriveStatus"] = "NOT_REDRIVABLE" if reason else "REDRIVABLE"
        if reason:
            described["redriveStatusReason"] = reason
        if getattr(execution, "redrive_date", None) is not None:
            described["redriveDate"] = execution.redrive_date
    return response


def fill_sfn_parse_once(self: Any) -> Any:
    """A state machine's definition is parsed once, not once per execution.

    AWS: the definition is validated and compiled when the state machine is created or updated;
    starting an execution does not parse it again.
    moto 5.2.5: every execution parses the definition text with its ANTLR grammar (about 0.2 s of
    CPU for the deployment workflow, one of the largest costs of a local deployment). The parsed
    program holds no state of an execution: retry attempts, inputs and outputs live in the
    execution's ``Environment`` (under each component's ``heap_key``).
    Fill: parse each definition text once per installation and hand every execution the same
    program. The heap keys (each component draws a random one on first use) are drawn right after
    the parse, so two executions starting at once cannot draw two keys for one component. A
    redrive copies the program before pointing it at the state it resumes (fill o).
    """
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    definition = self._evaluation_details.state_machine_details.definition
    state = _state()
    with state.programs_lock:
        program = state.programs.get(definition)
        if program is None:
            program = _call_original(ExecutionWorker, "_get_evaluation_entrypoint", self)
            _draw_heap_keys(program)
            state.programs[definition] = program
    return program


def _draw_heap_keys(program: Any) -> None:
    """Touch ``heap_key`` on every evaluable component reachable from ``program``."""
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    stack: list[Any] = [program]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, EvalComponent):
            _ = node.heap_key
        if isinstance(node, Component):
            stack.extend(getattr(node, "__dict__", {}).values())
        elif isinstance(node, list | tuple | set | frozenset):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())


STOP_SETTLE_SECONDS = 10.0
"""Longest a StopExecution waits for a closed callback wait to end the execution (real seconds)."""


def fill_sfn_stop_ends_callback_waits(
    self: Any, stop_date: dt.datetime, error: str | None, cause: str | None
) -> None:
    """StopExecution ends the execution now, including a ``.waitForTaskToken`` wait.

    AWS: the execution is ABORTED at once (history ends ``ExecutionAborted``); a later
    SendTaskSuccess/Failure/Heartbeat with the token of its open task answers ``TaskTimedOut``
    ("Provided task does not exist anymore").
    moto 5.2.5: marks the program stopped, but the task keeps waiting (the execution stays RUNNING
    until the task's timeout, then ends FAILED), and a SendTaskSuccess meanwhile is accepted
    (TaskSucceeded, then aborted): an approval answered after its deployment was stopped looks
    delivered.
    Fill: after moto's stop, every callback still open in the execution is closed, so SendTask*
    answers ``TaskTimedOut`` and the wait returns; with :func:`fill_sfn_stopped_stays_stopped` the
    execution then ends ABORTED, before StopExecution answers. Differences left: the history shows
    a ``TaskTimedOut`` before ``ExecutionAborted``; once the execution has ended, moto answers
    ``InvalidToken`` (it only looks at running executions) where AWS keeps answering
    ``TaskTimedOut``. Both tell a caller the same: nothing waits on the token.
    """
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout
    from moto.stepfunctions.parser.backend.execution import Execution

    _call_original(Execution, "stop", self, stop_date, error, cause)
    worker = self.exec_worker
    if worker is None or getattr(worker, "env", None) is None:
        return
    closed = 0
    for endpoint in list(worker.env.callback_pool_manager._pool.values()):
        if endpoint.get_outcome() is None and endpoint.consumer_error is None:
            endpoint.report(CallbackConsumerTimeout())
            endpoint.interrupt_all()
            closed += 1
    # AWS answers StopExecution with the execution already ABORTED: wait (bounded) for the
    # interpreter to notice, so a DescribeExecution right after sees it.
    deadline = time.monotonic() + STOP_SETTLE_SECONDS
    while closed and self.exec_status == ExecutionStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.002)


def fill_sfn_stopped_stays_stopped(self: Any, error: Any) -> None:
    """A stopped execution's program stays stopped.

    AWS: once StopExecution has aborted an execution, nothing it was doing can fail it. moto 5.2.5:
    an error raised by the interrupted state afterwards overwrites the stopped state (the execution
    ends FAILED, not ABORTED). Fill: an error on a stopped program is ignored.
    """
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    if isinstance(self._program_state, ProgramStopped):
        return
    _call_original(Environment, "set_error", self, error)
