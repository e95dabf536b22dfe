"""The step kinds that act: each a typed model of its arguments and what it does (``run``).

The ``expect`` step kind is in :mod:`mlcp_cli.scenario.expect`.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml
from pydantic import ConfigDict, Field, model_validator

from mlcp.errors import SeparationOfDutiesViolation
from mlcp.events.sagemaker import ModelApprovalStatus
from mlcp_cli.scenario.format import ScenarioError, StepKind, Strict, step_kind

if TYPE_CHECKING:
    from mlcp_cli.scenario.runner import ScenarioRunner


class PackageRef(StepKind):
    """A model package by ``group`` and ``version``, or by ``arn``."""

    group: str | None = None
    version: int | None = Field(default=None, ge=1)
    arn: str | None = None

    @model_validator(mode="after")
    def _named(self) -> PackageRef:
        if self.arn is None and (self.group is None or self.version is None):
            raise ValueError("name the model package: group and version, or arn")
        return self


@step_kind("create_bucket")
class CreateBucket(StepKind):
    """A bucket, versioned and sending its notifications to EventBridge unless told otherwise."""

    name: str
    versioning: bool = True
    eventbridge: bool = True

    def run(self, runner: ScenarioRunner) -> str:
        s3 = runner.client("s3")
        s3.create_bucket(Bucket=self.name)
        if self.versioning:
            s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})
        if self.eventbridge:
            s3.put_bucket_notification_configuration(
                Bucket=self.name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        features = [
            name
            for name, on in (("versioning", self.versioning), ("EventBridge notifications", self.eventbridge))
            if on
        ]
        return f"bucket {self.name}" + (f" ({', '.join(features)})" if features else "")


@step_kind("put_object")
class PutObject(StepKind):
    """One object: ``body`` (text), else ``size`` bytes."""

    bucket: str
    key: str
    body: str | None = None
    size: int = Field(default=1024, ge=0)

    def run(self, runner: ScenarioRunner) -> str:
        data = self.body.encode() if self.body is not None else b"0" * self.size
        response = runner.client("s3").put_object(Bucket=self.bucket, Key=self.key, Body=data)
        return f"s3://{self.bucket}/{self.key} ({len(data)} bytes, version {response.get('VersionId')})"


@step_kind("put_objects")
class PutObjects(StepKind):
    """``count`` objects of ``size`` bytes under ``prefix`` (new data landing in a burst)."""

    bucket: str
    prefix: str
    count: int = Field(ge=1)
    size: int = Field(default=1024, ge=0)

    def run(self, runner: ScenarioRunner) -> str:
        s3 = runner.client("s3")
        for index in range(self.count):
            s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}part-{index:05d}.csv", Body=b"0" * self.size)
        return f"{self.count} objects under s3://{self.bucket}/{self.prefix}"


@step_kind("publish_policy")
class PublishPolicy(StepKind):
    """``mlcp policy publish``: the policy ``file`` (or directory) through the stack's AppConfig
    profile, with the command's own code (validator, deployment strategy); ``parameter``: the legacy
    SSM parameter instead."""

    file: str
    parameter: str | None = None
    change_freezes: list[dict[str, Any]] | None = None
    """These freeze windows instead of the file's own."""
    approvers: dict[str, list[str] | None] | None = None
    """Per tier, these approvers instead of the file's own."""
    strategy: str = "immediate"
    """``immediate`` (the default: in force for the next step), ``gradual``, ``auto`` (the command's
    own choice: immediate for a new freeze or a first deployment, else gradual) or a strategy id."""

    def _publish(self, runner: ScenarioRunner, path: Path) -> str:
        from mlcp_cli.commands.policy import DeliveryTarget, publish_policy, publish_to_appconfig

        if self.parameter is not None:
            version = publish_policy(runner.client("ssm"), path, self.parameter)
            return f"ssm:{self.parameter} (version {version})"
        target = DeliveryTarget.from_outputs(runner.cp.stack.outputs)
        strategy = {
            "immediate": target.immediate_strategy,
            "gradual": target.gradual_strategy,
            "auto": None,
        }.get(self.strategy, self.strategy)
        result = publish_to_appconfig(runner.client("appconfig"), target, path, strategy=strategy)
        return (
            f"appconfig:{target.appconfig} version {result.version}, deployment {result.deployment} "
            f"({result.strategy}: {result.reason})"
        )

    def run(self, runner: ScenarioRunner) -> str:
        path = runner.root / self.file
        if self.change_freezes is None and self.approvers is None:
            return f"policy {self.file} -> {self._publish(runner, path)}"
        document = yaml.safe_load(path.read_text())
        if self.change_freezes is not None:
            document["change_freezes"] = self.change_freezes
        for tier, approvers in (self.approvers or {}).items():
            if tier not in document.get("tiers", {}):
                raise ScenarioError(f"approvers: no tier {tier!r} in {self.file}")
            document["tiers"][tier]["approvers"] = approvers
        with tempfile.TemporaryDirectory() as scratch:
            overlaid = Path(scratch) / path.name
            overlaid.write_text(yaml.safe_dump(document))
            return f"policy {self.file} (overlaid) -> {self._publish(runner, overlaid)}"


