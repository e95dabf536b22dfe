"""`mlcp promote-stage`'s pure parts: the execution name Step Functions accepts, the workflow input
(the registry's account, the promotion's stage), and what the operator reads."""

from __future__ import annotations

import re

from mlcp.events import ModelPackageStateChangeEvent
from mlcp_cli.commands.promote_stage import PromotionDecision, execution_name, promotion_input, render

ARN = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/promo-churn/3"


def test_an_execution_name_is_valid_unique_and_readable_even_for_a_long_group() -> None:
    long_group = "g" * 63 + ".x"
    names = {execution_name(long_group, 12, "prod") for _ in range(3)}
    assert len(names) == 3
    for name in names:
        assert len(name) <= 80
        assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
        assert name.startswith("promote-prod-ggg")
        assert re.search(r"-v12-[0-9a-f]{8}$", name)


def test_the_input_is_the_registrys_event_for_the_package_plus_the_stage() -> None:
    described = {
        "ModelPackageArn": ARN,
        "ModelPackageGroupName": "promo-churn",
        "ModelPackageVersion": 3,
        "ModelApprovalStatus": "Approved",
    }
    document = promotion_input(described, "prod", now="2026-03-02T10:00:00Z")
    assert (document["account"], document["region"], document["resources"]) == (
        "111111111111",
        "eu-west-1",
        [ARN],
    )
    assert document["promotion"] == {"stage": "prod"}
    # What verify-approval parses once the promotion key is taken out (ADR 26: account = the package's).
    event = ModelPackageStateChangeEvent.model_validate(
        {k: v for k, v in document.items() if k != "promotion"}
    )
    assert (event.model_package_arn, event.approval_status) == (ARN, "Approved")


def test_the_operator_reads_the_decision_first_then_why() -> None:
    refused = PromotionDecision(
        "promo-churn", 3, "prod", ARN, "arn:exec", "arn:aws:iam::111111111111:user/alice", "refused",
        ["version 3 has soaked 10 of 60 minutes in staging (222222222222/mlcp-promo)"],
    )  # fmt: skip
    assert render(refused).splitlines() == [
        "promo-churn v3 -> prod: refused",
        "  version 3 has soaked 10 of 60 minutes in staging (222222222222/mlcp-promo)",
        "  requested by arn:aws:iam::111111111111:user/alice; execution arn:exec",
    ]
    allowed = PromotionDecision(
        "promo-churn",
        3,
        "prod",
        ARN,
        "arn:exec",
        "alice",
        "allowed",
        [],
        "333333333333",
        "mlcp-promo",
        "needs_human",
    )
    assert render(allowed).splitlines()[1:3] == [
        "  into 333333333333/mlcp-promo: the deployment waits for an approver (mlcp approvals list)",
        "  follow: mlcp audit show --stream endpoint#mlcp-promo --account 333333333333",
    ]
