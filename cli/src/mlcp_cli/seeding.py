"""Register model packages the way the reference pipeline does (docs/ARCHITECTURE.md, "Governance"):
artifact and reports in S3, SHA-256 and lineage in the package. Used by scenarios and tests to
put realistic candidates (and champions) in front of the gates.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

BUILTIN_XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost@sha256:" + "5" * 64


@dataclass
class PackageSpec:
    """What to register. Every field has the value a well-behaved pipeline would give it."""

    group: str
    bucket: str = "mlcp-models"
    metrics: dict[str, float] = field(
        default_factory=lambda: {
            "auc": 0.93,
            "precision": 0.9,
            "recall": 0.8,
            "f1": 0.85,
            "false_positive_rate": 0.01,
        }
    )
    image: str = BUILTIN_XGBOOST
    artifact: bytes = b"xgboost model bytes"
    metadata: dict[str, str] = field(
        default_factory=lambda: {"owner": "team-churn", "risk_tier": "medium", "cost_center": "cc-1234"}
    )
    record_sha256: bool = True
    wrong_sha256: bool = False
    pipeline_execution: str | None = (
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/abc123"
    )
    training_data_version: str | None = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
    bias: dict[str, float] | None = None
    explainability: bool = False
    status: str = "PendingManualApproval"
    extra_metadata: dict[str, str] = field(default_factory=dict)


def _ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _put_json(s3: Any, bucket: str, key: str, document: dict[str, Any]) -> str:
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode(), ContentType="application/json")
    return f"s3://{bucket}/{key}"


def register_package(s3: Any, sagemaker: Any, spec: PackageSpec) -> str:
    """Upload the artifact and reports, create the group if needed and register the package; its ARN."""
    _ensure_bucket(s3, spec.bucket)
    groups = sagemaker.list_model_package_groups(NameContains=spec.group)["ModelPackageGroupSummaryList"]
    if not any(g["ModelPackageGroupName"] == spec.group for g in groups):
        sagemaker.create_model_package_group(ModelPackageGroupName=spec.group)
    existing = sagemaker.list_model_packages(ModelPackageGroupName=spec.group)["ModelPackageSummaryList"]
    prefix = f"{spec.group}/v{len(existing) + 1}"

    model_key = f"{prefix}/model.tar.gz"
    s3.put_object(Bucket=spec.bucket, Key=model_key, Body=spec.artifact)
    model_url = f"s3://{spec.bucket}/{model_key}"

    model_metrics: dict[str, Any] = {}
    if spec.metrics:
        report = {name: {"value": value, "standard_deviation": 0.005} for name, value in spec.metrics.items()}
        uri = _put_json(
            s3, spec.bucket, f"{prefix}/evaluation.json", {"binary_classification_metrics": report}
        )
        model_metrics["ModelQuality"] = {"Statistics": {"ContentType": "application/json", "S3Uri": uri}}
    if spec.bias is not None:
        bias_report: dict[str, Any] = {
            "bias_metrics": [
                {"name": name, "value": value, "facet": "gender"} for name, value in spec.bias.items()
            ]
        }
        uri = _put_json(s3, spec.bucket, f"{prefix}/bias.json", bias_report)
        model_metrics["Bias"] = {"Report": {"ContentType": "application/json", "S3Uri": uri}}
    if spec.explainability:
        uri = _put_json(
            s3, spec.bucket, f"{prefix}/explainability.json", {"explanations": {"kernel_shap": {}}}
        )
        model_metrics["Explainability"] = {"Report": {"ContentType": "application/json", "S3Uri": uri}}

    metadata = dict(spec.metadata)
    if spec.record_sha256:
        digest = hashlib.sha256(spec.artifact).hexdigest()
        metadata["artifact_sha256"] = ("0" * 64) if spec.wrong_sha256 else digest
    if spec.training_data_version:
        metadata["training_data"] = (
            f"s3://mlcp-training-data/training-data/{spec.group}/part-0001.csv?versionId={spec.training_data_version}"
        )
    metadata.update(spec.extra_metadata)

    request: dict[str, Any] = {
        "ModelPackageGroupName": spec.group,
        "ModelPackageDescription": f"{spec.group} registered by its training pipeline",
        "ModelApprovalStatus": spec.status,
        "InferenceSpecification": {
            "Containers": [{"Image": spec.image, "ModelDataUrl": model_url}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "CustomerMetadataProperties": metadata,
    }
    if model_metrics:
        request["ModelMetrics"] = model_metrics
    if spec.pipeline_execution:
        request["MetadataProperties"] = {"GeneratedBy": spec.pipeline_execution}
    arn: str = sagemaker.create_model_package(**request)["ModelPackageArn"]
    return arn


def deploy_champion(sagemaker: Any, endpoint: str, model_package_arn: str) -> None:
    """Put ``model_package_arn`` in production on ``endpoint`` (Model -> EndpointConfig -> Endpoint),
    as a finished deployment leaves it: the regression gate compares candidates with it."""
    suffix = model_package_arn.rsplit("/", 1)[-1]
    model = f"{endpoint}-champion-v{suffix}"
    sagemaker.create_model(
        ModelName=model,
        PrimaryContainer={"ModelPackageName": model_package_arn},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/mlcp-sagemaker-execution",
    )
    config = f"{model}-config"
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