@step_kind("register_model_package")
class RegisterModelPackage(StepKind):
    """Register as the reference pipeline does (artifact, SHA-256, reports, lineage); every field
    overrides what a well-behaved pipeline gives (:class:`mlcp_cli.seeding.PackageSpec`)."""

    group: str
    bucket: str | None = None
    metrics: dict[str, float] | None = None
    image: str | None = None
    artifact: str | None = None
    metadata: dict[str, str] | None = None
    record_sha256: bool | None = None
    wrong_sha256: bool | None = None
    pipeline_execution: str | None = None
    training_data_version: str | None = None
    bias: dict[str, float] | None = None
    explainability: bool | None = None
    status: ModelApprovalStatus | None = None
    extra_metadata: dict[str, str] | None = None

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.seeding import PackageSpec, register_package

        fields: dict[str, Any] = self.model_dump(exclude_unset=True)
        if "artifact" in fields:
            fields["artifact"] = str(fields["artifact"]).encode()
        arn = register_package(runner.client("s3"), runner.client("sagemaker"), PackageSpec(**fields))
        return f"model package {arn}"


@step_kind("approve_model_package")
class ApproveModelPackage(PackageRef):
    """The Model Registry approval (UpdateModelPackage ``Approved``), as whoever ``as:`` names."""

    description: str | None = None

    def run(self, runner: ScenarioRunner) -> str:
        return _set_approval(runner, self, "Approved", self.description)


@step_kind("reject_model_package")
class RejectModelPackage(PackageRef):
    """The Model Registry rejection (UpdateModelPackage ``Rejected``)."""

    description: str | None = None

    def run(self, runner: ScenarioRunner) -> str:
        return _set_approval(runner, self, "Rejected", self.description)


def _set_approval(runner: ScenarioRunner, ref: PackageRef, status: str, description: str | None) -> str:
    arn = runner.package_arn(ref.group, ref.version, ref.arn)
    runner.client("sagemaker").update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=status,
        ApprovalDescription=description or f"{status} in scenario",
    )
    return f"{arn} -> {status}"


@step_kind("deploy_champion")
class DeployChampion(PackageRef):
    """Seed ``endpoint`` serving the package (as if deployed before the control plane existed)."""

    endpoint: str

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.seeding import deploy_champion

        arn = runner.package_arn(self.group, self.version, self.arn)
        deploy_champion(runner.client("sagemaker"), self.endpoint, arn)
        return f"{arn} is in production on endpoint {self.endpoint}"


@step_kind("tamper_artifact")
class TamperArtifact(PackageRef):
    """Overwrite the package's model artifact after registration (its SHA-256 no longer matches)."""

    def run(self, runner: ScenarioRunner) -> str:
        arn = runner.package_arn(self.group, self.version, self.arn)
        described = runner.client("sagemaker").describe_model_package(ModelPackageName=arn)
        url = described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        bucket, key = url.removeprefix("s3://").split("/", 1)
        runner.client("s3").put_object(Bucket=bucket, Key=key, Body=b"a different model")
        return f"{url} overwritten after registration"


@step_kind("decide_approval")
class DecideApproval(PackageRef):
    """``mlcp approve`` / ``mlcp deny``: a named approver answers the package's pending approval.
    A separation-of-duties refusal is the step's outcome (the timeline says so), not an error."""

    decision: Literal["grant", "deny"] = "grant"
    reason: str = "decided in scenario"

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.commands.approvals import decide

        try:
            decided = decide(
                runner.client,
                _approval_id(runner, self, "pending"),
                grant=self.decision == "grant",
                reason=self.reason,
                state_table=runner.cp.stack.physical_id("ControlPlaneTable"),
                audit_table=runner.cp.stack.physical_id("AuditTable"),
            )
        except SeparationOfDutiesViolation as exc:
            return f"refused: {exc}"
        return f"approval {decided.approval_id}: {decided.status} by {decided.decided_by}"


