"""The local control plane: the whole stack running on an embedded moto ("local mode").

API (kept small on purpose; the scenario runner and the tests use only this)::

    with LocalControlPlane(template_path, parameters={"Stage": "dev"}) as cp:
        cp.stack                      # LocalStack: outputs, physical_ids, function_names,
                                      #   state_machine_arns, table_names, queue_urls, ...
        cp.client("dynamodb")         # boto3 client bound to the emulator (any service)
        cp.client("sagemaker", principal="reviewer")   # ... signing as that principal
        cp.session_for("reviewer")    # boto3 Session of a principal (created once, then cached)
        cp.put_events([{...}])        # PutEvents entries (Source, DetailType, Detail as dict or str);
                                      #   an aws.* source is refused, as on AWS
        cp.put_aws_events([{...}])    # the same entries as an AWS service puts them (aws.* sources)
        cp.put_event_document(event)  # an event shaped as delivered (events/*.json), by its source
        report = cp.pump()  # deliver queued events, run async invocations, wait for
                                      #   executions; repeat until idle -> PumpReport
        cp.executions()               # every Step Functions execution (describe_execution dicts)
        cp.endpoint_deployments()     # simulated SageMaker UpdateEndpoint deployments (snapshots)
        cp.delivery_log               # list[DeliveryRecord(time, rule, target, outcome, detail)]

Principals: by default calls sign with the process's fake credentials, which moto maps to its
default identity (``arn:aws:sts::123456789012:user/moto``). A principal is an IAM user name
(``ml-engineer``), an IAM user ARN (``arn:aws:iam::123456789012:user/team/reviewer``) or an IAM
role ARN (``arn:aws:iam::123456789012:role/Approver``): the first use creates the user and an
access key (or the role, then assumes it with session name ``mlcp-local``), so SageMaker's
``CreatedBy``/``LastModifiedBy`` and STS GetCallerIdentity name that principal.

``LocalControlPlane`` starts ``mock_aws`` (executing Step Functions, Lambda without Docker), sets
fake credentials and region in the environment (restored on exit), installs the gap fills
(:mod:`mlcp_cli.emulator.gaps`) and deploys the template (:mod:`mlcp_cli.emulator.stack`).
Everything runs in this process: Lambda handlers in the calling thread during ``pump()`` (or
in Step Functions' worker threads for Task states), serialised by one lock.

Time is virtual (:class:`~mlcp_cli.emulator.gaps.clock.VirtualClock`, ADR 8): it starts at
``start`` (default: now) and only moves in ``advance_time(seconds)``, which runs every timer that
falls due on the way (Wait states, task-token timeouts, retry intervals, SageMaker deployment
stages) in deadline order, pumping before each jump. ``pump()`` never moves time: an execution
blocked on the clock (or on a task token) counts as idle.

SageMaker UpdateEndpoint runs as a simulated blue/green deployment in a background thread per
deployment, blocked on the virtual clock between stages: ``pump()`` waits for a stage's work but
not for simulated time to pass; ``advance_time`` (a scenario's ``wait`` step) or
``wait_endpoint_deployments()`` moves it on. ``close()`` stops the deployment threads.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from mlcp_cli.emulator.gaps import (
    AsyncInvocation,
    Deliveries,
    Delivery,
    DeliveryRecord,
    EndpointDeploymentStatus,
    FunctionRegistry,
    GapFills,
    VirtualClock,
    install_gap_fills,
    invoke_async,
)
from mlcp_cli.emulator.gaps.state import HANG_TIMEOUT
from mlcp_cli.emulator.iam import IamEnforcer, enforcer_for
from mlcp_cli.emulator.stack import DEFAULT_STACK_NAME, LocalStack, deploy_local_stack

LOCAL_ACCOUNT_ID = "123456789012"
_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# Not MOTO_ACCOUNT_ID: it would pin every request to one account. Without it moto serves a request
# from the account its access key belongs to (moto's default, LOCAL_ACCOUNT_ID, for these fake
# credentials), so member accounts can live beside the control plane's (emulator/accounts.py).
_UNSET_ENV = ("MOTO_ACCOUNT_ID",)
_ISOLATION_ENV = {
    # The user's own AWS configuration never reaches the emulator: no profile, config or
    # credentials file, endpoint URL, CA bundle, role or SSO session of theirs is read.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
}
LOCAL_SESSION_NAME = "mlcp-local"
"""Role session name used when a principal is an IAM role ARN."""
_IAM_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_IAM_PRINCIPAL_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|role)(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})")
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


def _shaped(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PutEvents entries with ``Detail`` as JSON text (callers may give a dict)."""
    return [
        {
            **entry,
            "Detail": entry["Detail"] if isinstance(entry["Detail"], str) else json.dumps(entry["Detail"]),
        }
        for entry in entries
    ]


