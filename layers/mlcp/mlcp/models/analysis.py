"""A tier's canary analysis and shadow test settings (``deployment.analysis`` and
``deployment.shadow`` of the policy, docs/policy.md): the judge's metrics and scores (ADR 23, 25).

Part of the policy's contract (``mlcp.policy.model.DeploymentSettings`` holds them, with the same
strict configuration), in a module of their own: the analyze-canary and shadow-test tasks validate
the settings the workflow hands them and never read the policy, so they do not build its models.
"""

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The policy's model configuration (``mlcp.policy.model``; a test keeps the two equal).
_STRICT = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use: cold start
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