def _approval_id(runner: ScenarioRunner, ref: PackageRef, status: str | None) -> str:
    """The id of the package's latest approval with ``status`` (None: whatever its status)."""
    from mlcp.adapters.state import ControlPlaneState

    arn = runner.package_arn(ref.group, ref.version, ref.arn)
    state = ControlPlaneState(
        runner.cp.stack.physical_id("ControlPlaneTable"), runner.default_client("dynamodb")
    )
    found = [a for a in state.list_approvals(status) if a.model_package_arn == arn]
    if not found:
        raise ScenarioError(f"no {status + ' ' if status else ''}approval for {arn}")
    return found[-1].approval_id


@step_kind("console_decision")
class ConsoleDecision(StepKind):
    """An approver answers in the Step Functions console: "Start execution" of the approval-decision
    state machine with ``{approval_id, decision, reason}``, signed as the step's principal (``as:``;
    the control plane learns who from CloudTrail, never from the input).

    ``{group, version}`` names the package's latest pending approval (``answered: true``: whatever
    its status), or ``approval_id`` any id. ``verdict`` is what the decision execution must end
    with, and ``why`` words its refusal must contain (a mismatch fails the scenario)."""

    group: str | None = None
    version: int | None = Field(default=None, ge=1)
    answered: bool = False
    approval_id: str | None = None
    decision: Literal["grant", "deny"] = "grant"
    reason: str = "decided in the console"
    verdict: Literal["granted", "denied", "refused"]
    why: str | None = None

    @model_validator(mode="after")
    def _named(self) -> ConsoleDecision:
        if self.approval_id is None and (self.group is None or self.version is None):
            raise ValueError("name the approval: approval_id, or group and version")
        return self

    def run(self, runner: ScenarioRunner) -> str:
        approval_id = self.approval_id or _approval_id(
            runner,
            PackageRef(group=self.group, version=self.version),
            None if self.answered else "pending",
        )
        document = {"approval_id": approval_id, "decision": self.decision, "reason": self.reason}
        execution = runner.client("stepfunctions").start_execution(
            stateMachineArn=runner.cp.stack.physical_id("ApprovalDecisionStateMachine"),
            name=str(uuid.uuid4()),
            input=json.dumps(document),
        )["executionArn"]
        sfn = runner.default_client("stepfunctions")
        # Nothing in the decision waits on the clock: once the pump returns, it has ended.
        runner.cp.pump(timeout=runner.pump_timeout)
        described = sfn.describe_execution(executionArn=execution)
        status = described["status"]
        detail = ""
        if status == "SUCCEEDED":
            verdict = json.loads(described.get("output") or "{}").get("verdict")
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
            verdict = "refused" if failed.get("error") == "DecisionRefused" else status.lower()
            detail = str(failed.get("cause", ""))
        problems = []
        if verdict != self.verdict:
            problems.append(f"verdict {verdict}, expected {self.verdict}")
        if self.why and self.why not in detail:
            problems.append(f"why {detail!r} does not contain {self.why!r}")
        if problems:
            runner.result.failures.append(f"console decision {execution}: {'; '.join(problems)}")
        name = execution.rsplit(":", 1)[-1]
        return f"console decision {name} on {approval_id}: {status}, {verdict}" + (
            f" ({detail})" if detail else ""
        )


@step_kind("wait")
class Wait(StepKind):
    """Let ``seconds`` of simulated time pass: every timer falling due on the way runs, in order
    (Wait states, task timeouts, retries, endpoint deployment stages and bakes)."""

    seconds: float = Field(gt=0)

    def run(self, runner: ScenarioRunner) -> str:
        return runner.wait(self.seconds)


@step_kind("advance_time")
class AdvanceTime(StepKind):
    """Move the clock ``seconds`` ahead (days in an instant), running every timer that falls due on
    the way."""

    seconds: float = Field(gt=0)

    def run(self, runner: ScenarioRunner) -> str:
        runner.cp.advance_time(self.seconds, timeout=runner.pump_timeout)
        return f"the clock jumps {self.seconds / 3600:.1f} h ahead"


