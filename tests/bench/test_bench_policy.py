"""The policy-at-scale section of `make bench`: its workloads run and report counts (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path

from mlcp.policy import parse_policy
from mlcp_cli import bench_policy

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_policy_has_the_groups_and_tiers_asked_and_the_group_last() -> None:
    policy = parse_policy(bench_policy.generated_policy_document(50, 7, last="fraud-detector"), "bench")
    assert (len(policy.groups), len(policy.tiers)) == (50, 7)
    assert policy.rule_for("fraud-detector") is policy.groups[-1]


def test_publish_and_load_round_trips_through_appconfig() -> None:
    result = bench_policy.publish_and_load(ROOT, groups=40, tiers=4, reads=3)
    assert result["round_trip"] is True
    assert (result["groups"], result["tiers"], result["published_version"]) == (40, 4, 1)
    json.dumps(result)


def test_lookup_ratio_and_dry_run_report_their_counts() -> None:
    lookup = bench_policy.gate_lookup_ratio(groups=30, tiers=3, events=3)
    assert lookup["events"] == 3
    assert lookup["ratio"] > 0
    replay = bench_policy.dry_run_rate(decisions=20)
    assert (replay["decisions"], replay["replayed"], replay["changed"]) == (20, 20, 20)


def test_figures_carry_the_issue_budgets() -> None:
    details = {
        "publish_and_load": {"error": "x"},
        "lookup": {"ratio": 1.5, "us_per_event_3_groups": 100.0},
        "dry_run": {"error": "y"},
    }
    figures = {f.name: f for f in bench_policy.policy_figures(details)}
    assert figures["gate CPU per event: 1,000 / 3 groups"].ok is False
    assert figures["policy: 1,000 groups round trip"].ok is False
