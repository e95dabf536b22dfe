"""Every fill of a moto gap, in one visible module.

Each fill is a small function whose docstring says what AWS does, what moto (5.2.5) does, and
what the fill does. ``install_gap_fills(registry)`` applies them all as monkeypatches on moto
classes; the returned :class:`GapFills` handle undoes them (``uninstall()`` or ``with``).
Installing twice is harmless: the patches are applied once and reference-counted, and the
most recent registry/delivery queue is the one the patched code uses.

Each fill has a test in ``tests/emulator/test_gaps.py`` (the SageMaker endpoint fills, j: in
``tests/emulator/test_gaps_endpoints.py``; RedriveExecution and StopExecution, o and r: in
``tests/emulator/test_gaps_redrive.py``) that first shows moto's raw behaviour still has the gap
(so a moto upgrade that fixes it makes that test fail: drop the fill then), and then shows the
fill gives AWS's behaviour.

Fill j runs each UpdateEndpoint as a background thread on the simulated clock (``time_scale``);
``GapFills.uninstall()`` stops the threads its installation started.

Measured and deliberately not filled (moto 5.2.5):

- S3 with EventBridge notifications enabled emits ``Object Created`` itself (through
  ``Rule.send_to_targets``, so the events fill delivers it to Lambda/Step Functions targets).
  Deviations from AWS: ``detail.reason`` is ``ObjectCreated`` (AWS ``PutObject``), the ETag key is
  ``eTag`` (AWS ``etag``), ``version-id`` is ``"null"`` when unversioned (AWS omits it), and a plain
  PutObject also emits ``Object Tags Added`` with the same event id. Rules naming the detail-type
  are unaffected.
- moto's CloudFormation ignores function ``Layers`` (get_function_configuration shows none) and
  creates no ``AWS::SQS::QueuePolicy`` (``LocalStack.skipped_types`` lists such types). In-process
  handlers import the layer package ``mlcp`` from the venv, so nothing needs the layer.
- Step Functions: an execution whose output is a JSON string is returned unquoted by
  describe_execution; Retry ``IntervalSeconds`` must be >= 1 (as on AWS). Wait states, task timeouts
  and Retry intervals run on the simulated clock (``time_scale``, fill h).
- Step Functions ``aws-sdk:*`` / optimized integrations sign with a fixed fake key, so they call as
  moto's default identity (``sts::<account>:user/moto``); AWS uses the state machine's role.
  Handlers run by a Task state do call as their function's role (fill i).
- Lambda async retries run immediately (AWS waits ~1 and ~2 minutes); ``MaximumEventAgeInSeconds``
  and EventBridge ``RetryPolicy`` are not simulated (a missing target goes to the DLQ at once).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import importlib.util
import io
import json
import math
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, cast

DEFAULT_ASYNC_RETRIES = 2
"""Lambda's default ``MaximumRetryAttempts`` for asynchronous invocations."""

_INVOKE_LOCK = threading.RLock()
"""Serialises in-process handler runs: they share one process environment (os.environ)."""

LAYER_PACKAGES = ("mlcp", "aws_lambda_powertools")
"""Packages each function gets its own copy of, as each Lambda execution environment has its own
import of the layer: module-level state (Logger service name, cached clients) never leaks
between functions."""


# --------------------------------------------------------------------------------------------
# Function registry and Lambda context
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    """What the emulator needs to run one Lambda function's real code in-process."""

    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    timeout_s: int = 3
    arn: str = ""
    log_group: str = ""

    @property
    def log_group_name(self) -> str:
        """The function's log group: LoggingConfig.LogGroup, else Lambda's default."""
        return self.log_group or f"/aws/lambda/{self.name}"


class LambdaContext:
    """The handler's ``context``: the attributes of the AWS Python runtime's context object."""

    def __init__(self, spec: FunctionSpec, request_id: str) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = spec.log_group_name
        self.log_stream_name = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _function_name_of(name_or_arn: str) -> str:
    """``my-fn``, ``arn:aws:lambda:r:a:function:my-fn[:qualifier]`` or ``a:function:my-fn`` -> ``my-fn``."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn


class FunctionRegistry:
    """Physical function name -> :class:`FunctionSpec`, plus the per-function module cache."""

    def __init__(self) -> None:
        self._specs: dict[str, FunctionSpec] = {}
        self._modules: dict[str, ModuleType] = {}
        self._layer_modules: dict[str, dict[str, ModuleType]] = {}
        self.logs: list[FunctionLogLine] = []

    def register(self, spec: FunctionSpec) -> None:
        self._specs[spec.name] = spec
        self._modules.pop(spec.name, None)
        self._layer_modules.pop(spec.name, None)

    @contextlib.contextmanager
    def execution_environment(self, spec: FunctionSpec) -> Iterator[None]:
        """Swap in the function's own copy of the layer packages for one invocation."""
        outside = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_layer_module(name)}
        sys.modules.update(self._layer_modules.get(spec.name, {}))
        try:
            yield
        finally:
            self._layer_modules[spec.name] = {
                name: sys.modules.pop(name) for name in list(sys.modules) if _is_layer_module(name)
            }
            sys.modules.update(outside)

    def get(self, name_or_arn: str) -> FunctionSpec | None:
        return self._specs.get(_function_name_of(name_or_arn))

    def names(self) -> list[str]:
        return sorted(self._specs)

    def handler_of(self, spec: FunctionSpec) -> Callable[[Any, LambdaContext], Any]:
        """Import the handler module from the code dir under a unique module name (cached)."""
        module = self._modules.get(spec.name)
        module_file, _, func_name = spec.handler.rpartition(".")
        if module is None:
            path = spec.code_dir / (module_file.replace(".", "/") + ".py")
            unique = "mlcp_local_fn_" + "".join(c if c.isalnum() else "_" for c in spec.name)
            module_spec = importlib.util.spec_from_file_location(unique, path)
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"cannot load handler module {path}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[unique] = module
            sys.path.insert(0, str(spec.code_dir))
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(unique, None)
                raise
            finally:
                with contextlib.suppress(ValueError):
                    sys.path.remove(str(spec.code_dir))
            self._modules[spec.name] = module
        handler: Callable[[Any, LambdaContext], Any] = getattr(module, func_name)
        return handler


_LAYER_TOP_LEVEL = frozenset(LAYER_PACKAGES)


def _is_layer_module(name: str) -> bool:
    # Called for every module in sys.modules twice per invocation: one set lookup, not a scan.
    return name.partition(".")[0] in _LAYER_TOP_LEVEL


@dataclass(frozen=True)
class FunctionLogLine:
    """One line a handler wrote to stdout/stderr (what Lambda sends to CloudWatch Logs)."""

    function: str
    request_id: str
    line: str


class _InvocationOutput(threading.local):
    buffer: io.StringIO | None = None


_OUTPUT = _InvocationOutput()


