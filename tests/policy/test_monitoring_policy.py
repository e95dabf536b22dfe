"""Tier.monitoring: incident rules, retraining, defaults, lookups by endpoint / pipeline / data, explain."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import yaml

from mlcp.policy import (
    IncidentRule,
    MonitoringPolicy,
    Policy,
    PolicyError,
    RetrainingPolicy,
    canonical_json,
    explain,
    parse_policy,
    parse_policy_json,
)
from mlcp_cli.commands.policy import write_explanation

from .conftest import ROOT, example_document


def _policy(monitoring: dict[str, Any] | None = None, **tier: Any) -> Policy:
    body: dict[str, Any] = {"human_approval": False, **tier}
    if monitoring is not None:
        body["monitoring"] = monitoring
    return parse_policy(
        {"tiers": {"t": body}, "groups": [{"match": "g-*", "tier": "t", "endpoint": "g-prod"}]}, "test"
    )


def _problems(document: dict[str, Any]) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, "p.yaml")
    return "\n".join(caught.value.problems)


def test_default_monitoring_opens_severity_3_incidents_and_never_retrains() -> None:
    monitoring = _policy().tiers["t"].monitoring
    assert monitoring == MonitoringPolicy()
    assert monitoring.retraining is None
    assert [(r.on, r.match, r.severity, r.auto_resolve) for r in monitoring.incidents] == [
        ("alarm", "*", 3, True),
        ("failure", "*", 3, True),
        ("violation", "*", 3, True),
    ]
    assert monitoring.incident_rule("rollback", "g-prod") is None
    rule = monitoring.incident_rule("failure", "training")
    assert rule is not None
    assert rule.severity == 3


def test_first_matching_incident_rule_wins() -> None:
    monitoring = (
        _policy(
            {
                "incidents": [
                    {"on": "violation", "match": "baseline_drift_check", "severity": 1},
                    {"on": "violation", "match": "data_quality", "min_violating_features": 3, "severity": 2},
                    {"on": "alarm", "match": "*-5xx", "severity": 1},
                ]
            }
        )
        .tiers["t"]
        .monitoring
    )
    drift = monitoring.incident_rule("violation", "data_quality", "baseline_drift_check")
    assert drift is not None
    assert drift.severity == 1
    completeness = monitoring.incident_rule("violation", "data_quality", "completeness_check")
    assert completeness is not None
    assert (completeness.severity, completeness.min_violating_features) == (2, 3)
    assert monitoring.incident_rule("violation", "model_quality", "LessThanThreshold") is None
    assert monitoring.incident_rule("alarm", "churn-prod-5xx") is not None
    assert monitoring.incident_rule("alarm", "churn-prod-latency") is None
    assert monitoring.incident_rule("alarm", None) is None


def test_empty_incident_list_means_no_incidents() -> None:
    assert _policy({"incidents": []}).tiers["t"].monitoring.incident_rule("alarm", "x") is None


def test_unquoted_yaml_on_key_is_accepted() -> None:
    document = yaml.safe_load(
        """
tiers:
  t:
    human_approval: false
    monitoring:
      incidents:
        - {on: alarm, severity: 2}
        - on: failure
          match: pipeline
groups: [{match: "*", tier: t}]
"""
    )
    assert True in document["tiers"]["t"]["monitoring"]["incidents"][0]  # YAML 1.1 made it a bool
    incidents = parse_policy(document, "y").tiers["t"].monitoring.incidents
    assert [(r.on, r.match, r.severity) for r in incidents] == [("alarm", "*", 2), ("failure", "pipeline", 3)]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"on": "violation", "severity": 0}, "severity: Input should be greater than or equal to 1"),
        ({"on": "violation", "severity": 5}, "severity: Input should be less than or equal to 4"),
        (
            {"on": "incident"},
            "incidents[0].on: Input should be 'violation', 'alarm', 'failure' or 'rollback'",
        ),
        ({"on": "alarm", "consecutive_runs": 2}, "apply to on: violation only (got on: alarm)"),
        ({"on": "failure", "match": "endpoints"}, "match 'endpoints' fits no failure kind"),
        ({"on": "alarm", "runbook_url": "wiki/page"}, "runbook_url must be an http(s) URL"),
        ({"on": "alarm", "sevrity": 2}, "incidents[0].sevrity: Extra inputs are not permitted"),
        ({"match": "*"}, "incidents[0].on: Field required"),
    ],
)
def test_invalid_incident_rules(rule: dict[str, Any], message: str) -> None:
    problems = _problems(
        {
            "tiers": {"t": {"human_approval": False, "monitoring": {"incidents": [rule]}}},
            "groups": [{"match": "*", "tier": "t"}],
        }
    )
    assert message in problems
    assert "p.yaml: tiers.t.monitoring.incidents[0]" in problems


@pytest.mark.parametrize(
    ("retraining", "message"),
    [
        ({"pipeline": "bad_name"}, "'bad_name' is not a SageMaker pipeline name"),
        ({"pipeline": "p", "on_violations": ["drift"]}, "on_violations[0]: Input should be 'data_quality'"),
        ({"pipeline": "p", "max_per_day": 0}, "max_per_day: Input should be greater than or equal to 1"),
        (
            {"pipeline": "p", "cooldown_hours": -1},
            "cooldown_hours: Input should be greater than or equal to 0",
        ),
        (
            {"pipeline": "p", "parameters": {"TriggerReason": "x"}},
            "'TriggerReason' is set by the control plane",
        ),
        ({"pipeline": "p", "parameters": {"bad name": "x"}}, "parameter name 'bad name'"),
        ({"pipeline": "p", "parameters": {"Big": "x" * 1025}}, "at most 1024 characters"),
        ({"pipeline": "p", "data": {"prefixes": []}}, "data.prefixes: List should have at least 1 item"),
        (
            {"pipeline": "p", "data": {"prefixes": ["bucket/key"]}},
            "'bucket/key' is not an s3://bucket/prefix URI",
        ),
        ({"pipeline": "p", "data": {"prefixes": ["s3://b-1/x"], "min_objects": 0}}, "min_objects"),
    ],
)
def test_invalid_retraining(retraining: dict[str, Any], message: str) -> None:
    problems = _problems(
        {
            "tiers": {"t": {"human_approval": False, "monitoring": {"retraining": retraining}}},
            "groups": [{"match": "*", "tier": "t"}],
        }
    )
    assert message in problems
    assert "tiers.t.monitoring.retraining" in problems


def test_retraining_defaults_and_alarm_globs() -> None:
    retraining = RetrainingPolicy(pipeline="churn-train", on_alarms=["churn-*-drift"])
    assert (retraining.cooldown_hours, retraining.max_per_day, retraining.lease_hours) == (24.0, 1, 12)
    assert retraining.on_violations == []
    assert retraining.data is None
    assert retraining.triggers_on_alarm("churn-prod-drift")
    assert not retraining.triggers_on_alarm("churn-prod-5xx")


EXAMPLE_LIKE = {
    "tiers": {
        "a": {
            "human_approval": False,
            "monitoring": {
                "retraining": {
                    "pipeline": "train-a",
                    "data": {"prefixes": ["s3://mlcp-data/a/", "s3://mlcp-data/shared/"]},
                }
            },
        },
        "b": {"human_approval": False, "monitoring": {"retraining": {"pipeline": "train-b"}}},
        "c": {"human_approval": False},
    },
    "groups": [
        {"match": "a-*", "tier": "a", "endpoint": "a-prod"},
        {"match": "a2-*", "tier": "a", "endpoint": "a2-prod"},
        {"match": "b-*", "tier": "b", "endpoint": "shared-prod"},
        {"match": "c-*", "tier": "c", "endpoint": "shared-prod"},
        {"match": "*", "tier": "c"},
    ],
}


def test_rule_for_endpoint_first_rule_naming_it() -> None:
    policy = parse_policy(EXAMPLE_LIKE, "t")
    assert policy.rule_for_endpoint("a-prod") is policy.groups[0]
    assert policy.rule_for_endpoint("shared-prod") is policy.groups[2]
    assert policy.rule_for_endpoint("A-prod") is None
    assert policy.rule_for_endpoint("unknown") is None
    found = policy.monitoring_for_endpoint("a2-prod")
    assert found is not None
    assert found[0] is policy.groups[1]
    assert found[1].retraining is not None
    assert found[1].retraining.pipeline == "train-a"
    assert policy.monitoring_for_endpoint("nope") is None


def test_rules_for_pipeline_and_for_data() -> None:
    policy = parse_policy(EXAMPLE_LIKE, "t")
    assert [r.match for r in policy.rules_for_pipeline("train-a")] == ["a-*", "a2-*"]
    assert [r.match for r in policy.rules_for_pipeline("train-b")] == ["b-*"]
    assert policy.rules_for_pipeline("train-c") == []
    found = policy.retraining_for_object("s3://mlcp-data/shared/2025/x.csv")
    assert [(rule.match, retraining.pipeline) for rule, retraining in found] == [("a-*", "train-a")]
    assert policy.retraining_for_object("s3://mlcp-data/b/x.csv") == []
    assert policy.retraining_for_object("s3://mlcp-data-2/a/x.csv") == []


def test_example_and_scenario_policies_carry_monitoring() -> None:
    example = parse_policy(example_document(), "example")
    assert example.tiers["low"].monitoring.retraining is None
    assert [r.on for r in example.tiers["low"].monitoring.incidents] == ["failure"]
    for path in (ROOT / "policy" / "example.yaml", ROOT / "scenarios" / "policy.yaml"):
        policy = parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
        for tier_name in ("medium", "high"):
            monitoring = policy.tiers[tier_name].monitoring
            assert monitoring.retraining is not None, (path, tier_name)
            assert {r.on for r in monitoring.incidents} == {"alarm", "violation", "failure", "rollback"}
        assert [r.match for r in policy.rules_for_pipeline("churn-training")] == ["churn-*"]
        assert [r.match for r in policy.rules_for_pipeline("fraud-train")] == ["fraud-*"]
        medium = policy.tiers["medium"].monitoring.retraining
        assert medium is not None
        assert medium.data is not None
        assert policy.retraining_for_object("s3://mlcp-training-data/training-data/churn/day1.csv")


def test_canonical_json_round_trips_monitoring() -> None:
    policy = parse_policy(example_document(), "example")
    text = canonical_json(policy)
    assert parse_policy_json(text, "ssm:/p") == policy
    decoded = json.loads(text)
    assert decoded["tiers"]["medium"]["monitoring"]["incidents"][0]["on"] == "alarm"
    assert "runbook_url" not in decoded["tiers"]["medium"]["monitoring"]["incidents"][1]
    assert "retraining" not in decoded["tiers"]["low"]["monitoring"]


def test_incident_rule_matches_needs_the_source() -> None:
    rule = IncidentRule(on="alarm", match="fraud-*")
    assert rule.matches("alarm", "fraud-prod-5xx")
    assert not rule.matches("violation", "fraud-prod-5xx")
    assert rule.matches("alarm", None, "fraud-x")


def test_explain_shows_monitoring() -> None:
    policy = parse_policy(example_document(), "example")
    explanation = explain(policy, "churn-model")
    monitoring = explanation["monitoring"]
    assert monitoring["retraining"]["pipeline"] == "churn-training"
    assert monitoring["incidents"][1]["summary"] == (
        "violations of 'data_quality' -> severity 3 (at least 3 feature(s), 2 run(s) in a row), resolves itself"
    )
    assert monitoring["retraining_summary"].startswith(
        "pipeline churn-training on violations of data_quality"
    )
    assert "cooldown 24 h, at most 1 per day" in monitoring["retraining_summary"]
    json.dumps(explanation)

    out = io.StringIO()
    write_explanation(explain(policy, "sandbox-x"), "example", out)
    text = out.getvalue()
    assert "  incident: failures of '*' -> severity 4, resolves itself\n" in text
    assert "  retraining: no automatic retraining\n" in text

    out = io.StringIO()
    write_explanation(explain(policy, "fraud-detector"), "example", out)
    text = out.getvalue()
    assert "runbook https://runbooks.example.com/fraud/alarms" in text
    assert "pipeline fraud-train on violations of model_quality, bias_drift" in text
    assert "lease 6 h" in text

    out = io.StringIO()
    write_explanation(explain(_policy({"incidents": []}), "g-1"), "t", out)
    assert "  incident: none (nothing opens an incident)\n" in out.getvalue()


def test_a_failed_pipeline_is_judged_by_the_tier_that_retrains_with_it() -> None:
    """The failure rule of the tier whose retraining runs the pipeline (severity 2 for churn-training
    in the scenarios' policy), not the defaults (severity 3); an unknown pipeline gets the defaults."""
    from types import SimpleNamespace

    from mlcp.usecases.reactions import _monitoring

    path = ROOT / "scenarios" / "policy.yaml"
    policy = parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    deps: Any = SimpleNamespace(policies=SimpleNamespace(get=lambda: policy))
    rule = _monitoring(deps, None, "churn-training").incident_rule("failure", "pipeline")
    assert rule is not None
    assert rule.severity == 2
    default = _monitoring(deps, None, "someone-elses-pipeline").incident_rule("failure", "pipeline")
    assert default is not None
    assert default.severity == 3
