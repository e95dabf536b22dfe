"""A promotion's human approval is its own (ADR 36): the same registry approval deployed to staging
then promoted to prod asks one named approval per stage, never reusing staging's decided one (its id
would already be decided, and prod's workflow would wait on a token nobody can answer)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gates import factories as f
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.policy.model import Policy
from mlcp.usecases.approval import ApprovalDeps
from mlcp.usecases.gating import GatingDeps, approval_id_for
from mlcp.usecases.verification import verify_approval

from .fakes import (
    FakeAudit,
    FakeNotifier,
    FakePolicies,
    FakeRegistry,
    FakeReports,
    FakeState,
    FakeTaskCallbacks,
)
from .test_approval_decisions import ARN, _event, _evidence

STAGING, PROD = "222222222222", "333333333333"


@dataclass
class StageState(FakeState):
    """``FakeState`` with the once-per-(package, stage) claim of a promotion."""

    def claim_stage_promotion(self, model_package_arn: str, stage: str, execution: str) -> bool:
        owner = self.claims.setdefault((model_package_arn, f"stage:{stage}"), execution)
        return owner == execution


class StageAudit(FakeAudit):
    def read(self, stream: str) -> list[Any]:
        return []


def _deps() -> tuple[ApprovalDeps, StageState]:
    registry = FakeRegistry()
    registry.add(f.candidate(approval_status="Approved", last_modified_by=f.APPROVER))
    high = f.tier().model_dump()
    policy = Policy.model_validate(
        {
            "tiers": {"high": high},
            "groups": [
                {
                    "match": "fraud-*",
                    "tier": "high",
                    "promotion": [
                        {"stage": "staging", "account": STAGING, "endpoint": "fraud", "tier": "high"},
                        {"stage": "prod", "account": PROD, "endpoint": "fraud", "tier": "high"},
                    ],
                }
            ],
        }
    )
    gating = GatingDeps(
        registry=registry,
        policies=FakePolicies(policy),
        reports=FakeReports(),
        audit=StageAudit(),  # type: ignore[arg-type]
        evidence=_evidence(),
        clock=lambda: f.NOW,
    )
    state = StageState()
    deps = ApprovalDeps(gating=gating, state=state, callbacks=FakeTaskCallbacks(), notifier=FakeNotifier())  # type: ignore[arg-type]
    return deps, state


def test_each_stage_asks_its_own_named_approval() -> None:
    deps, _ = _deps()
    event: ModelPackageStateChangeEvent = _event("approved.json")
    first = verify_approval(event, execution="e-1", deps=deps)
    staging = verify_approval(event, execution="e-2", deps=deps, stage="staging", open_incidents=lambda _: 0)
    prod = verify_approval(event, execution="e-3", deps=deps, stage="prod", open_incidents=lambda _: 0)

    assert (first["outcome"], first["account"], first["stage"]) == ("needs_human", STAGING, "staging")
    assert staging["outcome"] == "needs_human"
    modified: Any = json.loads(json.dumps(first["package"]))["last_modified_time"]
    assert first["approval_id"] == approval_id_for(ARN, modified)  # unchanged outside a promotion
    assert staging["approval_id"] == approval_id_for(ARN, modified, "staging", "e-2")
    assert prod["approval_id"] == approval_id_for(ARN, modified, "prod", "e-3")
    assert len({first["approval_id"], staging["approval_id"], prod["approval_id"]}) == 3


def test_the_pending_approval_says_where_the_deployment_goes() -> None:
    from mlcp.usecases.approval_records import request_human_approval

    deps, state = _deps()
    staging = verify_approval(
        _event("approved.json"), execution="e-1", deps=deps, stage="staging", open_incidents=lambda _: 0
    )
    request = {
        "task_token": "token-1",
        "approval_id": staging["approval_id"],
        "package": staging["package"],
        "tier": staging["tier"],
        "reasons": staging["reasons"],
        "report_uri": staging["report_uri"],
        "timeout_seconds": 3600,
        "execution": "e-1",
        "approvers": [],
        "account": staging["account"],
        "stage": staging["stage"],
    }
    request_human_approval(request, deps=deps)
    [(approval, token)] = state.pending.values()
    assert (approval.stage, approval.account, token) == ("staging", STAGING, "token-1")
