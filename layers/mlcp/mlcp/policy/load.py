"""Loading, validating, reading back and explaining the policy.

- ``parse_policy(document, source)`` validates a decoded document (YAML in the repo, JSON in the
  stack) and raises ``PolicyError`` with one line per problem, each naming the source and the
  field path (``policy/example.yaml: tiers.high.gates.metrics.thresholds[0]: ...``).
- ``canonical_json(policy)`` is the exact text published to the SSM parameter.
- ``PolicyStore`` reads the deployed policy from the SSM parameter named by ``MLCP_POLICY_PARAMETER``
  through Powertools parameters (cached for ``max_age_seconds``).
- ``explain(policy, group)`` says, as plain data, what the policy means for one group.

No YAML here: this module ships to Lambda, where the policy is JSON.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mlcp.errors import ConfigurationError, ControlPlaneError
from mlcp.policy.model import Gates, MonitoringPolicy, Policy, Tier

if TYPE_CHECKING:
    # Powertools parameters loads on the first SSM read: its package imports every provider
    # (SSM, Secrets Manager, AppConfig, DynamoDB with boto3's conditions), ~10 ms of cold start.
    from aws_lambda_powertools.utilities.parameters import SSMProvider

POLICY_PARAMETER_ENV = "MLCP_POLICY_PARAMETER"

MAX_PARAMETER_BYTES = 8192
"""An SSM parameter value is at most 4 KB (Standard) or 8 KB (Advanced; Intelligent-Tiering picks it)."""

ApprovalMode = Literal["automatic", "human", "registry"]


class PolicyError(ControlPlaneError):
    """A policy document is unreadable or invalid. ``problems`` holds one line per problem."""

    def __init__(self, source: str, problems: list[str] | tuple[str, ...]) -> None:
        self.source = source
        self.problems = tuple(problems) or (f"{source}: invalid policy",)
        super().__init__("\n".join(self.problems))


# ------------------------------------------------------------------------------------ parsing


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('tiers', 'high', 'gates', 'metrics', 'thresholds', 0)`` -> ``tiers.high.gates.metrics.thresholds[0]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


_SHOWN_INPUT_TYPES = {
    "bool_parsing",
    "bool_type",
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "string_type",
    "literal_error",
    "datetime_parsing",
    "datetime_type",
    "datetime_from_date_parsing",
}


def _problem(source: str, error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in _SHOWN_INPUT_TYPES:
        shown = repr(error.get("input"))
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    path = field_path(tuple(error["loc"]))
    return f"{source}: {path}: {message}" if path else f"{source}: {message}"


def parse_policy(document: Mapping[str, Any], source: str) -> Policy:
    """Validate a decoded policy document; ``source`` (a file or ``ssm:<parameter>``) names it in errors.

    Raises ``PolicyError`` listing every problem, one line each: ``<source>: <field path>: <what>``.
    """
    if not isinstance(document, Mapping):
        raise PolicyError(source, [f"{source}: the policy must be a mapping (got {type(document).__name__})"])
    try:
        return Policy.model_validate(dict(document))
    except ValidationError as exc:
        raise PolicyError(source, [_problem(source, error) for error in exc.errors()]) from exc


def parse_policy_json(text: str | bytes, source: str) -> Policy:
    """``parse_policy`` over JSON text (the deployed form)."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(source, [f"{source}: not valid JSON: {exc}"]) from exc
    return parse_policy(document, source)


