"""Shared building blocks of the event models: model configs, the timestamp type, small helpers.

AWS is not consistent about timestamps inside ``detail``: SageMaker sends epoch milliseconds as
numbers (``1635195148181``, ``1592411992203.0``), as numeric strings (``"1583831889050"``) or ISO
8601 strings; CloudWatch sends ``2019-10-02T17:04:40.985+0000`` (offset without a colon).
``Timestamp`` accepts all of them and yields an aware ``datetime``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
# Above this an epoch value can only be milliseconds (1e11 s is the year 5138).
_EPOCH_MS_THRESHOLD = 1e11


def _epoch_to_datetime(value: float) -> datetime:
    seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
    return datetime.fromtimestamp(seconds, tz=UTC)


def coerce_timestamp(value: Any) -> Any:
    """Turn epoch seconds/milliseconds (number or numeric string) and ``+0000`` offsets into
    something pydantic's ``datetime`` accepts; leave anything else for pydantic to judge."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _epoch_to_datetime(float(value))
    if isinstance(value, str):
        text = value.strip()
        if _NUMERIC.match(text):
            return _epoch_to_datetime(float(text))
        return _OFFSET_WITHOUT_COLON.sub(r"\1:\2", text)
    return value


Timestamp = Annotated[
    datetime,
    BeforeValidator(coerce_timestamp, json_schema_input_type=int | float | str),
]
"""An instant as AWS writes it in event details (epoch s/ms, numeric string, ISO 8601)."""


class AwsDetail(BaseModel):
    """Base of every ``detail`` model: AWS adds fields over time, so unknown ones are kept, not
    rejected; attributes are snake_case, aliases are AWS's own spelling."""

    # defer_build: a model's validator is built when it first validates, not at import, so a
    # function pays only for the events it parses (cold start, docs/adr/0013).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class AwsEvent(BaseModel):
    """Base of every event envelope model: the EventBridge envelope, field for field (names, aliases,
    types, descriptions) as Powertools' ``EventBridgeModel`` declares it, without importing the
    Powertools parser package (~10 ms of cold start for models no function uses; docs/adr/0030).
    Subclasses narrow ``source`` and ``detail_type`` to one ``Literal`` and ``detail`` to a model."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    version: str = Field(description="By default, this is set to 0 (zero) in all events.", examples=["0"])
    id: str = Field(
        description="A Version 4 UUID generated for every event.",
        examples=["6a7e8feb-b491-4cf7-a9f1-bf3703467718"],
    )
    source: str = Field(
        description="Identifies the service that sourced the event. \
        All events sourced from within AWS begin with 'aws.'",
        examples=["aws.ec2", "aws.s3", "aws.events", "aws.scheduler"],
    )
    account: str = Field(
        description="The 12-digit AWS account ID of the owner of the service emitting the event.",
        examples=["111122223333", "123456789012"],
    )
    time: datetime = Field(
        description="The event timestamp, which can be specified by the service originating the event.",
        examples=["2017-12-22T18:43:48Z", "2023-01-15T10:30:00Z"],
    )
    region: str = Field(
        description="Identifies the AWS region where the event originated.",
        examples=["us-east-1", "us-west-2", "eu-west-1"],
    )
    resources: list[str] = Field(
        description="A JSON array that contains ARNs that identify resources involved in the event. "
        "Inclusion of these ARNs is at the discretion of the service.",
        examples=[
            ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
            ["arn:aws:s3:::my-bucket/my-key"],
            ["arn:aws:events:us-east-1:123456789012:rule/MyRule"],
        ],
    )
    detail_type: str = Field(
        ...,
        alias="detail-type",
        description="Identifies, in combination with the source field, \
        the fields and values that appear in the detail field.",
        examples=["EC2 Instance State-change Notification", "Object Created", "Scheduled Event"],
    )
    detail: dict[str, Any] | BaseModel = Field(
        description="A JSON object, whose content is at the discretion of the service originating the event.",
    )
    replay_name: str | None = Field(
        None,
        alias="replay-name",
        description="Identifies whether the event is being replayed and what is the name of the replay.",
        examples=["replay_archive", "my-replay-2023"],
    )


class AwsPart(AwsDetail):
    """Base of nested objects inside a ``detail`` (same tolerance)."""


def normalise_status(status: str | None) -> str:
    """``IN_SERVICE``, ``InService`` and ``in-service`` all become ``INSERVICE``.

    SageMaker's API spells statuses ``InService`` while its events say ``IN_SERVICE``."""
    if status is None:
        return ""
    return re.sub(r"[^A-Za-z0-9]", "", status).upper()


def arn_resource_tail(arn: str | None, resource_type: str) -> str | None:
    """The part after ``:<resource_type>/`` of an ARN, or None."""
    if not arn:
        return None
    marker = f":{resource_type}/"
    index = arn.find(marker)
    if index < 0:
        return None
    return arn[index + len(marker) :] or None
