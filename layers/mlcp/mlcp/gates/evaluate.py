"""The deployment gates: one pure function per gate, and what they add up to.

Every gate has the signature ``(policy, rule, tier, candidate, evidence) -> GateResult`` and never does I/O:
``mlcp.gates.evidence`` gathers what they look at. A gate that is disabled (or, for ``regression``, not
configured) is skipped. A skipped gate is not a failure: "all pass" below means "no gate failed".

Conventions the gates rely on (docs/ARCHITECTURE.md, Governance):

* the evaluation report is SageMaker's model quality JSON (``binary_classification_metrics.auc.value``,
  ``regression_metrics.mse.value``, each metric ``{"value": ..., "standard_deviation": ...}``); a threshold
  names a dotted path in it. A path ending on a metric object (``...auc``) means its ``value``;
* bias reports are Clarify's ``analysis.json`` (``pre_training_bias_metrics`` / ``post_training_bias_metrics``
  -> ``facets`` -> facet name -> ``[{value_or_threshold, metrics: [{name, value}]}]``) or our monitor-agnostic
  ``{"bias_metrics": [{"name": "DPL", "value": 0.03, "facet": "gender"}]}``;
* ``CustomerMetadataProperties``: ``artifact_sha256`` (hex SHA-256 of the ModelDataUrl object; with several
  model data URLs, comma-separated in container order) and ``training_data`` (comma-separated
  ``s3://bucket/key?versionId=...``); ``MetadataProperties.GeneratedBy`` = the pipeline execution ARN.

Decision (``evaluate_gates``): any hard failure -> ``reject``; else any soft failure, or a tier that
requires a human -> ``needs_human``; else a tier that auto-approves -> ``approve``; else ``needs_human``.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mlcp.gates.evidence import BiasValue, as_number, bias_values
from mlcp.models.gates import Candidate, Decision, Evidence, GateOutcome, GateReport, GateResult
from mlcp.policy.model import ArtifactIntegrityGate, GateSettings, GroupRule, MetricThreshold, Policy, Tier
from mlcp.principals import principal, same_identity
from mlcp.s3uri import parse_s3_uri

#: An identity the registry could not name (``mlcp.adapters.registry.UNKNOWN_IDENTITY``).
UNKNOWN_IDENTITY = "unknown"

#: Relative slack of the regression comparison, so that a candidate exactly ``tolerance`` worse than the
#: champion passes despite binary floating point (0.85 - 0.02 is not 0.83).
_FLOAT_SLACK = 1e-9

Gate = Callable[[Policy, GroupRule, Tier, Candidate, Evidence], GateResult]


# --------------------------------------------------------------------------- small helpers


def _result(
    gate: str,
    settings: GateSettings,
    outcome: GateOutcome,
    reason: str,
    threshold: Any = None,
    observed: Any = None,
) -> GateResult:
    return GateResult(
        gate=gate, outcome=outcome, hard=settings.hard, reason=reason, threshold=threshold, observed=observed
    )


def _summarise(problems: Sequence[str]) -> str:
    """One line naming the first problem and how many more there are."""
    if len(problems) == 1:
        return problems[0]
    return f"{problems[0]} (and {len(problems) - 1} more)"


_ABSENT = object()


def _metric_node(report: Mapping[str, Any] | None, path: str) -> Any:
    """What sits at dotted ``path`` (a ``{"value": ...}`` object: its value); ``_ABSENT`` if nothing."""
    node: Any = report
    for step in path.split("."):
        if not isinstance(node, Mapping) or step not in node:
            return _ABSENT
        node = node[step]
    if isinstance(node, Mapping):
        node = node.get("value", _ABSENT)
    return node


def metric_value(report: Mapping[str, Any] | None, path: str) -> float | None:
    """The number at dotted ``path`` of a report; a path ending on a ``{"value": ...}`` object means its value.

    None when the report, any step of the path or a finite number there is missing.
    """
    node = _metric_node(report, path)
    return None if node is _ABSENT else as_number(node)


def missing_metric(report: Mapping[str, Any] | None, path: str) -> str:
    """Why ``metric_value`` found no number: absent, or there but not a (finite) number."""
    node = _metric_node(report, path)
    if node is _ABSENT or node is None:
        return f"{path} missing from the evaluation report"
    return f"{path} is not a number in the evaluation report ({node!r})"


def _bound_text(bound: MetricThreshold) -> str:
    if bound.min is not None and bound.max is not None:
        return f"[{bound.min:g}, {bound.max:g}]"
    if bound.min is not None:
        return f">= {bound.min:g}"
    return f"<= {bound.max:g}"


def _bound_dict(bound: MetricThreshold) -> dict[str, Any]:
    return {"metric": bound.metric, "min": bound.min, "max": bound.max}


def _excess(value: float, bound: MetricThreshold) -> float:
    """How far ``value`` lies outside ``bound`` (> 0: outside; <= 0: inside, by that margin)."""
    below = bound.min - value if bound.min is not None else -math.inf
    above = value - bound.max if bound.max is not None else -math.inf
    return max(below, above)


def _within(value: float, bound: MetricThreshold) -> bool:
    """Inclusive at both ends: a value equal to ``min`` or ``max`` passes."""
    return (bound.min is None or value >= bound.min) and (bound.max is None or value <= bound.max)


def training_data(candidate: Candidate) -> list[str]:
    """The ``training_data`` entries of the candidate's customer metadata (comma-separated S3 URIs)."""
    raw = candidate.customer_metadata.get("training_data", "")
    return [entry.strip() for entry in raw.split(",") if entry.strip()]


