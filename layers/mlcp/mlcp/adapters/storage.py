"""S3 adapter: re-reads an object's facts from the API instead of trusting an event's copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class ObjectFacts(BaseModel):
    """What S3 says about an object now."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    bucket: str
    key: str
    version_id: str | None
    size: int
    etag: str
    last_modified: str


class S3ObjectStore:
    """HeadObject-backed lookups."""

    def __init__(self, client: S3Client | None = None) -> None:
        self._client = client or clients.s3()

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectFacts | None:
        """Facts of the object (that version, when given), or None when S3 does not have it."""
        kwargs = {"Bucket": bucket, "Key": key}
        if version_id and version_id != "null":
            kwargs["VersionId"] = version_id
        try:
            head = self._client.head_object(**kwargs)  # type: ignore[arg-type]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "404",
                "NoSuchKey",
                "NotFound",
                "NoSuchVersion",
                "NoSuchBucket",
            }:
                return None
            raise
        return ObjectFacts(
            bucket=bucket,
            key=key,
            version_id=head.get("VersionId"),
            size=head["ContentLength"],
            etag=head["ETag"].strip('"'),
            last_modified=head["LastModified"].isoformat(),
        )
