"""What a policy may name: SageMaker's evaluation-report metrics and Clarify's bias metrics, with the
range each value can take.

Sources (AWS documentation):
- Model quality metrics, the format of ``ModelMetrics.ModelQuality.Statistics`` and of Model Monitor's
  model-quality statistics (sagemaker/latest/dg/model-monitor-model-quality-metrics.html): sections
  ``binary_classification_metrics``, ``multiclass_classification_metrics``, ``regression_metrics``; each
  scalar metric an object ``{"value": ..., "standard_deviation": ...}``.
- Clarify's pre-training bias metrics (clarify-measure-data-bias.html) and post-training bias metrics
  (clarify-measure-post-training-bias.html), by the short names its reports use; the ranges are the
  ones those pages give for each metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of what a value can be (``-inf``/``inf``: unbounded)."""

    low: float
    high: float

    def text(self) -> str:
        low = "-inf" if self.low == -INF else f"{self.low:g}"
        high = "inf" if self.high == INF else f"{self.high:g}"
        return f"[{low}, {high}]"


UNIT = Range(0.0, 1.0)
NON_NEGATIVE = Range(0.0, INF)

_RATE_METRICS = ("recall", "precision", "accuracy", "f0_5", "f1", "f2")

BINARY_CLASSIFICATION: dict[str, Range | None] = {
    "confusion_matrix": None,
    **dict.fromkeys(_RATE_METRICS, UNIT),
    **{f"{name}_best_constant_classifier": UNIT for name in _RATE_METRICS},
    "true_positive_rate": UNIT,
    "true_negative_rate": UNIT,
    "false_positive_rate": UNIT,
    "false_negative_rate": UNIT,
    "receiver_operating_characteristic_curve": None,
    "precision_recall_curve": None,
    "auc": UNIT,
}

_WEIGHTED = ("weighted_recall", "weighted_precision", "weighted_f0_5", "weighted_f1", "weighted_f2")

MULTICLASS_CLASSIFICATION: dict[str, Range | None] = {
    "confusion_matrix": None,
    "accuracy": UNIT,
    "accuracy_best_constant_classifier": UNIT,
    **dict.fromkeys(_WEIGHTED, UNIT),
    **{f"{name}_best_constant_classifier": UNIT for name in _WEIGHTED},
}

REGRESSION: dict[str, Range | None] = {
    "mae": NON_NEGATIVE,
    "mse": NON_NEGATIVE,
    "rmse": NON_NEGATIVE,
    "r2": Range(-INF, 1.0),
}

REPORT_SECTIONS: dict[str, dict[str, Range | None]] = {
    "binary_classification_metrics": BINARY_CLASSIFICATION,
    "multiclass_classification_metrics": MULTICLASS_CLASSIFICATION,
    "regression_metrics": REGRESSION,
}
"""Evaluation-report section -> metric -> range of its value (None: not a number: a matrix or a curve)."""

METRIC_FIELDS = ("value", "standard_deviation")

PRE_TRAINING_BIAS: dict[str, Range] = {
    "CI": Range(-1.0, 1.0),  # class imbalance
    "DPL": Range(-1.0, 1.0),  # difference in proportions of labels
    "KL": NON_NEGATIVE,  # Kullback-Leibler divergence
    "JS": Range(0.0, math.log(2)),  # Jensen-Shannon divergence
    "LP": Range(0.0, math.sqrt(2)),  # Lp-norm
    "TVD": UNIT,  # total variation distance
    "KS": UNIT,  # Kolmogorov-Smirnov
    "CDDL": Range(-1.0, 1.0),  # conditional demographic disparity in labels
}

POST_TRAINING_BIAS: dict[str, Range] = {
    "DPPL": Range(-1.0, 1.0),  # difference in positive proportions in predicted labels
    "DI": NON_NEGATIVE,  # disparate impact
    "DCA": Range(-INF, INF),  # difference in conditional acceptance
    "DCR": Range(-INF, INF),  # difference in conditional rejection
    "SD": Range(-1.0, 1.0),  # specificity difference
    "RD": Range(-1.0, 1.0),  # recall difference
    "DAR": Range(-1.0, 1.0),  # difference in acceptance rates
    "DRR": Range(-1.0, 1.0),  # difference in rejection rates
    "AD": Range(-1.0, 1.0),  # accuracy difference
    "TE": Range(-INF, INF),  # treatment equality
    "CDDPL": Range(-1.0, 1.0),  # conditional demographic disparity in predicted labels
    "FT": Range(-1.0, 1.0),  # counterfactual fliptest
    "GE": Range(0.0, 0.5),  # generalized entropy
}

BIAS_METRICS: dict[str, Range] = PRE_TRAINING_BIAS | POST_TRAINING_BIAS


def magnitude_range(signed: Range) -> Range:
    """The range of ``|x|`` for ``x`` in ``signed`` (a bias bound applies to the magnitude)."""
    if signed.low >= 0:
        return signed
    return Range(0.0, max(abs(signed.low), abs(signed.high)))
