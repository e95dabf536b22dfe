"""Helpers of the emulator tests (moto resources built with boto3 inside an active mock)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3

from mlcp_cli.emulator.gaps import FunctionRegistry, FunctionSpec

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "emulator"
FIXTURE_TEMPLATE = FIXTURE_DIR / "template.yaml"
REGION = "us-east-1"


def lambda_role() -> str:
    iam = boto3.client("iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    try:
        return str(iam.get_role(RoleName="fixture-role")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName="fixture-role", AssumeRolePolicyDocument=policy)["Role"]["Arn"])


def create_function(name: str, environment: dict[str, str] | None = None) -> str:
    """A moto Lambda function (code content is irrelevant to moto); returns its ARN."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    response = boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=lambda_role(),
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Environment={"Variables": environment or {}},
        Timeout=30,
        MemorySize=512,
    )
    return str(response["FunctionArn"])


def register_fixture_function(registry: FunctionRegistry, name: str, code: str, arn: str, **env: str) -> None:
    registry.register(
        FunctionSpec(
            name=name,
            code_dir=FIXTURE_DIR / "functions" / code,
            handler="app.handler",
            environment=dict(env),
            memory_mb=512,
            timeout_s=30,
            arn=arn,
        )
    )


def capture_queue(name: str = "capture") -> tuple[str, str]:
    """An SQS queue; returns (url, arn)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def capture_events(pattern: dict[str, Any], name: str = "capture") -> str:
    """A rule on the default bus sending matching events to a new SQS queue; returns the queue URL."""
    url, arn = capture_queue(name)
    events = boto3.client("events")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(url: str) -> list[dict[str, Any]]:
    """Every message on the queue (body parsed as JSON when it is JSON) with its attributes."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(
                {"body": json.loads(message["Body"]), "attributes": message.get("MessageAttributes", {})}
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def user_session(name: str) -> boto3.Session:
    """A boto3 session signing as a new moto IAM user ``name`` (its own access key)."""
    iam = boto3.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )
