"""Group matching (first match wins) and explain()."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlcp.policy import Policy, explain, parse_policy

from .conftest import example_document


def _policy(*rules: tuple[str, str]) -> Policy:
    return parse_policy(
        {
            "tiers": {
                "low": {"auto_approve": True, "human_approval": False},
                "medium": {"human_approval": False},
                "high": {"human_approval": True},
            },
            "groups": [{"match": glob, "tier": tier} for glob, tier in rules],
        },
        "test",
    )


ORDERED = _policy(("fraud-legacy-*", "low"), ("fraud-*", "high"), ("[cC]hurn-?", "medium"), ("*", "medium"))


@pytest.mark.parametrize(
    ("group", "index", "tier", "shadowed"),
    [
        ("fraud-legacy-2019", 0, "low", [1, 3]),
        ("fraud-detector", 1, "high", [3]),
        ("churn-a", 2, "medium", [3]),
        ("Churn-b", 2, "medium", [3]),
        ("churn-ab", 3, "medium", []),
        ("Fraud-detector", 3, "medium", []),  # case-sensitive: only the catch-all
        ("", 3, "medium", []),
    ],
)
def test_first_matching_rule_wins(group: str, index: int, tier: str, shadowed: list[int]) -> None:
    explanation = explain(ORDERED, group)
    assert explanation["matched"] is True
    assert explanation["rule"]["index"] == index
    assert explanation["rule"]["match"] == ORDERED.groups[index].match
    assert explanation["tier"]["name"] == tier
    assert [s["index"] for s in explanation["shadowed"]] == shadowed
    assert ORDERED.rule_for(group) is ORDERED.groups[index]


def test_reordering_rules_changes_the_winner() -> None:
    reordered = _policy(("fraud-*", "high"), ("fraud-legacy-*", "low"))
    assert explain(reordered, "fraud-legacy-2019")["tier"]["name"] == "high"


def test_no_rule_matches() -> None:
    policy = _policy(("fraud-*", "high"), ("churn-*", "medium"))
    explanation = explain(policy, "pricing-model")
    assert explanation["matched"] is False
    assert explanation["rule"] is None
    assert explanation["tier"] is None
    assert explanation["shadowed"] == []
    assert [r["match"] for r in explanation["rules"]] == ["fraud-*", "churn-*"]
    assert policy.rule_for("pricing-model") is None
    json.dumps(explanation)


@pytest.fixture
def example() -> Policy:
    return parse_policy(example_document(), "policy/example.yaml")


def _gates(explanation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {gate["gate"]: gate for gate in explanation["gates"]}


def test_explain_high_tier(example: Policy) -> None:
    explanation = explain(example, "fraud-detector")
    assert explanation["rule"] == {
        "index": 1,
        "match": "fraud-*",
        "endpoint": "fraud-prod",
        "owners": ["fraud-risk@example.com"],
    }
    tier = explanation["tier"]
    assert tier["name"] == "high"
    assert tier["approval"] == "human"
    assert tier["approval_timeout_hours"] == 48
    assert "human approval required" in tier["approval_summary"]
    assert "48 h" in tier["approval_summary"]
    gates = _gates(explanation)
    assert [g["gate"] for g in explanation["gates"]] == [
        "metrics",
        "regression",
        "bias",
        "explainability",
        "artifact_integrity",
        "lineage",
        "required_metadata",
        "cost_allocation_tags",
        "change_freeze",
        "separation_of_duties",
    ]
    assert all(g["enabled"] and g["hard"] for g in gates.values())
    assert {"metric": "binary_classification_metrics.auc.value", "min": 0.9, "max": None} in gates["metrics"][
        "settings"
    ]["thresholds"]
    assert gates["bias"]["settings"]["required"] is True
    assert gates["explainability"]["settings"] == {"required": True}
    assert explanation["change_freezes"] == [
        {"start": "2026-12-21T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "year-end change freeze"}
    ]
    assert explanation["deployment"]["strategy"] == "canary"
    assert explanation["deployment"]["canary_percent"] == 5
    json.dumps(explanation)


def test_explain_medium_tier_soft_bias_and_regression(example: Policy) -> None:
    explanation = explain(example, "churn-propensity")
    assert explanation["tier"]["approval"] == "registry"
    gates = _gates(explanation)
    assert gates["bias"]["enabled"] is True
    assert gates["bias"]["hard"] is False
    assert gates["bias"]["settings"]["required"] is False
    assert gates["regression"]["configured"] is True
    assert gates["regression"]["settings"]["tolerance"] == 0.01
    assert gates["explainability"]["enabled"] is False


def test_explain_low_tier(example: Policy) -> None:
    explanation = explain(example, "sandbox-alice")
    assert explanation["tier"]["approval"] == "automatic"
    assert explanation["rule"]["endpoint"] is None
    gates = _gates(explanation)
    assert gates["regression"] == {
        "gate": "regression",
        "configured": False,
        "enabled": False,
        "hard": False,
        "settings": {},
    }
    enabled = {name for name, gate in gates.items() if gate["enabled"]}
    assert enabled == {"metrics", "artifact_integrity", "required_metadata"}
    assert explanation["deployment"]["strategy"] == "all_at_once"
