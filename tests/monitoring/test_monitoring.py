"""mlcp.monitoring: Model Monitor constraint_violations.json, our report, DescribeProcessingJob facts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlcp.events import parse_event
from mlcp.events.monitoring import ModelMonitoringReportEvent
from mlcp.monitoring import (
    REPORT_CHECK_KINDS,
    classify_constraint_violations,
    monitoring_job_facts,
    monitoring_kind,
    report_kind,
    violations_from_report,
)
from mlcp.violations import Violation, kinds_of, violating_features

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "monitoring"
EVENTS = ROOT / "events" / "model-monitoring-report"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _report(name: str = "with-violations.json", **detail: Any) -> ModelMonitoringReportEvent:
    raw = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    raw["detail"].update(detail)
    event = parse_event(raw)
    assert isinstance(event, ModelMonitoringReportEvent)
    return event


# ------------------------------------------------------------------------- constraint_violations.json


def test_data_quality_violations() -> None:
    violations = classify_constraint_violations(
        _fixture("data_quality_constraint_violations.json"), "DataQuality"
    )
    assert len(violations) == 8
    assert {v.kind for v in violations} == {"data_quality"}
    drift = violations[0]
    assert drift == Violation(
        feature="tenure_months",
        check_type="baseline_drift_check",
        kind="data_quality",
        metric="distribution_distance",
        threshold=0.1,
        observed=pytest.approx(0.5233174329916093),  # type: ignore[arg-type]
        description="Baseline drift distance: 0.5233174329916093 exceeds threshold: 0.1",
    )
    completeness = violations[2]
    assert (completeness.feature, completeness.metric) == ("total_charges", "completeness")
    assert completeness.threshold == pytest.approx(1.0)
    assert completeness.observed == pytest.approx(0.943)
    data_type = violations[3]
    assert (data_type.check_type, data_type.metric) == ("data_type_check", "data_type_match")
    assert data_type.threshold == pytest.approx(1.0)
    assert data_type.observed == pytest.approx(0.9)
    categorical = violations[4]
    assert categorical.metric == "domain_content"
    assert categorical.observed == pytest.approx(0.975)
    missing = violations[6]
    assert (missing.feature, missing.check_type) == ("Missing columns", "missing_column_check")
    assert (missing.metric, missing.threshold, missing.observed) == (None, None, None)
    assert missing.description.startswith("There are missing columns")
    assert violating_features(violations) == [
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "senior_citizen",
        "contract",
        "Missing columns",
        "Extra columns",
    ]


def test_model_quality_violations() -> None:
    violations = classify_constraint_violations(
        _fixture("model_quality_constraint_violations.json"), "ModelQuality"
    )
    assert [(v.feature, v.metric, v.check_type, v.observed, v.threshold) for v in violations] == [
        ("*", "auc", "LessThanThreshold", 0.7214, 0.9),
        ("*", "recall", "LessThanThreshold", 0.52, 0.75),
        ("*", "false_positive_rate", "GreaterThanThreshold", 0.034, 0.02),
    ]
    assert kinds_of(violations) == ["model_quality"]
    assert violating_features(violations, "model_quality") == ["*"]


def test_bias_drift_violations() -> None:
    violations = classify_constraint_violations(
        _fixture("bias_drift_constraint_violations.json"), "ModelBias"
    )
    assert [(v.feature, v.metric, v.kind) for v in violations] == [
        ("Age", "CI", "bias_drift"),
        ("Age", "DPPL", "bias_drift"),
        ("Gender", "DI", "bias_drift"),
    ]
    assert [v.observed for v in violations] == pytest.approx([0.0751544567666083, -0.0791244970125596, 0.692])
    assert violations[0].check_type == "bias_drift_check"
    assert violations[0].description.endswith("(facet Age=40)")
    assert violating_features(violations) == ["Age", "Gender"]


def test_feature_attribution_drift_violations() -> None:
    (violation,) = classify_constraint_violations(
        _fixture("feature_attribution_drift_constraint_violations.json"), "ModelExplainability"
    )
    assert violation.kind == "feature_attribution_drift"
    assert (violation.feature, violation.metric) == ("label0", "shap")
    assert violation.check_type == "feature_attribution_drift_check"
    assert violation.observed == pytest.approx(0.7639720923277322)
    assert violation.threshold == pytest.approx(0.9186944459883505)


def test_kind_comes_from_the_monitoring_type_not_the_entry() -> None:
    document = {"violations": [{"feature_name": "x", "constraint_check_type": "whatever", "description": ""}]}
    assert classify_constraint_violations(document, "DataQuality")[0].kind == "data_quality"
    bias = classify_constraint_violations({"violations": [{"facet": "x", "metric_name": "CI"}]}, "ModelBias")
    assert (bias[0].kind, bias[0].check_type) == ("bias_drift", "bias_drift_check")


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("DataQuality", "data_quality"),
        ("data-quality", "data_quality"),
        ("DATA_QUALITY", "data_quality"),
        ("ModelQuality", "model_quality"),
        ("ModelBias", "bias_drift"),
        ("bias-drift", "bias_drift"),
        ("ModelExplainability", "feature_attribution_drift"),
        ("feature_attribution_drift", "feature_attribution_drift"),
    ],
)
def test_monitoring_kind_spellings(spelling: str, kind: str) -> None:
    assert monitoring_kind(spelling) == kind


def test_no_violations_and_malformed_documents() -> None:
    assert classify_constraint_violations(_fixture("no_violations.json"), "DataQuality") == []
    assert classify_constraint_violations({"version": "1.0"}, "ModelBias") == []
    with pytest.raises(ValueError, match="unknown monitoring type 'Drift'"):
        classify_constraint_violations({"violations": []}, "Drift")
    with pytest.raises(ValueError, match="'violations' must be a list"):
        classify_constraint_violations({"violations": {"a": 1}}, "DataQuality")
    with pytest.raises(ValueError, match=r"violations\[1\] must be an object"):
        classify_constraint_violations(
            {"violations": [{"feature_name": "a", "constraint_check_type": "x"}, "oops"]}, "DataQuality"
        )
    with pytest.raises(ValueError, match=r"violations\[0\] has no constraint_check_type"):
        classify_constraint_violations({"violations": [{"feature_name": "a"}]}, "DataQuality")
    with pytest.raises(ValueError, match="must be a JSON object"):
        classify_constraint_violations([], "DataQuality")  # type: ignore[arg-type]


# ------------------------------------------------------------------------- our report


def test_report_violations_map_by_monitor_kind() -> None:
    violations = violations_from_report(_report())
    assert [(v.feature, v.check_type, v.kind) for v in violations] == [
        ("tenure_months", "baseline_drift_check", "data_quality"),
        ("plan_type", "data_type_check", "data_quality"),
        ("monthly_charges", "completeness_check", "data_quality"),
    ]
    assert (violations[0].metric, violations[0].threshold, violations[0].observed) == (
        "js_divergence",
        0.1,
        0.274,
    )
    assert violations[2].observed == pytest.approx(0.93)  # "0.93" in the report
    assert violations[2].description == ""


def test_report_monitor_kind_wins_over_check_type() -> None:
    report = _report(monitorKind="model-quality")
    assert {v.kind for v in violations_from_report(report)} == {"model_quality"}


def test_custom_report_maps_each_check_type() -> None:
    report = _report(
        monitorKind="custom",
        violations=[
            {"feature": "a", "checkType": "baseline_drift_check"},
            {"feature": "gender", "checkType": "bias_drift_check", "observedValue": "n/a"},
            {"feature": "*", "checkType": "feature_attribution_drift_check"},
            {"feature": "*", "checkType": "LessThanThreshold", "metric": "auc", "threshold": "0.9"},
            {"feature": "*", "checkType": "latency_p99_check"},
            {"feature": "b", "checkType": "psi_check"},
        ],
    )
    violations = violations_from_report(report)
    assert [v.kind for v in violations] == [
        "data_quality",
        "bias_drift",
        "feature_attribution_drift",
        "model_quality",
        "model_quality",
        "data_quality",
    ]
    assert violations[1].observed is None
    assert violations[3].threshold == 0.9
    assert kinds_of(violations) == [
        "data_quality",
        "bias_drift",
        "feature_attribution_drift",
        "model_quality",
    ]
    assert violating_features(violations, "data_quality") == ["a", "b"]


def test_every_model_monitor_check_type_has_a_kind() -> None:
    for check in (
        "data_type_check",
        "completeness_check",
        "baseline_drift_check",
        "missing_column_check",
        "extra_column_check",
        "categorical_values_check",
    ):
        assert REPORT_CHECK_KINDS[check] == "data_quality"
        assert report_kind("custom", check, "*") == "data_quality"


def test_clean_report_has_no_violations() -> None:
    assert violations_from_report(_report("clean-run.json")) == []


# ------------------------------------------------------------------------- DescribeProcessingJob


def test_facts_of_a_data_quality_job() -> None:
    facts = monitoring_job_facts(_fixture("describe_processing_job_data_quality.json"))
    assert facts.endpoint == "churn-prod"
    assert facts.schedule == "churn-prod-data-quality"
    assert facts.monitoring_type == "DataQuality"
    assert facts.kind == "data_quality"
    assert facts.violations_uri == (
        "s3://mlcp-monitoring/reports/churn-prod/churn-prod-data-quality/2025/01/31/12/constraint_violations.json"
    )


def test_facts_of_a_model_quality_job() -> None:
    facts = monitoring_job_facts(_fixture("describe_processing_job_model_quality.json"))
    assert (facts.endpoint, facts.schedule, facts.monitoring_type) == (
        "fraud-prod",
        "fraud-prod-model-quality",
        "ModelQuality",
    )
    assert facts.violations_uri is not None
    assert facts.violations_uri.endswith("/2025/01/31/13/constraint_violations.json")


def test_facts_fall_back_when_the_environment_is_thin() -> None:
    describe = copy.deepcopy(_fixture("describe_processing_job_data_quality.json"))
    env = describe["Environment"]
    del env["sagemaker_endpoint_name"], env["sagemaker_monitoring_schedule_name"]
    facts = monitoring_job_facts(describe)
    # Schedule from the ARN; endpoint from the data-capture input mounted at dataset_source.
    assert (facts.schedule, facts.endpoint) == ("churn-prod-data-quality", "churn-prod")

    del describe["ProcessingInputs"]
    # Endpoint from the output layout <S3Uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh.
    assert monitoring_job_facts(describe).endpoint == "churn-prod"

    del describe["MonitoringScheduleArn"]
    describe["Tags"] = [{"Key": "sagemaker-monitoring-schedule", "Value": "churn-prod-data-quality"}]
    assert monitoring_job_facts(describe).schedule == "churn-prod-data-quality"
    describe["Tags"] = {"sagemaker-monitoring-schedule": "other-schedule"}
    facts = monitoring_job_facts(describe)
    assert (facts.schedule, facts.endpoint) == ("other-schedule", None)


def test_facts_tolerate_absence() -> None:
    facts = monitoring_job_facts({"ProcessingJobArn": "arn:aws:sagemaker:eu-west-1:1:processing-job/x"})
    assert (facts.endpoint, facts.schedule, facts.monitoring_type, facts.violations_uri) == (None,) * 4
    assert facts.kind is None
    clarify = monitoring_job_facts(
        {
            "AppSpecification": {
                "ImageUri": "1.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-clarify-processing:1.0"
            },
            "Environment": {"analysis_type": "MODEL_BIAS"},
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "x"}]},
        }
    )
    assert (clarify.monitoring_type, clarify.kind, clarify.violations_uri) == (
        "ModelBias",
        "bias_drift",
        None,
    )


def test_explicit_monitoring_type_wins() -> None:
    describe = _fixture("describe_processing_job_data_quality.json")
    facts = monitoring_job_facts(describe, monitoring_type="ModelExplainability")
    assert (facts.monitoring_type, facts.kind) == ("ModelExplainability", "feature_attribution_drift")
    with pytest.raises(ValueError, match="unknown monitoring type"):
        monitoring_job_facts(describe, monitoring_type="nope")


def test_facts_then_classification_end_to_end() -> None:
    facts = monitoring_job_facts(_fixture("describe_processing_job_model_quality.json"))
    assert facts.monitoring_type is not None
    violations = classify_constraint_violations(
        _fixture("model_quality_constraint_violations.json"), facts.monitoring_type
    )
    assert len(violations) == 3
    assert {v.kind for v in violations} == {facts.kind}
