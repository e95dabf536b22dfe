"""Preprocessing step of the churn training pipeline (runs in the SageMaker scikit-learn container).

Reads the exact object versions named by ``--training-data-uris`` (the pipeline's ``TrainingDataUris``
parameter: comma-separated ``s3://bucket/key?versionId=...``), splits the rows into train / validation /
test (stratified on the label, seeded), writes them in the layout the built-in XGBoost algorithm reads
(CSV, no header, label first) and records what was read in ``manifest/manifest.json``: for each input the
version actually returned by S3, its SHA-256 and row count, plus the feature order the model is trained on.

Only the standard library and boto3 (for ``s3://`` inputs) are used, and nothing newer than Python 3.8
(the processing containers' interpreters), so the script runs anywhere; a path without a scheme is read
from the local disk (handy for tests and dry runs).

    python3 preprocess.py --training-data-uris "s3://b/churn.csv?versionId=3" --label-column churn
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

TRUE_LABELS = frozenset({"1", "1.0", "true", "yes", "y", "t"})
FALSE_LABELS = frozenset({"0", "0.0", "false", "no", "n", "f"})
SPLITS = ("train", "validation", "test")


class DataError(ValueError):
    """The input data cannot be used as it is (the message names the input, line and column)."""


@dataclass(frozen=True)
class Source:
    """One input as read: where from, which version, what it hashed to."""

    uri: str
    version_id: str | None
    sha256: str
    body: bytes = field(repr=False)

    @property
    def versioned_uri(self) -> str:
        """The URI pinned to the version that was read (unchanged for local files)."""
        if not self.uri.startswith("s3://") or not self.version_id:
            return self.uri
        return f"{self.uri.split('?', 1)[0]}?versionId={self.version_id}"


def split_uris(raw: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_s3_uri(uri: str) -> tuple[str, str, str | None]:
    """``s3://bucket/key?versionId=v`` -> (bucket, key, v or None); the key may be empty (a bucket)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise DataError(f"{uri}: not an s3://bucket/key URI")
    # Not parse_qs: S3 version ids contain a literal "+", which form decoding turns into a space.
    version = next(
        (
            unquote(value)
            for name, _, value in (pair.partition("=") for pair in parts.query.split("&"))
            if name == "versionId" and value
        ),
        None,
    )
    return parts.netloc, parts.path.lstrip("/"), version


def expand(uri: str, s3: Any = None) -> list[str]:
    """One ``TrainingDataUris`` entry -> the objects to read.

    A pinned object (``?versionId=``) is itself. The control plane may instead pass data prefixes
    (``s3://bucket/prefix/``) or, when the list is too long for a parameter, their longest common prefix
    (any string): an entry ending in ``/``, or naming no object, is listed and its ``.csv`` objects are
    read at their current versions (which ``read_source`` records). A local directory gives its ``*.csv``.
    """
    if uri.startswith("s3://"):
        bucket, key, version = parse_s3_uri(uri)
        if version:
            return [uri]
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        if not uri.endswith("/") and _object_exists(s3, bucket, key):
            return [uri]
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            keys += [item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(".csv")]
        if not keys:
            raise DataError(f"{uri}: no .csv object under the prefix")
        return [f"s3://{bucket}/{key}" for key in sorted(keys)]
    path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
    if path.is_dir():
        files = sorted(str(child) for child in path.glob("*.csv"))
        if not files:
            raise DataError(f"{uri}: no .csv file in the directory")
        return files
    return [uri]


def _object_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # botocore's ClientError; not imported so the module loads without boto3
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return False
        raise
    return True


def read_source(uri: str, s3: Any = None) -> Source:
    """Read one input: an S3 object (the pinned version when the URI has one) or a local file."""
    if uri.startswith("s3://"):
        bucket, key, version = parse_s3_uri(uri)
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        request = {"Bucket": bucket, "Key": key}
        if version:
            request["VersionId"] = version
        response = s3.get_object(**request)
        body = response["Body"].read()
        returned = response.get("VersionId")
        version_id = returned if returned and returned != "null" else version
    else:
        body = Path(uri[len("file://") :] if uri.startswith("file://") else uri).read_bytes()
        version_id = None
    return Source(uri=uri, version_id=version_id, sha256=hashlib.sha256(body).hexdigest(), body=body)


def parse_label(value: str, where: str) -> int:
    text = value.strip().lower()
    if text in TRUE_LABELS:
        return 1
    if text in FALSE_LABELS:
        return 0
    raise DataError(f"{where}: label {value!r} is not binary (0/1, true/false, yes/no)")


def parse_feature(value: str, where: str) -> float:
    text = value.strip()
    if not text:
        return math.nan
    try:
        number = float(text)
    except ValueError:
        raise DataError(
            f"{where}: {value!r} is not a number (encode categorical features upstream)"
        ) from None
    if math.isinf(number):
        raise DataError(f"{where}: {value!r} is infinite")
    return number


