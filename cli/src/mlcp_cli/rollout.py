"""What a rollout looks like right now, read from the real APIs (``mlcp status``), and the operator's
steering of it (``mlcp abort``, ``mlcp promote``).

Everything is read, never remembered: DescribeEndpoint (current config, ``PendingDeploymentSummary``,
``LastDeploymentConfig``), the endpoint configs' models and their model packages, the deployment
workflow's running executions (Step Functions ListExecutions / GetExecutionHistory), CloudWatch
DescribeAlarms, the control-plane table (lease, approvals, incidents) and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from botocore.exceptions import ClientError

from mlcp.adapters.alarms import CloudWatchAlarms
from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditAction, AuditTrail
from mlcp.incidents import IncidentDeps, list_incidents

WIDTH = 120
"""Every line of the human output fits this many columns."""

_PACKAGE = re.compile(r"model-package/(?P<group>[^/]+)/(?P<version>\d+)$")
_LEASE_STATES = {"InitDeployment", "AcquireLease", "LeaseAcquired?", "WaitForLease", "CountLeaseAttempt"}
_APPROVAL_STATES = {"RequestHumanApproval"}


class RolloutError(Exception):
    """An operator's request cannot be carried out: what and why, in words an operator can act on."""


@dataclass
class Version:
    """What an endpoint config's variant serves: a model package version, or a model not from the registry."""

    group: str | None
    version: int | None
    config: str
    package_arn: str | None = None
    model: str | None = None

    def label(self) -> str:
        if self.group is None:
            return f"model {self.model}" if self.model else f"config {self.config}"
        return f"{self.group} v{self.version}"


@dataclass
class Execution:
    """A running deployment workflow execution and where it stands."""

    arn: str
    endpoint: str | None
    state: str | None
    entered: dt.datetime | None
    package_arn: str | None
    settings: dict[str, Any]
    state_input: dict[str, Any]
    account: str | None = None
    """The account the deployment acts in (``verdict.account``, ADR 26)."""


@dataclass
class Rollout:
    """One endpoint's rollout as ``mlcp status`` shows it (``--json``: this, as a dict)."""

    endpoint: str
    status: str
    as_of: str
    champion: Version | None
    account: str | None = None
    """The member account the endpoint is in (``--account``); None: the control plane's own."""
    candidate: Version | None = None
    strategy: str | None = None
    step: str | None = None
    workflow_state: str | None = None
    execution: str | None = None
    traffic: dict[str, float] = field(default_factory=dict)
    candidate_traffic: float | None = None
    """The candidate's share of the traffic, percent (its new fleet, or its variant)."""
    bake_seconds_left: int | None = None
    alarms: dict[str, str] = field(default_factory=dict)
    lease_holder: str | None = None
    lease_since: str | None = None
    queue: list[str] = field(default_factory=list)
    """The executions waiting for the lease, oldest first."""
    queued: dict[str, str] = field(default_factory=dict)
    """Execution ARN -> the package version it deploys (``group vN``)."""
    incidents: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    failure_reason: str | None = None

    @property
    def in_flight(self) -> bool:
        return self.candidate is not None or self.execution is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Readers:
    """The clients and tables a status read needs."""

    sagemaker: Any
    stepfunctions: Any
    cloudwatch: Any
    state: ControlPlaneState
    incidents: IncidentDeps
    state_machine_arn: str | None
    now: Callable[[], dt.datetime]
    steer: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Invokes the stack's steer-bake function (``mlcp promote`` / ``mlcp abort`` of a managed bake)."""
    account: str | None = None
    """The account ``sagemaker`` and ``cloudwatch`` read (ADR 36); None: the control plane's own."""
    home_account: str | None = None

    @property
    def is_member(self) -> bool:
        return self.account is not None and self.account != self.home_account

    def key(self, endpoint: str) -> str:
        """The endpoint's key in the control-plane table: ``<account>:<name>`` in a member."""
        return f"{self.account}:{endpoint}" if self.is_member else endpoint

    def stream(self, endpoint: str) -> str:
        return f"endpoint#{self.key(endpoint)}"

    def owns(self, execution: Execution) -> bool:
        """Whether ``execution`` deploys into the account read (a member's deployment of an endpoint
        named like a home one is not the home endpoint's rollout)."""
        if self.is_member:
            return execution.account == self.account
        return (
            execution.account is None or self.home_account is None or execution.account == self.home_account
        )


