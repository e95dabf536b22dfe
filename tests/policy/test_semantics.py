"""Semantic policy validation (mlcp_cli.policy_check): what the runtime model accepts but can never
work is an error (or a warning) with the file, line and column, and a did-you-mean where one fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcp.policy.appconfig import MAX_HOSTED_CONFIGURATION_BYTES
from mlcp_cli.main import main
from mlcp_cli.policy_check import check_policy_text
from mlcp_cli.policy_check.catalog import BIAS_METRICS, REPORT_SECTIONS

from .conftest import EXAMPLE

HEAD = """\
version: 1
tiers:
  high:
    human_approval: true
    approvers: ["arn:aws:iam::123456789012:role/risk-officer"]
    deployment: {alarms: [fraud-5xx]}
    gates:
"""
GROUPS = """\
groups:
  - {match: "fraud-*", tier: high}
"""


def check(gates: str, *, head: str = HEAD, groups: str = GROUPS) -> tuple[list[str], list[str]]:
    result = check_policy_text(head + gates + groups, "p.yaml")
    return result.errors, result.warnings


def test_the_example_policy_has_no_finding() -> None:
    result = check_policy_text(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    assert result.ok
    assert (result.errors, result.warnings) == ([], [])


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (
            "{metric: binary_classification_metrics.auc.value, min: 1.7}",
            "p.yaml:10:68: tiers.high.gates.metrics.thresholds[0].min: min 1.7 can never be met: "
            "binary_classification_metrics.auc.value is in [0, 1]",
        ),
        (
            "{metric: binary_classification_metrics.accuracy.value, min: -3}",
            "p.yaml:10:73: tiers.high.gates.metrics.thresholds[0].min: min -3 can never fail: "
            "binary_classification_metrics.accuracy.value is in [0, 1]",
        ),
        (
            "{metric: binary_classification_metrics.f1, max: 2}",
            "p.yaml:10:61: tiers.high.gates.metrics.thresholds[0].max: max 2 can never fail: "
            "binary_classification_metrics.f1 is in [0, 1]",
        ),
        (
            "{metric: binary_classification_metrics.auc.valeu, min: 0.8}",
            "p.yaml:10:22: tiers.high.gates.metrics.thresholds[0].metric: 'valeu' is not a field of "
            "binary_classification_metrics.auc (did you mean 'value'?); fields: value, standard_deviation",
        ),
        (
            "{metric: binary_classification_metrics.recal.value, min: 0.8}",
            "p.yaml:10:22: tiers.high.gates.metrics.thresholds[0].metric: 'recal' is not a metric of "
            "binary_classification_metrics (did you mean 'recall'?)",
        ),
        (
            "{metric: binary_clasification_metrics.auc.value, min: 0.8}",
            "p.yaml:10:22: tiers.high.gates.metrics.thresholds[0].metric: 'binary_clasification_metrics' is not a "
            "section of SageMaker's evaluation report (did you mean 'binary_classification_metrics'?); sections: "
            "binary_classification_metrics, multiclass_classification_metrics, regression_metrics",
        ),
        (
            "{metric: binary_classification_metrics.confusion_matrix, min: 1}",
            "p.yaml:10:22: tiers.high.gates.metrics.thresholds[0].metric: binary_classification_metrics."
            "confusion_matrix is not a number (a matrix or a curve): no bound applies",
        ),
        (
            "{metric: regression_metrics.mse.standard_deviation, max: -0.1}",
            "p.yaml:10:70: tiers.high.gates.metrics.thresholds[0].max: max -0.1 can never be met: "
            "regression_metrics.mse.standard_deviation is in [0, inf]",
        ),
    ],
)
def test_metric_paths_and_ranges(threshold: str, expected: str) -> None:
    errors, _ = check(f"      metrics:\n        thresholds:\n          - {threshold}\n")
    assert errors == [expected]


@pytest.mark.parametrize(
    "threshold",
    [
        "{metric: regression_metrics.r2.value, min: -0.5}",
        "{metric: regression_metrics.rmse, max: 1000}",
        "{metric: multiclass_classification_metrics.weighted_f1.value, min: 0.7}",
        "{metric: binary_classification_metrics.false_positive_rate.value, max: 0}",
    ],
)
def test_bounds_inside_the_range_pass(threshold: str) -> None:
    assert check(f"      metrics:\n        thresholds:\n          - {threshold}\n") == ([], [])


def test_bias_metric_names_come_from_clarify_and_bound_the_magnitude() -> None:
    errors, _ = check(
        "      bias:\n        bounds:\n"
        "          - {metric: DPLX, max: 0.1}\n"
        "          - {metric: dpl, max: 0.1}\n"
        "          - {metric: CI, min: -0.2}\n"
        "          - {metric: KS, max: 3}\n"
        "          - {metric: DI, min: 0.8, max: 1.25}\n"
    )
    assert errors[0].startswith(
        "p.yaml:10:22: tiers.high.gates.bias.bounds[0].metric: 'DPLX' is not a SageMaker Clarify bias metric "
        "(did you mean 'DPL'?); metrics: CI, DPL,"
    )
    assert errors[1].startswith("p.yaml:11:22: tiers.high.gates.bias.bounds[1].metric: 'dpl' is not")
    assert "(did you mean 'DPL'?)" in errors[1]
    assert errors[2:] == [
        "p.yaml:12:31: tiers.high.gates.bias.bounds[2].min: min -0.2 can never fail: |CI| is in [0, 1]",
        "p.yaml:13:31: tiers.high.gates.bias.bounds[3].max: max 3 can never fail: |KS| is in [0, 1]",
    ]


def test_regression_metric_and_tolerance() -> None:
    errors, _ = check(
        "      regression: {metric: binary_classification_metrics.aucc.value, tolerance: 0.1}\n"
        "    retention_days: 30\n"
    )
    assert errors == [
        "p.yaml:8:28: tiers.high.gates.regression.metric: 'aucc' is not a metric of "
        "binary_classification_metrics (did you mean 'auc'?)"
    ]
    errors, _ = check("      regression: {metric: binary_classification_metrics.auc, tolerance: 1.5}\n")
    assert errors == [
        "p.yaml:8:74: tiers.high.gates.regression.tolerance: tolerance 1.5 can never fail: "
        "binary_classification_metrics.auc is in [0, 1]"
    ]


def test_unknown_keys_have_a_position_and_a_did_you_mean() -> None:
    errors, _ = check(
        "      metrics:\n        treshold: []\n      lineage: {requre_pipeline_execution: true}\n"
    )
    assert errors == [
        "p.yaml:9:9: tiers.high.gates.metrics.treshold: unknown field (did you mean 'thresholds'?)",
        "p.yaml:10:17: tiers.high.gates.lineage.requre_pipeline_execution: unknown field "
        "(did you mean 'require_pipeline_execution'?)",
    ]
    errors, _ = check("      zzz: 1\n")
    assert errors[0].startswith(
        "p.yaml:8:7: tiers.high.gates.zzz: unknown field; fields here: metrics, regression"
    )


def test_structural_errors_are_located_too() -> None:
    errors, _ = check("      metrics: {hard: maybe}\n")
    assert errors == [
        "p.yaml:8:23: tiers.high.gates.metrics.hard: Input should be a valid boolean, unable to interpret input "
        "(got 'maybe')"
    ]


def test_named_approvers_per_tier() -> None:
    head = """\
