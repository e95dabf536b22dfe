"""``make bench``: the policy at organisation scale (issue 18; docs/adr/0019). Counts and CPU ratios,
never timed tests.

- A generated policy of ``groups`` model package groups and ``tiers`` tiers validates, is published
  to AWS AppConfig on the emulator (the stack's real validator function runs on it), is deployed,
  and loads through ``AppConfigPolicyStore`` as a handler reads it: CPU of the first read (a cold
  start: session, fetch, parse) and of each later read (one poll answered "unchanged").
- Gate evaluation CPU per event (rule lookup + every gate) with that policy against a 3-group one,
  the candidate's group last in both: the ratio shows whether the lookup scans.
- ``mlcp policy dry-run`` over ``decisions`` recorded gate evaluations: records per second.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_GROUPS = 1000
DEFAULT_TIERS = 20
DEFAULT_DECISIONS = 10_000
DEFAULT_READS = 1000
GATE_EVENTS = 2000


def generated_policy_document(
    groups: int = DEFAULT_GROUPS, tiers: int = DEFAULT_TIERS, *, last: str
) -> dict[str, Any]:
    """``tiers`` tiers (every gate configured as the bench's high tier) and ``groups`` literal group
    rules spread over them, ``last`` being the last rule; two freeze windows."""
    from mlcp_cli.bench import gate_workload

    template = gate_workload()[3].model_dump(mode="json", exclude_none=True)
    document: dict[str, Any] = {
        "version": 1,
        "tiers": {f"tier-{t:02d}": {**template, "description": f"generated tier {t}"} for t in range(tiers)},
        "groups": [
            {
                "match": f"team-{g // 10:03d}-model-{g % 10}",
                "tier": f"tier-{g % tiers:02d}",
                "endpoint": f"team-{g // 10:03d}-model-{g % 10}-prod",
                "owners": [f"team-{g // 10:03d}@example.com"],
            }
            for g in range(groups - 1)
        ],
        "change_freezes": [
            {"start": "2026-12-21T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "year-end"},
            {"start": "2027-03-29T00:00:00Z", "end": "2027-04-02T00:00:00Z", "reason": "quarter close"},
        ],
    }
    document["groups"].append({"match": last, "tier": "tier-00", "endpoint": "fraud-prod"})
    return document


def _cpu(action: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    result = action()  # warm-up (lazy imports, model build)
    start = time.process_time()
    for _ in range(repeat):
        result = action()
    return (time.process_time() - start) / repeat, result


def gate_lookup_ratio(
    groups: int = DEFAULT_GROUPS, tiers: int = DEFAULT_TIERS, events: int = GATE_EVENTS
) -> dict[str, Any]:
    """CPU per event of ``tier_for`` + ``evaluate_gates`` with a ``groups``-group policy vs 3 groups."""
    from mlcp.gates.evaluate import evaluate_gates
    from mlcp.policy import parse_policy
    from mlcp_cli.bench import gate_workload

    _, _, _, _, candidate, evidence = gate_workload()
    costs: dict[str, float] = {}
    for label, count in (("small", 3), ("large", groups)):
        policy = parse_policy(
            generated_policy_document(count, min(tiers, count), last=candidate.group), "bench"
        )

        def event(policy: Any = policy) -> str:
            rule, tier = policy.tier_for(candidate.group)
            return str(evaluate_gates(policy, rule, rule.tier, tier, candidate, evidence).decision)

        cost, decision = _cpu(event, events)
        costs[label] = cost
        assert decision == "approve", decision
    return {
        "events": events,
        "us_per_event_3_groups": costs["small"] * 1e6,
        f"us_per_event_{groups}_groups": costs["large"] * 1e6,
        "ratio": costs["large"] / costs["small"] if costs["small"] else float("inf"),
    }


def publish_and_load(
    root: Path, groups: int = DEFAULT_GROUPS, tiers: int = DEFAULT_TIERS, reads: int = DEFAULT_READS
) -> dict[str, Any]:
    """Validate, publish to AppConfig on the emulator (the real validator function), deploy, and
    read it as a handler does; CPU of each stage."""
    import os

    import boto3
    from moto import mock_aws

    from mlcp.adapters.policy_appconfig import AppConfigPolicyStore
    from mlcp.policy import canonical_json, parse_policy
    from mlcp.policy.appconfig import MAX_HOSTED_CONFIGURATION_BYTES
    from mlcp_cli.emulator.gaps import FunctionRegistry, FunctionSpec, install_gap_fills
    from mlcp_cli.emulator.runtime import MOTO_CONFIG
    from mlcp_cli.policy_delivery import AppConfigTarget, publish, status

    document = generated_policy_document(groups, tiers, last="fraud-detector")
    validate_cpu, policy = _cpu(lambda: parse_policy(document, "bench"))
    size = len(canonical_json(policy).encode("utf-8"))
    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    try:
        mocked = mock_aws(config=MOTO_CONFIG)  # type: ignore[call-overload]
        with mocked, install_gap_fills(FunctionRegistry()) as fills:
            arn = "arn:aws:lambda:us-east-1:123456789012:function:validate-policy"
            fills.registry.register(
                FunctionSpec(
                    "validate-policy", root / "functions" / "validate_policy", "app.handler", arn=arn
                )
            )
            ac = boto3.client("appconfig")
            app = ac.create_application(Name="bench")["Id"]
            env = ac.create_environment(ApplicationId=app, Name="bench")["Id"]
            profile = ac.create_configuration_profile(
                ApplicationId=app,
                Name="policy",
                LocationUri="hosted",
                Validators=[{"Type": "LAMBDA", "Content": arn}],
            )["Id"]
            immediate = ac.create_deployment_strategy(
                Name="now",
                DeploymentDurationInMinutes=0,
                FinalBakeTimeInMinutes=0,
                GrowthFactor=100,
                ReplicateTo="NONE",
            )["Id"]
            target = AppConfigTarget(app, env, profile)
            start = time.process_time()
            result = publish(ac, target, policy, immediate_strategy=immediate, gradual_strategy=immediate)
            publish_cpu = time.process_time() - start
            deployed = status(ac, target)["deployed"]
            store = AppConfigPolicyStore(app, env, profile, client=boto3.client("appconfigdata"))
            start = time.process_time()
            loaded = store.get()
            cold_cpu = time.process_time() - start
            start = time.process_time()
            for _ in range(reads):
                store.get()
            cached_cpu = (time.process_time() - start) / reads
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {
        "groups": len(policy.groups),
        "tiers": len(policy.tiers),
        "bytes": size,
        "bytes_limit": MAX_HOSTED_CONFIGURATION_BYTES,
        "validate_ms": validate_cpu * 1e3,
        "publish_ms": publish_cpu * 1e3,
        "deployed_version": deployed["version"] if deployed else None,
        "published_version": result.version,
        "round_trip": bool(deployed and deployed["version"] == result.version and loaded == policy),
        "cold_load_ms": cold_cpu * 1e3,
        "per_decision_us": cached_cpu * 1e6,
        "reads": reads,
    }


def dry_run_rate(decisions: int = DEFAULT_DECISIONS) -> dict[str, Any]:
    """``mlcp_cli.policy_dry_run.dry_run`` over ``decisions`` recorded gate evaluations (reports in
    memory, SHA-256 checked), against a policy that changes every one of them."""
    from mlcp.audit import AuditRecord
    from mlcp.gates.evaluate import evaluate_gates, report_document
    from mlcp.gates.evidence import replay_inputs
    from mlcp.policy import parse_policy
    from mlcp_cli.bench import gate_workload
    from mlcp_cli.policy_dry_run import dry_run

    policy, rule, tier_name, tier, candidate, evidence = gate_workload()
    report = evaluate_gates(policy, rule, tier_name, tier, candidate, evidence)
    document = report_document(report)
    document["inputs"] = replay_inputs(candidate, evidence, tier)
    raw = json.dumps(document).encode()
    digest = hashlib.sha256(raw).hexdigest()
    reports = {f"s3://bench/{i}.json": raw for i in range(decisions)}
    records = [
        AuditRecord(
            stream="group#fraud-detector",
            seq=i + 1,
            prev_hash="0" * 64,
            hash="0" * 64,
            actor="mlcp",
            at="2026-06-01T12:00:00.000000Z",
            action="gates.evaluated",
            subject=candidate.arn,
            evidence={
                "decision": report.decision,
                "tier": tier_name,
                "report_uri": f"s3://bench/{i}.json",
                "report_sha256": digest,
            },
            decision_id=f"d{i}",
        )
        for i in range(decisions)
    ]
    stricter = policy.model_dump(mode="json", exclude_none=True)
    stricter["tiers"]["high"]["gates"]["metrics"]["thresholds"][0]["min"] = 0.99
    new_policy = parse_policy(stricter, "bench")
    start = time.process_time()
    run = dry_run(records, new_policy, reports.get)
    cpu = time.process_time() - start
    return {
        "decisions": decisions,
        "replayed": len(run.replayed),
        "changed": len(run.changed),
        "cpu_seconds": cpu,
        "records_per_second": decisions / cpu if cpu else float("inf"),
    }


def policy_scale(
    root: Path, groups: int = DEFAULT_GROUPS, decisions: int = DEFAULT_DECISIONS
) -> dict[str, Any]:
    """Every figure of this module (each guarded: a failure is reported, not raised)."""
    from mlcp_cli.bench import _guarded

    return {
        "publish_and_load": _guarded("policy publish", lambda: publish_and_load(root, groups)),
        "lookup": _guarded("policy lookup", lambda: gate_lookup_ratio(groups)),
        "dry_run": _guarded("policy dry-run", lambda: dry_run_rate(decisions)),
    }


def policy_figures(details: dict[str, Any]) -> list[Any]:
    """The figures, with their budgets (the issue's: lookup ratio <= 1.2; a full round trip)."""
    from mlcp_cli.bench import Figure, at_least, at_most

    loaded, lookup, replay = details["publish_and_load"], details["lookup"], details["dry_run"]
    figures: list[Any] = []
    if "error" in loaded:
        figures.append(Figure("policy: 1,000 groups round trip", None, "ok", at_least(1), loaded["error"]))
    else:
        note = f"{loaded['groups']} groups, {loaded['tiers']} tiers, {loaded['bytes']} bytes of {loaded['bytes_limit']}"
        figures += [
            Figure(
                "policy: 1,000 groups round trip (validate, publish, deploy, load)",
                float(loaded["round_trip"]),
                "ok",
                at_least(1),
                note,
            ),
            Figure(
                "policy: 1,000 groups published size",
                loaded["bytes"] / 1e6,
                "MB",
                at_most(loaded["bytes_limit"] / 1e6),
            ),
            Figure("policy: validate (1,000 groups)", loaded["validate_ms"], "ms CPU"),
            Figure("policy: publish + validator + deploy (1,000 groups)", loaded["publish_ms"], "ms CPU"),
            Figure("policy: load per cold start (1,000 groups)", loaded["cold_load_ms"], "ms CPU"),
            Figure("policy: read per decision, cached (1,000 groups)", loaded["per_decision_us"], "us CPU"),
        ]
    if "error" in lookup:
        figures.append(
            Figure("gate CPU per event: 1,000 / 3 groups", None, "x", at_most(1.2), lookup["error"])
        )
    else:
        note = f"{lookup['us_per_event_3_groups']:.0f} us with 3 groups"
        figures.append(
            Figure("gate CPU per event: 1,000 / 3 groups", lookup["ratio"], "x", at_most(1.2), note)
        )
    if "error" in replay:
        figures.append(
            Figure("policy dry-run over 10,000 decisions", None, "records/s", None, replay["error"])
        )
    else:
        note = f"{replay['replayed']} replayed, {replay['changed']} changed"
        figures.append(
            Figure(
                "policy dry-run over 10,000 decisions", replay["records_per_second"], "records/s", None, note
            )
        )
    return figures
