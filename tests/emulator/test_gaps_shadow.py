"""Gap fill y (SageMaker shadow variants): moto drops ``ShadowProductionVariants``; the fill keeps
them on the config, refuses what AWS refuses, and DescribeEndpoint shows the shadow of the config
the endpoint serves (added and removed by UpdateEndpoint, on the virtual clock)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp_cli.emulator.gaps import FunctionRegistry, GapFills, install_gap_fills

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
PRODUCTION = {
    "VariantName": "AllTraffic",
    "ModelName": "churn-v1",
    "InstanceType": "ml.m5.large",
    "InitialInstanceCount": 2,
}
SHADOW = {
    "VariantName": "shadow-v2",
    "ModelName": "churn-v2",
    "InstanceType": "ml.m5.large",
    "InitialInstanceCount": 1,
    "InitialVariantWeight": 0.2,
}


@pytest.fixture
def fills(raw_moto: None) -> Iterator[GapFills]:
    handle = install_gap_fills(FunctionRegistry())
    yield handle
    handle.uninstall()


def _models(sagemaker: Any) -> None:
    for name in ("churn-v1", "churn-v2"):
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"},
        )


def test_raw_moto_drops_the_shadow_variants(raw_moto: None) -> None:
    sagemaker = boto3.client("sagemaker")
    _models(sagemaker)
    sagemaker.create_endpoint_config(
        EndpointConfigName="churn-shadow", ProductionVariants=[PRODUCTION], ShadowProductionVariants=[SHADOW]
    )
    assert "ShadowProductionVariants" not in sagemaker.describe_endpoint_config(
        EndpointConfigName="churn-shadow"
    )


def test_the_shadow_is_kept_shown_while_served_and_removed_by_an_update(fills: GapFills) -> None:
    sagemaker = boto3.client("sagemaker")
    _models(sagemaker)
    sagemaker.create_endpoint_config(EndpointConfigName="churn-v1", ProductionVariants=[PRODUCTION])
    sagemaker.create_endpoint_config(
        EndpointConfigName="churn-shadow", ProductionVariants=[PRODUCTION], ShadowProductionVariants=[SHADOW]
    )
    config = sagemaker.describe_endpoint_config(EndpointConfigName="churn-shadow")
    assert [v["VariantName"] for v in config["ShadowProductionVariants"]] == ["shadow-v2"]
    sagemaker.create_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v1")
    assert "ShadowProductionVariants" not in sagemaker.describe_endpoint(EndpointName="churn-prod")

    sagemaker.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-shadow")
    updating = sagemaker.describe_endpoint(EndpointName="churn-prod")
    assert updating["EndpointStatus"] == "Updating"
    assert "ShadowProductionVariants" not in updating  # not until the update completes
    assert fills.wait_endpoint_deployments()
    shadowed = sagemaker.describe_endpoint(EndpointName="churn-prod")
    assert shadowed["EndpointStatus"] == "InService"
    assert [v["VariantName"] for v in shadowed["ProductionVariants"]] == ["AllTraffic"]
    assert shadowed["ShadowProductionVariants"] == [
        {
            "VariantName": "shadow-v2",
            "CurrentWeight": 0.2,
            "DesiredWeight": 0.2,
            "CurrentInstanceCount": 1,
            "DesiredInstanceCount": 1,
        }
    ]

    sagemaker.update_endpoint(EndpointName="churn-prod", EndpointConfigName="churn-v1")
    assert fills.wait_endpoint_deployments()
    assert "ShadowProductionVariants" not in sagemaker.describe_endpoint(EndpointName="churn-prod")


@pytest.mark.parametrize(
    ("production", "shadows", "message"),
    [
        ([PRODUCTION], [SHADOW, {**SHADOW, "VariantName": "shadow-b"}], "a maximum of one shadow variant"),
        ([PRODUCTION, {**PRODUCTION, "VariantName": "B"}], [SHADOW], "at most one production variant"),
        (
            [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "churn-v1",
                    "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
                }
            ],
            [SHADOW],
            "not supported with serverless inference",
        ),
        ([PRODUCTION], [{**SHADOW, "VariantName": "AllTraffic"}], "variant names must be unique"),
    ],
    ids=["two-shadows", "two-production", "serverless", "same-name"],
)
def test_what_aws_refuses_is_refused_and_nothing_is_created(
    fills: GapFills, production: list[dict[str, Any]], shadows: list[dict[str, Any]], message: str
) -> None:
    sagemaker = boto3.client("sagemaker")
    _models(sagemaker)
    with pytest.raises(ClientError) as refused:
        sagemaker.create_endpoint_config(
            EndpointConfigName="churn-shadow", ProductionVariants=production, ShadowProductionVariants=shadows
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert message in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint_config(EndpointConfigName="churn-shadow")
