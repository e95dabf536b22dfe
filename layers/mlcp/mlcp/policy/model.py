"""The policy as code: which risk tier, gates, approval rules, deployment and monitoring settings
apply to which model package groups. Pure pydantic models; loading and publishing live in ``mlcp.policy.load``.

A policy document (YAML in the repo, JSON in the deployed stack's SSM parameter)::

    version: 1
    tiers:
      low:    {auto_approve: true,  human_approval: false, gates: {...}, deployment: {...}}
      high:   {auto_approve: false, human_approval: true,  approval_timeout_hours: 48, gates: {...},
               monitoring: {incidents: [...], retraining: {pipeline: fraud-train, ...}}}
    groups:
      - match: "fraud-*"          # fnmatch glob on the model package group name; first match wins
        tier: high
        endpoint: fraud-prod      # the production endpoint (the champion lives there)
    change_freezes:
      - {start: 2026-12-20T00:00:00Z, end: 2027-01-04T00:00:00Z, reason: year-end freeze}
"""

import fnmatch
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from mlcp.errors import ConfigurationError, PolicyError

_STRICT = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use: cold start
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


class GateSettings(BaseModel):
    """Common to every gate: on or off, and whether a failure rejects (hard) or asks a human (soft)."""

    model_config = _STRICT

    enabled: bool = True
    hard: bool = True


