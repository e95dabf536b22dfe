"""Pure helpers of `python -m mlcp_cli.bench`: no timing assertions anywhere."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from mlcp_cli import bench
from mlcp_cli.template import load_template

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bench" / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, object]:
    return load_template(FIXTURE)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([3.0], 3.0), ([5.0, 1.0, 3.0], 3.0), ([4.0, 1.0, 2.0, 3.0], 2.5), ([9.0, 1.0, 1.0, 1.0, 100.0], 1.0)],
)
def test_median(values: list[float], expected: float) -> None:
    assert bench.median(values) == expected
    assert bench.median(iter(values)) == expected


def test_median_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        bench.median([])


def test_zip_size_counts_every_file_and_is_a_valid_deflate_zip(tmp_path: Path) -> None:
    (tmp_path / "python" / "pkg").mkdir(parents=True)
    (tmp_path / "python" / "pkg" / "__init__.py").write_text("x = 1\n" * 2000)  # 12000 bytes, compressible
    (tmp_path / "python" / "blob.bin").write_bytes(os.urandom(4096))  # incompressible
    (tmp_path / "empty.txt").write_bytes(b"")

    size = bench.zip_size(tmp_path)

    assert size.files == 3
    assert size.unzipped_bytes == 12000 + 4096
    # Deflate shrinks the repetitive file far below its size; random bytes stay about as large.
    assert 4096 < size.zipped_bytes < 12000
    assert size.zipped_mib == size.zipped_bytes / (1024 * 1024)
    assert size.unzipped_mib == size.unzipped_bytes / (1024 * 1024)


def test_zip_size_matches_a_real_archive(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(tmp_path / "app.py", "app.py")
    assert bench.zip_size(tmp_path).zipped_bytes == len(buffer.getvalue())


def test_zip_size_of_empty_directory(tmp_path: Path) -> None:
    size = bench.zip_size(tmp_path)
    assert (size.files, size.unzipped_bytes) == (0, 0)
    assert size.zipped_bytes == 22  # an empty zip is just its end-of-central-directory record


def test_function_environment_overlays_globals_with_dummies(template: dict[str, object]) -> None:
    env = bench.function_environment(template, "IngestFunction")
    assert env == {
        "POWERTOOLS_METRICS_NAMESPACE": "mlcp",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",  # the function's own value wins over Globals
        "POWERTOOLS_SERVICE_NAME": "ingest",
        "MLCP_ENVIRONMENT": "dev",  # !Ref to a parameter -> its Default
        "MLCP_AUDIT_TABLE": "bench-mlcp-audit-table",  # !Ref to a resource -> dummy name
        "MLCP_REJECTED_EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench-mlcp-rejected-events-queue-url",
        "MLCP_DEBUG": "false",
        "MLCP_DATA_BUCKET": "mlcp-training-data",
        "MLCP_PIPELINE_ARN": "arn:aws:lambda:us-east-1:123456789012:function:bench-mlcp-pipeline-arn",
        "MLCP_LOG_LEVEL": "DEBUG",
    }


def test_function_environment_without_a_template_function(template: dict[str, object]) -> None:
    env = bench.function_environment(template, None)
    assert "POWERTOOLS_SERVICE_NAME" not in env
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "mlcp"
    assert bench.function_environment({}, None) == {}


def test_handler_environment_sets_the_region(template: dict[str, object]) -> None:
    env = bench.handler_environment(template, "PlainFunction")
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_functions_by_code_dir(template: dict[str, object]) -> None:
    assert bench.functions_by_code_dir(template) == {
        "functions/ingest": "IngestFunction",
        "functions/plain": "PlainFunction",
    }


def test_function_layers(template: dict[str, object]) -> None:
    assert bench.function_layers(template, "IngestFunction") == ["RuntimeLayer"]  # from Globals
    assert bench.function_layers(template, "PlainFunction") == ["RuntimeLayer", "ExtraLayer"]


def test_artifact_sizes_reports_built_and_missing(tmp_path: Path, template: dict[str, object]) -> None:
    (tmp_path / "RuntimeLayer" / "python").mkdir(parents=True)
    (tmp_path / "RuntimeLayer" / "python" / "m.py").write_text("a" * 1000)
    (tmp_path / "IngestFunction").mkdir()
    (tmp_path / "IngestFunction" / "app.py").write_text("b" * 100)

    rows = {row["logical_id"]: row for row in bench.artifact_sizes(template, tmp_path)}

    assert rows["RuntimeLayer"]["kind"] == "layer"
    assert rows["RuntimeLayer"]["unzipped_bytes"] == 1000
    assert rows["IngestFunction"]["unzipped_with_layers_bytes"] == 1100
    assert rows["PlainFunction"]["error"] == "not built"
    assert rows["ExtraLayer"]["error"] == "not built"
    assert list(rows)[:2] == ["ExtraLayer", "RuntimeLayer"]  # layers first


def test_timing_snippet_round_trip() -> None:
    program = bench.timing_snippet("import json\nx = json.dumps(1)", sys_path=["/nowhere"])
    namespace: dict[str, object] = {}
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        exec(program, namespace)
    finally:
        sys.stdout = stdout
    assert namespace["x"] == "1"
    assert bench.parse_seconds("noise\n" + out.getvalue()) >= 0
    sys.path.remove("/nowhere")


def test_parse_seconds_needs_the_marker() -> None:
    with pytest.raises(ValueError, match="no timing"):
        bench.parse_seconds("0.25\n")


def test_time_imports_collects_samples_and_reports_failures(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import os\nVALUE = os.environ['MLCP_AUDIT_TABLE']\n")
    job = bench.ImportJob(
        bench.ImportTiming("app"), "import app", {"MLCP_AUDIT_TABLE": "t"}, [str(tmp_path)], tmp_path
    )
    failing = bench.ImportJob(bench.ImportTiming("app"), "import app", {}, [str(tmp_path)], tmp_path)
    ok, missing = bench.time_imports([job, failing], runs=2)
    assert ok.error is None
    assert len(ok.samples_ms) == 2
    assert ok.median_ms == bench.median(ok.samples_ms)
    assert missing.median_ms is None
    assert missing.error is not None
    assert "KeyError" in missing.error


def test_timing_snippet_reports_cpu_seconds_too() -> None:
    program = bench.timing_snippet("x = sum(range(1000))")
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        exec(program, {})
    finally:
        sys.stdout = stdout
    assert bench.parse_seconds(out.getvalue(), bench._CPU_MARKER) >= 0
    assert bench.parse_seconds(out.getvalue()) >= 0


def test_time_imports_keeps_wall_and_cpu_samples(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("VALUE = 1\n")
    (timing,) = bench.time_imports(
        [bench.ImportJob(bench.ImportTiming("app"), "import app", {}, [str(tmp_path)], tmp_path)], runs=3
    )
    assert len(timing.samples_ms) == len(timing.cpu_samples_ms) == 3
    assert timing.cpu_median_ms == bench.median(timing.cpu_samples_ms)
    json.dumps(dataclasses.asdict(timing))


def test_dummy_value_of_a_sub_fills_parameters_pseudo_parameters_and_resources() -> None:
    parameters = {"Stage": {"Type": "String", "Default": "dev"}}
    value = {"Fn::Sub": "${PolicyApplication}/${Stage}/${AWS::Region}:${AWS::AccountId}"}
    assert bench.dummy_value("MLCP_POLICY_APPCONFIG", value, parameters) == (
        "bench-policyapplication/dev/us-east-1:123456789012"
    )
    assert bench.dummy_value("X", {"Fn::Sub": ["arn:${AWS::Partition}:s3:::${B}", {}]}, {}) == (
        "arn:aws:s3:::bench-b"
    )


def test_the_real_templates_stand_ins_pass_every_functions_configuration() -> None:
    # The cold-import figures read "-" whenever a stand-in fails a handler's config check at import
    # (it happened with !Sub, then with !Ref AWS::AccountId and !Join of a list): validate them all.
    from mlcp.config import CoreConfig

    root = Path(__file__).resolve().parents[2]
    template = load_template(root / "template.yaml")
    for logical_id in bench.functions_by_code_dir(template).values():
        environment = bench.function_environment(template, logical_id)
        if "MLCP_AUDIT_TABLE" in environment:
            CoreConfig.model_validate(environment)
    assert bench.dummy_value("A", {"Ref": "AWS::AccountId"}, {}) == "123456789012"
    lists = {"Ids": {"Type": "CommaDelimitedList", "Default": ""}}
    assert bench.dummy_value("B", {"Fn::Join": [",", {"Ref": "Ids"}]}, lists) == ""


def test_drop_bytecode_removes_our_caches_only(tmp_path: Path) -> None:
    ours = [
        tmp_path / "layers" / "mlcp" / "mlcp" / "__pycache__",
        tmp_path / "functions" / "f" / "__pycache__",
    ]
    theirs = tmp_path / ".venv" / "lib" / "__pycache__"
    for cache in [*ours, theirs]:
        cache.mkdir(parents=True)
        (cache / "m.cpython-313.pyc").write_bytes(b"")
    assert bench.drop_bytecode(tmp_path) == sorted(ours)
    assert not any(cache.exists() for cache in ours)
    assert theirs.exists()
