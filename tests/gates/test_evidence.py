"""Evidence collection against moto: reports in S3, artifact hashes, the champion on the group endpoint."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp.adapters import clients
from mlcp.adapters.evidence import CHUNK_BYTES, S3Evidence, champion_package, read_json_report, sha256_of
from mlcp.adapters.registry import candidate_from_describe, model_metrics_uris
from mlcp.gates.evaluate import evaluate_gates
from mlcp.gates.evidence import collect_evidence, combined_bias_report
from mlcp.models.gates import Candidate, GateOutcome

from . import factories as f

REPORTS = "mlcp-reports"
ARTIFACTS = "mlcp-artifacts"
ROLE = f"arn:aws:iam::{f.ACCOUNT}:role/SageMakerExecutionRole"
ARTIFACT = b"\x1f\x8b model weights " * (CHUNK_BYTES // 8)  # a little over 2 MiB: several chunks


@dataclass
class Aws:
    s3: Any
    sagemaker: Any

    def put_json(self, key: str, document: Any) -> str:
        self.s3.put_object(Bucket=REPORTS, Key=key, Body=json.dumps(document).encode())
        return f"s3://{REPORTS}/{key}"

    def register(
        self, version_key: str, *, model_url: str, quality: str | None, **extra: Any
    ) -> dict[str, Any]:
        """Create a model package in group fraud-detector; its DescribeModelPackage response."""
        metrics: dict[str, Any] = {}
        if quality:
            metrics["ModelQuality"] = {"Statistics": {"ContentType": "application/json", "S3Uri": quality}}
        metrics |= extra.pop("metrics", {})
        arn = self.sagemaker.create_model_package(
            ModelPackageGroupName="fraud-detector",
            ModelPackageDescription=version_key,
            InferenceSpecification={
                "Containers": [{"Image": f.IMAGE, "ModelDataUrl": model_url}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="PendingManualApproval",
            ModelMetrics=metrics,
            **extra,
        )["ModelPackageArn"]
        response: dict[str, Any] = self.sagemaker.describe_model_package(ModelPackageName=arn)
        return response

    def deploy(
        self, endpoint: str, *, package: str | None, image_only: bool = False, as_list: bool = False
    ) -> str:
        """A model (from ``package``, or a bare image), an endpoint config and an endpoint serving it."""
        name = f"{endpoint}-model"
        container = {"ModelPackageName": package} if package and not image_only else {"Image": f.IMAGE}
        kwargs: dict[str, Any] = {"Containers": [container]} if as_list else {"PrimaryContainer": container}
        model_arn: str = self.sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, **kwargs)[
            "ModelArn"
        ]
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=f"{endpoint}-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        self.sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
        return model_arn


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_DEFAULT_REGION": f.REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients.reset()
        s3 = boto3.client("s3", region_name=f.REGION)
        for bucket in (REPORTS, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        sagemaker = boto3.client("sagemaker", region_name=f.REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName="fraud-detector")
        yield Aws(s3, sagemaker)
        clients.reset()


def _candidate(aws: Aws, *, with_champion_report: bool = True) -> tuple[Candidate, str]:
    """A registered candidate with every report, and a champion (its own package) on fraud-prod."""
    aws.s3.put_object(Bucket=ARTIFACTS, Key="fraud/7/model.tar.gz", Body=ARTIFACT)
    champion_quality = aws.put_json("fraud/6/evaluation.json", f.evaluation_report(auc=0.93))
    champion = aws.register(
        "v6",
        model_url=f"s3://{ARTIFACTS}/fraud/6/model.tar.gz",
        quality=champion_quality if with_champion_report else None,
    )
    aws.deploy("fraud-prod", package=champion["ModelPackageArn"])
    described = aws.register(
        "v7",
        model_url=f"s3://{ARTIFACTS}/fraud/7/model.tar.gz",
        quality=aws.put_json("fraud/7/evaluation.json", f.evaluation_report()),
        metrics={
            "Bias": {
                "Report": {
                    "ContentType": "application/json",
                    "S3Uri": aws.put_json("fraud/7/bias.json", f.clarify_report()),
                }
            },
            "Explainability": {
                "Report": {
                    "ContentType": "application/json",
                    "S3Uri": aws.put_json("fraud/7/shap.json", f.explainability_report()),
                }
            },
        },
        MetadataProperties={"GeneratedBy": f.PIPELINE_EXECUTION},
        CustomerMetadataProperties=f.candidate().customer_metadata
        | {"artifact_sha256": hashlib.sha256(ARTIFACT).hexdigest()},
    )
    return candidate_from_describe(described, f.candidate().tags), champion["ModelPackageArn"]


def test_candidate_from_a_real_describe_response(aws: Aws) -> None:
    candidate, _ = _candidate(aws)
    assert candidate.group == "fraud-detector"
    assert candidate.version == 2
    assert candidate.arn.endswith(":model-package/fraud-detector/2")
    assert candidate.approval_status == "PendingManualApproval"
    assert [c.image for c in candidate.containers] == [f.IMAGE]
    assert candidate.containers[0].model_data_url == f"s3://{ARTIFACTS}/fraud/7/model.tar.gz"
    assert candidate.generated_by == f.PIPELINE_EXECUTION
    assert candidate.customer_metadata["owner"] == "fraud-risk"
    assert candidate.tags == f.candidate().tags
    assert set(candidate.model_metrics) == {"model_quality_statistics", "bias_report", "explainability"}
    assert candidate.created_by != "unknown"  # moto fills CreatedBy with a (fake) Studio user profile


def test_candidate_from_describe_identities_and_optional_fields() -> None:
    response = {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/3",
        "ModelPackageGroupName": "g",
        "ModelPackageVersion": 3,
        "ModelApprovalStatus": "Approved",
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "CreatedBy": {"IamIdentity": {"Arn": f.CREATOR, "PrincipalId": "AROA:x"}},
        "LastModifiedBy": {"UserProfileName": "alice"},
        "InferenceSpecification": {
            "Containers": [
                {"Image": f"{f.ECR}/x:1", "ImageDigest": "sha256:" + "a" * 64, "ModelDataUrl": "s3://b/m"}
            ]
        },
        "ModelMetrics": {
            "Bias": {
                "PreTrainingReport": {"ContentType": "application/json", "S3Uri": "s3://r/pre.json"},
                "PostTrainingReport": {"ContentType": "application/json", "S3Uri": "s3://r/post.json"},
            },
            "ModelDataQuality": {
                "Constraints": {"ContentType": "application/json", "S3Uri": "s3://r/dq.json"}
            },
        },
    }
    candidate = candidate_from_describe(response, {})
    assert candidate.created_by == f.CREATOR
    assert candidate.last_modified_by == "alice"
    assert candidate.containers[0].image_digest == "sha256:" + "a" * 64
    assert candidate.generated_by is None
    assert candidate.customer_metadata == {}
    assert candidate.model_metrics == {
        "bias_pre_training": "s3://r/pre.json",
        "bias_post_training": "s3://r/post.json",
        "data_quality_constraints": "s3://r/dq.json",
    }
    bare = candidate_from_describe({**response, "CreatedBy": {}, "InferenceSpecification": None}, {})
    assert bare.created_by == "unknown"
    assert bare.containers == []


def test_collect_everything_then_every_gate_passes(aws: Aws) -> None:
    candidate, champion_arn = _candidate(aws)
    evidence = collect_evidence(
        candidate, f.rule(), now=f.NOW, approver=f.APPROVER, source=S3Evidence(aws.s3, aws.sagemaker)
    )
    assert evidence.metrics_report == f.evaluation_report()
    assert evidence.champion_arn == champion_arn
    assert evidence.champion_metrics_report == f.evaluation_report(auc=0.93)
    assert evidence.bias_report == f.clarify_report()
    assert evidence.explainability_report == f.explainability_report()
    url = f"s3://{ARTIFACTS}/fraud/7/model.tar.gz"
    assert evidence.artifact_sha256 == {url: hashlib.sha256(ARTIFACT).hexdigest()}
    assert evidence.approver == f.APPROVER

    the_tier = f.tier()
    report = evaluate_gates(f.policy(the_tier), f.rule(), "high", the_tier, candidate, evidence)
    assert report.failures == [], report.reasons()
    assert report.decision == "needs_human"


def test_default_clients_come_from_the_adapters(aws: Aws) -> None:
    candidate, champion_arn = _candidate(aws)
    evidence = collect_evidence(candidate, f.rule(), now=f.NOW, approver=None, source=S3Evidence())
    assert evidence.champion_arn == champion_arn
    assert evidence.metrics_report is not None


def test_missing_and_malformed_reports_are_none(aws: Aws, caplog: pytest.LogCaptureFixture) -> None:
    aws.s3.put_object(Bucket=REPORTS, Key="broken.json", Body=b"{not json")
    aws.s3.put_object(Bucket=REPORTS, Key="list.json", Body=b"[1, 2]")
    aws.s3.put_object(Bucket=REPORTS, Key="binary.json", Body=b"\xff\xfe\x00")
    with caplog.at_level(logging.WARNING, logger="mlcp.adapters.evidence"):
        assert read_json_report(aws.s3, f"s3://{REPORTS}/broken.json") is None
        assert read_json_report(aws.s3, f"s3://{REPORTS}/list.json") is None
        assert read_json_report(aws.s3, f"s3://{REPORTS}/binary.json") is None
    assert "broken.json is not valid JSON" in caplog.text
    assert "list.json is JSON but not an object (list)" in caplog.text
    assert read_json_report(aws.s3, f"s3://{REPORTS}/absent.json") is None
    assert read_json_report(aws.s3, "s3://no-such-bucket/x.json") is None
    assert read_json_report(aws.s3, "https://example.com/x.json") is None
    assert read_json_report(aws.s3, None) is None


def test_a_candidate_whose_reports_vanished(aws: Aws) -> None:
    candidate, _ = _candidate(aws)
    for key in ("fraud/7/evaluation.json", "fraud/7/bias.json", "fraud/7/shap.json"):
        aws.s3.delete_object(Bucket=REPORTS, Key=key)
    aws.s3.delete_object(Bucket=ARTIFACTS, Key="fraud/7/model.tar.gz")
    evidence = collect_evidence(
        candidate, f.rule(), now=f.NOW, approver=None, source=S3Evidence(aws.s3, aws.sagemaker)
    )
    assert evidence.metrics_report is None
    assert evidence.bias_report is None
    assert evidence.explainability_report is None
    assert evidence.artifact_sha256 == {f"s3://{ARTIFACTS}/fraud/7/model.tar.gz": None}
    the_tier = f.tier(auto_approve=True, human_approval=False)
    report = evaluate_gates(f.policy(the_tier), f.rule(), "high", the_tier, candidate, evidence)
    assert {r.gate for r in report.failures} == {
        "metrics",
        "regression",
        "bias",
        "explainability",
        "artifact_integrity",
    }
    assert report.decision == "reject"


def test_sha256_streams_versions_and_absent_objects(aws: Aws) -> None:
    aws.s3.put_bucket_versioning(Bucket=ARTIFACTS, VersioningConfiguration={"Status": "Enabled"})
    first = aws.s3.put_object(Bucket=ARTIFACTS, Key="m.tar.gz", Body=ARTIFACT)["VersionId"]
    aws.s3.put_object(Bucket=ARTIFACTS, Key="m.tar.gz", Body=b"tampered")
    assert len(ARTIFACT) > 2 * CHUNK_BYTES
    assert sha256_of(aws.s3, f"s3://{ARTIFACTS}/m.tar.gz") == hashlib.sha256(b"tampered").hexdigest()
    pinned = f"s3://{ARTIFACTS}/m.tar.gz?versionId={first}"
    assert sha256_of(aws.s3, pinned) == hashlib.sha256(ARTIFACT).hexdigest()
    assert sha256_of(aws.s3, f"s3://{ARTIFACTS}/nothing.tar.gz") is None


def test_tampered_artifact_fails_integrity(aws: Aws) -> None:
    candidate, _ = _candidate(aws)
    aws.s3.put_object(Bucket=ARTIFACTS, Key="fraud/7/model.tar.gz", Body=ARTIFACT + b"!")
    evidence = collect_evidence(
        candidate, f.rule(), now=f.NOW, approver=None, source=S3Evidence(aws.s3, aws.sagemaker)
    )
    the_tier = f.tier()
    report = evaluate_gates(f.policy(the_tier), f.rule(), "high", the_tier, candidate, evidence)
    assert [r.gate for r in report.failures] == ["artifact_integrity"]
    assert "differs from recorded" in report.failures[0].reason


# --------------------------------------------------------------------------- the champion


def test_no_endpoint_means_no_champion(aws: Aws) -> None:
    assert champion_package(aws.sagemaker, "fraud-prod") == (None, None)
    candidate, _ = _candidate(aws)
    evidence = collect_evidence(
        candidate,
        f.rule(endpoint="churn-prod"),
        now=f.NOW,
        approver=None,
        source=S3Evidence(aws.s3, aws.sagemaker),
    )
    assert (evidence.champion_arn, evidence.champion_metrics_report) == (None, None)


def test_champion_through_a_containers_list(aws: Aws) -> None:
    package = aws.register("v1", model_url=f"s3://{ARTIFACTS}/m", quality=None)["ModelPackageArn"]
    aws.deploy("churn-prod", package=package, as_list=True)
    assert champion_package(aws.sagemaker, "churn-prod") == (package, package)


def test_champion_not_from_the_registry(aws: Aws) -> None:
    model_arn = aws.deploy("churn-prod", package=None, image_only=True)
    assert champion_package(aws.sagemaker, "churn-prod") == (model_arn, None)
    candidate, _ = _candidate(aws)
    evidence = collect_evidence(
        candidate,
        f.rule(endpoint="churn-prod"),
        now=f.NOW,
        approver=None,
        source=S3Evidence(aws.s3, aws.sagemaker),
    )
    assert evidence.champion_arn == model_arn
    assert evidence.champion_metrics_report is None  # a champion nobody can vouch for: regression fails


def test_champion_without_a_quality_report(aws: Aws) -> None:
    candidate, champion_arn = _candidate(aws, with_champion_report=False)
    evidence = collect_evidence(
        candidate, f.rule(), now=f.NOW, approver=None, source=S3Evidence(aws.s3, aws.sagemaker)
    )
    assert evidence.champion_arn == champion_arn
    assert evidence.champion_metrics_report is None


# --------------------------------------------------------------------------- only what the tier needs


class Refuses:
    """A client that must not be called."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call: {name}")


