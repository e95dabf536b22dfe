"""``aws.s3`` ``Object Created``: the S3 -> EventBridge notification (bucket must have
EventBridge notifications enabled). Field names are kebab-case in the detail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart

S3_SOURCE = "aws.s3"
OBJECT_CREATED = "Object Created"


class S3Bucket(AwsPart):
    name: str = Field(min_length=3, max_length=63, description="Bucket name.")


class S3Object(AwsPart):
    key: str = Field(min_length=1, max_length=1024, description="Object key (URL-decoded by S3).")
    size: int | None = Field(default=None, ge=0, description="Object size in bytes.")
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class S3ObjectCreatedDetail(AwsDetail):
    version: str = "0"
    bucket: S3Bucket
    object: S3Object
    request_id: str | None = Field(default=None, alias="request-id")
    requester: str | None = Field(default=None, description="Account id or service principal.")
    source_ip_address: str | None = Field(default=None, alias="source-ip-address")
    reason: str | None = Field(
        default=None,
        description="Creating API: PutObject, POST Object, CopyObject, CompleteMultipartUpload.",
    )


class S3ObjectCreatedEvent(AwsEvent):
    """An object was created in a bucket that sends its notifications to EventBridge."""

    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    detail: S3ObjectCreatedDetail

    @property
    def bucket(self) -> str:
        return self.detail.bucket.name

    @property
    def key(self) -> str:
        return self.detail.object.key

    @property
    def s3_uri(self) -> str:
        return f"s3://{self.detail.bucket.name}/{self.detail.object.key}"

    @property
    def version_id(self) -> str | None:
        return self.detail.object.version_id