@step_kind("tick")
class Tick(StepKind):
    """A schedule rule (its logical id) fires once: its targets get EventBridge's Scheduled Event
    (moto never fires schedules)."""

    rule: str

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp import clock

        rule_name = runner.cp.stack.physical_id(self.rule)
        events = runner.client("events")
        rule_arn = events.describe_rule(Name=rule_name)["Arn"]
        scheduled = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": rule_arn.split(":")[4],
            "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": runner.cp.region,
            "resources": [rule_arn],
            "detail": {},
        }
        targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        for target in targets:
            runner.cp.invoke_async(target["Arn"].split(":function:")[-1], scheduled)
        return f"{self.rule} fired ({len(targets)} target(s))"


@step_kind("rollback")
class Rollback(StepKind):
    """``mlcp rollback ENDPOINT --to VERSION``: back by hand to a version promoted on the endpoint."""

    endpoint: str
    to: int | str | None = None
    """The version to go back to; none: the previous champion."""
    reason: str = "rolled back in scenario"

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.commands.rollback import rollback

        done = rollback(
            runner.client,
            self.endpoint,
            None if self.to is None else str(self.to),
            reason=self.reason,
            state_table=runner.cp.stack.physical_id("ControlPlaneTable"),
            audit_table=runner.cp.stack.physical_id("AuditTable"),
            wait_for=lambda settled: runner.cp.run_until(settled, limit=86_400, timeout=runner.pump_timeout),
        )
        return f"{done['endpoint']}: {done['from_config']} -> {done['config']} (mlcp rollback)"


def _rollout_readers(runner: ScenarioRunner) -> Any:
    from mlcp import clock
    from mlcp.adapters.state import ControlPlaneState
    from mlcp_cli.commands.incidents import incident_deps
    from mlcp_cli.rollout import Readers, steer_invoker

    stack = runner.cp.stack
    state_table, audit_table = stack.physical_id("ControlPlaneTable"), stack.physical_id("AuditTable")
    return Readers(
        steer=steer_invoker(runner.client("lambda"), stack.outputs.get("SteerBakeFunctionArn")),
        sagemaker=runner.client("sagemaker"),
        stepfunctions=runner.client("stepfunctions"),
        cloudwatch=runner.client("cloudwatch"),
        state=ControlPlaneState(state_table, runner.client("dynamodb")),
        incidents=incident_deps(runner.client, state_table=state_table, audit_table=audit_table),
        state_machine_arn=stack.outputs.get("DeploymentStateMachineArn"),
        now=clock.now,
    )


class VersionRef(Strict):
    group: str
    version: int = Field(ge=1)


@step_kind("status")
class Status(StepKind):
    """``mlcp status ENDPOINT``: the view goes into the timeline; every field given must hold."""

    puts_events: ClassVar[bool] = False

    endpoint: str
    champion: VersionRef | None = None
    candidate: VersionRef | Literal["none"] | None = None
    stage: str | None = None
    """What the SageMaker step starts with (``Baking``, ``ActivatingTraffic``, ...)."""
    candidate_traffic_percent: float | None = Field(default=None, ge=0, le=100)
    bake_left_at_most: int | None = Field(default=None, ge=0)
    alarms: dict[str, Literal["OK", "ALARM", "INSUFFICIENT_DATA", "MISSING"]] | None = None
    lease: Literal["held", "free"] | None = None
    queued: list[VersionRef] | None = None
    """The versions waiting for the endpoint's lease, oldest first."""
    open_incidents: int | None = Field(default=None, ge=0)
    pending_approvals: int | None = Field(default=None, ge=0)

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.rollout import read_rollouts, render

        rollout = read_rollouts(_rollout_readers(runner), self.endpoint)[0]
        problems: list[str] = []

        def differs(what: str, want: Any, have: Any) -> None:
            if want != have:
                problems.append(f"{what}: expected {want}, got {have}")

        def version(v: Any) -> Any:
            return None if v is None else (v.group, v.version)

        if self.champion is not None:
            differs("champion", version(self.champion), version(rollout.champion))
        if self.candidate == "none":
            differs("candidate", None, version(rollout.candidate))
        elif self.candidate is not None:
            differs("candidate", version(self.candidate), version(rollout.candidate))
        if self.stage is not None and not (rollout.step or "").startswith(self.stage):
            problems.append(f"stage: expected {self.stage}, got {rollout.step}")
        if self.candidate_traffic_percent is not None:
            differs("candidate traffic %", self.candidate_traffic_percent, rollout.candidate_traffic)
        if self.bake_left_at_most is not None and (
            rollout.bake_seconds_left is None or rollout.bake_seconds_left > self.bake_left_at_most
        ):
            problems.append(
                f"bake left: expected at most {self.bake_left_at_most} s, got {rollout.bake_seconds_left}"
            )
        if self.alarms is not None:
            differs("alarms", self.alarms, {k: v for k, v in rollout.alarms.items() if k in self.alarms})
        if self.lease is not None:
            differs("lease", self.lease, "held" if rollout.lease_holder else "free")
        if self.queued is not None:
            want = [f"{v.group} v{v.version}" for v in self.queued]
            differs("queued", want, [rollout.queued.get(arn, "?") for arn in rollout.queue])
        if self.open_incidents is not None:
            differs("open incidents", self.open_incidents, len(rollout.incidents))
        if self.pending_approvals is not None:
            differs("pending approvals", self.pending_approvals, len(rollout.approvals))
        view = render([rollout]).rstrip("\n").replace("\n", "\n    | ")
        if problems:
            raise ScenarioError(f"mlcp status {self.endpoint}: " + "; ".join(problems) + "\n    | " + view)
        return f"mlcp status {self.endpoint}\n    | {view}"


