"""Canary analysis during a deployment: the candidate against the baseline it replaces, over the
same window, judged by ``mlcp.analysis`` (Kayenta's judge), with the evidence kept.

Each analysis reads the tier's metrics per fleet from CloudWatch (one-minute samples since the
deployment started; the baseline only over the span the candidate has data), judges them, writes
the report (samples, statistics, p-values, thresholds, verdict) to the reports bucket, records
``analysis.completed`` and publishes the verdict metric (1 = roll back) whose alarm is part of a
guardrails deployment's AutoRollbackConfiguration — so a statistical regression rolls back
through SageMaker itself. In a managed shift the workflow gates each step on the result directly.

Which fleets are compared (``fleets``):

- guardrails (blue/green, one variant): the new fleet against the old one, told apart by the
  ``EndpointConfigName`` dimension SageMaker adds to a blue/green deployment's per-fleet metrics;
- managed shift (multi-variant): the candidate variant against the old variants (pooled);
- serverless bake and first deployments: there is no concurrent baseline — not applicable, said so
  in the audit record, never a silent pass.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import Any, Literal, Protocol

from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.analysis.judge import MetricCriteria, ScoreThresholds, judge
from mlcp.audit import AuditAction
from mlcp.observability import MetricUnit, logger, metrics
from mlcp.policy.model import CanaryAnalysis
from mlcp.ports import AuditLog, StoredReport
from mlcp.records import record_class

Phase = Literal["canary", "shadow"]


class MetricSource(Protocol):
    def samples(
        self,
        namespace: str,
        metric: str,
        statistic: str,
        dimensions: dict[str, str],
        start: datetime,
        end: datetime,
    ) -> list[tuple[datetime, float]]: ...

    def put_verdict(self, endpoint: str, candidate: str, value: float, at: datetime) -> None: ...


class Reports(Protocol):
    def write(self, key: str, document: dict[str, Any]) -> StoredReport: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class AnalysisDeps:
    metrics: MetricSource
    reports: Reports
    audit: AuditLog
    hosting: SageMakerHosting


@record_class
class Fleet:
    """One side of the comparison: a label and the CloudWatch dimension sets whose samples it pools."""

    label: str
    dimensions: list[dict[str, str]] = field(default_factory=list)


@record_class
class Fleets:
    candidate: Fleet | None
    baseline: Fleet | None
    #: Why there is nothing to compare (None when there is).
    not_applicable: str | None = None


def fleets(endpoint: str, deploy: dict[str, Any], hosting: SageMakerHosting) -> Fleets:
    """Candidate and baseline fleets of a deployment, from DeployModel's result (see the module doc)."""
    shift = deploy.get("shift") or None
    if shift is not None:
        if shift.get("strategy") == "bake":
            return Fleets(None, None, "serverless endpoint: one production variant, no concurrent baseline")
        candidate = str(shift["candidate"])
        old = [str(v["VariantName"]) for v in hosting.config_variants(shift["config"])]
        return Fleets(
            Fleet(candidate, [{"EndpointName": endpoint, "VariantName": candidate}]),
            Fleet(
                "+".join(v for v in old if v != candidate),
                [{"EndpointName": endpoint, "VariantName": v} for v in old if v != candidate],
            ),
        )
    target, previous = deploy.get("target_config"), deploy.get("previous_config")
    if not previous:
        return Fleets(None, None, "first deployment on the endpoint: no baseline serves")
    variants = [str(v["VariantName"]) for v in hosting.config_variants(str(target))]
    return Fleets(
        Fleet(
            str(target),
            [
                {"EndpointName": endpoint, "VariantName": v, "EndpointConfigName": str(target)}
                for v in variants
            ],
        ),
        Fleet(
            str(previous),
            [
                {"EndpointName": endpoint, "VariantName": v, "EndpointConfigName": str(previous)}
                for v in variants
            ],
        ),
    )


def shadow_fleets(endpoint: str, shadow: dict[str, Any]) -> Fleets:
    """A shadow test's fleets (ADR 25): the shadow variant against the production variant it copies
    its requests from, on the same endpoint and config (SageMaker publishes both per VariantName)."""
    candidate, production = shadow.get("variant"), shadow.get("production_variant")
    if not candidate or not production:
        return Fleets(None, None, "no shadow ran: nothing to compare")
    return Fleets(
        Fleet(str(candidate), [{"EndpointName": endpoint, "VariantName": str(candidate)}]),
        Fleet(str(production), [{"EndpointName": endpoint, "VariantName": str(production)}]),
    )


def criteria_of(settings: CanaryAnalysis) -> list[MetricCriteria]:
    return [
        MetricCriteria(
            name=_metric_key(m.namespace, m.metric, m.statistic),
            direction=m.direction,
            allowed_increase=m.allowed_increase,
            allowed_decrease=m.allowed_decrease,
            min_samples=m.min_samples,
            critical=m.critical,
            weight=m.weight,
        )
        for m in settings.metrics
    ]


def _metric_key(namespace: str, metric: str, statistic: str) -> str:
    return (
        metric
        if namespace == "AWS/SageMaker" and statistic == "Average"
        else f"{namespace}/{metric}:{statistic}"
    )


def _pooled(
    source: MetricSource,
    namespace: str,
    metric: str,
    statistic: str,
    fleet: Fleet,
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, float]]:
    pooled: list[tuple[datetime, float]] = []
    for dimensions in fleet.dimensions:
        pooled.extend(source.samples(namespace, metric, statistic, dimensions, start, end))
    return sorted(pooled)


