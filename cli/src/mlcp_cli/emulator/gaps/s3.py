"""S3: fill g (every S3 EventBridge event gets its own id)."""

from __future__ import annotations

import copy
import uuid
from typing import Any


class FreshIdEventMessage(dict[str, Any]):
    """S3's EventBridge events each get their own ``id``.

    AWS: every event has a unique id (consumers deduplicate on it).
    moto: S3 builds its events from ``moto.events.utils._BASE_EVENT_MESSAGE`` and never sets the
    id, so every S3 event carries the same fixed id; idempotency keyed on it drops real uploads.
    Fill: replace that template with this dict, whose deep copy (what S3 takes) has a fresh id.
    put_events is unaffected (it sets the id itself).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        fresh = {key: copy.deepcopy(value, memo) for key, value in self.items()}
        fresh["id"] = str(uuid.uuid4())
        return fresh


def fill_s3_get_bucket_notification_eventbridge(self: Any) -> Any:
    """GetBucketNotificationConfiguration says whether EventBridge is on.

    AWS: a bucket sending its events to EventBridge answers ``<EventBridgeConfiguration/>`` (boto3:
    ``{"EventBridgeConfiguration": {}}``). moto 5.2.5: keeps the setting (and emits the events) but
    leaves it out of the answer. Fill: moto's answer, plus EventBridgeConfiguration when it is on, so
    ``mlcp doctor`` can tell a bucket that notifies from one that does not.
    """
    from moto.core.responses import ActionResult

    from mlcp_cli.emulator.gaps.state import _call_original

    configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if configuration is None or configuration.event_bridge is None:
        return _call_original(type(self), "get_bucket_notification", self)
    result: dict[str, Any] = {
        "TopicConfigurations": [_config(t, "TopicArn") for t in configuration.topic],
        "QueueConfigurations": [_config(q, "QueueArn") for q in configuration.queue],
        "LambdaFunctionConfigurations": [
            _config(f, "LambdaFunctionArn") for f in configuration.cloud_function
        ],
        "EventBridgeConfiguration": {},
    }
    self.data["Action"] = "GetBucketNotificationConfiguration"
    return self.serialized(ActionResult(result))


def _config(item: Any, arn_key: str) -> dict[str, Any]:
    """One notification target as moto's GetBucketNotificationConfiguration describes it."""
    config: dict[str, Any] = {"Id": item.id, arn_key: item.arn, "Events": item.events}
    if item.filters:
        config["Filter"] = {"Key": {"FilterRules": item.filters["S3Key"]["FilterRule"]}}
    return config
