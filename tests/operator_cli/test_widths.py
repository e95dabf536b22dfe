"""Every line of `mlcp report`, `mlcp lineage`, `mlcp evidence` and `mlcp pipeline show` fits 120
columns by default on realistic data (scenarios/full-loop.yaml played on the real stack: a canary
rolled back, incidents, a retraining run, gate reports with long thresholds, S3 version ids), with a
header row for tables; `--wide` prints every value in full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from e2e.conftest import play_shipped
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.scenario import load_scenario
from mlcp_cli.tables import WIDTH

from .conftest import ROOT, TEMPLATE

PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/2"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    path = ROOT / "scenarios" / "full-loop.yaml"
    scenario = load_scenario(path)
    with LocalControlPlane(TEMPLATE, parameters=scenario.parameters, start=scenario.start) as control:
        play_shipped(control, path)  # also test_scenarios.py's checks of full-loop.yaml
        yield control


def _widest(cli: Any, *args: str) -> tuple[int, list[str]]:
    code, out, err = cli(*args, "--local")
    assert code == 0, err
    lines = out.splitlines()
    assert lines, args
    return max(len(line) for line in lines), lines


def test_report_fits_with_a_header_row_and_wide_adds_the_means(cp: LocalControlPlane, cli: Any) -> None:
    width, lines = _widest(cli, "report", "--since", "2025-12-01")
    assert width <= WIDTH
    assert lines[1].split()[:3] == ["group", "deploys", "ok/rb/fail"]
    assert set(lines[2]) <= {"-", " "}
    assert [line.split()[0] for line in lines[3:5]] == ["overall", "churn-model"]
    wide, wide_lines = _widest(cli, "report", "--since", "2025-12-01", "--wide")
    assert "lead mean" in wide_lines[1]
    assert "restore mean" in wide_lines[1]
    assert wide > width


def test_lineage_fits_and_wide_shows_every_value_in_full(cp: LocalControlPlane, cli: Any) -> None:
    width, lines = _widest(cli, "lineage", "churn-prod")
    assert width <= WIDTH
    assert any("..." in line for line in lines)  # the version id, the thresholds: cut in the middle
    wide, wide_lines = _widest(cli, "lineage", "churn-prod", "--wide")
    assert wide > WIDTH
    data = next(line for line in wide_lines if "training data: s3://" in line)
    assert "?versionId=" in data
    assert "..." not in data


def test_evidence_fits_as_markdown_and_wide_keeps_every_cell(cp: LocalControlPlane, cli: Any) -> None:
    width, lines = _widest(cli, "evidence", PACKAGE)
    assert width <= WIDTH
    rows = [line for line in lines if line.startswith("| ")]
    assert rows
    assert all(line.endswith(" |") for line in rows)
    assert "| gate | outcome | hard | threshold | observed | reason |" in lines
    wide, _ = _widest(cli, "evidence", PACKAGE, "--wide")
    assert wide > WIDTH


def test_pipeline_show_fits_with_an_executions_table(cp: LocalControlPlane, cli: Any) -> None:
    width, lines = _widest(cli, "pipeline", "show", "churn-training")
    assert width <= WIDTH
    header = next(i for i, line in enumerate(lines) if line.startswith("execution "))
    assert lines[header].split() == ["execution", "status", "started", "last", "modified"]
    assert lines[header + 2].split()[1] == "Succeeded"
    wide, wide_lines = _widest(cli, "pipeline", "show", "churn-training", "--wide")
    assert wide > WIDTH
    assert any(line.rstrip().endswith(lines[header + 2].split()[0]) for line in wide_lines)  # the full ARN


def test_doctor_and_audit_verify_fit_and_a_folded_fix_still_pastes(cp: LocalControlPlane, cli: Any) -> None:
    code, out, _ = cli("doctor", "--local")
    assert code in (0, 1)  # local mode has no subscriptions or trail: failures with their fixes
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    folded = [i for i, line in enumerate(lines) if line.endswith(" \\")]
    assert folded  # the long `aws sns subscribe ...` fixes, folded with shell continuations
    whole = " ".join(part.rstrip(" \\").strip() for part in lines[folded[0] : folded[0] + 2])
    assert whole.startswith("fix: aws sns subscribe --topic-arn arn:aws:sns:")
    code, out, err = cli("audit", "verify", "--local")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    assert "OK:" in out  # the summary (folded when long)
