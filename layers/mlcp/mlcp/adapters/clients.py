"""boto3 clients created once per execution environment (and per region), reused across invocations.

Each accessor returns a :class:`LazyClient`: the botocore client (its service model is a large JSON
file to load) is built on the first API call, not when a handler module wires its adapters at import.
A function pays only for the clients the path it runs uses (cold start, docs/adr/0013).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any, cast

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


class LazyClient:
    """Stands in for ``boto3.client(service)``: the first attribute read builds (once, thread-safe)
    the execution environment's client and forwards to it; ``clients.reset()`` is honoured."""

    __slots__ = ("_lock", "_service")

    def __init__(self, service: str) -> None:
        self._service = service
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            client = _client(self._service)
        return getattr(client, name)

    def __repr__(self) -> str:
        return f"LazyClient({self._service!r})"


@cache
def _lazy(service: str) -> Any:
    return LazyClient(service)


def appconfigdata() -> Any:
    """The AppConfig data client of this execution environment (the deployed policy)."""
    return _lazy("appconfigdata")


def cloudwatch() -> CloudWatchClient:
    """The CloudWatch client of this execution environment."""
    return cast("CloudWatchClient", _lazy("cloudwatch"))


def dynamodb() -> DynamoDBClient:
    """The DynamoDB client of this execution environment."""
    return cast("DynamoDBClient", _lazy("dynamodb"))


def kms() -> Any:
    """The KMS client of this execution environment (untyped: no KMS stubs are installed)."""
    return _lazy("kms")


def s3() -> S3Client:
    """The S3 client of this execution environment."""
    return cast("S3Client", _lazy("s3"))


def sagemaker() -> SageMakerClient:
    """The SageMaker client of this execution environment."""
    return cast("SageMakerClient", _lazy("sagemaker"))


def sqs() -> SQSClient:
    """The SQS client of this execution environment."""
    return cast("SQSClient", _lazy("sqs"))


def sns() -> SNSClient:
    """The SNS client of this execution environment."""
    return cast("SNSClient", _lazy("sns"))


def stepfunctions() -> SFNClient:
    """The Step Functions client of this execution environment."""
    return cast("SFNClient", _lazy("stepfunctions"))


def ssm() -> SSMClient:
    """The SSM client of this execution environment."""
    return cast("SSMClient", _lazy("ssm"))


def sts() -> STSClient:
    """The STS client of this execution environment."""
    return cast("STSClient", _lazy("sts"))


def reset() -> None:
    """Forget cached clients (tests and the local emulator start a fresh mock per run)."""
    _client.cache_clear()