def _raise_on_failed(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    failed = [e for e in result if "ErrorCode" in e]
    if failed:
        raise ValueError(f"PutEvents rejected entries: {failed}")
    return result


class RememberedDeliveries(Deliveries):
    """Deliveries that also keep every EventBridge delivery queued, so that the same event (same
    id) can be delivered again: EventBridge delivers at least once."""

    def __init__(self) -> None:
        super().__init__()
        self._history_lock = threading.Lock()
        self.history: list[Delivery] = []

    def enqueue(self, item: Delivery | AsyncInvocation) -> None:
        if isinstance(item, Delivery):
            with self._history_lock:
                self.history.append(item)
        super().enqueue(item)

    def again(self, event_id: str) -> int:
        """Queue once more every delivery made of the event ``event_id``; returns how many."""
        with self._history_lock:
            matching = [d for d in self.history if d.event.get("id") == event_id]
        for delivery in matching:
            super().enqueue(delivery)
        return len(matching)


class PumpTimeout(TimeoutError):
    """``pump()`` did not reach idle in time; the message lists what was still running."""


@dataclass
class PumpReport:
    """What one ``pump()`` did: delivery log entries added and executions that finished; and the
    simulated endpoint deployments still in flight when it returned (they do not make it busy)."""

    deliveries: list[DeliveryRecord] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[EndpointDeploymentStatus] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not self.deliveries and not self.executions


class _Running:
    """The control plane this process runs (``mlcp --local`` commands in it talk to that one)."""

    current: LocalControlPlane | None = None


def active_control_plane() -> LocalControlPlane | None:
    """The LocalControlPlane running in this process, if any (the innermost one)."""
    return _Running.current


def isolated_environment(region: str) -> dict[str, str]:
    """The environment local mode runs with: fake credentials, the region, no user AWS setting."""
    return {**_FAKE_ENV, **_ISOLATION_ENV, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}


class LocalControlPlane:
    """Context manager running the stack of ``template_path`` on an embedded moto."""

    def __init__(
        self,
        template_path: str | Path,
        parameters: dict[str, str] | None = None,
        region: str = "us-east-1",
        stack_name: str = DEFAULT_STACK_NAME,
        start: dt.datetime | None = None,
        skipping: bool = True,
        iam: bool = True,
    ) -> None:
        self.template_path = Path(template_path)
        self.start = start
        self.skipping = skipping
        self.iam_enforced = iam
        self.iam: IamEnforcer | None = None
        """The IAM enforcer (None with ``iam=False``): its ``decisions`` feed ``mlcp iam report``."""
        self.parameters = dict(parameters or {})
        self.region = region
        self.stack_name = stack_name
        self.registry = FunctionRegistry()
        self.deliveries = RememberedDeliveries()
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._fills: GapFills | None = None
        self._session: boto3.Session | None = None
        self._stack: LocalStack | None = None
        self._reported: dict[str, str] = {}
        self._principals: dict[str, boto3.Session] = {}
        self._pump_sfn: Any = None
        self._log_mark = 0
        self._outer: LocalControlPlane | None = None
        self._froze = False

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalControlPlane:
        from moto import mock_aws

        if self.registry.closed:  # entered again: the last session's functions stay closed
            self.registry = FunctionRegistry()
        env = isolated_environment(self.region)
        leaking = [
            key for key in os.environ if (key.startswith("AWS_") or key in _UNSET_ENV) and key not in env
        ]
        self._saved_env = {key: os.environ.get(key) for key in [*env, *leaking]}
        for key in leaking:  # AWS_PROFILE, AWS_ENDPOINT_URL*, AWS_ROLE_ARN, ... of the user's real setup
            del os.environ[key]
        os.environ.update(env)
        boto3.DEFAULT_SESSION = None  # a session made before (with the user's profile) is not reused
        self._outer = _Running.current
        _Running.current = self
        try:
            self._freeze_heap()  # what the process imported before the deploy (ADR 38)
            self._mock = mock_aws(config=MOTO_CONFIG)  # type: ignore[call-overload]
            self._mock.start()
            self._fills = install_gap_fills(
                self.registry, self.deliveries, start=self.start, skipping=self.skipping
            )
            self._session = boto3.Session(region_name=self.region)
            self._stack = deploy_local_stack(
                self.template_path, self.parameters, self._session, self.registry, self.stack_name
            )
            if self.iam_enforced:
                self.iam = enforcer_for(self._stack)
                self.iam.install()
            self._freeze_heap()  # and what the deploy built (ADR 40)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _freeze_heap(self) -> None:
        """Move every object alive now out of the garbage collector's generations for the plane's
        life (ADR 38, ADR 40). Called before the deploy (the process's imports) and after it
        (botocore's and moto's models, the deployed backends, the functions' modules: about
        340,000 objects). They live as long as the plane, yet each full collection traversed them
        all again (0.1 s in the deploy, 0.25-0.45 s in a full-loop play). ``close()`` hands them
        back to the collector, so a process running plane after plane (the tests) frees each;
        the play's own garbage is collected as before."""
        gc.freeze()
        self._froze = True

    def close(self) -> None:
        """Stop moto, remove the gap fills and restore the environment (idempotent). Threads still
        parked in this control plane (executions on a Wait or a token) stay parked for good."""
        if self._froze:
            gc.unfreeze()
            self._froze = False
        if self._fills is not None:
            self._fills.clock.close()
        self.registry.close()
        if self.iam is not None:
            self.iam.uninstall()
        if self._fills is not None:
            self._fills.uninstall()
            self._fills = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._pump_sfn = None
        if _Running.current is self:
            _Running.current = self._outer
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    # -- accessors ---------------------------------------------------------------------------

    @property
    def stack(self) -> LocalStack:
        if self._stack is None:
            raise RuntimeError("the local control plane is not running (use it as a context manager)")
        return self._stack

    @property
    def delivery_log(self) -> list[DeliveryRecord]:
        return list(self.deliveries.log)

    def client(self, service: str, principal: str | None = None) -> Any:
        """A boto3 client of ``service`` bound to the emulator, signing as ``principal`` if given."""
        return self.session_for(principal).client(service)  # type: ignore[call-overload]

    def session_for(self, principal: str | None) -> boto3.Session:
        """The boto3 Session signing as ``principal`` (see the module docstring); ``None`` -> default.

        Raises ``ValueError`` for a malformed principal or an ARN of another account.
        """
        if self._session is None:
            raise RuntimeError("the local control plane is not running (use it as a context manager)")
        if principal is None:
            return self._session
        session = self._principals.get(principal)
        if session is None:
            session = self._principals[principal] = self._new_principal_session(principal)
        return session

    def _new_principal_session(self, principal: str) -> boto3.Session:
        if _IAM_NAME.fullmatch(principal):
            kind, path, name, wanted_arn = "user", "/", principal, None
        else:
            match = _IAM_PRINCIPAL_ARN.fullmatch(principal)
            if match is None:
                raise ValueError(
                    f"principal {principal!r}: expected an IAM user name or an "
                    "arn:aws:iam::<account>:user/... or :role/... ARN"
                )
            if match.group(1) != LOCAL_ACCOUNT_ID:
                raise ValueError(f"principal {principal!r}: not in the local account {LOCAL_ACCOUNT_ID}")
            kind, path, name, wanted_arn = match.group(2), match.group(3), match.group(4), principal
        iam = self.client("iam")
        if kind == "role":
            try:
                arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                trust = {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
                arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))[
                    "Role"
                ]["Arn"]
        else:
            try:
                arn = iam.get_user(UserName=name)["User"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                arn = iam.create_user(UserName=name, Path=path)["User"]["Arn"]
        if wanted_arn is not None and arn != wanted_arn:
            raise ValueError(f"principal {principal!r}: the {kind} {name} already exists as {arn}")
        if kind == "role":
            credentials = self.client("sts").assume_role(RoleArn=arn, RoleSessionName=LOCAL_SESSION_NAME)[
                "Credentials"
            ]
            return boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=self.region,
            )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return boto3.Session(
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name=self.region,
        )

    # -- events and progress -----------------------------------------------------------------

    def put_events(self, entries: list[dict[str, Any]], principal: str | None = None) -> list[dict[str, Any]]:
        """PutEvents on the default bus (``Detail`` may be a dict), signed as ``principal`` if
        given; returns the result entries.

        Raises ``ValueError`` when EventBridge rejects an entry (AWS reports it in the entry), e.g.
        ``NotAuthorizedForSourceException`` for an ``aws.`` source: only AWS services put those
        (see :meth:`put_aws_events`).
        """
        result: list[dict[str, Any]] = []
        for start in range(0, len(entries), 10):
            batch = _shaped(entries[start : start + 10])
            result.extend(self.client("events", principal).put_events(Entries=batch)["Entries"])
        return _raise_on_failed(result)

    def put_aws_events(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Put events the way an AWS service does (on the default bus, source ``aws.<service>``):
        what a scenario or test does when it plays SageMaker, S3 or CloudWatch. Same entries and
        result as :meth:`put_events`; raises ``ValueError`` for an entry that is not an AWS source.
        """
        from moto.events.models import events_backends

        from mlcp_cli.emulator.gaps import AWS_SOURCE_PREFIX

        others = [e.get("Source") for e in entries if not str(e.get("Source")).startswith(AWS_SOURCE_PREFIX)]
        if others:
            raise ValueError(f"put_aws_events takes AWS sources only ({AWS_SOURCE_PREFIX}*), got {others}")
        backend = events_backends[LOCAL_ACCOUNT_ID][self.region]
        result: list[dict[str, Any]] = []
        for start in range(0, len(entries), 10):
            result.extend(backend.put_events(_shaped(entries[start : start + 10])))
        return _raise_on_failed(result)

    def put_event_document(self, event: dict[str, Any], principal: str | None = None) -> dict[str, Any]:
        """Put one event written as EventBridge delivers it (``source``, ``detail-type``, ``detail``,
        ``resources``, like the samples under ``events/``): an ``aws.`` source as its AWS service
        puts it, any other with PutEvents (signed as ``principal``). Returns the result entry."""
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": event["detail"],
            "Resources": event.get("resources", []),
        }
        if str(entry["Source"]).startswith("aws.") and principal is None:
            return self.put_aws_events([entry])[0]
        return self.put_events([entry], principal)[0]

    def _pump_stepfunctions(self) -> Any:
        """The Step Functions client ``pump()`` polls with, created once: a client per poll cost
        more than the rest of a scenario (``make bench`` times the full scenario)."""
        if self._pump_sfn is None:
            self._pump_sfn = self.client("stepfunctions")
        return self._pump_sfn

    def executions(self) -> list[dict[str, Any]]:
        """describe_execution of every execution of the stack's state machines, oldest first."""
        sfn = self._pump_stepfunctions()
        found: list[dict[str, Any]] = []
        for arn in self.stack.state_machine_arns.values():
            for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                found.extend(
                    sfn.describe_execution(executionArn=e["executionArn"]) for e in page["executions"]
                )
        return sorted(found, key=lambda e: e["startDate"])

    def invoke_async(self, function_name: str, payload: Any) -> bool:
        """Run one ``InvocationType=Event`` invocation now (retries, OnFailure); True on success."""
        invocation = AsyncInvocation(function_name, payload, LOCAL_ACCOUNT_ID, self.region, source="local")
        return invoke_async(invocation, self.deliveries, self.registry)

    def pump(self, timeout: float = HANG_TIMEOUT) -> PumpReport:
        """Deliver queued EventBridge deliveries and async invocations and wait for running
        executions and endpoint deployments to block on the virtual clock or finish, repeatedly,
        until nothing can run without simulated time passing (an execution parked on a task token
        or in a Wait state counts as idle). Time does not move. The report lists what happened
        since the last ``pump()`` (including what ran during ``advance_time``). ``timeout`` (real
        seconds) only bounds a hang."""
        self._settle(timeout)
        report = PumpReport()
        report.deliveries = self.deliveries.log[self._log_mark :]
        self._log_mark = len(self.deliveries.log)
        report.deployments = self.endpoint_deployments(in_flight_only=True)
        for execution in self._changed_executions():
            arn, status = execution["executionArn"], execution["status"]
            if self._reported.get(arn) != status:
                self._reported[arn] = status
                report.executions.append(execution)
        return report

    def _changed_executions(self) -> list[dict[str, Any]]:
        """describe_execution of the executions whose listed status is not the one last reported,
        oldest first: ``pump()`` reports only those, and describing every execution of the run on
        every pump grew with the run. Which ones changed is read from moto's backend (its own
        execution objects, the status ListExecutions reports), not the API: a ListExecutions per
        state machine per pump was a sixth of a play's API calls (ADR 40); the changed ones are
        still described through the API."""
        from moto.stepfunctions.responses import get_backend

        sfn = self._pump_stepfunctions()
        backend = get_backend(LOCAL_ACCOUNT_ID, self.region)
        found: list[dict[str, Any]] = []
        for arn in self.stack.state_machine_arns.values():
            changed = [
                execution.execution_arn
                for execution in list(backend.describe_state_machine(arn).executions)
                if self._reported.get(execution.execution_arn) != execution.status
            ]
            found.extend(sfn.describe_execution(executionArn=execution_arn) for execution_arn in changed)
        return sorted(found, key=lambda e: e["startDate"])

    def delivery_mark(self) -> int:
        """A position in the deliveries queued so far (see :meth:`delivered_event_ids`)."""
        return len(self.deliveries.history)

    def delivered_event_ids(self, since: int) -> list[str]:
        """The ids of the events delivered to a rule's target since ``delivery_mark()`` was ``since``."""
        found: dict[str, None] = {}
        for delivery in self.deliveries.history[since:]:
            found.setdefault(str(delivery.event.get("id")), None)
        return list(found)

    def redeliver(self, event_id: str) -> int:
        """EventBridge delivers the event ``event_id`` again to every target it was delivered to
        (same event, same id: at-least-once delivery); ``pump()`` makes the deliveries."""
        return self.deliveries.again(event_id)

    def _settle(self, timeout: float = HANG_TIMEOUT) -> None:
        if self._fills is None:
            raise RuntimeError("the local control plane is not running (use it as a context manager)")
        try:
            self._fills.settle(timeout)
        except TimeoutError as exc:
            raise PumpTimeout(str(exc)) from exc

    @property
    def clock(self) -> VirtualClock:
        """The control plane's virtual clock."""
        if self._fills is None:
            raise RuntimeError("the local control plane is not running (use it as a context manager)")
        return self._fills.clock

    def now(self) -> dt.datetime:
        """The simulated time."""
        return self.clock.now()

    def advance_time(self, seconds: float, timeout: float = HANG_TIMEOUT) -> None:
        """Let ``seconds`` of simulated time pass: every timer that falls due on the way runs, in
        deadline order, with a pump before each jump and at the end. Costs milliseconds."""
        self.clock.advance(seconds, lambda: self._settle(timeout))

    def run_until(
        self, done: Callable[[], bool], *, limit: float = 86_400.0, timeout: float = HANG_TIMEOUT
    ) -> bool:
        """Advance timer by timer until ``done()`` holds (True), or ``limit`` simulated seconds have
        passed or nothing is left to wait for (False)."""
        return self.clock.run_until(done, lambda: self._settle(timeout), limit=limit)

    def endpoint_deployments(self, *, in_flight_only: bool = False) -> list[EndpointDeploymentStatus]:
        """Snapshots of the simulated SageMaker endpoint deployments (UpdateEndpoint), oldest first:
        endpoint, from/to config, strategy, stage, traffic on the new fleet, outcome, reason."""
        if self._fills is None:
            return []
        return self._fills.endpoint_deployments(in_flight_only=in_flight_only)

    def wait_endpoint_deployments(self, limit: float = 86_400.0) -> bool:
        """Advance the clock until no endpoint deployment is in flight (at most ``limit`` simulated
        seconds); True when none is."""
        return self.run_until(lambda: not self.endpoint_deployments(in_flight_only=True), limit=limit)

    def history_events(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events (GetExecutionHistory's, oldest first), read from moto's
        backend rather than the API: pump() asks for them on every turn for every running
        execution, the scenario timeline for every execution that ended, and GetExecutionHistory
        (serialised, deep-copied whole) dominated a scenario's run time. The events are moto's own
        dicts: read them, never change them."""
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(LOCAL_ACCOUNT_ID, self.region)
        execution = backend.describe_execution(execution_arn)
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        manager = getattr(env, "event_manager", None)
        events = getattr(manager, "_history_event_list", None)
        mutex = getattr(manager, "_mutex", None)
        if env is None or events is None or mutex is None:  # not started, or moto changed: the API
            return list(backend.get_execution_history(execution_arn)["events"])
        with mutex:
            return list(events)

    def waits_for_task_token(self, execution_arn: str, *, wait_states: bool = True) -> bool:
        """Whether the execution is parked: on a ``.waitForTaskToken`` task (waiting for a callback)
        or, unless ``wait_states`` is False, in a Wait state (waiting for simulated time, which the
        scenario's ``wait`` step passes)."""
        # moto ignores reverseOrder: read the history and walk it backwards.
        for event in reversed(self.history_events(execution_arn)):
            if event["type"] == "WaitStateEntered":
                return wait_states
            if event["type"] == "TaskSubmitted":
                return "waitForTaskToken" in event.get("taskSubmittedEventDetails", {}).get("resource", "")
            if event["type"] in {"TaskScheduled", "TaskStarted"}:
                continue
            return False
        return False
        return False
