"""mlcp lineage, evidence and report on the emulator, after the shipped canary-rollback scenario and
a follow-up: training data lands, the 5xx alarm recovers (its incident resolves), v3 is trained on
that data and goes live. The HTML report is rendered by a real headless Chromium.

Known answers of this run: 3 deployments finished (v1 promoted, v2 rolled back by the guardrails,
v3 promoted), 1 rollback → change-failure rate 1/3; 2 incidents opened (the alarm, the rollback),
1 resolved; no retraining.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction
from mlcp_cli.commands.lineage import show_lineage, write_evidence
from mlcp_cli.commands.report import build_report, run_report
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.kpis import format_duration
from mlcp_cli.main import main
from mlcp_cli.scenario import Scenario, ScenarioRunner, load_scenario

from .conftest import ROOT, TEMPLATE

CHURN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model"
DATA_KEY = "training-data/churn-model/part-0001.csv"
FOLLOW_UP = """
name: lineage-follow-up
steps:
  - set_alarm_state: {name: churn-prod-5xx, state: OK, reason: "5xx back to 0"}
  - as: ml-engineer
    register_model_package: {group: churn-model, metrics: {auc: 0.94, recall: 0.82}, training_data_version: VERSION}
  - as: reviewer
    approve_model_package: {group: churn-model, version: 3}
  - wait: {seconds: 1800}
  - expect:
      endpoint: {name: churn-prod, status: InService, serves: {group: churn-model, version: 3}}
      incidents: {resource: endpoint/churn-prod, cause: "alarm:churn-prod-5xx", open: 0}
"""


class Played:
    def __init__(self, cp: LocalControlPlane, table: str) -> None:
        self.cp = cp
        self.table = table
        self.trail = AuditTrail(table, client=cp.client("dynamodb"))


@pytest.fixture(scope="module")
def played() -> Iterator[Played]:
    scenario = load_scenario(ROOT / "scenarios" / "canary-rollback.yaml")
    with LocalControlPlane(TEMPLATE, start=scenario.start) as cp:
        runner = ScenarioRunner(cp, root=ROOT, timeline=None)
        assert runner.run(scenario).ok
        data = load_scenario_text(
            """
name: data
steps:
  - create_bucket: {name: mlcp-training-data, versioning: true, eventbridge: true}
  - put_object: {bucket: mlcp-training-data, key: KEY, body: "tenure,churned\\n3,1\\n"}
