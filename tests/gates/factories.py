"""Realistic policy, candidate and evidence for the gate tests (and the gate benchmark's shape)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlcp.models.gates import Candidate, Container, Evidence
from mlcp.policy.model import GroupRule, Policy, Tier

ACCOUNT = "123456789012"
REGION = "us-east-1"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
IMAGE = f"{ECR}/fraud-xgb@sha256:{'a' * 64}"
MODEL_URL = "s3://mlcp-artifacts/fraud/7/model.tar.gz"
MODEL_SHA = "b" * 64
TRAINING_DATA = (
    "s3://mlcp-training-data/training-data/fraud/2026-05-01.parquet?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY,"
    "s3://mlcp-training-data/training-data/fraud/labels.csv?versionId=Wn2x8tcmLq0cJ2MyQ8a0z3ZxvUuR9wF1"
)
PIPELINE_EXECUTION = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/fraud-training/execution/7b2lqg8k3v1x"
CREATOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/SageMakerPipelineExecutionRole/SageMaker-7b2lqg8k3v1x"
APPROVER = f"arn:aws:sts::{ACCOUNT}:assumed-role/RiskApprover/alice@example.com"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AUC = "binary_classification_metrics.auc.value"
FPR = "binary_classification_metrics.false_positive_rate.value"


def full_gates() -> dict[str, Any]:
    """Every gate on, as the strictest tier of policy/example.yaml has them."""
    return {
        "metrics": {"thresholds": [{"metric": AUC, "min": 0.90}, {"metric": FPR, "max": 0.02}]},
        "regression": {"metric": AUC, "higher_is_better": True, "tolerance": 0.02},
        "bias": {
            "enabled": True,
            "required": True,
            "bounds": [
                {"metric": "DPL", "min": -0.1, "max": 0.1},
                {"metric": "DI", "min": 0.8, "max": 1.25},
                {"metric": "CI", "max": 0.3},
            ],
        },
        "explainability": {"enabled": True, "required": True},
        "artifact_integrity": {
            "allowed_registries": [
                "683313688378.dkr.ecr.*.amazonaws.com",
                f"{ACCOUNT}.dkr.ecr.*.amazonaws.com",
            ],
            "allowed_buckets": ["mlcp-*"],
        },
        "lineage": {},
        "required_metadata": {"keys": ["owner", "risk_tier", "cost_center", "data_classification"]},
        "cost_allocation_tags": {"enabled": True, "keys": ["owner", "cost-center"]},
        "change_freeze": {},
        "separation_of_duties": {},
    }


def tier(gates: dict[str, Any] | None = None, **settings: Any) -> Tier:
    """A tier with every gate on, ``gates`` overriding whole gate sections (None: leave it out)."""
    merged = full_gates() | (gates or {})
    merged = {name: value for name, value in merged.items() if value is not None}
    document = {"auto_approve": False, "human_approval": True, **settings, "gates": merged}
    return Tier.model_validate(document)


def policy(the_tier: Tier | None = None, freezes: list[dict[str, Any]] | None = None) -> Policy:
    return Policy.model_validate(
        {
            "tiers": {"high": (the_tier or tier()).model_dump()},
            "groups": [{"match": "fraud-*", "tier": "high", "endpoint": "fraud-prod"}],
            "change_freezes": freezes or [],
        }
    )


def rule(endpoint: str | None = "fraud-prod") -> GroupRule:
    return GroupRule(match="fraud-*", tier="high", endpoint=endpoint)


def candidate(**overrides: Any) -> Candidate:
    fields: dict[str, Any] = {
        "arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud-detector/7",
        "group": "fraud-detector",
        "version": 7,
        "approval_status": "PendingManualApproval",
        "created_by": CREATOR,
        "last_modified_by": CREATOR,
        "creation_time": datetime(2026, 5, 30, 9, 0, tzinfo=UTC),
        "containers": [Container(image=IMAGE, model_data_url=MODEL_URL)],
        "customer_metadata": {
            "owner": "fraud-risk",
            "risk_tier": "high",
            "cost_center": "cc-4711",
            "data_classification": "confidential",
            "artifact_sha256": MODEL_SHA,
            "training_data": TRAINING_DATA,
        },
        "tags": {"team": "fraud", "owner": "fraud-risk", "cost-center": "cc-4711"},
        "generated_by": PIPELINE_EXECUTION,
        "model_metrics": {
            "model_quality_statistics": "s3://mlcp-reports/fraud/7/evaluation.json",
            "bias_report": "s3://mlcp-reports/fraud/7/bias/analysis.json",
            "explainability": "s3://mlcp-reports/fraud/7/explainability/analysis.json",
        },
    }
    return Candidate(**(fields | overrides))


def metric(value: Any, deviation: Any = 0.004) -> dict[str, Any]:
    return {"value": value, "standard_deviation": deviation}


def evaluation_report(**values: Any) -> dict[str, Any]:
    """A SageMaker model quality (binary classification) report."""
    metrics = {"auc": 0.94, "false_positive_rate": 0.012, "precision": 0.91, "recall": 0.82, "accuracy": 0.97}
    metrics |= values
    return {
        "version": 0.0,
        "dataset": {"item_count": 120000, "evaluation_time": "2026-05-30T08:55:00.000Z"},
        "binary_classification_metrics": {
            "confusion_matrix": {"0": {"0": 115000, "1": 1400}, "1": {"0": 630, "1": 2970}},
            **{name: metric(value) for name, value in metrics.items()},
        },
    }


def clarify_report(
    dpl: tuple[float, float] = (0.04, -0.06), di: float = 0.93, ci: float = -0.12, post_dpl: float = 0.02
) -> dict[str, Any]:
    """A Clarify analysis.json with pre- and post-training bias metrics over two facets."""

    def group(value: str, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "value_or_threshold": value,
            "metrics": [{"name": n, "description": f"{n} metric", "value": v} for n, v in metrics.items()],
        }

    return {
        "version": "1.0",
        "pre_training_bias_metrics": {
            "label": "is_fraud",
            "label_value_or_threshold": "1",
            "facets": {
                "gender": [group("F", {"CI": ci, "DPL": dpl[0]})],
                "age": [group("40", {"CI": 0.05, "DPL": dpl[1]})],
            },
        },
        "post_training_bias_metrics": {
            "label": "is_fraud",
            "label_value_or_threshold": "1",
            "facets": {
                "gender": [group("F", {"DPPL": 0.01, "DI": di})],
                "age": [group("40", {"DI": 1.02, "DPPL": post_dpl})],
            },
        },
    }


def explainability_report() -> dict[str, Any]:
    return {
        "version": "1.0",
        "explanations": {
            "kernel_shap": {
                "label0": {"global_shap_values": {"amount": 0.41, "merchant": 0.22}, "expected_value": 0.1}
            }
        },
    }


def evidence(**overrides: Any) -> Evidence:
    fields: dict[str, Any] = {
        "now": NOW,
        "metrics_report": evaluation_report(),
        "champion_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud-detector/6",
        "champion_metrics_report": evaluation_report(auc=0.93),
        "bias_report": clarify_report(),
        "explainability_report": explainability_report(),
        "artifact_sha256": {MODEL_URL: MODEL_SHA},
        "approver": APPROVER,
    }
    return Evidence(**(fields | overrides))
