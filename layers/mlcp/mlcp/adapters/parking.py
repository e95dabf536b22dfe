"""SQS adapter: parks rejected events, with their reason, for an operator to inspect or replay."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: SQS's message size limit; an oversized event is parked truncated, with its digest.
MAX_MESSAGE_BYTES = 256 * 1024


class SqsParking:
    """Sends one JSON message per rejected event to the rejected-events queue."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client or clients.sqs()

    def park(self, message: dict[str, Any]) -> str:
        """Park ``message``; returns the SQS message id."""
        body = json.dumps(message, default=str, sort_keys=True)
        if len(body.encode()) > MAX_MESSAGE_BYTES:
            message = {**message, "event": None, "event_truncated": True}
            body = json.dumps(message, default=str, sort_keys=True)
        response = self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=body,
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": str(message.get("reason", ""))[:1024] or "-"},
                "rejected_by": {"DataType": "String", "StringValue": str(message.get("rejected_by", "-"))},
            },
        )
        return response["MessageId"]