class MetricThreshold(BaseModel):
    """A bound on one value of the evaluation report, by its dotted path in SageMaker's format."""

    model_config = _STRICT

    metric: str = Field(min_length=1, description="e.g. binary_classification_metrics.auc.value")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError(f"threshold on {self.metric!r} needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"threshold on {self.metric!r}: min {self.min} > max {self.max}")
        return self


class MetricsGate(GateSettings):
    thresholds: list[MetricThreshold] = Field(default_factory=list)


class RegressionGate(GateSettings):
    """The candidate may not be worse than the champion by more than ``tolerance`` on ``metric``."""

    metric: str = Field(min_length=1)
    higher_is_better: bool = True
    tolerance: float = Field(default=0.0, ge=0)


class BiasGate(GateSettings):
    required: bool = True
    bounds: list[MetricThreshold] = Field(default_factory=list, description="e.g. DPL, CI, DI by name")


class ExplainabilityGate(GateSettings):
    required: bool = True


class ArtifactIntegrityGate(GateSettings):
    require_image_digest: bool = True
    require_artifact_sha256: bool = True
    allowed_registries: list[str] = Field(
        default_factory=list,
        description="globs on the registry host, e.g. '*.dkr.ecr.us-east-1.amazonaws.com'",
    )
    allowed_buckets: list[str] = Field(
        default_factory=list, description="globs on bucket names (artifacts and data)"
    )


class LineageGate(GateSettings):
    require_pipeline_execution: bool = True
    require_training_data_versions: bool = True


class RequiredMetadataGate(GateSettings):
    keys: list[str] = Field(default_factory=lambda: ["owner", "risk_tier", "cost_center"])


class CostAllocationTagsGate(GateSettings):
    """Tags AWS Billing can allocate cost by: each key must be a non-blank *tag* of the package (or its
    group); customer metadata does not count, since Cost Explorer never sees it. Off unless a tier
    turns it on (the keys must also be activated as cost allocation tags in the Billing console)."""

    enabled: bool = False
    keys: list[str] = Field(
        default_factory=lambda: ["owner", "cost-center"], min_length=1, description="required tag keys"
    )

    @field_validator("keys")
    @classmethod
    def _tag_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not _TAG_KEY.match(key) or key.startswith("aws:"):
                raise ValueError(
                    f"{key!r} is not a user tag key (1..128 of letters, digits, space, _.:/=+-@)"
                )
        return keys


class ChangeFreezeGate(GateSettings):
    pass


class SeparationOfDutiesGate(GateSettings):
    pass


class Gates(BaseModel):
    """Every gate of a tier. A gate left out keeps its defaults; ``enabled: false`` turns it off."""

    model_config = _STRICT

    metrics: MetricsGate = Field(default_factory=MetricsGate)
    regression: RegressionGate | None = None
    bias: BiasGate = Field(default_factory=lambda: BiasGate(enabled=False))
    explainability: ExplainabilityGate = Field(default_factory=lambda: ExplainabilityGate(enabled=False))
    artifact_integrity: ArtifactIntegrityGate = Field(default_factory=ArtifactIntegrityGate)
    lineage: LineageGate = Field(default_factory=LineageGate)
    required_metadata: RequiredMetadataGate = Field(default_factory=RequiredMetadataGate)
    cost_allocation_tags: CostAllocationTagsGate = Field(default_factory=CostAllocationTagsGate)
    change_freeze: ChangeFreezeGate = Field(default_factory=ChangeFreezeGate)
    separation_of_duties: SeparationOfDutiesGate = Field(default_factory=SeparationOfDutiesGate)


_METRIC_NAME = re.compile(r"^[^:]{1,255}$")
_NAMESPACE = re.compile(r"^[0-9A-Za-z.\-_/#:]{1,255}$")


class AnalysisMetric(BaseModel):
    """One metric the canary analysis compares, candidate vs baseline (``mlcp.analysis``).

    Read per variant from CloudWatch (dimensions EndpointName and VariantName, plus
    EndpointConfigName for a guardrails canary's new fleet): SageMaker's ModelLatency,
    OverheadLatency, Invocation4XXErrors, Invocation5XXErrors ... or a team's own metric published
    with the same dimensions (prediction mean, a drift score from data capture)."""

    model_config = _STRICT

    metric: str = Field(min_length=1, description="CloudWatch metric name, e.g. ModelLatency")
    namespace: str = Field(default="AWS/SageMaker", description="a team's own metrics: their namespace")
    statistic: Literal["Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p90", "p99"] = "Average"
    direction: Literal["increase", "decrease", "either"] = Field(
        default="increase", description="which change is a regression"
    )
    allowed_increase: float = Field(
        default=1.1, ge=1.0, le=100.0, description="candidate/baseline mean ratio allowed before 'high'"
    )
    allowed_decrease: float = Field(
        default=0.9, gt=0.0, le=1.0, description="candidate/baseline mean ratio allowed before 'low'"
    )
    min_samples: int = Field(default=10, ge=3, le=1440, description="one-minute samples needed on each side")
    critical: bool = Field(default=False, description="a regression here fails the analysis outright")
    weight: float = Field(default=1.0, gt=0.0, le=100.0)

    @field_validator("metric")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        if not _METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a CloudWatch metric name")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(f"{value!r} is not a CloudWatch namespace")
        return value


class CanaryAnalysis(BaseModel):
    """Judge the candidate by comparing it with the baseline it replaces (Kayenta's judge, ADR 23):
    per metric a Mann-Whitney test, a score 0..100, a verdict pass | marginal | fail."""

    model_config = _STRICT

    metrics: list[AnalysisMetric] = Field(min_length=1, max_length=20)
    pass_score: float = Field(default=95.0, ge=0.0, le=100.0)
    marginal_score: float = Field(default=75.0, ge=0.0, le=100.0)
    on_marginal: Literal["pass", "fail"] = Field(
        default="fail",
        description="what a marginal verdict does where the control plane decides (a shift step, the "
        "end of a shadow): fail rolls back / rejects, pass goes on",
    )

    @model_validator(mode="after")
    def _scores(self) -> Self:
        if self.marginal_score > self.pass_score:
            raise ValueError(f"marginal_score {self.marginal_score} > pass_score {self.pass_score}")
        names = [(m.namespace, m.metric, m.statistic) for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError("analysis metrics: the same namespace/metric/statistic twice")
        return self


SHADOW_MAX_MINUTES = 30 * 24 * 60
"""SageMaker's longest shadow test: 30 days (Developer Guide, *Create a shadow test*)."""


class ShadowTest(BaseModel):
    """Before the canary, the candidate runs as a shadow of production on the same endpoint (a
    ``ShadowProductionVariants`` entry of the endpoint config, ADR 25): it receives a sampled copy
    of live traffic, answers nobody, and is judged like a canary (Kayenta's judge, ADR 23) over the
    same window. Pass: the canary as today; fail: the package is rejected, production untouched."""

    model_config = _STRICT

    duration_minutes: int = Field(
        ge=5, le=SHADOW_MAX_MINUTES, description="how long the shadow receives traffic"
    )
    sample_percent: int = Field(
        default=100, ge=1, le=100, description="share of production requests copied to the shadow"
    )
    metrics: list[AnalysisMetric] = Field(min_length=1, max_length=20)
    pass_score: float = Field(default=95.0, ge=0.0, le=100.0)
    marginal_score: float = Field(default=75.0, ge=0.0, le=100.0)
    on_marginal: Literal["pass", "fail"] = Field(
        default="fail", description="what a marginal verdict at the end of the shadow does"
    )
    unsupported: Literal["refuse", "skip"] = Field(
        default="refuse",
        description="an endpoint SageMaker cannot shadow (serverless, more than one production variant): "
        "refuse the deployment, or skip the shadow (audited) and go on to the canary",
    )

    @model_validator(mode="after")
    def _judge(self) -> Self:
        self.analysis()  # the same rules as a canary analysis (scores, distinct metrics)
        return self

    def analysis(self) -> CanaryAnalysis:
        """The judge's settings for the end of the shadow."""
        return CanaryAnalysis(
            metrics=self.metrics,
            pass_score=self.pass_score,
            marginal_score=self.marginal_score,
            on_marginal=self.on_marginal,
        )


class DeploymentSettings(BaseModel):
    """How an approved package reaches its endpoint (used by the deployment workflow)."""

    model_config = _STRICT

    strategy: Literal["canary", "linear", "all_at_once"] = "canary"
    canary_percent: int = Field(default=10, ge=1, le=50)
    linear_step_percent: int = Field(default=25, ge=5, le=50)
    wait_interval_seconds: int = Field(default=300, ge=0, le=3600)
    termination_wait_seconds: int = Field(default=300, ge=0, le=3600)
    maximum_execution_timeout_seconds: int = Field(default=3600, ge=600, le=14400)
    alarms: list[str] = Field(
        default_factory=list, description="CloudWatch alarms that roll the deployment back"
    )
    # None, not False: the deployed policy leaves nulls out, and it must fit in one SSM parameter.
    early_promotion: bool | None = Field(
        default=None,
        description="whether an operator may end a bake early (mlcp promote); off (none) unless a tier turns it on",
    )

    analysis: CanaryAnalysis | None = Field(
        default=None,
        description="canary analysis during the bake: a statistical regression rolls back too",
    )

    shadow: ShadowTest | None = Field(
        default=None,
        description="a shadow phase before the canary: the candidate is judged on a copy of live traffic first",
    )

    @model_validator(mode="after")
    def _rollback_alarms(self) -> Self:
        # AutoRollbackConfiguration takes at most 10 alarms; the analysis adds its verdict alarm.
        limit = 9 if self.analysis is not None else 10
        if len(self.alarms) > limit:
            raise ValueError(
                f"alarms: at most {limit} (SageMaker's AutoRollbackConfiguration takes 10"
                f"{', one is the analysis verdict alarm' if self.analysis else ''})"
            )
        return self


# ------------------------------------------------------------------------------------ monitoring

IncidentSource = Literal["violation", "alarm", "failure", "rollback"]
"""What an incident rule reacts to: a monitoring violation, a CloudWatch alarm, a failed resource
(endpoint, training job, pipeline execution, deployment) or a rolled-back deployment."""

FailureKind = Literal["endpoint", "training", "pipeline", "deployment"]
FAILURE_KINDS: tuple[FailureKind, ...] = ("endpoint", "training", "pipeline", "deployment")

MonitoringKind = Literal["data_quality", "model_quality", "bias_drift", "feature_attribution_drift"]
MONITORING_KINDS: tuple[MonitoringKind, ...] = (
    "data_quality",
    "model_quality",
    "bias_drift",
    "feature_attribution_drift",
)

RESERVED_PIPELINE_PARAMETERS = ("TrainingDataUris", "TriggerReason", "TriggerEventId")
"""Pipeline parameters the control plane sets itself on every retraining it starts."""

_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_PARAMETER_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")
_S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")


class IncidentRule(BaseModel):
    """When a violation, alarm, failure or rollback opens an incident, and how severe it is.

    ``match`` is an fnmatch glob on: the violation's kind *or* its check type (``data_quality``,
    ``baseline_drift_check``), the alarm name, the failure kind (``endpoint``, ``training``,
    ``pipeline``, ``deployment``) or, for rollbacks, the endpoint name. The first rule of the tier
    whose ``on`` and ``match`` fit decides; no rule: no incident.
    """

    model_config = _STRICT

    on: IncidentSource
    match: str = Field(default="*", min_length=1)
    min_violating_features: int = Field(
        default=1, ge=1, le=10_000, description="violations only: distinct features failing in one run"
    )
    consecutive_runs: int = Field(
        default=1, ge=1, le=100, description="violations only: bad monitoring runs in a row"
    )
    severity: int = Field(default=3, ge=1, le=4, description="OpsItem severity, 1 (critical) .. 4 (low)")
    auto_resolve: bool = Field(
        default=True,
        description="alarm back to OK / a clean monitoring run / the resource healthy again resolves it",
    )
    runbook_url: str | None = Field(default=None, max_length=2048)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_key(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads an unquoted `on:` key as the boolean True.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = dict(data)
            data["on"] = data.pop(True)
        return data

    @field_validator("runbook_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("runbook_url must be an http(s) URL")
        return value

    @model_validator(mode="after")
    def _violation_settings(self) -> Self:
        if self.on != "violation" and (self.min_violating_features != 1 or self.consecutive_runs != 1):
            raise ValueError(
                f"min_violating_features and consecutive_runs apply to on: violation only (got on: {self.on})"
            )
        if self.on == "failure" and not any(fnmatch.fnmatchcase(k, self.match) for k in FAILURE_KINDS):
            raise ValueError(f"match {self.match!r} fits no failure kind ({', '.join(FAILURE_KINDS)})")
        return self

    def matches(self, source: str, *names: str | None) -> bool:
        """Whether this rule is for ``source`` and its glob matches any of ``names``."""
        return self.on == source and any(
            name is not None and fnmatch.fnmatchcase(name, self.match) for name in names
        )


def _default_incidents() -> list[IncidentRule]:
    return [
        IncidentRule(on="alarm", severity=3),
        IncidentRule(on="failure", severity=3),
        IncidentRule(on="violation", severity=3),
    ]


class DataTrigger(BaseModel):
    """Retrain when enough new training data arrived and then none for a quiet period (debounce)."""

    model_config = _STRICT

    prefixes: list[str] = Field(min_length=1, description="s3://bucket/prefix the pipeline trains on")
    min_objects: int = Field(default=1, ge=1, le=1_000_000)
    min_bytes: int = Field(default=0, ge=0)
    quiet_period_seconds: int = Field(default=900, ge=0, le=7 * 86400)

    @field_validator("prefixes")
    @classmethod
    def _s3_uris(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            if not _S3_PREFIX.match(prefix):
                raise ValueError(f"prefix {prefix!r} is not an s3://bucket/prefix URI")
        return prefixes

    def covers(self, s3_uri: str) -> bool:
        """Whether the object ``s3://bucket/key`` lies under one of the prefixes."""
        return any(s3_uri.startswith(prefix) for prefix in self.prefixes)


class RetrainingPolicy(BaseModel):
    """What starts the tier's retraining pipeline, and the guards around it."""

    model_config = _STRICT

    pipeline: str = Field(description="SageMaker pipeline name")
    on_violations: list[MonitoringKind] = Field(
        default_factory=list, description="monitoring kinds whose violations retrain"
    )
    min_violating_features: int = Field(default=1, ge=1, le=10_000)
    consecutive_runs: int = Field(default=1, ge=1, le=100)
    on_alarms: list[str] = Field(default_factory=list, description="globs on CloudWatch alarm names")
    data: DataTrigger | None = None
    every_hours: int | None = Field(
        default=None, ge=1, le=24 * 90, description="scheduled retraining: at most once per this many hours"
    )
    cooldown_hours: float = Field(default=24.0, ge=0, le=24 * 30)
    max_per_day: int = Field(default=1, ge=1, le=100)
    lease_hours: int = Field(
        default=12, ge=1, le=24 * 7, description="an in-flight run blocks others at most this long"
    )
    parameters: dict[str, str] = Field(default_factory=dict, description="static pipeline parameters")

    @field_validator("pipeline")
    @classmethod
    def _pipeline_name(cls, value: str) -> str:
        if not _PIPELINE_NAME.match(value):
            raise ValueError(f"{value!r} is not a SageMaker pipeline name")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, parameters: dict[str, str]) -> dict[str, str]:
        for name, value in parameters.items():
            if not _PARAMETER_NAME.match(name):
                raise ValueError(f"parameter name {name!r}: letters, digits, - and _ only (1..256)")
            if name in RESERVED_PIPELINE_PARAMETERS:
                raise ValueError(f"parameter {name!r} is set by the control plane")
            if len(value) > 1024:
                raise ValueError(f"parameter {name!r}: a value holds at most 1024 characters")
        return parameters

    def triggers_on_alarm(self, alarm_name: str) -> bool:
        return any(fnmatch.fnmatchcase(alarm_name, glob) for glob in self.on_alarms)


class MonitoringPolicy(BaseModel):
    """How the control plane reacts to what happens to a tier's models in production."""

    model_config = _STRICT

    incidents: list[IncidentRule] = Field(default_factory=_default_incidents)
    retraining: RetrainingPolicy | None = None

    def incident_rule(self, source: str, *names: str | None) -> IncidentRule | None:
        """The first incident rule for ``source`` whose glob matches one of ``names``."""
        return next((rule for rule in self.incidents if rule.matches(source, *names)), None)


_APPROVER = re.compile(r"^arn:[a-z-]+:iam::\d{12}:(user|role)/[\w+=,.@/-]+$")


class Tier(BaseModel):
    model_config = _STRICT

    description: str = ""
    auto_approve: bool = False
    human_approval: bool = True
    approval_timeout_hours: int = Field(default=72, ge=1, le=24 * 30)
    # None, not []: the deployed policy leaves nulls out, and it must fit in one SSM parameter.
    approvers: list[str] | None = Field(
        default=None,
        description="IAM user or role ARNs who may answer this tier's named approvals (a role: any of "
        "its sessions); none: anyone but the package's creator",
    )
    gates: Gates = Field(default_factory=Gates)
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)
    monitoring: MonitoringPolicy = Field(default_factory=MonitoringPolicy)
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="retire (delete) the tier's models and endpoint configs no longer serving after this "
        "many days; None keeps them",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.auto_approve and self.human_approval:
            raise ValueError("auto_approve and human_approval cannot both be true")
        for approver in self.approvers or []:
            if not _APPROVER.match(approver):
                raise ValueError(f"approvers: {approver!r} is not an IAM user or role ARN")
        return self


class PromotionStage(BaseModel):
    """One stage of a group's promotion path (ADR 27): where the model runs and under which tier."""

    model_config = _STRICT

    stage: str = Field(
        min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9-]*$", description="e.g. staging, prod"
    )
    account: str = Field(pattern=r"^[0-9]{12}$", description="the member account the stage deploys to")
    endpoint: str = Field(min_length=1, max_length=63)
    tier: str = Field(min_length=1, description="the tier whose gates, approvals and deployment apply")
    soak_minutes: int = Field(
        default=0,
        ge=0,
        le=30 * 24 * 60,
        description="how long a promoted deployment must run here, without rollback or open incident, "
        "before the next stage may deploy it",
    )
    pipeline: str | None = Field(
        default=None,
        description="the retraining pipeline in this stage's account (its own SageMaker pipeline, started "
        "through the member's role under the stage tier's retraining rules); none: retraining is refused "
        "here (ADR 37)",
    )

    @field_validator("pipeline")
    @classmethod
    def _pipeline_name(cls, value: str | None) -> str | None:
        if value is not None and not _PIPELINE_NAME.match(value):
            raise ValueError(f"{value!r} is not a SageMaker pipeline name")
        return value


class GroupRule(BaseModel):
    model_config = _STRICT

    match: str = Field(min_length=1, description="fnmatch glob on the model package group name")
    tier: str = Field(min_length=1)
    endpoint: str | None = Field(default=None, description="production endpoint of the group")
    owners: list[str] = Field(default_factory=list, description="who is notified about this group")
    promotion: list[PromotionStage] = Field(
        default_factory=list,
        max_length=10,
        description="stages across accounts, in order (multi-account; empty: the group deploys to endpoint)",
    )

    @model_validator(mode="after")
    def _distinct_stages(self) -> Self:
        names = [stage.stage for stage in self.promotion]
        if len(set(names)) != len(names):
            raise ValueError(f"promotion: stage names repeat ({', '.join(names)})")
        places = [(stage.account, stage.endpoint) for stage in self.promotion]
        if len(set(places)) != len(places):
            raise ValueError("promotion: two stages deploy to the same endpoint of the same account")
        return self

    def stage(self, name: str) -> PromotionStage | None:
        """The promotion stage called ``name``."""
        return next((stage for stage in self.promotion if stage.stage == name), None)

    def previous_stage(self, name: str) -> PromotionStage | None:
        """The stage before ``name`` on the path (None for the first stage or an unknown name)."""
        names = [stage.stage for stage in self.promotion]
        index = names.index(name) if name in names else 0
        return self.promotion[index - 1] if index > 0 else None


class ChangeFreeze(BaseModel):
    model_config = _STRICT

    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("freeze window times need a timezone (e.g. 2026-12-20T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("freeze window ends before it starts")
        return self

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class AuditRetention(BaseModel):
    """How long the audit digests and exports stay locked (S3 Object Lock, compliance mode)."""

    model_config = _STRICT

    retention_days: int = Field(
        default=186,
        ge=183,
        le=36500,
        description="days each digest and export is locked; at least six months (EU AI Act Art. 19)",
    )


class Policy(BaseModel):
    model_config = _STRICT

    version: Literal[1] = 1
    tiers: dict[str, Tier] = Field(min_length=1)
    groups: list[GroupRule] = Field(min_length=1)
    change_freezes: list[ChangeFreeze] = Field(default_factory=list)
    audit: AuditRetention = Field(default_factory=AuditRetention)

    # Lookups that do not scan the group rules (a policy may hold thousands): literal names by their
    # first rule, glob rules in order, endpoints by their first rule. Built once, after validation.
    _literal_rules: dict[str, int] = PrivateAttr(default_factory=dict)
    _glob_rules: list[int] = PrivateAttr(default_factory=list)
    _endpoint_rules: dict[str, int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        for index, rule in enumerate(self.groups):
            if any(ch in rule.match for ch in "*?["):
                self._glob_rules.append(index)
            else:
                self._literal_rules.setdefault(rule.match, index)
            if rule.endpoint is not None:
                self._endpoint_rules.setdefault(rule.endpoint, index)

    @model_validator(mode="after")
    def _tiers_exist(self) -> Self:
        for index, rule in enumerate(self.groups):
            if rule.tier not in self.tiers:
                known = ", ".join(sorted(self.tiers))
                raise ValueError(
                    f"groups[{index}] ({rule.match!r}) names tier {rule.tier!r}; tiers are {known}"
                )
            for stage in rule.promotion:
                if stage.tier not in self.tiers:
                    known = ", ".join(sorted(self.tiers))
                    raise ValueError(
                        f"groups[{index}] ({rule.match!r}) promotion stage {stage.stage!r} names tier "
                        f"{stage.tier!r}; tiers are {known}"
                    )
        return self

    def rule_for(self, group: str) -> GroupRule | None:
        """The first group rule whose glob matches ``group`` (None: no policy covers it).

        A literal rule is found by name; only the glob rules before it are tried."""
        literal = self._literal_rules.get(group)
        for index in self._glob_rules:
            if literal is not None and index > literal:
                break
            if fnmatch.fnmatchcase(group, self.groups[index].match):
                return self.groups[index]
        return None if literal is None else self.groups[literal]

    def tier_for(self, group: str) -> tuple[GroupRule, Tier] | None:
        rule = self.rule_for(group)
        return None if rule is None else (rule, self.tiers[rule.tier])

    def rule_for_endpoint(self, endpoint: str) -> GroupRule | None:
        """The first group rule naming ``endpoint`` as its production endpoint (None: unmanaged)."""
        index = self._endpoint_rules.get(endpoint)
        return None if index is None else self.groups[index]

    def monitoring_for_endpoint(self, endpoint: str) -> tuple[GroupRule, MonitoringPolicy] | None:
        rule = self.rule_for_endpoint(endpoint)
        return None if rule is None else (rule, self.tiers[rule.tier].monitoring)

    def rules_for_pipeline(self, pipeline: str) -> list[GroupRule]:
        """Group rules whose tier retrains with ``pipeline`` (in policy order)."""
        return [
            rule
            for rule in self.groups
            if (retraining := self.tiers[rule.tier].monitoring.retraining) is not None
            and retraining.pipeline == pipeline
        ]

    def retraining_for_object(self, s3_uri: str) -> list[tuple[GroupRule, RetrainingPolicy]]:
        """Rules whose retraining has a data trigger covering ``s3://bucket/key`` (one per pipeline)."""
        found: list[tuple[GroupRule, RetrainingPolicy]] = []
        seen: set[str] = set()
        for rule in self.groups:
            retraining = self.tiers[rule.tier].monitoring.retraining
            if (
                retraining is not None
                and retraining.data is not None
                and retraining.data.covers(s3_uri)
                and retraining.pipeline not in seen
            ):
                seen.add(retraining.pipeline)
                found.append((rule, retraining))
        return found


POLICY_PARAMETER_ENV = "MLCP_POLICY_PARAMETER"
"""The SSM parameter holding the deployed policy (legacy; AppConfig's fallback)."""
POLICY_APPCONFIG_ENV = "MLCP_POLICY_APPCONFIG"
"""``<application id>/<environment id>/<configuration profile id>`` of the deployed policy."""


def parse_appconfig_target(value: str) -> tuple[str, str, str]:
    """``app/env/profile`` -> its three identifiers (ConfigurationError naming what is wrong)."""
    parts = [part.strip() for part in value.split("/")]
    if len(parts) != 3 or not all(parts):
        raise ConfigurationError(
            f"{POLICY_APPCONFIG_ENV} must be <application>/<environment>/<configuration profile>, got {value!r}"
        )
    return parts[0], parts[1], parts[2]


# ------------------------------------------------------------------------------------ parsing


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('tiers', 'high', 'gates', 'metrics', 'thresholds', 0)`` -> ``tiers.high.gates.metrics.thresholds[0]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


_SHOWN_INPUT_TYPES = {
    "bool_parsing",
    "bool_type",
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "string_type",
    "literal_error",
    "datetime_parsing",
    "datetime_type",
    "datetime_from_date_parsing",
}


def _problem(source: str, error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in _SHOWN_INPUT_TYPES:
        shown = repr(error.get("input"))
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    path = field_path(tuple(error["loc"]))
    return f"{source}: {path}: {message}" if path else f"{source}: {message}"


def parse_policy(document: Mapping[str, Any], source: str) -> Policy:
    """Validate a decoded policy document; ``source`` (a file or ``ssm:<parameter>``) names it in errors.

    Raises ``PolicyError`` listing every problem, one line each: ``<source>: <field path>: <what>``.
    """
    if not isinstance(document, Mapping):
        raise PolicyError(source, [f"{source}: the policy must be a mapping (got {type(document).__name__})"])
    try:
        return Policy.model_validate(dict(document))
    except ValidationError as exc:
        raise PolicyError(source, [_problem(source, error) for error in exc.errors()]) from exc


def parse_policy_json(text: str | bytes, source: str) -> Policy:
    """``parse_policy`` over JSON text (the deployed form)."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(source, [f"{source}: not valid JSON: {exc}"]) from exc
    return parse_policy(document, source)


class PolicyNotConfigured:
    """The policy source of code that never evaluates a policy (asking it is a wiring bug)."""

    def get(self, *, force_fetch: bool = False) -> Policy:
        raise ConfigurationError(f"{POLICY_PARAMETER_ENV} is not set: this code path has no policy")