def read_rows(
    source: Source, label_column: str, drop_columns: Sequence[str], features: list[str] | None
) -> tuple[list[str], list[tuple[int, list[float]]]]:
    """Parse one CSV (with a header) into ``(feature names, [(label, features)])``.

    The first input fixes the feature order; later inputs must have the same columns (in any order).
    """
    reader = csv.reader(io.StringIO(source.body.decode("utf-8-sig")))
    header = next(reader, None)
    if header is None:
        raise DataError(f"{source.uri}: empty file")
    header = [name.strip() for name in header]
    if len(set(header)) != len(header):
        raise DataError(f"{source.uri}: duplicate column names in the header")
    if label_column not in header:
        raise DataError(f"{source.uri}: no label column {label_column!r} in the header {header}")
    own = [name for name in header if name != label_column and name not in drop_columns]
    if features is None:
        features = own
    elif sorted(own) != sorted(features):
        raise DataError(
            f"{source.uri}: columns {sorted(own)} differ from the first input's {sorted(features)}"
        )
    index = {name: position for position, name in enumerate(header)}
    rows: list[tuple[int, list[float]]] = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise DataError(f"{source.uri} line {line}: {len(record)} fields, the header has {len(header)}")
        label = parse_label(record[index[label_column]], f"{source.uri} line {line} column {label_column}")
        values = [
            parse_feature(record[index[name]], f"{source.uri} line {line} column {name}") for name in features
        ]
        rows.append((label, values))
    return features, rows


def stratified_split(
    rows: Sequence[tuple[int, list[float]]], validation: float, test: float, seed: int
) -> dict[str, list[tuple[int, list[float]]]]:
    """Shuffle each class with ``seed`` and cut it into train / validation / test by the fractions."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise DataError("validation and test fractions must be in (0, 1) and leave rows for training")
    rng = random.Random(seed)  # noqa: S311 - seeded for reproducibility, not for secrets
    out: dict[str, list[tuple[int, list[float]]]] = {name: [] for name in SPLITS}
    for label in (0, 1):
        members = [row for row in rows if row[0] == label]
        rng.shuffle(members)
        n_test = round(len(members) * test)
        n_validation = round(len(members) * validation)
        out["test"] += members[:n_test]
        out["validation"] += members[n_test : n_test + n_validation]
        out["train"] += members[n_test + n_validation :]
    for name in SPLITS:
        rng.shuffle(out[name])
        if len({label for label, _ in out[name]}) < 2:
            raise DataError(f"the {name} split has a single class: more rows of each label are needed")
    return out


def format_value(value: float) -> str:
    return "" if math.isnan(value) else repr(value)


def write_split(path: Path, rows: Iterable[tuple[int, list[float]]]) -> None:
    """CSV without a header, label first: the built-in XGBoost algorithm's text/csv layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for label, values in rows:
            writer.writerow([label, *(format_value(v) for v in values)])


def run(
    uris: Sequence[str],
    output_dir: Path,
    *,
    label_column: str,
    drop_columns: Sequence[str] = (),
    validation: float = 0.15,
    test: float = 0.15,
    seed: int = 42,
    s3: Any = None,
) -> dict[str, Any]:
    """Read, split and write; returns the manifest (also written to ``manifest/manifest.json``)."""
    uris = [item for uri in uris for item in expand(uri, s3)]
    if not uris:
        raise DataError("no training data URIs")
    features: list[str] | None = None
    rows: list[tuple[int, list[float]]] = []
    inputs: list[dict[str, Any]] = []
    for uri in uris:
        source = read_source(uri, s3)
        features, own = read_rows(source, label_column, drop_columns, features)
        rows += own
        inputs.append(
            {
                "uri": source.versioned_uri,
                "requested": uri,
                "version_id": source.version_id,
                "sha256": source.sha256,
                "rows": len(own),
            }
        )
    assert features is not None
    splits = stratified_split(rows, validation, test, seed)
    for name in SPLITS:
        write_split(output_dir / name / f"{name}.csv", splits[name])
    manifest = {
        "inputs": inputs,
        "training_data": ",".join(item["uri"] for item in inputs),
        "label_column": label_column,
        "feature_columns": features,
        "dropped_columns": list(drop_columns),
        "rows": {name: len(splits[name]) for name in SPLITS},
        "positives": {name: sum(label for label, _ in splits[name]) for name in SPLITS},
        "seed": seed,
    }
    target = output_dir / "manifest" / "manifest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--training-data-uris", required=True, help="comma-separated s3://...?versionId= URIs"
    )
    parser.add_argument("--label-column", default="churn")
    parser.add_argument("--drop-columns", default="", help="comma-separated columns that are not features")
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output-dir", type=Path, default=Path("/opt/ml/processing"))
    args = parser.parse_args(argv)
    try:
        manifest = run(
            split_uris(args.training_data_uris),
            args.output_dir,
            label_column=args.label_column,
            drop_columns=split_uris(args.drop_columns),
            validation=args.validation_fraction,
            test=args.test_fraction,
            seed=args.seed,
        )
    except DataError as exc:
        sys.stderr.write(f"preprocess: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(manifest["rows"], sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
