"""Evaluation step of the churn training pipeline (runs in the built-in XGBoost container).

Inputs: the training job's ``model.tar.gz`` (``--model-dir``) and the test split (``--test-dir``, CSV
without a header, label first, as written by ``preprocess.py``). Outputs in ``--output-dir``:

* ``evaluation.json`` — SageMaker's model quality report for binary classification::

      {"binary_classification_metrics": {"auc": {"value": 0.91, "standard_deviation": 0.01},
                                         "precision": {...}, "recall": {...}, "f1": {...},
                                         "false_positive_rate": {...}, "accuracy": {...},
                                         "true_positive_rate": {...}, "true_negative_rate": {...},
                                         "confusion_matrix": {"0": {"0": tn, "1": fp},
                                                              "1": {"0": fn, "1": tp}}}}

  Standard deviations are bootstrap estimates (seeded, so a rerun gives the same report). The pipeline
  registers this file as ``ModelMetrics.ModelQuality.Statistics``.
* ``artifact.json`` — ``{"artifact_sha256": <hex SHA-256 of model.tar.gz>, "model_data_url": ...}``: the
  digest of the exact object the model package's ``ModelDataUrl`` names (the processing job downloads that
  object byte for byte). The registration step reads it through a PropertyFile into
  ``CustomerMetadataProperties.artifact_sha256``.

Metrics are plain Python; only scoring needs xgboost and numpy (both in the container), imported lazily.
Written for Python 3.8+ (the container's interpreter).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import statistics
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MODEL_MEMBER = "xgboost-model"


class EvaluationError(ValueError):
    """The inputs cannot be evaluated (the message says why)."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def find_one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        raise EvaluationError(f"expected one {pattern} in {directory}, found {[p.name for p in found]}")
    return found[0]


def extract_model(archive: Path, into: Path) -> Path:
    """The booster file inside ``model.tar.gz`` (only that member is extracted, by name)."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and Path(m.name).name == MODEL_MEMBER]
        if len(members) != 1:
            raise EvaluationError(f"{archive.name} holds no single {MODEL_MEMBER} file")
        source = tar.extractfile(members[0])
        assert source is not None
        target = into / MODEL_MEMBER
        target.write_bytes(source.read())
    return target


def read_test(directory: Path) -> tuple[list[int], list[list[float]]]:
    """Labels and feature rows of every ``*.csv`` in ``directory`` (label first, no header)."""
    labels: list[int] = []
    rows: list[list[float]] = []
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise EvaluationError(f"no test CSV in {directory}")
    for path in files:
        with path.open(newline="") as handle:
            for line, record in enumerate(csv.reader(handle), start=1):
                if not record:
                    continue
                try:
                    label = float(record[0])
                    values = [float(cell) if cell.strip() else math.nan for cell in record[1:]]
                except ValueError:
                    raise EvaluationError(f"{path.name} line {line}: not numeric") from None
                if label not in (0.0, 1.0):
                    raise EvaluationError(f"{path.name} line {line}: label {record[0]!r} is not 0 or 1")
                labels.append(int(label))
                rows.append(values)
    return labels, rows


def predict_xgboost(model_file: Path, rows: list[list[float]]) -> list[float]:
    """Scores of the built-in algorithm's booster (binary:logistic -> probabilities)."""
    import numpy as np
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(model_file))
    matrix = xgb.DMatrix(np.asarray(rows, dtype=float), missing=math.nan)
    return [float(score) for score in booster.predict(matrix)]


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties get average ranks)."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise EvaluationError("AUC needs both classes in the test set")
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1
        rank_sum += average_rank * sum(labels[order[i]] for i in range(start, end + 1))
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def confusion(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, int]:
    counts = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for index, label in enumerate(labels):
        predicted = 1 if scores[index] >= threshold else 0
        key = ("t" if predicted == label else "f") + ("p" if predicted else "n")
        counts[key] += 1
    return counts


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def point_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, float]:
    c = confusion(labels, scores, threshold)
    precision = _ratio(c["tp"], c["tp"] + c["fp"])
    recall = _ratio(c["tp"], c["tp"] + c["fn"])
    return {
        "accuracy": _ratio(c["tp"] + c["tn"], len(labels)),
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * precision * recall, precision + recall),
        "false_positive_rate": _ratio(c["fp"], c["fp"] + c["tn"]),
        "true_positive_rate": recall,
        "true_negative_rate": _ratio(c["tn"], c["fp"] + c["tn"]),
        "auc": auc(labels, scores),
    }


