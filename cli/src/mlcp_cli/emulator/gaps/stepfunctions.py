"""Step Functions: fills h (``$$.Execution.StartTime``; Wait states, task-token timeouts and
heartbeats, retry intervals on the virtual clock), o (RedriveExecution), p (parse a definition once),
r (StopExecution ends a task-token wait) and s (SendTaskFailure keeps its cause)."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import math
import os
import pickle
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from mlcp_cli.emulator.gaps.clock import VirtualClock
from mlcp_cli.emulator.gaps.state import _call_original, _state, wake_settle


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


class _WaitingExecution(threading.local):
    arn: str | None = None


_WAITING = _WaitingExecution()
"""The execution whose retry interval or task-token wait this thread is in (the clock's tag)."""


def _execution_arn(env: Any) -> str | None:
    try:
        return str(env.states.context_object.context_object_data["Execution"]["Id"])
    except (AttributeError, KeyError, TypeError):  # pragma: no cover - moto changed its context object
        return None


@contextlib.contextmanager
def _waiting_in(env: Any) -> Iterator[None]:
    previous, _WAITING.arn = _WAITING.arn, _execution_arn(env)
    try:
        yield
    finally:
        _WAITING.arn = previous


def _clock() -> VirtualClock:
    return _state().clock


def fill_sfn_wait_on_clock(self: Any, env: Any, wait_seconds: float) -> None:
    """Wait states on the virtual clock.

    AWS: a Wait state pauses that many seconds. moto 5.2.5: sleeps in wall-clock time (and its
    re-entry loop truncates to whole seconds, so fractional waits would never end). Fill: block on
    the virtual clock (tagged with the execution ARN, so the runtime knows the execution is parked)
    until ``wait_seconds`` have passed there, returning early when the execution stops.
    """
    clock = _clock()
    clock.sleep(max(0.0, float(wait_seconds)), ready=lambda: not env.is_running(), tag=_execution_arn(env))


class RetrySleepOnClock:
    """Retry intervals on the virtual clock (stands in for the ``time`` module of moto's Retrier).

    AWS: a Retrier waits ``IntervalSeconds * BackoffRate^n`` (jittered) between attempts.
    moto 5.2.5: ``time.sleep`` of that interval in wall-clock time. Fill: block on the virtual
    clock for that interval, tagged with the execution (:func:`fill_sfn_retrier_tags_execution`).
    """

    def sleep(self, seconds: float) -> None:
        _clock().sleep(max(0.0, float(seconds)), tag=_WAITING.arn)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def fill_sfn_retrier_tags_execution(self: Any, env: Any) -> None:
    """Part of the retry fill: the Retrier's interval sleep knows its execution (the clock's tag)."""
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl

    with _waiting_in(env):
        _call_original(RetrierDecl, "_eval_body", self, env)


def fill_sfn_task_token_wait_tags_execution(
    self: Any, env: Any, timeout_seconds: int, callback_endpoint: Any, heartbeat_endpoint: Any
) -> Any:
    """Part of the task-token fill: the callback and heartbeat waits know their execution."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    with _waiting_in(env):
        return _call_original(
            StateTaskServiceCallback,
            "_eval_wait_for_task_token",
            self,
            env,
            timeout_seconds,
            callback_endpoint,
            heartbeat_endpoint,
        )


def fill_sfn_task_token_wait_on_clock(self: Any, timeout: float | None = None) -> Any:
    """``.waitForTaskToken`` timeouts (TimeoutSeconds) on the virtual clock.

    AWS: a task waiting for its token times out (States.Timeout) after TimeoutSeconds of wall-clock
    time (an approval may wait 48 h). moto 5.2.5: the same in wall-clock time, so a timeout path
    cannot be exercised locally. Fill: the callback waits on the virtual clock (tagged with the
    execution); SendTaskSuccess/Failure and StopExecution poke the clock so it returns at once.
    The state's own TimeoutSeconds guard around the task stays on wall-clock time: the task's
    timeout fires first, with the same error.
    """
    seconds = math.inf if timeout is None else float(timeout)
    _clock().sleep(seconds, event=self._notify_event, tag=_WAITING.arn)
    return self._outcome


def fill_sfn_heartbeat_wait_on_clock(self: Any) -> bool:
    """HeartbeatSeconds on the virtual clock (moto: wall-clock time); True when a heartbeat came."""
    with self._mutex:
        if self._next_heartbeat_event.is_set():
            self._next_heartbeat_event.clear()
            return True
    return _clock().sleep(self._heartbeat_seconds, event=self._next_heartbeat_event, tag=_WAITING.arn)


def _poking(owner_path: str, class_name: str, name: str) -> Any:
    def poke_after(self: Any, *args: Any, **kwargs: Any) -> Any:
        import importlib

        owner = getattr(importlib.import_module(owner_path), class_name)
        result = _call_original(owner, name, self, *args, **kwargs)
        _clock().poke()
        return result

    poke_after.__name__ = f"fill_sfn_{name}_pokes_clock"
    poke_after.__doc__ = f"{class_name}.{name}, then poke the clock: the waiter re-checks at once."
    return poke_after


def _virtual_utcnow() -> dt.datetime:
    """moto's ``utcnow`` (naive UTC) on the virtual clock."""
    from mlcp_cli.emulator.gaps.clock import simulated_now

    return simulated_now().astimezone(dt.UTC).replace(tzinfo=None)


def clock_patches() -> list[tuple[Any, str, Any]]:
    """The moto patches that put Step Functions' waits on the virtual clock (fill h), and its
    timestamps too: an execution's start/stop dates (``$$.Execution.StartTime``) and each state's
    ``$$.State.EnteredTime`` (moto: wall-clock time, so a task reading both saw a window from the
    real start to the real now while everything else ran on simulated time)."""
    from moto.stepfunctions import models as sfn_models
    from moto.stepfunctions.parser import models as sfn_parser_models
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_decl import RetrierDecl
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, HeartbeatEndpoint

    from mlcp_cli.emulator.gaps.clock import VIRTUAL_DATETIME_MODULE

    callback = "moto.stepfunctions.parser.asl.eval.callback.callback"
    return [
        (sfn_models, "utcnow", _virtual_utcnow),
        (sfn_parser_models, "datetime", VIRTUAL_DATETIME_MODULE),
        (state_module, "datetime", VIRTUAL_DATETIME_MODULE),
        (WaitFunction, "_wait_interval", fill_sfn_wait_on_clock),
        (retrier_decl, "time", RetrySleepOnClock()),
        (RetrierDecl, "_eval_body", fill_sfn_retrier_tags_execution),
        (StateTaskServiceCallback, "_eval_wait_for_task_token", fill_sfn_task_token_wait_tags_execution),
        (CallbackEndpoint, "wait", fill_sfn_task_token_wait_on_clock),
        (HeartbeatEndpoint, "clear_and_wait", fill_sfn_heartbeat_wait_on_clock),
        (CallbackEndpoint, "notify", _poking(callback, "CallbackEndpoint", "notify")),
        (CallbackEndpoint, "interrupt_all", _poking(callback, "CallbackEndpoint", "interrupt_all")),
        (HeartbeatEndpoint, "notify", _poking(callback, "HeartbeatEndpoint", "notify")),
    ]


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
    Fill: parse each definition text once per process (every installation, every stack deployed in
    it) and hand every execution the same program. The heap keys (each component draws a random one on first use) are drawn right after
    the parse, so two executions starting at once cannot draw two keys for one component. A
    redrive copies the program before pointing it at the state it resumes (fill o).
    """
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    definition = self._evaluation_details.state_machine_details.definition
    with _PROGRAMS_LOCK:
        program = _PROGRAMS.get(definition)
        if program is None:
            program = _call_original(ExecutionWorker, "_get_evaluation_entrypoint", self)
            _draw_heap_keys(program)
            _PROGRAMS[definition] = program
    return program


_PROGRAMS: dict[str, Any] = {}
"""Definition text -> parsed program (fill p)."""
_PROGRAMS_LOCK = threading.Lock()


def fill_sfn_validate_once(definition: str) -> None:
    """A definition text is validated once, not on every CreateStateMachine (fill v).

    AWS: CreateStateMachine / UpdateStateMachine validate the definition. moto 5.2.5: validates
    by parsing it with the ANTLR grammar, about 0.3 s of CPU for the deployment workflow, on every
    create: every local deploy paid it again for the same three texts, and the first execution of
    each parsed it once more. Fill: a text that validated once is valid, and the program its
    validation parsed is the one its executions run (fill p). The program is also kept on disk
    (:func:`program_cache_dir`) for the next process, keyed by the text, moto's and Python's
    versions: only a text moto's parser accepted is ever kept. Any other text is validated by moto
    (an invalid one still fails, every time, with moto's error).
    """
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if definition in _VALIDATED:
        return
    program = _stored_program(definition)
    if program is None:
        try:
            program = AmazonStateLanguageParser.parse(definition)[0]
        except Exception:
            _call_original(StepFunctionsParserBackend, "_validate_definition", definition=definition)
            raise  # moto's validation raised for it: never reached
        _draw_heap_keys(program)
        _store_program(definition, program)
    with _PROGRAMS_LOCK:
        _PROGRAMS.setdefault(definition, program)
    _VALIDATED.add(definition)


PROGRAM_CACHE_ENV = "MLCP_ASL_PROGRAM_CACHE"
"""A directory for the parsed programs (default: inside the running environment, ``sys.prefix``);
``off`` keeps none on disk."""


def program_cache_dir() -> Path | None:
    """Where fill v keeps parsed programs between processes: in the Python environment that runs
    the emulator (as trusted as its own bytecode caches), unless :data:`PROGRAM_CACHE_ENV` says
    otherwise."""
    configured = os.environ.get(PROGRAM_CACHE_ENV, "")
    if configured == "off":
        return None
    return Path(configured) if configured else Path(sys.prefix) / "var" / "mlcp" / "asl-programs"


def _program_file(definition: str) -> Path | None:
    import moto

    directory = program_cache_dir()
    if directory is None:
        return None
    key = hashlib.sha256(f"{moto.__version__}\0{sys.version}\0{definition}".encode()).hexdigest()
    return directory / f"{key}.pickle"


def _stored_program(definition: str) -> Any | None:
    path = _program_file(definition)
    if path is None:
        return None
    try:
        return pickle.loads(path.read_bytes())  # written by fill v in this environment only
    except Exception:  # absent, damaged or from another build: parse again
        return None


def _store_program(definition: str, program: Any) -> None:
    path = _program_file(definition)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_bytes(pickle.dumps(program))
        partial.replace(path)  # readers see the whole file or none
    except Exception:  # a cache that cannot be written only costs the next parse
        pass


_VALIDATED: set[str] = set()
"""Definition texts moto's validation accepted (fill v)."""


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
    _clock().poke()  # a Wait state or retry interval of this execution ends now
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


# --------------------------------------------------------------------------------------------
# s. SendTaskFailure keeps its cause
# --------------------------------------------------------------------------------------------


def fill_sfn_send_task_failure_cause(self: Any) -> Any:
    """SendTaskFailure passes its ``cause`` on.

    AWS: ``SendTaskFailure(taskToken, error, cause)`` fails the waiting task with that error and
    cause; a Catch with ``ResultPath`` gets ``{"Error": error, "Cause": cause}`` (the deployment
    workflow rejects a denied package with the approver's reason, ``$.denial.Cause``). moto 5.2.5:
    the API drops ``cause`` (its backend takes it), so the Catch saw ``"Cause": null`` and a denied
    package was rejected with the reason ``None``. Fill: pass ``cause`` to the backend.
    """
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


# --------------------------------------------------------------------------------------------
# Execution Status Change events when an execution ends
# --------------------------------------------------------------------------------------------


def _epoch_ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if isinstance(moment, dt.datetime) else None


def execution_status_change_detail(execution: Any) -> dict[str, Any]:
    """The ``detail`` of Step Functions' ``Step Functions Execution Status Change`` event."""
    status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
    output = execution.output if status == "SUCCEEDED" else None
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": json.dumps(execution.input_data) if execution.input_data is not None else None,
        "output": json.dumps(output) if output is not None else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }


def fill_sfn_status_change_event(self: Any) -> None:
    """An execution that ends sends ``Step Functions Execution Status Change`` to the default bus.

    AWS: Step Functions emits the event for every status change of a standard workflow's execution
    (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED). moto 5.2.5: emits nothing. Fill: when the
    execution ends, put the event with its final status (the RUNNING one is not emitted: nothing
    in the stack listens to it).
    """
    from moto.events.models import events_backends
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    execution = self.execution
    # Between the final status and the event being queued the execution is still busy: a pump
    # that saw it ended and no queued delivery would report the event a step late (a race).
    with _TERMINATING_LOCK:
        _TERMINATING.add(execution.exec_arn)
    try:
        _call_original(BaseExecutionWorkerCommunication, "terminated", self)
        with contextlib.suppress(KeyError):
            events_backends[execution.account_id][execution.region_name].put_events(
                [
                    {
                        "Source": "aws.states",
                        "DetailType": "Step Functions Execution Status Change",
                        "Resources": [execution.exec_arn],
                        "Detail": json.dumps(execution_status_change_detail(execution)),
                    }
                ]
            )
    finally:
        with _TERMINATING_LOCK:
            _TERMINATING.discard(execution.exec_arn)
        wake_settle()


_TERMINATING: set[str] = set()
_TERMINATING_LOCK = threading.Lock()


def terminating_executions() -> list[str]:
    """ARNs of the executions ending right now (final status set, status change event not yet put)."""
    with _TERMINATING_LOCK:
        return sorted(_TERMINATING)
