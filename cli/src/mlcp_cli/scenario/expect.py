"""The ``expect`` step kind: what must hold, each part a typed model with its check.

Every key is checked (an unknown key is an error when the scenario is loaded); each ``check``
returns the failures it found (:meth:`ScenarioRunner.check`), once: the previous step's pump left
nothing runnable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from mlcp.events.sagemaker import ModelApprovalStatus
from mlcp_cli.scenario.format import StepKind, Strict, step_kind

if TYPE_CHECKING:
    from mlcp_cli.scenario.runner import ScenarioRunner

# The contract's own type: a second Literal of the same values in another order is equal to it, and
# typing's caches then hand pydantic whichever was built first (error messages changed order).
ApprovalStatus = ModelApprovalStatus


class Check(Strict):
    """One part of an expectation."""

    def check(self, runner: ScenarioRunner) -> list[str]:
        """The failures found (empty when it holds)."""
        raise NotImplementedError


class AuditExpectation(Check):
    """Records of one audit ``stream``: ``actions`` exactly these, in order; ``includes`` these in
    this order (others allowed in between); ``excludes`` none of these; ``count`` per action."""

    stream: str
    actions: list[str] | None = None
    includes: list[str] | None = None
    excludes: list[str] | None = None
    count: dict[str, int] | None = None

    @model_validator(mode="after")
    def _checks_something(self) -> AuditExpectation:
        if self.actions is None and self.includes is None and self.excludes is None and self.count is None:
            raise ValueError("give actions, includes, excludes or count")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        found = [str(record.action) for record in runner.audit.read(self.stream)]
        failures = []
        if self.actions is not None and found != self.actions:
            failures.append(f"audit stream {self.stream}: expected {self.actions}, found {found}")
        if self.count is not None:
            counted = {action: found.count(action) for action in self.count}
            if counted != self.count:
                failures.append(f"audit stream {self.stream}: counted {counted}, expected {self.count}")
        if self.excludes is not None:
            unwanted = sorted(set(self.excludes) & set(found))
            if unwanted:
                failures.append(f"audit stream {self.stream}: unexpected {unwanted}")
        if self.includes is not None:
            remaining = iter(found)
            if not all(action in remaining for action in self.includes):
                failures.append(
                    f"audit stream {self.stream}: expected {self.includes} in order within {found}"
                )
        return failures


class ExecutionsExpectation(Check):
    """The statuses of every Step Functions execution of the stack, oldest first."""

    statuses: list[Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]]

    def check(self, runner: ScenarioRunner) -> list[str]:
        found = [e["status"] for e in runner.cp.executions()]
        return [] if found == self.statuses else [f"executions: expected {self.statuses}, found {found}"]


class Serves(Strict):
    group: str
    version: int = Field(ge=1)


class EndpointExpectation(Check):
    """The endpoint exists; its ``status``; the package version it ``serves`` (its config, with this
    stack's owner tag); the simulated UpdateEndpoint deployments by outcome (``updates``); the
    shadow variants of the config it serves (``shadow_variants``, ``[]``: none). ``account``: the
    endpoint of that account of the emulator (a member, issue 20), else the governance account's."""

    name: str
    account: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    status: str | None = None
    serves: Serves | None = None
    updates: dict[str, int] | None = None
    shadow_variants: list[str] | None = None

    def check(self, runner: ScenarioRunner) -> list[str]:
        from mlcp.adapters.endpoints import SageMakerHosting, resource_name

        state = SageMakerHosting(self._sagemaker(runner)).endpoint(self.name)
        if state is None:
            return [f"endpoint {self.name}{self._where}: does not exist"]
        failures = []
        if self.status is not None and state.status != self.status:
            failures.append(f"endpoint {self.name}: status {state.status}, expected {self.status}")
        if self.shadow_variants is not None and list(state.shadow_variants) != self.shadow_variants:
            failures.append(
                f"endpoint {self.name}: shadow variants {list(state.shadow_variants)}, expected {self.shadow_variants}"
            )
        if self.updates is not None:
            outcomes = [
                d.outcome or "InFlight"
                for d in runner.cp.endpoint_deployments()
                if d.endpoint_name == self.name
            ]
            counted = {outcome: outcomes.count(outcome) for outcome in set(outcomes)}
            if counted != self.updates:
                failures.append(f"endpoint {self.name}: updates {counted}, expected {self.updates}")
        if self.serves is not None:
            wanted = resource_name(self.name, self.serves.group, f"v{self.serves.version}")
            if state.config_name != wanted:
                failures.append(f"endpoint {self.name}: serves {state.config_name}, expected {wanted}")
            else:
                failures.extend(self._owned(runner, state.config_name))
        return failures

    @property
    def _where(self) -> str:
        return f" in account {self.account}" if self.account else ""

    def _sagemaker(self, runner: ScenarioRunner) -> Any:
        """SageMaker of the endpoint's account: a member's, as that account, else the step's."""
        from mlcp_cli.emulator.runtime import LOCAL_ACCOUNT_ID

        if self.account is None or self.account == LOCAL_ACCOUNT_ID:
            return runner.client("sagemaker")
        from mlcp_cli.emulator.accounts import account_session

        return account_session(self.account, runner.cp.region).client("sagemaker")

    def _owned(self, runner: ScenarioRunner, config_name: str) -> list[str]:
        """A config the control plane deployed carries this stack's owner tag (else its retirement
        would never judge it); a seeded config (no ``mlcp:model-package`` tag) is not checked."""
        from mlcp.adapters.endpoints import MANAGED_TAG, OWNER_TAG

        sagemaker = self._sagemaker(runner)
        arn = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["EndpointConfigArn"]
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}
        if MANAGED_TAG in tags and tags.get(OWNER_TAG) != runner.audit.table_name:
            return [
                f"endpoint {self.name}: config {config_name} has {OWNER_TAG}={tags.get(OWNER_TAG)!r}, "
                f"expected {runner.audit.table_name!r}"
            ]
        return []


