"""Gathering what the gates look at: the candidate as the registry describes it, its reports in S3, the
SHA-256 of its artifacts, and the champion serving on the group's endpoint.

boto3 clients are injected (defaults: ``mlcp.adapters.clients``). "Looked for, not found" is ``None`` in the
evidence, never an exception: a missing report or artifact is for a gate to judge. Errors that are not
"absent" (access denied, throttling past the retries) propagate: the flow retries or fails loudly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.registry import identity_of
from mlcp.gates.evaluate import flatten_bias_report, parse_s3_uri
from mlcp.gates.model import Candidate, Container, Evidence
from mlcp.policy.model import GroupRule, Tier

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

logger = logging.getLogger(__name__)

#: Bytes read per chunk when hashing an artifact (model tarballs can be many GiB: never all in memory).
CHUNK_BYTES = 1024 * 1024
#: Reports are small JSON documents; anything larger is not one (and is not read into memory).
MAX_REPORT_BYTES = 16 * 1024 * 1024

_ABSENT_OBJECT = {"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion"}

#: ModelMetrics paths -> the keys of ``Candidate.model_metrics``.
_MODEL_METRICS: tuple[tuple[str, str, str], ...] = (
    ("ModelQuality", "Statistics", "model_quality_statistics"),
    ("ModelQuality", "Constraints", "model_quality_constraints"),
    ("ModelDataQuality", "Statistics", "data_quality_statistics"),
    ("ModelDataQuality", "Constraints", "data_quality_constraints"),
    ("Bias", "Report", "bias_report"),
    ("Bias", "PreTrainingReport", "bias_pre_training"),
    ("Bias", "PostTrainingReport", "bias_post_training"),
    ("Explainability", "Report", "explainability"),
)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def model_metrics_uris(model_metrics: Mapping[str, Any] | None) -> dict[str, str]:
    """The S3 URIs of a DescribeModelPackage ``ModelMetrics``, by kind (see ``Candidate.model_metrics``)."""
    uris: dict[str, str] = {}
    for kind, part, key in _MODEL_METRICS:
        source = ((model_metrics or {}).get(kind) or {}).get(part) or {}
        if isinstance(source, Mapping) and source.get("S3Uri"):
            uris[key] = str(source["S3Uri"])
    return uris


def candidate_from_describe(response: Mapping[str, Any], tags: Mapping[str, str]) -> Candidate:
    """A ``Candidate`` from a DescribeModelPackage response and the package's tags."""
    containers = [
        Container(
            image=str(container.get("Image", "")),
            image_digest=container.get("ImageDigest"),
            model_data_url=container.get("ModelDataUrl"),
        )
        for container in (response.get("InferenceSpecification") or {}).get("Containers") or []
    ]
    return Candidate(
        arn=response["ModelPackageArn"],
        group=response.get("ModelPackageGroupName", ""),
        version=int(response.get("ModelPackageVersion", 0)),
        approval_status=response.get("ModelApprovalStatus", "PendingManualApproval"),
        created_by=identity_of(response.get("CreatedBy")),
        last_modified_by=identity_of(response.get("LastModifiedBy")),
        creation_time=response["CreationTime"],
        containers=containers,
        customer_metadata={
            str(k): str(v) for k, v in (response.get("CustomerMetadataProperties") or {}).items()
        },
        tags=dict(tags),
        generated_by=(response.get("MetadataProperties") or {}).get("GeneratedBy"),
        approval_description=response.get("ApprovalDescription"),
        model_metrics=model_metrics_uris(response.get("ModelMetrics")),
    )


def _get_object(s3: S3Client, uri: str) -> Any | None:
    """GetObject of an S3 URI (its versionId when given); None when the object is absent or not in S3."""
    location = parse_s3_uri(uri)
    if location is None:
        logger.warning("not an S3 URI: %s", uri)
        return None
    bucket, key, version = location
    kwargs: dict[str, str] = {"Bucket": bucket, "Key": key}
    if version and version != "null":
        kwargs["VersionId"] = version
    try:
        return s3.get_object(**kwargs)  # type: ignore[arg-type]
    except ClientError as exc:
        if _error_code(exc) in _ABSENT_OBJECT:
            return None
        raise


def read_json_report(s3: S3Client, uri: str | None) -> dict[str, Any] | None:
    """The JSON object stored at ``uri``; None when there is no URI, no object, or no JSON object there."""
    if not uri:
        return None
    response = _get_object(s3, uri)
    if response is None:
        return None
    size = int(response.get("ContentLength") or 0)
    body = response["Body"]
    try:
        if size > MAX_REPORT_BYTES:
            logger.warning("report %s is %d bytes, over %d: not read", uri, size, MAX_REPORT_BYTES)
            return None
        document = json.loads(body.read())
    except (ValueError, UnicodeDecodeError) as exc:
        logger.warning("report %s is not valid JSON: %s", uri, exc)
        return None
    finally:
        body.close()
    if not isinstance(document, dict):
        logger.warning("report %s is JSON but not an object (%s)", uri, type(document).__name__)
        return None
    return document


def sha256_of(s3: S3Client, uri: str) -> str | None:
    """Hex SHA-256 of the object at ``uri``, streamed in chunks; None when the object is absent."""
    response = _get_object(s3, uri)
    if response is None:
        return None
    digest = hashlib.sha256()
    body = response["Body"]
    try:
        for chunk in body.iter_chunks(CHUNK_BYTES):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


