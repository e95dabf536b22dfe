"""Incidents: what opens one (``IncidentRequest``), what is kept (``Incident``), what a call did."""

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

IncidentStatus = Literal["opening", "open", "resolved"]
"""``opening``: claimed in the control-plane table, OpsItem not recorded yet; ``open``; ``resolved``."""


def incident_id_for(resource: str, cause: str, opened_at: str) -> str:
    """Short stable id of one incident: a hash of what it is about and when it opened."""
    digest = hashlib.sha256(f"{resource}\x1f{cause}\x1f{opened_at}".encode()).hexdigest()
    return f"inc-{digest[:12]}"


class IncidentRequest(BaseModel):
    """Something went wrong with ``resource`` because of ``cause``; open (or add to) its incident.

    One incident is open per (resource, cause) at a time; ``event_id`` (the triggering event's id)
    makes a redelivered event count once.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    resource: str = Field(min_length=1, description='what is affected, e.g. "endpoint/churn-prod"')
    cause: str = Field(
        min_length=1,
        description='why, e.g. "alarm:churn-prod-5xx", "violation:data_quality", "deployment.rolled_back"',
    )
    severity: int = Field(ge=1, le=4, description="1 most severe (OpsCenter's scale)")
    title: str = Field(min_length=1)
    description: str = ""
    operational_data: dict[str, str] = {}
    runbook_url: str | None = None
    stream: str = Field(min_length=1, description='audit stream, e.g. "endpoint#churn-prod"')
    event_id: str | None = None
    category: str = "Availability"

    @field_validator("resource", "cause")
    @classmethod
    def _no_separator(cls, value: str) -> str:
        if "\x1f" in value:
            raise ValueError("must not contain the unit separator")
        return value


class Incident(BaseModel):
    """One incident as the control-plane table keeps it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    incident_id: str
    resource: str
    cause: str
    status: IncidentStatus
    severity: int
    title: str
    stream: str
    occurrences: int = Field(ge=1)
    opened_at: str
    updated_at: str
    last_seen_at: str
    ops_item_id: str | None = None
    runbook_url: str | None = None
    last_event_id: str | None = None
    opened_by_event: str | None = None
    claim: str | None = None
    claimed_at: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    resolution_reason: str | None = None
    mttr_seconds: float | None = None


class IncidentOutcome(BaseModel):
    """What ``open_incident`` did: opened a new incident, or counted one more occurrence of it.

    ``duplicate``: the event was seen before (a redelivery); nothing was counted."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    incident_id: str
    ops_item_id: str | None
    opened: bool
    occurrences: int
    duplicate: bool = False
    severity_raised: bool = False
