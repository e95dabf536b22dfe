"""preprocess.py on tiny CSVs: local files, pinned S3 object versions and prefixes (moto), and bad data."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from .conftest import load_script

preprocess = load_script("preprocess")

HEADER = "customer_id,tenure,monthly_charges,churn\n"


def rows(n: int, *, start: int = 0) -> str:
    """n customers, a third of them churners, numeric features derived from the id."""
    lines = [
        f"c{i},{i % 50},{20 + (i * 7) % 80}.5,{'yes' if i % 3 == 0 else 'no'}\n"
        for i in range(start, start + n)
    ]
    return "".join(lines)


def read_split(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_local_file_split_layout_and_manifest(tmp_path: Path) -> None:
    data = tmp_path / "churn.csv"
    data.write_text(HEADER + rows(100))
    out = tmp_path / "out"

    manifest = preprocess.run([str(data)], out, label_column="churn", drop_columns=["customer_id"])

    train, validation, test = (read_split(out / n / f"{n}.csv") for n in ("train", "validation", "test"))
    assert len(train) + len(validation) + len(test) == 100
    assert (len(validation), len(test)) == (15, 15)
    # XGBoost's CSV layout: label first (0/1), then the features in manifest order, no header.
    assert {row[0] for row in train} == {"0", "1"}
    assert all(len(row) == 3 for row in train + validation + test)
    assert manifest["feature_columns"] == ["tenure", "monthly_charges"]
    assert manifest["rows"] == {"train": 70, "validation": 15, "test": 15}
    # Stratified: each split keeps about the third of churners.
    assert manifest["positives"] == {"train": 24, "validation": 5, "test": 5}
    (entry,) = manifest["inputs"]
    assert entry["rows"] == 100
    assert entry["version_id"] is None
    assert json.loads((out / "manifest" / "manifest.json").read_text()) == manifest


def test_split_is_reproducible_and_seeded(tmp_path: Path) -> None:
    data = tmp_path / "churn.csv"
    data.write_text(HEADER + rows(60))
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((first, 7), (second, 7), (other, 8)):
        preprocess.run([str(data)], out, label_column="churn", drop_columns=["customer_id"], seed=seed)
    assert (first / "test" / "test.csv").read_text() == (second / "test" / "test.csv").read_text()
    assert (first / "test" / "test.csv").read_text() != (other / "test" / "test.csv").read_text()


def test_missing_values_stay_missing(tmp_path: Path) -> None:
    data = tmp_path / "churn.csv"
    data.write_text(HEADER + rows(40) + "c99,,30.0,1\n")
    preprocess.run([str(data)], tmp_path / "out", label_column="churn", drop_columns=["customer_id"])
    lines = [
        line
        for name in ("train", "validation", "test")
        for line in (tmp_path / "out" / name / f"{name}.csv").read_text().splitlines()
    ]
    assert "1,,30.0" in lines


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (HEADER + "c1,3,20.0,maybe\n", "line 2 column churn: label 'maybe' is not binary"),
        (HEADER + "c1,three,20.0,1\n", "line 2 column tenure: 'three' is not a number"),
        (HEADER + "c1,3,20.0\n", "line 2: 3 fields, the header has 4"),
        ("customer_id,tenure\nc1,3\n", "no label column 'churn'"),
        (HEADER + rows(3), "single class"),
        ("", "empty file"),
    ],
)
def test_bad_data_is_refused_with_the_place(tmp_path: Path, body: str, message: str) -> None:
    data = tmp_path / "churn.csv"
    data.write_text(body)
    with pytest.raises(preprocess.DataError, match=re.escape(message)):
        preprocess.run([str(data)], tmp_path / "out", label_column="churn", drop_columns=["customer_id"])


def test_inputs_must_share_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(HEADER + rows(30))
    (tmp_path / "b.csv").write_text("customer_id,tenure,churn\nc1,3,1\n")
    with pytest.raises(preprocess.DataError, match="differ from the first input"):
        preprocess.run([str(tmp_path)], tmp_path / "out", label_column="churn", drop_columns=["customer_id"])


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "churn.csv"
    data.write_text(HEADER + rows(40))
    args = ["--training-data-uris", str(data), "--drop-columns", "customer_id", "--output-dir", str(tmp_path)]
    assert preprocess.main(args) == 0
    assert json.loads(capsys.readouterr().out) == {"test": 6, "train": 28, "validation": 6}
    assert preprocess.main([*args[:-2], "--output-dir", str(tmp_path), "--label-column", "nope"]) == 1
    assert "no label column 'nope'" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ S3


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="data")
        client.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
        yield client


def test_reads_the_pinned_version_not_the_latest(s3: Any, tmp_path: Path) -> None:
    first = s3.put_object(Bucket="data", Key="churn/a.csv", Body=(HEADER + rows(40)).encode())["VersionId"]
    s3.put_object(Bucket="data", Key="churn/a.csv", Body=(HEADER + rows(80)).encode())
    uri = f"s3://data/churn/a.csv?versionId={first}"

    manifest = preprocess.run([uri], tmp_path, label_column="churn", drop_columns=["customer_id"], s3=s3)

    (entry,) = manifest["inputs"]
    assert entry["rows"] == 40
    assert entry["version_id"] == first
    assert manifest["training_data"] == uri


def test_a_prefix_is_pinned_to_the_versions_read(s3: Any, tmp_path: Path) -> None:
    versions = [
        s3.put_object(
            Bucket="data", Key=f"churn/{name}.csv", Body=(HEADER + rows(30, start=i * 30)).encode()
        )["VersionId"]
        for i, name in enumerate(("b", "a"))
    ]
    s3.put_object(Bucket="data", Key="churn/README.txt", Body=b"not data")

    manifest = preprocess.run(
        ["s3://data/churn/"], tmp_path, label_column="churn", drop_columns=["customer_id"], s3=s3
    )

    assert manifest["training_data"] == (
        f"s3://data/churn/a.csv?versionId={versions[1]},s3://data/churn/b.csv?versionId={versions[0]}"
    )
    assert sum(manifest["rows"].values()) == 60


def test_empty_prefix_is_refused(s3: Any, tmp_path: Path) -> None:
    with pytest.raises(preprocess.DataError, match=r"no \.csv object under the prefix"):
        preprocess.run(["s3://data/nothing/"], tmp_path, label_column="churn", s3=s3)


def test_an_unpinned_object_is_read_at_its_current_version(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket="data", Key="churn/a.csv", Body=(HEADER + rows(40)).encode())
    latest = s3.put_object(Bucket="data", Key="churn/a.csv", Body=(HEADER + rows(50)).encode())["VersionId"]

    manifest = preprocess.run(
        ["s3://data/churn/a.csv"], tmp_path, label_column="churn", drop_columns=["customer_id"], s3=s3
    )

    assert manifest["training_data"] == f"s3://data/churn/a.csv?versionId={latest}"
    assert manifest["inputs"][0]["requested"] == "s3://data/churn/a.csv"
    assert sum(manifest["rows"].values()) == 50


def test_a_common_prefix_naming_no_object_is_listed(s3: Any, tmp_path: Path) -> None:
    """Too many URIs for one parameter value: the control plane passes their longest common prefix."""
    for day in ("2026-11-01", "2026-11-02"):
        s3.put_object(Bucket="data", Key=f"churn/{day}.csv", Body=(HEADER + rows(30)).encode())
    s3.put_object(Bucket="data", Key="churn/2025-12-31.csv", Body=(HEADER + rows(30)).encode())

    manifest = preprocess.run(
        ["s3://data/churn/2026-11-0"], tmp_path, label_column="churn", drop_columns=["customer_id"], s3=s3
    )

    assert [entry["uri"].split("?")[0] for entry in manifest["inputs"]] == [
        "s3://data/churn/2026-11-01.csv",
        "s3://data/churn/2026-11-02.csv",
    ]
    assert all("?versionId=" in entry["uri"] for entry in manifest["inputs"])


def test_a_version_id_keeps_its_plus_signs() -> None:
    aws_example = (
        "3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"  # AWS's documented example
    )
    assert preprocess.parse_s3_uri(f"s3://data/a.csv?versionId={aws_example}") == (
        "data",
        "a.csv",
        aws_example,
    )
