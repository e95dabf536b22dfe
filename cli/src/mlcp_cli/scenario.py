"""Scenarios: what `mlcp local run` plays against the control plane running on the emulator.

A scenario is a YAML file::

    name: default
    description: ...
    parameters: {TrainingDataPrefix: training-data/}   # template parameter overrides
    start: 2026-01-05T09:00:00Z       # optional: the virtual clock's start (default: now)
    steps:
      - title: Platform team enables EventBridge notifications on the data bucket
        create_bucket: {name: mlcp-training-data, eventbridge: true, versioning: true}
      - put_object: {bucket: mlcp-training-data, key: training-data/a.csv, body: "x,y\\n1,2\\n"}
      - register_model_package: {group: churn, metrics: {auc: 0.91}}
        as: ml-engineer                                      # optional on any step, see below
      - approve_model_package: {group: churn, version: 1, description: "looks good"}
        as: reviewer
      - put_event: {file: events/alarm-state-change/ok-to-alarm.json}   # or {event: {...envelope}}
                                      # an aws.* source is put as that AWS service would; with
                                      # `as:` it is the principal's PutEvents (refused, as on AWS)
      - create_alarm: {name: churn-latency, endpoint: churn-prod}
      - set_alarm_state: {name: churn-latency, state: ALARM, reason: p99 above 800 ms}
      - call: {service: sagemaker, operation: create_endpoint_config, params: {...}}
      - expect: {audit: {stream: "group#churn", actions: [package.approved]}}
      - expect: {model_package: {group: churn, version: 1, created_by: ml-engineer, last_modified_by: reviewer}}

Each step is followed by a pump: EventBridge deliveries, Lambda invocations and Step Functions
executions run until the control plane is idle, and the timeline shows what happened. ``expect``
steps make a scenario a test: a failed expectation fails the run. An expectation that does not
hold at once is re-checked, pumping in between, for up to ``settle_seconds`` of real time (20 s),
because handlers take real time the simulated clock does not count.

``as: <principal>`` makes the step's API calls sign as that principal: an IAM user name
(created once, with an access key), an IAM user ARN or an IAM role ARN (assumed); see
:meth:`LocalControlPlane.session_for`. The timeline names it (``as arn:aws:iam::...:user/reviewer``).
Without ``as`` calls sign as moto's default identity. ``expect: {model_package: ...}`` checks the
package's ``CreatedBy`` / ``LastModifiedBy`` IAM identities (a principal as in ``as``, or an
``arn:aws:sts::...`` role session ARN such as a function's).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlcp.audit import AuditTrail
from mlcp.errors import SeparationOfDutiesViolation
from mlcp_cli.emulator.runtime import LocalControlPlane, PumpReport
from mlcp_cli.seeding import PackageSpec, deploy_champion, register_package

ACTIONS = (
    "create_bucket",
    "put_object",
    "publish_policy",
    "register_model_package",
    "approve_model_package",
    "reject_model_package",
    "deploy_champion",
    "tamper_artifact",
    "decide_approval",
    "console_decision",
    "wait",
    "rollback",
    "monitoring_run",
    "put_objects",
    "tick",
    "advance_time",
    "put_event",
    "create_alarm",
    "set_alarm_state",
    "call",
    "expect",
)


class ScenarioError(ValueError):
    """A scenario file is malformed; the message names the file and the step."""


class Step(BaseModel):
    """One step: an optional title and exactly one action."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    as_: str | None = Field(default=None, alias="as", min_length=1)
    create_bucket: dict[str, Any] | None = None
    put_object: dict[str, Any] | None = None
    publish_policy: dict[str, Any] | None = None
    register_model_package: dict[str, Any] | None = None
    approve_model_package: dict[str, Any] | None = None
    reject_model_package: dict[str, Any] | None = None
    deploy_champion: dict[str, Any] | None = None
    tamper_artifact: dict[str, Any] | None = None
    decide_approval: dict[str, Any] | None = None
    console_decision: dict[str, Any] | None = None
    wait: dict[str, Any] | None = None
    rollback: dict[str, Any] | None = None
    monitoring_run: dict[str, Any] | None = None
    put_objects: dict[str, Any] | None = None
    tick: dict[str, Any] | None = None
    advance_time: dict[str, Any] | None = None
    put_event: dict[str, Any] | None = None
    create_alarm: dict[str, Any] | None = None
    set_alarm_state: dict[str, Any] | None = None
    call: dict[str, Any] | None = None
    expect: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        given = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a step takes exactly one of {', '.join(ACTIONS)}; got {given or 'none'}")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)

    @property
    def args(self) -> dict[str, Any]:
        value: dict[str, Any] = getattr(self, self.action)
        return value


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, str] = Field(default_factory=dict)
    start: AwareDatetime | None = Field(
        default=None,
        description="the simulated clock's start (e.g. 2026-01-05T09:00:00Z; default: now, to the second)",
    )
    steps: list[Step] = Field(min_length=1)


