"""The policy as code: which risk tier, gates, approval rules and deployment settings apply to
which model package groups. Pure pydantic models; loading and publishing live in ``mlcp.policy.load``.

A policy document (YAML in the repo, JSON in the deployed stack's SSM parameter)::

    version: 1
    tiers:
      low:    {auto_approve: true,  human_approval: false, gates: {...}, deployment: {...}}
      high:   {auto_approve: false, human_approval: true,  approval_timeout_hours: 48, gates: {...}}
    groups:
      - match: "fraud-*"          # fnmatch glob on the model package group name; first match wins
        tier: high
        endpoint: fraud-prod      # the production endpoint (the champion lives there)
    change_freezes:
      - {start: 2026-12-20T00:00:00Z, end: 2027-01-04T00:00:00Z, reason: year-end freeze}
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(extra="forbid", frozen=True)


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
    def _bounded(self) -> MetricThreshold:
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
    change_freeze: ChangeFreezeGate = Field(default_factory=ChangeFreezeGate)
    separation_of_duties: SeparationOfDutiesGate = Field(default_factory=SeparationOfDutiesGate)


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


class Tier(BaseModel):
    model_config = _STRICT

    description: str = ""
    auto_approve: bool = False
    human_approval: bool = True
    approval_timeout_hours: int = Field(default=72, ge=1, le=24 * 30)
    gates: Gates = Field(default_factory=Gates)
    deployment: DeploymentSettings = Field(default_factory=DeploymentSettings)

    @model_validator(mode="after")
    def _consistent(self) -> Tier:
        if self.auto_approve and self.human_approval:
            raise ValueError("auto_approve and human_approval cannot both be true")
        return self


class GroupRule(BaseModel):
    model_config = _STRICT

    match: str = Field(min_length=1, description="fnmatch glob on the model package group name")
    tier: str = Field(min_length=1)
    endpoint: str | None = Field(default=None, description="production endpoint of the group")
    owners: list[str] = Field(default_factory=list, description="who is notified about this group")


class ChangeFreeze(BaseModel):
    model_config = _STRICT

    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> ChangeFreeze:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("freeze window times need a timezone (e.g. 2026-12-20T00:00:00Z)")
        if self.end <= self.start:
            raise ValueError("freeze window ends before it starts")
        return self

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class Policy(BaseModel):
    model_config = _STRICT

    version: Literal[1] = 1
    tiers: dict[str, Tier] = Field(min_length=1)
    groups: list[GroupRule] = Field(min_length=1)
    change_freezes: list[ChangeFreeze] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tiers_exist(self) -> Policy:
        for index, rule in enumerate(self.groups):
            if rule.tier not in self.tiers:
                known = ", ".join(sorted(self.tiers))
                raise ValueError(
                    f"groups[{index}] ({rule.match!r}) names tier {rule.tier!r}; tiers are {known}"
                )
        return self

    def rule_for(self, group: str) -> GroupRule | None:
        """The first group rule whose glob matches ``group`` (None: no policy covers it)."""
        return next((rule for rule in self.groups if fnmatch.fnmatchcase(group, rule.match)), None)

    def tier_for(self, group: str) -> tuple[GroupRule, Tier] | None:
        rule = self.rule_for(group)
        return None if rule is None else (rule, self.tiers[rule.tier])