def steer_invoker(
    lambda_client: Any, function_arn: str | None
) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """Invoke the steer-bake function synchronously (RequestResponse); its error is a ``RolloutError``."""
    if not function_arn:
        return None

    def invoke(request: dict[str, Any]) -> dict[str, Any]:
        response = lambda_client.invoke(FunctionName=function_arn, Payload=json.dumps(request).encode())
        body = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RolloutError(f"steer-bake failed: {body.get('errorType')}: {body.get('errorMessage')}")
        return dict(body)

    return invoke


# ----------------------------------------------------------------------------------- reading


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _variants(sagemaker: Any, config: str | None) -> dict[str, Version]:
    """Variant name -> what it serves, for each production variant of an endpoint config, in order."""
    if not config:
        return {}
    try:
        variants = (
            sagemaker.describe_endpoint_config(EndpointConfigName=config).get("ProductionVariants") or []
        )
    except ClientError:
        return {}
    found: dict[str, Version] = {}
    for variant in variants:
        model_name = str(variant.get("ModelName") or "")
        try:
            model = sagemaker.describe_model(ModelName=model_name)
        except ClientError:
            model = {}
        container = _dict(model.get("PrimaryContainer")) or _dict(
            next(iter(model.get("Containers") or []), None)
        )
        arn = container.get("ModelPackageName")
        match = _PACKAGE.search(str(arn or ""))
        found[str(variant["VariantName"])] = (
            Version(match["group"], int(match["version"]), config, str(arn), model_name)
            if match is not None
            else Version(None, None, config, None, model_name)
        )
    return found


def _served(sagemaker: Any, config: str | None, *, candidate: bool) -> Version | None:
    """The package version an endpoint config serves: its first variant's (the champion), or its
    last variant's (the candidate: a managed shift's config holds both)."""
    served = list(_variants(sagemaker, config).values())
    if not served:
        return None
    return served[-1 if candidate else 0]


def running_executions(stepfunctions: Any, state_machine_arn: str | None) -> list[Execution]:
    """The deployment workflow's running executions, each with its endpoint and current state."""
    if not state_machine_arn:
        return []
    found: list[Execution] = []
    paginator = stepfunctions.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=state_machine_arn, statusFilter="RUNNING"):
        for summary in page["executions"]:
            found.append(_execution(stepfunctions, summary["executionArn"]))
    return found


def _execution(stepfunctions: Any, arn: str) -> Execution:
    events: list[dict[str, Any]] = []
    for page in stepfunctions.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    state = entered = None
    state_input: dict[str, Any] = {}
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if event["type"].endswith("StateEntered") and details:
            state, entered = details.get("name"), event.get("timestamp")
            try:
                state_input = json.loads(details.get("input") or "{}")
            except ValueError:
                state_input = {}
    verdict = _dict(state_input.get("verdict"))
    package = _dict(verdict.get("package"))
    settings = _dict(verdict.get("deployment"))
    return Execution(
        arn=arn,
        endpoint=verdict.get("endpoint"),
        state=state,
        entered=entered,
        package_arn=package.get("arn"),
        settings=settings,
        state_input=state_input,
        account=str(verdict["account"]) if verdict.get("account") else None,
    )


def endpoint_names(readers: Readers, executions: Iterable[Execution]) -> list[str]:
    """Every endpoint of the account and region, and every endpoint a running deployment targets there."""
    names: set[str] = {e.endpoint for e in executions if e.endpoint and readers.owns(e)}
    for page in readers.sagemaker.get_paginator("list_endpoints").paginate():
        names.update(str(e["EndpointName"]) for e in page["Endpoints"])
    return sorted(names)


