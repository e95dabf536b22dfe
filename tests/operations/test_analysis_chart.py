"""The HTML report draws each analysis (canary or shadow) candidate vs baseline per metric, inline
SVG without scripts, from the reports the analysis wrote, checked against their audit records."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mlcp.adapters.reports import report_body
from mlcp.analysis.judge import MetricCriteria, judge
from mlcp_cli.commands.report import analysis_reports
from mlcp_cli.html_report import analysis_html, render_html
from mlcp_cli.kpis import compute_report

from .trails import Trail, at, package

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _document(shift: float = 1.3) -> dict[str, Any]:
    """An analysis report as the analysis writes it (the judge's own output, real samples)."""
    rng = random.Random(19)
    minutes = [START + timedelta(minutes=m) for m in range(1, 31)]
    series: dict[str, dict[str, Any]] = {}
    samples: dict[str, tuple[list[float], list[float]]] = {}
    for name, mean in (("ModelLatency", 40_000.0), ("OverheadLatency", 5_000.0)):
        cand = [rng.gauss(mean * shift, mean * 0.1) for _ in minutes]
        base = [rng.gauss(mean, mean * 0.1) for _ in minutes]
        samples[name] = (cand, base)
        series[name] = {
            "candidate": [[t.isoformat(), v] for t, v in zip(minutes, cand, strict=True)],
            "baseline": [[t.isoformat(), v] for t, v in zip(minutes, base, strict=True)],
        }
    judgement = judge(samples, [MetricCriteria(name=n) for n in samples])
    return {
        "endpoint": "scoring-prod",
        "phase": "shadow",
        "window": {"start": START.isoformat(), "end": (START + timedelta(minutes=31)).isoformat()},
        "candidate": {"label": "shadow-v2"},
        "baseline": {"label": "AllTraffic"},
        "judgement": judgement.to_dict(),
        "samples": series,
    }


def test_each_metric_is_drawn_candidate_against_baseline_with_its_classification() -> None:
    document = _document()
    html = analysis_html(document)
    assert html.count('<svg class="metric"') == 2
    for name in ("ModelLatency", "OverheadLatency"):
        panel = html[html.index(f'data-metric="{name}"') :].split("</svg>", 1)[0]
        assert panel.count('class="series candidate"') == 1
        assert panel.count('class="series baseline"') == 1
        assert panel.count('class="sample candidate"') == 30
        assert panel.count('class="sample baseline"') == 30
    assert '<span class="verdict-fail">fail</span>' in html
    assert re.search(r"ModelLatency: high, p = [0-9.e-]+ \(30 vs 30 samples\)", html)
    # The slower candidate is drawn above the baseline (smaller y) on the shared value axis.
    panel = html.split('data-metric="ModelLatency"', 1)[1]
    mean_y = {
        side: sum(float(y) for y in re.findall(rf'class="sample {side}" cx="[0-9.]+" cy="([0-9.]+)"', panel))
        / 30
        for side in ("candidate", "baseline")
    }
    assert mean_y["candidate"] < mean_y["baseline"]


def test_the_page_has_the_analyses_section_and_no_script() -> None:
    report = compute_report(Trail().snapshot(), start=at(-1), end=at(1))
    html = render_html(report, generated_at=at(1), analyses=[_document(), _document(shift=1.0)])
    assert '<div id="analyses">' in html
    assert html.count('<div class="analysis" data-phase="shadow">') == 2
    assert "<script" not in html.lower()
    assert '<div id="analyses">' not in render_html(report, generated_at=at(1))


class _S3:
    """A reports bucket in memory (what get_object answers)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[f"{Bucket}/{Key}"])}


def test_reports_are_read_from_their_audit_records_and_an_altered_one_is_left_out() -> None:
    good, altered = _document(), _document(shift=1.0)
    body = report_body(good)
    trail = Trail()
    for index, document in enumerate((good, altered)):
        trail.add(
            "endpoint#scoring-prod", "analysis.completed", at(0, index), package("scoring", 2),
            endpoint="scoring-prod", phase="shadow", verdict="fail", score=0.0,
            report_uri=f"s3://reports/gate-reports/analysis/{index}.json",
            report_sha256=hashlib.sha256(report_body(document)).hexdigest(),
        )  # fmt: skip
    s3 = _S3({"reports/gate-reports/analysis/0.json": body, "reports/gate-reports/analysis/1.json": b"{}"})
    documents, problems = analysis_reports(trail.snapshot(), s3=s3, start=at(-1), end=at(1))
    assert documents == [json.loads(body)]
    assert problems == [
        "s3://reports/gate-reports/analysis/1.json: does not match the SHA-256 of its analysis.completed record"
    ]