def test_only_what_enabled_gates_need_is_read(aws: Aws) -> None:
    candidate, _ = _candidate(aws)
    lean = f.tier(
        {
            "metrics": {"enabled": False},
            "regression": None,
            "bias": {"enabled": False},
            "explainability": {"enabled": False},
            "artifact_integrity": {"enabled": False},
        }
    )
    evidence = collect_evidence(
        candidate, f.rule(), now=f.NOW, approver=None, tier=lean, source=S3Evidence(Refuses(), Refuses())
    )
    assert evidence.model_dump(exclude={"now"}) == {
        "metrics_report": None,
        "champion_arn": None,
        "champion_metrics_report": None,
        "bias_report": None,
        "explainability_report": None,
        "artifact_sha256": {},
        "approver": None,
    }


def test_hashing_only_when_integrity_needs_it(aws: Aws) -> None:
    candidate, _ = _candidate(aws)
    no_hash = f.tier(
        {"artifact_integrity": f.full_gates()["artifact_integrity"] | {"require_artifact_sha256": False}}
    )
    undeclared = candidate.model_copy(
        update={
            "customer_metadata": {
                k: v for k, v in candidate.customer_metadata.items() if k != "artifact_sha256"
            }
        }
    )
    evidence = collect_evidence(
        undeclared, f.rule(), now=f.NOW, approver=None, tier=no_hash, source=S3Evidence(aws.s3, aws.sagemaker)
    )
    assert evidence.artifact_sha256 == {}
    # declared although not required: verified, so hashed
    evidence = collect_evidence(
        candidate, f.rule(), now=f.NOW, approver=None, tier=no_hash, source=S3Evidence(aws.s3, aws.sagemaker)
    )
    assert list(evidence.artifact_sha256.values()) == [hashlib.sha256(ARTIFACT).hexdigest()]


