"""Signed digests on the real template: the digest function (schedule and deployment end) writes
locked, signed, chained digests; the key lets only its role sign; mlcp audit verify checks them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.digests import DigestSigner
from mlcp.audit import AuditAction
from mlcp.models.digest import digest_key, parse_digest
from mlcp_cli.emulator.runtime import LocalControlPlane


def _tick(cp: LocalControlPlane, event_id: str) -> None:
    cp.invoke_async(
        cp.stack.function_names["AuditDigestFunction"],
        {
            "id": event_id,
            "version": "0",
            "source": "aws.events",
            "detail-type": "Scheduled Event",
            "account": "123456789012",
            "time": "2026-12-07T12:00:00Z",
            "region": cp.region,
            "resources": [],
            "detail": {},
        },
    )
    cp.pump()


def _digest(cp: LocalControlPlane, number: int) -> dict[str, Any]:
    s3 = cp.client("s3")
    body = s3.get_object(Bucket=cp.stack.physical_id("AuditDigestBucket"), Key=digest_key(number))[
        "Body"
    ].read()
    return json.loads(body)


def test_a_scheduled_tick_writes_a_signed_locked_digest_of_every_head(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    audit.append(
        stream="group#anchor",
        action=AuditAction.PACKAGE_REGISTERED,
        actor="test",
        subject="p",
        evidence={},
        decision_id="anchor-1",
    )
    _tick(cp, "tick-1")
    _tick(cp, "tick-2")
    first, second = _digest(cp, 1), _digest(cp, 2)
    assert {"stream": "group#anchor", "seq": 1} in [
        {k: a[k] for k in ("stream", "seq")} for a in first["streams"]
    ]
    assert second["previous_digest_sha256"] != first["previous_digest_sha256"]
    digest = parse_digest(json.dumps(first).encode())
    signer = DigestSigner(cp.stack.physical_id("AuditDigestKey"), cp.client("kms"))
    assert signer.verify(digest.message_digest(), digest.signature)  # KMS Verify, in the account
    forged = digest.model_copy(update={"table": "another"})
    assert not signer.verify(forged.message_digest(), digest.signature)  # KMSInvalidSignatureException
    head = cp.client("s3").head_object(Bucket=cp.stack.physical_id("AuditDigestBucket"), Key=digest_key(1))
    assert head["ObjectLockMode"] == "COMPLIANCE"


def test_only_the_digest_role_may_sign_even_an_administrator_may_not(cp: LocalControlPlane) -> None:
    admin = "arn:aws:iam::123456789012:user/key-administrator"
    assert cp.iam is not None
    cp.iam.attach_principal_policy(
        admin,
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]},
    )
    kms = cp.client("kms", principal=admin)
    kms.describe_key(KeyId=cp.stack.physical_id("AuditDigestKey"))  # the account administers the key
    with pytest.raises(ClientError) as caught:
        kms.sign(
            KeyId=cp.stack.physical_id("AuditDigestKey"),
            Message=b"0" * 32,
            MessageType="DIGEST",
            SigningAlgorithm="ECDSA_SHA_256",
        )
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_deployment_execution_that_ends_writes_a_digest(cp: LocalControlPlane) -> None:
    s3 = cp.client("s3")
    bucket = cp.stack.physical_id("AuditDigestBucket")

    def count() -> int:
        return len(s3.list_objects_v2(Bucket=bucket, Prefix="digests/").get("Contents", []))

    before = count()
    machine = cp.stack.physical_id("DeploymentStateMachine")
    cp.client("stepfunctions").start_execution(stateMachineArn=machine, name="not-a-deployment", input="{}")
    cp.pump()
    assert count() == before + 1
    latest = _digest(cp, before + 1)
    assert latest["trigger"] == "deployment"


def test_the_digest_function_rejects_anything_but_its_two_triggers(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    rejected_before = len(audit.read("control-plane")) if "control-plane" in audit.streams() else 0
    forged = {"id": "x-1", "source": "mlcp.monitoring", "detail-type": "Scheduled Event", "detail": {}}
    cp.invoke_async(cp.stack.function_names["AuditDigestFunction"], forged)
    cp.pump()
    records = audit.read("control-plane")[rejected_before:]
    assert [r.action.value for r in records] == ["event.rejected"]
    assert "source" in records[0].evidence["reason"]
