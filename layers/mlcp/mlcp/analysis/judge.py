"""Judge a candidate against its baseline the way Kayenta's NetflixACAJudge does: classify each
metric with a Mann-Whitney test, score the classifications, turn the score into a verdict.

Per metric (Kayenta's ``MannWhitneyClassifier``):

- ``nodata`` when either side has fewer than ``min_samples`` values (Kayenta: none at all);
- ``pass`` when both samples are the same values, or every value is equal;
- ``high`` when a rise is a regression (``direction`` increase or either), the confidence interval of
  the Hodges-Lehmann shift lies above ``tolerance * |estimate|`` *and* the effect size, the ratio of
  the means candidate / baseline, reaches ``allowed_increase``; ``low`` likewise below
  ``-tolerance * |estimate|`` with the ratio at or under ``allowed_decrease``; else ``pass``.

Score (Kayenta's ``WeightedSumScorer``, each metric its own group): the weighted share of ``pass``
among the metrics that have data, 0..100; a ``critical`` metric classified ``high`` or ``low`` makes
it 0. Verdict (Kayenta's ``ThresholdScoreClassifier``): ``pass`` at or above ``pass_score``,
``marginal`` at or above ``marginal_score``, else ``fail``. Two rules of ours on top, because a
verdict must not pass on evidence it does not have: a metric without enough samples caps the
verdict at ``marginal``, and no metric with data at all is ``marginal`` (score None); what a
marginal verdict does is the tier's rule (``on_marginal``), not the judge's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, field
from statistics import fmean
from typing import Any, Literal

from mlcp.analysis.mannwhitney import MannWhitneyResult, mann_whitney
from mlcp.records import record_class

Direction = Literal["increase", "decrease", "either"]
Classification = Literal["pass", "high", "low", "nodata"]
Verdict = Literal["pass", "marginal", "fail"]

#: Kayenta's judge: a 98 % interval, bounds at a quarter of the estimate.
CONFIDENCE = 0.98
TOLERANCE = 0.25


@record_class
class MetricCriteria:
    """How one metric is judged: which change is a regression and how large a change is allowed."""

    name: str
    direction: Direction = "increase"
    allowed_increase: float = 1.1
    allowed_decrease: float = 0.9
    min_samples: int = 10
    critical: bool = False
    weight: float = 1.0


@record_class
class ScoreThresholds:
    pass_score: float = 95.0
    marginal_score: float = 75.0


@record_class
class MetricResult:
    name: str
    classification: Classification
    reason: str
    candidate_count: int
    baseline_count: int
    candidate_mean: float | None
    baseline_mean: float | None
    ratio: float | None
    test: MannWhitneyResult | None
    criteria: MetricCriteria

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = _finite(self.ratio)
        return out


@record_class
class Judgement:
    score: float | None
    verdict: Verdict
    reasons: list[str]
    metrics: list[MetricResult] = field(default_factory=list)
    thresholds: ScoreThresholds = field(default_factory=ScoreThresholds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "thresholds": asdict(self.thresholds),
            "metrics": [m.to_dict() for m in self.metrics],
        }


def _finite(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "inf"


def _ratio(candidate_mean: float, baseline_mean: float) -> float:
    if baseline_mean == 0:
        return 1.0 if candidate_mean == 0 else math.copysign(math.inf, candidate_mean)
    return candidate_mean / baseline_mean


def classify_metric(
    candidate: list[float],
    baseline: list[float],
    criteria: MetricCriteria,
    *,
    confidence: float = CONFIDENCE,
    tolerance: float = TOLERANCE,
) -> MetricResult:
    """Classify one metric of the candidate against the baseline (pure; see the module docstring)."""

    def result(
        classification: Classification,
        reason: str,
        ratio: float | None = None,
        test: MannWhitneyResult | None = None,
    ) -> MetricResult:
        return MetricResult(
            name=criteria.name,
            classification=classification,
            reason=reason,
            candidate_count=len(candidate),
            baseline_count=len(baseline),
            candidate_mean=fmean(candidate) if candidate else None,
            baseline_mean=fmean(baseline) if baseline else None,
            ratio=ratio,
            test=test,
            criteria=criteria,
        )

    if min(len(candidate), len(baseline)) < criteria.min_samples:
        return result(
            "nodata",
            f"{len(candidate)} candidate and {len(baseline)} baseline samples; "
            f"{criteria.min_samples} needed on each side",
        )
    ratio = _ratio(fmean(candidate), fmean(baseline))
    if sorted(candidate) == sorted(baseline):
        return result("pass", "candidate and baseline samples are identical", ratio)
    if len(set(candidate) | set(baseline)) == 1:
        return result("pass", "every sample has the same value", ratio)
    test = mann_whitney(candidate, baseline, confidence=confidence)
    bound = tolerance * abs(test.estimate)
    if criteria.direction in ("increase", "either") and test.confidence_low > bound:
        if ratio >= criteria.allowed_increase:
            return result(
                "high",
                f"higher than the baseline (p={test.p_value:.3g}, mean ratio {ratio:.3f} >= "
                f"{criteria.allowed_increase})",
                ratio,
                test,
            )
        return result("pass", f"higher, within the allowed ratio {criteria.allowed_increase}", ratio, test)
    if criteria.direction in ("decrease", "either") and test.confidence_high < -bound:
        if ratio <= criteria.allowed_decrease:
            return result(
                "low",
                f"lower than the baseline (p={test.p_value:.3g}, mean ratio {ratio:.3f} <= "
                f"{criteria.allowed_decrease})",
                ratio,
                test,
            )
        return result("pass", f"lower, within the allowed ratio {criteria.allowed_decrease}", ratio, test)
    return result("pass", "no regression the test can see", ratio, test)


def score(results: list[MetricResult], thresholds: ScoreThresholds | None = None) -> Judgement:
    """Score the metric classifications and give the verdict (pure; see the module docstring)."""
    thresholds = thresholds or ScoreThresholds()
    reasons: list[str] = []
    counted = [r for r in results if r.classification != "nodata"]
    missing = [r.name for r in results if r.classification == "nodata"]
    critical = [r.name for r in counted if r.criteria.critical and r.classification != "pass"]
    if not counted:
        reasons.append("no metric has enough samples to judge")
        return Judgement(None, "marginal", reasons, list(results), thresholds)
    regressed = [f"{r.name} {r.classification}" for r in counted if r.classification in ("high", "low")]
    if regressed:
        reasons.append(f"regressed: {', '.join(regressed)}")
    total = sum(r.criteria.weight for r in counted)
    passed = sum(r.criteria.weight for r in counted if r.classification == "pass")
    value = 100.0 * passed / total if total > 0 else 0.0
    verdict: Verdict
    if critical:
        value = 0.0
        reasons.append(f"critical metric(s) regressed: {', '.join(critical)}")
    if value >= thresholds.pass_score:
        verdict = "pass"
    elif value >= thresholds.marginal_score:
        verdict = "marginal"
        reasons.append(f"score {value:.1f} below the pass score {thresholds.pass_score}")
    else:
        verdict = "fail"
        reasons.append(f"score {value:.1f} below the marginal score {thresholds.marginal_score}")
    if missing and verdict == "pass":
        verdict = "marginal"
    if missing:
        reasons.append(f"too few samples: {', '.join(missing)}")
    return Judgement(value, verdict, reasons, list(results), thresholds)


def judge(
    samples: dict[str, tuple[list[float], list[float]]],
    criteria: list[MetricCriteria],
    thresholds: ScoreThresholds | None = None,
) -> Judgement:
    """Classify every metric of ``criteria`` on ``samples[name] = (candidate, baseline)`` and score them.

    A metric without samples is ``nodata`` (never skipped silently)."""
    results = [classify_metric(*samples.get(c.name, ([], [])), c) for c in criteria]
    return score(results, thresholds)
