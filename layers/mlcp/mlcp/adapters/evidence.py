"""The gates' evidence as S3 and SageMaker hold it: JSON reports, artifact hashes, the champion.

Implements ``mlcp.ports.EvidenceSource``. "Looked for, not found" is ``None``, never an exception:
a missing report or artifact is for a gate to judge. Errors that are not "absent" (access denied,
throttling past the retries) propagate: the flow retries or fails loudly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.dynamo import error_code
from mlcp.adapters.registry import model_metrics_uris
from mlcp.s3uri import parse_s3_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

logger = logging.getLogger(__name__)

#: Bytes read per chunk when hashing an artifact (model tarballs can be many GiB: never all in memory).
CHUNK_BYTES = 1024 * 1024
#: Reports are small JSON documents; anything larger is not one (and is not read into memory).
MAX_REPORT_BYTES = 16 * 1024 * 1024

_ABSENT_OBJECT = {"404", "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion"}


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
        if error_code(exc) in _ABSENT_OBJECT:
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
        if error_code(exc) == "ValidationException":  # "Could not find endpoint ..."
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


class S3Evidence:
    """``EvidenceSource`` on S3 (reports, artifacts) and SageMaker (the champion and its package).
    Clients default to ``mlcp.adapters.clients``, each built on first use."""

    def __init__(self, s3: S3Client | None = None, sagemaker: SageMakerClient | None = None) -> None:
        self._s3 = s3
        self._sagemaker = sagemaker

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = clients.s3()
        return self._s3

    @property
    def sagemaker(self) -> SageMakerClient:
        if self._sagemaker is None:
            self._sagemaker = clients.sagemaker()
        return self._sagemaker

    def json_report(self, uri: str | None) -> dict[str, Any] | None:
        """The JSON object stored at ``uri`` (see :func:`read_json_report`)."""
        return read_json_report(self.s3, uri)

    def sha256(self, uri: str) -> str | None:
        """Hex SHA-256 of the object at ``uri`` (see :func:`sha256_of`)."""
        return sha256_of(self.s3, uri)

    def champion(self, endpoint: str) -> tuple[str | None, str | None]:
        """(the model serving on ``endpoint``, the ModelQuality statistics URI of its package)."""
        champion_arn, package = champion_package(self.sagemaker, endpoint)
        if package is None:
            return champion_arn, None
        described = self.sagemaker.describe_model_package(ModelPackageName=package)
        return champion_arn, model_metrics_uris(described.get("ModelMetrics")).get("model_quality_statistics")
