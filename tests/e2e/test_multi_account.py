"""Multi-account on the real template (ADR 26): the envelope's account decides what is acted on."""

from __future__ import annotations

import json
import uuid

from mlcp.audit import AuditAction, AuditTrail
from mlcp_cli.emulator.runtime import LocalControlPlane

from .conftest import ROOT

OTHER_ACCOUNT = "210987654321"


def test_an_event_whose_detail_names_another_account_is_refused_by_every_consumer(
    cp: LocalControlPlane, audit: AuditTrail
) -> None:
    event = json.loads((ROOT / "events/endpoint-state-change/failed.json").read_text())
    endpoint = f"forged-{uuid.uuid4().hex[:8]}"
    foreign_arn = f"arn:aws:sagemaker:us-east-1:{OTHER_ACCOUNT}:endpoint/{endpoint}"
    event["detail"].update(EndpointName=endpoint, EndpointArn=foreign_arn)
    event["resources"] = [foreign_arn]

    cp.put_event_document(event)
    cp.pump()

    parked = cp.client("sqs").receive_message(
        QueueUrl=cp.stack.queue_urls["RejectedEventsQueue"], MaxNumberOfMessages=10
    )
    mine = [
        body
        for body in (json.loads(m["Body"]) for m in parked.get("Messages", []))
        if body["event"]["detail"].get("EndpointName") == endpoint
    ]
    # Both consumers of Endpoint State Change (intake and the endpoint-events waker) refuse it.
    assert sorted(p["rejected_by"] for p in mine) == ["endpoint-events", "event-intake"]
    assert {p["reason"] for p in mine} == {
        f"event from account 123456789012 names resources in account {OTHER_ACCOUNT}: "
        "the control plane acts only on the envelope's account"
    }
    assert audit.read(f"endpoint#{endpoint}") == []
    rejected = [
        r for r in audit.read("control-plane") if r.evidence.get("digest") in {p["digest"] for p in mine}
    ]
    assert {r.action for r in rejected} == {AuditAction.EVENT_REJECTED}