@step_kind("abort")
class Abort(StepKind):
    """``mlcp abort ENDPOINT --reason``: the deployment in flight rolls back (SageMaker's rollback
    alarm, or a managed deployment's workflow during its bake)."""

    endpoint: str
    reason: str = "aborted in scenario"

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp.adapters.identity import caller_identity
        from mlcp.audit import AuditTrail
        from mlcp_cli.rollout import abort

        done = abort(
            _rollout_readers(runner),
            self.endpoint,
            reason=self.reason,
            identity=caller_identity(runner.client("sts")),
            audit=AuditTrail(runner.cp.stack.physical_id("AuditTable"), client=runner.client("dynamodb")),
            wait_for=lambda settled: runner.cp.run_until(settled, limit=3600, timeout=runner.pump_timeout),
        )
        return f"{done['endpoint']}: {done['aborted']} aborted by {done['by']} ({done['path']}) (mlcp abort)"


@step_kind("promote")
class Promote(StepKind):
    """``mlcp promote ENDPOINT --reason``: end the bake early where the tier allows it."""

    endpoint: str
    reason: str = "promoted in scenario"

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp.adapters.identity import caller_identity
        from mlcp.audit import AuditTrail
        from mlcp_cli.rollout import promote

        done = promote(
            _rollout_readers(runner),
            self.endpoint,
            reason=self.reason,
            identity=caller_identity(runner.client("sts")),
            audit=AuditTrail(runner.cp.stack.physical_id("AuditTable"), client=runner.client("dynamodb")),
        )
        return (
            f"{done['endpoint']}: the bake of {done['promoted']} at {done['step']} ended early by {done['by']} "
            "(mlcp promote)"
        )


@step_kind("promote_stage")
class PromoteStage(StepKind):
    """``mlcp promote-stage GROUP --to STAGE [--version N] --reason``: ask the workflow to promote a
    package to the next stage of its path, as the step's principal. The step checks the ``decision``
    (``allowed``, ``refused``, ``ignored``) and, with ``because``, that a reason contains it."""

    group: str
    to: str
    version: int | None = Field(default=None, ge=1)
    reason: str = "promoted in scenario"
    decision: Literal["allowed", "refused", "ignored"]
    because: str | None = None

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.commands.promote_stage import PromotionError, request_promotion

        try:
            decided = request_promotion(
                runner.client,
                self.group,
                self.to,
                version=self.version,
                reason=self.reason,
                audit_table=runner.cp.stack.physical_id("AuditTable"),
                state_machine_arn=runner.cp.stack.outputs["DeploymentStateMachineArn"],
                wait_for=lambda done: runner.cp.run_until(done, limit=3600, timeout=runner.pump_timeout),
            )
        except PromotionError as exc:
            raise ScenarioError(f"mlcp promote-stage {self.group} --to {self.to}: {exc}") from exc
        said = f"{self.group} v{decided.version} -> {self.to}: {decided.decision}"
        reasons = "; ".join(decided.reasons)
        if decided.decision != self.decision:
            raise ScenarioError(f"mlcp promote-stage: expected {self.decision}, got {said} ({reasons})")
        if self.because is not None and not any(self.because in r for r in decided.reasons):
            raise ScenarioError(
                f"mlcp promote-stage: {said}: no reason contains {self.because!r} ({reasons})"
            )
        return f"{said}{f' ({reasons})' if reasons else ''} (mlcp promote-stage)"


