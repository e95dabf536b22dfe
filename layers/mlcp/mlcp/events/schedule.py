"""EventBridge's ``Scheduled Event``: the tick of a schedule rule of this stack.

Not routed by :func:`mlcp.events.parse_event` (no AWS service emits it for a customer's resource):
only the scheduled functions take it, through :meth:`mlcp.entrypoint.Runtime.parse_schedule_or_reject`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ScheduledEvent(BaseModel):
    """EventBridge's ``Scheduled Event`` (only a schedule rule of this stack can send it)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    id: str = Field(min_length=1)
    source: Literal["aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
