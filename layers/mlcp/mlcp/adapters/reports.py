"""S3 adapter: gate reports, the evidence behind each decision (KMS-encrypted by the bucket)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ReportWriter:
    """Writes JSON documents under ``gate-reports/`` of the reports bucket."""

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self._bucket = bucket
        self._client = client or clients.s3()

    def write(self, key: str, document: dict[str, Any]) -> str:
        """Write ``document`` at ``gate-reports/<key>``; returns its s3:// URI (with the version id)."""
        full_key = f"gate-reports/{key}"
        response = self._client.put_object(
            Bucket=self._bucket,
            Key=full_key,
            Body=json.dumps(document, indent=2, sort_keys=True, default=str).encode(),
            ContentType="application/json",
        )
        version = response.get("VersionId")
        suffix = f"?versionId={version}" if version and version != "null" else ""
        return f"s3://{self._bucket}/{full_key}{suffix}"
