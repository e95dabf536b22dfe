"""Faults on the guardrails lane (a single-variant endpoint, SageMaker's canary): throttling, 5xx and
timeouts injected at each AWS call of the deployment workflow and the endpoint event handlers; within
budget the deployment goes through, beyond it the Catch compensates (see ``faults.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Profile
from .faults import GUARDRAILS, FaultBench, call_sites, fault_matrix

pytestmark = pytest.mark.reliability_property("faults")


def test_faults_within_budget_are_retried_and_beyond_it_compensated(
    bench: FaultBench, profile: Profile, figure: Callable[..., None]
) -> None:
    sites = call_sites(bench)
    assert {s.target for s in sites if s.caller == "states"} >= {
        "VerifyApprovalFunction",
        "DeployModelFunction",
    }
    assert any(s.operation == "UpdateEndpoint" for s in sites)
    if not profile.full:  # quick: one site per phase
        wanted = {
            ("DeployModelFunction", "UpdateEndpoint"),
            ("AppendAuditFunction", "TransactWriteItems"),
            ("states", "Invoke"),
        }
        picked = {(s.caller, s.operation): s for s in reversed(sites) if (s.caller, s.operation) in wanted}
        sites = list(picked.values())
    failures = fault_matrix(bench, sites, GUARDRAILS, figure)
    assert not failures, "\n".join(failures)
