"""Fault injection on top of the emulator: throttling, 5xx and timeouts at any AWS call.

Every boto3 client in the process (the operator's, each in-process Lambda handler's, Step
Functions' own service integrations) sends its requests through moto's botocore ``before-send``
hook. :class:`FaultInjector` sits in that hook: for a request that matches an armed
:class:`FaultRule` it answers as AWS does under stress instead of letting moto handle it, so
botocore's retry logic (and then the state machine's Retry/Catch) reacts exactly as it would to
the real service::

    with FaultInjector() as faults, LocalControlPlane(TEMPLATE) as cp:
        faults.arm(FaultRule("sagemaker", "UpdateEndpoint", "throttle", times=4))
        ...
        faults.injected            # how many faulty answers were given
        faults.calls               # every attempt, faulted or not: Call(caller, service, ...)

Fault kinds: ``throttle`` (the service's throttling error: ``ThrottlingException``, Lambda's
``TooManyRequestsException``, S3's ``SlowDown``, query services' ``Throttling``), ``unavailable``
(HTTP 503 ``ServiceUnavailable``), ``internal`` (HTTP 500 ``InternalFailure``; DynamoDB's
``InternalServerError``; Lambda answers both 5xx as ``ServiceException``), ``read-timeout`` / ``connect-timeout`` (botocore's ``ReadTimeoutError`` /
``ConnectTimeoutError``, raised before the request reaches the service, so it has no effect).

A faulted request never reaches moto: no side effect, as AWS does not apply a throttled or
failed request. botocore's backoff sleeps are divided by ``backoff_scale`` (default 1,000), so a
fault matrix runs in seconds while the number of attempts stays the real one.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from mlcp_cli.emulator.patches import Hook, Patches

FAULT_KINDS = ("throttle", "unavailable", "internal", "read-timeout", "connect-timeout")

_THROTTLE_CODES = {"lambda": ("TooManyRequestsException", 429), "s3": ("SlowDown", 503)}
_QUERY_THROTTLE = ("Throttling", 400)
_INTERNAL_CODES = {"dynamodb": "InternalServerError", "lambda": "ServiceException"}
_UNAVAILABLE_CODES = {"lambda": "ServiceException"}
_INVOKE_PATH = re.compile(r"/functions/([^/]+)/invocations")


@dataclass(frozen=True)
class FaultRule:
    """``times`` consecutive faults of ``kind`` at the first matching requests.

    A request matches when its service id (``sagemaker``, ``dynamodb``, ``lambda``, ``sfn``, ...)
    and operation name are these, and, if given, ``caller`` is the function whose handler sends
    it (``None`` matches any caller) and ``target`` is the function a Lambda ``Invoke`` names.
    """

    service: str
    operation: str
    kind: str
    times: int
    caller: str | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r}: expected one of {FAULT_KINDS}")
        if self.times < 0:
            raise ValueError("times must be >= 0")


@dataclass(frozen=True)
class Call:
    """One request attempt: who sent it, to what, and whether it was faulted (the fault kind)."""

    caller: str | None
    service: str
    operation: str
    target: str | None
    fault: str | None


@dataclass
class _Armed:
    rule: FaultRule
    remaining: int


@dataclass
class FaultInjector(Hook):
    """Install with ``with`` (or ``install()`` / ``uninstall()``); see the module docstring."""

    backoff_scale: float = 1000.0
    calls: list[Call] = field(default_factory=list)
    _armed: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    patches: Patches = field(default_factory=Patches)

    # -- control -----------------------------------------------------------------------------

    def arm(self, rule: FaultRule) -> None:
        """Add a rule (rules are consulted in order; each fires ``times`` times, then is spent)."""
        with self._lock:
            self._armed.append(_Armed(rule, rule.times))

    def disarm(self) -> None:
        with self._lock:
            self._armed.clear()

    @property
    def injected(self) -> int:
        return sum(1 for call in self.calls if call.fault is not None)

    def pending(self) -> int:
        """Faults armed but not yet given."""
        with self._lock:
            return sum(armed.remaining for armed in self._armed)

    def count(self, service: str, operation: str, *, faulted: bool | None = None) -> int:
        """Attempts at ``service.operation``; ``faulted=False``: only those that reached the service."""
        return sum(
            1
            for call in self.calls
            if call.service == service
            and call.operation == operation
            and (faulted is None or (call.fault is not None) == faulted)
        )

    def sites(self) -> list[tuple[str | None, str, str, str | None]]:
        """Distinct (caller, service, operation, target) of the calls seen, in first-seen order."""
        seen: dict[tuple[str | None, str, str, str | None], None] = {}
        for call in self.calls:
            seen.setdefault((call.caller, call.service, call.operation, call.target), None)
        return list(seen)

    # -- installation ------------------------------------------------------------------------

    def _patch(self) -> None:
        from botocore.retries import standard
        from moto.core.botocore_stubber import BotocoreStubber

        injector = self
        moto_call: Callable[..., Any] = BotocoreStubber.__call__
        delay_amount: Callable[..., float] = standard.ExponentialBackoff.delay_amount

        def before_send(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if not stubber.enabled:
                return None
            answer = injector._answer(event_name, request)
            if answer is not None:
                return answer
            return moto_call(stubber, event_name, request, **kwargs)

        def scaled_delay(backoff: Any, context: Any) -> float:
            return delay_amount(backoff, context) / injector.backoff_scale

        self.patches.replace(BotocoreStubber, "__call__", before_send)
        self.patches.replace(standard.ExponentialBackoff, "delay_amount", scaled_delay)

    # -- the hook ----------------------------------------------------------------------------

    def _answer(self, event_name: str, request: Any) -> Any:
        from mlcp_cli.emulator.gaps import running_function

        _, service, operation = event_name.split(".", 2)
        spec = running_function()
        caller = spec.name if spec is not None else None
        target = None
        if service == "lambda" and operation == "Invoke":
            found = _INVOKE_PATH.search(unquote(str(request.url)))
            target = found.group(1).rsplit("function:", 1)[-1].split(":")[0] if found else None
        kind: str | None = None
        with self._lock:
            for armed in self._armed:
                rule = armed.rule
                if (
                    armed.remaining > 0
                    and rule.service == service
                    and rule.operation == operation
                    and (rule.caller is None or rule.caller == caller)
                    and (rule.target is None or rule.target == target)
                ):
                    armed.remaining -= 1
                    kind = rule.kind
                    break
            self.calls.append(Call(caller, service, operation, target, kind))
        if kind is None:
            return None
        return fault_response(service, kind, request)


_SERVICE_NAMES = {"sfn": "stepfunctions", "eventbridge": "events", "cloudwatch-logs": "logs"}


def _protocol(service_id: str) -> str:
    import botocore.session

    model = botocore.session.get_session().get_service_model(_SERVICE_NAMES.get(service_id, service_id))
    return str(model.protocol)


_PROTOCOLS: dict[str, str] = {}


def fault_response(service_id: str, kind: str, request: Any) -> Any:
    """The AWS-shaped answer of ``kind`` for a request to ``service_id`` (or raise a timeout)."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    from moto.core.botocore_stubber import MockRawResponse

    if kind == "read-timeout":
        raise ReadTimeoutError(endpoint_url=request.url)
    if kind == "connect-timeout":
        raise ConnectTimeoutError(endpoint_url=request.url)
    if service_id not in _PROTOCOLS:
        _PROTOCOLS[service_id] = _protocol(service_id)
    protocol = _PROTOCOLS[service_id]
    if kind == "throttle":
        code, status = _THROTTLE_CODES.get(
            service_id, _QUERY_THROTTLE if protocol == "query" else ("ThrottlingException", 400)
        )
    elif kind == "unavailable":
        code, status = _UNAVAILABLE_CODES.get(service_id, "ServiceUnavailable"), 503
    else:
        code, status = _INTERNAL_CODES.get(service_id, "InternalFailure"), 500
    message = f"injected fault: {kind}"
    headers: dict[str, str]
    if protocol == "smithy-rpc-v2-cbor" and "json" in str(request.headers.get("Content-Type") or ""):
        # CloudWatch's model lists several protocols and botocore speaks JSON to it: answer in JSON
        # (before, the fault raised ValueError here, which no retry handles).
        protocol = "json"
    if protocol in {"json", "rest-json"}:
        body = json.dumps({"__type": code, "message": message})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    elif protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>injected</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml"}
    elif protocol == "rest-xml":
        body = (
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>injected</RequestId></Error>"
        )
        headers = {"Content-Type": "application/xml"}
    else:
        raise ValueError(f"{service_id}: cannot shape a {kind} answer in protocol {protocol!r}")
    headers["x-amzn-RequestId"] = "injected"
    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    return AWSResponse(request.url, status, http_headers, MockRawResponse(body))
