"""What every handler shares: dependencies built once per execution environment, and the one
way an entry point turns a raw event into a model or a rejection.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlcp.accounts import AccountScope, acting_account
from mlcp.adapters import clients
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.parking import SqsParking
from mlcp.config import CoreConfig, GovernanceConfig
from mlcp.errors import InvalidEvent
from mlcp.usecases.reject_event import reject_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from mlcp.adapters.accounts import AccountClients
    from mlcp.events import ControlPlaneEvent
    from mlcp.events.schedule import ScheduledEvent
    from mlcp.ports import PipelineStarter, PolicySource
    from mlcp.usecases.approval import ApprovalDeps
    from mlcp.usecases.approval_records import ApprovalRecordDeps
    from mlcp.usecases.canary_analysis import AnalysisDeps
    from mlcp.usecases.console_decision import ConsoleDecisionDeps
    from mlcp.usecases.decision_wait import DecisionWaitDeps
    from mlcp.usecases.deployment import DeploymentDeps
    from mlcp.usecases.incidents import IncidentDeps
    from mlcp.usecases.retraining_reactions import ReactionDeps
    from mlcp.usecases.shadow import ShadowDeps
    from mlcp.usecases.steer_bake import SteerDeps

#: How long Powertools remembers a completed invocation: the rules' maximum event age.
IDEMPOTENCY_WINDOW_SECONDS = 6 * 3600


class Runtime:
    """The audit trail, rejected-events parking and idempotency store of one function."""

    def __init__(self, function: str, config: CoreConfig | None = None) -> None:
        self.function = function
        self.config = config or CoreConfig.from_env()
        self.audit = AuditTrail(self.config.audit_table, client=clients.dynamodb())
        self.parking = SqsParking(self.config.rejected_events_queue_url)
        self._idempotency_store: DynamoDBPersistenceLayer | None = None
        self._context: LambdaContext | None = None
        home = self.config.home_account
        self.account_scope = AccountScope.parse(home, self.config.member_accounts) if home else None

    @property
    def idempotency_store(self) -> DynamoDBPersistenceLayer:
        """Powertools' DynamoDB persistence layer, built on first use (it creates its own client)."""
        if self._idempotency_store is None:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

            self._idempotency_store = DynamoDBPersistenceLayer(table_name=self.config.idempotency_table)
        return self._idempotency_store

    def idempotency(self, business_key_jmespath: str) -> IdempotencyConfig:
        """Idempotency keyed on a business key of the raw event (never on its EventBridge id)."""
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

        return IdempotencyConfig(
            event_key_jmespath=business_key_jmespath,
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_WINDOW_SECONDS,
        )

    def idempotent[**P, R](self, business_key_jmespath: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Powertools ``idempotent_function`` on the ``raw`` keyword argument, keyed on a business key
        of the raw event. Powertools' idempotency utility and its store load on the first call, not
        at import: paths that reject an event before it never pay for them (cold start budget)."""

        def decorate(function: Callable[P, R]) -> Callable[P, R]:
            built: list[tuple[IdempotencyConfig, Callable[P, R]]] = []

            @functools.wraps(function)
            def call(*args: P.args, **kwargs: P.kwargs) -> R:
                if not built:
                    from aws_lambda_powertools.utilities.idempotency import idempotent_function

                    config = self.idempotency(business_key_jmespath)
                    wrapped: Callable[P, R] = idempotent_function(
                        function,
                        data_keyword_argument="raw",
                        config=config,
                        persistence_store=self.idempotency_store,
                    )
                    built.append((config, wrapped))
                config, wrapped = built[0]
                if self._context is not None:
                    config.register_lambda_context(self._context)
                return wrapped(*args, **kwargs)

            return call

        return decorate

    def register_lambda_context(self, context: LambdaContext) -> None:
        """The invocation's context: idempotency bounds an in-progress record by its remaining time."""
        self._context = context

    def parse_or_reject[T: ControlPlaneEvent](self, raw: object, *expected: type[T]) -> T | None:
        """The event as one of ``expected``, or None after rejecting it with the reason."""
        event = self._parse_or_reject(raw, [_detail_type(model) for model in expected])
        # One model per detail-type: an event that passed the detail-type check is one of them.
        if event is not None and not isinstance(event, expected):  # pragma: no cover
            raise TypeError(f"{type(event).__name__} is not one of the expected models")
        return event

    def parse_any_or_reject(self, raw: object, detail_types: Collection[str]) -> ControlPlaneEvent | None:
        """The event if its detail-type is one of ``detail_types`` (``mlcp.events.detail_types``), or
        None after rejecting it with the reason. Only the model of the event's own detail-type loads:
        a function that takes many kinds of event does not import every model at init."""
        return self._parse_or_reject(raw, sorted(detail_types))

    def _parse_or_reject(self, raw: object, wanted: Sequence[str]) -> ControlPlaneEvent | None:
        from mlcp.events import parse_event  # the event models load with the first event: tasks have none

        try:
            if not isinstance(raw, Mapping | str | bytes):
                raise InvalidEvent(f"event must be a JSON object, got {type(raw).__name__}")
            event = parse_event(raw)
            if event.detail_type not in wanted:
                names = " or ".join(repr(detail_type) for detail_type in wanted)
                raise InvalidEvent(f"{self.function} takes {names}, not {event.detail_type!r}")
            acting_account(
                event.account,
                detail=event.detail.model_dump(mode="json", by_alias=True),
                resources=event.resources,
                scope=self.account_scope,
            )
        except InvalidEvent as exc:
            self.reject(raw, exc.reason)
            return None
        return event

    def parse_schedule_or_reject(self, raw: object) -> ScheduledEvent | None:
        """The tick of a schedule rule, or None after rejecting ``raw`` with the reason."""
        from pydantic import ValidationError

        from mlcp.events import validation_reason
        from mlcp.events.schedule import ScheduledEvent

        try:
            return ScheduledEvent.model_validate(raw)
        except ValidationError as exc:
            self.reject(raw, validation_reason(exc))
            return None

    def reject(self, raw: object, reason: str) -> str:
        """Reject ``raw`` with ``reason`` (log, count, park, audit); returns its digest."""
        return reject_event(raw, reason, rejected_by=self.function, audit=self.audit, parking=self.parking)


def _detail_type(model: type[Any]) -> str:
    field = model.model_fields["detail_type"]
    return str(field.annotation.__args__[0]) if hasattr(field.annotation, "__args__") else model.__name__


def _client(service: str) -> Any:
    """The execution environment's client of ``service`` (``mlcp.adapters.clients``)."""
    return getattr(clients, service)()


def approval_record_deps(
    audit: AuditTrail,
    config: GovernanceConfig | None = None,
    *,
    client: Callable[[str], Any] = _client,
) -> ApprovalRecordDeps:
    """The adapters of the functions that only ask, answer or reject (request-human-approval,
    reject-package, console-decision, the operator's ``mlcp approve|reject``): the registry, the
    state table, the trail, Step Functions and the approvers' topic; no gates, no policy."""
    from mlcp.adapters.notify import ApproverNotifier
    from mlcp.adapters.registry import SageMakerModelRegistry
    from mlcp.adapters.state import ControlPlaneState
    from mlcp.adapters.task_callbacks import StepFunctionsTasks
    from mlcp.usecases.approval_records import ApprovalRecordDeps

    settings = config or GovernanceConfig.from_env()
    notifier = (
        ApproverNotifier(settings.approvals_topic_arn, client("sns"))
        if settings.approvals_topic_arn
        else None
    )
    return ApprovalRecordDeps(
        registry=SageMakerModelRegistry(client("sagemaker")),
        state=ControlPlaneState(settings.state_table, client("dynamodb")),
        audit=audit,
        callbacks=StepFunctionsTasks(client("stepfunctions")),
        notifier=notifier,
        decision_state_machine_arn=settings.decision_state_machine_arn,
    )


def governance_deps(
    audit: AuditTrail,
    config: GovernanceConfig | None = None,
    *,
    client: Callable[[str], Any] = _client,
    policies: PolicySource | None = None,
) -> ApprovalDeps:
    """The adapters of the governance use cases that decide with the gates and the policy
    (model-package-status, verify-approval, deploy-model's re-check): the approval records' adapters
    plus the policy, the evidence and the report store."""
    from mlcp.adapters.evidence import S3Evidence
    from mlcp.adapters.policy_appconfig import policy_source_from_env
    from mlcp.adapters.reports import ReportWriter
    from mlcp.usecases.approval import ApprovalDeps
    from mlcp.usecases.gating import GatingDeps

    settings = config or GovernanceConfig.from_env()
    records = approval_record_deps(audit, settings, client=client)
    if policies is None:
        policies = policy_source_from_env(settings.policy_environment())
    gating = GatingDeps(
        registry=records.registry,
        policies=policies,
        reports=ReportWriter(settings.reports_bucket or "", client("s3")),
        audit=audit,
        evidence=S3Evidence(client("s3"), client("sagemaker")),
    )
    return ApprovalDeps(
        gating=gating,
        state=records.state,
        callbacks=records.callbacks,
        notifier=records.notifier,
        decision_state_machine_arn=records.decision_state_machine_arn,
    )


def deployment_deps(audit: AuditTrail, *, opens_incidents: bool) -> DeploymentDeps:
    """The adapters of the deployment tasks, from the function's environment. ``opens_incidents``:
    the incident use case's adapters too (only finishing a deployment opens an incident; the lease,
    the waits and the start never do, and their functions do not load the incident modules)."""
    from mlcp.adapters.endpoints import SageMakerHosting
    from mlcp.adapters.metrics import CloudWatchMetrics
    from mlcp.adapters.state import ControlPlaneState
    from mlcp.adapters.task_callbacks import StepFunctionsTasks
    from mlcp.config import DeploymentEnvConfig
    from mlcp.usecases.deployment import DeploymentDeps

    settings = DeploymentEnvConfig.from_env()
    open_incident = None
    if opens_incidents:
        from mlcp.usecases.incidents import incident_opener

        open_incident = incident_opener(incident_deps(audit))
    return DeploymentDeps(
        hosting=SageMakerHosting(owner=audit.table_name),
        state=ControlPlaneState(settings.state_table),
        audit=audit,
        model_role_arn=settings.model_role_arn,
        open_incident=open_incident,
        verdict_alarms=CloudWatchMetrics(),
        callbacks=StepFunctionsTasks(),
    )


def console_decision_deps(audit: AuditTrail, state_machine_arn: str) -> ConsoleDecisionDeps:
    """The adapters of the console decision tasks (``state_machine_arn``: the approval-decision
    state machine whose executions are decisions; empty for the wait, which checks no event)."""
    from mlcp.adapters.task_callbacks import StepFunctionsTasks
    from mlcp.usecases.console_decision import ConsoleDecisionDeps

    tasks = StepFunctionsTasks()
    return ConsoleDecisionDeps(
        approvals=approval_record_deps(audit),
        executions=tasks,
        callbacks=tasks,
        state_machine_arn=state_machine_arn,
    )


def decision_wait_deps(config: GovernanceConfig | None = None) -> DecisionWaitDeps:
    """The adapters of the approval decision's wait task: the state table and Step Functions only."""
    from mlcp.adapters.state import ControlPlaneState
    from mlcp.adapters.task_callbacks import StepFunctionsTasks
    from mlcp.usecases.decision_wait import DecisionWaitDeps

    settings = config or GovernanceConfig.from_env()
    return DecisionWaitDeps(
        state=ControlPlaneState(settings.state_table, _client("dynamodb")), callbacks=StepFunctionsTasks()
    )


def steer_deps(runtime: Runtime) -> SteerDeps:
    """The adapters of ``mlcp promote`` / ``mlcp abort`` of a bake (ADR 24), from the environment."""
    from mlcp import clock
    from mlcp.adapters.endpoints import SageMakerHosting
    from mlcp.adapters.policy_appconfig import policy_source_from_env
    from mlcp.adapters.state import ControlPlaneState
    from mlcp.adapters.task_callbacks import StepFunctionsTasks
    from mlcp.usecases.steer_bake import SteerDeps

    return SteerDeps(
        bakes=ControlPlaneState(GovernanceConfig.from_env().state_table),
        hosting=SageMakerHosting(owner=runtime.config.audit_table),
        policies=policy_source_from_env(),
        audit=runtime.audit,
        callbacks=StepFunctionsTasks(),
        clock=clock.now,
        home_account=CoreConfig.from_env().home_account,
    )


class DeploymentsByAccount:
    """The deployment tasks' adapters for the account a deployment is in (ADR 26): home -> the
    function's own clients; a member -> SageMaker through the member's assumed deployment role, the
    member's model role, its lease and audit stream keyed with the account. Built once per account
    and execution environment (one AssumeRole per account, kept by ``AccountClients``).
    ``opens_incidents``: the function finishes deployments (``deployment_deps``)."""

    def __init__(self, runtime: Runtime, *, opens_incidents: bool) -> None:
        self._runtime = runtime
        self._home = deployment_deps(runtime.audit, opens_incidents=opens_incidents)
        self._by_account: dict[str, DeploymentDeps] = {}
        self._clients: AccountClients | None = None

    def _member(self, account: object) -> str | None:
        scope = self._runtime.account_scope
        if not account or scope is None or account == scope.home:
            return None
        return str(account)

    def keyed(self, account: object = None) -> DeploymentDeps:
        """The function's own clients with ``account``'s lease key and audit stream: for the tasks
        that act only on the control plane's table and trail (lease, finish)."""
        import dataclasses

        name = self._member(account)
        scope = self._runtime.account_scope
        if name is None or scope is None:
            return self._home
        if not scope.governs(name):
            from mlcp.adapters.accounts import AccountNotGoverned

            raise AccountNotGoverned(f"account {name} is not a member of this control plane")
        return dataclasses.replace(self._home, account=name, home_account=scope.home)

    def __call__(self, account: object = None) -> DeploymentDeps:
        """The deps acting in ``account`` (a payload's ``account``; None or empty: home)."""
        import dataclasses

        from mlcp.adapters.endpoints import SageMakerHosting
        from mlcp.config import DeploymentEnvConfig

        name = self._member(account)
        scope = self._runtime.account_scope
        if name is None or scope is None:
            return self._home
        deps = self._by_account.get(name)
        if deps is None:
            settings = DeploymentEnvConfig.from_env()
            if self._clients is None:
                from mlcp.adapters.accounts import AccountClients

                self._clients = AccountClients(
                    scope,
                    role_name=settings.member_role_name,
                    external_id=settings.member_external_id,
                    function=self._runtime.function,
                )
            partition = self._home.model_role_arn.split(":")[1]
            from mlcp.adapters.registry import SageMakerModelRegistry

            registry, role, home = SageMakerModelRegistry(), self._clients.role_arn(name), scope.home

            def share(package: dict[str, Any]) -> object:
                # Only this account's registry is ours to share; a member's own package needs none.
                if str(package["arn"]).split(":")[4] != home:
                    return False
                return registry.share_group(str(package["group"]), str(package["arn"]), role)

            deps = dataclasses.replace(
                self._home,
                hosting=SageMakerHosting(self._clients.sagemaker(name), owner=self._runtime.audit.table_name),
                model_role_arn=f"arn:{partition}:iam::{name}:role/{settings.member_model_role_name}",
                # The verdict alarm is the governance account's metric: not created in a member.
                verdict_alarms=None,
                account=name,
                home_account=scope.home,
                share_package=share,
            )
            self._by_account[name] = deps
        return deps


def open_incidents_counter(config: GovernanceConfig | None = None) -> Callable[[str], int]:
    """Counts the incidents open now on a resource (``endpoint/<account>:<name>``): a promotion's
    prerequisite (ADR 27). Reads the incident store at each call: it is re-checked at the moment
    of effect. A read of the store only: the incident use case and OpsCenter are not loaded."""
    from mlcp.adapters.incident_store import IncidentStore

    store = IncidentStore((config or GovernanceConfig.from_env()).state_table, clients.dynamodb())

    def count(resource: str) -> int:
        return sum(1 for incident in store.list_incidents("open") if incident.resource == resource)

    return count


def refuse_member_account(scope: AccountScope | None, account: object, what: str) -> None:
    """Raise ``DeploymentNotSupported`` when a task that acts only at home is asked to act in a member
    (the shadow test, the canary analysis and managed traffic shifting do not reach members yet):
    never act on the home endpoint of the same name instead."""
    from mlcp.errors import DeploymentNotSupported

    if account and scope is not None and account != scope.home:
        raise DeploymentNotSupported(f"{what} is not supported in member account {account} yet (ADR 27)")


def shadow_deps(audit: AuditTrail) -> ShadowDeps:
    """The adapters of the shadow phase's task (ADR 25), from the function's environment."""
    from mlcp.adapters.endpoints import SageMakerHosting
    from mlcp.adapters.registry import SageMakerModelRegistry
    from mlcp.config import ShadowEnvConfig
    from mlcp.usecases.shadow import ShadowDeps

    return ShadowDeps(
        hosting=SageMakerHosting(owner=audit.table_name),
        registry=SageMakerModelRegistry(),
        audit=audit,
        model_role_arn=ShadowEnvConfig.from_env().model_role_arn,
    )


def analysis_deps(audit: AuditTrail) -> AnalysisDeps:
    """The adapters of the canary analysis task, from the function's environment."""
    from mlcp.adapters.endpoints import SageMakerHosting
    from mlcp.adapters.metrics import CloudWatchMetrics
    from mlcp.adapters.reports import ReportWriter
    from mlcp.usecases.canary_analysis import AnalysisDeps

    return AnalysisDeps(
        metrics=CloudWatchMetrics(),
        reports=ReportWriter(GovernanceConfig.from_env().reports_bucket or ""),
        audit=audit,
        hosting=SageMakerHosting(owner=audit.table_name),
    )


def incident_deps(audit: AuditTrail) -> IncidentDeps:
    """The adapters of the incident use cases, from the function's environment."""
    from mlcp.adapters.notify import ApproverNotifier
    from mlcp.adapters.opscenter import OpsCenter
    from mlcp.usecases.incidents import IncidentDeps

    settings = GovernanceConfig.from_env()
    topic = settings.incidents_topic_arn
    return IncidentDeps(
        ops=OpsCenter(),
        table_name=settings.state_table,
        dynamodb=clients.dynamodb(),
        audit=audit,
        notifier=ApproverNotifier(topic) if topic else None,
    )


def member_pipeline_starters(function: str) -> Callable[[str], PipelineStarter] | None:
    """``account -> PipelineStarter`` acting in a member account through its deployment role (ADR 37):
    one AssumeRole per (account, execution environment), kept by ``AccountClients``. None when the
    stack lists no member."""
    from mlcp.config import MemberAccessConfig

    core = CoreConfig.from_env()
    if not core.home_account or not core.member_accounts:
        return None
    scope = AccountScope.parse(core.home_account, core.member_accounts)
    access = MemberAccessConfig.from_env()
    built: dict[str, PipelineStarter] = {}
    account_clients: list[AccountClients] = []

    def starter(account: str) -> PipelineStarter:
        from mlcp.adapters.pipelines import SageMakerPipelines

        found = built.get(account)
        if found is None:
            if not account_clients:
                from mlcp.adapters.accounts import AccountClients

                account_clients.append(
                    AccountClients(
                        scope,
                        role_name=access.member_role_name,
                        external_id=access.member_external_id,
                        function=function,
                    )
                )
            found = SageMakerPipelines(account_clients[0].sagemaker(account))
            built[account] = found
        return found

    return starter


def reaction_deps(audit: AuditTrail, function: str = "reactions") -> ReactionDeps:
    """The adapters of the monitoring reactions (incidents, retraining), from the environment;
    ``function`` names the member role's session (``mlcp-<function>``)."""
    from mlcp.adapters.debounce import StepFunctionsDebounce
    from mlcp.adapters.monitoring_runs import SageMakerMonitoringRuns
    from mlcp.adapters.pipelines import SageMakerPipelines
    from mlcp.adapters.policy_appconfig import policy_source_from_env
    from mlcp.adapters.retraining_state import RetrainingState
    from mlcp.usecases.retraining_reactions import ReactionDeps

    settings = GovernanceConfig.from_env()
    state_table = settings.state_table
    debounce_arn = settings.debounce_state_machine_arn

    return ReactionDeps(
        policies=policy_source_from_env(settings.policy_environment()),
        incidents=functools.partial(incident_deps, audit),  # built with the first incident
        retraining=RetrainingState(state_table, clients.dynamodb()),
        audit=audit,
        pipelines=SageMakerPipelines(clients.sagemaker()),
        monitoring_runs=SageMakerMonitoringRuns(clients.sagemaker(), clients.s3()),
        schedule_recheck=StepFunctionsDebounce(debounce_arn, clients.stepfunctions()),
        home_account=CoreConfig.from_env().home_account,
        member_pipelines=member_pipeline_starters(function),
    )