def bootstrap_deviations(
    labels: Sequence[int], scores: Sequence[float], threshold: float, rounds: int, seed: int
) -> dict[str, float]:
    """Standard deviation of each metric over ``rounds`` seeded resamples (with replacement).

    A resample holding a single class has no AUC and is left out of every metric, so all deviations
    come from the same resamples.
    """
    rng = random.Random(seed)  # noqa: S311 - seeded for reproducibility, not for secrets
    n = len(labels)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        picks = [rng.randrange(n) for _ in range(n)]
        sample_labels = [labels[i] for i in picks]
        if 0 < sum(sample_labels) < n:
            metrics = point_metrics(sample_labels, [scores[i] for i in picks], threshold)
            for name, value in metrics.items():
                samples.setdefault(name, []).append(value)
    return {name: statistics.stdev(values) if len(values) > 1 else 0.0 for name, values in samples.items()}


def evaluation_report(
    labels: Sequence[int],
    scores: Sequence[float],
    *,
    threshold: float = 0.5,
    rounds: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """SageMaker's model quality report (binary classification) for these labels and scores."""
    if len(labels) != len(scores) or not labels:
        raise EvaluationError("labels and scores must be non-empty and of equal length")
    values = point_metrics(labels, scores, threshold)
    deviations = bootstrap_deviations(labels, scores, threshold, rounds, seed)
    metrics: dict[str, Any] = {
        name: {"value": value, "standard_deviation": deviations.get(name, 0.0)}
        for name, value in values.items()
    }
    c = confusion(labels, scores, threshold)
    metrics["confusion_matrix"] = {"0": {"0": c["tn"], "1": c["fp"]}, "1": {"0": c["fn"], "1": c["tp"]}}
    return {"binary_classification_metrics": metrics}


def run(
    model_dir: Path,
    test_dir: Path,
    output_dir: Path,
    *,
    model_data_url: str = "",
    threshold: float = 0.5,
    rounds: int = 200,
    seed: int = 0,
    predictor: Callable[[Path, list[list[float]]], list[float]] = predict_xgboost,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Hash the artifact, score the test split, write ``evaluation.json`` and ``artifact.json``."""
    archive = find_one(model_dir, "*.tar.gz")
    artifact = {"artifact_sha256": sha256_file(archive), "model_data_url": model_data_url}
    labels, rows = read_test(test_dir)
    with tempfile.TemporaryDirectory() as scratch:
        scores = predictor(extract_model(archive, Path(scratch)), rows)
    report = evaluation_report(labels, scores, threshold=threshold, rounds=rounds, seed=seed)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "evaluation.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    (output_dir / "artifact.json").write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")
    return report, artifact


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test-dir", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument(
        "--model-data-url", default="", help="S3 URI of model.tar.gz (recorded with its hash)"
    )
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--bootstrap-rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        report, artifact = run(
            args.model_dir,
            args.test_dir,
            args.output_dir,
            model_data_url=args.model_data_url,
            threshold=args.threshold,
            rounds=args.bootstrap_rounds,
            seed=args.seed,
        )
    except EvaluationError as exc:
        sys.stderr.write(f"evaluate: {exc}\n")
        return 1
    auc_value = report["binary_classification_metrics"]["auc"]["value"]
    sys.stdout.write(f"auc {auc_value:.4f} artifact sha256 {artifact['artifact_sha256']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
