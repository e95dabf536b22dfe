"""evaluate.py: the metrics, SageMaker's report format, the artifact digest, and (in .venv-pipeline) a real
XGBoost model trained on a tiny set, packed as the built-in algorithm packs it, scored by the script."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from .conftest import PROJECT, load_script

evaluate = load_script("evaluate")

METRICS = {
    "accuracy",
    "auc",
    "confusion_matrix",
    "f1",
    "false_positive_rate",
    "precision",
    "recall",
    "true_negative_rate",
    "true_positive_rate",
}


def pack(directory: Path, member: str = "xgboost-model", body: bytes = b"booster") -> Path:
    archive = directory / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return archive


def write_test(directory: Path, rows: list[tuple[int, float]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "test.csv").write_text("".join(f"{label},{feature}\n" for label, feature in rows))


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 1.0),
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], 0.0),
        ([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5),
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75),
        ([1, 0, 1, 0, 1], [0.3, 0.3, 0.9, 0.1, 0.2], 4.5 / 6),
    ],
)
def test_auc(labels: list[int], scores: list[float], expected: float) -> None:
    assert evaluate.auc(labels, scores) == pytest.approx(expected)


def test_auc_needs_both_classes() -> None:
    with pytest.raises(evaluate.EvaluationError, match="both classes"):
        evaluate.auc([1, 1], [0.2, 0.3])


def test_point_metrics_from_the_confusion_matrix() -> None:
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    scores = [0.9, 0.8, 0.7, 0.2, 0.6, 0.4, 0.3, 0.2, 0.1, 0.1]
    metrics = evaluate.point_metrics(labels, scores, 0.5)
    # tp 3, fn 1, fp 1, tn 5
    assert metrics["precision"] == pytest.approx(3 / 4)
    assert metrics["recall"] == pytest.approx(3 / 4)
    assert metrics["f1"] == pytest.approx(3 / 4)
    assert metrics["false_positive_rate"] == pytest.approx(1 / 6)
    assert metrics["true_negative_rate"] == pytest.approx(5 / 6)
    assert metrics["accuracy"] == pytest.approx(8 / 10)


def test_report_format_is_sagemakers_and_deterministic() -> None:
    labels = [i % 2 for i in range(40)]
    scores = [(0.3 if label == 0 else 0.6) + (i % 7) / 20 for i, label in enumerate(labels)]
    report = evaluate.evaluation_report(labels, scores, rounds=50, seed=3)

    metrics = report["binary_classification_metrics"]
    assert set(report) == {"binary_classification_metrics"}
    assert set(metrics) == METRICS
    for name in METRICS - {"confusion_matrix"}:
        assert set(metrics[name]) == {"value", "standard_deviation"}
        assert 0.0 <= metrics[name]["value"] <= 1.0
    assert metrics["auc"]["standard_deviation"] > 0
    matrix = metrics["confusion_matrix"]
    assert sum(matrix[a][p] for a in "01" for p in "01") == 40
    assert report == evaluate.evaluation_report(labels, scores, rounds=50, seed=3)
    assert report != evaluate.evaluation_report(labels, scores, rounds=50, seed=4)


def test_run_hashes_the_archive_and_writes_both_files(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    archive = pack(tmp_path / "model")
    write_test(tmp_path / "test", [(0, 0.1), (1, 0.9), (0, 0.2), (1, 0.7), (0, 0.6), (1, 0.4)])
    seen: dict[str, object] = {}

    def predictor(model_file: Path, rows: list[list[float]]) -> list[float]:
        seen["model"] = model_file.read_bytes()
        return [row[0] for row in rows]

    report, artifact = evaluate.run(
        tmp_path / "model",
        tmp_path / "test",
        tmp_path / "evaluation",
        model_data_url="s3://b/run/Train/model.tar.gz",
        rounds=20,
        predictor=predictor,
    )

    assert seen["model"] == b"booster"
    assert artifact == {
        "artifact_sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
        "model_data_url": "s3://b/run/Train/model.tar.gz",
    }
    assert json.loads((tmp_path / "evaluation" / "artifact.json").read_text()) == artifact
    assert json.loads((tmp_path / "evaluation" / "evaluation.json").read_text()) == report
    assert report["binary_classification_metrics"]["auc"]["value"] == pytest.approx(8 / 9)


def test_archive_without_the_booster_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    pack(tmp_path / "model", member="something-else")
    write_test(tmp_path / "test", [(0, 0.1), (1, 0.9)])
    with pytest.raises(evaluate.EvaluationError, match="no single xgboost-model"):
        evaluate.run(tmp_path / "model", tmp_path / "test", tmp_path / "out", predictor=lambda m, r: [])


def test_non_binary_test_label_is_refused(tmp_path: Path) -> None:
    write_test(tmp_path, [(2, 0.1)])
    with pytest.raises(evaluate.EvaluationError, match="label '2' is not 0 or 1"):
        evaluate.read_test(tmp_path)


TRAIN_AND_PACK = """
import io, sys, tarfile, numpy as np, xgboost as xgb
rng = np.random.default_rng(0)
x = rng.normal(size=(400, 3)); y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=400) > 0).astype(int)
booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x[:300], label=y[:300]), 30)
raw = booster.save_raw("ubj")
with tarfile.open(sys.argv[1] + "/model/model.tar.gz", "w:gz") as tar:
    info = tarfile.TarInfo("xgboost-model"); info.size = len(raw); tar.addfile(info, io.BytesIO(bytes(raw)))
with open(sys.argv[1] + "/test/test.csv", "w") as f:
    for label, row in zip(y[300:], x[300:]):
        f.write(",".join([str(label), *map(repr, row.tolist())]) + "\\n")
"""


def test_scores_a_real_xgboost_model(pipeline_python: Path, tmp_path: Path) -> None:
    probe = subprocess.run([str(pipeline_python), "-c", "import xgboost"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("xgboost not installed in .venv-pipeline")
    (tmp_path / "model").mkdir()
    (tmp_path / "test").mkdir()
    subprocess.run([str(pipeline_python), "-c", TRAIN_AND_PACK, str(tmp_path)], check=True, timeout=120)

    result = subprocess.run(
        [
            str(pipeline_python),
            str(PROJECT / "evaluate.py"),
            "--model-dir", str(tmp_path / "model"),
            "--test-dir", str(tmp_path / "test"),
            "--output-dir", str(tmp_path / "evaluation"),
            "--model-data-url", "s3://b/k/model.tar.gz",
            "--bootstrap-rounds", "30",
        ],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip

    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    artifact = json.loads((tmp_path / "evaluation" / "artifact.json").read_text())
    auc = report["binary_classification_metrics"]["auc"]["value"]
    assert auc > 0.8, "a model of an easy signal must rank well"
    assert sum(report["binary_classification_metrics"]["confusion_matrix"]["1"].values()) > 0
    digest = hashlib.sha256((tmp_path / "model" / "model.tar.gz").read_bytes()).hexdigest()
    assert artifact["artifact_sha256"] == digest
    assert result.stdout == f"auc {auc:.4f} artifact sha256 {digest}\n"
