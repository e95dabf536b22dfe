"""State machine task: append one record to the hash-chained audit trail (idempotent)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from mlcp.adapters import clients
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.config import CoreConfig
from mlcp.errors import InvalidEvent
from mlcp.observability import logger, metrics
from mlcp.usecases.append_audit import AuditAppendRequest, append_audit

config = CoreConfig.from_env()
# The one client configuration (standard retries, bounded timeouts) every function uses.
audit = AuditTrail(config.audit_table, client=clients.dynamodb())


@logger.inject_lambda_context(correlation_id_path="event_id")
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    try:
        request = AuditAppendRequest.model_validate(raw)
    except ValidationError as exc:
        # A state machine sent a request this function does not understand: a contract bug, fail loud.
        raise InvalidEvent(f"audit request: {exc.errors(include_url=False)}") from exc
    return append_audit(request, audit=audit)
