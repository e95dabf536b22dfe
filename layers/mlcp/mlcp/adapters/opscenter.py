"""SSM OpsCenter adapter: OpsItems for incidents, every value cut to what the API accepts.

Limits (SSM API model, ``ssm-2014-11-06``): Title 1..1024 characters, Description 1..2048,
Source 1..128, Category 1..64, Severity ``"1"``..``"4"`` by convention (1 most severe), Priority 1..5;
OperationalData keys 1..128 characters that must not start with ``amazon``, ``aws``, ``amzn``,
``ssm`` (or those with a leading ``/``; AWS's own keys such as ``/aws/dedup`` excepted), values
at most 20 KB and never blank. A value that is too long is cut and ends with an ellipsis, so a
cut is visible to whoever reads the OpsItem.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import OpsItemDataValueTypeDef

TITLE_MAX = 1024
DESCRIPTION_MAX = 2048
SOURCE_MAX = 128
CATEGORY_MAX = 64
DATA_KEY_MAX = 128
DATA_VALUE_MAX_BYTES = 20 * 1024
ELLIPSIS = "…"
RESERVED_KEY_PREFIXES = ("amazon", "aws", "amzn", "ssm", "/amazon", "/aws", "/amzn", "/ssm")
AWS_DATA_KEYS = frozenset({"/aws/dedup", "/aws/resources", "/aws/automations"})
"""Reserved-prefix keys OpsCenter itself defines; callers may set them."""
SEVERITIES = frozenset({"1", "2", "3", "4"})
CATEGORIES = frozenset({"Availability", "Cost", "Performance", "Recovery", "Security"})
OPEN_STATUSES = frozenset({"Open", "InProgress"})


def truncate(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start and an ellipsis (``limit`` in all)."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def truncate_bytes(text: str, limit: int) -> str:
    """``text`` cut so its UTF-8 encoding fits in ``limit`` bytes (ending with an ellipsis when cut)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + ELLIPSIS


def data_key(key: str) -> str:
    """An OperationalData key AWS accepts: reserved prefixes are escaped with ``mlcp:``, length cut."""
    if key not in AWS_DATA_KEYS and key.lower().startswith(RESERVED_KEY_PREFIXES):
        key = f"mlcp:{key}"
    return truncate(key, DATA_KEY_MAX)


def shape_operational_data(values: dict[str, str]) -> dict[str, OpsItemDataValueTypeDef]:
    """``{key: value}`` -> OperationalData (SearchableString: DescribeOpsItems can filter on it).

    Blank values are dropped (AWS rejects a value without a non-space character)."""
    shaped: dict[str, OpsItemDataValueTypeDef] = {}
    for key, value in values.items():
        if not str(value).strip() or not key.strip():
            continue
        shaped[data_key(key)] = {
            "Value": truncate_bytes(str(value), DATA_VALUE_MAX_BYTES),
            "Type": "SearchableString",
        }
    return shaped


def _non_blank(text: str, fallback: str) -> str:
    return text if text.strip() else fallback


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class OpsCenter:
    """Create, update and read OpsItems."""

    def __init__(self, client: SSMClient | None = None) -> None:
        self._client: SSMClient = client or clients.ssm()

    def create(
        self,
        title: str,
        description: str,
        severity: int | str,
        source: str,
        operational_data: dict[str, str],
        category: str,
        notifications_topic_arn: str | None = None,
        *,
        dedup_string: str | None = None,
        priority: int | None = None,
    ) -> str:
        """Create an OpsItem; returns its id.

        ``dedup_string`` becomes ``/aws/dedup``: while an OpsItem with the same string is open,
        OpsCenter creates no second one (AWS answers OpsItemAlreadyExistsException naming it, and
        that id is returned), so a retried create is harmless."""
        severity_text = str(severity)
        if severity_text not in SEVERITIES:
            raise ValueError(f"OpsItem severity must be 1..4, not {severity!r}")
        data = _operational_data_with_dedup(operational_data, dedup_string)
        request: dict[str, Any] = {
            "Title": truncate(_non_blank(title, "(untitled)"), TITLE_MAX),
            "Description": truncate(_non_blank(description, title or "(no description)"), DESCRIPTION_MAX),
            "Source": truncate(_non_blank(source, "mlcp"), SOURCE_MAX),
            "Severity": severity_text,
            "Category": truncate(_non_blank(category, "Availability"), CATEGORY_MAX),
            "Priority": priority if priority is not None else int(severity_text),
        }
        if data:
            request["OperationalData"] = data
        if notifications_topic_arn:
            request["Notifications"] = [{"Arn": notifications_topic_arn}]
        try:
            response = self._client.create_ops_item(**request)
        except ClientError as exc:
            existing = exc.response.get("OpsItemId")
            if _error_code(exc) == "OpsItemAlreadyExistsException" and isinstance(existing, str) and existing:
                return existing
            raise
        return response["OpsItemId"]

    def update(
        self,
        ops_item_id: str,
        *,
        description: str | None = None,
        operational_data: dict[str, str] | None = None,
        status: str | None = None,
        severity: int | str | None = None,
    ) -> None:
        """Change the given fields (OperationalData keys given are added or replaced; others kept)."""
        request: dict[str, Any] = {"OpsItemId": ops_item_id}
        if description is not None:
            request["Description"] = truncate(_non_blank(description, "(no description)"), DESCRIPTION_MAX)
        if operational_data:
            shaped = shape_operational_data(operational_data)
            if shaped:
                request["OperationalData"] = shaped
        if status is not None:
            request["Status"] = status
        if severity is not None:
            if str(severity) not in SEVERITIES:
                raise ValueError(f"OpsItem severity must be 1..4, not {severity!r}")
            request["Severity"] = str(severity)
        if len(request) == 1:
            return
        self._client.update_ops_item(**request)

    def get(self, ops_item_id: str) -> dict[str, Any]:
        """The OpsItem as GetOpsItem returns it."""
        item: dict[str, Any] = dict(self._client.get_ops_item(OpsItemId=ops_item_id)["OpsItem"])
        return item


def _operational_data_with_dedup(
    values: dict[str, str], dedup_string: str | None
) -> dict[str, OpsItemDataValueTypeDef]:
    data = shape_operational_data(values)
    if dedup_string:
        data["/aws/dedup"] = {
            "Value": json.dumps({"dedupString": truncate(dedup_string, 64)}),
            "Type": "SearchableString",
        }
    return data