def registry_host(image: str) -> str:
    """The registry host of a container image reference (Docker's rule: the first path component is a host
    when it has a dot or a port or is ``localhost``; otherwise the image lives on Docker Hub)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first.lower()
    return "docker.io"


def bias_measure(value: float) -> float:
    """What a bias bound is compared with: ``|value|`` (docs/policy.md: "max: 0.1" means |DPL| <= 0.1).

    Bias metrics are signed by which group is favoured; a disparity in either direction counts. DI is never
    negative, so ``|DI| = DI`` and a DI range (``min: 0.8, max: 1.25``) reads as written. A negative ``min`` can
    never fail.
    """
    return abs(value)


def _worst(values: Sequence[BiasValue], bound: MetricThreshold) -> BiasValue:
    """The occurrence farthest outside (or nearest to leaving) the bound."""
    return max(values, key=lambda v: _excess(bias_measure(v.value), bound))


# --------------------------------------------------------------------------- the gates


def metrics_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Every threshold against the candidate's evaluation report; bounds are inclusive."""
    settings = tier.gates.metrics
    thresholds = [_bound_dict(t) for t in settings.thresholds]
    if not settings.enabled:
        return _result("metrics", settings, GateOutcome.SKIP, "gate disabled")
    if not settings.thresholds:
        return _result("metrics", settings, GateOutcome.SKIP, "no thresholds configured")
    if evidence.metrics_report is None:
        return _result(
            "metrics",
            settings,
            GateOutcome.FAIL,
            "no evaluation report (ModelQuality statistics)",
            thresholds,
        )
    observed: dict[str, float | None] = {}
    problems: list[str] = []
    for threshold in settings.thresholds:
        value = metric_value(evidence.metrics_report, threshold.metric)
        observed[threshold.metric] = value
        if value is None:
            problems.append(missing_metric(evidence.metrics_report, threshold.metric))
        elif not _within(value, threshold):
            problems.append(f"{threshold.metric} = {value:g}, required {_bound_text(threshold)}")
    if problems:
        return _result("metrics", settings, GateOutcome.FAIL, _summarise(problems), thresholds, observed)
    count = len(settings.thresholds)
    return _result("metrics", settings, GateOutcome.PASS, f"all {count} thresholds met", thresholds, observed)


