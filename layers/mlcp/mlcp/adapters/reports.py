"""S3 adapter: gate reports, the evidence behind each decision (KMS-encrypted by the bucket)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from mlcp.adapters import clients
from mlcp.ports import StoredReport

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def report_body(document: dict[str, Any]) -> bytes:
    """The bytes a gate report is stored as: sorted keys, so a re-serialized read gives the same bytes."""
    return json.dumps(document, indent=2, sort_keys=True, default=str).encode()


def report_sha256(document: dict[str, Any]) -> str:
    """SHA-256 of the stored report; the ``gates.evaluated`` audit record carries it, so the hash chain
    anchors the report's thresholds and observed values, not only its URI."""
    return hashlib.sha256(report_body(document)).hexdigest()


class ReportWriter:
    """Writes JSON documents under ``gate-reports/`` of the reports bucket."""

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self._bucket = bucket
        self._client = client or clients.s3()

    def write(self, key: str, document: dict[str, Any]) -> StoredReport:
        """Write ``document`` at ``gate-reports/<key>``; returns its s3:// URI (with the version id)
        and the SHA-256 of the stored bytes."""
        full_key = f"gate-reports/{key}"
        body = report_body(document)
        response = self._client.put_object(
            Bucket=self._bucket, Key=full_key, Body=body, ContentType="application/json"
        )
        version = response.get("VersionId")
        suffix = f"?versionId={version}" if version and version != "null" else ""
        return StoredReport(f"s3://{self._bucket}/{full_key}{suffix}", hashlib.sha256(body).hexdigest())
