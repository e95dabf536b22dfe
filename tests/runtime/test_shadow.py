"""The shadow phase's use case (ADR 25) on moto: what SageMaker cannot shadow is refused or skipped
(audited, never a silent pass), nothing is created for a package the registry no longer approves,
and after the wait ``end_shadow`` re-reads the endpoint and the registry before deciding."""

from __future__ import annotations

from typing import Any

import pytest

from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.audit import AuditAction
from mlcp.errors import DeploymentNotSupported
from mlcp.usecases.shadow import ShadowDeps, end_shadow, shadow_config_name, start_shadow

from .conftest import Stores

ROLE = "arn:aws:iam::123456789012:role/sagemaker-model"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:mlcp-dev-deployment:run-1"
PACKAGE = {
    "arn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/scoring/2",
    "group": "scoring",
    "version": 2,
}
SHADOW = {"duration_minutes": 30, "sample_percent": 20, "metrics": [{"metric": "ModelLatency"}]}


class Registry:
    """The registry's answer to "is it still approved?" (a fake: what the test says it is)."""

    def __init__(self, status: str = "Approved") -> None:
        self.status = status

    def approval_status(self, model_package_arn: str) -> str:
        return self.status


def _deps(stores: Stores, status: str = "Approved") -> ShadowDeps:
    return ShadowDeps(
        hosting=SageMakerHosting(stores.sagemaker),
        registry=Registry(status),
        audit=stores.audit,
        model_role_arn=ROLE,
    )


def _endpoint(stores: Stores, variants: list[dict[str, Any]], config: str = "scoring-prod-v1") -> None:
    stores.sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i"})
    stores.sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=variants)
    stores.sagemaker.create_endpoint(EndpointName="scoring-prod", EndpointConfigName=config)


INSTANCES = {"ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
SERVERLESS = {"ModelName": "m", "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}


def _actions(stores: Stores) -> list[str]:
    return [record.action.value for record in stores.audit.read("endpoint#scoring-prod")]


def test_a_serverless_endpoint_is_refused_by_default_and_left_alone(stores: Stores) -> None:
    _endpoint(stores, [{"VariantName": "AllTraffic", **SERVERLESS}])
    result = start_shadow(
        PACKAGE, "scoring-prod", {"shadow": SHADOW}, execution=EXECUTION, deps=_deps(stores)
    )
    assert result["mode"] == "refused"
    assert "serverless" in result["reasons"][0]
    assert _actions(stores) == [AuditAction.DEPLOYMENT_REFUSED.value]
    assert (
        stores.sagemaker.describe_endpoint(EndpointName="scoring-prod")["EndpointConfigName"]
        == "scoring-prod-v1"
    )
    assert [m["ModelName"] for m in stores.sagemaker.list_models()["Models"]] == ["m"]


def test_several_production_variants_are_skipped_when_the_tier_says_so(stores: Stores) -> None:
    _endpoint(stores, [{"VariantName": "blue", **INSTANCES}, {"VariantName": "green", **INSTANCES}])
    settings = {"shadow": {**SHADOW, "unsupported": "skip"}}
    result = start_shadow(PACKAGE, "scoring-prod", settings, execution=EXECUTION, deps=_deps(stores))
    assert result["mode"] == "skipped"
    assert "at most one production variant" in result["reasons"][0]
    (record,) = stores.audit.read("endpoint#scoring-prod")
    assert record.action == AuditAction.ANALYSIS_COMPLETED
    assert record.evidence["verdict"] == "not_applicable"
    assert record.evidence["phase"] == "shadow"


@pytest.mark.parametrize(
    ("status", "reason"), [("Rejected", "registry status Rejected"), (None, "first deployment")]
)
def test_nothing_is_created_without_production_or_without_an_approval(
    stores: Stores, status: str | None, reason: str
) -> None:
    if status is not None:
        _endpoint(stores, [{"VariantName": "AllTraffic", **INSTANCES}])
    deps = _deps(stores, status or "Approved")
    result = start_shadow(PACKAGE, "scoring-prod", {"shadow": SHADOW}, execution=EXECUTION, deps=deps)
    assert result["mode"] == "skipped"
    assert result["reasons"] == [reason]
    with pytest.raises(Exception, match="Could not find"):
        stores.sagemaker.describe_endpoint_config(
            EndpointConfigName=shadow_config_name(PACKAGE, "scoring-prod")
        )


SHADOW_RESULT = {"config": "scoring-prod-scoring-v2-shadow", "baseline_config": "scoring-prod-v1"}
FAIL = {
    "verdict": "fail",
    "score": 50.0,
    "roll_back": True,
    "report_uri": "s3://r/a.json",
    "reason": "shadow analysis: fail",
}


@pytest.mark.parametrize(
    ("status", "verdict", "decision"),
    [
        ("Approved", FAIL, "reject"),
        ("Approved", {**FAIL, "verdict": "pass", "roll_back": False, "reason": None}, "proceed"),
        ("Rejected", FAIL, "stale"),
        ("Approved", {"verdict": "error", "roll_back": True}, "abandon"),
    ],
    ids=["fail-rejects", "pass-proceeds", "no-longer-approved", "no-verdict"],
)
def test_the_end_re_reads_the_registry_before_deciding(
    stores: Stores, status: str, verdict: dict[str, Any], decision: str
) -> None:
    _endpoint(stores, [{"VariantName": "AllTraffic", **INSTANCES}])  # already back on the baseline (a retry)
    ended = end_shadow(
        PACKAGE, "scoring-prod", SHADOW_RESULT, verdict, execution=EXECUTION, deps=_deps(stores, status)
    )
    assert (ended["decision"], ended["restore"]) == (decision, "restored")
    (record,) = stores.audit.read("endpoint#scoring-prod")
    assert (record.action, record.evidence["decision"]) == (AuditAction.SHADOW_ENDED, decision)
    if decision == "reject":
        assert ended["reasons"] == ["shadow analysis: fail"]
        assert ended["report_uri"] == "s3://r/a.json"


def test_an_endpoint_changed_during_the_shadow_is_left_alone(stores: Stores) -> None:
    _endpoint(stores, [{"VariantName": "AllTraffic", **INSTANCES}], config="someone-elses-config")
    with pytest.raises(DeploymentNotSupported, match="changed during the shadow test"):
        end_shadow(PACKAGE, "scoring-prod", SHADOW_RESULT, FAIL, execution=EXECUTION, deps=_deps(stores))
    assert stores.audit.read("endpoint#scoring-prod") == []
    assert (
        stores.sagemaker.describe_endpoint(EndpointName="scoring-prod")["EndpointConfigName"]
        == "someone-elses-config"
    )