@record_class
class AnalysisRequest:
    endpoint: str
    phase: Phase
    step: int
    #: The last analysis before the workflow decides (a shift's last step, the end of a shadow): a
    #: marginal verdict then follows the tier's ``on_marginal``; before it, only ``fail`` rolls back.
    final: bool
    since: datetime
    at: datetime
    package_arn: str
    execution: str
    settings: dict[str, Any]


def analyze(request: AnalysisRequest, selected: Fleets, *, deps: AnalysisDeps) -> dict[str, Any]:
    """Judge the candidate against the baseline now; keep the evidence; say whether to roll back.

    Idempotent for a retry of the same task: the window ends at ``at`` (the state's entered time),
    the report key and the audit decision id derive from the execution, phase, step and ``at``."""
    settings = CanaryAnalysis.model_validate(request.settings)
    execution_name = request.execution.rsplit(":", 1)[-1]
    stamp = request.at.strftime("%Y%m%dT%H%M%SZ")
    key = f"analysis/{request.endpoint}/{execution_name}/{request.phase}-{request.step}-{stamp}.json"
    decision_id = f"analysis.completed:{request.execution}:{request.phase}:{request.step}:{stamp}"
    base: dict[str, Any] = {
        "endpoint": request.endpoint,
        "phase": request.phase,
        "step": request.step,
        "final": request.final,
        "model_package_arn": request.package_arn,
        "execution": request.execution,
        "window": {"start": request.since.isoformat(), "end": request.at.isoformat()},
    }
    if selected.candidate is None or selected.baseline is None:
        reason = selected.not_applicable or "nothing to compare"
        deps.audit.append(
            stream=f"endpoint#{request.endpoint}",
            action=AuditAction.ANALYSIS_COMPLETED,
            actor="mlcp",
            subject=request.package_arn,
            evidence={**base, "verdict": "not_applicable", "reason": reason, "roll_back": False},
            decision_id=decision_id,
        )
        return {
            "verdict": "not_applicable",
            "score": None,
            "roll_back": False,
            "report_uri": None,
            "reason": reason,
        }

    samples: dict[str, tuple[list[float], list[float]]] = {}
    series: dict[str, dict[str, Any]] = {}
    for metric in settings.metrics:
        name = _metric_key(metric.namespace, metric.metric, metric.statistic)
        args = (metric.namespace, metric.metric, metric.statistic)
        candidate = _pooled(deps.metrics, *args, selected.candidate, request.since, request.at)
        baseline = _pooled(deps.metrics, *args, selected.baseline, request.since, request.at)
        if candidate:  # the same window: the baseline only while the candidate has data
            first, last = candidate[0][0], candidate[-1][0]
            baseline = [(t, v) for t, v in baseline if first <= t <= last]
        samples[name] = ([v for _, v in candidate], [v for _, v in baseline])
        series[name] = {
            "namespace": metric.namespace,
            "metric": metric.metric,
            "statistic": metric.statistic,
            "candidate": [[t.isoformat(), v] for t, v in candidate],
            "baseline": [[t.isoformat(), v] for t, v in baseline],
        }
    judgement = judge(
        samples,
        criteria_of(settings),
        ScoreThresholds(pass_score=settings.pass_score, marginal_score=settings.marginal_score),
    )
    roll_back = judgement.verdict == "fail" or (
        judgement.verdict == "marginal" and request.final and settings.on_marginal == "fail"
    )
    why = (
        f"{request.phase} analysis: {judgement.verdict} (score {judgement.score}); "
        + "; ".join(judgement.reasons)
        if roll_back
        else None
    )
    report = {
        **base,
        "candidate": {"label": selected.candidate.label, "dimensions": selected.candidate.dimensions},
        "baseline": {"label": selected.baseline.label, "dimensions": selected.baseline.dimensions},
        "settings": settings.model_dump(mode="json"),
        "judgement": judgement.to_dict(),
        "samples": series,
        "roll_back": roll_back,
    }
    stored = deps.reports.write(key, report)
    deps.audit.append(
        stream=f"endpoint#{request.endpoint}",
        action=AuditAction.ANALYSIS_COMPLETED,
        actor="mlcp",
        subject=request.package_arn,
        evidence={
            **base,
            "candidate": selected.candidate.label,
            "baseline": selected.baseline.label,
            "verdict": judgement.verdict,
            "score": judgement.score,
            "roll_back": roll_back,
            "reasons": judgement.reasons,
            "metrics": [
                {
                    "name": m.name,
                    "classification": m.classification,
                    "p_value": m.test.p_value if m.test else None,
                    "samples": [m.candidate_count, m.baseline_count],
                }
                for m in judgement.metrics
            ],
            "report_uri": stored.uri,
            "report_sha256": stored.sha256,
        },
        decision_id=decision_id,
    )
    if request.phase == "canary":  # the verdict alarm is a canary's; a shadow's verdict decides directly
        deps.metrics.put_verdict(
            request.endpoint, selected.candidate.label, 1.0 if roll_back else 0.0, request.at
        )
    metrics.add_metric(name=f"CanaryAnalysis{judgement.verdict.title()}", unit=MetricUnit.Count, value=1)
    logger.info(
        "canary analysis",
        extra={"endpoint": request.endpoint, "verdict": judgement.verdict, "score": judgement.score},
    )
    return {
        "verdict": judgement.verdict,
        "score": judgement.score,
        "roll_back": roll_back,
        "report_uri": stored.uri,
        "reason": why,
    }
