"""The approval flow's decisions (``verify_approval``, registration, gating) against in-memory fakes
of the ports: no AWS, no moto. What the registry, the reports and the policy say is the test's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gates import factories as f
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.usecases.approval import ApprovalDeps, handle_package_status
from mlcp.usecases.gating import GatingDeps, evaluate_candidate
from mlcp.usecases.verification import verify_approval

from .fakes import (
    FakeAudit,
    FakeEvidence,
    FakeNotifier,
    FakePolicies,
    FakeRegistry,
    FakeReports,
    FakeState,
    FakeTaskCallbacks,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "model-package-state-change"
ARN = f.candidate().arn
CHAMPION = f"arn:aws:sagemaker:{f.REGION}:{f.ACCOUNT}:model-package/fraud-detector/6"
CHAMPION_REPORT = "s3://mlcp-reports/fraud/6/evaluation.json"


def _event(name: str) -> ModelPackageStateChangeEvent:
    raw: dict[str, Any] = json.loads((EVENTS / name).read_text())
    raw["resources"] = [ARN]
    raw["detail"].update(ModelPackageArn=ARN, ModelPackageGroupName="fraud-detector", ModelPackageVersion=7)
    return ModelPackageStateChangeEvent.model_validate(raw)


def _evidence() -> FakeEvidence:
    """Every report the strictest tier reads, each one passing."""
    metrics = f.candidate().model_metrics
    return FakeEvidence(
        reports={
            metrics["model_quality_statistics"]: f.evaluation_report(),
            metrics["bias_report"]: f.clarify_report(),
            metrics["explainability"]: f.explainability_report(),
            CHAMPION_REPORT: f.evaluation_report(auc=0.93),
        },
        hashes={f.MODEL_URL: f.MODEL_SHA},
        champions={"fraud-prod": (CHAMPION, CHAMPION_REPORT)},
    )


class World:
    """The approval flow's ports, faked, around one package."""

    def __init__(self, tier: Any = None, evidence: FakeEvidence | None = None, **candidate: Any) -> None:
        self.registry = FakeRegistry()
        self.registry.add(
            f.candidate(**({"approval_status": "Approved", "last_modified_by": f.APPROVER} | candidate))
        )
        self.evidence = evidence or _evidence()
        self.reports = FakeReports()
        self.audit = FakeAudit()
        self.state = FakeState()
        self.notifier = FakeNotifier()
        self.policies = FakePolicies(f.policy(tier))
        gating = GatingDeps(
            registry=self.registry,
            policies=self.policies,
            reports=self.reports,
            audit=self.audit,  # type: ignore[arg-type]
            evidence=self.evidence,
            clock=lambda: f.NOW,
        )
        self.callbacks = FakeTaskCallbacks()
        self.deps = ApprovalDeps(
            gating=gating,
            state=self.state,  # type: ignore[arg-type]
            callbacks=self.callbacks,
            notifier=self.notifier,
        )

    def verify(self, execution: str = "execution-1") -> dict[str, Any]:
        return verify_approval(_event("approved.json"), execution=execution, deps=self.deps)


def test_an_approval_that_passes_every_gate_of_a_human_tier_waits_for_the_named_approver() -> None:
    world = World()
    verdict = world.verify()
    assert verdict["outcome"] == "needs_human", verdict["reasons"]
    assert verdict["reasons"] == []
    assert verdict["tier"] == "high"
    assert verdict["endpoint"] == "fraud-prod"
    [(key, document)] = world.reports.documents.items()
    assert key.startswith("fraud-detector/7/")
    assert key.endswith("-approval.json")
    assert document["inputs"]["evidence"]["champion_arn"] == CHAMPION
    assert verdict["report_uri"] == f"s3://reports/{key}?versionId=1"
    [record] = world.audit.records
    assert record["action"] == "gates.evaluated"
    assert record["evidence"]["approver"] == f.APPROVER
    assert record["evidence"]["decision"] == "needs_human"


