"""The KPI report as one self-contained HTML page: inline CSS and SVG, no scripts, no external assets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from mlcp_cli.kpis import KpiReport, Kpis, TimelineEvent, format_duration, format_rate

_COLOURS = {
    "deployment": "#1a7f37",
    "rollback": "#cf222e",
    "failed": "#8c1d18",
    "incident": "#d4a72c",
    "retraining": "#0969da",
    "analysis": "#8250df",
}
_LEGEND = {
    "deployment": "deployment promoted",
    "rollback": "rollback",
    "failed": "deployment failed",
    "incident": "incident (bar: open → resolved)",
    "retraining": "retraining started",
    "analysis": "canary analysis (verdict in the tooltip)",
}

_CSS = """
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;margin:24px 32px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#59636e;margin:0 0 16px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:12px}
.ok{background:#dafbe1;color:#1a7f37}.bad{background:#ffebe9;color:#cf222e}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;min-width:120px;flex:1 1 0}
.card .label{color:#59636e;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin-top:2px}.card .hint{color:#59636e;font-size:12px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #eaeef2}
th{background:#f6f8fa;font-weight:600}td:first-child{white-space:nowrap}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{font:12px -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;fill:#1f2328}
svg .axis{stroke:#8c959f}svg .grid{stroke:#eaeef2}svg .lane{fill:#f6f8fa}
.legend{display:flex;gap:18px;flex-wrap:wrap;margin:6px 0 0;color:#59636e;font-size:12px}
.analysis{margin:0 0 18px}.analysis h3{font-size:14px;margin:12px 0 4px}
.verdict-pass{color:#1a7f37}.verdict-marginal{color:#9a6700}.verdict-fail{color:#cf222e}
.legend span::before{content:'';display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:var(--c)}
"""


def _card(label: str, value: str, hint: str, key: str) -> str:
    return (
        f'<div class="card" data-kpi="{key}"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="hint">{escape(hint)}</div></div>'
    )


def _cards(kpis: Kpis) -> str:
    retrain = (
        "-" if kpis.retraining_frequency_per_week is None else f"{kpis.retraining_frequency_per_week:.2f}/wk"
    )
    cards = [
        _card(
            "Deployments",
            str(kpis.deployments),
            f"{kpis.promoted} promoted · {kpis.rolled_back} rolled back · {kpis.failed} failed",
            "deployments",
        ),
        _card(
            "Deployment frequency",
            f"{kpis.deployment_frequency_per_week:.2f}/wk",
            "promotions per week",
            "deployment_frequency",
        ),
        _card(
            "Lead time",
            format_duration(kpis.lead_time_median_seconds),
            f"median, registration → production ({kpis.lead_time_samples})",
            "lead_time",
        ),
        _card(
            "Change-failure rate",
            format_rate(kpis.change_failure_rate),
            f"{kpis.rolled_back + kpis.failed + kpis.manual_rollbacks} of {kpis.deployments} changes failed",
            "change_failure_rate",
        ),
        _card(
            "Time to restore",
            format_duration(kpis.time_to_restore_median_seconds),
            f"median, {kpis.incidents_resolved} resolved of {kpis.incidents_opened} opened",
            "time_to_restore",
        ),
        _card(
            "Retraining frequency", retrain, f"{kpis.retrainings or 0} runs started", "retraining_frequency"
        ),
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _group_table(report: KpiReport) -> str:
    head = (
        "<tr><th>group</th><th class=num>deployments</th><th class=num>promoted</th>"
        "<th class=num>rollbacks</th><th class=num>failed</th><th class=num>per week</th>"
        "<th class=num>lead time (median)</th><th class=num>change-failure rate</th>"
        "<th class=num>incidents</th><th class=num>time to restore (median)</th></tr>"
    )
    rows = [
        f'<tr data-group="{escape(name)}"><td>{escape(name)}</td><td class=num>{k.deployments}</td>'
        f"<td class=num>{k.promoted}</td><td class=num>{k.rolled_back + k.manual_rollbacks}</td>"
        f"<td class=num>{k.failed}</td><td class=num>{k.deployment_frequency_per_week:.2f}</td>"
        f"<td class=num>{format_duration(k.lead_time_median_seconds)}</td>"
        f"<td class=num>{format_rate(k.change_failure_rate)}</td><td class=num>{k.incidents_opened}</td>"
        f"<td class=num>{format_duration(k.time_to_restore_median_seconds)}</td></tr>"
        for name, k in sorted(report.groups.items())
    ]
    if not rows:
        rows = ['<tr><td colspan="10">no deployments or incidents in the window</td></tr>']
    return f"<table>{head}{''.join(rows)}</table>"


def _pipeline_table(report: KpiReport) -> str:
    if not report.retrainings_by_pipeline:
        return "<p>No retraining started in the window.</p>"
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class=num>{count}</td></tr>"
        for name, count in sorted(report.retrainings_by_pipeline.items())
    )
    return f"<table><tr><th>pipeline</th><th class=num>retrainings started</th></tr>{rows}</table>"


def _incident_rows(events: list[TimelineEvent], last: datetime) -> tuple[dict[int, int], dict[str, int]]:
    """Overlapping incidents of one lane get their own bar rows (greedy), so no bar hides another:
    (event index -> row, lane -> number of rows)."""
    slots: dict[int, int] = {}
    ends: dict[str, list[datetime]] = {}
    for index, event in enumerate(events):
        if event.kind != "incident":
            continue
        rows = ends.setdefault(event.lane, [])
        row = next((r for r, end in enumerate(rows) if end < event.at), len(rows))
        if row == len(rows):
            rows.append(event.end or last)
        else:
            rows[row] = event.end or last
        slots[index] = row
    return slots, {lane: len(rows) for lane, rows in ends.items()}


def _mark(event: TimelineEvent, cx: float, cy: float, bar: tuple[float, float] | None) -> str:
    """One SVG mark: a bar (incident, ``bar`` = its y and end x) or a point mark at (cx, cy)."""
    colour = _COLOURS[event.kind]
    state = "" if event.kind != "incident" else (" (resolved)" if event.end else " (still open)")
    tip = f"<title>{escape(event.label)}{state} — {event.at:%Y-%m-%d %H:%M:%S} UTC</title>"
    attrs = f'class="mark {event.kind}" data-at="{event.at.isoformat()}" fill="{colour}"'
    if bar is not None:
        bar_y, end_x = bar
        style = 'fill-opacity="0.85"' if event.end else 'fill-opacity="0.45" stroke-dasharray="4 3"'
        return (
            f'<rect {attrs} x="{cx:.1f}" y="{bar_y:.1f}" width="{max(end_x - cx, 3):.1f}" height="7" rx="2" '
            f'stroke="{colour}" {style}>{tip}</rect>'
        )
    if event.kind == "deployment":
        return f'<circle {attrs} cx="{cx:.1f}" cy="{cy:.1f}" r="7">{tip}</circle>'
    if event.kind == "rollback":
        points = f"{cx:.1f},{cy - 8:.1f} {cx - 8:.1f},{cy + 6:.1f} {cx + 8:.1f},{cy + 6:.1f}"
        return f'<polygon {attrs} points="{points}">{tip}</polygon>'
    if event.kind == "failed":
        path = f"M{cx - 6:.1f},{cy - 6:.1f} L{cx + 6:.1f},{cy + 6:.1f} M{cx + 6:.1f},{cy - 6:.1f} L{cx - 6:.1f},{cy + 6:.1f}"
        return f'<path {attrs} stroke="{colour}" stroke-width="3" d="{path}">{tip}</path>'
    points = f"{cx:.1f},{cy - 8:.1f} {cx + 7:.1f},{cy:.1f} {cx:.1f},{cy + 8:.1f} {cx - 7:.1f},{cy:.1f}"
    return f'<polygon {attrs} points="{points}">{tip}</polygon>'


def timeline_svg(events: list[TimelineEvent], *, width: int = 1100) -> str:
    """Deployments, rollbacks, incidents and retraining runs on one time axis, a lane per endpoint
    or resource. Every mark has class ``mark <kind>`` and a ``<title>`` (the tooltip)."""
    if not events:
        return '<svg class="timeline" width="400" height="40"><text x="0" y="24">nothing happened in the window</text></svg>'
    lanes = sorted(
        {e.lane for e in events}, key=lambda lane: (lane.startswith("pipeline") or "/" in lane, lane)
    )
    first = min(e.at for e in events)
    last = max(max(e.at, e.end or e.at) for e in events)
    span = max((last - first).total_seconds(), 60.0)
    first, last = first - timedelta(seconds=span * 0.04), last + timedelta(seconds=span * 0.04)
    total = (last - first).total_seconds()
    slots, bar_rows = _incident_rows(events, last)
    heights = [34 + 10 * bar_rows.get(lane, 0) for lane in lanes]
    tops = [20 + sum(heights[:i]) for i in range(len(lanes))]
    left, right = 170, 30
    axis_y = tops[-1] + heights[-1] + 6

    def x(moment: datetime) -> float:
        return left + (moment - first).total_seconds() / total * (width - left - right)

    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{axis_y + 44}" '
        'role="img" aria-label="timeline">'
    ]
    for lane, y, lane_h in zip(lanes, tops, heights, strict=True):
        parts.append(
            f'<rect class="lane" x="{left}" y="{y + 3}" width="{width - left - right}" height="{lane_h - 6}" rx="4"/>'
            f'<text x="{left - 10}" y="{y + lane_h / 2 + 4}" text-anchor="end">{escape(lane)}</text>'
        )
    parts.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}"/>')
    same_day = first.date() == last.date()
    for tick in range(6):
        moment = first + timedelta(seconds=total * tick / 5)
        tx = x(moment)
        parts.append(
            f'<line class="grid" x1="{tx:.1f}" y1="{tops[0]}" x2="{tx:.1f}" y2="{axis_y}"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 18}" text-anchor="middle">'
            f"{moment.strftime('%H:%M' if same_day else '%m-%d %H:%M')}</text>"
        )
    parts.append(
        f'<text x="{width - right}" y="{axis_y + 36}" text-anchor="end">UTC, {first:%Y-%m-%d} → {last:%Y-%m-%d}</text>'
    )
    for index in sorted(range(len(events)), key=lambda i: events[i].kind != "incident"):  # bars first
        event = events[index]
        lane_index = lanes.index(event.lane)
        bottom = tops[lane_index] + heights[lane_index]
        bar = None
        if event.kind == "incident":
            bar = (tops[lane_index] + 8 + 10 * slots[index], x(event.end) if event.end else width - right)
        parts.append(_mark(event, x(event.at), bottom - 15, bar))
    parts.append("</svg>")
    return "".join(parts)


_CANDIDATE, _BASELINE = "#8250df", "#8c959f"


def _series(points: Sequence[Sequence[Any]]) -> list[tuple[datetime, float]]:
    return [(datetime.fromisoformat(str(t)), float(v)) for t, v in points]


def metric_panel_svg(
    name: str,
    candidate: Sequence[Sequence[Any]],
    baseline: Sequence[Sequence[Any]],
    *,
    caption: str,
    width: int = 520,
    height: int = 150,
) -> str:
    """One metric of an analysis: the candidate's and the baseline's one-minute samples on one time
    and value axis (class ``series candidate`` / ``series baseline``, each point with a tooltip)."""
    cand, base = _series(candidate), _series(baseline)
    points = cand + base
    head = (
        f'<svg class="metric" data-metric="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(name)}: candidate vs baseline">'
        f"<title>{escape(caption)}</title>"
    )
    if not points:
        return head + f'<text x="8" y="24">{escape(name)}: no samples</text></svg>'
    first, last = min(t for t, _ in points), max(t for t, _ in points)
    low, high = min(v for _, v in points), max(v for _, v in points)
    span_t = max((last - first).total_seconds(), 60.0)
    span_v = (high - low) or max(abs(high), 1.0)
    low, high = low - span_v * 0.08, high + span_v * 0.08
    left, right, top, bottom = 64, 12, 22, 26

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + (t - first).total_seconds() / span_t * (width - left - right)
        y = top + (high - v) / (high - low) * (height - top - bottom)
        return x, y

    parts = [
        head,
        f'<text x="{left}" y="14">{escape(name)}</text>',
        f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"/>',
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{high:.4g}</text>',
        f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">{low:.4g}</text>',
        f'<text x="{left}" y="{height - 8}">{first:%H:%M}</text>',
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{last:%H:%M} UTC</text>',
    ]
    for label, colour, series in (("baseline", _BASELINE, base), ("candidate", _CANDIDATE, cand)):
        if not series:
            continue
        coords = [xy(t, v) for t, v in series]
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline class="series {label}" fill="none" stroke="{colour}" stroke-width="1.5" points="{line}"/>'
        )
        parts.extend(
            f'<circle class="sample {label}" cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}">'
            f"<title>{label} {t:%H:%M}: {v:.6g}</title></circle>"
            for (x, y), (t, v) in zip(coords, series, strict=True)
        )
    parts.append("</svg>")
    return "".join(parts)


def analysis_html(document: Mapping[str, Any]) -> str:
    """One analysis report (the JSON the analysis writes to the reports bucket): its verdict and,
    per metric, the candidate against the baseline with the metric's classification and p-value."""
    judgement = document.get("judgement") or {}
    verdict = str(judgement.get("verdict", "unknown"))
    by_name = {str(m.get("name")): m for m in judgement.get("metrics") or []}
    candidate = (document.get("candidate") or {}).get("label", "candidate")
    baseline = (document.get("baseline") or {}).get("label", "baseline")
    panels = []
    for name, series in (document.get("samples") or {}).items():
        metric = by_name.get(name, {})
        test = metric.get("test") or {}
        p_value = test.get("p_value")
        caption = (
            f"{name}: {metric.get('classification', '?')}"
            f"{'' if p_value is None else f', p = {float(p_value):.3g}'}"
            f" ({len(series.get('candidate') or [])} vs {len(series.get('baseline') or [])} samples)"
        )
        panels.append(
            f'<div class="panel"><div class="sub">{escape(caption)}</div>'
            f"{metric_panel_svg(name, series.get('candidate') or [], series.get('baseline') or [], caption=caption)}</div>"
        )
    window = document.get("window") or {}
    return (
        f'<div class="analysis" data-phase="{escape(str(document.get("phase", "")))}">'
        f"<h3>{escape(str(document.get('endpoint', '')))} · {escape(str(document.get('phase', '')))} analysis"
        f' · <span class="verdict-{escape(verdict)}">{escape(verdict)}</span>'
        f" (score {judgement.get('score')})</h3>"
        f'<p class="sub"><span style="color:{_CANDIDATE}">■ candidate {escape(str(candidate))}</span> · '
        f'<span style="color:{_BASELINE}">■ baseline {escape(str(baseline))}</span> · window '
        f"{escape(str(window.get('start', '')))} → {escape(str(window.get('end', '')))}</p>"
        f"{''.join(panels)}</div>"
    )


def _events_table(events: list[TimelineEvent]) -> str:
    rows = "".join(
        f'<tr class="event {e.kind}"><td>{e.at:%Y-%m-%d %H:%M:%S}</td><td>{escape(e.lane)}</td>'
        f"<td>{e.kind}</td><td>{escape(e.label)}</td>"
        f"<td>{'-' if e.kind != 'incident' else (f'{e.end:%Y-%m-%d %H:%M:%S}' if e.end else 'open')}</td></tr>"
        for e in events
    )
    return f"<table><tr><th>when (UTC)</th><th>where</th><th>what</th><th>detail</th><th>resolved</th></tr>{rows}</table>"


def render_html(
    report: KpiReport, *, generated_at: datetime, analyses: Sequence[Mapping[str, Any]] = ()
) -> str:
    """The whole report page; ``analyses``: analysis reports drawn candidate vs baseline per metric."""
    chain = (
        f'<span class="badge ok" id="chain">audit chain verified: {report.records} records, {report.streams} streams</span>'
        if report.chain_ok
        else f'<span class="badge bad" id="chain">audit chain BROKEN: {len(report.chain_problems)} problems</span>'
    )
    problems = (
        "<h2>Audit chain problems</h2><ul>"
        + "".join(f"<li>{escape(p)}</li>" for p in report.chain_problems)
        + "</ul>"
        if report.chain_problems
        else ""
    )
    legend = "".join(f'<span style="--c:{_COLOURS[k]}">{escape(v)}</span>' for k, v in _LEGEND.items())
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>mlcp operations report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>mlcp operations report</h1>"
        f'<p class="sub">Window {report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC · '
        f"generated {generated_at:%Y-%m-%d %H:%M} UTC from the audit trail · {chain}</p>"
        f'<h2>All groups</h2><div id="overall">{_cards(report.overall)}</div>'
        f'<h2>Timeline</h2>{timeline_svg(report.timeline)}<div class="legend">{legend}</div>'
        f'<h2>Per model package group</h2><div id="groups">{_group_table(report)}</div>'
        f'<h2>Retraining per pipeline</h2><div id="pipelines">{_pipeline_table(report)}</div>'
        f'<h2>Events</h2><div id="events">{_events_table(report.timeline)}</div>'
        + (
            '<h2>Analyses: candidate vs baseline</h2><div id="analyses">'
            + "".join(analysis_html(document) for document in analyses)
            + "</div>"
            if analyses
            else ""
        )
        + f"{problems}</body></html>\n"
    )