def test_metrics_report_read_for_regression_alone(aws: Aws) -> None:
    candidate, champion_arn = _candidate(aws)
    only_regression = f.tier({"metrics": {"enabled": False}})
    evidence = collect_evidence(
        candidate,
        f.rule(),
        now=f.NOW,
        approver=None,
        tier=only_regression,
        source=S3Evidence(aws.s3, aws.sagemaker),
    )
    assert evidence.metrics_report is not None
    assert evidence.champion_arn == champion_arn


# --------------------------------------------------------------------------- bias report kinds


def test_pre_and_post_training_reports_are_combined(aws: Aws) -> None:
    clarify = f.clarify_report(di=0.7)
    pre = aws.put_json(
        "pre.json", {"version": "1.0", "pre_training_bias_metrics": clarify["pre_training_bias_metrics"]}
    )
    post = aws.put_json(
        "post.json", {"version": "1.0", "post_training_bias_metrics": clarify["post_training_bias_metrics"]}
    )
    candidate = f.candidate(model_metrics={"bias_pre_training": pre, "bias_post_training": post})
    evidence = collect_evidence(
        candidate, f.rule(endpoint=None), now=f.NOW, approver=None, source=S3Evidence(aws.s3, Refuses())
    )
    assert evidence.bias_report is not None
    names = sorted({entry["name"] for entry in evidence.bias_report["bias_metrics"]})
    assert names == ["CI", "DI", "DPL", "DPPL"]
    the_tier = f.tier()
    report = evaluate_gates(f.policy(the_tier), f.rule(endpoint=None), "high", the_tier, candidate, evidence)
    bias = next(r for r in report.results if r.gate == "bias")
    assert bias.outcome == GateOutcome.FAIL
    assert bias.reason == "DI = 0.7 at post_training:gender=F,label=1, required [0.8, 1.25]"


def test_combined_bias_report_cases() -> None:
    ours = {"bias_metrics": [{"name": "DPL", "value": 0.02, "facet": "gender"}]}
    assert combined_bias_report([None, None]) is None
    assert combined_bias_report([ours, None]) is ours
    combined = combined_bias_report([ours, f.clarify_report()])
    assert combined is not None
    assert len(combined["bias_metrics"]) == 9
    assert combined_bias_report([{"unknown": 1}, ours]) == {"bias_metrics": ours["bias_metrics"]}


def test_model_metrics_uris_ignores_absent_parts() -> None:
    assert model_metrics_uris(None) == {}
    assert model_metrics_uris({"Bias": {"Report": {"ContentType": "application/json"}}}) == {}
    assert model_metrics_uris({"Explainability": {"Report": {"S3Uri": "s3://r/e.json"}}}) == {
        "explainability": "s3://r/e.json"
    }
