"""Gap fills for the audit digests (KMS asymmetric keys from CloudFormation, Sign/Verify of a
DIGEST, failed Verify; S3 Object Lock from CloudFormation, compliance retention, versioning kept on;
Step Functions Execution Status Change events): moto's raw behaviour first, then the fill's."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from mlcp_cli.emulator.gaps import GapFills, process_pending

from .test_gaps import state_machine, wait_execution

KEY_TEMPLATE = {
    "Resources": {
        "Signing": {
            "Type": "AWS::KMS::Key",
            "Properties": {"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY", "KeyPolicy": {}},
        },
    },
    "Outputs": {"Key": {"Value": {"Fn::GetAtt": ["Signing", "Arn"]}}},
}
BUCKET_TEMPLATE = {
    "Resources": {
        "Locked": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 186}},
                },
                "VersioningConfiguration": {"Status": "Enabled"},
            },
        },
    },
    "Outputs": {"Bucket": {"Value": {"Ref": "Locked"}}},
}


def _stack_output(template: dict[str, Any], name: str) -> str:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName=f"s-{name.lower()}", TemplateBody=json.dumps(template))
    outputs = cfn.describe_stacks(StackName=f"s-{name.lower()}")["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == name)


def _signing_key() -> str:
    return str(
        boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    )


def _sign(key: str, message: bytes) -> bytes:
    return bytes(
        boto3.client("kms").sign(
            KeyId=key, Message=message, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
        )["Signature"]
    )


def _verifies_with_public_key(key: str, digest: bytes, signature: bytes) -> bool:
    der = boto3.client("kms").get_public_key(KeyId=key)["PublicKey"]
    public = serialization.load_der_public_key(der)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    try:
        public.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except Exception:
        return False
    return True


# -- KMS ---------------------------------------------------------------------------------------


def test_raw_moto_creates_a_symmetric_key_from_an_asymmetric_template(raw_moto: None) -> None:
    key = _stack_output(KEY_TEMPLATE, "Key")
    assert boto3.client("kms").describe_key(KeyId=key)["KeyMetadata"]["KeySpec"] == "SYMMETRIC_DEFAULT"


def test_fill_creates_the_templates_asymmetric_key(fills: GapFills) -> None:
    key = _stack_output(KEY_TEMPLATE, "Key")
    metadata = boto3.client("kms").describe_key(KeyId=key)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")


def test_raw_moto_hashes_a_digest_again(raw_moto: None) -> None:
    key, digest = _signing_key(), hashlib.sha256(b"audit").digest()
    assert not _verifies_with_public_key(key, digest, _sign(key, digest))


def test_fill_signs_a_digest_as_kms_does(fills: GapFills) -> None:
    key, digest = _signing_key(), hashlib.sha256(b"audit").digest()
    signature = _sign(key, digest)
    assert _verifies_with_public_key(key, digest, signature)
    assert boto3.client("kms").verify(
        KeyId=key, Message=digest, MessageType="DIGEST", Signature=signature, SigningAlgorithm="ECDSA_SHA_256"
    )["SignatureValid"]


def test_raw_moto_answers_an_invalid_signature_with_false(raw_moto: None) -> None:
    key = _signing_key()
    signature = _sign(key, hashlib.sha256(b"a").digest())
    assert not boto3.client("kms").verify(
        KeyId=key,
        Message=hashlib.sha256(b"b").digest(),
        MessageType="DIGEST",
        Signature=signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )["SignatureValid"]


def test_fill_refuses_an_invalid_signature_as_kms_does(fills: GapFills) -> None:
    key = _signing_key()
    signature = _sign(key, hashlib.sha256(b"a").digest())
    with pytest.raises(ClientError) as caught:
        boto3.client("kms").verify(
            KeyId=key,
            Message=hashlib.sha256(b"b").digest(),
            MessageType="DIGEST",
            Signature=signature,
            SigningAlgorithm="ECDSA_SHA_256",
        )
    assert caught.value.response["Error"]["Code"] == "KMSInvalidSignatureException"


# -- S3 Object Lock ----------------------------------------------------------------------------


def _locked_version(bucket: str) -> str:
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=186)
    return str(
        boto3.client("s3").put_object(
            Bucket=bucket,
            Key="digests/1.json",
            Body=b"{}",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=until,
        )["VersionId"]
    )


def test_raw_moto_ignores_object_lock_and_versioning_in_a_template(raw_moto: None) -> None:
    bucket = _stack_output(BUCKET_TEMPLATE, "Bucket")
    assert boto3.client("s3").get_bucket_versioning(Bucket=bucket).get("Status") is None


def test_fill_creates_the_bucket_versioned_with_its_object_lock(fills: GapFills) -> None:
    bucket = _stack_output(BUCKET_TEMPLATE, "Bucket")
    s3 = boto3.client("s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
    assert (rule["DefaultRetention"]["Mode"], rule["DefaultRetention"]["Days"]) == ("COMPLIANCE", 186)
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert s3.head_object(Bucket=bucket, Key="k")["ObjectLockMode"] == "COMPLIANCE"


def _lock_bucket() -> str:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="locked-evidence", ObjectLockEnabledForBucket=True)
    return "locked-evidence"


def test_raw_moto_lets_a_compliance_retention_be_shortened(raw_moto: None) -> None:
    bucket = _lock_bucket()
    version = _locked_version(bucket)
    boto3.client("s3").put_object_retention(
        Bucket=bucket,
        Key="digests/1.json",
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": dt.datetime.now(dt.UTC) + dt.timedelta(days=1)},
    )


def test_fill_refuses_shortening_or_loosening_a_compliance_retention(fills: GapFills) -> None:
    bucket = _lock_bucket()
    version = _locked_version(bucket)
    s3 = boto3.client("s3")
    for mode, days in (("COMPLIANCE", 1), ("GOVERNANCE", 400)):
        with pytest.raises(ClientError) as caught:
            s3.put_object_retention(
                Bucket=bucket,
                Key="digests/1.json",
                VersionId=version,
                Retention={
                    "Mode": mode,
                    "RetainUntilDate": dt.datetime.now(dt.UTC) + dt.timedelta(days=days),
                },
            )
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    s3.put_object_retention(  # lengthening stays allowed
        Bucket=bucket,
        Key="digests/1.json",
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": dt.datetime.now(dt.UTC) + dt.timedelta(days=400)},
    )
    with pytest.raises(ClientError):  # and the locked version still cannot be deleted
        s3.delete_object(Bucket=bucket, Key="digests/1.json", VersionId=version)


def test_raw_moto_suspends_versioning_of_an_object_lock_bucket(raw_moto: None) -> None:
    bucket = _lock_bucket()
    boto3.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})


def test_fill_keeps_an_object_lock_bucket_versioned(fills: GapFills) -> None:
    bucket = _lock_bucket()
    with pytest.raises(ClientError) as caught:
        boto3.client("s3").put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
        )
    assert caught.value.response["Error"]["Code"] == "InvalidBucketState"


# -- Step Functions Execution Status Change ----------------------------------------------------

PASS: dict[str, Any] = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _watch_ends_of(machine: str) -> str:
    sink = state_machine("sink", PASS)
    events = boto3.client("events")
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [machine], "status": ["SUCCEEDED", "FAILED"]},
    }
    events.put_rule(Name="ends", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="ends", Targets=[{"Id": "sink", "Arn": sink}])
    return sink


def test_fill_sends_an_execution_status_change_when_an_execution_ends(fills: GapFills) -> None:
    machine = state_machine("watched", PASS)
    sink = _watch_ends_of(machine)
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, name="one", input="{}")["executionArn"]
    wait_execution(arn)
    process_pending(fills.deliveries, fills.registry)
    fills.settle()
    [delivered] = sfn.list_executions(stateMachineArn=sink)["executions"]
    event = json.loads(sfn.describe_execution(executionArn=delivered["executionArn"])["input"])
    assert event["detail"]["executionArn"] == arn
    assert event["detail"]["status"] == "SUCCEEDED"
    assert event["resources"] == [arn]
