"""S3: fill g (every S3 EventBridge event gets its own id)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original


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


def fill_cfn_s3_bucket(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """``AWS::S3::Bucket`` applies ``VersioningConfiguration`` and ``ObjectLockConfiguration``.

    AWS: the bucket is created versioned and, with ``ObjectLockEnabled``, with Object Lock and its
    default retention. moto 5.2.5: CloudFormation ignores both (an unversioned, unlocked bucket).
    Fill: create it through moto, then apply both as the S3 API would.
    """
    from moto.s3.models import s3_backends

    bucket = _call_original(
        cls,
        "create_from_cloudformation_json",
        resource_name,
        cloudformation_json,
        account_id,
        region_name,
        **kwargs,
    )
    properties = cloudformation_json.get("Properties", {})
    backend = s3_backends[account_id][bucket.partition]
    if (properties.get("VersioningConfiguration") or {}).get("Status") or properties.get("ObjectLockEnabled"):
        status = (properties.get("VersioningConfiguration") or {}).get("Status", "Enabled")
        backend.put_bucket_versioning(bucket.name, status)
    if str(properties.get("ObjectLockEnabled", "")).lower() == "true":
        bucket.object_lock_enabled = True
        rule = ((properties.get("ObjectLockConfiguration") or {}).get("Rule") or {}).get(
            "DefaultRetention"
        ) or {}
        backend.put_object_lock_configuration(
            bucket.name,
            True,
            mode=rule.get("Mode"),
            days=int(rule["Days"]) if rule.get("Days") is not None else 0,
            years=int(rule["Years"]) if rule.get("Years") is not None else 0,
        )
    return bucket


def _until(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = str(value).replace("Z", "+00:00")
    return dt.datetime.fromisoformat(text)


def fill_s3_put_object_retention_compliance(
    self: Any,
    bucket_name: str,
    key_name: str,
    version_id: str | None,
    retention: tuple[str | None, str | None],
) -> None:
    """A COMPLIANCE-mode version's retention can be lengthened, never shortened or loosened.

    AWS: while a version is locked in COMPLIANCE mode, nobody (the root user included) can change
    its mode or move its retain-until date earlier: ``AccessDenied``. moto 5.2.5: overwrites mode
    and date. Fill: refuse those two changes of a version still locked.
    """
    from moto.core.utils import utcnow
    from moto.s3.exceptions import AccessDeniedByLock

    key = self.get_object(bucket_name, key_name, version_id=version_id)
    if key is not None and key.lock_mode == "COMPLIANCE" and key.lock_until:
        current = _until(key.lock_until)
        import datetime as dt

        if current > utcnow().replace(tzinfo=dt.UTC):
            mode, until = retention
            if mode != "COMPLIANCE" or until is None or _until(until) < current:
                raise AccessDeniedByLock()
    _call_original(type(self), "put_object_retention", self, bucket_name, key_name, version_id, retention)


def fill_s3_versioning_stays_on_with_object_lock(self: Any, bucket_name: str, status: str) -> None:
    """A bucket with Object Lock stays versioned.

    AWS: suspending versioning of an Object Lock bucket fails with ``InvalidBucketState``. moto
    5.2.5: suspends it. Fill: refuse anything but ``Enabled`` on such a bucket.
    """
    from moto.s3.exceptions import InvalidBucketState

    if self.get_bucket(bucket_name).object_lock_enabled and status != "Enabled":
        raise InvalidBucketState(
            "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
        )
    _call_original(type(self), "put_bucket_versioning", self, bucket_name, status)


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
