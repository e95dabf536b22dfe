"""SSM OpsCenter: fill k (OpsItems)."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from mlcp_cli.emulator.gaps.identity import caller_identity
from mlcp_cli.emulator.gaps.state import _call_original

OPS_ITEM_ACTIONS = frozenset({"CreateOpsItem", "UpdateOpsItem", "GetOpsItem", "DescribeOpsItems"})

_OPS_RESERVED_PREFIXES = ("amazon", "aws", "amzn", "ssm", "/amazon", "/aws", "/amzn", "/ssm")

_OPS_AWS_KEYS = frozenset({"/aws/dedup", "/aws/resources", "/aws/automations"})

_OPS_OPEN = frozenset({"Open", "InProgress"})

_OPS_LIMITS = {"Title": 1024, "Description": 2048, "Source": 128, "Category": 64, "Severity": 64}

_OPS_DATA_VALUE_MAX_BYTES = 20 * 1024

_OPS_UPDATABLE = (
    "Title",
    "Description",
    "Status",
    "Priority",
    "Category",
    "Severity",
    "Notifications",
    "RelatedOpsItems",
    "ActualStartTime",
    "ActualEndTime",
    "PlannedStartTime",
    "PlannedEndTime",
)

_OPS_SUMMARY_FIELDS = (
    "CreatedBy",
    "CreatedTime",
    "LastModifiedBy",
    "LastModifiedTime",
    "Priority",
    "Source",
    "Status",
    "OpsItemId",
    "Title",
    "Category",
    "Severity",
    "OpsItemType",
)


class OpsItemError(Exception):
    """An OpsCenter error response: ``__type`` code, message and the error shape's extra members."""

    def __init__(self, code: str, message: str, **members: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.members = members


def _ops_center_patches() -> list[tuple[Any, str, Any]]:
    from moto.core.responses import BaseResponse

    return [(BaseResponse, "call_action", fill_ssm_ops_items)]


def fill_ssm_ops_items(self: Any) -> Any:
    """SSM OpsCenter: CreateOpsItem, UpdateOpsItem, GetOpsItem, DescribeOpsItems.

    AWS: OpsItems (``oi-`` + 12 hex) with Title (<= 1024), Description (<= 2048), Source (<= 128),
    Category, Severity, Priority 1..5, Status (Open on create), Version, Created/LastModified time and
    by (the caller), OperationalData (keys <= 128 characters, not starting with amazon/aws/amzn/ssm
    unless an OpsCenter key such as ``/aws/dedup``; values <= 20 KB); while an open or in-progress
    OpsItem carries the same ``/aws/dedup`` dedupString, CreateOpsItem creates none and answers
    OpsItemAlreadyExistsException naming it. UpdateOpsItem merges OperationalData (and deletes
    OperationalDataToDelete), bumps Version; unknown ids answer OpsItemNotFoundException.
    DescribeOpsItems filters (AND across filters, OR across a filter's values; Equal or Contains)
    and returns summaries with the searchable OperationalData only.
    moto 5.2.5: none of the four actions exists ("The create_ops_item action has not been
    implemented").
    Fill: answer the four actions for SSM requests (moto's SSM backend keeps the items, so a moto
    reset forgets them); every other request goes to moto. DescribeOpsItems filters on Status,
    Source, Title, OpsItemId, Severity, Category, Priority, OperationalData (``{"key","value"}``
    JSON), OperationalDataKey and OperationalDataValue; other filter keys answer a validation error.
    Newest first, MaxResults (default 50) with NextToken.
    """
    from moto.core.responses import BaseResponse
    from moto.ssm.responses import SimpleSystemManagerResponse

    if isinstance(self, SimpleSystemManagerResponse):
        action = self._get_action()
        if action in OPS_ITEM_ACTIONS:
            return _ops_item_response(self, action)
    return _call_original(BaseResponse, "call_action", self)


def _ops_item_response(response: Any, action: str) -> tuple[int, dict[str, str], str]:
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[response.current_account][response.region]
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_mlcp_ops_items", {})
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    try:
        params = json.loads(response.body or "{}")
        caller = caller_identity(response.get_access_key(), response.current_account, response.region)["Arn"]
        handlers: dict[str, Callable[..., dict[str, Any]]] = {
            "CreateOpsItem": _ops_create,
            "UpdateOpsItem": _ops_update,
            "GetOpsItem": _ops_get,
            "DescribeOpsItems": _ops_describe,
        }
        with _OPS_LOCK:
            result = handlers[action](store, params, caller=caller, backend=backend)
    except OpsItemError as exc:
        body = {"__type": exc.code, "message": exc.message, "Message": exc.message, **exc.members}
        return 400, headers, json.dumps(body)
    return 200, headers, json.dumps(result, default=str)


_OPS_LOCK = threading.Lock()


def _ops_now() -> float:
    return round(time.time(), 3)


def _ops_check(params: dict[str, Any]) -> None:
    for name, limit in _OPS_LIMITS.items():
        value = params.get(name)
        if value is not None and not (1 <= len(str(value)) <= limit and str(value).strip()):
            raise OpsItemError(
                "ValidationException",
                f"1 validation error detected: Value at '{name[0].lower()}{name[1:]}' failed to satisfy "
                f"constraint: Member must have length between 1 and {limit} and not be blank",
            )
    priority = params.get("Priority")
    if priority is not None and not 1 <= int(priority) <= 5:
        raise OpsItemError("ValidationException", "Priority must be between 1 and 5")
    status = params.get("Status")
    if status is not None and status not in {"Open", "InProgress", "Resolved"}:
        raise OpsItemError(
            "OpsItemInvalidParameterException",
            f"Status {status} is not valid for an OpsItem of type /aws/issue",
            ParameterNames=["Status"],
        )
    for key, value in (params.get("OperationalData") or {}).items():
        if not 1 <= len(key) <= 128 or (
            key not in _OPS_AWS_KEYS and key.lower().startswith(_OPS_RESERVED_PREFIXES)
        ):
            raise OpsItemError(
                "OpsItemInvalidParameterException",
                f"OperationalData key {key!r} is not valid (1..128 characters, no reserved prefix)",
                ParameterNames=["OperationalData"],
            )
        text = str(value.get("Value", ""))
        if not text.strip() or len(text.encode("utf-8")) > _OPS_DATA_VALUE_MAX_BYTES:
            raise OpsItemError(
                "OpsItemInvalidParameterException",
                f"OperationalData value of {key!r} must be non-blank and at most 20 KB",
                ParameterNames=["OperationalData"],
            )


def _ops_dedup_string(data: dict[str, Any]) -> str | None:
    raw = data.get("/aws/dedup", {}).get("Value")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return str(raw)
    return str(parsed.get("dedupString")) if isinstance(parsed, dict) else str(raw)


def _ops_create(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    for required in ("Title", "Description", "Source"):
        if not params.get(required):
            raise OpsItemError("ValidationException", f"{required} is required")
    _ops_check(params)
    data = {
        k: {"Value": v.get("Value"), "Type": v.get("Type", "String")}
        for k, v in (params.get("OperationalData") or {}).items()
    }
    dedup = _ops_dedup_string(data)
    if dedup is not None:
        for existing in store.values():
            if existing["Status"] in _OPS_OPEN and _ops_dedup_string(existing["OperationalData"]) == dedup:
                raise OpsItemError(
                    "OpsItemAlreadyExistsException",
                    f"An OpsItem with the deduplication string exists: {existing['OpsItemId']}",
                    OpsItemId=existing["OpsItemId"],
                )
    ops_item_id = "oi-" + uuid.uuid4().hex[:12]
    now = _ops_now()
    arn = f"arn:{backend.partition}:ssm:{backend.region_name}:{backend.account_id}:opsitem/{ops_item_id}"
    item: dict[str, Any] = {
        "OpsItemId": ops_item_id,
        "OpsItemArn": arn,
        "OpsItemType": params.get("OpsItemType", "/aws/issue"),
        "Title": params["Title"],
        "Description": params["Description"],
        "Source": params["Source"],
        "Status": "Open",
        "Version": "1",
        "CreatedBy": caller,
        "LastModifiedBy": caller,
        "CreatedTime": now,
        "LastModifiedTime": now,
        "OperationalData": data,
        "Notifications": list(params.get("Notifications") or []),
        "RelatedOpsItems": list(params.get("RelatedOpsItems") or []),
    }
    for optional in (
        "Priority",
        "Category",
        "Severity",
        "ActualStartTime",
        "ActualEndTime",
        "PlannedStartTime",
        "PlannedEndTime",
    ):
        if params.get(optional) is not None:
            item[optional] = params[optional]
    store[ops_item_id] = item
    return {"OpsItemId": ops_item_id, "OpsItemArn": arn}


def _ops_find(store: dict[str, dict[str, Any]], ops_item_id: str | None) -> dict[str, Any]:
    item = store.get(ops_item_id or "")
    if item is None:
        raise OpsItemError("OpsItemNotFoundException", f"OpsItem {ops_item_id} does not exist")
    return item


def _ops_update(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    item = _ops_find(store, params.get("OpsItemId"))
    _ops_check(params)
    for name in _OPS_UPDATABLE:
        if params.get(name) is not None:
            item[name] = params[name]
    for key, value in (params.get("OperationalData") or {}).items():
        if key == "/aws/dedup" and key in item["OperationalData"]:
            continue  # AWS: the deduplication string cannot be changed after creation
        item["OperationalData"][key] = {"Value": value.get("Value"), "Type": value.get("Type", "String")}
    for key in params.get("OperationalDataToDelete") or []:
        item["OperationalData"].pop(key, None)
    item["Version"] = str(int(item["Version"]) + 1)
    item["LastModifiedBy"] = caller
    item["LastModifiedTime"] = max(_ops_now(), float(item["LastModifiedTime"]))
    return {}


def _ops_get(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    return {"OpsItem": copy.deepcopy(_ops_find(store, params.get("OpsItemId")))}


def _ops_field_values(item: dict[str, Any], key: str) -> list[str]:
    """What a DescribeOpsItems filter ``key`` compares against in ``item`` (searchable data only)."""
    searchable = {k: v for k, v in item["OperationalData"].items() if v.get("Type") == "SearchableString"}
    if key == "OperationalData":
        return [
            json.dumps({"key": k, "value": v.get("Value")}, sort_keys=True) for k, v in searchable.items()
        ]
    if key == "OperationalDataKey":
        return list(searchable)
    if key == "OperationalDataValue":
        return [str(v.get("Value")) for v in searchable.values()]
    value = item.get(key)
    return [] if value is None else [str(value)]


_OPS_FILTER_KEYS = frozenset(
    {"Status", "Source", "Title", "OpsItemId", "Severity", "Category", "Priority"}
    | {"OperationalData", "OperationalDataKey", "OperationalDataValue"}
)


def _ops_matches(item: dict[str, Any], flt: dict[str, Any]) -> bool:
    key, operator = flt.get("Key"), flt.get("Operator", "Equal")
    if key not in _OPS_FILTER_KEYS or operator not in {"Equal", "Contains"}:
        raise OpsItemError(
            "ValidationException", f"the emulator does not filter OpsItems on {key} {operator}"
        )
    wanted = [str(v) for v in flt.get("Values") or []]
    if key == "OperationalData":  # a {"key": ..., "value": ...} JSON value: compare parsed
        have = [json.loads(v) for v in _ops_field_values(item, key)]
        for raw in wanted:
            want = json.loads(raw)
            for pair in have:
                if pair["key"] != want.get("key"):
                    continue
                if operator == "Equal" and pair["value"] == want.get("value"):
                    return True
                if operator == "Contains" and str(want.get("value")) in str(pair["value"]):
                    return True
        return False
    have_values = _ops_field_values(item, key)
    if operator == "Equal":
        return any(v in have_values for v in wanted)
    return any(w in v for w in wanted for v in have_values)


def _ops_describe(
    store: dict[str, dict[str, Any]], params: dict[str, Any], *, caller: str, backend: Any
) -> dict[str, Any]:
    filters = list(params.get("OpsItemFilters") or [])
    found = [item for item in store.values() if all(_ops_matches(item, f) for f in filters)]
    found.sort(key=lambda item: (float(item["CreatedTime"]), item["OpsItemId"]), reverse=True)
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 50)
    page = found[start : start + size]
    summaries = []
    for item in page:
        summary = {k: copy.deepcopy(item[k]) for k in _OPS_SUMMARY_FIELDS if k in item}
        summary["OperationalData"] = {
            k: dict(v) for k, v in item["OperationalData"].items() if v.get("Type") == "SearchableString"
        }
        summaries.append(summary)
    result: dict[str, Any] = {"OpsItemSummaries": summaries}
    if start + size < len(found):
        result["NextToken"] = str(start + size)
    return result