def combined_bias_report(reports: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One bias report out of the package's (``Bias.Report``, pre- and post-training): the one there is, or
    all of them flattened into our format. Unreadable ones are left out; None when none is readable."""
    present = [report for report in reports if report is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    entries: list[dict[str, Any]] = []
    for report in present:
        entries += flatten_bias_report(report) or []
    return {"bias_metrics": entries}


def champion_package(sagemaker: SageMakerClient, endpoint: str) -> tuple[str | None, str | None]:
    """(champion ARN, the model package it was deployed from) for the endpoint.

    The champion is the model of the endpoint config's first production variant; its package is the
    ``ModelPackageName`` of the model's primary container (or first container). (None, None) when the
    endpoint does not exist or serves nothing; (model ARN, None) when it serves a model that did not come
    from the registry (then there is a champion whose metrics nobody can vouch for).
    """
    try:
        endpoint_description = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError as exc:
        if _error_code(exc) == "ValidationException":  # "Could not find endpoint ..."
            return None, None
        raise
    config_name = endpoint_description.get("EndpointConfigName")
    if not config_name:
        return None, None
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = config.get("ProductionVariants") or []
    model_name = variants[0].get("ModelName") if variants else None
    if not model_name:
        return None, None
    model = sagemaker.describe_model(ModelName=model_name)
    container: Mapping[str, Any] = model.get("PrimaryContainer") or next(
        iter(model.get("Containers") or []), {}
    )
    package = container.get("ModelPackageName")
    if package:
        return str(package), str(package)
    return model.get("ModelArn", model_name), None


def _needs(tier: Tier | None, gate: str) -> bool:
    """Whether the tier's gates look at what ``gate`` needs (no tier: everything is read)."""
    if tier is None:
        return True
    settings = getattr(tier.gates, gate)
    return settings is not None and bool(settings.enabled)


EVIDENCE_GATES = ("metrics", "regression", "bias", "explainability", "artifact_integrity")
"""Gates whose evidence is read only when the tier enables them (the others read the candidate)."""


def replay_inputs(candidate: Candidate, evidence: Evidence, tier: Tier | None) -> dict[str, Any]:
    """What the gates saw, as JSON, kept in the gate report so that ``mlcp policy dry-run`` can run
    the same gates again under another policy: the candidate, the evidence, and which gates' evidence
    was read (a gate the old tier left off had none read: its replay is unknown, not a failure)."""
    return {
        "candidate": candidate.model_dump(mode="json"),
        "evidence": evidence.model_dump(mode="json"),
        "evidence_read_for": [gate for gate in EVIDENCE_GATES if _needs(tier, gate)],
    }


def collect_evidence(
    candidate: Candidate,
    rule: GroupRule,
    *,
    now: datetime,
    approver: str | None,
    tier: Tier | None = None,
    s3: S3Client | None = None,
    sagemaker: SageMakerClient | None = None,
) -> Evidence:
    """Everything the gates of ``tier`` need for ``candidate``; only that is read (no tier: all of it).

    * metrics / regression: the candidate's ModelQuality statistics report;
    * regression with a group endpoint: the champion (``champion_package``) and its ModelQuality report;
    * bias: ``Bias.Report``, ``PreTrainingReport``, ``PostTrainingReport`` (``combined_bias_report``);
    * explainability: ``Explainability.Report``;
    * artifact_integrity: SHA-256 of each container's ModelDataUrl object when the tier requires it or the
      package declares an ``artifact_sha256``.
    """
    s3_client = s3 or clients.s3()
    reports = candidate.model_metrics
    metrics_report = None
    if _needs(tier, "metrics") or _needs(tier, "regression"):
        metrics_report = read_json_report(s3_client, reports.get("model_quality_statistics"))

    champion_arn = champion_report = None
    if rule.endpoint and _needs(tier, "regression"):
        sagemaker_client = sagemaker or clients.sagemaker()
        champion_arn, package = champion_package(sagemaker_client, rule.endpoint)
        if package is not None:
            described = sagemaker_client.describe_model_package(ModelPackageName=package)
            uris = model_metrics_uris(described.get("ModelMetrics"))
            champion_report = read_json_report(s3_client, uris.get("model_quality_statistics"))

    bias_report = None
    if _needs(tier, "bias"):
        kinds = ("bias_report", "bias_pre_training", "bias_post_training")
        bias_report = combined_bias_report(
            [read_json_report(s3_client, reports[kind]) for kind in kinds if kind in reports]
        )

    explainability_report = None
    if _needs(tier, "explainability"):
        explainability_report = read_json_report(s3_client, reports.get("explainability"))

    hashes: dict[str, str | None] = {}
    integrity = tier.gates.artifact_integrity if tier is not None else None
    if _needs(tier, "artifact_integrity") and (
        integrity is None
        or integrity.require_artifact_sha256
        or candidate.customer_metadata.get("artifact_sha256")
    ):
        for container in candidate.containers:
            url = container.model_data_url
            if url and url not in hashes:
                hashes[url] = sha256_of(s3_client, url) if parse_s3_uri(url) else None

    return Evidence(
        now=now,
        metrics_report=metrics_report,
        champion_arn=champion_arn,
        champion_metrics_report=champion_report,
        bias_report=bias_report,
        explainability_report=explainability_report,
        artifact_sha256=hashes,
        approver=approver,
    )
