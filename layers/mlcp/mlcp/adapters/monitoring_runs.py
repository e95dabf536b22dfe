"""Model Monitor runs as SageMaker and S3 hold them: the processing job, its violations report.

Implements ``mlcp.ports.MonitoringRuns``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.dynamo import error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

#: GetObject codes that mean "no violations file": a clean run writes none.
_ABSENT = frozenset({"NoSuchKey", "404", "NoSuchBucket"})


class SageMakerMonitoringRuns:
    """``MonitoringRuns`` on DescribeProcessingJob and GetObject (clients from ``mlcp.adapters.clients``
    unless given)."""

    def __init__(self, sagemaker: SageMakerClient | None = None, s3: S3Client | None = None) -> None:
        self._sagemaker = sagemaker or clients.sagemaker()
        self._s3 = s3 or clients.s3()

    def processing_job(self, name: str) -> dict[str, Any] | None:
        """DescribeProcessingJob's response; None when SageMaker does not know the job."""
        try:
            return dict(self._sagemaker.describe_processing_job(ProcessingJobName=name))
        except ClientError as exc:
            if error_code(exc) != "ValidationException":
                raise
            return None

    def violations(self, uri: str) -> dict[str, Any] | None:
        """The JSON object at ``uri`` (a run's constraint_violations.json); None when there is none."""
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in _ABSENT:
                return None
            raise
        document = json.loads(body)
        return document if isinstance(document, dict) else None
