"""start_deployment under the lease: an older version of a group never replaces a newer champion."""

from __future__ import annotations

from typing import Any

from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditAction
from mlcp.usecases.deployment import DeploymentDeps
from mlcp.usecases.deployment_start import start_deployment
from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills
from mlcp_cli.seeding import PackageSpec, register_package

from .conftest import Stores

ENDPOINT = "churn-prod"
ROLE = "arn:aws:iam::123456789012:role/mlcp-model"


def _deps(stores: Stores) -> DeploymentDeps:
    return DeploymentDeps(
        hosting=SageMakerHosting(stores.sagemaker),
        state=ControlPlaneState("unused", client=None),  # start_deployment keeps no state
        audit=stores.audit,
        model_role_arn=ROLE,
    )


def _package(stores: Stores, group: str) -> dict[str, Any]:
    arn = register_package(stores.s3, stores.sagemaker, PackageSpec(group=group))
    version = int(arn.rsplit("/", 1)[1])
    return {"arn": arn, "group": group, "version": version}


def _models(stores: Stores) -> list[str]:
    return sorted(m["ModelName"] for m in stores.sagemaker.list_models()["Models"])


def test_an_older_version_of_the_champions_group_is_superseded(stores: Stores) -> None:
    deps = _deps(stores)
    v1, v2, v3 = (_package(stores, "churn-model") for _ in range(3))
    assert start_deployment(v3, ENDPOINT, {}, deps=deps)["mode"] == "create"
    models = _models(stores)

    result = start_deployment(v1, ENDPOINT, {}, deps=deps)
    again = start_deployment(v2, ENDPOINT, {}, deps=deps)

    assert (result["mode"], again["mode"]) == ("superseded", "superseded")
    assert result["champion"] == v3["arn"]
    assert _models(stores) == models  # no model, no config, no update
    endpoint = stores.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointConfigName"].endswith("churn-model-v3")
    ignored = [r for r in stores.audit.read(f"endpoint#{ENDPOINT}") if r.action == AuditAction.EVENT_IGNORED]
    assert [r.subject for r in ignored] == [v1["arn"], v2["arn"]]
    assert ignored[0].evidence["champion"] == v3["arn"]
    # A retry of the same task audits nothing new (decision id per package), and a superseded
    # approval never records deployment.started: only v3's deployment started.
    start_deployment(v1, ENDPOINT, {}, deps=deps)
    records = stores.audit.read(f"endpoint#{ENDPOINT}")
    assert [(r.action, r.subject) for r in records] == [
        (AuditAction.DEPLOYMENT_STARTED, v3["arn"]),
        (AuditAction.EVENT_IGNORED, v1["arn"]),
        (AuditAction.EVENT_IGNORED, v2["arn"]),
    ]


def test_a_newer_version_or_another_group_is_deployed(stores: Stores) -> None:
    deps = _deps(stores)
    v1, v2 = (_package(stores, "churn-model") for _ in range(2))
    other = _package(stores, "churn-other")
    start_deployment(v1, ENDPOINT, {}, deps=deps)

    with install_gap_fills(FunctionRegistry()) as fills:  # moto has no UpdateEndpoint
        assert start_deployment(v2, ENDPOINT, {}, deps=deps)["mode"] == "guardrails"
        assert fills.wait_endpoint_deployments()
        assert start_deployment(other, ENDPOINT, {}, deps=deps)["mode"] == "guardrails"