def regression_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """The candidate may not be worse than the champion by more than ``tolerance`` (edge included)."""
    settings = tier.gates.regression
    if settings is None:
        return GateResult(gate="regression", outcome=GateOutcome.SKIP, hard=True, reason="not configured")
    if not settings.enabled:
        return _result("regression", settings, GateOutcome.SKIP, "gate disabled")
    threshold = {
        "metric": settings.metric,
        "tolerance": settings.tolerance,
        "higher_is_better": settings.higher_is_better,
    }
    if rule.endpoint is None:
        return _result(
            "regression", settings, GateOutcome.SKIP, "no endpoint configured: no champion", threshold
        )
    if evidence.champion_arn is None:
        return _result(
            "regression", settings, GateOutcome.SKIP, f"no champion deployed on {rule.endpoint}", threshold
        )
    candidate_value = metric_value(evidence.metrics_report, settings.metric)
    champion_value = metric_value(evidence.champion_metrics_report, settings.metric)
    observed: dict[str, Any] = {
        "candidate": candidate_value,
        "champion": champion_value,
        "champion_arn": evidence.champion_arn,
    }
    if candidate_value is None:
        node = _metric_node(evidence.metrics_report, settings.metric)
        reason = (
            f"candidate's evaluation report has no {settings.metric}"
            if node is _ABSENT or node is None
            else f"candidate's {settings.metric} is not a number ({node!r})"
        )
        return _result("regression", settings, GateOutcome.FAIL, reason, threshold, observed)
    if champion_value is None:
        reason = f"champion's evaluation report has no {settings.metric} ({evidence.champion_arn})"
        return _result("regression", settings, GateOutcome.FAIL, reason, threshold, observed)
    # How much worse the candidate is (negative: better).
    deficit = (
        champion_value - candidate_value if settings.higher_is_better else candidate_value - champion_value
    )
    observed["deficit"] = deficit
    slack = _FLOAT_SLACK * max(1.0, abs(champion_value), abs(candidate_value))
    compared = f"{settings.metric} {candidate_value:g} vs champion {champion_value:g}"
    if deficit > settings.tolerance + slack:
        reason = f"{compared}: worse by {deficit:g}, tolerance {settings.tolerance:g}"
        return _result("regression", settings, GateOutcome.FAIL, reason, threshold, observed)
    return _result(
        "regression", settings, GateOutcome.PASS, f"{compared}: within tolerance", threshold, observed
    )