def test_an_auto_approving_tier_proceeds() -> None:
    world = World(f.tier(auto_approve=True, human_approval=False))
    assert world.verify()["outcome"] == "proceed"


def test_what_the_registry_says_wins_over_the_event() -> None:
    world = World(approval_status="PendingManualApproval")
    verdict = world.verify()
    assert verdict["outcome"] == "ignore"
    assert verdict["reasons"] == ["the event says Approved; the registry says PendingManualApproval"]
    assert world.audit.records == []
    assert world.evidence.read == []


def test_a_redelivered_approval_owned_by_another_execution_is_ignored() -> None:
    world = World()
    assert world.verify("execution-1")["outcome"] == "needs_human"
    again = world.verify("execution-2")
    assert again["outcome"] == "ignore"
    assert "redelivered" in again["reasons"][0]
    assert len(world.audit.records) == 1


def test_the_creator_cannot_approve_their_own_package() -> None:
    world = World(last_modified_by=f.CREATOR)
    verdict = world.verify()
    assert verdict["outcome"] == "reject"
    assert any("separation_of_duties" in reason for reason in verdict["reasons"]), verdict["reasons"]


def test_a_package_no_policy_group_covers_is_rejected() -> None:
    world = World(group="unknown-model", arn=ARN)
    verdict = world.verify()
    assert verdict["outcome"] == "reject"
    assert verdict["reasons"] == ["no policy group matches model package group 'unknown-model'"]
    assert world.reports.documents == {}
    assert world.audit.records[0]["evidence"]["decision"] == "needs_human"


def test_a_missing_metrics_report_fails_the_metrics_gate() -> None:
    evidence = _evidence()
    del evidence.reports[f.candidate().model_metrics["model_quality_statistics"]]
    world = World(evidence=evidence)
    verdict = world.verify()
    assert verdict["outcome"] == "reject"
    assert verdict["reasons"] == [
        "metrics: no evaluation report (ModelQuality statistics)",
        "regression: candidate's evaluation report has no binary_classification_metrics.auc.value",
    ]


def test_only_the_evidence_of_enabled_gates_is_read() -> None:
    lean = f.tier(
        {
            "metrics": {"enabled": False},
            "regression": None,
            "bias": {"enabled": False},
            "explainability": {"enabled": False},
            "artifact_integrity": {"enabled": False},
        }
    )
    world = World(lean)
    candidate, modified = world.registry.candidate(ARN)
    evaluate_candidate(candidate, modified, approver=f.APPROVER, event_id=None, deps=world.deps.gating)
    assert world.evidence.read == []


def test_a_deployment_recheck_reads_the_policy_fresh() -> None:
    world = World()
    candidate, modified = world.registry.candidate(ARN)
    evaluate_candidate(
        candidate, modified, approver=f.APPROVER, event_id=None, deps=world.deps.gating, fresh_policy=True
    )
    assert world.policies.fresh_reads == 1


@pytest.mark.parametrize(("auto", "expected_status"), [(True, "Approved"), (False, None)])
def test_registration_auto_approves_only_when_the_tier_says_so(
    auto: bool, expected_status: str | None
) -> None:
    world = World(
        f.tier(auto_approve=auto, human_approval=not auto),
        approval_status="PendingManualApproval",
        last_modified_by=f.CREATOR,
    )
    outcome = handle_package_status(_event("pending-manual-approval.json"), world.deps)
    statuses = [status for _, status, _ in world.registry.statuses]
    assert statuses == ([expected_status] if expected_status else [])
    if auto:
        assert outcome["outcome"] == "approve"
    else:
        assert outcome["outcome"] == "needs_human"
        [(subject, message)] = world.notifier.sent
        assert "needs an approver" in subject
        assert message["model_package_arn"] == ARN
        assert world.audit.actions() == ["gates.evaluated", "approval.requested"]
