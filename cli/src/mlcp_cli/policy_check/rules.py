"""Semantic rules: what the runtime model (``mlcp.policy.model``) accepts but can never work.

The runtime model stays strict about shape and fast to load (it ships to Lambda); these rules need
SageMaker's and Clarify's catalogs and run where a policy is written: ``mlcp policy validate`` and
before ``publish``. Each rule yields findings on a field path of the document.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from mlcp.policy import Policy
from mlcp.policy.model import MetricThreshold, Tier
from mlcp_cli.policy_check.catalog import (
    BIAS_METRICS,
    METRIC_FIELDS,
    NON_NEGATIVE,
    REPORT_SECTIONS,
    Range,
    magnitude_range,
)
from mlcp_cli.policy_check.locate import Path

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    path: Path
    message: str
    key: bool = False
    """Whether the finding is about the key at ``path`` (an unknown field) rather than its value."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, case-insensitively; '' when none is close."""
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""


def metric_range(path: str) -> tuple[Range | None, str | None]:
    """The range of the report value at dotted ``path``, or why the path names nothing in the report."""
    parts = path.split(".")
    section = REPORT_SECTIONS.get(parts[0])
    if section is None:
        return None, (
            f"{parts[0]!r} is not a section of SageMaker's evaluation report"
            f"{did_you_mean(parts[0], tuple(REPORT_SECTIONS))}; sections: {', '.join(REPORT_SECTIONS)}"
        )
    if len(parts) < 2:
        return None, f"{path!r} names a section, not a metric (e.g. {parts[0]}.{next(iter(section))}.value)"
    name = parts[1]
    if name not in section:
        return None, f"{name!r} is not a metric of {parts[0]}{did_you_mean(name, tuple(section))}"
    value_range = section[name]
    if value_range is None:
        return None, f"{parts[0]}.{name} is not a number (a matrix or a curve): no bound applies"
    if len(parts) == 2:
        return value_range, None
    field = parts[2]
    if field not in METRIC_FIELDS or len(parts) > 3:
        return None, (
            f"{'.'.join(parts[2:])!r} is not a field of {parts[0]}.{name}{did_you_mean(field, METRIC_FIELDS)};"
            f" fields: {', '.join(METRIC_FIELDS)}"
        )
    return (NON_NEGATIVE if field == "standard_deviation" else value_range), None


def _bound_findings(bound: MetricThreshold, possible: Range, what: str, path: Path) -> Iterator[Finding]:
    """A bound outside what the value can be: one that can never pass, or one that can never fail."""
    text = possible.text()
    if bound.min is not None:
        if bound.min > possible.high:
            yield Finding("error", (*path, "min"), f"min {bound.min:g} can never be met: {what} is in {text}")
        elif bound.min < possible.low:
            yield Finding("error", (*path, "min"), f"min {bound.min:g} can never fail: {what} is in {text}")
    if bound.max is not None:
        if bound.max < possible.low:
            yield Finding("error", (*path, "max"), f"max {bound.max:g} can never be met: {what} is in {text}")
        elif bound.max > possible.high:
            yield Finding("error", (*path, "max"), f"max {bound.max:g} can never fail: {what} is in {text}")


def _metric_rules(name: str, tier: Tier) -> Iterator[Finding]:
    gates: Path = ("tiers", name, "gates")
    for index, threshold in enumerate(tier.gates.metrics.thresholds):
        path = (*gates, "metrics", "thresholds", index)
        possible, problem = metric_range(threshold.metric)
        if problem is not None:
            yield Finding("error", (*path, "metric"), problem)
        elif possible is not None:
            yield from _bound_findings(threshold, possible, threshold.metric, path)
    regression = tier.gates.regression
    if regression is not None:
        possible, problem = metric_range(regression.metric)
        if problem is not None:
            yield Finding("error", (*gates, "regression", "metric"), problem)
        elif possible is not None and regression.tolerance > possible.high - possible.low:
            yield Finding(
                "error",
                (*gates, "regression", "tolerance"),
                f"tolerance {regression.tolerance:g} can never fail: {regression.metric} is in {possible.text()}",
            )