def _percent(value: float) -> float:
    return round(value * 100, 1)


def _strategy_text(settings: dict[str, Any], deployment_config: dict[str, Any] | None) -> str | None:
    policy = (deployment_config or {}).get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {}
    kind = str(routing.get("Type") or settings.get("strategy") or "").upper()
    if not kind:
        return None
    wait = routing.get("WaitIntervalInSeconds", settings.get("wait_interval_seconds"))
    final = policy.get("TerminationWaitInSeconds", settings.get("termination_wait_seconds"))
    if kind == "CANARY":
        size = (routing.get("CanarySize") or {}).get("Value", settings.get("canary_percent"))
        text = f"canary {size}%, bake {wait} s, then 100%"
    elif kind == "LINEAR":
        size = (routing.get("LinearStepSize") or {}).get("Value", settings.get("linear_step_percent"))
        text = f"linear {size}% steps, bake {wait} s each"
    else:
        text = "all at once"
    if final is not None:
        text += f", final bake {final} s"
    return text


def read_rollout(readers: Readers, endpoint: str, executions: list[Execution]) -> Rollout | None:
    """The endpoint's rollout now; None when the endpoint does not exist and nothing deploys it."""
    now = readers.now()
    mine = [e for e in executions if e.endpoint == endpoint and readers.owns(e)]
    try:
        described = readers.sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError:
        described = None
    if described is None and not mine:
        return None
    status = str(described["EndpointStatus"]) if described else "Creating"
    rollout = Rollout(
        endpoint=endpoint,
        status=status,
        as_of=now.isoformat(timespec="seconds"),
        champion=_served(readers.sagemaker, described["EndpointConfigName"], candidate=False)
        if described
        else None,
        account=readers.account if readers.is_member else None,
        failure_reason=(described or {}).get("FailureReason"),
    )
    pending = (described or {}).get("PendingDeploymentSummary") or {}
    deployment_config = (described or {}).get("LastDeploymentConfig") if pending else None
    # The execution that holds the lease (or, without one, the most advanced) is the rollout.
    lease = readers.state.lease(readers.key(endpoint))
    if lease is not None:
        rollout.lease_holder = lease.get("holder")
        rollout.lease_since = lease.get("acquired_at")
    active = next((e for e in mine if e.arn == rollout.lease_holder), None)
    if active is None:
        active = next((e for e in mine if e.state not in _LEASE_STATES), None)
    rollout.queue = [e.arn for e in mine if e is not active and e.state in _LEASE_STATES]
    for execution in mine:
        match = _PACKAGE.search(execution.package_arn or "")
        if execution.arn in rollout.queue and match is not None:
            rollout.queued[execution.arn] = f"{match['group']} v{match['version']}"
    if active is not None:
        rollout.execution = active.arn
        rollout.workflow_state = active.state
        if active.package_arn:
            match = _PACKAGE.search(active.package_arn)
            if match is not None:
                rollout.candidate = Version(
                    match["group"],
                    int(match["version"]),
                    str(pending.get("EndpointConfigName") or ""),
                    active.package_arn,
                )
    if pending and rollout.candidate is None:
        rollout.candidate = _served(readers.sagemaker, pending.get("EndpointConfigName"), candidate=True)
    settings = active.settings if active is not None else {}
    if pending or active is not None:
        rollout.strategy = _strategy_text(settings, deployment_config)
    _traffic(rollout, readers.sagemaker, described or {}, pending)
    parked = (
        readers.state.bake(readers.key(endpoint)) if active is not None and active.state == "Bake" else None
    )
    _bake(rollout, pending, deployment_config, active, now, parked)
    alarm_names = [
        str(a["AlarmName"])
        for a in ((deployment_config or {}).get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    ] or [str(a) for a in settings.get("alarms") or []]
    if alarm_names:
        states = CloudWatchAlarms(readers.cloudwatch).states(alarm_names)
        rollout.alarms = {name: states.get(name, "MISSING") for name in alarm_names}
    rollout.incidents = [
        {"id": i.incident_id, "cause": i.cause, "severity": i.severity, "opened_at": i.opened_at}
        for i in list_incidents(readers.incidents, "open")
        if i.resource == f"endpoint/{readers.key(endpoint)}"
    ]
    groups = {v.group for v in (rollout.champion, rollout.candidate) if v is not None and v.group}
    waiting = {e.arn for e in mine}
    rollout.approvals = [
        {
            "id": a.approval_id,
            "package": f"{a.group} v{a.version}",
            "tier": a.tier,
            "expires_at": a.expires_at,
        }
        for a in readers.state.list_approvals("pending")
        if a.group in groups or (a.execution and a.execution in waiting)
    ]
    return rollout


def _traffic(rollout: Rollout, sagemaker: Any, described: dict[str, Any], pending: dict[str, Any]) -> None:
    """Each variant's share of the traffic (blue/green: the old and the new fleet), and the candidate's."""
    shares: list[tuple[str, float, bool]] = []
    candidate = rollout.candidate.package_arn if rollout.candidate else None
    serving = _variants(sagemaker, described.get("EndpointConfigName"))
    for variant in described.get("ProductionVariants") or []:
        name = str(variant["VariantName"])
        weight = float(variant.get("CurrentWeight", variant.get("DesiredWeight", 1.0)))
        what = serving.get(name)
        mine = bool(candidate and what is not None and what.package_arn == candidate and not pending)
        shares.append((f"{name} ({what.label() if what else '?'})", weight, mine))
    new = _variants(sagemaker, pending.get("EndpointConfigName"))
    for variant in pending.get("ProductionVariants") or []:
        name = str(variant["VariantName"])
        what = new.get(name)
        label = f"{name} ({what.label() if what else '?'}, new fleet)"
        shares.append((label, float(variant.get("CurrentWeight", 0.0)), True))
    total = sum(weight for _, weight, _ in shares)
    rollout.traffic = {name: _percent(w / total) if total else 0.0 for name, w, _ in shares}
    if rollout.candidate is not None:
        rollout.candidate_traffic = round(sum(rollout.traffic[name] for name, _, mine in shares if mine), 1)


def _bake(
    rollout: Rollout,
    pending: dict[str, Any],
    deployment_config: dict[str, Any] | None,
    active: Execution | None,
    now: dt.datetime,
    parked: dict[str, str] | None = None,
) -> None:
    """The SageMaker stage and the bake time left (guardrails), or the workflow's bake (managed: from
    when its token was parked, ADR 24, else from the state's entry in the execution history)."""
    statuses = [s for v in pending.get("ProductionVariants") or [] for s in v.get("VariantStatus") or []]
    if statuses:
        stage = statuses[-1]
        message = str(stage.get("StatusMessage") or "")
        rollout.step = (
            message if message.startswith(str(stage.get("Status"))) else f"{stage.get('Status')}: {message}"
        )
        if stage.get("Status") == "Baking" and stage.get("StartTime") is not None:
            policy = (deployment_config or {}).get("BlueGreenUpdatePolicy") or {}
            routing = policy.get("TrafficRoutingConfiguration") or {}
            full = all(
                float(v.get("CurrentWeight", 0)) >= float(v.get("DesiredWeight", 1))
                for v in pending["ProductionVariants"]
            )
            seconds = policy.get("TerminationWaitInSeconds") if full else routing.get("WaitIntervalInSeconds")
            if seconds is not None:
                started = _aware(stage["StartTime"])
                rollout.bake_seconds_left = max(0, int(float(seconds) - (now - started).total_seconds()))
        return
    if active is not None and active.state == "Bake" and active.entered is not None:
        step = _dict(active.state_input.get("step"))
        seconds = step.get("bake_seconds")
        rollout.step = f"Baking (managed): {step.get('percent', '?')}% on the candidate"
        started = _aware(active.entered)
        index = str(step.get("index", _dict(active.state_input.get("progress")).get("index")))
        if (
            parked
            and (parked.get("execution"), parked.get("index")) == (active.arn, index)
            and parked.get("registered_at")
        ):
            started = _aware(parked["registered_at"])
        if seconds is not None:
            left = float(seconds) - (now - started).total_seconds()
            rollout.bake_seconds_left = max(0, int(left))
    elif active is not None:
        rollout.step = f"workflow: {active.state}"


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value))