""".replace("KEY", DATA_KEY)
        )
        runner.run(data)
        table = cp.stack.physical_id("AuditTable")
        arrived = AuditTrail(table, client=cp.client("dynamodb")).read("data#mlcp-training-data")
        version = next(r.evidence["version_id"] for r in arrived if r.action == AuditAction.DATA_ARRIVED)
        result = runner.run(load_scenario_text(FOLLOW_UP.replace("VERSION", json.dumps(version))))
        assert result.ok, result.failures
        yield Played(cp, table)


def load_scenario_text(text: str) -> Scenario:
    return Scenario.model_validate(yaml.safe_load(text))


# ---------------------------------------------------------------------------- lineage


def test_lineage_of_the_endpoint_walks_from_data_to_the_deployment(
    played: Played, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _Out()
    assert (
        show_lineage("churn-prod", audit_table=played.table, client=played.cp.client, as_json=True, out=out)
        == 0
    )
    lineage = json.loads(out.text)
    assert lineage["package_arn"] == f"{CHURN}/3"
    assert lineage["ok"] is True
    assert lineage["broken_streams"] == []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for link in lineage["links"]:
        by_kind.setdefault(link["kind"], []).append(link)

    (data,) = by_kind["training_data"]
    assert data["status"] == "verified"
    assert data["facts"]["key"] == DATA_KEY
    assert data["citations"][0]["stream"] == "data#mlcp-training-data"
    assert data["citations"][0]["action"] == "data.arrived"

    (pipeline,) = by_kind["pipeline_execution"]  # the seeded package names a run mlcp never started
    assert pipeline["status"] == "unrecorded"
    assert "retraining.started" in pipeline["note"]

    (package,) = by_kind["model_package"]
    assert package["facts"]["created_by"].endswith("user/ml-engineer")
    assert package["citations"][0]["action"] == "gates.evaluated"

    gates = by_kind["gate_report"]
    assert [g["facts"]["stage"] for g in gates] == ["registration", "approval", "deployment"]
    assert all(g["status"] == "verified" for g in gates)
    regression = next(g for g in gates[0]["facts"]["gates"] if g["gate"] == "regression")
    assert regression["outcome"] == "pass"
    assert regression["observed"] is not None

    (approval,) = by_kind["approval"]
    assert approval["facts"]["decision"] == "approved"
    assert approval["facts"]["approved_by"].endswith("user/reviewer")

    (config,) = by_kind["endpoint_config"]
    assert config["facts"]["config"] == "churn-prod-churn-model-v3"
    assert config["facts"]["serving_now"] is True
    (deployment,) = by_kind["deployment"]
    assert deployment["facts"]["outcome"] == "promoted"
    # every citation is a real record of the trail: its hash is the one stored at (stream, seq)
    for link in lineage["links"]:
        for citation in link["citations"]:
            stored = played.trail.read(citation["stream"])[citation["seq"] - 1]
            assert stored.hash == citation["hash"]
            assert stored.action.value == citation["action"]


def test_lineage_of_the_rolled_back_version_shows_the_rollback_and_its_incident(played: Played) -> None:
    out = _Out()
    assert (
        show_lineage(f"{CHURN}/2", audit_table=played.table, client=played.cp.client, as_json=False, out=out)
        == 0
    )
    tree = out.text
    assert tree.startswith(f"lineage of {CHURN}/2\n")
    assert "deployment: churn-prod: rolled_back  [verified]" in tree
    assert "churn-prod-5xx in ALARM state (AutoRollbackConfiguration)" in tree
    assert "incident: inc-" in tree
    assert "rolled back" in tree
    assert "deployment.rolled_back @ endpoint#churn-prod seq" in tree
    assert tree.rstrip().endswith("every cited chain verifies")


def test_lineage_of_an_unknown_endpoint_is_an_error(
    played: Played, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        show_lineage(
            "nope-prod", audit_table=played.table, client=played.cp.client, as_json=False, out=_Out()
        )
        == 2
    )
    assert "no deployment to endpoint 'nope-prod'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- evidence


def test_evidence_writes_markdown_and_json_with_the_same_content(played: Played, tmp_path: Path) -> None:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    code = write_evidence(
        f"{CHURN}/2",
        audit_table=played.table,
        client=played.cp.client,
        out_dir=tmp_path,
        as_json=False,
        out=_Out(),
        now=now,
    )
    assert code == 0
    document = json.loads((tmp_path / "churn-model-v2.evidence.json").read_text())
    markdown = (tmp_path / "churn-model-v2.evidence.md").read_text()
    assert document["identity"]["version"] == 2
    assert document["identity"]["risk_tier"] == "medium"
    assert [g["stage"] for g in document["gates"]] == ["registration", "approval", "deployment"]
    assert document["approval"]["approved_by"].endswith("user/reviewer")
    assert [d["outcome"] for d in document["deployments"]] == ["rolled_back"]
    (incident,) = document["incidents"]
    assert incident["cause"] == "deployment.rolled_back"
    assert incident["resolved_at"] is None
    assert document["chain_verification"]["ok"] is True
    assert set(document["chain_verification"]["streams"]) == {"group#churn-model", "endpoint#churn-prod"}
    # the Markdown carries the same facts: identity, every gate, every cited hash, the verdict
    assert markdown.startswith("# Model evidence: churn-model v2\n")
    for value in document["identity"].values():
        if isinstance(value, str | int) and value:
            assert str(value) in markdown
    for gates in document["gates"]:
        for gate in gates["gates"]:
            assert f"| {gate['gate']} | {gate['outcome']} |" in markdown
    for link in document["lineage"]:
        for citation in link["citations"]:
            assert citation["hash"][:16] in markdown
    assert incident["incident_id"] in markdown
    assert "Result: **OK**" in markdown


def test_a_tampered_record_makes_lineage_and_evidence_fail(
    played: Played, capsys: pytest.CaptureFixture[str]
) -> None:
    ddb = played.cp.client("dynamodb")
    key = {"pk": {"S": "group#churn-model"}, "sk": {"S": "rec#000000000001"}}
    original = ddb.get_item(TableName=played.table, Key=key)["Item"]
    try:
        ddb.put_item(TableName=played.table, Item=original | {"actor": {"S": "someone-else"}})
        out = _Out()
        assert (
            show_lineage(
                f"{CHURN}/1", audit_table=played.table, client=played.cp.client, as_json=False, out=out
            )
            == 1
        )
        assert "[UNVERIFIED]" in out.text
        assert "BROKEN chains: group#churn-model" in out.text
        code = write_evidence(
            f"{CHURN}/1",
            audit_table=played.table,
            client=played.cp.client,
            out_dir=None,
            as_json=True,
            out=out,
        )
        assert code == 1
        assert json.loads(out.parts[-1])["chain_verification"]["streams"]["group#churn-model"]["ok"] is False
    finally:
        ddb.put_item(TableName=played.table, Item=original)


# ---------------------------------------------------------------------------- KPIs and the HTML report


def test_report_kpis_on_the_scenario(played: Played) -> None:
    report = build_report(played.table, client=played.cp.client, since="30d", now=datetime.now(UTC))
    overall = report.overall
    assert (overall.deployments, overall.promoted, overall.rolled_back, overall.failed) == (3, 2, 1, 0)
    assert overall.change_failure_rate == pytest.approx(1 / 3, abs=1e-4)
    assert (overall.incidents_opened, overall.incidents_resolved) == (2, 1)
    assert overall.retrainings == 0
    assert overall.lead_time_samples == 2
    # time to restore agrees with what the incident service itself recorded on resolution
    resolved = [
        r for r in played.trail.read("endpoint#churn-prod") if r.action == AuditAction.INCIDENT_RESOLVED
    ]
    assert overall.time_to_restore_median_seconds == pytest.approx(
        resolved[0].evidence["mttr_seconds"], abs=1e-3
    )
    # lead time: registration record → promotion record, per promoted version
    group = played.trail.read("group#churn-model")
    endpoint = played.trail.read("endpoint#churn-prod")
    expected = [
        (
            _at(next(r for r in endpoint if r.action == AuditAction.DEPLOYMENT_PROMOTED and r.subject == arn))
            - _at(next(r for r in group if r.subject == arn))
        ).total_seconds()
        for arn in (f"{CHURN}/1", f"{CHURN}/3")
    ]
    assert overall.lead_time_mean_seconds == pytest.approx(sum(expected) / 2)
    assert set(report.groups) == {"churn-model"}
    assert report.groups["churn-model"].incidents_opened == 2
    assert [e.kind for e in report.timeline].count("deployment") == 2
    assert report.chain_ok


def test_report_through_the_cli_writes_html_that_chromium_renders(
    played: Played, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = _chromium()
    html = tmp_path / "report.html"
    monkeypatch.setenv("MLCP_AUDIT_TABLE", played.table)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["report", "--html", str(html)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^overall\s+3\s+2/1/0\s", text, re.M), text
    assert "33.3%" in text
    assert f"wrote {html}" in text
    page = html.read_text()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "<script" not in page

    profile = tmp_path / "profile"
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--window-size=1200,900"]  # fmt: skip
    dom = subprocess.run(
        [*base, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    parsed = _Elements()
    parsed.feed(dom)
    cards = dict(parsed.cards.items())
    assert cards["deployments"].startswith("Deployments3")
    assert "33.3%" in cards["change_failure_rate"]
    assert cards["time_to_restore"].startswith("Time to restore" + format_duration(_ttr(played)))
    assert parsed.marks == {"deployment": 2, "rollback": 1, "incident": 2}
    assert parsed.tag_of_mark == {"deployment": "circle", "rollback": "polygon", "incident": "rect"}
    assert "audit chain verified" in parsed.text

    png = tmp_path / "report.png"
    subprocess.run(
        [*base, f"--screenshot={png}", html.as_uri()], capture_output=True, timeout=120, check=True
    )
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1200, 900)
    keep = os.environ.get("MLCP_KEEP_REPORT")
    if keep:  # look at it: MLCP_KEEP_REPORT=/tmp/report pytest ...
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / "report.png")
        shutil.copy(html, Path(keep) / "report.html")


def test_report_json_and_bad_since(played: Played, capsys: pytest.CaptureFixture[str]) -> None:
    out = _Out()
    assert (
        run_report(played.table, client=played.cp.client, since="2w", html=None, as_json=True, out=out) == 0
    )
    document = json.loads(out.text)
    assert document["overall"]["deployments"] == 3
    assert document["chain"]["ok"] is True
    assert main(["report", "--since", "yesterday", "--audit-table", played.table]) == 2
    assert "use 30d, 12h, 90m, 2w or an ISO date" in capsys.readouterr().err


# ---------------------------------------------------------------------------- helpers


def _at(record: Any) -> datetime:
    return datetime.fromisoformat(record.at)


def _ttr(played: Played) -> float:
    resolved = [
        r for r in played.trail.read("endpoint#churn-prod") if r.action == AuditAction.INCIDENT_RESOLVED
    ]
    return float(resolved[0].evidence["mttr_seconds"])


def _chromium() -> str:
    """Chromium, or a skip on a developer machine without it; CI and `make test` require it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("MLCP_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is required here (make test installs it: apt-get install chromium)")
    pytest.skip("chromium is not installed (make test installs it)")


class _Out:
    """A text sink that keeps what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class _Elements(HTMLParser):
    """KPI cards (text by data-kpi), timeline marks by kind, and the page text."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, str] = {}
        self.marks: dict[str, int] = {}
        self.tag_of_mark: dict[str, str] = {}
        self._card: str | None = None
        self._depth = 0
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if "mark" in classes:
            kind = next(c for c in classes if c != "mark")
            self.marks[kind] = self.marks.get(kind, 0) + 1
            self.tag_of_mark[kind] = tag
        if values.get("data-kpi"):
            self._card, self._depth = values["data-kpi"], 0
            self.cards[self._card] = ""
        elif self._card is not None and tag == "div":
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._card is not None and tag == "div":
            if self._depth == 0:
                self._card = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._card is not None:
            self.cards[self._card] += data