class _RoutedStream(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr while a handler runs: the running handler's thread
    writes into its invocation's log; any other thread writes to the stream it replaced.
    Loggers created during an invocation keep this object, so later invocations are captured too."""

    def __init__(self, name: str) -> None:
        self._default = getattr(sys, f"__{name}__")
        self.replaced: Any = None

    def _target(self) -> Any:
        output = _OUTPUT  # None once the interpreter tears module globals down
        if output is not None and output.buffer is not None:
            return output.buffer
        replaced = self.replaced
        if replaced is not None and not getattr(replaced, "closed", False):
            return replaced
        return self._default

    def write(self, text: str) -> int:
        self._target().write(text)
        return len(text)

    def flush(self) -> None:
        self._target().flush()

    def writable(self) -> bool:
        return True


_ROUTED = {"stdout": _RoutedStream("stdout"), "stderr": _RoutedStream("stderr")}


@contextlib.contextmanager
def _captured_output(registry: FunctionRegistry, spec: FunctionSpec, request_id: str) -> Iterator[None]:
    """Capture what the handler prints (Powertools' JSON logs, EMF metrics) into its log group,
    as Lambda does, instead of letting it interleave with the operator's terminal."""
    buffer = io.StringIO()
    saved = {name: getattr(sys, name) for name in _ROUTED}
    for name, routed in _ROUTED.items():
        if saved[name] is not routed:
            routed.replaced = saved[name]
        setattr(sys, name, routed)
    _OUTPUT.buffer = buffer
    try:
        yield
    finally:
        _OUTPUT.buffer = None
        for name, stream in saved.items():
            setattr(sys, name, stream)
        lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
        registry.logs.extend(FunctionLogLine(spec.name, request_id, line) for line in lines)
        _put_log_lines(spec, request_id, lines)


def _put_log_lines(spec: FunctionSpec, request_id: str, lines: list[str]) -> None:
    from moto.logs.models import logs_backends

    account, region = _account_region(spec)
    backend = logs_backends[account][region]
    if spec.log_group_name not in backend.groups:
        backend.create_log_group(spec.log_group_name, {})
    stream = f"{dt.datetime.now(dt.UTC):%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"
    backend.create_log_stream(spec.log_group_name, stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in [f"START RequestId: {request_id}", *lines]]
    backend.put_log_events(spec.log_group_name, stream, events)


def _account_region(spec: FunctionSpec) -> tuple[str, str]:
    parts = spec.arn.split(":")
    if len(parts) > 4 and parts[3] and parts[4]:
        return parts[4], parts[3]
    return os.environ.get("MOTO_ACCOUNT_ID", "123456789012"), os.environ.get(
        "AWS_DEFAULT_REGION", "us-east-1"
    )


@contextlib.contextmanager
def _function_environment(spec: FunctionSpec) -> Iterator[None]:
    """Apply the function's env vars (plus the runtime's own) for one invocation; restore after."""
    values = {
        **spec.environment,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "_HANDLER": spec.handler,
    }
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@dataclass(frozen=True)
class InvocationResult:
    """One in-process run: the JSON-able payload and whether the handler raised."""

    payload: Any
    error: dict[str, Any] | None
    request_id: str


class _RunningFunction(threading.local):
    spec: FunctionSpec | None = None


_RUNNING = _RunningFunction()


def running_function() -> FunctionSpec | None:
    """The function whose handler is running in this thread (the innermost one), if any."""
    return _RUNNING.spec


@contextlib.contextmanager
def _running(spec: FunctionSpec) -> Iterator[None]:
    outer = _RUNNING.spec
    _RUNNING.spec = spec
    try:
        yield
    finally:
        _RUNNING.spec = outer


def run_function(registry: FunctionRegistry, spec: FunctionSpec, event: Any) -> InvocationResult:
    """Run the real handler with its environment and a Lambda context; never raises for handler errors."""
    request_id = str(uuid.uuid4())
    with (
        _INVOKE_LOCK,
        _function_environment(spec),
        registry.execution_environment(spec),
        _captured_output(registry, spec, request_id),
        _running(spec),
    ):
        try:
            handler = registry.handler_of(spec)
            use_simulated_clock()
            result = handler(event, LambdaContext(spec, request_id))
        except Exception as exc:
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": request_id,
                "stackTrace": traceback.format_tb(exc.__traceback__.tb_next if exc.__traceback__ else None),
            }
            return InvocationResult(payload=error, error=error, request_id=request_id)
    return InvocationResult(payload=result, error=None, request_id=request_id)


# --------------------------------------------------------------------------------------------
# EventBridge deliveries (queued by the events fill, made by the runtime's pump)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """An event that matched a rule and awaits delivery to a Lambda or Step Functions target."""

    rule_arn: str
    target: dict[str, Any]
    event: dict[str, Any]
    payload: Any
    account_id: str
    region: str


@dataclass(frozen=True)
class DeliveryRecord:
    """One line of the delivery log (what the timeline printer shows)."""

    time: dt.datetime
    rule: str
    target: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class AsyncInvocation:
    """A Lambda ``InvocationType=Event`` invocation waiting to run (from EventBridge or the API)."""

    function_name: str
    payload: Any
    account_id: str
    region: str
    source: str


class Deliveries:
    """Pending EventBridge deliveries and async invocations, and the log of what was delivered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[Delivery | AsyncInvocation] = deque()
        self.log: list[DeliveryRecord] = []

    def enqueue(self, item: Delivery | AsyncInvocation) -> None:
        with self._lock:
            self._pending.append(item)

    def take(self) -> Delivery | AsyncInvocation | None:
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def record(self, rule: str, target: str, outcome: str, detail: str = "") -> DeliveryRecord:
        entry = DeliveryRecord(dt.datetime.now(dt.UTC), rule, target, outcome, detail)
        with self._lock:
            self.log.append(entry)
        return entry


# --------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------


@dataclass
class _State:
    registry: FunctionRegistry
    deliveries: Deliveries
    time_scale: float = 1.0
    deployments: list[EndpointDeployment] = field(default_factory=list)
    clock_origin: tuple[dt.datetime, float] = field(
        default_factory=lambda: (dt.datetime.now(dt.UTC), time.monotonic())
    )
    clock_offset: float = 0.0
    """Simulated seconds added by ``advance_clock`` (time jumps)."""
    programs: dict[str, Any] = field(default_factory=dict)
    """Definition text -> parsed program (fill p)."""
    programs_lock: threading.Lock = field(default_factory=threading.Lock)


_ABSENT = object()
"""Marks a patched attribute moto does not define (the fill adds it; uninstalling removes it)."""


class _Installation:
    """Module-wide installation state: active registry/deliveries, originals, reference count."""

    def __init__(self) -> None:
        self.active: _State | None = None
        self.originals: list[tuple[Any, str, Any]] = []
        self.count = 0
        self.lock = threading.Lock()


_INSTALL = _Installation()


def _state() -> _State:
    if _INSTALL.active is None:  # pragma: no cover - patches exist only while installed
        raise RuntimeError("emulator gap fills are not installed")
    return _INSTALL.active


class GapFills:
    """Handle of installed gap fills: ``uninstall()`` or use as a context manager."""

    def __init__(
        self, registry: FunctionRegistry, deliveries: Deliveries, state: _State | None = None
    ) -> None:
        self.registry = registry
        self.deliveries = deliveries
        self._state = state if state is not None else _State(registry, deliveries)
        self._installed = True

    def endpoint_deployments(self, *, in_flight_only: bool = False) -> list[EndpointDeploymentStatus]:
        """The simulated endpoint deployments started under this installation, oldest first."""
        found = [deployment.status() for deployment in list(self._state.deployments)]
        return [status for status in found if status.in_flight or not in_flight_only]

    def wait_endpoint_deployments(self, timeout: float = 10.0) -> bool:
        """Block until no deployment is in flight (real seconds); False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        for deployment in list(self._state.deployments):
            deployment.thread.join(max(0.0, deadline - time.monotonic()))
        return not self.endpoint_deployments(in_flight_only=True)

    def uninstall(self) -> None:
        """Stop this installation's deployment threads; the last uninstall restores moto."""
        if self._installed:
            stop_endpoint_deployments(self._state)
        with _INSTALL.lock:
            if not self._installed:
                return
            self._installed = False
            _INSTALL.count -= 1
            if _INSTALL.count == 0:
                for owner, name, original in reversed(_INSTALL.originals):
                    if original is _ABSENT:
                        delattr(owner, name)
                    else:
                        setattr(owner, name, original)
                _INSTALL.originals.clear()
                _INSTALL.active = None
                restore_clock()

    def __enter__(self) -> GapFills:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()


def install_gap_fills(
    registry: FunctionRegistry, deliveries: Deliveries | None = None, *, time_scale: float = 1.0
) -> GapFills:
    """Apply every fill (once; later calls only swap in the given registry, deliveries and clock).

    ``time_scale``: simulated seconds per real second for Step Functions waits and timeouts
    (3600: an hour-long approval timeout fires after one second)."""
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    deliveries = deliveries if deliveries is not None else Deliveries()
    state = _State(registry, deliveries, time_scale)
    with _INSTALL.lock:
        _INSTALL.active = state
        use_simulated_clock()
        if _INSTALL.count == 0:
            for owner, name, replacement in _patches():
                _INSTALL.originals.append((owner, name, owner.__dict__.get(name, _ABSENT)))
                setattr(owner, name, replacement)
        _INSTALL.count += 1
    return GapFills(registry, deliveries, state)


def installed() -> bool:
    """Whether the fills are currently applied."""
    return _INSTALL.count > 0


_DYNAMODB_LOCK = threading.RLock()
"""One DynamoDB request at a time: fill q and ``serialized_dynamodb`` share it (re-entrant)."""


@contextlib.contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """Serialize moto's DynamoDB request handling while the context is open, for plain moto (no
    gap fills: the audit and incident tests, ``make bench``); the gap fills do the same (fill q).

    moto's TransactWriteItems snapshots and restores whole tables without a lock, so truly
    concurrent requests can clobber each other inside the emulator. DynamoDB itself does not
    behave that way; with one request at a time the emulator is a faithful stand-in, and
    concurrent writers exercise *our* conditional writes, not moto's races.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.__dict__["call_action"]  # its own, so restoring it undoes exactly this

    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


def _original(owner: Any, name: str) -> Any:
    """The unpatched attribute (as stored in the class ``__dict__``), for fills that wrap it."""
    for patched_owner, patched_name, original in _INSTALL.originals:
        if patched_owner is owner and patched_name == name:
            return original
    return owner.__dict__[name]


def _call_original(owner: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    original = _original(owner, name)
    if isinstance(original, classmethod):
        return original.__func__(owner, *args, **kwargs)
    return original(*args, **kwargs)


def _patches() -> list[tuple[Any, str, Any]]:
    import moto.cloudformation.parsing as cfn_parsing
    import moto.events.utils as events_utils
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.models import Rule
    from moto.events.responses import EventsHandler
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.sts.models import STSBackend

    from mlcp_cli.emulator.cloudtrail import cloudtrail_patches
    from mlcp_cli.emulator.sfn_callbacks import callback_patches

    return [
        (LambdaSimpleBackend, "invoke", fill_lambda_invoke),
        (Rule, "send_to_targets", fill_events_send_to_targets),
        (EventsHandler, "put_events", fill_events_put_events_aws_source),
        (StateMachine, "create_from_cloudformation_json", classmethod(fill_cfn_state_machine)),
        (StateMachine, "delete_from_cloudformation_json", classmethod(fill_cfn_state_machine_delete)),
        (cfn_parsing, "resource_class_from_type", fill_cfn_resource_class_from_type),
        (SageMakerModelBackend, "create_model_package", fill_sagemaker_create_model_package),
        (SageMakerModelBackend, "update_model_package", fill_sagemaker_update_model_package),
        (SageMakerModelBackend, "_get_resource_from_arn", fill_sagemaker_versioned_package_arn),
        (SageMakerModelBackend, "start_pipeline_execution", fill_sagemaker_start_pipeline_execution),
        (SageMakerResponse, "create_processing_job", fill_sagemaker_create_processing_job_environment),
        (SageMakerResponse, "create_model_package", fill_sagemaker_create_model_package_caller),
        (SageMakerResponse, "update_model_package", fill_sagemaker_update_model_package_caller),
        (STSBackend, "get_caller_identity", fill_sts_get_caller_identity),
        (CloudWatchBackend, "set_alarm_state", fill_cloudwatch_set_alarm_state),
        (SageMakerModelBackend, "create_endpoint", fill_sagemaker_create_endpoint),
        (SageMakerModelBackend, "create_endpoint_config", fill_sagemaker_create_endpoint_config),
        (SageMakerModelBackend, "update_endpoint", fill_sagemaker_update_endpoint),
        (
            SageMakerModelBackend,
            "update_endpoint_weights_and_capacities",
            fill_sagemaker_update_endpoint_weights_and_capacities,
        ),
        (SageMakerResponse, "update_endpoint", fill_sagemaker_update_endpoint_request),
        (ExecutionWorker, "_get_evaluation_environment", fill_sfn_start_time_iso),
        (ExecutionWorker, "_get_evaluation_entrypoint", fill_sfn_parse_once),
        (Timeout, "_eval_body", fill_sfn_scaled_timeout),
        (WaitFunction, "_wait_interval", fill_sfn_scaled_wait),
        (StepFunctionResponse, "redrive_execution", fill_sfn_redrive_execution),
        (StepFunctionResponse, "describe_execution", fill_sfn_describe_execution_redrive),
        (retrier_decl, "time", ScaledRetrySleep()),
        (DynamoHandler, "call_action", fill_dynamodb_one_request_at_a_time),
        (Execution, "stop", fill_sfn_stop_ends_callback_waits),
        (Environment, "set_error", fill_sfn_stopped_stays_stopped),
        *_ops_center_patches(),
        *cloudtrail_patches(),  # fills s and t, in their own modules
        *callback_patches(),
        (
            events_utils,
            "_BASE_EVENT_MESSAGE",
            FreshIdEventMessage(events_utils.__dict__["_BASE_EVENT_MESSAGE"]),
        ),
    ]


# --------------------------------------------------------------------------------------------
# a. Lambda runs the real handler in-process
# --------------------------------------------------------------------------------------------


def fill_lambda_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> str | bytes | None:
    """Lambda Invoke runs the function's code.

    AWS: runs the handler with the function's environment and a context object; an exception
    becomes ``X-Amz-Function-Error: Unhandled`` and a payload ``{errorType, errorMessage,
    stackTrace}`` (Step Functions matches ``errorType`` against Retry/Catch ``ErrorEquals``);
    ``InvocationType=Event`` queues the event and answers 202 at once.
    moto (no Docker): echoes the request body (or a canned result); never runs code.
    Fill: for functions in the ``FunctionRegistry`` import the handler from its code directory,
    run it in-process under its env vars and a realistic context, and shape errors as AWS does;
    ``Event`` invocations are queued for the runtime's ``pump()`` (retries, OnFailure).
    Unregistered functions keep moto's behaviour.
    """
    state = _state()
    spec = state.registry.get(function_name)
    if spec is None:
        echoed: bytes = _call_original(
            type(self), "invoke", self, function_name, qualifier, body, headers, response_headers
        )
        return echoed
    self.get_function(function_name, qualifier)  # AWS answers ResourceNotFound for unknown functions
    event = json.loads(body) if body else {}
    invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "Event":
        state.deliveries.enqueue(
            AsyncInvocation(spec.name, event, self.account_id, self.region_name, source="lambda:Invoke")
        )
        return b""
    if invocation_type == "DryRun":
        return b""
    result = run_function(state.registry, spec, event)
    if result.error is not None:
        response_headers["x-amz-function-error"] = "Unhandled"
    payload = json.dumps(result.payload, default=str).encode()
    response_headers["x-amz-executed-version"] = "$LATEST"
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return None if value is None else str(value)


def invoke_async(
    invocation: AsyncInvocation, deliveries: Deliveries, registry: FunctionRegistry, rule: str = ""
) -> bool:
    """Run one asynchronous invocation with Lambda's async semantics; True when the handler succeeded.

    AWS: an async invocation that errors is retried ``MaximumRetryAttempts`` times (EventInvokeConfig,
    default 2); then the invocation record goes to the OnFailure destination (or the function's
    dead-letter queue). Here retries run immediately (AWS waits about 1 and 2 minutes).
    """
    from moto.awslambda.utils import get_backend as lambda_backend

    backend = lambda_backend(invocation.account_id, invocation.region)
    fn = backend.get_function(invocation.function_name)
    spec = registry.get(invocation.function_name)
    config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
    retries = int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
    label = rule or invocation.source
    result: InvocationResult | None = None
    attempts = 0
    for attempt in range(1, retries + 2):
        attempts = attempt
        if spec is None:  # not registered: moto's echo, which cannot fail
            deliveries.record(label, fn.function_arn, "invoked", "moto simple Lambda (not registered)")
            return True
        result = run_function(registry, spec, invocation.payload)
        if result.error is None:
            deliveries.record(label, fn.function_arn, "invoked", f"attempt {attempt}")
            _send_destination(fn, config, "OnSuccess", invocation, result, attempts)
            return True
        deliveries.record(
            label,
            fn.function_arn,
            "function-error",
            f"attempt {attempt}: {result.error['errorType']}: {result.error['errorMessage']}",
        )
    assert result is not None
    sent_to = _send_destination(fn, config, "OnFailure", invocation, result, attempts)
    deliveries.record(label, fn.function_arn, "retries-exhausted", f"sent to {sent_to or 'nowhere'}")
    return False


def _send_destination(
    fn: Any,
    config: dict[str, Any],
    which: str,
    invocation: AsyncInvocation,
    result: InvocationResult,
    attempts: int,
) -> str | None:
    """Send Lambda's destination invocation record (the documented shape) to an SQS destination."""
    destination = config.get("DestinationConfig", {}).get(which, {}).get("Destination")
    if not destination:
        return None
    record = {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": result.request_id,
            "functionArn": f"{fn.function_arn}:$LATEST",
            "condition": "RetriesExhausted" if which == "OnFailure" else "Success",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": invocation.payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": result.payload,
    }
    if result.error is not None:
        record["responseContext"]["functionError"] = "Unhandled"
    if ":sqs:" in destination:
        _send_sqs(destination, json.dumps(record, default=str), {})
    elif ":sns:" in destination:
        from moto.sns.models import sns_backends

        account, region = destination.split(":")[4], destination.split(":")[3]
        sns_backends[account][region].publish(message=json.dumps(record, default=str), arn=destination)
    elif ":events:" in destination:
        from moto.events.models import events_backends

        account, region = destination.split(":")[4], destination.split(":")[3]
        events_backends[account][region].put_events(
            [
                {
                    "Source": "lambda",
                    "DetailType": f"Lambda Function Invocation Result - {which.removeprefix('On')}",
                    "Detail": json.dumps(record, default=str),
                    "Resources": [fn.function_arn],
                    "EventBusName": destination,
                }
            ]
        )
    elif ":lambda:" in destination:
        _state().deliveries.enqueue(
            AsyncInvocation(
                _function_name_of(destination), record, fn.account_id, fn.region, source=fn.function_arn
            )
        )
    return str(destination)


def _send_sqs(queue_arn: str, body: str, attributes: dict[str, str]) -> None:
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, queue_name = queue_arn.split(":", 5)
    sqs_backends[account][region].send_message(
        queue_name=queue_name,
        message_body=body,
        message_attributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


# --------------------------------------------------------------------------------------------
# b. EventBridge delivers to Lambda and Step Functions targets
# --------------------------------------------------------------------------------------------


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
    others = [t for t in self.targets if t not in ours]
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


# --------------------------------------------------------------------------------------------
# c. CloudFormation state machines execute, with DefinitionSubstitutions applied
# --------------------------------------------------------------------------------------------


def fill_cfn_state_machine(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """CloudFormation creates ``AWS::StepFunctions::StateMachine`` with its substitutions applied.

    AWS: replaces each ``${key}`` of the definition by its ``DefinitionSubstitutions`` value; the
    machine executes. moto: ignores ``DefinitionSubstitutions`` and ``Definition`` and creates the
    machine in the non-executing backend, invisible when ``execute_state_machine`` is on.
    Fill: build the definition (``DefinitionString`` or ``Definition``), substitute, and create it
    in the backend the Step Functions API uses (the executing one in local mode).
    """
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString") or json.dumps(properties.get("Definition", {}))
    definition = substitute_definition(definition, properties.get("DefinitionSubstitutions") or {})
    return get_backend(account_id, region_name).create_state_machine(
        properties.get("StateMachineName", resource_name),
        definition,
        properties.get("RoleArn", ""),
        tags=cfn_to_api_tags(properties.get("Tags", [])),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def substitute_definition(definition: str, substitutions: dict[str, Any]) -> str:
    """Replace each ``${key}`` with its value, as CloudFormation does for DefinitionSubstitutions."""
    for key, value in substitutions.items():
        text = value if isinstance(value, str) else json.dumps(value)
        definition = definition.replace("${" + key + "}", text)
    return definition


def fill_cfn_state_machine_delete(
    cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    """Stack deletion removes the machine from the backend the fill created it in."""
    from moto.stepfunctions.responses import get_backend

    get_backend(account_id, region_name).delete_state_machine(resource_name)


# --------------------------------------------------------------------------------------------
# d. CloudFormation resource types moto skips: CloudWatch alarms, Lambda EventInvokeConfig
# --------------------------------------------------------------------------------------------


class _FilledResource:
    """What moto's ResourceMap needs of a created resource: a physical id and GetAtt."""

    def __init__(self, physical_id: str, attributes: dict[str, str]) -> None:
        self.physical_resource_id = physical_id
        self._attributes = attributes

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if name in self._attributes:
            return self._attributes[name]
        raise UnformattedGetAttTemplateException()


class CfnCloudWatchAlarm:
    """``AWS::CloudWatch::Alarm`` for moto's CloudFormation (put_metric_alarm with the properties)."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _FilledResource:
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json["Properties"]
        name = p.get("AlarmName", resource_name)
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=int(p.get("EvaluationPeriods", 1)),
            period=int(p["Period"]) if "Period" in p else None,  # type: ignore[arg-type]
            threshold=float(p["Threshold"]) if "Threshold" in p else None,  # type: ignore[arg-type]
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=list(p.get("AlarmActions", [])),
            metric_data_queries=None,
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if "DatapointsToAlarm" in p else None,
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=list(p.get("OKActions", [])),
            insufficient_data_actions=list(p.get("InsufficientDataActions", [])),
            unit=p.get("Unit"),
            actions_enabled=bool(p.get("ActionsEnabled", True)),
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
        )
        return _FilledResource(name, {"Arn": alarm.alarm_arn})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


class CfnLambdaEventInvokeConfig:
    """``AWS::Lambda::EventInvokeConfig`` for moto's CloudFormation (PutFunctionEventInvokeConfig)."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _FilledResource:
        from moto.awslambda.utils import get_backend

        p = cloudformation_json["Properties"]
        config = {
            k: p[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in p
        }
        get_backend(account_id, region_name).put_function_event_invoke_config(p["FunctionName"], config)
        return _FilledResource(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", {})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.awslambda.utils import get_backend

        function_name = resource_name.split(":", 1)[0]
        with contextlib.suppress(Exception):
            get_backend(account_id, region_name).delete_function_event_invoke_config(function_name)


_FILLED_CFN_TYPES: dict[str, Any] = {
    "AWS::CloudWatch::Alarm": CfnCloudWatchAlarm,
    "AWS::Lambda::EventInvokeConfig": CfnLambdaEventInvokeConfig,
}


def fill_cfn_resource_class_from_type(resource_type: str) -> Any:
    """CloudFormation creates CloudWatch alarms and Lambda EventInvokeConfigs.

    AWS: both are ordinary resources. moto: "No Moto CloudFormation support" — skipped with a
    warning, so the stack has no alarms and functions keep the default async config.
    Fill: resolve those two types to small models that call put_metric_alarm and
    put_function_event_invoke_config with the template's properties.
    """
    import moto.cloudformation.parsing as cfn_parsing

    if resource_type in _FILLED_CFN_TYPES:
        return _FILLED_CFN_TYPES[resource_type]
    return _call_original(cfn_parsing, "resource_class_from_type", resource_type)


# --------------------------------------------------------------------------------------------
# e. Services that emit EventBridge events in AWS but not in moto; f. model package metadata
# --------------------------------------------------------------------------------------------


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value


def model_package_state_change_detail(model_package: Any) -> dict[str, Any]:
    """The ``SageMaker Model Package State Change`` detail: the package's describe shape, times in ms."""
    described = model_package.gen_response_object()
    detail = {k: _epoch_ms(v) for k, v in described.items() if v is not None and k != "ResponseMetadata"}
    detail.setdefault("ModelPackageName", model_package.model_package_name)
    detail.setdefault("ModelPackageArn", model_package.arn)
    shaped: dict[str, Any] = json.loads(json.dumps(detail, default=str))
    return shaped


def _put_aws_event(
    account_id: str, region: str, source: str, detail_type: str, resources: list[str], detail: Any
) -> None:
    from moto.events.models import events_backends

    events_backends[account_id][region].put_events(
        [{"Source": source, "DetailType": detail_type, "Resources": resources, "Detail": json.dumps(detail)}]
    )


def _emit_model_package_event(backend: Any, arn: str) -> None:
    model_package = backend.describe_model_package(arn)
    _put_aws_event(
        backend.account_id,
        backend.region_name,
        "aws.sagemaker",
        "SageMaker Model Package State Change",
        [model_package.arn],
        model_package_state_change_detail(model_package),
    )


def fill_sagemaker_create_model_package(self: Any, *args: Any, **kwargs: Any) -> str:
    """CreateModelPackage emits ``SageMaker Model Package State Change``.

    AWS: SageMaker puts the event (source ``aws.sagemaker``) on the default bus when a package is
    created or its approval status changes. moto: emits nothing.
    Fill: after moto's create, re-read the package and put the documented event.
    """
    arn: str = _call_original(type(self), "create_model_package", self, *args, **kwargs)
    stamp_model_package_caller(self.describe_model_package(arn), created=True)
    _emit_model_package_event(self, arn)
    return arn


def fill_sagemaker_versioned_package_arn(self: Any, arn: str) -> Any:
    """Tags of a versioned model package.

    AWS: ListTags / AddTags / DeleteTags take a versioned model package ARN
    (``...:model-package/<group>/<version>``). moto 5.2.5: splits the resource part on "/" into
    exactly two names and fails with "too many values to unpack". Fill: look the package up by its
    ARN (with an empty tag list where moto keeps None); other ARNs keep moto's behaviour.
    """
    resource = arn.rsplit(":", maxsplit=1)[-1]
    if resource.startswith("model-package/") and resource.count("/") == 2:
        from moto.sagemaker.exceptions import ValidationError

        for package in self.model_packages.values():
            if package.arn == arn:
                if package.tags is None:  # moto leaves it None when created without tags
                    package.tags = []
                return package
        raise ValidationError(message=f"Could not find model package {arn}")
    return _call_original(type(self), "_get_resource_from_arn", self, arn)


def fill_sagemaker_update_model_package(
    self: Any,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    """UpdateModelPackage keeps unspecified fields and emits the state-change event.

    AWS: fields the call does not set are kept; ``CustomerMetadataProperties`` given are merged
    into the existing ones; an approval status change emits ``SageMaker Model Package State
    Change``. moto: sets ``CustomerMetadataProperties``, ``ApprovalDescription`` and even
    ``ModelApprovalStatus`` to the call's value, wiping them when absent; emits nothing.
    Fill: merge/keep those fields, then put the event when the approval status changed.
    """
    package = self.describe_model_package(model_package_arn)
    before_status = package.model_approval_status
    kept_properties = dict(package.customer_metadata_properties or {})
    kept_description = package.approval_description
    arn: str = _call_original(
        type(self),
        "update_model_package",
        self,
        model_package_arn,
        model_approval_status,
        approval_description,
        customer_metadata_properties,
        customer_metadata_properties_to_remove,
        additional_inference_specifications_to_add,
    )
    if model_approval_status is None:
        package.model_approval_status = before_status
    merged = {**kept_properties, **(customer_metadata_properties or {})}
    for key in customer_metadata_properties_to_remove or []:
        merged.pop(key, None)
    package.customer_metadata_properties = merged or None
    if approval_description is None:
        package.approval_description = kept_description
    stamp_model_package_caller(package, created=False)
    if package.model_approval_status != before_status:
        _emit_model_package_event(self, arn)
    return arn


def _iso_ms(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def alarm_state_change_detail(alarm: Any, previous: dict[str, Any]) -> dict[str, Any]:
    """The ``CloudWatch Alarm State Change`` detail as AWS documents it (single-metric alarms)."""
    metric: dict[str, Any] = {
        "namespace": alarm.namespace,
        "name": alarm.metric_name,
        "dimensions": {d.name: d.value for d in alarm.dimensions},
    }
    configuration: dict[str, Any] = {
        "description": alarm.description,
        "metrics": [
            {
                "id": "m1",
                "metricStat": {"metric": metric, "period": alarm.period, "stat": alarm.statistic},
                "returnData": True,
            }
        ],
    }
    return {
        "alarmName": alarm.name,
        "state": {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": _iso_ms(alarm.state_updated_timestamp),
        },
        "previousState": previous,
        "configuration": configuration,
    }


def fill_cloudwatch_set_alarm_state(
    self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str
) -> None:
    """SetAlarmState emits ``CloudWatch Alarm State Change`` when the state changes.

    AWS: every alarm state change puts an event (source ``aws.cloudwatch``, resources the alarm
    ARN, detail alarmName/state/previousState/configuration) on the default bus.
    moto: changes the state and emits nothing. Fill: emit the documented event after a change.
    """
    alarm = self.alarms.get(alarm_name)
    previous = (
        None
        if alarm is None
        else {
            "value": alarm.state_value,
            "reason": alarm.state_reason,
            "reasonData": alarm.state_reason_data,
            "timestamp": _iso_ms(alarm.state_updated_timestamp),
        }
    )
    _call_original(type(self), "set_alarm_state", self, alarm_name, reason, reason_data, state_value)
    alarm = self.alarms[alarm_name]
    if previous is not None and previous["value"] != state_value:
        _put_aws_event(
            self.account_id,
            self.region_name,
            "aws.cloudwatch",
            "CloudWatch Alarm State Change",
            [alarm.alarm_arn],
            alarm_state_change_detail(alarm, previous),
        )


# --------------------------------------------------------------------------------------------
# g. S3 event ids
# --------------------------------------------------------------------------------------------


class FreshIdEventMessage(dict[str, Any]):
    """S3's EventBridge events each get their own ``id``.

    AWS: every event has a unique id (consumers deduplicate on it).
    moto: S3 builds its events from ``moto.events.utils._BASE_EVENT_MESSAGE`` and never sets the
    id, so every S3 event carries the same fixed id; idempotency keyed on it drops real uploads.
    Fill: replace that template with this dict, whose deep copy (what S3 takes) has a fresh id.
    put_events is unaffected (it sets the id itself).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        fresh = {key: copy.deepcopy(value, memo) for key, value in self.items()}
        fresh["id"] = str(uuid.uuid4())
        return fresh


# --------------------------------------------------------------------------------------------
# h. Step Functions: $$.Execution.StartTime
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# i. Who called: STS GetCallerIdentity in handlers, SageMaker CreatedBy / LastModifiedBy
# --------------------------------------------------------------------------------------------


def _function_role_identity(spec: FunctionSpec) -> tuple[str, str, str] | None:
    """(PrincipalId, Arn, account) of the function's execution role session, as Lambda signs with it."""
    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    account, region = _account_region(spec)
    try:
        role_arn = str(lambda_backend(account, region).get_function(spec.name).role)
    except Exception:  # registered but not (or no longer) a moto function: nothing to sign as
        return None
    partition = get_partition(region)
    try:
        role_id = str(iam_backends[account][partition].get_role_by_arn(role_arn).id)
    except Exception:  # the role is not in moto's IAM: a stable id of AWS's shape
        role_id = "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, role_arn).hex[:17].upper()
    role_name = role_arn.rsplit("/", 1)[-1]
    return (
        f"{role_id}:{spec.name}",
        f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{spec.name}",
        account,
    )


def fill_sts_get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
    """A Lambda handler's calls are made as the function's execution role.

    AWS: Lambda gives the handler the execution role's session credentials, so the handler's
    calls (GetCallerIdentity, and every ``CreatedBy``-style record) name
    ``arn:aws:sts::<account>:assumed-role/<role name>/<function name>``.
    moto: identifies the caller by the request's access key (an IAM user's key -> that user, an
    AssumeRole key -> that role session); an in-process handler signs with the process's fake
    key, so it is moto's default identity (``sts::<account>:user/moto``).
    Fill: a key moto knows keeps its identity; otherwise, while a registered function runs in
    this thread, the caller is that function's role session (role from its Lambda configuration).
    Returns moto's ``(UserId, Arn, Account)`` triple.
    """
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    known = self.get_assumed_role_from_access_key(access_key_id) or iam_backends[self.account_id][
        get_partition(region)
    ].get_user_from_access_key_id(access_key_id)
    spec = running_function()
    if not known and spec is not None:
        role_identity = _function_role_identity(spec)
        if role_identity is not None:
            return role_identity
    identity: tuple[str, str, str] = _call_original(
        type(self), "get_caller_identity", self, access_key_id, region
    )
    return identity


def caller_identity(access_key_id: str, account_id: str, region: str) -> dict[str, str]:
    """The IAM identity behind an access key, as SageMaker's ``UserContext.IamIdentity`` shows it."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    principal_id, arn, _ = sts_backends[account_id][get_partition(region)].get_caller_identity(
        access_key_id, region
    )
    return {"Arn": arn, "PrincipalId": principal_id}


class _RequestCaller(threading.local):
    identity: dict[str, str] | None = None


_REQUEST_CALLER = _RequestCaller()


def _with_request_caller(response: Any, name: str) -> Any:
    """Run moto's response method ``name`` with the request's signer as this thread's caller."""
    outer = _REQUEST_CALLER.identity
    _REQUEST_CALLER.identity = caller_identity(
        response.get_access_key(), response.current_account, response.region
    )
    try:
        return _call_original(type(response), name, response)
    finally:
        _REQUEST_CALLER.identity = outer


def fill_sagemaker_create_model_package_caller(self: Any) -> Any:
    """CreateModelPackage request: its signer is the caller the package records (see below)."""
    return _with_request_caller(self, "create_model_package")


def fill_sagemaker_update_model_package_caller(self: Any) -> Any:
    """UpdateModelPackage request: its signer is the caller the package records (see below)."""
    return _with_request_caller(self, "update_model_package")


def stamp_model_package_caller(package: Any, *, created: bool) -> None:
    """A model package's ``CreatedBy`` / ``LastModifiedBy`` name the IAM identity that called.

    AWS: DescribeModelPackage (and the state-change event) report ``CreatedBy`` and
    ``LastModifiedBy`` UserContexts whose ``IamIdentity`` (``Arn``, ``PrincipalId``) is whoever
    signed CreateModelPackage and the latest UpdateModelPackage; separation-of-duties checks
    compare the two.
    moto: both are the same fake Studio user profile (``fake-user-profile-name``) whoever calls,
    so every approval looks like a self-approval.
    Fill: the SageMaker response methods record the request's signer (access key -> IAM user or
    role session, via STS's mapping; unknown keys -> moto's default identity; an in-process
    handler -> its function's role session); create sets ``CreatedBy`` and ``LastModifiedBy``,
    update sets ``LastModifiedBy``, each ``{"IamIdentity": {...}}`` over moto's own keys.
    Backend calls made outside a request (CloudFormation) keep moto's values.
    """
    identity = _REQUEST_CALLER.identity
    if identity is None:
        return
    if created:
        package.created_by = {**(package.created_by or {}), "IamIdentity": dict(identity)}
        package.last_modified_by = copy.deepcopy(package.created_by)
    else:
        package.last_modified_by = {**(package.last_modified_by or {}), "IamIdentity": dict(identity)}


# --------------------------------------------------------------------------------------------
# h. Simulated time for Step Functions waits and timeouts
# --------------------------------------------------------------------------------------------


def _time_scale() -> float:
    state = _INSTALL.active
    return state.time_scale if state is not None else 1.0


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


# --------------------------------------------------------------------------------------------
# j. SageMaker endpoints: lifecycle events and UpdateEndpoint as a simulated blue/green deployment
# --------------------------------------------------------------------------------------------

FLEET_LAUNCH_SECONDS = 60.0
"""Simulated seconds to launch a new (green) fleet, or to finish a plain UpdateEndpoint."""
FLEET_TERMINATE_SECONDS = 30.0
"""Simulated seconds to terminate the green fleet when a deployment rolls back."""
ALARM_POLL_SECONDS = 0.01
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
    deployment in a background thread (:class:`EndpointDeployment`) on the emulator's simulated
    clock: each stage waits ``seconds / time_scale`` real seconds and reads the alarms' state in
    moto's CloudWatch every ``ALARM_POLL_SECONDS``, so an alarm set to ALARM while a stage bakes
    rolls the deployment back. Without a DeploymentConfig: ``Updating``, then ``InService`` on the
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
        self.started = dt.datetime.now(dt.UTC)
        self.finished: dt.datetime | None = None
        self.stage = "Creating"
        self.stages: list[str] = []
        self.traffic = 0.0
        self.outcome: str | None = None
        self.reason: str | None = None
        self._scale = state.time_scale
        self._begun = time.monotonic()
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
        endpoint.last_modified_time = dt.datetime.now(dt.UTC)
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
        now = dt.datetime.now(dt.UTC)
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
            endpoint.last_modified_time = dt.datetime.now(dt.UTC)
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
            endpoint.last_modified_time = dt.datetime.now(dt.UTC)
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
            endpoint.last_modified_time = dt.datetime.now(dt.UTC)
            self._emit(deployment=True)
            self._emit(deployment=False)
            self._finish("RolledBack", reason)

    def _finish(self, outcome: str, reason: str | None) -> None:
        self.reason = reason
        self.stage = outcome
        self.stages.append(outcome)
        self.finished = dt.datetime.now(dt.UTC)
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
        return (time.monotonic() - self._begun) * self._scale

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
        """Let ``seconds`` simulated seconds pass; with ``watch``, end early with the rollback reason."""
        end = time.monotonic() + max(0.0, seconds) / self._scale
        if watch and self.max_seconds is not None:
            end = min(end, self._begun + self.max_seconds / self._scale)
        while True:
            self._alive()
            reason = self._check() if watch else None
            if reason is not None:
                return reason
            remaining = end - time.monotonic()
            if remaining <= 0:
                return self._check() if watch else None
            if self._stop.wait(min(remaining, ALARM_POLL_SECONDS)):
                raise _DeploymentStopped()

    def _emit(self, *, deployment: bool) -> None:
        _emit_endpoint_event(
            self.backend.account_id, self.backend.region_name, self.endpoint, deployment=deployment
        )


def stop_endpoint_deployments(state: _State, timeout: float = 5.0) -> None:
    """Stop (and join) every deployment thread started under ``state``."""
    for deployment in list(state.deployments):
        deployment.stop(timeout)


# --------------------------------------------------------------------------------------------
# k. SSM OpsCenter: OpsItems
# --------------------------------------------------------------------------------------------

OPS_ITEM_ACTIONS = frozenset({"CreateOpsItem", "UpdateOpsItem", "GetOpsItem", "DescribeOpsItems"})
_OPS_RESERVED_PREFIXES = ("amazon", "aws", "amzn", "ssm", "/amazon", "/aws", "/amzn", "/ssm")
_OPS_AWS_KEYS = frozenset({"/aws/dedup", "/aws/resources", "/aws/automations"})
_OPS_OPEN = frozenset({"Open", "InProgress"})
_OPS_LIMITS = {"Title": 1024, "Description": 2048, "Source": 128, "Category": 64, "Severity": 64}
_OPS_DATA_VALUE_MAX_BYTES = 20 * 1024
_OPS_UPDATABLE = (
    "Title",
    "Description",
    "Status",
    "Priority",
    "Category",
    "Severity",
    "Notifications",
    "RelatedOpsItems",
    "ActualStartTime",
    "ActualEndTime",
    "PlannedStartTime",
    "PlannedEndTime",
)
_OPS_SUMMARY_FIELDS = (
    "CreatedBy",
    "CreatedTime",
    "LastModifiedBy",
    "LastModifiedTime",
    "Priority",
    "Source",
    "Status",
    "OpsItemId",
    "Title",
    "Category",
    "Severity",
    "OpsItemType",
)


class OpsItemError(Exception):
    """An OpsCenter error response: ``__type`` code, message and the error shape's extra members."""

    def __init__(self, code: str, message: str, **members: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.members = members


def _ops_center_patches() -> list[tuple[Any, str, Any]]:
    from moto.core.responses import BaseResponse

    return [(BaseResponse, "call_action", fill_ssm_ops_items)]


def fill_ssm_ops_items(self: Any) -> Any:
    """SSM OpsCenter: CreateOpsItem, UpdateOpsItem, GetOpsItem, DescribeOpsItems.

    AWS: OpsItems (``oi-`` + 12 hex) with Title (<= 1024), Description (<= 2048), Source (<= 128),
    Category, Severity, Priority 1..5, Status (Open on create), Version, Created/LastModified time and
    by (the caller), OperationalData (keys <= 128 characters, not starting with amazon/aws/amzn/ssm
    unless an OpsCenter key such as ``/aws/dedup``; values <= 20 KB); while an open or in-progress
    OpsItem carries the same ``/aws/dedup`` dedupString, CreateOpsItem creates none and answers
    OpsItemAlreadyExistsException naming it. UpdateOpsItem merges OperationalData (and deletes
    OperationalDataToDelete), bumps Version; unknown ids answer OpsItemNotFoundException.
    DescribeOpsItems filters (AND across filters, OR across a filter's values; Equal or Contains)
    and returns summaries with the searchable OperationalData only.
    moto 5.2.5: none of the four actions exists ("The create_ops_item action has not been
    implemented").
    Fill: answer the four actions for SSM requests (moto's SSM backend keeps the items, so a moto
    reset forgets them); every other request goes to moto. DescribeOpsItems filters on Status,
    Source, Title, OpsItemId, Severity, Category, Priority, OperationalData (``{"key","value"}``
    JSON), OperationalDataKey and OperationalDataValue; other filter keys answer a validation error.
    Newest first, MaxResults (default 50) with NextToken.
    """
    from moto.core.responses import BaseResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    if isinstance(self, SimpleSystemManagerResponse):
        action = self._get_action()
        if action in OPS_ITEM_ACTIONS:
            return _ops_item_response(self, action)
    return _call_original(BaseResponse, "call_action", self)


def _ops_item_response(response: Any, action: str) -> tuple[int, dict[str, str], str]:
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[response.current_account][response.region]
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_mlcp_ops_items", {})
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    try:
        params = json.loads(response.body or "{}")
        caller = caller_identity(response.get_access_key(), response.current_account, response.region)["Arn"]
        handlers: dict[str, Callable[..., dict[str, Any]]] = {
            "CreateOpsItem": _ops_create,
            "UpdateOpsItem": _ops_update,
            "GetOpsItem": _ops_get,
            "DescribeOpsItems": _ops_describe,
        }
        with _OPS_LOCK:
            result = handlers[action](store, params, caller=caller, backend=backend)
    except OpsItemError as exc:
        body = {"__type": exc.code, "message": exc.message, "Message": exc.message, **exc.members}
        return 400, headers, json.dumps(body)
    return 200, headers, json.dumps(result, default=str)


_OPS_LOCK = threading.Lock()


def _ops_now() -> float:
    return round(time.time(), 3)


def _ops_check(params: dict[str, Any]) -> None:
    for name, limit in _OPS_LIMITS.items():
        value = params.get(name)
        if value is not None and not (1 <= len(str(value)) <= limit and str(value).strip()):
            raise OpsItemError(
                "ValidationException",
                f"1 validation error detected: Value at '{name[0].lower()}{name[1:]}' failed to satisfy "
                f"constraint: Member must have length between 1 and {limit} and not be blank",
            )
    priority = params.get("Priority")
    if priority is not None and not 1 <= int(priority) <= 5:
        raise OpsItemError("ValidationException", "Priority must be between 1 and 5")
    status = params.get("Status")
    if status is not None and status not in {"Open", "InProgress", "Resolved"}:
        raise OpsItemError(
            "OpsItemInvalidParameterException",
            f"Status {status} is not valid for an OpsItem of type /aws/issue",
            ParameterNames=["Status"],
        )
    for key, value in (params.get("OperationalData") or {}).items():
        if not 1 <= len(key) <= 128 or (
            key not in _OPS_AWS_KEYS and key.lower().startswith(_OPS_RESERVED_PREFIXES)
        ):
            raise OpsItemError(
                "OpsItemInvalidParameterException",
                f"OperationalData key {key!r} is not valid (1..128 characters, no reserved prefix)",
                ParameterNames=["OperationalData"],
            )
        text = str(value.get("Value", ""))
        if not text.strip() or len(text.encode("utf-8")) > _OPS_DATA_VALUE_MAX_BYTES:
            raise OpsItemError(
                "OpsItemInvalidParameterException",
                f"OperationalData value of {key!r} must be non-blank and at most 20 KB",
                ParameterNames=["OperationalData"],
            )


def _ops_dedup_string(data: dict[str, Any]) -> str | None:
    raw = data.get("/aws/dedup", {}).get("Value")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return str(raw)
    return str(parsed.get("dedupString")) if isinstance(parsed, dict) else str(raw)


def _ops_create(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    for required in ("Title", "Description", "Source"):
        if not params.get(required):
            raise OpsItemError("ValidationException", f"{required} is required")
    _ops_check(params)
    data = {
        k: {"Value": v.get("Value"), "Type": v.get("Type", "String")}
        for k, v in (params.get("OperationalData") or {}).items()
    }
    dedup = _ops_dedup_string(data)
    if dedup is not None:
        for existing in store.values():
            if existing["Status"] in _OPS_OPEN and _ops_dedup_string(existing["OperationalData"]) == dedup:
                raise OpsItemError(
                    "OpsItemAlreadyExistsException",
                    f"An OpsItem with the deduplication string exists: {existing['OpsItemId']}",
                    OpsItemId=existing["OpsItemId"],
                )
    ops_item_id = "oi-" + uuid.uuid4().hex[:12]
    now = _ops_now()
    arn = f"arn:{backend.partition}:ssm:{backend.region_name}:{backend.account_id}:opsitem/{ops_item_id}"
    item: dict[str, Any] = {
        "OpsItemId": ops_item_id,
        "OpsItemArn": arn,
        "OpsItemType": params.get("OpsItemType", "/aws/issue"),
        "Title": params["Title"],
        "Description": params["Description"],
        "Source": params["Source"],
        "Status": "Open",
        "Version": "1",
        "CreatedBy": caller,
        "LastModifiedBy": caller,
        "CreatedTime": now,
        "LastModifiedTime": now,
        "OperationalData": data,
        "Notifications": list(params.get("Notifications") or []),
        "RelatedOpsItems": list(params.get("RelatedOpsItems") or []),
    }
    for optional in (
        "Priority",
        "Category",
        "Severity",
        "ActualStartTime",
        "ActualEndTime",
        "PlannedStartTime",
        "PlannedEndTime",
    ):
        if params.get(optional) is not None:
            item[optional] = params[optional]
    store[ops_item_id] = item
    return {"OpsItemId": ops_item_id, "OpsItemArn": arn}


def _ops_find(store: dict[str, dict[str, Any]], ops_item_id: str | None) -> dict[str, Any]:
    item = store.get(ops_item_id or "")
    if item is None:
        raise OpsItemError("OpsItemNotFoundException", f"OpsItem {ops_item_id} does not exist")
    return item


def _ops_update(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    item = _ops_find(store, params.get("OpsItemId"))
    _ops_check(params)
    for name in _OPS_UPDATABLE:
        if params.get(name) is not None:
            item[name] = params[name]
    for key, value in (params.get("OperationalData") or {}).items():
        if key == "/aws/dedup" and key in item["OperationalData"]:
            continue  # AWS: the deduplication string cannot be changed after creation
        item["OperationalData"][key] = {"Value": value.get("Value"), "Type": value.get("Type", "String")}
    for key in params.get("OperationalDataToDelete") or []:
        item["OperationalData"].pop(key, None)
    item["Version"] = str(int(item["Version"]) + 1)
    item["LastModifiedBy"] = caller
    item["LastModifiedTime"] = max(_ops_now(), float(item["LastModifiedTime"]))
    return {}


def _ops_get(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    return {"OpsItem": copy.deepcopy(_ops_find(store, params.get("OpsItemId")))}


def _ops_field_values(item: dict[str, Any], key: str) -> list[str]:
    """What a DescribeOpsItems filter ``key`` compares against in ``item`` (searchable data only)."""
    searchable = {k: v for k, v in item["OperationalData"].items() if v.get("Type") == "SearchableString"}
    if key == "OperationalData":
        return [
            json.dumps({"key": k, "value": v.get("Value")}, sort_keys=True) for k, v in searchable.items()
        ]
    if key == "OperationalDataKey":
        return list(searchable)
    if key == "OperationalDataValue":
        return [str(v.get("Value")) for v in searchable.values()]
    value = item.get(key)
    return [] if value is None else [str(value)]


_OPS_FILTER_KEYS = frozenset(
    {"Status", "Source", "Title", "OpsItemId", "Severity", "Category", "Priority"}
    | {"OperationalData", "OperationalDataKey", "OperationalDataValue"}
)


def _ops_matches(item: dict[str, Any], flt: dict[str, Any]) -> bool:
    key, operator = flt.get("Key"), flt.get("Operator", "Equal")
    if key not in _OPS_FILTER_KEYS or operator not in {"Equal", "Contains"}:
        raise OpsItemError(
            "ValidationException", f"the emulator does not filter OpsItems on {key} {operator}"
        )
    wanted = [str(v) for v in flt.get("Values") or []]
    if key == "OperationalData":  # a {"key": ..., "value": ...} JSON value: compare parsed
        have = [json.loads(v) for v in _ops_field_values(item, key)]
        for raw in wanted:
            want = json.loads(raw)
            for pair in have:
                if pair["key"] != want.get("key"):
                    continue
                if operator == "Equal" and pair["value"] == want.get("value"):
                    return True
                if operator == "Contains" and str(want.get("value")) in str(pair["value"]):
                    return True
        return False
    have_values = _ops_field_values(item, key)
    if operator == "Equal":
        return any(v in have_values for v in wanted)
    return any(w in v for w in wanted for v in have_values)


def _ops_describe(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    filters = list(params.get("OpsItemFilters") or [])
    found = [item for item in store.values() if all(_ops_matches(item, f) for f in filters)]
    found.sort(key=lambda item: (float(item["CreatedTime"]), item["OpsItemId"]), reverse=True)
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 50)
    page = found[start : start + size]
    summaries = []
    for item in page:
        summary = {k: copy.deepcopy(item[k]) for k in _OPS_SUMMARY_FIELDS if k in item}
        summary["OperationalData"] = {
            k: dict(v) for k, v in item["OperationalData"].items() if v.get("Type") == "SearchableString"
        }
        summaries.append(summary)
    result: dict[str, Any] = {"OpsItemSummaries": summaries}
    if start + size < len(found):
        result["NextToken"] = str(start + size)
    return result


# --------------------------------------------------------------------------------------------
# l. SageMaker pipeline executions: idempotency token and status events
# --------------------------------------------------------------------------------------------


def fill_sagemaker_start_pipeline_execution(
    self: Any,
    pipeline_name: str,
    pipeline_execution_display_name: str,
    pipeline_parameters: list[dict[str, Any]],
    pipeline_execution_description: str,
    parallelism_configuration: dict[str, int],
    client_request_token: str,
) -> dict[str, str]:
    """StartPipelineExecution: idempotent on its token, and announced on EventBridge.

    AWS: a repeated ClientRequestToken returns the execution it started; every status change emits
    ``SageMaker Model Building Pipeline Execution Status Change``. moto 5.2.5: each call starts a new
    execution (marked Succeeded at once, no step runs) and emits nothing. Fill: return the existing
    execution for a known token; otherwise start one and emit Executing then Succeeded (what moto
    records), so the control plane's retraining loop closes in local mode.
    """
    from moto.sagemaker.utils import get_pipeline_from_name

    pipeline = get_pipeline_from_name(self.pipelines, pipeline_name)
    if client_request_token:
        for arn, execution in pipeline.pipeline_executions.items():
            if execution.client_request_token == client_request_token:
                return {"PipelineExecutionArn": arn}
    started: dict[str, str] = _call_original(
        type(self),
        "start_pipeline_execution",
        self,
        pipeline_name,
        pipeline_execution_display_name,
        pipeline_parameters,
        pipeline_execution_description,
        parallelism_configuration,
        client_request_token,
    )
    arn = started["PipelineExecutionArn"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {
        "pipelineArn": pipeline.arn,
        "pipelineExecutionArn": arn,
        "pipelineExecutionDisplayName": pipeline_execution_display_name or arn.rsplit("/", 1)[-1],
        "pipelineExecutionDescription": pipeline_execution_description or "",
        "executionStartTime": now,
    }
    for previous, current in ((None, "Executing"), ("Executing", "Succeeded")):
        detail = {**base, "currentPipelineExecutionStatus": current}
        if previous:
            detail["previousPipelineExecutionStatus"] = previous
            detail["executionEndTime"] = now
        _put_aws_event(
            self.account_id,
            self.region_name,
            "aws.sagemaker",
            "SageMaker Model Building Pipeline Execution Status Change",
            [pipeline.arn, arn],
            detail,
        )
    return started


# --------------------------------------------------------------------------------------------
# m. Processing jobs keep their Environment (Model Monitor runs are identified by it)
# --------------------------------------------------------------------------------------------


def fill_sagemaker_create_processing_job_environment(self: Any) -> Any:
    """DescribeProcessingJob returns the job's Environment.

    AWS: a processing job keeps the Environment it was created with (Model Monitor puts the
    endpoint and schedule names there). moto 5.2.5: drops Environment at creation. Fill: keep it on
    moto's job, which then describes it.
    """
    result = _call_original(type(self), "create_processing_job", self)
    environment = self._get_param("Environment")
    if environment:
        job = self.sagemaker_backend.processing_jobs[self._get_param("ProcessingJobName")]
        job.environment = dict(environment)
    return result


# --------------------------------------------------------------------------------------------
# n. One simulated clock for the control plane's code
# --------------------------------------------------------------------------------------------


def simulated_now() -> dt.datetime:
    """The emulator's clock: it starts at the wall-clock time of installation and runs at
    ``time_scale`` simulated seconds per real second, in step with the scaled Step Functions waits."""
    state = _INSTALL.active
    if state is None:
        return dt.datetime.now(dt.UTC)
    origin, started = state.clock_origin
    elapsed = (time.monotonic() - started) * state.time_scale + state.clock_offset
    return origin + dt.timedelta(seconds=elapsed)


def advance_clock(seconds: float) -> None:
    """Jump the simulated clock forward (what the code sees as "now"); waits already running in
    Step Functions or in a simulated deployment keep their own pace."""
    if seconds < 0:
        raise ValueError("time only moves forward")
    state = _INSTALL.active
    if state is None:
        raise RuntimeError("the gap fills are not installed")
    state.clock_offset += seconds


def restore_clock() -> None:
    """Give the operator's copy of ``mlcp.clock`` its wall clock back (the fills are uninstalled)."""
    module = sys.modules.get("mlcp.clock")
    if module is not None and getattr(module, "now", None) is simulated_now:
        import importlib

        importlib.reload(module)  # re-executes the module: ``now`` is the wall clock again


def use_simulated_clock() -> None:
    """Point the loaded copy of ``mlcp.clock`` (the function's own, or the operator's) at the
    simulated clock.

    AWS: a function's notion of "now" is wall-clock time, the same clock that Step Functions waits
    and task timeouts run on. moto 5.2.5 has no notion of simulated time; the time-scale fill (h)
    speeds up the waits, so the code's clock must speed up with them or cooldowns, quiet periods
    and leases would never elapse in a scenario. Fill: swap ``mlcp.clock.now``.
    """
    module = sys.modules.get("mlcp.clock")
    if module is not None and getattr(module, "now", None) is not simulated_now:
        module.now = simulated_now  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# o. Step Functions: RedriveExecution
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# p. Step Functions parses a definition once
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# q. DynamoDB handles one request at a time
# --------------------------------------------------------------------------------------------


def fill_dynamodb_one_request_at_a_time(self: Any) -> Any:
    """Every DynamoDB request is handled alone, as the real service's requests are serializable.

    AWS: concurrent requests on a table never corrupt each other; a TransactWriteItems is atomic
    and isolated. moto 5.2.5: TransactWriteItems deep-copies the tables to roll back on failure,
    without a lock, while other threads (Lambda handlers, Step Functions tasks) write: the copy
    fails with ``RuntimeError: dictionary changed size during iteration``, which the control plane
    sees as a failed call (a deployment failed beyond its retries in an e2e test, 1 run in 4).
    Fill: a re-entrant lock around the DynamoDB request handler.
    """
    from moto.dynamodb.responses import DynamoHandler

    with _DYNAMODB_LOCK:
        return _call_original(DynamoHandler, "call_action", self)


# --------------------------------------------------------------------------------------------
# r. Step Functions: StopExecution ends a task-token wait
# --------------------------------------------------------------------------------------------


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
