"""IAM enforcement on moto: each implicit authorization, AWS's denial shapes, S3's 403 for a
missing key. Calls are made as a function's handler makes them (the function is "running" in this
thread, so its execution role is the caller), against policies attached to that role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcp_cli.emulator.gaps import FunctionSpec
from mlcp_cli.emulator.gaps.awslambda import _running
from mlcp_cli.emulator.iam import IamEnforcer

from .helpers import REGION, create_function

ACCOUNT = "123456789012"


@pytest.fixture
def enforcer(fills: Any) -> Iterator[IamEnforcer]:
    with IamEnforcer(account=ACCOUNT) as installed:
        yield installed


def _role(name: str, *statements: dict[str, Any]) -> str:
    iam = boto3.client("iam")
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="grants", PolicyDocument=json.dumps(document))
    return arn


def _function(role_arn: str) -> FunctionSpec:
    """A moto function with that execution role (its code never runs: calls are made here)."""
    name = role_arn.rsplit("/", 1)[-1] + "-fn"
    arn = create_function(name)
    boto3.client("lambda").update_function_configuration(FunctionName=name, Role=role_arn)
    return FunctionSpec(name=name, code_dir=Path("."), handler="app.handler", arn=arn)


def _denied(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = error.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


SM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"


def _model(sagemaker: Any) -> None:
    sagemaker.create_model(
        ModelName="m",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/model-role",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )


# ------------------------------------------------------------------ tags on Create -> AddTags


def test_tags_in_a_create_call_need_the_tagging_action(enforcer: IamEnforcer) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    _model(sagemaker)
    variants = [
        {"VariantName": "a", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    ]
    create = _allow("sagemaker:CreateEndpointConfig", f"{SM}:endpoint-config/*")
    untagged = _function(_role("no-tags", create))
    with _running(untagged), pytest.raises(ClientError) as error:
        sagemaker.create_endpoint_config(
            EndpointConfigName="c1", ProductionVariants=variants, Tags=[{"Key": "k", "Value": "v"}]
        )
    code, status, message = _denied(error)
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/no-tags/no-tags-fn is not authorized to perform: "
        f"sagemaker:AddTags on resource: {SM}:endpoint-config/c1 because no identity-based policy allows "
        "the sagemaker:AddTags action"
    )
    with _running(untagged):  # the same call without Tags needs no AddTags
        sagemaker.create_endpoint_config(EndpointConfigName="c2", ProductionVariants=variants)
    tagging = _allow(
        "sagemaker:AddTags",
        f"{SM}:endpoint-config/*",
        Condition={"StringEquals": {"sagemaker:TaggingAction": "CreateEndpointConfig"}},
    )
    with _running(_function(_role("tags", create, tagging))):
        sagemaker.create_endpoint_config(
            EndpointConfigName="c3", ProductionVariants=variants, Tags=[{"Key": "k", "Value": "v"}]
        )
    assert not enforcer.denials()[1:]  # only the first call was denied


# ------------------------------------------------------------------ cloudwatch:namespace


def test_put_metric_data_is_scoped_by_namespace(enforcer: IamEnforcer) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    own = _allow(
        "cloudwatch:PutMetricData",
        "*",
        Condition={"StringEquals": {"cloudwatch:namespace": "mlcp/CanaryAnalysis"}},
    )
    datum = [{"MetricName": "RollBack", "Value": 1.0}]
    with _running(_function(_role("verdict", own))):
        cloudwatch.put_metric_data(Namespace="mlcp/CanaryAnalysis", MetricData=datum)
        with pytest.raises(ClientError) as error:
            cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=datum)
    assert "cloudwatch:PutMetricData" in _denied(error)[2]


# ------------------------------------------------------------------ iam:PassRole


def test_a_role_handed_to_sagemaker_needs_pass_role_to_that_service(enforcer: IamEnforcer) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    create = _allow("sagemaker:CreateModel", f"{SM}:model/*")
    with _running(_function(_role("no-pass", create))), pytest.raises(ClientError) as error:
        _model(sagemaker)
    assert "iam:PassRole on resource: arn:aws:iam::123456789012:role/model-role" in _denied(error)[2]
    to_lambda = _allow(
        "iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    )
    with _running(_function(_role("pass-elsewhere", create, to_lambda))), pytest.raises(ClientError):
        _model(sagemaker)
    to_sagemaker = _allow(
        "iam:PassRole",
        f"arn:aws:iam::{ACCOUNT}:role/model-role",
        Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )
    with _running(_function(_role("pass", create, to_sagemaker))):
        _model(sagemaker)


# ------------------------------------------------------------------ KMS behind a store


def _key(policy: dict[str, Any] | None = None) -> str:
    kms = boto3.client("kms", region_name=REGION)
    kwargs = {"Policy": json.dumps(policy)} if policy else {}
    return str(kms.create_key(**kwargs)["KeyMetadata"]["Arn"])


def _table(key_arn: str) -> str:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
    )
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t"


def test_an_encrypted_table_needs_the_key_through_dynamodb(enforcer: IamEnforcer) -> None:
    key = _key()
    table = _table(key)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    put = _allow("dynamodb:PutItem", table)
    with _running(_function(_role("no-key", put))), pytest.raises(ClientError) as error:
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})
    assert f"kms:Decrypt on resource: {key}" in _denied(error)[2]
    via_dynamodb = _allow(
        "kms:Decrypt", key, Condition={"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}}
    )
    with _running(_function(_role("key", put, via_dynamodb))):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}})


def test_the_key_policy_must_allow_too(enforcer: IamEnforcer) -> None:
    only_someone_else = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    key = _key(only_someone_else)
    table = _table(key)
    role = _role("iam-only", _allow("dynamodb:PutItem", table), _allow("kms:Decrypt", key))
    with _running(_function(role)), pytest.raises(ClientError) as error:
        boto3.client("dynamodb", region_name=REGION).put_item(TableName="t", Item={"pk": {"S": "a"}})
    assert f"kms:Decrypt on resource: {key}" in _denied(error)[2]


def test_an_encrypted_queue_needs_generate_data_key(enforcer: IamEnforcer) -> None:
    key = _key()
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="q", Attributes={"KmsMasterKeyId": key})["QueueUrl"]
    send = _allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q")
    with (
        _running(_function(_role("queue-no-key", send, _allow("kms:Decrypt", key)))),
        pytest.raises(ClientError) as error,
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    code, _, message = _denied(error)
    assert code == "KmsAccessDenied"
    assert "kms:GenerateDataKey" in message
    with _running(_function(_role("queue-key", send, _allow(["kms:Decrypt", "kms:GenerateDataKey"], key)))):
        sqs.send_message(QueueUrl=url, MessageBody="x")


# ------------------------------------------------------------------ S3: 403 or 404


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(enforcer: IamEnforcer) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="iam-missing")
    read = _allow("s3:GetObject", "arn:aws:s3:::iam-missing/*")
    with _running(_function(_role("read-only", read))):
        with pytest.raises(ClientError) as error:
            s3.get_object(Bucket="iam-missing", Key="missing")
        assert _denied(error)[:2] == ("AccessDenied", 403)
        with pytest.raises(ClientError) as head:
            s3.head_object(Bucket="iam-missing", Key="missing")
        assert head.value.response["Error"]["Code"] == "403"
    with _running(
        _function(_role("read-and-list", read, _allow("s3:ListBucket", "arn:aws:s3:::iam-missing")))
    ):
        with pytest.raises(ClientError) as error:
            s3.get_object(Bucket="iam-missing", Key="missing")
        assert _denied(error)[:2] == ("NoSuchKey", 404)
    assert enforcer.denials() == []  # AWS's answer, not a permission the role lacks


# ------------------------------------------------------------------ who is checked


def test_calls_outside_functions_and_state_machines_are_not_checked(enforcer: IamEnforcer) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="operator")
    assert enforcer.decisions == []


def test_an_explicit_deny_is_named_in_the_message(enforcer: IamEnforcer) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="iam-denied")
    role = _role(
        "denied",
        _allow("s3:*", "*"),
        {
            "Sid": "NoWrites",
            "Effect": "Deny",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::iam-denied/*",
        },
    )
    with _running(_function(role)), pytest.raises(ClientError) as error:
        s3.put_object(Bucket="iam-denied", Key="k", Body=b"x")
    assert "with an explicit deny in an identity-based policy (grants/NoWrites)" in _denied(error)[2]


def test_an_unknown_condition_key_denies_and_the_message_names_it(enforcer: IamEnforcer) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="iam-unknown")
    role = _role(
        "unknown", _allow("s3:PutObject", "*", Condition={"StringEquals": {"s3:x-amz-acl": "private"}})
    )
    with _running(_function(role)), pytest.raises(ClientError) as error:
        s3.put_object(Bucket="iam-unknown", Key="k", Body=b"x")
    assert "cannot evaluate condition key(s) grants/#0: s3:x-amz-acl" in _denied(error)[2]


def test_a_direct_kms_call_needs_the_key_policy_too(enforcer: IamEnforcer) -> None:
    kms = boto3.client("kms", region_name=REGION)
    signer = _role("signer")
    only_the_signer_signs = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:Describe*",
                "Resource": "*",
            },
            {"Effect": "Allow", "Principal": {"AWS": signer}, "Action": "kms:Sign", "Resource": "*"},
        ]
    }
    key = str(
        kms.create_key(
            Policy=json.dumps(only_the_signer_signs), KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"
        )["KeyMetadata"]["Arn"]
    )
    sign = {"KeyId": key, "Message": b"0" * 32, "MessageType": "DIGEST", "SigningAlgorithm": "ECDSA_SHA_256"}
    with _running(_function(_role("admin", _allow("kms:*", "*")))), pytest.raises(ClientError) as error:
        kms.sign(**sign)
    assert f"kms:Sign on resource: {key}" in _denied(error)[2]
    with _running(_function(signer)):
        kms.sign(**sign)


def test_writing_with_a_retention_date_needs_put_object_retention(enforcer: IamEnforcer) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    put = _allow("s3:PutObject", "arn:aws:s3:::locked/*")
    lock = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": "2030-01-01T00:00:00Z"}
    with _running(_function(_role("put-only", put))), pytest.raises(ClientError) as error:
        s3.put_object(Bucket="locked", Key="k", Body=b"1", **lock)
    assert "s3:PutObjectRetention" in _denied(error)[2]
    with _running(
        _function(_role("put-and-retain", put, _allow("s3:PutObjectRetention", "arn:aws:s3:::locked/*")))
    ):
        s3.put_object(Bucket="locked", Key="k", Body=b"1", **lock)
