"""The promotion path of a model package group (ADR 27): the policy's stages and the pure decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from mlcp.policy.model import Policy
from mlcp.promotion import StageRecord, promotion_refusal

STAGING, PROD = "222222222222", "333333333333"
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _policy(**overrides: Any) -> Policy:
    promotion = [
        {"stage": "staging", "account": STAGING, "endpoint": "churn", "tier": "medium", "soak_minutes": 120},
        {"stage": "prod", "account": PROD, "endpoint": "churn", "tier": "high"},
    ]
    group = {"match": "churn-*", "tier": "medium", "promotion": promotion, **overrides}
    return Policy.model_validate({"tiers": {"medium": {}, "high": {}}, "groups": [group]})


def _rule() -> Any:
    rule = _policy().rule_for("churn-model")
    assert rule is not None
    return rule


def _soaked(minutes: int, **changes: Any) -> StageRecord:
    record = {"promoted_at": NOW - timedelta(minutes=minutes), "rolled_back_at": None, "open_incidents": 0}
    return StageRecord(**{**record, **changes})


def test_the_first_stage_has_no_prerequisite() -> None:
    assert promotion_refusal(_rule(), "staging", None, version=3, now=NOW) is None


def test_prod_after_stagings_soak() -> None:
    assert promotion_refusal(_rule(), "prod", _soaked(120), version=3, now=NOW) is None


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (None, f"version 3 has not been promoted in staging ({STAGING}/churn)"),
        (_soaked(119), f"version 3 has soaked 119 of 120 minutes in staging ({STAGING}/churn)"),
        (_soaked(600, open_incidents=1), f"staging ({STAGING}/churn) has 1 open incident(s)"),
        (_soaked(600, rolled_back_at=NOW - timedelta(minutes=5)), "version 3 was rolled back in staging"),
        (_soaked(600, promoted_at=None), "version 3 has not been promoted in staging"),
    ],
    ids=["never-deployed", "soak-not-over", "open-incident", "rolled-back", "not-promoted"],
)
def test_prod_is_refused_until_staging_has_proven_itself(record: StageRecord | None, reason: str) -> None:
    refusal = promotion_refusal(_rule(), "prod", record, version=3, now=NOW)
    assert refusal is not None
    assert refusal.startswith(reason)


def test_an_unknown_stage_is_refused_with_the_known_ones() -> None:
    assert promotion_refusal(_rule(), "qa", None, version=1, now=NOW) == (
        "'qa' is not a stage of 'churn-*''s promotion path (stages: staging, prod)"
    )


@pytest.mark.parametrize(
    ("promotion", "message"),
    [
        (
            [{"stage": "prod", "account": PROD, "endpoint": "a", "tier": "nope"}],
            "promotion stage 'prod' names tier 'nope'",
        ),
        (
            [
                {"stage": "prod", "account": PROD, "endpoint": "a", "tier": "high"},
                {"stage": "prod", "account": STAGING, "endpoint": "b", "tier": "high"},
            ],
            "stage names repeat",
        ),
        (
            [
                {"stage": "staging", "account": PROD, "endpoint": "a", "tier": "high"},
                {"stage": "prod", "account": PROD, "endpoint": "a", "tier": "high"},
            ],
            "same endpoint of the same account",
        ),
        ([{"stage": "prod", "account": "12", "endpoint": "a", "tier": "high"}], "account"),
        ([{"stage": "prod", "account": PROD, "endpoint": "a", "tier": "high", "soak": 5}], "soak"),
    ],
    ids=["unknown-tier", "repeated-stage", "same-endpoint", "bad-account", "unknown-key"],
)
def test_a_malformed_promotion_path_is_refused(promotion: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _policy(promotion=promotion)
