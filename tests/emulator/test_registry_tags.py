"""``SageMakerModelRegistry.tags``: ``{}`` only when the ARN has no readable tags; transient errors raise.

Real ListTags on the emulator (the versioned-package-ARN fill), errors from the fault injector
(throttling / 5xx answered in moto's ``before-send`` hook, so botocore retries them as it would AWS's).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from mlcp.adapters.registry import SageMakerModelRegistry
from mlcp_cli.emulator.faults import FaultInjector, FaultRule
from mlcp_cli.emulator.gaps import GapFills

from .test_gaps import _model_package

BOTOCORE_ATTEMPTS = 6  # mlcp.adapters.clients: standard retry mode, max_attempts=5 retries


def _registry() -> tuple[SageMakerModelRegistry, Any]:
    """A fresh client with the handlers' retry settings (a fresh retry quota for each test)."""
    sagemaker = boto3.client("sagemaker", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    return SageMakerModelRegistry(sagemaker), sagemaker


def test_tags_of_a_tagged_versioned_package(fills: GapFills) -> None:
    registry, sagemaker = _registry()
    arn = _model_package(sagemaker)
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "cost_center", "Value": "cc-1"}])
    assert registry.tags(arn) == {"cost_center": "cc-1"}


def test_a_package_sagemaker_cannot_find_has_no_readable_tags(fills: GapFills) -> None:
    registry, sagemaker = _registry()
    missing = _model_package(sagemaker).rsplit("/", 1)[0] + "/99"
    with pytest.raises(ClientError, match="ValidationException"):  # what the adapter maps to {}
        sagemaker.list_tags(ResourceArn=missing)
    assert registry.tags(missing) == {}


@pytest.mark.parametrize("kind", ["throttle", "unavailable", "internal"])
def test_a_transient_error_beyond_retries_propagates(fills: GapFills, kind: str) -> None:
    registry, sagemaker = _registry()
    arn = _model_package(sagemaker)
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "cost_center", "Value": "cc-1"}])
    with FaultInjector() as faults:
        faults.arm(FaultRule("sagemaker", "ListTags", kind, times=BOTOCORE_ATTEMPTS))
        with pytest.raises(ClientError) as raised:
            registry.tags(arn)
    assert raised.value.response["Error"]["Code"] in {
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
    }
    assert faults.injected == BOTOCORE_ATTEMPTS


def test_a_transient_error_within_retries_is_absorbed(fills: GapFills) -> None:
    registry, sagemaker = _registry()
    arn = _model_package(sagemaker)
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "cost_center", "Value": "cc-1"}])
    with FaultInjector() as faults:
        faults.arm(FaultRule("sagemaker", "ListTags", "throttle", times=BOTOCORE_ATTEMPTS - 1))
        assert registry.tags(arn) == {"cost_center": "cc-1"}
    assert faults.injected == BOTOCORE_ATTEMPTS - 1


def test_access_denied_propagates(fills: GapFills) -> None:
    """A missing IAM permission is a configuration error to surface, not "no tags"."""
    registry, sagemaker = _registry()
    arn = _model_package(sagemaker)

    def deny(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "ListTags")

    sagemaker.meta.events.register("before-call.sagemaker.ListTags", deny)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        registry.tags(arn)
