"""Deploying into a member account (issue 20, ADR 26): the deployment tasks act through the member's
assumed deployment role, the model runs with the member's model role, the lease and the audit stream
are keyed with the account, and the home account's deployments are unchanged."""

from __future__ import annotations

import json

import boto3
import pytest

from mlcp.adapters import clients
from mlcp.adapters.accounts import AccountNotGoverned
from mlcp.audit import AuditAction
from mlcp.entrypoint import DeploymentsByAccount, Runtime
from mlcp.usecases.deployment import acquire_lease
from mlcp.usecases.deployment_start import start_deployment
from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills
from mlcp_cli.seeding import PackageSpec, register_package

from .conftest import REGION, Stores

HOME, STAGING, PROD, STRANGER = "123456789012", "222222222222", "333333333333", "999999999999"
ENDPOINT = "mlcp-churn"


@pytest.fixture
def deployments(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> DeploymentsByAccount:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName="state",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name, value in {
        "MLCP_AUDIT_TABLE": "audit",
        "MLCP_IDEMPOTENCY_TABLE": "idempotency",
        "MLCP_REJECTED_EVENTS_QUEUE_URL": stores.queue_url,
        "MLCP_HOME_ACCOUNT": HOME,
        "MLCP_MEMBER_ACCOUNTS": f"{STAGING},{PROD}",
        "MLCP_STATE_TABLE": "state",
        "MLCP_MODEL_ROLE_ARN": f"arn:aws:iam::{HOME}:role/mlcp-model",
        "MLCP_MEMBER_ROLE_NAME": "mlcp-member-deployment",
        "MLCP_MEMBER_EXTERNAL_ID": "mlcp-governance-0001",
    }.items():
        monkeypatch.setenv(name, value)
    from moto.iam.models import iam_backends

    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": HOME}, "Action": "sts:AssumeRole"}],
    }
    # member.yaml's statement for the governance registry's shared packages (fill af checks it).
    shared = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sagemaker:DescribeModelPackage",
                "Resource": f"arn:aws:sagemaker:{REGION}:{HOME}:model-package/*",
            }
        ],
    }
    for account in (STAGING, PROD):
        iam_backends[account]["aws"].create_role(
            "mlcp-member-deployment", json.dumps(trust), "/", None, "", [], "3600"
        )
        iam_backends[account]["aws"].put_role_policy("mlcp-member-deployment", "shared", json.dumps(shared))
    clients.reset()
    return DeploymentsByAccount(Runtime("deploy-model"), opens_incidents=False)


def _package(stores: Stores) -> dict[str, object]:
    arn = register_package(stores.s3, stores.sagemaker, PackageSpec(group="churn-model"))
    return {"arn": arn, "group": "churn-model", "version": int(arn.rsplit("/", 1)[1])}


def _sagemaker(account: str) -> object:
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account][REGION]


def test_a_deployment_into_staging_creates_its_resources_there_as_the_assumed_role(
    stores: Stores, deployments: DeploymentsByAccount
) -> None:
    package = _package(stores)
    deps = deployments(STAGING)

    with install_gap_fills(FunctionRegistry()):  # fill af: group policies, shared packages
        result = start_deployment(package, ENDPOINT, {}, deps=deps)
        policy = stores.sagemaker.get_model_package_group_policy(ModelPackageGroupName="churn-model")
    [shared] = json.loads(policy["ResourcePolicy"])["Statement"]
    assert shared["Principal"] == {"AWS": f"arn:aws:iam::{STAGING}:role/mlcp-member-deployment"}

    assert result["mode"] == "create"
    staging = _sagemaker(STAGING)
    [model] = staging._models.values()  # type: ignore[attr-defined]
    # Named after the endpoint: the member role may create only EndpointNamePrefix* resources.
    assert model.model_name == result["model_name"] == result["target_config"]
    assert model.model_name.startswith(ENDPOINT)
    assert model.execution_role_arn == f"arn:aws:iam::{STAGING}:role/mlcp-member-model"
    assert model.primary_container["ModelPackageName"] == package["arn"]  # the governance registry's
    assert ENDPOINT in staging.endpoints  # type: ignore[attr-defined]
    assert _sagemaker(HOME).endpoints == {}  # type: ignore[attr-defined]
    assert deployments._clients is not None
    assert deployments._clients.assumed == 1
    # The trail keys the stream with the account; the home stream of the same name is untouched.
    [started] = stores.audit.read(f"endpoint#{STAGING}:{ENDPOINT}")
    assert started.action == AuditAction.DEPLOYMENT_STARTED
    assert stores.audit.read(f"endpoint#{ENDPOINT}") == []
    # One AssumeRole per account and execution environment.
    assert deployments(STAGING) is deps
    assert deployments._clients.assumed == 1


def test_leases_are_per_account_and_endpoint(stores: Stores, deployments: DeploymentsByAccount) -> None:
    package_arn = str(_package(stores)["arn"])
    staging, prod, home = deployments.keyed(STAGING), deployments.keyed(PROD), deployments.keyed(None)

    assert acquire_lease(ENDPOINT, "exec-staging", 600, package_arn=package_arn, deps=staging)["acquired"]
    # Prod's and home's endpoint of the same name are other endpoints: their leases are free.
    assert acquire_lease(ENDPOINT, "exec-prod", 600, package_arn=package_arn, deps=prod)["acquired"]
    assert acquire_lease(ENDPOINT, "exec-home", 600, package_arn=package_arn, deps=home)["acquired"]
    queued = acquire_lease(ENDPOINT, "exec-staging-2", 600, package_arn=package_arn, deps=staging)
    assert queued["acquired"] is False
    assert home.key(ENDPOINT) == ENDPOINT
    assert staging.key(ENDPOINT) == f"{STAGING}:{ENDPOINT}"


def test_an_account_the_control_plane_does_not_govern_is_refused(deployments: DeploymentsByAccount) -> None:
    with pytest.raises(AccountNotGoverned):
        deployments(STRANGER)
    with pytest.raises(AccountNotGoverned):
        deployments.keyed(STRANGER)