def canonical_json(policy: Policy) -> str:
    """The deployed text of ``policy``: every field explicit (defaults included, nulls left out: every
    nullable field defaults to null), keys sorted, compact. ``parse_policy_json`` of it equals ``policy``.

    One exception: ``audit`` is left out while it holds its defaults, so adding it did not grow every
    deployed policy (an SSM parameter holds 8 KB and the shipped scenarios' policies come close).
    """
    exclude = {"audit"} if policy.audit == type(policy.audit)() else None
    return json.dumps(
        policy.model_dump(mode="json", exclude_none=True, exclude=exclude),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


# ------------------------------------------------------------------------------------ the store


class PolicyStore:
    """The deployed policy: JSON in an SSM parameter, read through Powertools parameters.

    ``get()`` serves the cached value for ``max_age_seconds`` (0: read every time), re-validating
    only when the parameter's text changed. Absent, unreadable or invalid -> ``PolicyError``.
    """

    def __init__(self, parameter_name: str, max_age_seconds: int = 60, *, ssm_client: Any = None) -> None:
        if not parameter_name:
            raise ConfigurationError("PolicyStore needs an SSM parameter name")
        self.parameter_name = parameter_name
        self.max_age_seconds = max_age_seconds
        self.source = f"ssm:{parameter_name}"
        self._ssm_client = ssm_client
        self._provider: SSMProvider | None = None
        self._parsed: tuple[str, Policy] | None = None

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        max_age_seconds: int = 60,
        ssm_client: Any = None,
    ) -> PolicyStore:
        """The store of the parameter named by ``MLCP_POLICY_PARAMETER`` (ConfigurationError if unset)."""
        env = os.environ if environ is None else environ
        name = env.get(POLICY_PARAMETER_ENV, "").strip()
        if not name:
            raise ConfigurationError(f"{POLICY_PARAMETER_ENV} is not set: the policy parameter is unknown")
        return cls(name, max_age_seconds, ssm_client=ssm_client)

    def _get_provider(self) -> SSMProvider:
        if self._provider is None:
            # The one client configuration (standard retries, bounded timeouts) of every function:
            # Powertools' own default client would retry fewer times than every other call.
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            from mlcp.adapters import clients

            self._provider = SSMProvider(boto3_client=self._ssm_client or clients.ssm())
        return self._provider

    def get(self, *, force_fetch: bool = False) -> Policy:
        """The current policy (from the cache when younger than ``max_age_seconds``)."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            raw = self._get_provider().get(
                self.parameter_name, max_age=self.max_age_seconds, force_fetch=force_fetch
            )
        except GetParameterError as exc:
            raise PolicyError(
                self.source, [f"{self.source}: cannot read the policy parameter: {exc}"]
            ) from exc
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if not isinstance(raw, str):
            raise PolicyError(self.source, [f"{self.source}: the parameter holds no text"])
        if self._parsed is not None and self._parsed[0] == raw:
            return self._parsed[1]
        policy = parse_policy_json(raw, self.source)
        self._parsed = (raw, policy)
        return policy


class PolicyNotConfigured:
    """The policy source of code that never evaluates a policy (asking it is a wiring bug)."""

    def get(self, *, force_fetch: bool = False) -> Policy:
        raise ConfigurationError(f"{POLICY_PARAMETER_ENV} is not set: this code path has no policy")


# ------------------------------------------------------------------------------------ explain


def approval_mode(tier: Tier) -> ApprovalMode:
    """How a package of this tier gets approved once every gate passes."""
    if tier.auto_approve:
        return "automatic"
    if tier.human_approval:
        return "human"
    return "registry"


def approval_summary(tier: Tier) -> str:
    mode = approval_mode(tier)
    if mode == "automatic":
        return "approved automatically when every gate passes (a soft failure asks a human)"
    if mode == "human":
        return (
            f"human approval required (the deployment waits up to {tier.approval_timeout_hours} h "
            "for an approver; no decision in time rejects)"
        )
    return (
        "not auto-approved: someone approves the package in the model registry; the deployment "
        "re-checks the gates and does not wait for a further approval"
    )


def _gate_entries(gates: Gates) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for name in Gates.model_fields:
        gate = getattr(gates, name)
        if not isinstance(gate, BaseModel):
            entries.append(
                {"gate": name, "configured": False, "enabled": False, "hard": False, "settings": {}}
            )
            continue
        settings = gate.model_dump(mode="json", exclude={"enabled", "hard"})
        entries.append(
            {
                "gate": name,
                "configured": True,
                "enabled": bool(getattr(gate, "enabled", True)),
                "hard": bool(getattr(gate, "hard", True)),
                "settings": settings,
            }
        )
    return entries


def _incident_summary(rule: Mapping[str, Any]) -> str:
    source = rule["on"]
    what = {
        "violation": "violations of",
        "alarm": "alarms",
        "failure": "failures of",
        "rollback": "rollbacks on",
    }[source]
    text = f"{what} {rule['match']!r} -> severity {rule['severity']}"
    if source == "violation" and (rule["min_violating_features"] > 1 or rule["consecutive_runs"] > 1):
        text += (
            f" (at least {rule['min_violating_features']} feature(s), "
            f"{rule['consecutive_runs']} run(s) in a row)"
        )
    if rule["auto_resolve"]:
        text += ", resolves itself"
    if rule.get("runbook_url"):
        text += f", runbook {rule['runbook_url']}"
    return text


def _retraining_summary(retraining: Mapping[str, Any] | None) -> str:
    if retraining is None:
        return "no automatic retraining"
    triggers: list[str] = []
    if retraining["on_violations"]:
        triggers.append(
            f"violations of {', '.join(retraining['on_violations'])} "
            f"(at least {retraining['min_violating_features']} feature(s), "
            f"{retraining['consecutive_runs']} run(s) in a row)"
        )
    if retraining["on_alarms"]:
        triggers.append(f"alarms {', '.join(retraining['on_alarms'])}")
    data = retraining.get("data")
    if data:
        triggers.append(
            f"new data under {', '.join(data['prefixes'])} (at least {data['min_objects']} object(s) "
            f"and {data['min_bytes']} bytes, then {data['quiet_period_seconds']} s quiet)"
        )
    on = "; ".join(triggers) or "schedule only"
    return (
        f"pipeline {retraining['pipeline']} on {on}; cooldown {retraining['cooldown_hours']:g} h, "
        f"at most {retraining['max_per_day']} per day, one at a time (lease {retraining['lease_hours']} h)"
    )


def monitoring_entries(monitoring: MonitoringPolicy) -> dict[str, Any]:
    """The tier's monitoring settings as JSON-ready data, with one-line summaries."""
    settings = monitoring.model_dump(mode="json")
    return {
        "incidents": [{**rule, "summary": _incident_summary(rule)} for rule in settings["incidents"]],
        "retraining": settings["retraining"],
        "retraining_summary": _retraining_summary(settings["retraining"]),
    }


