"""Clients per account (ADR 26): home uses the function's own clients, a member the assumed deployment
role, assumed once per execution environment and renewed before it expires."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from mlcp.accounts import AccountScope
from mlcp.adapters import clients
from mlcp.adapters.accounts import AccountClients, AccountNotGoverned

from .conftest import REGION, offline_aws_environment

HOME, STAGING, STRANGER = "123456789012", "222222222222", "999999999999"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    offline_aws_environment(monkeypatch)
    with mock_aws():
        clients.reset()
        from moto.iam.models import iam_backends

        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": HOME}, "Action": "sts:AssumeRole"}],
        }
        iam_backends[STAGING]["aws"].create_role(
            "mlcp-member-deployment", json.dumps(trust), "/", None, "", [], "3600"
        )
        yield
        clients.reset()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _clients(clock: Clock) -> AccountClients:
    return AccountClients(
        AccountScope.parse(HOME, STAGING),
        role_name="mlcp-member-deployment",
        external_id="mlcp-governance-0001",
        function="deploy-model",
        sts=boto3.client("sts", region_name=REGION),
        now=clock,
    )


def test_a_member_client_acts_in_the_member_account_as_the_assumed_role(aws: None) -> None:
    accounts = _clients(Clock())
    member = accounts.sagemaker(STAGING)
    member.create_model_package_group(ModelPackageGroupName="churn")

    groups = member.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupArn"] for g in groups] == [
        f"arn:aws:sagemaker:{REGION}:{STAGING}:model-package-group/churn"
    ]
    home = boto3.client("sagemaker", region_name=REGION).list_model_package_groups()
    assert home["ModelPackageGroupSummaryList"] == []


def test_home_uses_the_functions_own_client_and_assumes_nothing(aws: None) -> None:
    accounts = _clients(Clock())
    assert accounts.sagemaker(HOME) is clients.sagemaker()
    assert accounts.cloudwatch(HOME) is clients.cloudwatch()
    assert accounts.assumed == 0


def test_one_assume_role_per_account_until_it_is_about_to_expire(aws: None) -> None:
    clock = Clock()
    accounts = _clients(clock)
    first = accounts.sagemaker(STAGING)
    assert accounts.sagemaker(STAGING) is first
    accounts.cloudwatch(STAGING)
    assert accounts.assumed == 1
    clock.now += timedelta(minutes=56)  # less than five minutes left of the hour
    assert accounts.sagemaker(STAGING) is not first
    assert accounts.assumed == 2


def test_an_account_that_is_not_a_member_gets_no_client(aws: None) -> None:
    with pytest.raises(AccountNotGoverned, match=STRANGER):
        _clients(Clock()).sagemaker(STRANGER)