def load_scenario(path: Path) -> Scenario:
    """Parse and validate a scenario file."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ScenarioError(f"{path}: {problems}") from exc


@dataclass
class ScenarioResult:
    """Outcome of a run: failed expectations (empty when all held) and what ran."""

    failures: list[str] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


class ScenarioRunner:
    """Plays a scenario step by step on a running LocalControlPlane, printing the timeline."""

    def __init__(
        self,
        cp: LocalControlPlane,
        *,
        root: Path,
        timeline: TextIO | None,
        progress: TextIO | None = None,
        show_logs: bool = False,
        pump_timeout: float = 60.0,
        settle_seconds: float = 20.0,
    ) -> None:
        self.cp = cp
        self.root = root
        self.timeline = timeline
        self.progress = progress
        self.pump_timeout = pump_timeout
        self.settle_seconds = settle_seconds
        self.show_logs = show_logs
        self._logs_shown = 0
        self.started = time.monotonic()
        self.result = ScenarioResult()
        self._logical_ids: dict[str, str] | None = None
        self._principal: str | None = None
        self._principal_arns: dict[str, str] = {}
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], str]] = {
            "create_bucket": self._create_bucket,
            "put_object": self._put_object,
            "register_model_package": self._register_model_package,
            "publish_policy": self._publish_policy,
            "deploy_champion": self._deploy_champion,
            "tamper_artifact": self._tamper_artifact,
            "decide_approval": self._decide_approval,
            "console_decision": self._console_decision,
            "wait": self._wait,
            "rollback": self._rollback,
            "monitoring_run": self._monitoring_run,
            "put_objects": self._put_objects,
            "tick": self._tick,
            "advance_time": self._advance_time,
            "approve_model_package": lambda a: self._set_approval(a, "Approved"),
            "reject_model_package": lambda a: self._set_approval(a, "Rejected"),
            "put_event": self._put_event,
            "create_alarm": self._create_alarm,
            "set_alarm_state": self._set_alarm_state,
            "call": self._call,
            "expect": self._expect,
        }

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.cp.stack.physical_id("AuditTable"), client=self._client("dynamodb"))

    def _client(self, service: str) -> Any:
        """A client signing as the current step's principal (``as:``), else the default identity;
        one per (service, principal) for the run: creating a client costs more than most steps."""
        key = (service, self._principal)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.cp.client(service, principal=self._principal)
        return client

    def _default_client(self, service: str) -> Any:
        """A client of the default identity, whatever the current step's principal."""
        principal, self._principal = self._principal, None
        try:
            return self._client(service)
        finally:
            self._principal = principal

    def principal_arn(self, principal: str) -> str:
        """The caller ARN a principal signs as (what SageMaker and STS report for its calls)."""
        if principal.startswith("arn:aws:sts:"):
            return principal
        if principal not in self._principal_arns:
            sts = self.cp.client("sts", principal=principal)
            self._principal_arns[principal] = str(sts.get_caller_identity()["Arn"])
        return self._principal_arns[principal]

    # ---------------------------------------------------------------- running

    def run(self, scenario: Scenario) -> ScenarioResult:
        total = len(scenario.steps)
        self._say(f"scenario {scenario.name}: {scenario.description.strip()}".rstrip(": "))
        for number, step in enumerate(scenario.steps, start=1):
            label = step.title or step.action.replace("_", " ")
            if self.progress is not None:
                self.progress.write(f"[{number}/{total}] {label}\n")
                self.progress.flush()
            try:
                caller = f" as {self.principal_arn(step.as_)}" if step.as_ else ""
                self._principal = step.as_
                summary = self._handlers[step.action](step.args)
            except Exception as exc:
                raise ScenarioError(f"step {number} ({step.action}): {type(exc).__name__}: {exc}") from exc
            finally:
                self._principal = None
            self._say(f"\n{self._clock()} step {number}: {label}{caller}")
            if summary:
                self._say(f"           {summary}")
            self._show(self.cp.pump(timeout=self.pump_timeout))
        return self.result

    def _clock(self) -> str:
        return f"[+{time.monotonic() - self.started:6.2f}s]"

    def _say(self, line: str) -> None:
        if self.timeline is not None:
            self.timeline.write(line + "\n")

    def _logical(self, physical: str) -> str:
        """The template's logical id for a physical name or ARN (what a reader knows)."""
        if self._logical_ids is None:
            self._logical_ids = {}
            for logical, physical_id in self.cp.stack.physical_ids.items():
                self._logical_ids[physical_id] = logical
                self._logical_ids[physical_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]] = logical
        name = physical.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        return self._logical_ids.get(physical) or self._logical_ids.get(name) or name

    def _show(self, report: PumpReport) -> None:
        if self.show_logs:
            for entry in self.cp.registry.logs[self._logs_shown :]:
                self._say(f"           | {self._logical(entry.function)}: {entry.line}")
        self._logs_shown = len(self.cp.registry.logs)
        self.result.deliveries += len(report.deliveries)
        for delivery in report.deliveries:
            detail = (
                f" ({delivery.detail})" if delivery.detail and not delivery.detail.startswith("arn:") else ""
            )
            self._say(
                f"           -> {self._logical(delivery.rule)} => {self._logical(delivery.target)}: "
                f"{delivery.outcome}{detail}"
            )
        sfn = self._default_client("stepfunctions")
        for execution in report.executions:
            self.result.executions.append(execution)
            events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)[
                "events"
            ]
            path = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
            machine = self._logical(execution["stateMachineArn"])
            self._say(f"           -> {machine} {execution['status']}: {' > '.join(path)}")

    # ---------------------------------------------------------------- actions

    def _create_bucket(self, args: dict[str, Any]) -> str:
        s3 = self._client("s3")
        name = args["name"]
        s3.create_bucket(Bucket=name)
        if args.get("versioning", True):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if args.get("eventbridge", True):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        return f"bucket {name} (versioning, EventBridge notifications)"

    def _put_object(self, args: dict[str, Any]) -> str:
        body = args.get("body")
        data = body.encode() if isinstance(body, str) else b"0" * int(args.get("size", 1024))
        response = self._client("s3").put_object(Bucket=args["bucket"], Key=args["key"], Body=data)
        return f"s3://{args['bucket']}/{args['key']} ({len(data)} bytes, version {response.get('VersionId')})"

    def _register_model_package(self, args: dict[str, Any]) -> str:
        """Register as the reference pipeline does (artifact, SHA-256, reports, lineage); every
        PackageSpec field can be overridden, e.g. ``metrics: {auc: 0.7}`` or ``wrong_sha256: true``."""
        known = set(PackageSpec.__dataclass_fields__)
        unknown = set(args) - known
        if unknown:
            raise ScenarioError(
                f"register_model_package: unknown fields {sorted(unknown)}; known: {sorted(known)}"
            )
        spec = PackageSpec(**args)
        arn = register_package(self._client("s3"), self._client("sagemaker"), spec)
        return f"model package {arn}"

    def _publish_policy(self, args: dict[str, Any]) -> str:
        from mlcp_cli.commands.policy import publish_policy

        parameter = args.get("parameter") or self._template_parameter("PolicyParameterName")
        path = self.root / args["file"]
        if "change_freezes" not in args and "approvers" not in args:
            version = publish_policy(self._client("ssm"), path, parameter)
            return f"policy {args['file']} -> ssm:{parameter} (version {version})"
        # The file with these freeze windows, or these tiers' approvers, instead of its own.
        document = yaml.safe_load(path.read_text())
        if "change_freezes" in args:
            document["change_freezes"] = args["change_freezes"]
        for tier, approvers in dict(args.get("approvers") or {}).items():
            document["tiers"][tier]["approvers"] = approvers
        with tempfile.TemporaryDirectory() as scratch:
            overlaid = Path(scratch) / path.name
            overlaid.write_text(yaml.safe_dump(document))
            version = publish_policy(self._client("ssm"), overlaid, parameter)
        return f"policy {args['file']} (overlaid) -> ssm:{parameter} (version {version})"

    def _template_parameter(self, name: str) -> str:
        if name in self.cp.parameters:
            return self.cp.parameters[name]
        return str(self.cp.stack.template["Parameters"][name]["Default"])

    def _deploy_champion(self, args: dict[str, Any]) -> str:
        arn = self._package_arn(args)
        deploy_champion(self._client("sagemaker"), args["endpoint"], arn)
        return f"{arn} is in production on endpoint {args['endpoint']}"

    def _tamper_artifact(self, args: dict[str, Any]) -> str:
        arn = self._package_arn(args)
        described = self._client("sagemaker").describe_model_package(ModelPackageName=arn)
        url = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        bucket, key = url.removeprefix("s3://").split("/", 1)
        self._client("s3").put_object(Bucket=bucket, Key=key, Body=b"a different model")
        return f"{url} overwritten after registration"

    def _approval_id(self, args: Mapping[str, Any], status: str | None = "pending") -> str:
        """The id of the package's latest approval (``status`` None: whatever its status)."""
        from mlcp.adapters.state import ControlPlaneState

        arn = self._package_arn(args)
        state_table = self.cp.stack.physical_id("ControlPlaneTable")
        found = [
            a
            for a in ControlPlaneState(state_table, self._default_client("dynamodb")).list_approvals(status)
            if a.model_package_arn == arn
        ]
        if not found:
            raise ScenarioError(f"no {status or ''} approval for {arn}".replace("  ", " "))
        return found[-1].approval_id

    def _decide_approval(self, args: dict[str, Any]) -> str:
        from mlcp_cli.commands.approvals import decide

        state_table = self.cp.stack.physical_id("ControlPlaneTable")
        grant = args.get("decision", "grant") == "grant"
        try:
            decided = decide(
                self._client,
                self._approval_id(args),
                grant=grant,
                reason=str(args.get("reason", "decided in scenario")),
                state_table=state_table,
                audit_table=self.cp.stack.physical_id("AuditTable"),
            )
        except SeparationOfDutiesViolation as exc:
            return f"refused: {exc}"
        return f"approval {decided.approval_id}: {decided.status} by {decided.decided_by}"

    def _console_decision(self, args: dict[str, Any]) -> str:
        """An approver answers in the Step Functions console: "Start execution" of the
        approval-decision state machine with ``{approval_id, decision, reason}``, signed as the step's
        principal (``as:``; the control plane learns who from CloudTrail, never from the input).

        ``{group, version}`` names the package's latest approval (``answered: true``: whatever its
        status), or ``approval_id`` any id. ``verdict`` (granted | denied | refused) is what the
        decision execution must end with, and ``why`` words its refusal must contain.
        """
        known = {"group", "version", "answered", "approval_id", "decision", "reason", "verdict", "why"}
        unknown = set(args) - known
        if unknown or "verdict" not in args or args["verdict"] not in {"granted", "denied", "refused"}:
            raise ScenarioError(
                f"console_decision takes {sorted(known)} with verdict granted|denied|refused; got {sorted(args)}"
            )
        approval_id = args.get("approval_id") or self._approval_id(
            args, None if args.get("answered") else "pending"
        )
        document = {
            "approval_id": approval_id,
            "decision": args.get("decision", "grant"),
            "reason": args.get("reason", "decided in the console"),
        }
        machine = self.cp.stack.physical_id("ApprovalDecisionStateMachine")
        execution = self._client("stepfunctions").start_execution(
            stateMachineArn=machine, name=str(uuid.uuid4()), input=json.dumps(document)
        )["executionArn"]
        sfn = self._default_client("stepfunctions")
        started = time.monotonic()
        described = sfn.describe_execution(executionArn=execution)
        while described["status"] == "RUNNING" and time.monotonic() - started < self.settle_seconds:
            self._show(self.cp.pump(timeout=self.pump_timeout))
            described = sfn.describe_execution(executionArn=execution)
        status = described["status"]
        if status == "SUCCEEDED":
            verdict, detail = json.loads(described.get("output") or "{}").get("verdict"), ""
        else:
            history = sfn.get_execution_history(executionArn=execution, maxResults=1000)
            failed: dict[str, Any] = next(
                (
                    e["executionFailedEventDetails"]
                    for e in history["events"]
                    if "executionFailedEventDetails" in e
                ),
                {},
            )
            refused = failed.get("error") == "DecisionRefused"
            verdict, detail = ("refused" if refused else status.lower()), str(failed.get("cause", ""))
        problems = []
        if verdict != args["verdict"]:
            problems.append(f"verdict {verdict}, expected {args['verdict']}")
        if args.get("why") and str(args["why"]) not in detail:
            problems.append(f"why {detail!r} does not contain {args['why']!r}")
        if problems:
            self.result.failures.append(f"console decision {execution}: {'; '.join(problems)}")
        name = execution.rsplit(":", 1)[-1]
        return f"console decision {name} on {approval_id}: {status}, {verdict}" + (
            f" ({detail})" if detail else ""
        )

    def _wait(self, args: dict[str, Any]) -> str:
        """Let simulated time pass: every timer falling due on the way runs (Wait states, task
        timeouts, retries, endpoint deployment stages), in order; costs milliseconds."""
        seconds = float(args["seconds"])
        self.cp.advance_time(seconds, timeout=self.pump_timeout)
        return f"{seconds:.0f} simulated seconds pass"

    def _package_arn(self, args: Mapping[str, Any]) -> str:
        if "arn" in args:
            return str(args["arn"])
        sm = self._client("sagemaker")
        packages = sm.list_model_packages(ModelPackageGroupName=args["group"])["ModelPackageSummaryList"]
        for package in packages:
            if int(package.get("ModelPackageVersion", 0)) == int(args["version"]):
                return str(package["ModelPackageArn"])
        raise ScenarioError(f"no version {args['version']} in model package group {args['group']}")

    def _set_approval(self, args: dict[str, Any], status: str) -> str:
        arn = self._package_arn(args)
        self._client("sagemaker").update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=status,
            ApprovalDescription=args.get("description", f"{status} in scenario"),
        )
        return f"{arn} -> {status}"

    def _put_event(self, args: dict[str, Any]) -> str:
        if "file" in args:
            event = json.loads((self.root / args["file"]).read_text())
            origin = args["file"]
        else:
            event = args["event"]
            origin = "inline event"
        entry: dict[str, Any] = {
            "Source": event.get("source"),
            "DetailType": event.get("detail-type"),
            "Detail": event.get("detail")
            if isinstance(event.get("detail"), dict)
            else json.dumps(event.get("detail")),
            "Resources": event.get("resources", []),
        }
        if str(entry["Source"]).startswith("aws.") and self._principal is None:
            # The scenario plays the AWS service: a customer's PutEvents with an aws.* source is refused.
            [result] = self.cp.put_aws_events([entry])
        else:
            [result] = self.cp.put_events([entry], principal=self._principal)
        return f"PutEvents {origin}: {entry['Source']} / {entry['DetailType']} -> id {result.get('EventId')}"

    def _create_alarm(self, args: dict[str, Any]) -> str:
        name = args["name"]
        self._client("cloudwatch").put_metric_alarm(
            AlarmName=name,
            Namespace=args.get("namespace", "AWS/SageMaker"),
            MetricName=args.get("metric", "ModelLatency"),
            Dimensions=[
                {"Name": "EndpointName", "Value": args["endpoint"]},
                {"Name": "VariantName", "Value": args.get("variant", "AllTraffic")},
            ],
            Statistic="Average",
            Period=60,
            EvaluationPeriods=int(args.get("evaluation_periods", 3)),
            Threshold=float(args.get("threshold", 800_000)),
            ComparisonOperator="GreaterThanThreshold",
        )
        return f"alarm {name} on endpoint {args['endpoint']}"

    def _set_alarm_state(self, args: dict[str, Any]) -> str:
        self._client("cloudwatch").set_alarm_state(
            AlarmName=args["name"],
            StateValue=args["state"],
            StateReason=args.get("reason", "set by scenario"),
        )
        return f"alarm {args['name']} -> {args['state']}"

    def _call(self, args: dict[str, Any]) -> str:
        client = self._client(args["service"])
        getattr(client, args["operation"])(**args.get("params", {}))
        return f"{args['service']}.{args['operation']}"

    def _expect(self, args: dict[str, Any]) -> str:
        """Check the expectations; while any fails, pump and re-check for up to ``settle_seconds``
        of real time. The handlers' own run time is not simulated (at 600x, 0.5 s of CPU is five
        simulated minutes), so a ``wait`` is a lower bound on simulated time, and a loaded machine
        may still be finishing a canary when it ends. What held at once is not waited for."""
        before = len(self.result.failures)
        started = time.monotonic()
        while True:
            self._check_expectations(args)
            failed = self.result.failures[before:]
            if not failed or time.monotonic() - started >= self.settle_seconds:
                break
            del self.result.failures[before:]
            time.sleep(0.05)
            self._show(self.cp.pump(timeout=self.pump_timeout))
        if failed:
            return "EXPECTATION FAILED: " + "; ".join(failed)
        settled = time.monotonic() - started
        return "expectations held" + (f" (after {settled:.1f} s of settling)" if settled >= 0.05 else "")

    def _check_expectations(self, args: dict[str, Any]) -> None:
        if "audit" in args:
            self._expect_audit(args["audit"])
        if "executions" in args:
            self._expect_executions(args["executions"])
        if "endpoint" in args:
            self._expect_endpoint(args["endpoint"])
        if "incidents" in args:
            self._expect_incidents(args["incidents"])
        if "queue" in args:
            self._expect_queue(args["queue"])
        if "model_package" in args:
            self._expect_model_package(args["model_package"])

    def _expect_audit(self, spec: dict[str, Any]) -> None:
        """``actions``: exactly these records, in order; ``includes``: these in this order, others
        (e.g. endpoint events that arrive asynchronously) allowed in between."""
        stream = spec["stream"]
        actions = [str(record.action) for record in self.audit.read(stream)]
        if "actions" in spec and actions != list(spec["actions"]):
            self.result.failures.append(
                f"audit stream {stream}: expected {list(spec['actions'])}, found {actions}"
            )
        if "count" in spec:
            counted = {str(a): actions.count(str(a)) for a in spec["count"]}
            wanted_counts = {str(a): int(n) for a, n in spec["count"].items()}
            if counted != wanted_counts:
                self.result.failures.append(
                    f"audit stream {stream}: counted {counted}, expected {wanted_counts}"
                )
        if "excludes" in spec:
            unwanted = sorted(set(map(str, spec["excludes"])) & set(actions))
            if unwanted:
                self.result.failures.append(f"audit stream {stream}: unexpected {unwanted}")
        if "includes" in spec:
            remaining = iter(actions)
            wanted = [str(action) for action in spec["includes"]]
            if not all(action in remaining for action in wanted):
                self.result.failures.append(
                    f"audit stream {stream}: expected {wanted} in order within {actions}"
                )

    def _expect_executions(self, spec: dict[str, Any]) -> None:
        statuses = [e["status"] for e in self.cp.executions()]
        wanted = list(spec.get("statuses", []))
        if statuses != wanted:
            self.result.failures.append(f"executions: expected {wanted}, found {statuses}")

    def _expect_endpoint(self, spec: dict[str, Any]) -> None:
        """``{name, status, serves: {group, version}}``: the endpoint serves that package version."""
        from mlcp.adapters.endpoints import SageMakerHosting, resource_name

        state = SageMakerHosting(self._client("sagemaker")).endpoint(spec["name"])
        if state is None:
            self.result.failures.append(f"endpoint {spec['name']}: does not exist")
            return
        if "status" in spec and state.status != spec["status"]:
            self.result.failures.append(
                f"endpoint {spec['name']}: status {state.status}, expected {spec['status']}"
            )
        if "updates" in spec:
            # Every UpdateEndpoint the emulator simulated for this endpoint, by outcome.
            outcomes = [
                d.outcome or "InFlight"
                for d in self.cp.endpoint_deployments()
                if d.endpoint_name == spec["name"]
            ]
            counted = {outcome: outcomes.count(outcome) for outcome in set(outcomes)}
            wanted_counts = {str(k): int(v) for k, v in spec["updates"].items()}
            if counted != wanted_counts:
                self.result.failures.append(
                    f"endpoint {spec['name']}: updates {counted}, expected {wanted_counts}"
                )
        if "serves" in spec:
            wanted = resource_name(spec["name"], spec["serves"]["group"], f"v{spec['serves']['version']}")
            if state.config_name != wanted:
                self.result.failures.append(
                    f"endpoint {spec['name']}: serves {state.config_name}, expected {wanted}"
                )
            else:
                self._expect_owned(spec["name"], state.config_name)

    def _expect_owned(self, endpoint: str, config_name: str) -> None:
        """A config the control plane deployed carries this stack's owner tag (else its retirement
        would never judge it); a seeded config (no ``mlcp:model-package`` tag) is not checked."""
        from mlcp.adapters.endpoints import MANAGED_TAG, OWNER_TAG

        sagemaker = self._client("sagemaker")
        arn = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["EndpointConfigArn"]
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}
        if MANAGED_TAG in tags and tags.get(OWNER_TAG) != self.audit.table_name:
            self.result.failures.append(
                f"endpoint {endpoint}: config {config_name} has {OWNER_TAG}={tags.get(OWNER_TAG)!r}, "
                f"expected {self.audit.table_name!r}"
            )

    def _expect_incidents(self, spec: dict[str, Any]) -> None:
        """``{resource, cause?, open: N}``: how many open incidents a resource has (for a cause)."""
        from mlcp.adapters.opscenter import OpsCenter
        from mlcp.incidents import IncidentDeps, list_incidents

        deps = IncidentDeps(
            ops=OpsCenter(self._client("ssm")),
            table_name=self.cp.stack.physical_id("ControlPlaneTable"),
            dynamodb=self._client("dynamodb"),
            audit=self.audit,
        )
        found = [
            i
            for i in list_incidents(deps, "open")
            if i.resource == spec["resource"] and ("cause" not in spec or i.cause == spec["cause"])
        ]
        if len(found) != int(spec["open"]):
            causes = [i.cause for i in found]
            self.result.failures.append(
                f"incidents on {spec['resource']}: expected {spec['open']} open, found {len(found)} {causes}"
            )

    def _monitoring_run(self, args: dict[str, Any]) -> str:
        """A Model Monitor run on ``endpoint``: the processing job (as SageMaker creates it), its
        ``constraint_violations.json`` (``violations:`` a file of the repo, or none for a clean run)
        and the Processing Job State Change event SageMaker sends when it completes."""
        endpoint, schedule, hour = args["endpoint"], args["schedule"], int(args.get("run", 1))
        bucket = args.get("bucket", "mlcp-monitoring")
        s3, sm = self._client("s3"), self._client("sagemaker")
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=bucket)
        output = f"s3://{bucket}/reports/{endpoint}/{schedule}/2026/11/26/{hour:02d}"
        if args.get("violations"):
            body = (self.root / args["violations"]).read_bytes()
            s3.put_object(
                Bucket=bucket, Key=output.split("/", 3)[3] + "/constraint_violations.json", Body=body
            )
        name = f"model-monitoring-{schedule}-{hour:02d}"[:63]
        sm.create_processing_job(
            ProcessingJobName=name,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            AppSpecification={
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
            },
            RoleArn="arn:aws:iam::123456789012:role/mlcp-monitoring",
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            Environment={"sagemaker_endpoint_name": endpoint, "sagemaker_monitoring_schedule_name": schedule},
        )
        arn = sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobArn"]
        detail = {
            "ProcessingJobName": name,
            "ProcessingJobArn": arn,
            "ProcessingJobStatus": "Completed",
            "ExitMessage": "CompletedWithViolations" if args.get("violations") else "Completed",
            "MonitoringScheduleArn": f"arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{schedule}",
            "Environment": {
                "sagemaker_endpoint_name": endpoint,
                "sagemaker_monitoring_schedule_name": schedule,
            },
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "S3Uri": output,
                            "LocalPath": "/opt/ml/processing/output",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        }
        self.cp.put_aws_events(
            [
                {
                    "Source": "aws.sagemaker",
                    "DetailType": "SageMaker Processing Job State Change",
                    "Detail": detail,
                    "Resources": [arn],
                }
            ]
        )
        return f"Model Monitor run {name} on {endpoint}: {'violations ' + args['violations'] if args.get('violations') else 'clean'}"

    def _put_objects(self, args: dict[str, Any]) -> str:
        """``count`` objects of ``size`` bytes under ``prefix`` (new data landing in a burst)."""
        s3 = self._client("s3")
        count, size = int(args["count"]), int(args.get("size", 1024))
        for index in range(count):
            s3.put_object(
                Bucket=args["bucket"], Key=f"{args['prefix']}part-{index:05d}.csv", Body=b"0" * size
            )
        return f"{count} objects under s3://{args['bucket']}/{args['prefix']}"

    def _advance_time(self, args: dict[str, Any]) -> str:
        """Move the clock (days in an instant), running every timer that falls due on the way."""
        seconds = float(args["seconds"])
        self.cp.advance_time(seconds, timeout=self.pump_timeout)
        return f"the clock jumps {seconds / 3600:.1f} h ahead"

    def _tick(self, args: dict[str, Any]) -> str:
        """A schedule rule fires (moto never fires them): its targets get EventBridge's Scheduled Event."""
        import uuid

        from mlcp import clock

        rule_name = self.cp.stack.physical_id(args["rule"])
        events = self._client("events")
        rule_arn = events.describe_rule(Name=rule_name)["Arn"]
        scheduled = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": rule_arn.split(":")[4],
            "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.cp.region,
            "resources": [rule_arn],
            "detail": {},
        }
        targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        for target in targets:
            self.cp.invoke_async(target["Arn"].split(":function:")[-1], scheduled)
        return f"{args['rule']} fired ({len(targets)} target(s))"

    def _rollback(self, args: dict[str, Any]) -> str:
        from mlcp_cli.commands.rollback import rollback

        done = rollback(
            self._client,
            args["endpoint"],
            str(args["to"]),
            reason=str(args.get("reason", "rolled back in scenario")),
            state_table=self.cp.stack.physical_id("ControlPlaneTable"),
            audit_table=self.cp.stack.physical_id("AuditTable"),
            wait_for=lambda settled: self.cp.run_until(settled, limit=86_400, timeout=self.pump_timeout),
        )
        return f"{done['endpoint']}: {done['from_config']} -> {done['config']} (mlcp rollback)"

    def _expect_queue(self, spec: dict[str, Any]) -> None:
        url = self.cp.stack.queue_urls[spec["name"]]
        attributes = self._client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        found = int(attributes["ApproximateNumberOfMessages"])
        if found != int(spec["messages"]):
            self.result.failures.append(
                f"queue {spec['name']}: expected {spec['messages']} messages, found {found}"
            )

    def _expect_model_package(self, spec: dict[str, Any]) -> None:
        arn = self._package_arn(spec)
        described = self._client("sagemaker").describe_model_package(ModelPackageName=arn)
        for key, field_name in (("created_by", "CreatedBy"), ("last_modified_by", "LastModifiedBy")):
            if key not in spec:
                continue
            wanted = self.principal_arn(str(spec[key]))
            found = (described.get(field_name) or {}).get("IamIdentity", {}).get("Arn")
            if found != wanted:
                self.result.failures.append(
                    f"model package {arn}: {field_name} expected {wanted}, found {found}"
                )
