"""boto3 clients created once per execution environment (and per region), reused across invocations."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient

# Standard retry mode: exponential backoff with jitter on throttling and 5xx, bounded attempts.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)


@cache
def _client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)  # type: ignore[call-overload]


def cloudwatch() -> CloudWatchClient:
    """The CloudWatch client of this execution environment."""
    client: CloudWatchClient = _client("cloudwatch")
    return client


def dynamodb() -> DynamoDBClient:
    """The DynamoDB client of this execution environment."""
    client: DynamoDBClient = _client("dynamodb")
    return client


def s3() -> S3Client:
    """The S3 client of this execution environment."""
    client: S3Client = _client("s3")
    return client


def sagemaker() -> SageMakerClient:
    """The SageMaker client of this execution environment."""
    client: SageMakerClient = _client("sagemaker")
    return client


def sqs() -> SQSClient:
    """The SQS client of this execution environment."""
    client: SQSClient = _client("sqs")
    return client


def sns() -> SNSClient:
    """The SNS client of this execution environment."""
    client: SNSClient = _client("sns")
    return client


def stepfunctions() -> SFNClient:
    """The Step Functions client of this execution environment."""
    client: SFNClient = _client("stepfunctions")
    return client


def ssm() -> SSMClient:
    """The SSM client of this execution environment."""
    client: SSMClient = _client("ssm")
    return client


def sts() -> STSClient:
    """The STS client of this execution environment."""
    client: STSClient = _client("sts")
    return client


def reset() -> None:
    """Forget cached clients (tests and the local emulator start a fresh mock per run)."""
    _client.cache_clear()
