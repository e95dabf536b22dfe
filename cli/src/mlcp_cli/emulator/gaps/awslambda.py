"""Lambda: the function registry, the handler's context, and fill a (Invoke runs the real handler
in-process, with its own copy of the layer packages, its role and its log group)."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from mlcp_cli.emulator.gaps.clock import park_for_good, use_simulated_clock
from mlcp_cli.emulator.gaps.deliveries import AsyncInvocation, Deliveries
from mlcp_cli.emulator.gaps.shared_modules import ModuleSharing, install_finder, remove_finder
from mlcp_cli.emulator.gaps.state import _call_original, _state

DEFAULT_ASYNC_RETRIES = 2
"""Lambda's default ``MaximumRetryAttempts`` for asynchronous invocations."""

_INVOKE_LOCK = threading.RLock()
"""Serialises in-process handler runs: they share one process environment (os.environ)."""

LAYER_PACKAGES = ("mlcp", "aws_lambda_powertools")
"""Packages each function gets its own copy of, as each Lambda execution environment has its own
import of the layer: module-level state (Logger service name, cached clients) never leaks
between functions. Modules that hold no state at all are imported once and shared
(:mod:`.shared_modules`, ADR 33)."""


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
        self.sharing = ModuleSharing(LAYER_PACKAGES)
        self.logs: list[FunctionLogLine] = []
        self.closed = False

    def close(self) -> None:
        """No function of this registry runs again (its control plane closed); waits for the
        handler running now, if any, to finish."""
        with _INVOKE_LOCK:
            self.closed = True

    def register(self, spec: FunctionSpec) -> None:
        self._specs[spec.name] = spec
        self._modules.pop(spec.name, None)
        self._layer_modules.pop(spec.name, None)

    @contextlib.contextmanager
    def execution_environment(self, spec: FunctionSpec) -> Iterator[None]:
        """Swap in the function's own copy of the layer packages for one invocation; a module
        without state that another function imported first is that function's (ADR 33)."""
        outside = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_layer_module(name)}
        sys.modules.update(self._layer_modules.get(spec.name, {}))
        install_finder(self.sharing.finder)
        try:
            yield
        finally:
            remove_finder(self.sharing.finder)
            environment = {
                name: sys.modules.pop(name) for name in list(sys.modules) if _is_layer_module(name)
            }
            self._layer_modules[spec.name] = environment
            sys.modules.update(outside)
            self.sharing.promote(environment)

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
        # Lambda's variables are strings: a Number parameter's !Ref arrives as one (moto keeps the int).
        **{key: value if isinstance(value, str) else str(value) for key, value in spec.environment.items()},
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
    if registry.closed:
        # A thread left over from a closed control plane: it must not run a handler (nor write
        # its log group) into the next control plane's emulator.
        park_for_good()
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