version: 1
tiers:
  auto:
    auto_approve: true
    human_approval: false
    approvers: ["arn:aws:iam::123456789012:role/a"]
    deployment: {strategy: all_at_once}
  high:
    human_approval: true
    approvers: ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/a",
                "arn:aws:iam::123456789012:role/aws-service-role/ops.example.com/x"]
    deployment: {alarms: [a]}
  open:
    human_approval: true
    deployment: {alarms: [a]}
"""
    groups = "groups:\n  - {match: a, tier: auto}\n  - {match: b, tier: high}\n  - {match: c, tier: open}\n"
    errors, warnings = check("", head=head, groups=groups)
    assert errors == [
        "p.yaml:6:16: tiers.auto.approvers: approvers are never asked: the tier approves automatically "
        "(auto_approve)",
        "p.yaml:11:17: tiers.high.approvers[2]: arn:aws:iam::123456789012:role/aws-service-role/ops.example.com/x"
        " is a service-linked role: no person answers as it",
    ]
    assert warnings == [
        "p.yaml:10:53: warning: tiers.high.approvers[1]: arn:aws:iam::123456789012:role/a is listed twice",
        "p.yaml:14:21: warning: tiers.open.human_approval: no approvers named: anyone but the package's creator "
        "may answer this tier's approvals",
    ]


def test_warnings_for_rules_that_never_apply() -> None:
    head = (
        HEAD.replace("    deployment: {alarms: [fraud-5xx]}\n", "")
        + "      metrics: {}\n  unused: {human_approval: false}\n"
    )
    groups = 'groups:\n  - {match: "fraud-*", tier: high}\n  - {match: "fraud-big-*", tier: high}\n'
    errors, warnings = check("", head=head, groups=groups)
    assert errors == []
    assert warnings == [
        "p.yaml:4:5: warning: tiers.high.deployment.alarms: a canary deployment with no alarms: nothing rolls it "
        "back during the bake",
        "p.yaml:8:11: warning: tiers.unused.deployment.alarms: a canary deployment with no alarms: nothing rolls "
        "it back during the bake",
        "p.yaml:8:11: warning: tiers.unused: tier 'unused' is not used by any group rule",
        "p.yaml:11:13: warning: groups[1].match: 'fraud-big-*' never matches: groups[0] ('fraud-*') comes first",
    ]


def test_a_policy_too_large_for_the_store_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    description = "x" * (MAX_HOSTED_CONFIGURATION_BYTES + 100)
    path = tmp_path / "big.yaml"
    path.write_text(
        HEAD.replace("  high:\n", f"  high:\n    description: {description}\n") + "      {}\n" + GROUPS
    )
    assert main(["policy", "validate", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{path}:1:1: warning: the published policy is ")
    assert out[0].endswith(
        f"the policy store (an AppConfig hosted version) holds at most {MAX_HOSTED_CONFIGURATION_BYTES}:"
        " `mlcp policy publish` will refuse it"
    )
    assert out[1] == f"OK {path}: 1 groups, 1 tiers (1 warning)"
    assert main(["policy", "validate", "--json", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["valid"] is True
    assert len(record["warnings"]) == 1


def test_a_semantic_error_fails_validate_and_blocks_loading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        HEAD
        + "      metrics: {thresholds: [{metric: binary_classification_metrics.auc, min: 1.7}]}\n"
        + GROUPS
    )
    assert main(["policy", "validate", str(path)]) == 1
    assert "min 1.7 can never be met" in capsys.readouterr().out
    assert main(["policy", "explain", "fraud-x", "--file", str(path)]) == 1
    assert "min 1.7 can never be met" in capsys.readouterr().err


def test_catalog_lists_are_clarify_and_model_monitor_names() -> None:
    assert {"CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"} <= set(BIAS_METRICS)
    assert {"DPPL", "DI", "DCA", "DCR", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE"} <= set(
        BIAS_METRICS
    )
    assert "DPLX" not in BIAS_METRICS
    assert set(REPORT_SECTIONS["regression_metrics"]) == {"mae", "mse", "rmse", "r2"}


SHADOW_HEAD = """\
version: 1
tiers:
  high:
    human_approval: false
    deployment:
      alarms: [fraud-5xx]
      shadow:
