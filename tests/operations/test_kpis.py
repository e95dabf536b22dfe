"""KPIs on a synthetic trail with known answers (window: 7 days, so "per week" = count)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mlcp_cli.audit_view import serving_package
from mlcp_cli.commands.report import parse_since
from mlcp_cli.kpis import KpiReport, compute_report, format_duration, format_rate

from .trails import Trail, at, format_timestamp, package


@pytest.fixture
def trail() -> Trail:
    t = Trail()
    # group a on ep-a: v0 long before the window, v1 promoted, v2 rolled back, v3 failed, then a manual rollback to v0
    t.registered("a", 0, at(-40))
    t.deployment("ep-a", "a", 0, at(-40, 1), at(-39), "promoted")
    t.registered("a", 1, at(0))
    t.deployment("ep-a", "a", 1, at(0, 1), at(0, 2), "promoted")
    t.registered("a", 2, at(1))
    t.deployment("ep-a", "a", 2, at(1, 1), at(1, 2), "rolled_back")
    t.incident(
        "endpoint#ep-a", "inc-3", at(1, 2), at(1, 2, 100), cause="deployment.rolled_back",
        model_package_arn=package("a", 2),
    )  # fmt: skip
    t.registered("a", 3, at(2))
    t.deployment("ep-a", "a", 3, at(2, 0, 10), at(2, 0, 30), "failed")
    t.add(
        "endpoint#ep-a", "deployment.rolled_back", at(3), "endpoint/ep-a", actor="arn:aws:iam::1:user/oncall",
        manual=True, to_version="0", to_config="ep-a-a-v0", from_config="ep-a-a-v1", reason="bad v1",
    )  # fmt: skip
    # group b on ep-b: two promotions, two incidents while v2 serves
    t.registered("b", 1, at(0))
    t.deployment("ep-b", "b", 1, at(0, 3), at(0, 4), "promoted")
    t.registered("b", 2, at(5))
    t.deployment("ep-b", "b", 2, at(5, 5), at(5, 6), "promoted")
    t.incident("endpoint#ep-b", "inc-1", at(5, 7), at(5, 7, 10))
    t.incident("endpoint#ep-b", "inc-2", at(5, 8), at(5, 8, 20))
    # a pipeline: an open incident (no group) and retraining runs, one before the window
    t.incident("pipeline#p", "inc-4", at(3), None, resource="pipeline/p", cause="pipeline.failed")
    for day in (-2, 0, 2, 4):
        t.add("pipeline#p", "retraining.started", at(day, 5), f"exec-{day}", trigger="data")
    return t


def window(trail: Trail) -> KpiReport:
    return compute_report(trail.snapshot(), start=at(-1), end=at(6))


def test_overall_kpis(trail: Trail) -> None:
    overall = window(trail).overall
    assert (overall.deployments, overall.promoted, overall.rolled_back, overall.failed) == (5, 3, 1, 1)
    assert overall.manual_rollbacks == 1
    assert overall.deployment_frequency_per_week == pytest.approx(3.0)
    assert overall.change_failure_rate == pytest.approx(0.6)  # (1 rollback + 1 failed + 1 manual) / 5
    assert overall.lead_time_samples == 3  # a/1 2h, b/1 4h, b/2 6h
    assert overall.lead_time_median_seconds == pytest.approx(4 * 3600)
    assert overall.lead_time_mean_seconds == pytest.approx(4 * 3600)
    assert (overall.incidents_opened, overall.incidents_resolved) == (4, 3)
    assert overall.time_to_restore_median_seconds == pytest.approx(1200)  # 600, 1200, 6000
    assert overall.time_to_restore_mean_seconds == pytest.approx(2600)
    assert overall.retrainings == 3
    assert overall.retraining_frequency_per_week == pytest.approx(3.0)


def test_per_group_kpis(trail: Trail) -> None:
    report = window(trail)
    assert set(report.groups) == {"a", "b"}
    a, b = report.groups["a"], report.groups["b"]
    assert (a.deployments, a.promoted, a.manual_rollbacks) == (3, 1, 1)
    assert a.change_failure_rate == pytest.approx(1.0)
    assert a.lead_time_median_seconds == pytest.approx(2 * 3600)
    assert (a.incidents_opened, a.time_to_restore_mean_seconds) == (1, pytest.approx(6000))  # names a/2
    assert (b.deployments, b.promoted, b.change_failure_rate) == (2, 2, 0.0)
    assert b.deployment_frequency_per_week == pytest.approx(2.0)
    assert b.lead_time_mean_seconds == pytest.approx(5 * 3600)
    assert (b.incidents_opened, b.incidents_resolved) == (2, 2)
    assert b.time_to_restore_median_seconds == pytest.approx(900)
    assert a.retrainings is None  # pipelines are not tied to groups
    assert report.retrainings_by_pipeline == {"p": 3}


def test_the_timeline_has_every_kind_of_mark(trail: Trail) -> None:
    kinds = [event.kind for event in window(trail).timeline]
    assert {kind: kinds.count(kind) for kind in set(kinds)} == {
        "deployment": 3, "rollback": 2, "failed": 1, "incident": 4, "retraining": 3,
    }  # fmt: skip
    incident = next(e for e in window(trail).timeline if e.label == "incident inc-1")
    assert incident.end == at(5, 7, 10)


def test_an_empty_window_has_no_rates(trail: Trail) -> None:
    report = compute_report(trail.snapshot(), start=at(30), end=at(37))
    assert report.overall.deployments == 0
    assert report.overall.change_failure_rate is None
    assert report.overall.lead_time_median_seconds is None
    assert report.groups == {}


def test_a_broken_chain_is_reported_with_the_kpis(trail: Trail) -> None:
    records = trail.streams["endpoint#ep-b"]
    records[1] = records[1].model_copy(update={"at": format_timestamp(at(5, 9))})  # edited after the fact
    report = window(trail)
    assert not report.chain_ok
    assert any("stream=endpoint#ep-b seq=2 hash_mismatch" in p for p in report.chain_problems)


def test_serving_package_follows_promotions_and_manual_rollbacks(trail: Trail) -> None:
    snapshot = trail.snapshot()
    assert serving_package(snapshot, "ep-a", at(0, 3)) == package("a", 1)
    assert serving_package(snapshot, "ep-a", at(1, 3)) == package("a", 1)  # v2 rolled back
    assert serving_package(snapshot, "ep-a", at(3, 1)) == package("a", 0)  # manual rollback to v0
    assert serving_package(snapshot, "ep-b", at(-1)) is None


def test_formatting_and_since() -> None:
    assert [format_duration(s) for s in (None, 12, 250, 3900, 2 * 86400 + 7200)] == [
        "-",
        "12s",
        "4m 10s",
        "1h 05m",
        "2d 2h",
    ]
    assert format_rate(1 / 3) == "33.3%"
    assert parse_since("30d", at()) == at(-30)
    assert parse_since("12h", at()) == at() - timedelta(hours=12)
    assert parse_since("2026-03-01", at()) == at(-1, -9)


def test_a_canary_analysis_is_a_mark_on_the_timeline_and_in_the_html(trail: Trail) -> None:
    from mlcp_cli.html_report import render_html

    trail.add(
        "endpoint#ep-a", "analysis.completed", at(2, 1), package("a", 2),
        endpoint="ep-a", phase="canary", step=1, verdict="fail", score=50.0, roll_back=True,
    )  # fmt: skip
    report = window(trail)
    (mark,) = [e for e in report.timeline if e.kind == "analysis"]
    assert (mark.lane, mark.label) == ("ep-a", "canary analysis, step 1: fail (score 50)")
    html = render_html(report, generated_at=at(7))
    assert 'class="mark analysis"' in html
    assert "canary analysis, step 1: fail (score 50)" in html
