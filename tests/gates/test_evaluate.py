"""The gates one by one (boundaries included), the decision table and the report document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mlcp.gates import evaluate
from mlcp.gates.evaluate import (
    artifact_integrity_gate,
    bias_gate,
    change_freeze_gate,
    cost_allocation_tags_gate,
    evaluate_gates,
    explainability_gate,
    lineage_gate,
    metric_value,
    metrics_gate,
    registry_host,
    regression_gate,
    report_document,
    required_metadata_gate,
    separation_of_duties_gate,
)
from mlcp.gates.evidence import bias_values
from mlcp.models.gates import Candidate, Container, Evidence, GateOutcome, GateResult
from mlcp.policy.model import GroupRule, Policy
from mlcp.principals import principal, same_identity

from . import factories as f

PASS, FAIL, SKIP = GateOutcome.PASS, GateOutcome.FAIL, GateOutcome.SKIP


def run(
    gate: evaluate.Gate,
    *,
    gates: dict[str, Any] | None = None,
    candidate: Candidate | None = None,
    evidence: Evidence | None = None,
    policy: Policy | None = None,
    rule: GroupRule | None = None,
) -> GateResult:
    the_tier = f.tier(gates)
    return gate(
        policy or f.policy(the_tier),
        rule or f.rule(),
        the_tier,
        candidate or f.candidate(),
        evidence or f.evidence(),
    )


def test_realistic_candidate_passes_every_gate() -> None:
    the_tier = f.tier()
    report = evaluate_gates(f.policy(the_tier), f.rule(), "high", the_tier, f.candidate(), f.evidence())
    assert [(r.gate, r.outcome) for r in report.results] == [
        ("metrics", PASS),
        ("regression", PASS),
        ("bias", PASS),
        ("explainability", PASS),
        ("artifact_integrity", PASS),
        ("lineage", PASS),
        ("required_metadata", PASS),
        ("cost_allocation_tags", PASS),
        ("change_freeze", PASS),
        ("separation_of_duties", PASS),
    ]
    assert report.decision == "needs_human"  # the tier asks a human even when everything passes


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    ("auc", "bound", "outcome"),
    [
        (0.90, {"min": 0.90}, PASS),  # exactly at min
        (0.8999, {"min": 0.90}, FAIL),
        (0.95, {"max": 0.95}, PASS),  # exactly at max
        (0.9501, {"max": 0.95}, FAIL),
        (0.92, {"min": 0.90, "max": 0.95}, PASS),
        (0.89, {"min": 0.90, "max": 0.95}, FAIL),
        (0.96, {"min": 0.90, "max": 0.95}, FAIL),
        ("0.93", {"min": 0.90}, PASS),  # numeric strings count
        ("NaN", {"min": 0.90}, FAIL),  # not a finite number: as missing
        (None, {"min": 0.0}, FAIL),
        (True, {"min": 0.0}, FAIL),  # a boolean is not a metric value
    ],
)
def test_metrics_threshold_boundaries(auc: Any, bound: dict[str, float], outcome: GateOutcome) -> None:
    gates = {"metrics": {"thresholds": [{"metric": f.AUC, **bound}]}}
    result = run(metrics_gate, gates=gates, evidence=f.evidence(metrics_report=f.evaluation_report(auc=auc)))
    assert result.outcome == outcome, result.reason
    assert result.threshold == [{"metric": f.AUC, "min": bound.get("min"), "max": bound.get("max")}]


def test_metrics_every_threshold_is_checked_and_observed() -> None:
    report = f.evaluation_report(auc=0.95, false_positive_rate=0.03)
    result = run(metrics_gate, evidence=f.evidence(metrics_report=report))
    assert result.outcome == FAIL
    assert result.observed == {f.AUC: 0.95, f.FPR: 0.03}
    assert result.reason == f"{f.FPR} = 0.03, required <= 0.02"


def test_metrics_missing_metric_fails() -> None:
    gates = {"metrics": {"thresholds": [{"metric": "regression_metrics.mse.value", "max": 1.0}]}}
    result = run(metrics_gate, gates=gates)
    assert result.outcome == FAIL
    assert "regression_metrics.mse.value missing" in result.reason
    assert result.observed == {"regression_metrics.mse.value": None}


def test_metrics_missing_report_fails() -> None:
    result = run(metrics_gate, evidence=f.evidence(metrics_report=None))
    assert result.outcome == FAIL
    assert "no evaluation report" in result.reason


def test_metrics_several_failures_are_counted() -> None:
    report = f.evaluation_report(auc=0.5, false_positive_rate=0.5)
    assert run(metrics_gate, evidence=f.evidence(metrics_report=report)).reason.endswith("(and 1 more)")


def test_metrics_disabled_or_unconfigured_skips() -> None:
    assert run(metrics_gate, gates={"metrics": {"enabled": False}}).outcome == SKIP
    assert run(metrics_gate, gates={"metrics": {"thresholds": []}}).outcome == SKIP


def test_metrics_soft_gate_reports_soft() -> None:
    gates = {"metrics": {"hard": False, "thresholds": [{"metric": f.AUC, "min": 0.99}]}}
    result = run(metrics_gate, gates=gates)
    assert (result.outcome, result.hard) == (FAIL, False)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("binary_classification_metrics.auc.value", 0.94),
        ("binary_classification_metrics.auc", 0.94),  # a metric object means its value
        ("binary_classification_metrics.auc.standard_deviation", 0.004),
        ("binary_classification_metrics.confusion_matrix.0.1", 1400.0),
        ("binary_classification_metrics.nope.value", None),
        ("binary_classification_metrics.confusion_matrix", None),
        ("dataset.evaluation_time", None),
    ],
)
def test_metric_value_by_dotted_path(path: str, expected: float | None) -> None:
    assert metric_value(f.evaluation_report(), path) == expected


def test_metric_value_of_a_regression_report() -> None:
    report = {"regression_metrics": {"mse": {"value": 4.6, "standard_deviation": 0.02}}}
    assert metric_value(report, "regression_metrics.mse.value") == 4.6
    assert metric_value(None, "regression_metrics.mse.value") is None


# --------------------------------------------------------------------------- regression


@pytest.mark.parametrize(
    ("candidate_value", "champion_value", "higher_is_better", "tolerance", "outcome"),
    [
        (0.88, 0.90, True, 0.02, PASS),  # exactly at the tolerance edge
        (0.8799, 0.90, True, 0.02, FAIL),
        (0.95, 0.90, True, 0.02, PASS),  # better
        (0.90, 0.90, True, 0.0, PASS),  # equal, no tolerance
        (0.8999, 0.90, True, 0.0, FAIL),
        (0.83, 0.85, True, 0.02, PASS),  # 0.85 - 0.02 is not 0.83 in binary floating point
        (4.5, 4.0, False, 0.5, PASS),  # lower is better (mse): at the edge
        (4.51, 4.0, False, 0.5, FAIL),
        (3.0, 4.0, False, 0.0, PASS),
        (4.0001, 4.0, False, 0.0, FAIL),
    ],
)
def test_regression_against_the_champion(
    candidate_value: float,
    champion_value: float,
    higher_is_better: bool,
    tolerance: float,
    outcome: GateOutcome,
) -> None:
    metric = "regression_metrics.mse.value" if not higher_is_better else f.AUC
    gates = {"regression": {"metric": metric, "higher_is_better": higher_is_better, "tolerance": tolerance}}

    def report(value: float) -> dict[str, Any]:
        if higher_is_better:
            return f.evaluation_report(auc=value)
        return {"regression_metrics": {"mse": f.metric(value)}}

    ev = f.evidence(metrics_report=report(candidate_value), champion_metrics_report=report(champion_value))
    result = run(regression_gate, gates=gates, evidence=ev)
    assert result.outcome == outcome, result.reason
    assert result.observed["candidate"] == candidate_value
    assert result.observed["champion"] == champion_value


def test_regression_no_champion_skips_with_reason() -> None:
    result = run(regression_gate, evidence=f.evidence(champion_arn=None, champion_metrics_report=None))
    assert (result.outcome, result.reason) == (SKIP, "no champion deployed on fraud-prod")
    result = run(regression_gate, rule=f.rule(endpoint=None))
    assert result.outcome == SKIP
    assert "no endpoint" in result.reason


@pytest.mark.parametrize(
    ("auc", "reason"),
    [
        (float("nan"), f"{f.AUC} is not a number in the evaluation report (nan)"),
        ("NaN", f"{f.AUC} is not a number in the evaluation report ('NaN')"),
        ("high", f"{f.AUC} is not a number in the evaluation report ('high')"),
        (None, f"{f.AUC} missing from the evaluation report"),
    ],
)
def test_a_metric_that_is_not_a_number_is_named_so(auc: Any, reason: str) -> None:
    gates = {"metrics": {"thresholds": [{"metric": f.AUC, "min": 0.5}]}}
    result = run(metrics_gate, gates=gates, evidence=f.evidence(metrics_report=f.evaluation_report(auc=auc)))
    assert (result.outcome, result.reason) == (FAIL, reason)


def test_regression_champion_without_the_metric_fails() -> None:
    result = run(regression_gate, evidence=f.evidence(champion_metrics_report={"regression_metrics": {}}))
    assert result.outcome == FAIL
    assert result.reason.startswith("champion's evaluation report has no")
    result = run(regression_gate, evidence=f.evidence(champion_metrics_report=None))
    assert result.outcome == FAIL


def test_regression_candidate_without_the_metric_fails() -> None:
    result = run(regression_gate, evidence=f.evidence(metrics_report=None))
    assert result.outcome == FAIL
    assert result.reason.startswith("candidate's evaluation report has no")


def test_regression_not_configured_or_disabled_skips() -> None:
    assert run(regression_gate, gates={"regression": None}).reason == "not configured"
    disabled = {"regression": {"metric": f.AUC, "enabled": False}}
    assert run(regression_gate, gates=disabled).outcome == SKIP


# --------------------------------------------------------------------------- bias


def test_clarify_report_parses_every_facet_label_and_stage() -> None:
    values = bias_values(f.clarify_report())
    assert values is not None
    where = {(v.name, v.where): v.value for v in values}
    assert where[("CI", "pre_training:gender=F,label=1")] == -0.12
    assert where[("DPL", "pre_training:age=40,label=1")] == -0.06
    assert where[("DI", "post_training:gender=F,label=1")] == 0.93
    assert where[("DI", "post_training:age=40,label=1")] == 1.02
    assert len(values) == 8


def test_our_bias_format_parses() -> None:
    report = {
        "bias_metrics": [
            {"name": "DPL", "value": 0.03, "facet": "gender"},
            {"name": "DI", "value": 0.9, "facet": "gender", "facet_value": "F", "stage": "post_training"},
            {"name": "CI", "value": "NaN", "facet": "age"},  # not a number: left out
            {"name": "KL", "value": 0.1},
        ]
    }
    values = bias_values(report)
    assert values is not None
    assert [(v.name, v.value, v.where) for v in values] == [
        ("DPL", 0.03, "gender"),
        ("DI", 0.9, "post_training:gender=F"),
        ("KL", 0.1, "report"),
    ]


def test_clarify_metric_with_an_error_counts_as_missing() -> None:
    report = f.clarify_report()
    report["post_training_bias_metrics"]["facets"] = {
        "gender": [{"value_or_threshold": "F", "metrics": [{"name": "DI", "error": "division by zero"}]}]
    }
    result = run(bias_gate, evidence=f.evidence(bias_report=report))
    assert result.outcome == FAIL
    assert result.reason == "DI missing from the bias report"


@pytest.mark.parametrize(
    ("report", "outcome", "reason"),
    [
        (f.clarify_report(dpl=(0.1, -0.1)), PASS, "all 3 bounds met"),  # at both ends of [-0.1, 0.1]
        (
            f.clarify_report(dpl=(0.04, -0.12)),
            FAIL,
            "|DPL| = 0.12 at pre_training:age=40,label=1, required [-0.1, 0.1]",
        ),
        (
            f.clarify_report(dpl=(0.11, 0.0)),
            FAIL,
            "DPL = 0.11 at pre_training:gender=F,label=1, required [-0.1, 0.1]",
        ),
        (f.clarify_report(di=0.8), PASS, "all 3 bounds met"),  # DI exactly at min
        (
            f.clarify_report(di=0.79),
            FAIL,
            "DI = 0.79 at post_training:gender=F,label=1, required [0.8, 1.25]",
        ),
        (f.clarify_report(di=1.25), PASS, "all 3 bounds met"),
        (f.clarify_report(ci=-0.3), PASS, "all 3 bounds met"),  # |CI| exactly at max
        # max-only bound: the magnitude counts, a disparity against either group is one
        (f.clarify_report(ci=-0.35), FAIL, "|CI| = 0.35 at pre_training:gender=F,label=1, required <= 0.3"),
    ],
)
def test_bias_bounds_on_a_clarify_report(report: dict[str, Any], outcome: GateOutcome, reason: str) -> None:
    result = run(bias_gate, evidence=f.evidence(bias_report=report))
    assert (result.outcome, result.reason) == (outcome, reason)


def test_bias_bounds_apply_to_the_magnitude_even_with_a_negative_min() -> None:
    gates = {"bias": {"enabled": True, "bounds": [{"metric": "DPL", "min": -0.2, "max": 0.1}]}}
    report = {"bias_metrics": [{"name": "DPL", "value": -0.15, "facet": "gender"}]}
    result = run(bias_gate, gates=gates, evidence=f.evidence(bias_report=report))
    assert (result.outcome, result.reason) == (FAIL, "|DPL| = 0.15 at gender, required [-0.2, 0.1]")


def test_bias_reports_the_worst_occurrence() -> None:
    result = run(bias_gate, evidence=f.evidence(bias_report=f.clarify_report(dpl=(0.04, -0.06))))
    assert result.observed["DPL"] == {"value": -0.06, "where": "pre_training:age=40,label=1"}
    assert result.observed["DI"] == {"value": 0.93, "where": "post_training:gender=F,label=1"}
    assert result.observed["CI"] == {"value": -0.12, "where": "pre_training:gender=F,label=1"}


def test_bias_in_our_format() -> None:
    gates = {"bias": {"enabled": True, "bounds": [{"metric": "DPL", "max": 0.05}]}}
    ok = {
        "bias_metrics": [{"name": "DPL", "value": 0.03, "facet": "gender"}, {"name": "DPL", "value": -0.05}]
    }
    bad = {
        "bias_metrics": [{"name": "DPL", "value": 0.03, "facet": "gender"}, {"name": "DPL", "value": -0.07}]
    }
    assert run(bias_gate, gates=gates, evidence=f.evidence(bias_report=ok)).outcome == PASS
    result = run(bias_gate, gates=gates, evidence=f.evidence(bias_report=bad))
    assert (result.outcome, result.reason) == (FAIL, "|DPL| = 0.07 at report, required <= 0.05")


def test_bias_listed_metric_missing_fails() -> None:
    report = {"bias_metrics": [{"name": "DPL", "value": 0.0}, {"name": "DI", "value": 1.0}]}
    result = run(bias_gate, evidence=f.evidence(bias_report=report))
    assert result.outcome == FAIL
    assert result.reason == "CI missing from the bias report"
    assert result.observed["CI"] is None


@pytest.mark.parametrize(
    ("settings", "report", "outcome", "reason"),
    [
        ({"enabled": True, "required": True}, None, FAIL, "bias report required but absent"),
        ({"enabled": True, "required": False}, None, SKIP, "no bias report (not required)"),
        ({"enabled": False}, None, SKIP, "gate disabled"),
        ({"enabled": True}, {"something": "else"}, FAIL, "bias report in an unrecognised format"),
        ({"enabled": True}, {"bias_metrics": []}, PASS, "bias report present"),
    ],
)
def test_bias_presence(
    settings: dict[str, Any], report: dict[str, Any] | None, outcome: GateOutcome, reason: str
) -> None:
    result = run(bias_gate, gates={"bias": settings}, evidence=f.evidence(bias_report=report))
    assert (result.outcome, result.reason) == (outcome, reason)


# --------------------------------------------------------------------------- explainability


@pytest.mark.parametrize(
    ("settings", "present", "outcome"),
    [
        ({"enabled": True, "required": True}, True, PASS),
        ({"enabled": True, "required": True}, False, FAIL),
        ({"enabled": True, "required": False}, False, SKIP),
        ({"enabled": True, "required": False}, True, PASS),
        ({"enabled": False}, False, SKIP),
    ],
)
def test_explainability(settings: dict[str, Any], present: bool, outcome: GateOutcome) -> None:
    ev = f.evidence(explainability_report=f.explainability_report() if present else None)
    assert run(explainability_gate, gates={"explainability": settings}, evidence=ev).outcome == outcome


# --------------------------------------------------------------------------- artifact integrity


def _integrity(**settings: Any) -> dict[str, Any]:
    return {"artifact_integrity": f.full_gates()["artifact_integrity"] | settings}


@pytest.mark.parametrize(
    ("image", "digest", "outcome", "reason"),
    [
        (f.IMAGE, None, PASS, None),
        (f"{f.ECR}/fraud-xgb:1.7", "sha256:" + "c" * 64, PASS, None),  # pinned by ImageDigest
        (
            f"{f.ECR}/fraud-xgb:1.7",
            None,
            FAIL,
            f"container 0: image {f.ECR}/fraud-xgb:1.7 not pinned by digest",
        ),
        (
            "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost@sha256:" + "d" * 64,
            None,
            PASS,
            None,
        ),
        ("999999999999.dkr.ecr.us-east-1.amazonaws.com/x@sha256:" + "e" * 64, None, FAIL, "not allowed"),
        ("xgboost@sha256:" + "e" * 64, None, FAIL, "registry docker.io not allowed"),
        ("ghcr.io/someone/model:latest", None, FAIL, "registry ghcr.io not allowed"),
    ],
)
def test_integrity_images(image: str, digest: str | None, outcome: GateOutcome, reason: str | None) -> None:
    cand = f.candidate(containers=[Container(image=image, image_digest=digest, model_data_url=f.MODEL_URL)])
    result = run(artifact_integrity_gate, candidate=cand)
    assert result.outcome == outcome, result.reason
    if reason:
        assert reason in result.reason


def test_integrity_digest_not_required() -> None:
    cand = f.candidate(containers=[Container(image=f"{f.ECR}/fraud-xgb:1.7", model_data_url=f.MODEL_URL)])
    assert (
        run(artifact_integrity_gate, gates=_integrity(require_image_digest=False), candidate=cand).outcome
        == PASS
    )


@pytest.mark.parametrize(
    ("registries", "buckets", "outcome"),
    [
        ([], ["mlcp-*"], FAIL),  # nothing allowed: fail closed
        (["*.dkr.ecr.us-east-1.amazonaws.com"], [], FAIL),
        (["*.dkr.ecr.us-east-1.amazonaws.com"], ["mlcp-artifacts", "mlcp-training-data"], PASS),
        (["*"], ["*"], PASS),
    ],
)
def test_integrity_allow_lists(registries: list[str], buckets: list[str], outcome: GateOutcome) -> None:
    gates = _integrity(allowed_registries=registries, allowed_buckets=buckets)
    assert run(artifact_integrity_gate, gates=gates).outcome == outcome


@pytest.mark.parametrize(
    ("declared", "actual", "required", "outcome", "reason"),
    [
        (f.MODEL_SHA, {f.MODEL_URL: f.MODEL_SHA}, True, PASS, None),
        (f.MODEL_SHA.upper(), {f.MODEL_URL: f.MODEL_SHA}, True, PASS, None),  # hex case does not matter
        (f.MODEL_SHA, {f.MODEL_URL: "c" * 64}, True, FAIL, "differs from recorded"),
        (f.MODEL_SHA, {f.MODEL_URL: None}, True, FAIL, f"{f.MODEL_URL} missing from S3"),
        (f.MODEL_SHA, {}, True, FAIL, "was not hashed"),
        (None, {f.MODEL_URL: f.MODEL_SHA}, True, FAIL, "artifact_sha256 missing from customer metadata"),
        (None, {}, False, PASS, None),
        (f.MODEL_SHA, {f.MODEL_URL: "c" * 64}, False, FAIL, "differs"),  # declared: checked even if optional
        (f"{f.MODEL_SHA},{f.MODEL_SHA}", {f.MODEL_URL: f.MODEL_SHA}, True, FAIL, "lists 2 hashes for 1"),
    ],
)
def test_integrity_artifact_hash(
    declared: str | None,
    actual: dict[str, str | None],
    required: bool,
    outcome: GateOutcome,
    reason: str | None,
) -> None:
    metadata = {k: v for k, v in f.candidate().customer_metadata.items() if k != "artifact_sha256"}
    if declared is not None:
        metadata["artifact_sha256"] = declared
    result = run(
        artifact_integrity_gate,
        gates=_integrity(require_artifact_sha256=required),
        candidate=f.candidate(customer_metadata=metadata),
        evidence=f.evidence(artifact_sha256=actual),
    )
    assert result.outcome == outcome, result.reason
    if reason:
        assert reason in result.reason


def test_integrity_several_containers_hash_in_container_order() -> None:
    second = "s3://mlcp-artifacts/fraud/7/postprocess.tar.gz"
    containers = [
        Container(image=f.IMAGE, model_data_url=f.MODEL_URL),
        Container(image=f.IMAGE),  # no model data: nothing to hash
        Container(image=f.IMAGE, model_data_url=second),
    ]
    metadata = f.candidate().customer_metadata | {"artifact_sha256": f"{f.MODEL_SHA}, {'c' * 64}"}
    cand = f.candidate(containers=containers, customer_metadata=metadata)
    good = f.evidence(artifact_sha256={f.MODEL_URL: f.MODEL_SHA, second: "c" * 64})
    swapped = f.evidence(artifact_sha256={f.MODEL_URL: "c" * 64, second: f.MODEL_SHA})
    assert run(artifact_integrity_gate, candidate=cand, evidence=good).outcome == PASS
    result = run(artifact_integrity_gate, candidate=cand, evidence=swapped)
    assert result.outcome == FAIL
    assert result.reason.endswith("(and 1 more)")
    assert len(result.observed["problems"]) == 2


def test_integrity_buckets_of_artifacts_and_training_data() -> None:
    cand = f.candidate(containers=[Container(image=f.IMAGE, model_data_url="s3://other-bucket/model.tar.gz")])
    ev = f.evidence(artifact_sha256={"s3://other-bucket/model.tar.gz": f.MODEL_SHA})
    result = run(artifact_integrity_gate, candidate=cand, evidence=ev)
    assert (result.outcome, result.reason) == (FAIL, "container 0: artifact bucket other-bucket not allowed")

    metadata = f.candidate().customer_metadata | {"training_data": "s3://scratch/data.csv?versionId=abc"}
    result = run(artifact_integrity_gate, candidate=f.candidate(customer_metadata=metadata))
    assert (result.outcome, result.reason) == (FAIL, "training data bucket scratch not allowed")

    https = f.candidate(containers=[Container(image=f.IMAGE, model_data_url="https://example.com/m.tar.gz")])
    result = run(artifact_integrity_gate, candidate=https, evidence=f.evidence(artifact_sha256={}))
    assert "is not in S3" in result.reason


def test_integrity_no_containers_or_disabled() -> None:
    result = run(artifact_integrity_gate, candidate=f.candidate(containers=[]))
    assert result.outcome == FAIL
    assert result.reason.startswith("no inference containers")
    assert run(artifact_integrity_gate, gates=_integrity(enabled=False)).outcome == SKIP


@pytest.mark.parametrize(
    ("image", "host"),
    [
        (f.IMAGE, f.ECR),
        ("xgboost:1.7", "docker.io"),
        ("library/xgboost", "docker.io"),
        ("localhost/model:1", "localhost"),
        ("registry.local:5000/model:1", "registry.local:5000"),
        ("Public.ECR.AWS/x/y:1", "public.ecr.aws"),
    ],
)
def test_registry_host(image: str, host: str) -> None:
    assert registry_host(image) == host


# --------------------------------------------------------------------------- lineage


@pytest.mark.parametrize(
    ("generated_by", "outcome"),
    [
        (f.PIPELINE_EXECUTION, PASS),
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:pipeline/Fraud-Pipeline-2/execution/abc123", PASS),
        ("arn:aws:sagemaker:us-east-1:123456789012:training-job/fraud-train-2026", FAIL),
        ("arn:aws:sagemaker:us-east-1:123456789012:pipeline/fraud-training", FAIL),
        ("arn:aws:sagemaker:us-east-1:1234:pipeline/p/execution/abc", FAIL),
        ("someone by hand", FAIL),
        (None, FAIL),
        ("", FAIL),
    ],
)
def test_lineage_pipeline_execution(generated_by: str | None, outcome: GateOutcome) -> None:
    result = run(lineage_gate, candidate=f.candidate(generated_by=generated_by))
    assert result.outcome == outcome, result.reason


@pytest.mark.parametrize(
    ("training_data", "outcome", "reason"),
    [
        (f.TRAINING_DATA, PASS, "lineage recorded"),
        ("s3://mlcp-training-data/a.csv?versionId=v1", PASS, "lineage recorded"),
        ("s3://mlcp-training-data/a.csv", FAIL, "has no versionId"),
        ("s3://mlcp-training-data/a.csv?versionId=null", FAIL, "has no versionId"),  # unversioned bucket
        ("s3://mlcp-training-data/a.csv?versionId=v1,s3://mlcp-training-data/b.csv", FAIL, "b.csv has no"),
        (None, FAIL, "training_data missing from customer metadata"),
        ("/tmp/a.csv", FAIL, "is not an S3 URI"),
    ],
)
def test_lineage_training_data_versions(training_data: str | None, outcome: GateOutcome, reason: str) -> None:
    metadata = {k: v for k, v in f.candidate().customer_metadata.items() if k != "training_data"}
    if training_data is not None:
        metadata["training_data"] = training_data
    result = run(lineage_gate, candidate=f.candidate(customer_metadata=metadata))
    assert result.outcome == outcome
    assert reason in result.reason


def test_lineage_requirements_off() -> None:
    gates = {"lineage": {"require_pipeline_execution": False, "require_training_data_versions": False}}
    cand = f.candidate(generated_by=None, customer_metadata={})
    assert run(lineage_gate, gates=gates, candidate=cand).outcome == PASS
    assert run(lineage_gate, gates={"lineage": {"enabled": False}}, candidate=cand).outcome == SKIP


# --------------------------------------------------------------------------- required metadata


@pytest.mark.parametrize(
    ("metadata", "tags", "outcome", "missing"),
    [
        ({"owner": "a", "risk_tier": "high", "cost_center": "c", "data_classification": "d"}, {}, PASS, []),
        ({"owner": "a", "risk_tier": "high"}, {"cost_center": "c", "data_classification": "d"}, PASS, []),
        (
            {"owner": "a", "risk_tier": "high", "cost_center": "  "},
            {"data_classification": "d"},
            FAIL,
            ["cost_center"],
        ),
        ({}, {"owner": ""}, FAIL, ["owner", "risk_tier", "cost_center", "data_classification"]),
    ],
)
def test_required_metadata(
    metadata: dict[str, str], tags: dict[str, str], outcome: GateOutcome, missing: list[str]
) -> None:
    result = run(required_metadata_gate, candidate=f.candidate(customer_metadata=metadata, tags=tags))
    assert result.outcome == outcome
    if missing:
        assert result.observed == {"missing": missing}
        assert result.reason == f"missing metadata: {', '.join(missing)}"


# --------------------------------------------------------------------------- cost allocation tags


@pytest.mark.parametrize(
    ("tags", "metadata", "outcome", "missing"),
    [
        ({"owner": "fraud-risk", "cost-center": "cc-4711"}, {}, PASS, []),
        # Customer metadata is invisible to AWS Billing: only tags count.
        ({"owner": "fraud-risk"}, {"cost-center": "cc-4711"}, FAIL, ["cost-center"]),
        ({"owner": " ", "cost-center": ""}, {}, FAIL, ["owner", "cost-center"]),
        ({}, {}, FAIL, ["owner", "cost-center"]),
    ],
)
def test_cost_allocation_tags(
    tags: dict[str, str], metadata: dict[str, str], outcome: GateOutcome, missing: list[str]
) -> None:
    result = run(cost_allocation_tags_gate, candidate=f.candidate(tags=tags, customer_metadata=metadata))
    assert result.outcome == outcome
    assert result.threshold == ["owner", "cost-center"]
    if missing:
        assert result.observed == {"missing": missing}
        assert result.reason == f"missing cost allocation tags: {', '.join(missing)}"
    else:
        assert result.observed == tags


def test_cost_allocation_tags_off_by_default_and_hard_failure_rejects() -> None:
    off = run(cost_allocation_tags_gate, gates={"cost_allocation_tags": {}}, candidate=f.candidate(tags={}))
    assert off.outcome == SKIP
    the_tier = f.tier()
    report = evaluate_gates(
        f.policy(the_tier), f.rule(), "high", the_tier, f.candidate(tags={"team": "fraud"}), f.evidence()
    )
    assert report.decision == "reject"
    assert [r.gate for r in report.hard_failures] == ["cost_allocation_tags"]


def test_cost_allocation_tag_keys_are_validated() -> None:
    from pydantic import ValidationError

    from mlcp.policy.model import CostAllocationTagsGate

    with pytest.raises(ValidationError, match="aws:createdBy"):
        CostAllocationTagsGate(keys=["aws:createdBy"])
    with pytest.raises(ValidationError, match="at least 1"):
        CostAllocationTagsGate(keys=[])


# --------------------------------------------------------------------------- change freeze

FREEZE = {"start": "2026-12-21T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "year-end change freeze"}
START = datetime(2026, 12, 21, tzinfo=UTC)
END = datetime(2027, 1, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "outcome"),
    [
        (START - timedelta(microseconds=1), PASS),
        (START, FAIL),  # start inclusive
        (END - timedelta(microseconds=1), FAIL),
        (END, PASS),  # end exclusive
        (datetime(2026, 12, 20, 19, 0, tzinfo=timezone(timedelta(hours=-5))), FAIL),  # = START in UTC
        (datetime(2026, 12, 21, 0, 0), FAIL),  # naive: taken as UTC
    ],
)
def test_change_freeze_window_edges(now: datetime, outcome: GateOutcome) -> None:
    the_policy = f.policy(f.tier(), freezes=[FREEZE])
    result = run(change_freeze_gate, policy=the_policy, evidence=f.evidence(now=now))
    assert result.outcome == outcome
    if outcome == FAIL:
        assert result.reason.startswith("inside year-end change freeze (2026-12-21T00:00:00+00:00")


def test_change_freeze_names_the_window_it_is_in() -> None:
    other = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}
    the_policy = f.policy(f.tier(), freezes=[FREEZE, other])
    result = run(change_freeze_gate, policy=the_policy)  # f.NOW is 2026-06-01T12:00Z
    assert result.outcome == FAIL
    assert result.reason == "inside change freeze (2026-06-01T00:00:00+00:00 to 2026-06-02T00:00:00+00:00)"
    assert len(result.threshold) == 2
    assert run(change_freeze_gate, policy=f.policy(f.tier())).outcome == PASS
    assert (
        run(change_freeze_gate, gates={"change_freeze": {"enabled": False}}, policy=the_policy).outcome
        == SKIP
    )


# --------------------------------------------------------------------------- separation of duties

ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelineExecutionRole"


@pytest.mark.parametrize(
    ("creator", "approver", "same"),
    [
        (f.CREATOR, ROLE, True),  # assumed-role session and the role itself
        (
            f.CREATOR,
            "arn:aws:iam::123456789012:role/service-role/SageMakerPipelineExecutionRole",
            True,
        ),  # path
        (
            f.CREATOR,
            "arn:aws:sts::123456789012:assumed-role/SageMakerPipelineExecutionRole/bob",
            True,
        ),  # session
        (
            f.CREATOR,
            "arn:aws:iam::123456789012:role/sagemakerpipelineexecutionrole",
            True,
        ),  # IAM names: any case
        (f.CREATOR, f.APPROVER, False),
        (f.CREATOR, "arn:aws:iam::210987654321:role/SageMakerPipelineExecutionRole", False),  # other account
        (f.CREATOR, "arn:aws-cn:iam::123456789012:role/SageMakerPipelineExecutionRole", False),  # partition
        ("arn:aws:iam::123456789012:user/ops/alice", "arn:aws:iam::123456789012:user/alice", True),
        (
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:role/alice",
            False,
        ),  # user != role
        ("arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root", True),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/alice",
            "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/bob",
            False,
        ),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/alice",
            " arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/alice ",
            True,
        ),
    ],
)
def test_separation_of_duties_identities(creator: str, approver: str, same: bool) -> None:
    assert same_identity(creator, approver) is same
    result = run(
        separation_of_duties_gate,
        candidate=f.candidate(created_by=creator),
        evidence=f.evidence(approver=approver),
    )
    assert result.outcome == (FAIL if same else PASS), result.reason
    if same:
        assert result.reason.startswith("approved by its creator")


def test_principal_canonical_forms() -> None:
    assert principal(f.CREATOR) == principal(ROLE) == "role:aws:123456789012:sagemakerpipelineexecutionrole"
    assert principal("arn:aws:sts::123456789012:federated-user/carol") == "federated:aws:123456789012:carol"


@pytest.mark.parametrize(
    ("creator", "approver", "outcome", "reason"),
    [
        (f.CREATOR, None, SKIP, "not approved yet"),
        (f.CREATOR, "unknown", FAIL, "approver unknown"),
        (f.CREATOR, "", FAIL, "approver unknown"),
        (f.CREATOR, "  ", FAIL, "approver unknown"),
        ("unknown", f.APPROVER, FAIL, "creator unknown"),
        ("", f.APPROVER, FAIL, "creator unknown"),
        ("unknown", "unknown", FAIL, "approver unknown"),  # two unknowns are never "different people"
    ],
)
def test_separation_of_duties_fails_closed(
    creator: str, approver: str | None, outcome: GateOutcome, reason: str
) -> None:
    result = run(
        separation_of_duties_gate,
        candidate=f.candidate(created_by=creator),
        evidence=f.evidence(approver=approver),
    )
    assert (result.outcome, result.reason) == (outcome, reason)


def test_separation_of_duties_disabled() -> None:
    gates = {"separation_of_duties": {"enabled": False}}
    result = run(separation_of_duties_gate, gates=gates, evidence=f.evidence(approver=f.CREATOR))
    assert result.outcome == SKIP


# --------------------------------------------------------------------------- decision table

SOFT_BIAS = {"bias": f.full_gates()["bias"] | {"hard": False}}
BAD_BIAS = f.clarify_report(di=0.5)
BAD_METRICS = f.evaluation_report(auc=0.5)


@pytest.mark.parametrize(
    ("settings", "gates", "evidence_overrides", "decision"),
    [
        ({"auto_approve": True, "human_approval": False}, {}, {}, "approve"),
        ({"auto_approve": False, "human_approval": True}, {}, {}, "needs_human"),
        ({"auto_approve": False, "human_approval": False}, {}, {}, "needs_human"),
        # skipped gates (not approved yet, no champion) do not stand in the way of approval
        (
            {"auto_approve": True, "human_approval": False},
            {},
            {"approver": None, "champion_arn": None},
            "approve",
        ),
        (
            {"auto_approve": True, "human_approval": False},
            SOFT_BIAS,
            {"bias_report": BAD_BIAS},
            "needs_human",
        ),
        (
            {"auto_approve": False, "human_approval": True},
            SOFT_BIAS,
            {"bias_report": BAD_BIAS},
            "needs_human",
        ),
        ({"auto_approve": True, "human_approval": False}, {}, {"bias_report": BAD_BIAS}, "reject"),
        ({"auto_approve": False, "human_approval": True}, {}, {"metrics_report": BAD_METRICS}, "reject"),
        # a hard failure wins over a soft one
        (
            {"auto_approve": True, "human_approval": False},
            SOFT_BIAS,
            {"bias_report": BAD_BIAS, "approver": f.CREATOR},
            "reject",
        ),
    ],
)
def test_decision_table(
    settings: dict[str, bool], gates: dict[str, Any], evidence_overrides: dict[str, Any], decision: str
) -> None:
    the_tier = f.tier(gates, **settings)
    report = evaluate_gates(
        f.policy(the_tier), f.rule(), "t", the_tier, f.candidate(), f.evidence(**evidence_overrides)
    )
    assert report.decision == decision, report.reasons()


def test_a_gate_that_raises_fails_hard(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> GateResult:
        raise KeyError("boom")

    monkeypatch.setattr(evaluate, "GATES", (*evaluate.GATES[:-1], ("separation_of_duties", broken)))
    the_tier = f.tier(auto_approve=True, human_approval=False)
    report = evaluate_gates(f.policy(the_tier), f.rule(), "t", the_tier, f.candidate(), f.evidence())
    assert report.decision == "reject"
    assert report.reasons() == ["separation_of_duties: gate error: KeyError: 'boom'"]


def test_report_document_is_json_and_complete() -> None:
    the_tier = f.tier()
    ev = f.evidence(metrics_report=BAD_METRICS, now=datetime(2026, 6, 1, 12, 0))
    report = evaluate_gates(f.policy(the_tier), f.rule(), "high", the_tier, f.candidate(), ev)
    document = json.loads(json.dumps(report_document(report), allow_nan=False))
    assert document["candidate"] == {"arn": f.candidate().arn, "group": "fraud-detector", "version": 7}
    assert document["tier"] == "high"
    assert document["decision"] == "reject"
    assert document["evaluated_at"] == "2026-06-01T12:00:00+00:00"
    assert document["hard_failures"] == ["metrics", "regression"]
    assert document["reasons"] == report.reasons()
    assert document["reasons"][0] == f"metrics: {f.AUC} = 0.5, required >= 0.9"
    assert document["counts"] == {"pass": 8, "fail": 2, "skip": 0}
    assert [r["gate"] for r in document["results"]] == [name for name, _ in evaluate.GATES]
    first = document["results"][0]
    assert first["outcome"] == "fail"
    assert first["hard"] is True
    assert first["observed"] == {f.AUC: 0.5, f.FPR: 0.012}