def bias_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Each bound, by metric name, against the worst value of that metric in the bias report.

    A metric appears once per facet (and facet value), label value and stage (pre-/post-training) in a
    Clarify report. The bound applies to every occurrence, on ``|value|`` (``bias_measure``); the worst
    occurrence, the one reported, is the one farthest outside the bound, or nearest to leaving it when all are
    inside (for a ``max``-only bound: the largest ``|value|``).
    Occurrences without a numeric value (Clarify's ``error`` entries) do not count; a bounded metric with no
    value at all fails as missing.
    """
    settings = tier.gates.bias
    bounds = [_bound_dict(b) for b in settings.bounds]
    if not settings.enabled:
        return _result("bias", settings, GateOutcome.SKIP, "gate disabled")
    report = evidence.bias_report
    if report is None:
        if settings.required:
            return _result("bias", settings, GateOutcome.FAIL, "bias report required but absent", bounds)
        return _result("bias", settings, GateOutcome.SKIP, "no bias report (not required)", bounds)
    values = bias_values(report)
    if values is None:
        return _result("bias", settings, GateOutcome.FAIL, "bias report in an unrecognised format", bounds)
    by_name: dict[str, list[BiasValue]] = {}
    for value in values:
        by_name.setdefault(value.name, []).append(value)
    observed: dict[str, Any] = {}
    problems: list[str] = []
    for bound in settings.bounds:
        occurrences = by_name.get(bound.metric)
        if not occurrences:
            observed[bound.metric] = None
            problems.append(f"{bound.metric} missing from the bias report")
            continue
        worst = _worst(occurrences, bound)
        observed[bound.metric] = {"value": worst.value, "where": worst.where}
        measure = bias_measure(worst.value)
        if not _within(measure, bound):
            shown = bound.metric if measure == worst.value else f"|{bound.metric}|"
            problems.append(f"{shown} = {measure:g} at {worst.where}, required {_bound_text(bound)}")
    if problems:
        return _result("bias", settings, GateOutcome.FAIL, _summarise(problems), bounds, observed)
    reason = f"all {len(settings.bounds)} bounds met" if settings.bounds else "bias report present"
    return _result("bias", settings, GateOutcome.PASS, reason, bounds, observed)


def explainability_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """An explainability report is present (when required)."""
    settings = tier.gates.explainability
    if not settings.enabled:
        return _result("explainability", settings, GateOutcome.SKIP, "gate disabled")
    uri = candidate.model_metrics.get("explainability")
    if evidence.explainability_report is not None:
        return _result(
            "explainability", settings, GateOutcome.PASS, "explainability report present", None, uri
        )
    if settings.required:
        reason = "explainability report required but absent"
        return _result("explainability", settings, GateOutcome.FAIL, reason, {"required": True}, uri)
    return _result("explainability", settings, GateOutcome.SKIP, "no explainability report (not required)")


def _allowed(value: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, glob) for glob in globs)


def _declared_hashes(candidate: Candidate) -> list[str]:
    raw = candidate.customer_metadata.get("artifact_sha256", "")
    return [part.strip().lower() for part in raw.split(",") if part.strip()]


def _container_problems(candidate: Candidate, settings: ArtifactIntegrityGate) -> tuple[list[str], list[str]]:
    """Registry, digest pinning and artifact bucket of each container; and the model data URLs in order."""
    problems: list[str] = [] if candidate.containers else ["no inference containers"]
    urls: list[str] = []
    for index, container in enumerate(candidate.containers):
        host = registry_host(container.image)
        if not _allowed(host, settings.allowed_registries):
            problems.append(f"container {index}: registry {host} not allowed")
        pinned = "@sha256:" in container.image or (container.image_digest or "").startswith("sha256:")
        if settings.require_image_digest and not pinned:
            problems.append(f"container {index}: image {container.image} not pinned by digest")
        if container.model_data_url:
            urls.append(container.model_data_url)
            location = parse_s3_uri(container.model_data_url)
            if location is None:
                problems.append(f"container {index}: model data {container.model_data_url} is not in S3")
            elif not _allowed(location[0], settings.allowed_buckets):
                problems.append(f"container {index}: artifact bucket {location[0]} not allowed")
    return problems, urls


def _hash_problems(
    candidate: Candidate, evidence: Evidence, urls: Sequence[str], required: bool
) -> tuple[list[str], dict[str, str | None]]:
    """The recorded SHA-256 of each artifact against the object's in S3 now; and what S3 gave."""
    declared = _declared_hashes(candidate)
    actual: dict[str, str | None] = {}
    if not declared:
        return (["artifact_sha256 missing from customer metadata"] if required else []), actual
    if len(declared) != len(urls):
        return [f"artifact_sha256 lists {len(declared)} hashes for {len(urls)} model data URLs"], actual
    problems: list[str] = []
    for url, expected in zip(urls, declared, strict=True):
        if url not in evidence.artifact_sha256:
            problems.append(f"{url} was not hashed")
            continue
        digest = actual[url] = evidence.artifact_sha256[url]
        if digest is None:
            problems.append(f"{url} missing from S3")
        elif digest.lower() != expected:
            problems.append(f"{url} SHA-256 {digest} differs from recorded {expected}")
    return problems, actual


def artifact_integrity_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Images from allowed registries (pinned by digest if required), artifacts and training data in
    allowed buckets, and the artifact's recorded SHA-256 equal to the object's in S3 now.

    An empty ``allowed_registries`` / ``allowed_buckets`` allows nothing (fail closed): a tier with this gate
    on has to say where images and artifacts may come from. A declared ``artifact_sha256`` is checked even
    when not required.
    """
    settings = tier.gates.artifact_integrity
    if not settings.enabled:
        return _result("artifact_integrity", settings, GateOutcome.SKIP, "gate disabled")
    threshold = {
        "allowed_registries": list(settings.allowed_registries),
        "allowed_buckets": list(settings.allowed_buckets),
        "require_image_digest": settings.require_image_digest,
        "require_artifact_sha256": settings.require_artifact_sha256,
    }
    problems, urls = _container_problems(candidate, settings)
    hash_problems, actual = _hash_problems(candidate, evidence, urls, settings.require_artifact_sha256)
    problems += hash_problems
    for entry in training_data(candidate):
        location = parse_s3_uri(entry)
        if location is None:
            problems.append(f"training data {entry} is not an S3 URI")
        elif not _allowed(location[0], settings.allowed_buckets):
            problems.append(f"training data bucket {location[0]} not allowed")
    observed: dict[str, Any] = {"declared_sha256": _declared_hashes(candidate), "actual_sha256": actual}
    if problems:
        observed["problems"] = problems
        return _result(
            "artifact_integrity", settings, GateOutcome.FAIL, _summarise(problems), threshold, observed
        )
    reason = f"{len(candidate.containers)} container(s), {len(urls)} artifact(s) verified"
    return _result("artifact_integrity", settings, GateOutcome.PASS, reason, threshold, observed)


PIPELINE_EXECUTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline/[A-Za-z0-9](?:-*[A-Za-z0-9])*/execution/[A-Za-z0-9]+$"
)


def lineage_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Produced by a SageMaker pipeline execution; trained on recorded S3 object versions."""
    settings = tier.gates.lineage
    if not settings.enabled:
        return _result("lineage", settings, GateOutcome.SKIP, "gate disabled")
    threshold = {
        "require_pipeline_execution": settings.require_pipeline_execution,
        "require_training_data_versions": settings.require_training_data_versions,
    }
    entries = training_data(candidate)
    observed = {"generated_by": candidate.generated_by, "training_data": entries}
    problems: list[str] = []
    if settings.require_pipeline_execution:
        if not candidate.generated_by:
            problems.append("MetadataProperties.GeneratedBy missing")
        elif not PIPELINE_EXECUTION_ARN.match(candidate.generated_by):
            problems.append(f"GeneratedBy {candidate.generated_by} is not a pipeline execution ARN")
    if settings.require_training_data_versions:
        if not entries:
            problems.append("training_data missing from customer metadata")
        for entry in entries:
            location = parse_s3_uri(entry)
            if location is None:
                problems.append(f"training data {entry} is not an S3 URI")
            elif not location[2] or location[2] == "null":
                problems.append(f"training data {entry} has no versionId")
    if problems:
        return _result("lineage", settings, GateOutcome.FAIL, _summarise(problems), threshold, observed)
    return _result("lineage", settings, GateOutcome.PASS, "lineage recorded", threshold, observed)


def required_metadata_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Each required key present and non-blank in the customer metadata or the tags."""
    settings = tier.gates.required_metadata
    if not settings.enabled:
        return _result("required_metadata", settings, GateOutcome.SKIP, "gate disabled")
    keys = list(settings.keys)
    missing = [
        key
        for key in keys
        if not (candidate.customer_metadata.get(key) or "").strip()
        and not (candidate.tags.get(key) or "").strip()
    ]
    if missing:
        reason = f"missing metadata: {', '.join(missing)}"
        return _result("required_metadata", settings, GateOutcome.FAIL, reason, keys, {"missing": missing})
    return _result("required_metadata", settings, GateOutcome.PASS, f"all {len(keys)} keys present", keys, [])


def cost_allocation_tags_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Each required cost allocation tag present and non-blank among the package's (or group's) tags."""
    settings = tier.gates.cost_allocation_tags
    if not settings.enabled:
        return _result("cost_allocation_tags", settings, GateOutcome.SKIP, "gate disabled")
    keys = list(settings.keys)
    missing = [key for key in keys if not (candidate.tags.get(key) or "").strip()]
    if missing:
        reason = f"missing cost allocation tags: {', '.join(missing)}"
        return _result("cost_allocation_tags", settings, GateOutcome.FAIL, reason, keys, {"missing": missing})
    observed = {key: candidate.tags[key] for key in keys}
    return _result(
        "cost_allocation_tags", settings, GateOutcome.PASS, f"all {len(keys)} tags present", keys, observed
    )


def _aware(moment: datetime) -> datetime:
    """A naive time is taken as UTC (freeze windows always carry a timezone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def change_freeze_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """``evidence.now`` is in no freeze window (start inclusive, end exclusive)."""
    settings = tier.gates.change_freeze
    if not settings.enabled:
        return _result("change_freeze", settings, GateOutcome.SKIP, "gate disabled")
    now = _aware(evidence.now)
    windows = [
        {"start": f.start.isoformat(), "end": f.end.isoformat(), "reason": f.reason}
        for f in policy.change_freezes
    ]
    for freeze in policy.change_freezes:
        if freeze.covers(now):
            name = freeze.reason or "change freeze"
            reason = f"inside {name} ({freeze.start.isoformat()} to {freeze.end.isoformat()})"
            return _result("change_freeze", settings, GateOutcome.FAIL, reason, windows, now.isoformat())
    return _result(
        "change_freeze", settings, GateOutcome.PASS, "no change freeze now", windows, now.isoformat()
    )


def _known(identity: str | None) -> bool:
    return bool(identity and identity.strip() and identity.strip().lower() != UNKNOWN_IDENTITY)


def separation_of_duties_gate(
    policy: Policy, rule: GroupRule, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateResult:
    """Whoever approves did not create the package; an identity nobody can name fails closed."""
    settings = tier.gates.separation_of_duties
    if not settings.enabled:
        return _result("separation_of_duties", settings, GateOutcome.SKIP, "gate disabled")
    approver = evidence.approver
    if approver is None:
        return _result("separation_of_duties", settings, GateOutcome.SKIP, "not approved yet")
    observed = {"creator": candidate.created_by, "approver": approver}
    if not _known(approver):
        return _result("separation_of_duties", settings, GateOutcome.FAIL, "approver unknown", None, observed)
    if not _known(candidate.created_by):
        return _result("separation_of_duties", settings, GateOutcome.FAIL, "creator unknown", None, observed)
    if same_identity(approver, candidate.created_by):
        reason = f"approved by its creator ({principal(approver)})"
        return _result("separation_of_duties", settings, GateOutcome.FAIL, reason, None, observed)
    return _result(
        "separation_of_duties", settings, GateOutcome.PASS, "approver is not the creator", None, observed
    )


#: The gates in the order they run and are reported.
GATES: tuple[tuple[str, Gate], ...] = (
    ("metrics", metrics_gate),
    ("regression", regression_gate),
    ("bias", bias_gate),
    ("explainability", explainability_gate),
    ("artifact_integrity", artifact_integrity_gate),
    ("lineage", lineage_gate),
    ("required_metadata", required_metadata_gate),
    ("cost_allocation_tags", cost_allocation_tags_gate),
    ("change_freeze", change_freeze_gate),
    ("separation_of_duties", separation_of_duties_gate),
)


def _guarded(name: str, gate: Gate, *args: Any) -> GateResult:
    """A gate that raises (a report shaped unlike anything expected) fails hard instead of crashing."""
    try:
        return gate(*args)
    except Exception as exc:  # fail closed, with the error as the reason
        return GateResult(
            gate=name, outcome=GateOutcome.FAIL, hard=True, reason=f"gate error: {type(exc).__name__}: {exc}"
        )


def decide(results: Sequence[GateResult], tier: Tier) -> Decision:
    """What the results add up to under the tier's approval rules (see the module docstring)."""
    failures = [r for r in results if r.outcome == GateOutcome.FAIL]
    if any(r.hard for r in failures):
        return "reject"
    if failures or tier.human_approval:
        return "needs_human"
    return "approve" if tier.auto_approve else "needs_human"


def evaluate_gates(
    policy: Policy, rule: GroupRule, tier_name: str, tier: Tier, candidate: Candidate, evidence: Evidence
) -> GateReport:
    """Run every gate (fixed order) and decide."""
    results = [_guarded(name, gate, policy, rule, tier, candidate, evidence) for name, gate in GATES]
    decision = decide(results, tier)
    return GateReport(
        candidate_arn=candidate.arn,
        group=candidate.group,
        tier=tier_name,
        evaluated_at=_aware(evidence.now),
        results=results,
        decision=decision,
    )


def _version_of(arn: str) -> int | None:
    tail = arn.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def report_document(report: GateReport) -> dict[str, Any]:
    """The gate report as stored in S3 (JSON-able): candidate, tier, each result, decision and reasons."""
    counts = {outcome.value: 0 for outcome in GateOutcome}
    for result in report.results:
        counts[result.outcome.value] += 1
    return {
        "schema": "mlcp.gate-report/1",
        "candidate": {
            "arn": report.candidate_arn,
            "group": report.group,
            "version": _version_of(report.candidate_arn),
        },
        "tier": report.tier,
        "evaluated_at": report.evaluated_at.isoformat(),
        "decision": report.decision,
        "reasons": report.reasons(),
        "hard_failures": [r.gate for r in report.hard_failures],
        "counts": counts,
        "results": [result.model_dump(mode="json") for result in report.results],
    }
