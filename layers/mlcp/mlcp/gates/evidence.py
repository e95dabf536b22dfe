"""What the gates look at, gathered through a port: the candidate's reports, the SHA-256 of its
artifacts, and the champion serving on the group's endpoint. Pure: the reading is done by an
``EvidenceSource`` (``mlcp.adapters.evidence.S3Evidence`` on AWS, an in-memory fake in a test).

"Looked for, not found" is ``None`` in the evidence, never an exception: a missing report or
artifact is for a gate to judge. The bias reports' two formats (Clarify's and our flat one) are
read here too (``bias_values``), beside the reading they serve; the bias gate judges the values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlcp.models.gates import Candidate, Evidence
from mlcp.policy.model import GroupRule, Tier
from mlcp.records import record_class
from mlcp.s3uri import parse_s3_uri

if TYPE_CHECKING:
    from mlcp.ports import EvidenceSource


# --------------------------------------------------------------------------- bias report parsing


def as_number(value: Any) -> float | None:
    """A finite float from a report value (numbers and numeric strings); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


@record_class
class BiasValue:
    """One bias metric value of a report, with where it was measured."""

    name: str
    value: float
    where: str


_CLARIFY_SECTIONS = {
    "pre_training_bias_metrics": "pre_training",
    "post_training_bias_metrics": "post_training",
}


def _clarify_values(report: Mapping[str, Any]) -> list[BiasValue]:
    values: list[BiasValue] = []
    for section_key, stage in _CLARIFY_SECTIONS.items():
        section = report.get(section_key)
        if not isinstance(section, Mapping):
            continue
        label = section.get("label_value_or_threshold")
        facets = section.get("facets")
        if not isinstance(facets, Mapping):
            continue
        for facet, groups in facets.items():
            for group in groups if isinstance(groups, list) else []:
                if not isinstance(group, Mapping):
                    continue
                where = f"{stage}:{facet}={group.get('value_or_threshold', '?')}"
                if label is not None:
                    where += f",label={label}"
                for metric in group.get("metrics") or []:
                    if not isinstance(metric, Mapping):
                        continue
                    number = as_number(metric.get("value"))
                    if isinstance(metric.get("name"), str) and number is not None:
                        values.append(BiasValue(metric["name"], number, where))
    return values


def _flat_values(entries: Iterable[Any]) -> list[BiasValue]:
    values: list[BiasValue] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        number = as_number(entry.get("value"))
        if not isinstance(entry.get("name"), str) or number is None:
            continue
        parts = [str(entry["stage"])] if entry.get("stage") is not None else []
        if entry.get("facet") is not None:
            facet_value = entry.get("facet_value")
            parts.append(str(entry["facet"]) + ("" if facet_value is None else f"={facet_value}"))
        values.append(BiasValue(entry["name"], number, ":".join(parts) or "report"))
    return values


def bias_values(report: Mapping[str, Any]) -> list[BiasValue] | None:
    """Every bias metric value of a report in either supported format; None when it is neither format.

    Clarify metrics that carry an ``error`` instead of a value are left out (so a bound on them fails as
    missing).
    """
    if isinstance(report.get("bias_metrics"), list):
        return _flat_values(report["bias_metrics"])
    if any(isinstance(report.get(key), Mapping) for key in _CLARIFY_SECTIONS):
        return _clarify_values(report)
    return None


def flatten_bias_report(report: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """A report in either format as entries of our format (``name``, ``value``, ``facet`` = where)."""
    values = bias_values(report)
    if values is None:
        return None
    return [{"name": v.name, "value": v.value, "facet": v.where} for v in values]


def combined_bias_report(reports: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """One bias report out of the package's (``Bias.Report``, pre- and post-training): the one there is, or
    all of them flattened into our format. Unreadable ones are left out; None when none is readable."""
    present = [report for report in reports if report is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    entries: list[dict[str, Any]] = []
    for report in present:
        entries += flatten_bias_report(report) or []
    return {"bias_metrics": entries}


def _needs(tier: Tier | None, gate: str) -> bool:
    """Whether the tier's gates look at what ``gate`` needs (no tier: everything is read)."""
    if tier is None:
        return True
    settings = getattr(tier.gates, gate)
    return settings is not None and bool(settings.enabled)


EVIDENCE_GATES = ("metrics", "regression", "bias", "explainability", "artifact_integrity")
"""Gates whose evidence is read only when the tier enables them (the others read the candidate)."""


def replay_inputs(candidate: Candidate, evidence: Evidence, tier: Tier | None) -> dict[str, Any]:
    """What the gates saw, as JSON, kept in the gate report so that ``mlcp policy dry-run`` can run
    the same gates again under another policy: the candidate, the evidence, and which gates' evidence
    was read (a gate the old tier left off had none read: its replay is unknown, not a failure)."""
    return {
        "candidate": candidate.model_dump(mode="json"),
        "evidence": evidence.model_dump(mode="json"),
        "evidence_read_for": [gate for gate in EVIDENCE_GATES if _needs(tier, gate)],
    }


def collect_evidence(
    candidate: Candidate,
    rule: GroupRule,
    *,
    now: datetime,
    approver: str | None,
    tier: Tier | None = None,
    source: EvidenceSource,
) -> Evidence:
    """Everything the gates of ``tier`` need for ``candidate``; only that is read (no tier: all of it).

    * metrics / regression: the candidate's ModelQuality statistics report;
    * regression with a group endpoint: the champion (``source.champion``) and its ModelQuality report;
    * bias: ``Bias.Report``, ``PreTrainingReport``, ``PostTrainingReport`` (``combined_bias_report``);
    * explainability: ``Explainability.Report``;
    * artifact_integrity: SHA-256 of each container's ModelDataUrl object when the tier requires it or the
      package declares an ``artifact_sha256``.
    """
    reports = candidate.model_metrics
    metrics_report = None
    if _needs(tier, "metrics") or _needs(tier, "regression"):
        metrics_report = source.json_report(reports.get("model_quality_statistics"))

    champion_arn = champion_report = None
    if rule.endpoint and _needs(tier, "regression"):
        champion_arn, champion_metrics_uri = source.champion(rule.endpoint)
        champion_report = source.json_report(champion_metrics_uri)

    bias_report = None
    if _needs(tier, "bias"):
        kinds = ("bias_report", "bias_pre_training", "bias_post_training")
        bias_report = combined_bias_report(
            [source.json_report(reports[kind]) for kind in kinds if kind in reports]
        )

    explainability_report = None
    if _needs(tier, "explainability"):
        explainability_report = source.json_report(reports.get("explainability"))

    hashes: dict[str, str | None] = {}
    integrity = tier.gates.artifact_integrity if tier is not None else None
    if _needs(tier, "artifact_integrity") and (
        integrity is None
        or integrity.require_artifact_sha256
        or candidate.customer_metadata.get("artifact_sha256")
    ):
        for container in candidate.containers:
            url = container.model_data_url
            if url and url not in hashes:
                hashes[url] = source.sha256(url) if parse_s3_uri(url) else None

    return Evidence(
        now=now,
        metrics_report=metrics_report,
        champion_arn=champion_arn,
        champion_metrics_report=champion_report,
        bias_report=bias_report,
        explainability_report=explainability_report,
        artifact_sha256=hashes,
        approver=approver,
    )