def explain(policy: Policy, group: str) -> dict[str, Any]:
    """What ``policy`` means for model package group ``group``, as JSON-ready data.

    ``matched`` False (with ``rule``/``tier`` None) when no rule's glob matches. Otherwise: the first
    matching rule (``index``, ``match``, endpoint, owners), rules that also match but are shadowed
    by it, the tier (name, settings, approval mode and summary), every gate in evaluation order
    (``enabled``/``hard`` and its settings, e.g. thresholds), the change freezes, the deployment and
    the monitoring (incident rules, retraining; each with a one-line ``summary``).
    """
    freezes = [freeze.model_dump(mode="json") for freeze in policy.change_freezes]
    rules = [{"index": i, "match": rule.match, "tier": rule.tier} for i, rule in enumerate(policy.groups)]
    matching = [i for i, rule in enumerate(policy.groups) if fnmatch.fnmatchcase(group, rule.match)]
    if not matching:
        return {
            "group": group,
            "matched": False,
            "rule": None,
            "shadowed": [],
            "rules": rules,
            "tier": None,
            "change_freezes": freezes,
        }
    first = matching[0]
    rule = policy.groups[first]
    tier = policy.tiers[rule.tier]
    return {
        "group": group,
        "matched": True,
        "rule": {
            "index": first,
            "match": rule.match,
            "endpoint": rule.endpoint,
            "owners": rule.owners,
        },
        "shadowed": [rules[i] for i in matching[1:]],
        "rules": rules,
        "tier": {
            "name": rule.tier,
            "description": tier.description,
            "auto_approve": tier.auto_approve,
            "human_approval": tier.human_approval,
            "approval_timeout_hours": tier.approval_timeout_hours,
            "approval": approval_mode(tier),
            "approval_summary": approval_summary(tier),
            "retention_days": tier.retention_days,
        },
        "gates": _gate_entries(tier.gates),
        "change_freezes": freezes,
        "deployment": tier.deployment.model_dump(mode="json"),
        "monitoring": monitoring_entries(tier.monitoring),
    }