class IncidentsExpectation(Check):
    """Incidents of a ``resource`` (for a ``cause``, else any): how many are ``open`` and
    ``resolved``; the ``severity`` and ``occurrences`` of each open one."""

    resource: str
    cause: str | None = None
    open: int | None = Field(default=None, ge=0)
    resolved: int | None = Field(default=None, ge=0)
    severity: int | None = Field(default=None, ge=1, le=4)
    occurrences: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _checks_something(self) -> IncidentsExpectation:
        if all(v is None for v in (self.open, self.resolved, self.severity, self.occurrences)):
            raise ValueError("give open, resolved, severity or occurrences")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        from mlcp.adapters.opscenter import OpsCenter
        from mlcp.incidents import IncidentDeps, list_incidents

        deps = IncidentDeps(
            ops=OpsCenter(runner.client("ssm")),
            table_name=runner.cp.stack.physical_id("ControlPlaneTable"),
            dynamodb=runner.client("dynamodb"),
            audit=runner.audit,
        )
        found = [
            i
            for i in list_incidents(deps)
            if i.resource == self.resource and (self.cause is None or i.cause == self.cause)
        ]
        opened = [i for i in found if i.status in {"open", "opening"}]
        resolved = [i for i in found if i.status == "resolved"]
        where = f"incidents on {self.resource}" + (f" ({self.cause})" if self.cause else "")
        failures = []
        if self.open is not None and len(opened) != self.open:
            failures.append(
                f"{where}: expected {self.open} open, found {len(opened)} {[i.cause for i in opened]}"
            )
        if self.resolved is not None and len(resolved) != self.resolved:
            failures.append(f"{where}: expected {self.resolved} resolved, found {len(resolved)}")
        for name in ("severity", "occurrences"):
            wanted = getattr(self, name)
            if wanted is None:
                continue
            if not opened:
                failures.append(f"{where}: expected an open incident of {name} {wanted}, none is open")
            for incident in opened:
                if getattr(incident, name) != wanted:
                    failures.append(
                        f"{where}: {incident.incident_id} ({incident.cause}) has {name} "
                        f"{getattr(incident, name)}, expected {wanted}"
                    )
        return failures