def read_rollouts(readers: Readers, endpoint: str | None) -> list[Rollout]:
    """The rollout of ``endpoint`` (RolloutError if it is unknown), or of every endpoint."""
    executions = running_executions(readers.stepfunctions, readers.state_machine_arn)
    names = [endpoint] if endpoint else endpoint_names(readers, executions)
    found = [r for r in (read_rollout(readers, name, executions) for name in names) if r is not None]
    if endpoint and not found:
        where = f" in account {readers.account}" if readers.is_member else ""
        raise RolloutError(
            f"endpoint {endpoint!r}: no such endpoint{where} and no deployment of it in flight"
        )
    return found


# ----------------------------------------------------------------------------------- output


def _duration(seconds: int) -> str:
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}h {minute:02d}m {second:02d}s" if hours else f"{minute}m {second:02d}s"


def _short(arn: str | None) -> str:
    """An execution ARN's name (the lease holder of a manual rollback is not an ARN: kept whole)."""
    if not arn:
        return "-"
    return arn.rsplit(":", 1)[-1] if arn.startswith("arn:") else arn


def _fit(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def _champion_text(champion: Version | None) -> str:
    if champion is None:
        return "none"
    where = f"(config {champion.config})"
    return (
        f"{champion.label()} {where}"
        if champion.group
        else f"{champion.label()}, not from the registry {where}"
    )


def _column(label: str, values: list[str], empty: str) -> list[tuple[str, str]]:
    """One row per value, the label on the first."""
    return [(label if i == 0 else "", value) for i, value in enumerate(values or [empty])]


def render(rollouts: list[Rollout]) -> str:
    """The human view: one block per endpoint, every line at most ``WIDTH`` columns."""
    if not rollouts:
        return "no endpoints\n"
    lines: list[str] = []
    for r in rollouts:
        if lines:
            lines.append("")
        where = f" (account {r.account})" if r.account else ""
        lines.append(f"{r.endpoint}{where}  {r.status}  (as of {r.as_of})")
        rows: list[tuple[str, str]] = [
            ("champion", _champion_text(r.champion)),
            ("candidate", r.candidate.label() if r.candidate else "none (nothing in flight)"),
        ]
        if r.in_flight:
            rows += [
                ("strategy", r.strategy or "-"),
                ("step", r.step or "-"),
                ("workflow", f"{r.workflow_state or '-'}  (execution {_short(r.execution)})"),
                ("bake left", _duration(r.bake_seconds_left) if r.bake_seconds_left is not None else "-"),
            ]
        rows += _column("traffic", [f"{share:>5g}%  {name}" for name, share in r.traffic.items()], "-")
        rows.append(("alarms", "  ".join(f"{n} {s}" for n, s in r.alarms.items()) or "none watched"))
        holder = f"{_short(r.lease_holder)} since {r.lease_since}" if r.lease_holder else "free"
        rows.append(("lease", holder))
        rows += _column(
            "queue", [f"{r.queued.get(q, '?')}  (execution {_short(q)})" for q in r.queue], "empty"
        )
        rows += _column(
            "incidents", [f"{i['id']}  {i['cause']}  sev {i['severity']}" for i in r.incidents], "none open"
        )
        rows += _column(
            "approvals",
            [f"{a['id']}  {a['package']}  tier {a['tier']}  expires {a['expires_at']}" for a in r.approvals],
            "none pending",
        )
        if r.failure_reason:
            rows.append(("last failure", r.failure_reason))
        lines.extend(_fit(f"  {label:<12} {value}") for label, value in rows)
    return "\n".join(lines) + "\n"


def write_json(rollouts: list[Rollout], out: TextIO) -> None:
    for r in rollouts:
        out.write(json.dumps(r.as_dict(), sort_keys=True, default=str) + "\n")


def watch(
    fetch: Callable[[], str],
    out: TextIO,
    *,
    sleep: Callable[[float], None],
    interval: float = 2.0,
    redraws: int | None = None,
    clear: bool = False,
) -> int:
    """Redraw ``fetch()``'s view whenever it changes, every ``interval`` seconds (``sleep`` waits:
    injected, so that tests need no real time); stop after ``redraws`` redraws (None: until
    interrupted). Returns how many times it drew."""
    drawn = 0
    last: str | None = None
    try:
        while redraws is None or drawn < redraws:
            view = fetch()
            if view != last:
                if clear:
                    out.write("\x1b[H\x1b[2J")
                elif last is not None:
                    out.write("-" * 40 + "\n")
                out.write(view)
                out.flush()
                drawn += 1
                last = view
                if redraws is not None and drawn >= redraws:
                    break
            sleep(interval)
    except KeyboardInterrupt:
        pass
    return drawn


# ----------------------------------------------------------------------------------- steering


def _in_flight(readers: Readers, endpoint: str, verb: str) -> Rollout:
    rollout = read_rollouts(readers, endpoint)[0]
    if not rollout.in_flight:
        serving = rollout.champion.label() if rollout.champion else "nothing"
        raise RolloutError(
            f"{endpoint}: no deployment in flight to {verb} (it serves {serving}); "
            "to go back to an earlier version: mlcp rollback"
        )
    return rollout


def _active(readers: Readers, rollout: Rollout) -> Execution | None:
    """The rollout's workflow execution, re-read now (its current state and that state's input)."""
    if rollout.execution is None or not readers.state_machine_arn:
        return None
    return _execution(readers.stepfunctions, rollout.execution)


def _is_managed(active: Execution | None) -> bool:
    return active is not None and _dict(active.state_input.get("deploy")).get("mode") == "managed"


def member_bake_refusal(account: str | None, endpoint: str, home: str | None) -> str:
    """Why a member account's bake is not steered (ADR 36): managed bakes run only at home."""
    return (
        f"{endpoint} (account {account}): managed bakes run only in the control plane's own account "
        f"{home or '?'}; a member's deployment bakes as a SageMaker blue/green update (mlcp abort "
        "--account trips its rollback alarm; its bake cannot end early)"
    )


def _steer(
    readers: Readers, rollout: Rollout, active: Execution, action: str, *, reason: str, identity: str
) -> dict[str, Any]:
    """Ask the steer-bake function to promote / abort the bake ``active`` is in (it re-checks now);
    ``RolloutError`` when nothing is baking or the function refuses (it says why)."""
    endpoint = str(rollout.endpoint)
    if readers.is_member:
        raise RolloutError(member_bake_refusal(readers.account, endpoint, readers.home_account))
    if active.state != "Bake":
        raise RolloutError(
            f"{endpoint}: nothing is baking (the managed deployment is at workflow state {active.state}); "
            f"{action} takes effect during a bake: retry when mlcp status shows Baking"
        )
    if readers.steer is None:
        raise RolloutError(f"{endpoint}: the stack has no steer-bake function (output SteerBakeFunctionArn)")
    answer = readers.steer(
        {
            "action": action,
            "account": readers.home_account,
            "endpoint": endpoint,
            "execution": active.arn,
            "index": int(_dict(active.state_input.get("progress")).get("index") or 0),
            "package_arn": active.package_arn,
            "reason": reason,
            "requested_by": identity,
        }
    )
    if answer.get("outcome") == "refused":
        raise RolloutError(str(answer.get("refused")))
    return answer


def abort(
    readers: Readers,
    endpoint: str,
    *,
    reason: str,
    identity: str,
    audit: AuditTrail,
    wait_for: Callable[[Callable[[], bool]], object],
) -> dict[str, Any]:
    """Roll the candidate in flight on ``endpoint`` back, audited (``deployment.abort_requested``: who,
    why), through the path its deployment has:

    - a SageMaker blue/green update (guardrails) cannot be updated again or stopped through the API;
      SageMaker rolls it back when one of its ``AutoRollbackConfiguration`` alarms is in ALARM. So:
      set one of them to ALARM with the reason, wait until SageMaker has left ``Updating``, then
      return the alarm to the state it had (its metric decides again on AWS).
    - a managed deployment (multi-variant shift, serverless bake; ADR 24) during a bake: SendTaskFailure
      ``DeploymentAborted`` on the bake's parked token; the workflow takes the traffic back
      (RollBackShift), records ``deployment.rolled_back`` and releases the lease. Outside a bake (the
      endpoint applying a change) it is refused: retry when the bake starts.

    The workflow sees the rollback as it sees any: ``deployment.rolled_back``, incident, lease
    released. Raises ``RolloutError`` when nothing is in flight or the rollback path is not open.
    """
    rollout = _in_flight(readers, endpoint, "abort")
    active = _active(readers, rollout)
    if _is_managed(active):
        assert active is not None
        return _abort_managed(
            readers, endpoint, rollout, active, reason=reason, identity=identity, wait_for=wait_for
        )
    described = readers.sagemaker.describe_endpoint(EndpointName=endpoint)
    pending = described.get("PendingDeploymentSummary")
    if described.get("EndpointStatus") != "Updating" or not pending:
        raise RolloutError(
            f"{endpoint}: the deployment is at workflow state {rollout.workflow_state} with no SageMaker "
            f"update in progress (endpoint {described.get('EndpointStatus')}); abort rolls back a "
            "blue/green update while it runs, or a managed deployment during its bake"
        )
    config = described.get("LastDeploymentConfig") or {}
    alarms = [
        str(a["AlarmName"]) for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    ]
    if not alarms:
        raise RolloutError(
            f"{endpoint}: the update has no rollback alarm (the tier's deployment.alarms is empty), and "
            "SageMaker rolls a blue/green update back only through one"
        )
    states = CloudWatchAlarms(readers.cloudwatch).states(alarms)
    alarm = next((name for name in alarms if states.get(name) != "ALARM"), alarms[0])
    before = states.get(alarm, "OK")
    candidate = rollout.candidate
    audit.append(
        stream=readers.stream(endpoint),
        action=AuditAction.DEPLOYMENT_ABORT_REQUESTED,
        actor=identity,
        subject=(
            candidate.package_arn
            if candidate and candidate.package_arn
            else f"endpoint/{readers.key(endpoint)}"
        ),
        evidence={
            "endpoint": endpoint,
            "account": readers.account,
            "reason": reason,
            "candidate": candidate.label() if candidate else None,
            "champion": rollout.champion.label() if rollout.champion else None,
            "execution": rollout.execution,
            "alarm": alarm,
            "step": rollout.step,
        },
        decision_id=(
            f"deployment.abort_requested:{rollout.execution or readers.key(endpoint)}:{pending.get('StartTime')}"
        ),
    )
    readers.cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason=f"mlcp abort by {identity}: {reason}"[:1023]
    )

    def rolling_back() -> bool:
        status = readers.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
        return bool(status != "Updating")

    try:
        wait_for(rolling_back)
    finally:
        if before != "ALARM":
            readers.cloudwatch.set_alarm_state(
                AlarmName=alarm,
                StateValue=before,
                StateReason=f"mlcp abort: SageMaker is rolling {endpoint} back; the alarm's metric decides again",
            )
    status = readers.sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"]
    if status == "Updating":
        raise RolloutError(
            f"{endpoint}: SageMaker has not started rolling back yet (alarm {alarm}); see mlcp status"
        )
    return _aborted(rollout, alarm=alarm, status=status, identity=identity, path="sagemaker rollback alarm")


