"""Checking a policy file as its author wrote it: the runtime model's structural errors and the semantic
rules (``rules.py``), each with the line and column of the field, a did-you-mean for unknown fields and
names, and a warning when the published form exceeds what the policy store holds.

``check_policy_text(text, source)`` returns the policy (None when an error was found) and every finding
as a printable line: ``FILE:LINE:COL: [warning: ]FIELD.PATH: what``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from mlcp.policy import Policy, canonical_json, field_path
from mlcp.policy.appconfig import MAX_HOSTED_CONFIGURATION_BYTES
from mlcp.policy.model import _problem
from mlcp_cli.policy_check.locate import Path, Positions, locate
from mlcp_cli.policy_check.rules import Finding, did_you_mean, semantic_findings

__all__ = ["CheckResult", "Finding", "check_policy_text"]


@dataclass(frozen=True)
class CheckResult:
    policy: Policy | None
    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return self.policy is not None and not self.errors


def _line(source: str, positions: Positions, finding: Finding) -> str:
    where = positions.of(finding.path, key=finding.key)
    prefix = f"{source}:{where.line}:{where.column}" if where else source
    label = "warning: " if finding.severity == "warning" else ""
    path = field_path(finding.path)
    return f"{prefix}: {label}{path}: {finding.message}" if path else f"{prefix}: {label}{finding.message}"


def _order(positions: Positions, finding: Finding) -> tuple[int, int]:
    where = positions.of(finding.path, key=finding.key)
    return (where.line, where.column) if where else (0, 0)


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of ``X | None`` / ``Optional[X]`` (or ``[annotation]``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return [annotation]


def _fields_at(path: Path) -> tuple[str, ...]:
    """The field names of the model at ``path`` of a policy document (() when it is not a model)."""
    current: list[Any] = [Policy]
    for part in path:
        following: list[Any] = []
        for annotation in current:
            for option in _unwrap(annotation):
                origin = typing.get_origin(option)
                if isinstance(option, type) and issubclass(option, BaseModel) and isinstance(part, str):
                    field = option.model_fields.get(part)
                    if field is not None:
                        following.append(field.annotation)
                elif origin is list and isinstance(part, int):
                    following.append(typing.get_args(option)[0])
                elif origin is dict and isinstance(part, str):
                    following.append(typing.get_args(option)[1])
        current = following
    names: list[str] = []
    for annotation in current:
        for option in _unwrap(annotation):
            if isinstance(option, type) and issubclass(option, BaseModel):
                names.extend(option.model_fields)
    return tuple(dict.fromkeys(names))


def _structural(source: str, error: ErrorDetails) -> Finding:
    loc: Path = tuple(error["loc"])
    message = _problem(source, error).removeprefix(f"{source}: ").removeprefix(f"{field_path(loc)}: ")
    if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        known = _fields_at(loc[:-1])
        hint = did_you_mean(loc[-1], known)
        fields = f"; fields here: {', '.join(known)}" if known and not hint else ""
        return Finding("error", loc, f"unknown field{hint}{fields}", key=True)
    return Finding("error", loc, message)


def _size_findings(policy: Policy) -> list[Finding]:
    size = len(canonical_json(policy).encode("utf-8"))
    if size <= MAX_HOSTED_CONFIGURATION_BYTES:
        return []
    return [
        Finding(
            "warning",
            (),
            f"the published policy is {size} bytes; the policy store (an AppConfig hosted version) holds at"
            f" most {MAX_HOSTED_CONFIGURATION_BYTES}: `mlcp policy publish` will refuse it",
        )
    ]


def check_merged_policy(policy: Policy, source: str) -> CheckResult:
    """The semantic rules on a policy merged from a directory (findings name the field path: a merged
    policy has no one file to locate them in)."""
    positions = locate("{}")
    findings = [*semantic_findings(policy), *_size_findings(policy)]
    errors = [_line(source, positions, f) for f in findings if f.severity == "error"]
    warnings = [_line(source, positions, f) for f in findings if f.severity == "warning"]
    return CheckResult(None if errors else policy, errors, warnings)


def check_policy_text(text: str, source: str) -> CheckResult:
    """Every problem of a policy document's text (YAML or JSON), located; see the module docstring."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        return CheckResult(None, [f"{where}: not valid YAML: {problem}"], [])
    if document is None:
        return CheckResult(None, [f"{source}: the file is empty"], [])
    if not isinstance(document, dict):
        kind = type(document).__name__
        return CheckResult(None, [f"{source}:1:1: the policy must be a mapping (got {kind})"], [])
    positions = locate(text)
    try:
        policy = Policy.model_validate(document)
    except ValidationError as exc:
        structural = sorted(
            (_structural(source, e) for e in exc.errors()), key=lambda f: _order(positions, f)
        )
        errors = [_line(source, positions, finding) for finding in structural]
        return CheckResult(None, errors, [])
    findings = [*semantic_findings(policy), *_size_findings(policy)]
    findings.sort(key=lambda f: _order(positions, f))
    errors = [_line(source, positions, f) for f in findings if f.severity == "error"]
    warnings = [_line(source, positions, f) for f in findings if f.severity == "warning"]
    return CheckResult(None if errors else policy, errors, warnings)
