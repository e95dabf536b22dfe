"""Faults on the managed lane (an A/B endpoint, the workflow's own weight shift, ADR 9): within budget
the shift goes through, beyond it ShiftFailed -> RollBackShift compensates (see ``faults.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Profile
from .faults import MANAGED, SHIFT_STEP, FaultBench, Site, call_sites, fault_matrix

pytestmark = pytest.mark.reliability_property("faults")


def test_managed_shift_faults_within_budget_are_retried_and_beyond_it_compensated(
    bench: FaultBench, profile: Profile, figure: Callable[..., None]
) -> None:
    """The managed lane: a weight shift on the A/B endpoint (10 % bake, 100 %, promote), run by the
    workflow's ShiftTraffic / CheckAlarms / PromoteShift tasks under the lease. Beyond budget a shift
    task's Catch runs ShiftFailed -> RollBackShift: weights back, the candidate's variant removed,
    ``deployment.rolled_back`` audited, an incident opened and the lease released."""
    sites = call_sites(bench, MANAGED)
    shift = [s for s in sites if SHIFT_STEP in {s.caller, s.target}]
    assert Site("states", "lambda", "Invoke", SHIFT_STEP) in shift
    assert {s.operation for s in shift} >= {"UpdateEndpointWeightsAndCapacities", "UpdateEndpoint"}
    if profile.full:
        # Every call of the shift task: the lane's other sites (approval, lease, audit, DeployModel)
        # are the guardrails lane's, faulted there; faulting them again here grew the one control
        # plane past 17 GB in a full run.
        sites = shift
    else:  # quick: the shift task's Invoke, its weight update and its promotion
        wanted = {
            Site(SHIFT_STEP, "sagemaker", "UpdateEndpointWeightsAndCapacities"),
            Site(SHIFT_STEP, "sagemaker", "UpdateEndpoint"),
            Site("states", "lambda", "Invoke", SHIFT_STEP),
        }
        sites = [s for s in sites if s in wanted]
    failures = fault_matrix(bench, sites, MANAGED, figure)
    assert not failures, "\n".join(failures)
