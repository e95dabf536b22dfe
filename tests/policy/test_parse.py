"""parse_policy: the example validates; broken documents fail naming source and field path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mlcp.policy import PolicyError, canonical_json, field_path, parse_policy, parse_policy_json

from .conftest import ROOT, example_document

SOURCE = "policy/broken.yaml"


def test_example_validates_with_the_documented_shape() -> None:
    policy = parse_policy(example_document(), "policy/example.yaml")
    assert set(policy.tiers) == {"low", "medium", "high"}
    assert [(r.match, r.tier, r.endpoint) for r in policy.groups] == [
        ("churn-*", "medium", "churn-prod"),
        ("fraud-*", "high", "fraud-prod"),
        ("sandbox-*", "low", None),
    ]
    low, medium, high = policy.tiers["low"], policy.tiers["medium"], policy.tiers["high"]
    assert (low.auto_approve, low.human_approval) == (True, False)
    assert (medium.auto_approve, medium.human_approval) == (False, False)
    assert (high.auto_approve, high.human_approval) == (False, True)
    assert medium.gates.regression is not None
    assert medium.gates.regression.tolerance > 0
    assert medium.gates.bias.enabled
    assert not medium.gates.bias.hard
    assert not medium.gates.bias.required
    assert high.gates.bias.enabled
    assert high.gates.bias.required
    assert high.gates.explainability.enabled
    assert high.gates.explainability.required
    assert high.deployment.strategy == "canary"
    assert high.deployment.canary_percent <= 10
    auc = {t.metric: t.min for t in medium.gates.metrics.thresholds}
    assert auc["binary_classification_metrics.auc.value"] == 0.80
    for tier in policy.tiers.values():
        integrity = tier.gates.artifact_integrity
        assert "683313688378.dkr.ecr.*.amazonaws.com" in integrity.allowed_registries
        assert "123456789012.dkr.ecr.*.amazonaws.com" in integrity.allowed_registries
        assert integrity.allowed_buckets == ["mlcp-*"]
    [freeze] = policy.change_freezes
    assert freeze.start == datetime(2026, 12, 21, tzinfo=UTC)
    assert freeze.end == datetime(2027, 1, 4, tzinfo=UTC)
    assert freeze.covers(datetime(2026, 12, 31, 12, tzinfo=UTC))
    assert not freeze.covers(datetime(2027, 1, 4, tzinfo=UTC))


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node: Any = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _delete(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(document: dict[str, Any]) -> None:
        node: Any = document
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "threshold without bounds",
        _set(("tiers", "high", "gates", "metrics", "thresholds", 0), {"metric": "x"}),
        "tiers.high.gates.metrics.thresholds[0]: threshold on 'x' needs min, max or both",
    ),
    (
        "bias bound min above max",
        _set(("tiers", "high", "gates", "bias", "bounds", 1), {"metric": "DI", "min": 1.5, "max": 0.8}),
        "tiers.high.gates.bias.bounds[1]: threshold on 'DI': min 1.5 > max 0.8",
    ),
    (
        "misspelt tier field",
        _set(("tiers", "low", "auto_aprove"), True),
        "tiers.low.auto_aprove: Extra inputs are not permitted",
    ),
    (
        "unknown gate",
        _set(("tiers", "medium", "gates", "fairness"), {"enabled": True}),
        "tiers.medium.gates.fairness: Extra inputs are not permitted",
    ),
    (
        "auto approve and human approval",
        _set(("tiers", "low", "human_approval"), True),
        "tiers.low: auto_approve and human_approval cannot both be true",
    ),
    (
        "not a boolean",
        _set(("tiers", "low", "auto_approve"), "maybe"),
        "tiers.low.auto_approve: Input should be a valid boolean, unable to interpret input (got 'maybe')",
    ),
    (
        "group names an unknown tier",
        _set(("groups", 1, "tier"), "critical"),
        "groups[1] ('fraud-*') names tier 'critical'; tiers are high, low, medium",
    ),
    (
        "empty glob",
        _set(("groups", 0, "match"), ""),
        "groups[0].match: String should have at least 1 character",
    ),
    (
        "unknown strategy",
        _set(("tiers", "high", "deployment", "strategy"), "blue_green"),
        "tiers.high.deployment.strategy: Input should be 'canary', 'linear' or 'all_at_once' (got 'blue_green')",
    ),
    (
        "canary too large",
        _set(("tiers", "high", "deployment", "canary_percent"), 80),
        "tiers.high.deployment.canary_percent: Input should be less than or equal to 50",
    ),
    (
        "negative tolerance",
        _set(("tiers", "medium", "gates", "regression", "tolerance"), -0.1),
        "tiers.medium.gates.regression.tolerance: Input should be greater than or equal to 0",
    ),
    (
        "regression without metric",
        _delete(("tiers", "medium", "gates", "regression", "metric")),
        "tiers.medium.gates.regression.metric: Field required",
    ),
    (
        "freeze without timezone",
        _set(("change_freezes", 0, "start"), "2026-12-21T00:00:00"),
        "change_freezes[0]: freeze window times need a timezone",
    ),
    (
        "freeze ends before it starts",
        _set(("change_freezes", 0, "end"), "2026-12-01T00:00:00Z"),
        "change_freezes[0]: freeze window ends before it starts",
    ),
    (
        "unparsable freeze time",
        _set(("change_freezes", 0, "end"), "next tuesday"),
        "change_freezes[0].end: Input should be a valid datetime",
    ),
    (
        "approver that is not an IAM ARN",
        _set(("tiers", "high", "approvers"), ["risk-officer"]),
        "tiers.high: approvers: 'risk-officer' is not an IAM user or role ARN",
    ),
    ("unknown version", _set(("version",), 2), "version: Input should be 1 (got 2)"),
    ("no groups", _set(("groups",), []), "groups: List should have at least 1 item"),
    ("no tiers", _delete(("tiers",)), "tiers: Field required"),
    (
        "threshold on nothing",
        _set(("tiers", "low", "gates", "metrics", "thresholds", 0, "metric"), ""),
        ("tiers.low.gates.metrics.thresholds[0].metric: String should have at least 1 character"),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BROKEN], ids=[n for n, _, _ in BROKEN]
)
def test_broken_document_names_source_and_field(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    document = example_document()
    mutate(document)
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, SOURCE)
    assert caught.value.source == SOURCE
    assert len(caught.value.problems) == 1, caught.value.problems
    [problem] = caught.value.problems
    assert problem.startswith(f"{SOURCE}: {expected}"), problem
    assert str(caught.value) == problem


def test_every_problem_is_its_own_line() -> None:
    document = example_document()
    document["tiers"]["high"]["gates"]["metrics"]["thresholds"][0] = {"metric": "x"}
    document["tiers"]["low"]["deployment"]["strategy"] = "yolo"
    document["groups"][0]["colour"] = "red"
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, SOURCE)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{SOURCE}: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {
        "tiers.high.gates.metrics.thresholds[0]",
        "tiers.low.deployment.strategy",
        "groups[0].colour",
    }


@pytest.mark.parametrize("document", [[1, 2], "policy", 3, None])
def test_a_document_that_is_not_a_mapping_is_rejected(document: Any) -> None:
    with pytest.raises(PolicyError, match=r"^ssm:/p: the policy must be a mapping"):
        parse_policy(document, "ssm:/p")


def test_field_path_formats_keys_and_indexes() -> None:
    assert field_path(("tiers", "high", "gates", "metrics", "thresholds", 0)) == (
        "tiers.high.gates.metrics.thresholds[0]"
    )
    assert field_path(("groups", 2, "match")) == "groups[2].match"
    assert field_path(()) == ""


def test_canonical_json_round_trips_and_is_stable() -> None:
    policy = parse_policy(example_document(), "policy/example.yaml")
    text = canonical_json(policy)
    assert parse_policy_json(text, "ssm:/p") == policy
    assert canonical_json(parse_policy_json(text, "ssm:/p")) == text
    decoded = json.loads(text)
    assert list(decoded) == sorted(decoded)
    # every setting is explicit, defaults included
    assert decoded["tiers"]["high"]["gates"]["lineage"] == {
        "enabled": True,
        "hard": True,
        "require_pipeline_execution": True,
        "require_training_data_versions": True,
    }
    assert "null" not in text


def test_invalid_json_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"^ssm:/p: not valid JSON"):
        parse_policy_json("{tiers:", "ssm:/p")


def test_the_runtime_policy_package_does_not_import_yaml() -> None:
    code = "import sys, mlcp.policy; sys.exit('yaml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False)
    assert result.returncode == 0


def test_the_audit_retention_is_published_only_when_it_differs_from_the_default() -> None:
    from mlcp.policy import canonical_json, parse_policy_json
    from mlcp.policy.model import AuditRetention, Policy

    base = Policy.model_validate({"tiers": {"t": {}}, "groups": [{"match": "*", "tier": "t"}]})
    assert '"audit"' not in canonical_json(base)
    longer = base.model_copy(update={"audit": AuditRetention(retention_days=400)})
    assert parse_policy_json(canonical_json(longer), "test").audit.retention_days == 400
    assert parse_policy_json(canonical_json(base), "test") == base


def test_rule_lookup_by_name_keeps_first_match_wins_across_globs_and_literals() -> None:
    from mlcp.policy import Policy

    policy = Policy.model_validate(
        {
            "tiers": {"a": {}, "b": {}, "c": {}},
            "groups": [
                {"match": "fraud-x", "tier": "a", "endpoint": "e1"},
                {"match": "fraud-*", "tier": "b", "endpoint": "e1"},
                {"match": "churn-model", "tier": "a"},
                {"match": "churn-model", "tier": "c"},
                {"match": "*", "tier": "c", "endpoint": "e2"},
            ],
        }
    )
    assert policy.rule_for("fraud-x").tier == "a"  # type: ignore[union-attr]
    assert policy.rule_for("fraud-y").tier == "b"  # type: ignore[union-attr]
    assert policy.rule_for("churn-model").tier == "a"  # type: ignore[union-attr]
    assert policy.rule_for("anything").tier == "c"  # type: ignore[union-attr]
    assert policy.rule_for_endpoint("e1") is policy.groups[0]
    assert policy.rule_for_endpoint("e2") is policy.groups[4]
    assert policy.rule_for_endpoint("e3") is None
    no_catch_all = Policy.model_validate({"tiers": {"a": {}}, "groups": [{"match": "x-[ab]", "tier": "a"}]})
    assert no_catch_all.rule_for("x-a") is not None
    assert no_catch_all.rule_for("x-c") is None
