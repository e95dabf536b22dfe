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

from aws_lambda_powertools.utilities.parser.models.event_bridge import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict

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


class AwsEvent(EventBridgeModel):
    """Base of every event envelope model: Powertools' ``EventBridgeModel``, built on first use."""

    model_config = ConfigDict(defer_build=True)


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