"""


def test_a_shadow_shorter_than_a_metrics_samples_is_an_error() -> None:
    errors, _ = check(
        "        duration_minutes: 10\n"
        "        sample_percent: 20\n"
        "        metrics:\n"
        "          - {metric: ModelLatency, min_samples: 5}\n"
        "          - {metric: Invocation5XXErrors, statistic: Sum, min_samples: 15}\n",
        head=SHADOW_HEAD,
    )
    assert errors == [
        "p.yaml:12:72: tiers.high.deployment.shadow.metrics[1].min_samples: Invocation5XXErrors needs 15 "
        "one-minute samples but the shadow lasts 10 min: its verdict could never be better than marginal"
    ]


@pytest.mark.parametrize(
    ("shadow", "message"),
    [
        ("{duration_minutes: 60, sample_percent: 0, metrics: [{metric: ModelLatency}]}", "sample_percent"),
        ("{duration_minutes: 43201, metrics: [{metric: ModelLatency}]}", "duration_minutes"),
        ("{duration_minutes: 60, metrics: []}", "metrics"),
        ("{duration_minutes: 60, metrics: [{metric: ModelLatency}], unsupported: ignore}", "unsupported"),
        (
            "{duration_minutes: 60, metrics: [{metric: ModelLatency}], pass_score: 50, marginal_score: 60}",
            "marginal_score 60.0 > pass_score 50.0",
        ),
    ],
)
def test_shadow_settings_out_of_range_are_errors(shadow: str, message: str) -> None:
    errors, _ = check(f"      shadow: {shadow}\n", head=SHADOW_HEAD.removesuffix("      shadow:\n"))
    assert errors, shadow
    assert message in errors[0], errors


PROMOTED = """\
version: 1
tiers:
  low: {auto_approve: true, human_approval: false}
  shadowed:
    human_approval: false
    deployment:
      alarms: [x-5xx]
      shadow:
        duration_minutes: 30
        metrics: [{metric: ModelLatency, direction: increase, allowed_increase: 1.1, min_samples: 10}]
groups:
  - match: "promo-*"
    tier: low
    promotion:
      - {stage: staging, account: "222222222222", endpoint: mlcp-promo, tier: shadowed}
"""


def test_a_member_stage_whose_tier_a_member_cannot_run_is_an_error_and_its_tier_counts_as_used() -> None:
    result = check_policy_text(PROMOTED, "p.yaml")
    assert result.errors == [
        "p.yaml:15:79: groups[0].promotion[0].tier: stage 'staging' deploys in member account 222222222222, "
        "which does not run a shadow phase yet (tier 'shadowed' has deployment.shadow): every deployment "
        "there would be refused"
    ]
    assert not [w for w in result.warnings if "is not used by any group rule" in w]
