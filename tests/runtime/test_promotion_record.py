"""A stage's record for the promotion decision, read from the audit trail as the deployment writes it
(ADR 27): the package's last promotion on the stage's endpoint stream and any rollback there."""

from __future__ import annotations

from datetime import datetime, timedelta

from mlcp.accounts import account_stream
from mlcp.audit import AuditAction
from mlcp.policy.model import Policy
from mlcp.promotion import promotion_refusal, stage_record

from .conftest import Stores

HOME, STAGING, PROD = "123456789012", "222222222222", "333333333333"
PACKAGE = f"arn:aws:sagemaker:us-east-1:{HOME}:model-package/churn/3"
STREAM = account_stream("endpoint#churn", STAGING, HOME)
POLICY = Policy.model_validate(
    {
        "tiers": {"medium": {}, "high": {}},
        "groups": [
            {
                "match": "churn",
                "tier": "medium",
                "promotion": [
                    {
                        "stage": "staging",
                        "account": STAGING,
                        "endpoint": "churn",
                        "tier": "medium",
                        "soak_minutes": 60,
                    },
                    {"stage": "prod", "account": PROD, "endpoint": "churn", "tier": "high"},
                ],
            }
        ],
    }
)


def _deployment(stores: Stores, action: AuditAction, package: str, execution: str) -> datetime:
    result = stores.audit.append(
        stream=STREAM,
        action=action,
        actor="mlcp",
        subject=package,
        evidence={"endpoint": "churn", "model_package_arn": package, "execution": execution},
        decision_id=f"{action.value}:{execution}",
    )
    return datetime.fromisoformat(result.record.at.replace("Z", "+00:00"))


def test_prod_waits_for_the_soak_of_the_version_promoted_in_staging(stores: Stores) -> None:
    _deployment(stores, AuditAction.DEPLOYMENT_PROMOTED, PACKAGE.replace("/3", "/2"), "e1")  # another version
    promoted = _deployment(stores, AuditAction.DEPLOYMENT_PROMOTED, PACKAGE, "e2")
    rule = POLICY.rule_for("churn")
    assert rule is not None

    record = stage_record(stores.audit.read(STREAM), PACKAGE, open_incidents=0)
    assert record.promoted_at == promoted
    assert promotion_refusal(rule, "prod", record, version=3, now=promoted + timedelta(minutes=59)) == (
        f"version 3 has soaked 59 of 60 minutes in staging ({STAGING}/churn)"
    )
    assert promotion_refusal(rule, "prod", record, version=3, now=promoted + timedelta(minutes=60)) is None

    with_incident = stage_record(stores.audit.read(STREAM), PACKAGE, open_incidents=1)
    assert promotion_refusal(rule, "prod", with_incident, version=3, now=promoted + timedelta(days=1)) == (
        f"staging ({STAGING}/churn) has 1 open incident(s)"
    )


def test_a_rollback_in_staging_blocks_prod_even_after_a_later_promotion(stores: Stores) -> None:
    _deployment(stores, AuditAction.DEPLOYMENT_ROLLED_BACK, PACKAGE, "e1")
    promoted = _deployment(stores, AuditAction.DEPLOYMENT_PROMOTED, PACKAGE, "e2")
    rule = POLICY.rule_for("churn")
    assert rule is not None

    record = stage_record(stores.audit.read(STREAM), PACKAGE, open_incidents=0)
    assert record.rolled_back_at is not None
    refusal = promotion_refusal(rule, "prod", record, version=3, now=promoted + timedelta(days=1))
    assert refusal is not None
    assert refusal.startswith("version 3 was rolled back in staging")


def test_a_manual_rollback_from_the_versions_config_counts_as_its_rollback(stores: Stores) -> None:
    """`mlcp rollback` names the endpoint and the config it left, not the package: the version whose
    config was left is the one rolled back; leaving another version's config is not its rollback."""
    _deployment(stores, AuditAction.DEPLOYMENT_PROMOTED, PACKAGE, "e1")

    def rolled_back(from_config: str, key: str) -> None:
        stores.audit.append(
            stream=STREAM,
            action=AuditAction.DEPLOYMENT_ROLLED_BACK,
            actor="arn:aws:sts::123456789012:assumed-role/MlOnCall/alice",
            subject=f"endpoint/{STAGING}:churn",
            evidence={
                "manual": True,
                "to_version": "2",
                "to_config": "churn-churn-v2",
                "from_config": from_config,
            },
            decision_id=f"deployment.rolled_back:manual:{key}",
        )

    rolled_back("churn-churn-v4", "a")  # another version's config
    record = stage_record(stores.audit.read(STREAM), PACKAGE, open_incidents=0, config_name="churn-churn-v3")
    assert record.rolled_back_at is None
    rolled_back("churn-churn-v3", "b")
    record = stage_record(stores.audit.read(STREAM), PACKAGE, open_incidents=0, config_name="churn-churn-v3")
    assert record.rolled_back_at is not None
    # Without the config name (older callers) only records naming the package count.
    assert stage_record(stores.audit.read(STREAM), PACKAGE, open_incidents=0).rolled_back_at is None
