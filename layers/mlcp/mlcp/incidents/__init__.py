"""Incidents as SSM OpsCenter OpsItems, deduplicated per (resource, cause) in the control-plane table.

``open_incident`` opens the one open incident of a (resource, cause) or counts another occurrence
of it; ``resolve_incident`` resolves it (MTTR in the audit record); a later occurrence opens a new one.
"""

from mlcp.adapters.incident_store import IncidentStore, incident_pk
from mlcp.incidents.model import Incident, IncidentOutcome, IncidentRequest, IncidentStatus, incident_id_for
from mlcp.incidents.service import (
    IncidentConflict,
    IncidentDeps,
    get_incident,
    list_incidents,
    open_incident,
    resolve_by_id,
    resolve_incident,
)

__all__ = [
    "Incident",
    "IncidentConflict",
    "IncidentDeps",
    "IncidentOutcome",
    "IncidentRequest",
    "IncidentStatus",
    "IncidentStore",
    "get_incident",
    "incident_id_for",
    "incident_pk",
    "list_incidents",
    "open_incident",
    "resolve_by_id",
    "resolve_incident",
]
