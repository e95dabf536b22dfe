"""What gates decide over: the candidate package (as the registry describes it), the evidence
gathered for it, and the result of each gate. Pure data; no I/O.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, defer_build=True)  # built on first use: cold start


class Container(BaseModel):
    """One inference container of the package."""

    model_config = _FROZEN

    image: str
    image_digest: str | None = None
    model_data_url: str | None = None


class Candidate(BaseModel):
    """A model package as DescribeModelPackage (and ListTags) describe it: never as an event says."""

    model_config = _FROZEN

    arn: str
    group: str
    version: int
    approval_status: str
    created_by: str
    last_modified_by: str
    creation_time: datetime
    containers: list[Container] = Field(default_factory=list)
    customer_metadata: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    generated_by: str | None = Field(default=None, description="MetadataProperties.GeneratedBy")
    approval_description: str | None = Field(default=None, description="ApprovalDescription")
    model_metrics: dict[str, str] = Field(
        default_factory=dict,
        description="S3 URIs of the ModelMetrics reports by kind: model_quality_statistics, bias_pre_training, "
        "bias_post_training, bias_report, explainability",
    )


class Evidence(BaseModel):
    """Everything gathered for one evaluation. ``None`` means "looked for, not found"."""

    model_config = _FROZEN

    now: datetime
    metrics_report: dict[str, Any] | None = None
    champion_arn: str | None = None
    champion_metrics_report: dict[str, Any] | None = None
    bias_report: dict[str, Any] | None = None
    explainability_report: dict[str, Any] | None = None
    artifact_sha256: dict[str, str | None] = Field(
        default_factory=dict, description="model data URL -> SHA-256 of the object in S3 now (None: missing)"
    )
    approver: str | None = Field(default=None, description="who approves; None before anyone has")


class GateOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a gate outcome, not a password
    FAIL = "fail"
    SKIP = "skip"


class GateResult(BaseModel):
    """One gate's verdict with what it compared."""

    model_config = _FROZEN

    gate: str
    outcome: GateOutcome
    hard: bool
    reason: str
    threshold: Any = None
    observed: Any = None


Decision = Literal["approve", "reject", "needs_human"]


class GateReport(BaseModel):
    """All gates for one candidate, and what they add up to under the tier's approval rules."""

    model_config = _FROZEN

    candidate_arn: str
    group: str
    tier: str
    evaluated_at: datetime
    results: list[GateResult]
    decision: Decision

    @property
    def failures(self) -> list[GateResult]:
        return [r for r in self.results if r.outcome == GateOutcome.FAIL]

    @property
    def hard_failures(self) -> list[GateResult]:
        return [r for r in self.failures if r.hard]

    def reasons(self) -> list[str]:
        return [f"{r.gate}: {r.reason}" for r in self.failures]