@step_kind("resolve_incident")
class ResolveIncident(StepKind):
    """``mlcp incidents resolve``: every incident open on ``resource`` (of ``cause``, else any) is
    resolved by the step's principal; at least one must be open."""

    resource: str
    cause: str | None = None
    reason: str = "resolved in scenario"

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp.adapters.identity import caller_identity
        from mlcp.incidents import list_incidents, resolve_by_id
        from mlcp_cli.commands.incidents import incident_deps

        stack = runner.cp.stack
        deps = incident_deps(
            runner.client,
            state_table=stack.physical_id("ControlPlaneTable"),
            audit_table=stack.physical_id("AuditTable"),
        )
        open_now = [
            i
            for i in list_incidents(deps, "open")
            if i.resource == self.resource and (self.cause is None or i.cause == self.cause)
        ]
        if not open_now:
            raise ScenarioError(f"resolve_incident: no incident open on {self.resource}")
        identity = caller_identity(runner.client("sts"))
        for incident in open_now:
            resolve_by_id(incident.incident_id, reason=self.reason, resolved_by=identity, deps=deps)
        return f"{len(open_now)} incident(s) on {self.resource} resolved by {identity}"


@step_kind("monitoring_run")
class MonitoringRun(StepKind):
    """A Model Monitor run on ``endpoint``: the processing job (as SageMaker creates it), its
    ``constraint_violations.json`` (``violations:`` a file of the repo, or none for a clean run) and
    the Processing Job State Change event SageMaker sends when it completes."""

    endpoint: str
    schedule: str
    run_: int = Field(default=1, alias="run", ge=0, le=99)
    bucket: str = "mlcp-monitoring"
    violations: str | None = None

    def run(self, runner: ScenarioRunner) -> str:
        s3, sm = runner.client("s3"), runner.client("sagemaker")
        if self.bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=self.bucket)
        output = f"s3://{self.bucket}/reports/{self.endpoint}/{self.schedule}/2026/11/26/{self.run_:02d}"
        if self.violations:
            body = (runner.root / self.violations).read_bytes()
            s3.put_object(
                Bucket=self.bucket, Key=output.split("/", 3)[3] + "/constraint_violations.json", Body=body
            )
        name = f"model-monitoring-{self.schedule}-{self.run_:02d}"[:63]
        outputs = [
            {
                "OutputName": "result",
                "S3Output": {
                    "S3Uri": output,
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
        environment = {
            "sagemaker_endpoint_name": self.endpoint,
            "sagemaker_monitoring_schedule_name": self.schedule,
        }
        sm.create_processing_job(
            ProcessingJobName=name,
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
            },
            AppSpecification={
                "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
            },
            RoleArn="arn:aws:iam::123456789012:role/mlcp-monitoring",
            ProcessingOutputConfig={"Outputs": outputs},
            Environment=environment,
        )
        arn = sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobArn"]
        detail = {
            "ProcessingJobName": name,
            "ProcessingJobArn": arn,
            "ProcessingJobStatus": "Completed",
            "ExitMessage": "CompletedWithViolations" if self.violations else "Completed",
            "MonitoringScheduleArn": f"arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{self.schedule}",
            "Environment": environment,
            "ProcessingOutputConfig": {"Outputs": outputs},
        }
        [result] = runner.cp.put_aws_events(
            [
                {
                    "Source": "aws.sagemaker",
                    "DetailType": "SageMaker Processing Job State Change",
                    "Detail": detail,
                    "Resources": [arn],
                }
            ]
        )
        runner.note_event(result.get("EventId"))
        found = f"violations {self.violations}" if self.violations else "clean"
        return f"Model Monitor run {name} on {self.endpoint}: {found}"


class EventDocument(Strict):
    """An event as EventBridge delivers it (the shape of the samples under ``events/``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: Any = None
    resources: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        return data  # a delivered event has more keys (id, time, account, ...): PutEvents ignores them


class PutEventsRejected(Exception):
    """EventBridge refused the entry (its ``ErrorCode`` in the PutEvents result)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@step_kind("member_stack")
class MemberStack(StepKind):
    """Deploy ``member.yaml`` into another ``account`` of the emulator, with the control plane's
    outputs and the scenario's ``MemberExternalId`` (as a member's administrator would; the account
    need not be listed in ``MemberAccountIds``)."""

    account: str = Field(pattern=r"^[0-9]{12}$")

    def run(self, runner: ScenarioRunner) -> str:
        from mlcp_cli.emulator.accounts import deploy_member_stack, member_parameters

        external_id = runner.cp.parameters.get("MemberExternalId", "")
        if not external_id:
            raise ScenarioError("member_stack: the scenario's parameters give no MemberExternalId")
        stack = deploy_member_stack(runner.cp, self.account, member_parameters(runner.cp, external_id))
        return f"member stack in account {self.account}: {stack.physical_ids['ForwardToGovernanceRule']}"


@step_kind("put_event")
class PutEvent(StepKind):
    """PutEvents of one event, from a ``file`` (``events/...json``) or inline (``event:``). An
    ``aws.*`` source is put as that AWS service puts it; with ``as:`` it is that principal's PutEvents
    (refused with NotAuthorizedForSourceException, as on AWS). ``account``: the AWS service of that
    account puts it on that account's default bus (a member account: ``member_stack``)."""

    file: str | None = None
    event: EventDocument | None = None
    account: str | None = Field(default=None, pattern=r"^[0-9]{12}$")

    @model_validator(mode="after")
    def _one_source(self) -> PutEvent:
        if (self.file is None) == (self.event is None):
            raise ValueError("give the event as file or as event (exactly one)")
        return self

    def run(self, runner: ScenarioRunner) -> str:
        if self.file is not None:
            event = EventDocument.model_validate(json.loads((runner.root / self.file).read_text()))
            origin = self.file
        else:
            assert self.event is not None
            event, origin = self.event, "inline event"
        entry: dict[str, Any] = {
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": event.detail if isinstance(event.detail, dict) else json.dumps(event.detail),
            "Resources": event.resources,
        }
        if self.account is not None:
            if not event.source.startswith("aws.") or runner.principal is not None:
                raise ScenarioError("put_event: account takes an aws.* event put by its service (no as:)")
            from mlcp_cli.emulator.accounts import put_service_events

            [result] = put_service_events(self.account, runner.cp.region, [entry])
            origin = f"{origin} in account {self.account}"
        elif event.source.startswith("aws.") and runner.principal is None:
            # The scenario plays the AWS service: a customer's PutEvents with an aws.* source is refused.
            [result] = runner.cp.put_aws_events([entry])
        else:
            entry["Detail"] = (
                json.dumps(entry["Detail"]) if isinstance(entry["Detail"], dict) else entry["Detail"]
            )
            [result] = runner.client("events").put_events(Entries=[entry])["Entries"]
            if "ErrorCode" in result:
                raise PutEventsRejected(str(result["ErrorCode"]), str(result.get("ErrorMessage", "")))
        runner.note_event(result.get("EventId"))
        return f"PutEvents {origin}: {event.source} / {event.detail_type} -> id {result.get('EventId')}"


@step_kind("redeliver")
class Redeliver(StepKind):
    """EventBridge delivers again, with the same event id, what an earlier step put on the bus
    (at-least-once delivery): the events of step ``step`` (its number), by default the last step
    that put one (``put_event``, ``monitoring_run``, or an AWS service's event a step caused, such as
    the registry's state change after ``approve_model_package``). ``times``: how many more times."""

    step: int | None = Field(default=None, ge=1)
    times: int = Field(default=1, ge=1, le=10)

    def run(self, runner: ScenarioRunner) -> str:
        ids = runner.redeliver(self.step, self.times)
        return f"redelivered {len(ids)} event(s) x{self.times}: {', '.join(ids)}"


@step_kind("create_alarm")
class CreateAlarm(StepKind):
    """A CloudWatch alarm on an endpoint's metric (OK until ``set_alarm_state``)."""

    name: str
    endpoint: str
    namespace: str = "AWS/SageMaker"
    metric: str = "ModelLatency"
    variant: str = "AllTraffic"
    evaluation_periods: int = Field(default=3, ge=1)
    threshold: float = 800_000

    def run(self, runner: ScenarioRunner) -> str:
        runner.client("cloudwatch").put_metric_alarm(
            AlarmName=self.name,
            Namespace=self.namespace,
            MetricName=self.metric,
            Dimensions=[
                {"Name": "EndpointName", "Value": self.endpoint},
                {"Name": "VariantName", "Value": self.variant},
            ],
            Statistic="Average",
            Period=60,
            EvaluationPeriods=self.evaluation_periods,
            Threshold=self.threshold,
            ComparisonOperator="GreaterThanThreshold",
        )
        return f"alarm {self.name} on endpoint {self.endpoint}"


class Spread(Strict):
    """A normal distribution of a per-minute value: its mean and standard deviation."""

    mean: float = Field(ge=0)
    sd: float = Field(default=0.0, ge=0)


@step_kind("variant_traffic")
class VariantTraffic(StepKind):
    """What SageMaker publishes for one production variant serving traffic, minute by minute from now
    for ``minutes``: Invocations, ModelLatency and OverheadLatency (microseconds, each minute's average
    drawn from ``latency_ms`` / ``overhead_ms``), Invocation5XXErrors (``error_rate`` of the
    invocations, binomial) and Invocation4XXErrors 0, with the EndpointName / VariantName dimensions
    (plus EndpointConfigName when ``config`` names a blue/green fleet). ``seed`` makes it repeatable.
    The coming minutes are written at once (CloudWatch takes timestamps up to 2 h ahead), so an
    alarm on them is evaluated as the data arrives."""

    endpoint: str
    variant: str
    config: str | None = None
    minutes: int = Field(default=30, ge=1, le=120)
    invocations_per_minute: int = Field(default=600, ge=0, le=100_000)
    latency_ms: Spread = Field(default_factory=lambda: Spread(mean=40.0, sd=4.0))
    overhead_ms: Spread = Field(default_factory=lambda: Spread(mean=5.0, sd=0.5))
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    seed: int = 0

    def run(self, runner: ScenarioRunner) -> str:
        import random

        from mlcp import clock

        rng = random.Random(f"{self.endpoint}/{self.variant}/{self.seed}")  # noqa: S311 - simulated traffic, repeatable
        dimensions = [
            {"Name": "EndpointName", "Value": self.endpoint},
            {"Name": "VariantName", "Value": self.variant},
        ]
        if self.config:
            dimensions.append({"Name": "EndpointConfigName", "Value": self.config})
        start = clock.now().replace(second=0, microsecond=0)
        data: list[dict[str, Any]] = []
        for minute in range(self.minutes):
            at = start + dt.timedelta(minutes=minute + 1)
            calls = self.invocations_per_minute
            errors = sum(rng.random() < self.error_rate for _ in range(calls)) if self.error_rate else 0
            values = {
                "Invocations": float(calls),
                "ModelLatency": max(0.0, rng.gauss(self.latency_ms.mean, self.latency_ms.sd)) * 1000,
                "OverheadLatency": max(0.0, rng.gauss(self.overhead_ms.mean, self.overhead_ms.sd)) * 1000,
                "Invocation5XXErrors": float(errors),
                "Invocation4XXErrors": 0.0,
            }
            data.extend(
                {"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": value}
                for name, value in values.items()
            )
        cloudwatch = runner.client("cloudwatch")
        for chunk in range(0, len(data), 1000):  # PutMetricData takes at most 1000 datapoints
            cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data[chunk : chunk + 1000])
        fleet = f" ({self.config})" if self.config else ""
        return (
            f"{self.minutes} min of traffic on {self.endpoint}/{self.variant}{fleet}: "
            f"{self.latency_ms.mean:g} ms, {self.error_rate:.2%} errors"
        )


@step_kind("set_alarm_state")
class SetAlarmState(StepKind):
    """SetAlarmState: the alarm goes to ``state`` (CloudWatch sends its state change event)."""

    name: str
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = "set by scenario"

    def run(self, runner: ScenarioRunner) -> str:
        runner.client("cloudwatch").set_alarm_state(
            AlarmName=self.name, StateValue=self.state, StateReason=self.reason
        )
        return f"alarm {self.name} -> {self.state}"


@step_kind("call")
class Call(StepKind):
    """Any AWS API call: boto3's ``service`` and ``operation`` (snake_case) with ``params``."""

    service: str
    operation: str
    params: dict[str, Any] = Field(default_factory=dict)

    def run(self, runner: ScenarioRunner) -> str:
        client = runner.client(self.service)
        if not hasattr(client, self.operation):
            raise ScenarioError(f"{self.service} has no operation {self.operation}")
        getattr(client, self.operation)(**self.params)
        return f"{self.service}.{self.operation}"