def _aborted(rollout: Rollout, *, alarm: str | None, status: str, identity: str, path: str) -> dict[str, Any]:
    """What ``abort`` answers: what was aborted, what serves, how and by whom."""
    return {
        "endpoint": rollout.endpoint,
        "aborted": rollout.candidate.label() if rollout.candidate else None,
        "champion": rollout.champion.label() if rollout.champion else None,
        "alarm": alarm,
        "status": status,
        "execution": rollout.execution,
        "by": identity,
        "path": path,
    }


def _abort_managed(
    readers: Readers,
    endpoint: str,
    rollout: Rollout,
    active: Execution,
    *,
    reason: str,
    identity: str,
    wait_for: Callable[[Callable[[], bool]], object],
) -> dict[str, Any]:
    _steer(readers, rollout, active, "abort", reason=reason, identity=identity)

    def finished() -> bool:
        described = readers.stepfunctions.describe_execution(executionArn=active.arn)
        return bool(described["status"] != "RUNNING")

    wait_for(finished)
    status = readers.stepfunctions.describe_execution(executionArn=active.arn)["status"]
    return _aborted(
        rollout, alarm=None, status=status, identity=identity, path="the workflow's rollback (RollBackShift)"
    )


def promote(
    readers: Readers, endpoint: str, *, reason: str, identity: str, audit: AuditTrail
) -> dict[str, Any]:
    """End the bake of the deployment in flight on ``endpoint`` early, where its tier allows it.

    Only a managed deployment's bake can end early (ADR 24): the steer-bake function re-checks at the
    moment of effect (that very bake, the candidate unchanged, the policy in force: the tier's
    ``deployment.early_promotion``, no change freeze), audits ``deployment.promote_requested`` and
    answers the bake's token; the bake ends as if its time had run out (alarms, analysis, next step).
    Every refusal is audited ``deployment.promote_refused`` (who, why refused; by the function for
    its own refusals) and raised as ``RolloutError``: nothing in flight, nothing baking, the tier does
    not allow it, a freeze, or a SageMaker blue/green update (no API ends its bake early)."""
    group: str | None = None
    try:
        rollout = _in_flight(readers, endpoint, "promote")
        group = rollout.candidate.group if rollout.candidate else None
        active = _active(readers, rollout)
        left = f" in {_duration(rollout.bake_seconds_left)}" if rollout.bake_seconds_left is not None else ""
        if not _is_managed(active):
            settings = active.settings if active is not None else {}
            tier = _dict(active.state_input.get("verdict")).get("tier") if active is not None else None
            if not settings.get("early_promotion"):
                raise RolloutError(
                    f"{endpoint}: tier {tier or '?'} does not allow ending a bake early "
                    f"(deployment.early_promotion is off); the bake ends on its own{left}"
                )
            raise RolloutError(
                f"{endpoint}: the {rollout.strategy or 'deployment'} runs as a SageMaker blue/green update, "
                "which has no API to end a bake early (UpdateEndpoint refuses a second update while one "
                f"runs); its bake ends on its own{left}"
            )
        assert active is not None
        if active.state != "Bake":
            raise RolloutError(
                f"{endpoint}: nothing is baking (the managed deployment is at workflow state {active.state}); "
                "promote takes effect during a bake: retry when mlcp status shows Baking"
            )
    except RolloutError as refused:
        audit.append(
            stream=readers.stream(endpoint),
            action=AuditAction.DEPLOYMENT_PROMOTE_REFUSED,
            actor=identity,
            subject=f"endpoint/{readers.key(endpoint)}",
            evidence={
                "endpoint": endpoint,
                "account": readers.account,
                "reason": reason,
                "refused": str(refused),
                "group": group,
            },
            decision_id=(
                f"deployment.promote_refused:{readers.key(endpoint)}:{identity}:{readers.now().isoformat()}"
            ),
        )
        raise
    answer = _steer(readers, rollout, active, "promote", reason=reason, identity=identity)
    candidate = rollout.candidate
    return {
        "endpoint": endpoint,
        "promoted": candidate.label() if candidate else None,
        "step": f"{answer.get('percent')}% (step {int(answer.get('index') or 0) + 1})",
        "bake_seconds_skipped": rollout.bake_seconds_left,
        "execution": active.arn,
        "by": identity,
    }
