"""SNS adapter: tells approvers what needs them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class ApproverNotifier:
    """Publishes one JSON message per request to the approvals topic."""

    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._client: SNSClient = client or clients.sns()

    def notify(self, subject: str, message: dict[str, Any]) -> str:
        """Publish; returns the SNS message id. ``kind`` becomes a message attribute for filter policies."""
        response = self._client.publish(
            TopicArn=self._topic_arn,
            Subject=subject[:100],
            Message=json.dumps(message, default=str, sort_keys=True),
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": str(message.get("kind", "approval"))}
            },
        )
        return response["MessageId"]