def _bias_rules(name: str, tier: Tier) -> Iterator[Finding]:
    for index, bound in enumerate(tier.gates.bias.bounds):
        path: Path = ("tiers", name, "gates", "bias", "bounds", index)
        signed = BIAS_METRICS.get(bound.metric)
        if signed is None:
            known = tuple(BIAS_METRICS)
            yield Finding(
                "error",
                (*path, "metric"),
                f"{bound.metric!r} is not a SageMaker Clarify bias metric{did_you_mean(bound.metric, known)};"
                f" metrics: {', '.join(known)}",
            )
            continue
        yield from _bound_findings(bound, magnitude_range(signed), f"|{bound.metric}|", path)


def _approver_rules(name: str, tier: Tier) -> Iterator[Finding]:
    path: Path = ("tiers", name, "approvers")
    approvers = tier.approvers
    if approvers is None:
        if tier.human_approval:
            yield Finding(
                "warning",
                ("tiers", name, "human_approval"),
                "no approvers named: anyone but the package's creator may answer this tier's approvals",
            )
        return
    if tier.auto_approve:
        yield Finding(
            "error", path, "approvers are never asked: the tier approves automatically (auto_approve)"
        )
    if not approvers:
        yield Finding(
            "warning", path, "an empty list names nobody: anyone but the creator may answer; leave it out"
        )
    seen: set[str] = set()
    for index, approver in enumerate(approvers):
        if approver in seen:
            yield Finding("warning", (*path, index), f"{approver} is listed twice")
        seen.add(approver)
        if ":role/aws-service-role/" in approver:
            yield Finding(
                "error", (*path, index), f"{approver} is a service-linked role: no person answers as it"
            )


def _deployment_rules(name: str, tier: Tier) -> Iterator[Finding]:
    deployment = tier.deployment
    path: Path = ("tiers", name, "deployment")
    if deployment.strategy != "all_at_once" and not deployment.alarms:
        yield Finding(
            "warning",
            (*path, "alarms"),
            f"a {deployment.strategy} deployment with no alarms: nothing rolls it back during the bake",
        )
    shadow = deployment.shadow
    if shadow is not None:
        for index, metric in enumerate(shadow.metrics):
            if metric.min_samples > shadow.duration_minutes:
                yield Finding(
                    "error",
                    (*path, "shadow", "metrics", index, "min_samples"),
                    f"{metric.metric} needs {metric.min_samples} one-minute samples but the shadow lasts "
                    f"{shadow.duration_minutes} min: its verdict could never be better than marginal",
                )


def _promotion_rules(policy: Policy) -> Iterator[Finding]:
    """A promotion stage runs in a member account, which does not run the shadow test or the canary
    analysis yet (ADR 35): its deployments would all be refused."""
    for index, rule in enumerate(policy.groups):
        for number, stage in enumerate(rule.promotion):
            tier = policy.tiers.get(stage.tier)
            if tier is None:
                continue
            for key, what in (("shadow", "a shadow phase"), ("analysis", "a canary analysis")):
                if getattr(tier.deployment, key) is not None:
                    yield Finding(
                        "error",
                        ("groups", index, "promotion", number, "tier"),
                        f"stage {stage.stage!r} deploys in member account {stage.account}, which does not run "
                        f"{what} yet (tier {stage.tier!r} has deployment.{key}): every deployment there "
                        "would be refused",
                    )


def _group_rules(policy: Policy) -> Iterator[Finding]:
    used = {rule.tier for rule in policy.groups} | {s.tier for rule in policy.groups for s in rule.promotion}
    for name in policy.tiers:
        if name not in used:
            yield Finding("warning", ("tiers", name), f"tier {name!r} is not used by any group rule")
    for index, rule in enumerate(policy.groups):
        for earlier_index, earlier in enumerate(policy.groups[:index]):
            if fnmatch.fnmatchcase(rule.match, earlier.match):
                yield Finding(
                    "warning",
                    ("groups", index, "match"),
                    f"{rule.match!r} never matches: groups[{earlier_index}] ({earlier.match!r}) comes first",
                )
                break


def semantic_findings(policy: Policy) -> list[Finding]:
    """Every semantic finding of a structurally valid policy, in document order of tiers then groups."""
    findings: list[Finding] = []
    for name, tier in policy.tiers.items():
        for rule in (_metric_rules, _bias_rules, _approver_rules, _deployment_rules):
            findings.extend(rule(name, tier))
    findings.extend(_group_rules(policy))
    findings.extend(_promotion_rules(policy))
    return findings