class QueueExpectation(Check):
    """How many messages a queue of the stack (its logical id) holds."""

    name: str
    messages: int = Field(ge=0)

    def check(self, runner: ScenarioRunner) -> list[str]:
        urls = runner.cp.stack.queue_urls
        if self.name not in urls:
            return [f"queue {self.name}: not a queue of the stack (queues: {', '.join(sorted(urls))})"]
        attributes = runner.client("sqs").get_queue_attributes(
            QueueUrl=urls[self.name], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        found = int(attributes["ApproximateNumberOfMessages"])
        return (
            []
            if found == self.messages
            else [f"queue {self.name}: expected {self.messages} messages, found {found}"]
        )


class PackageExpectation(Check):
    """A model package (``group`` + ``version``, or ``arn``): its registry ``status``
    (ModelApprovalStatus), a ``reason`` its ApprovalDescription contains (why it was rejected), and
    the IAM identities that created and last modified it (a principal as in ``as:``, or an
    ``arn:aws:sts::...`` role session ARN such as a function's)."""

    group: str | None = None
    version: int | None = Field(default=None, ge=1)
    arn: str | None = None
    status: ApprovalStatus | None = None
    reason: str | None = None
    created_by: str | None = None
    last_modified_by: str | None = None

    @model_validator(mode="after")
    def _named_and_checked(self) -> PackageExpectation:
        if self.arn is None and (self.group is None or self.version is None):
            raise ValueError("name the model package: group and version, or arn")
        if all(v is None for v in (self.status, self.reason, self.created_by, self.last_modified_by)):
            raise ValueError("give status, reason, created_by or last_modified_by")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        arn = runner.package_arn(self.group, self.version, self.arn)
        described = runner.client("sagemaker").describe_model_package(ModelPackageName=arn)
        failures = []
        if self.status is not None and described.get("ModelApprovalStatus") != self.status:
            failures.append(
                f"model package {arn}: status {described.get('ModelApprovalStatus')}, expected {self.status}"
            )
        description = str(described.get("ApprovalDescription") or "")
        if self.reason is not None and self.reason.lower() not in description.lower():
            failures.append(f"model package {arn}: reason {description!r} does not mention {self.reason!r}")
        for wanted_principal, field_name in (
            (self.created_by, "CreatedBy"),
            (self.last_modified_by, "LastModifiedBy"),
        ):
            if wanted_principal is None:
                continue
            wanted = runner.principal_arn(wanted_principal)
            found = (described.get(field_name) or {}).get("IamIdentity", {}).get("Arn")
            if found != wanted:
                failures.append(f"model package {arn}: {field_name} expected {wanted}, found {found}")
        return failures


class ApprovalExpectation(Check):
    """The named-approver approval (``mlcp approvals``) of a model package, the latest one asked:
    its ``status`` and who ``decided_by`` (a principal as in ``as:``)."""

    group: str | None = None
    version: int | None = Field(default=None, ge=1)
    arn: str | None = None
    status: Literal["pending", "granted", "denied", "expired", "abandoned", "none"]
    decided_by: str | None = None

    @model_validator(mode="after")
    def _named(self) -> ApprovalExpectation:
        if self.arn is None and (self.group is None or self.version is None):
            raise ValueError("name the model package: group and version, or arn")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        from mlcp.adapters.state import ControlPlaneState

        arn = runner.package_arn(self.group, self.version, self.arn)
        state = ControlPlaneState(runner.cp.stack.physical_id("ControlPlaneTable"), runner.client("dynamodb"))
        asked = [a for a in state.list_approvals(status=None) if a.model_package_arn == arn]
        latest = asked[-1] if asked else None
        status = latest.status if latest is not None else "none"
        if status != self.status:
            return [f"approval of {arn}: {status}, expected {self.status}"]
        if self.decided_by is not None and latest is not None:
            wanted = runner.principal_arn(self.decided_by)
            if latest.decided_by not in {wanted, self.decided_by}:
                return [f"approval of {arn}: decided by {latest.decided_by}, expected {wanted}"]
        return []


class CallsExpectation(Check):
    """AWS API calls the control plane made (its functions and state machines; not the scenario's
    own steps and checks), as ``service.Operation`` with boto3's service name
    (``sagemaker.CreateModel``): ``absent`` none of these; ``count`` exactly so many of each. Counted
    from step ``since_step`` on (its number), else since the scenario began."""

    absent: list[str] = Field(default_factory=list)
    count: dict[str, int] = Field(default_factory=dict)
    since_step: int = Field(default=1, ge=1)

    @field_validator("absent", "count")
    @classmethod
    def _operations(cls, value: list[str] | dict[str, int]) -> list[str] | dict[str, int]:
        from mlcp_cli.emulator.calls import known_operation

        for name in value:
            problem = known_operation(str(name))
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _checks_something(self) -> CallsExpectation:
        if not self.absent and not self.count:
            raise ValueError("give absent or count")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        made = runner.calls.made(since_step=self.since_step)
        names = [call.name for call in made]
        failures = []
        for name in self.absent:
            callers = sorted({runner.logical(call.caller) for call in made if call.name == name})
            if callers:
                failures.append(
                    f"calls: {name} was made {names.count(name)} time(s), by {', '.join(callers)}"
                )
        counted = {name: names.count(name) for name in self.count}
        if counted != self.count:
            failures.append(f"calls since step {self.since_step}: counted {counted}, expected {self.count}")
        return failures


class PipelineExpectation(Check):
    """Executions of a SageMaker pipeline: how many started, and how many per status
    (``Executing``, ``Succeeded``, ``Failed``, ``Stopped``)."""

    name: str
    executions: int | None = Field(default=None, ge=0)
    statuses: dict[str, int] | None = None

    @model_validator(mode="after")
    def _checks_something(self) -> PipelineExpectation:
        if self.executions is None and self.statuses is None:
            raise ValueError("give executions or statuses")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        sagemaker = runner.client("sagemaker")
        summaries = []
        for page in sagemaker.get_paginator("list_pipeline_executions").paginate(PipelineName=self.name):
            summaries.extend(page["PipelineExecutionSummaries"])
        failures = []
        if self.executions is not None and len(summaries) != self.executions:
            failures.append(f"pipeline {self.name}: {len(summaries)} executions, expected {self.executions}")
        if self.statuses is not None:
            found = [str(s.get("PipelineExecutionStatus")) for s in summaries]
            counted = {status: found.count(status) for status in set(found) | set(self.statuses)}
            counted = {k: v for k, v in counted.items() if v or k in self.statuses}
            if counted != self.statuses:
                failures.append(
                    f"pipeline {self.name}: executions by status {counted}, expected {self.statuses}"
                )
        return failures


class RejectedEventsExpectation(Check):
    """Events the control plane rejected (the ``event.rejected`` audit records): how many
    (``count``), and ``reasons``: for each, a rejection whose reason contains it."""

    count: int | None = Field(default=None, ge=0)
    reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checks_something(self) -> RejectedEventsExpectation:
        if self.count is None and not self.reasons:
            raise ValueError("give count or reasons")
        return self

    def check(self, runner: ScenarioRunner) -> list[str]:
        from mlcp.usecases.reject_event import REJECTED_STREAM

        found = [
            str(record.evidence.get("reason", ""))
            for record in runner.audit.read(REJECTED_STREAM)
            if str(record.action) == "event.rejected"
        ]
        failures = []
        if self.count is not None and len(found) != self.count:
            failures.append(f"rejected events: {len(found)}, expected {self.count} ({found})")
        for reason in self.reasons:
            if not any(reason.lower() in f.lower() for f in found):
                failures.append(f"rejected events: no reason mentions {reason!r} (reasons: {found})")
        return failures


@step_kind("expect")
class Expect(StepKind):
    """What must hold now; a failed expectation fails the run."""

    puts_events: ClassVar[bool] = False

    audit: AuditExpectation | None = None
    executions: ExecutionsExpectation | None = None
    endpoint: EndpointExpectation | None = None
    incidents: IncidentsExpectation | None = None
    queue: QueueExpectation | None = None
    model_package: PackageExpectation | None = None
    approval: ApprovalExpectation | None = None
    calls: CallsExpectation | None = None
    pipeline: PipelineExpectation | None = None
    rejected_events: RejectedEventsExpectation | None = None

    @model_validator(mode="after")
    def _expects_something(self) -> Expect:
        if not self.parts():
            raise ValueError(f"expect nothing? give one of {', '.join(type(self).model_fields)}")
        return self

    def parts(self) -> list[Check]:
        """The expectations given, in the order of the fields."""
        return [value for name in type(self).model_fields if isinstance(value := getattr(self, name), Check)]

    def check(self, runner: ScenarioRunner) -> list[str]:
        """Every failure of every part."""
        return [failure for part in self.parts() for failure in part.check(runner)]

    def run(self, runner: ScenarioRunner) -> str:
        return runner.check(self)
