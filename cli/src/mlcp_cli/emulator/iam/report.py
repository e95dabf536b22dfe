"""``mlcp iam report``: per function / state machine, the actions used, the grants never used and
the denials, from the decisions of one or more local runs.

A run's :class:`~mlcp_cli.emulator.iam.enforce.IamEnforcer` knows every decision and each
caller's policies; :func:`run_report` turns them into a JSON-able report keyed by the template's
logical ids (physical names differ from run to run), and :func:`merge` adds runs together (a grant
is unused only if no run used it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlcp_cli.emulator.iam.enforce import IamEnforcer
from mlcp_cli.emulator.iam.policy import ALLOW, wildcard_match

JUSTIFICATIONS = Path("docs/iam/unused-grants.yaml")
"""Grants no shipped scenario uses, each with the one line that says why it stays."""


def logical_namer(stack: Any) -> Callable[[str], str]:
    """Physical name or ARN -> the template's logical id (the name a reader knows)."""
    names: dict[str, str] = {}
    for logical, physical in stack.physical_ids.items():
        names[physical] = logical
        names[physical.rsplit(":", 1)[-1].rsplit("/", 1)[-1]] = logical

    def logical_of(physical: str) -> str:
        short = physical.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        return names.get(physical) or names.get(short) or short

    return logical_of


def _grants_of(enforcer: IamEnforcer, kind: str, name: str, role_arn: str) -> list[dict[str, Any]]:
    from mlcp_cli.emulator.iam.enforce import Caller

    out: list[dict[str, Any]] = []
    for policy in enforcer.policies_of(Caller(kind, name, role_arn, role_arn)):
        for statement in policy.statements():
            if statement.effect != "Allow":
                continue
            actions = statement.body.get("Action") or []
            for action in actions if isinstance(actions, list) else [actions]:
                out.append({"grant": statement.sid, "action": str(action), "used": 0})
    return out


def run_report(enforcer: IamEnforcer, logical: Callable[[str], str], scenario: str = "") -> dict[str, Any]:
    """One run's report: ``{"callers": {logical id: {...}}, "scenarios": [scenario]}``."""
    callers: dict[str, dict[str, Any]] = {}
    for record in enforcer.decisions:
        key = logical(record.caller)
        entry = callers.get(key)
        if entry is None:
            entry = callers[key] = {
                "kind": record.caller_kind,
                "used": {},
                "denials": [],
                "grants": _grants_of(enforcer, record.caller_kind, record.caller, record.role_arn),
            }
        if record.effect == ALLOW:
            entry["used"][record.action] = entry["used"].get(record.action, 0) + 1
            for grant in entry["grants"]:
                if grant["grant"] in record.allowed_by and wildcard_match(
                    grant["action"], record.action, ignore_case=True
                ):
                    grant["used"] += 1
        elif record.implicit == "missing key":
            entry.setdefault("missing_key_403", []).append(
                {"resource": record.resource, "scenario": scenario}
            )
        else:
            entry["denials"].append(
                {
                    "operation": record.operation,
                    "action": record.action,
                    "resource": record.resource,
                    "effect": record.effect,
                    "implicit": record.implicit,
                    "unknown_keys": list(record.unknown_keys),
                    "scenario": scenario,
                }
            )
    return {"scenarios": [scenario] if scenario else [], "callers": callers}


def merge(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several runs' reports as one: usage counts add up, grants match by (grant, action)."""
    scenarios: list[str] = []
    failed: dict[str, Any] = {}
    callers: dict[str, dict[str, Any]] = {}
    for report in reports:
        scenarios.extend(report.get("scenarios", []))
        failed.update(report.get("failed_expectations") or {})
        for name, entry in report["callers"].items():
            into = callers.setdefault(name, {"kind": entry["kind"], "used": {}, "denials": [], "grants": {}})
            for action, count in entry["used"].items():
                into["used"][action] = into["used"].get(action, 0) + count
            into["denials"].extend(entry["denials"])
            into.setdefault("missing_key_403", []).extend(entry.get("missing_key_403", []))
            for grant in entry["grants"]:
                key = (grant["grant"], grant["action"])
                into["grants"][key] = into["grants"].get(key, 0) + grant["used"]
    for entry in callers.values():
        entry["grants"] = [{"grant": g, "action": a, "used": n} for (g, a), n in entry["grants"].items()]
    return {"scenarios": scenarios, "callers": callers, "failed_expectations": failed}


def load_justifications(root: Path) -> dict[str, str]:
    path = root / JUSTIFICATIONS
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of 'Policy/Sid action' to a reason")
    return {str(k): str(v) for k, v in data.items()}


def justification_of(grant: str, action: str, justifications: Mapping[str, str]) -> str | None:
    """The reason a grant stays although unused: keyed ``Policy/Sid action`` or ``Policy/Sid``,
    either with ``*`` wildcards (SAM names some inline policies after their function)."""
    for key in (f"{grant} {action}", grant):
        if key in justifications:
            return justifications[key]
    for pattern, reason in justifications.items():
        if "*" in pattern and (
            wildcard_match(pattern, f"{grant} {action}") or wildcard_match(pattern, grant)
        ):
            return reason
    return None


def finish(report: dict[str, Any], justifications: Mapping[str, str]) -> dict[str, Any]:
    """Add ``unused`` (each with its justification or null) and the totals."""
    denials = 0
    unjustified = 0
    for entry in report["callers"].values():
        unused = []
        for grant in entry["grants"]:
            if grant["used"]:
                continue
            reason = justification_of(grant["grant"], grant["action"], justifications)
            unused.append({"grant": grant["grant"], "action": grant["action"], "justification": reason})
            unjustified += reason is None
        entry["unused"] = unused
        denials += len(entry["denials"])
    report["denials"] = denials
    report["unjustified_unused_grants"] = unjustified
    return report


def render(report: Mapping[str, Any]) -> str:
    lines: list[str] = []
    for name in sorted(report["callers"]):
        entry = report["callers"][name]
        lines.append(f"{entry['kind']} {name}")
        lines.append("  actions used: " + (", ".join(sorted(entry["used"])) or "-"))
        for grant in entry["unused"]:
            why = (
                grant["justification"] or "UNJUSTIFIED (remove it or say why in docs/iam/unused-grants.yaml)"
            )
            lines.append(f"  unused grant: {grant['grant']} {grant['action']} - {why}")
        for denial in entry["denials"]:
            extra = f" ({denial['implicit']})" if denial["implicit"] else ""
            lines.append(
                f"  DENIED: {denial['action']} on {denial['resource']}{extra} [{denial['scenario']}]"
            )
    for scenario, failures in (report.get("failed_expectations") or {}).items():
        lines.append(f"scenario {scenario} failed: " + "; ".join(failures))
    lines.append(
        f"\n{len(report['callers'])} callers over {len(report['scenarios'])} scenario(s): "
        f"{report['denials']} denials, {report['unjustified_unused_grants']} unjustified unused grants"
    )
    return "\n".join(lines) + "\n"
