"""Fills z (event bus targets keep the envelope and obey the bus's policy and the rule's role) and aa
(CloudFormation's AWS::Events::EventBusPolicy), with member accounts beside the default one."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from mlcp_cli.emulator.accounts import account_session, put_service_events
from mlcp_cli.emulator.gaps import GapFills

from .helpers import REGION, capture_queue, drain

GOVERNANCE, MEMBER, STRANGER = "123456789012", "222222222222", "444444444444"
BUS_ARN = f"arn:aws:events:{REGION}:{GOVERNANCE}:event-bus/governance"


def _governance_bus() -> str:
    """The governance bus admitting MEMBER's PutEvents for aws.sagemaker, and a queue capturing it."""
    events = boto3.client("events")
    events.create_event_bus(Name="governance")
    statement = {
        "Sid": "Members",
        "Effect": "Allow",
        "Principal": {"AWS": [MEMBER]},
        "Action": "events:PutEvents",
        "Resource": BUS_ARN,
        "Condition": {"StringEquals": {"events:source": ["aws.sagemaker"]}},
    }
    events.put_permission(EventBusName="governance", Policy=json.dumps({"Statement": [statement]}))
    url, arn = capture_queue("governance-capture")
    events.put_rule(
        Name="capture", EventBusName="governance", EventPattern=json.dumps({"source": [{"prefix": ""}]})
    )
    # moto's SQS target body leaves ``account`` out: the transformer copies the envelope's fields.
    transformer = {
        "InputPathsMap": {"account": "$.account", "source": "$.source", "resources": "$.resources"},
        "InputTemplate": '{"account": "<account>", "source": "<source>", "resources": <resources>}',
    }
    target = {"Id": "q", "Arn": arn, "InputTransformer": transformer}
    events.put_targets(Rule="capture", EventBusName="governance", Targets=[target])
    return url


def _forwarder(account: str, *, may_put: bool = True) -> str:
    """In ``account``: a rule forwarding every event of the default bus to the governance bus with a
    role (allowed PutEvents on it or not) and a DLQ; returns the DLQ URL."""
    session = account_session(account, REGION)
    iam, events, sqs = session.client("iam"), session.client("events"), session.client("sqs")
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    role = iam.create_role(RoleName="forward", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    resource = BUS_ARN if may_put else f"arn:aws:events:{REGION}:{GOVERNANCE}:event-bus/other"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": resource}],
    }
    iam.put_role_policy(RoleName="forward", PolicyName="put", PolicyDocument=json.dumps(policy))
    dlq = sqs.create_queue(QueueName="forward-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.sagemaker", "aws.s3"]}))
    target = {"Id": "gov", "Arn": BUS_ARN, "RoleArn": role, "DeadLetterConfig": {"Arn": dlq_arn}}
    events.put_targets(Rule="forward", Targets=[target])
    return str(dlq)


def _entry(account: str, source: str = "aws.sagemaker") -> dict[str, Any]:
    arn = f"arn:aws:sagemaker:{REGION}:{account}:endpoint/churn"
    return {
        "Source": source,
        "DetailType": "SageMaker Endpoint State Change",
        "Resources": [arn],
        "Detail": {"EndpointArn": arn},
    }


def _dead_letters(account: str, url: str) -> list[dict[str, Any]]:
    sqs = account_session(account, REGION).client("sqs")
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    return [
        {"body": json.loads(m["Body"]), "error": m["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]}
        for m in found.get("Messages", [])
    ]


def test_a_forwarded_event_keeps_its_envelope(fills: GapFills) -> None:
    captured = _governance_bus()
    _forwarder(MEMBER)
    put_service_events(MEMBER, REGION, [_entry(MEMBER)])

    [event] = [m["body"] for m in drain(captured)]
    assert event["account"] == MEMBER
    assert event["source"] == "aws.sagemaker"
    assert event["resources"] == [f"arn:aws:sagemaker:{REGION}:{MEMBER}:endpoint/churn"]


@pytest.mark.parametrize(
    ("account", "may_put", "source", "why"),
    [
        (STRANGER, True, "aws.sagemaker", "does not admit arn:aws:sts::444444444444:assumed-role/forward/"),
        (MEMBER, True, "aws.s3", "does not admit"),  # the policy's events:source condition
        (MEMBER, False, "aws.sagemaker", "role/forward is not allowed events:PutEvents"),
    ],
    ids=["unlisted-account", "source-not-admitted", "role-without-put"],
)
def test_a_refused_forward_reaches_nothing_and_is_dead_lettered(
    fills: GapFills, account: str, may_put: bool, source: str, why: str
) -> None:
    captured = _governance_bus()
    dlq = _forwarder(account, may_put=may_put)
    put_service_events(account, REGION, [_entry(account, source)])

    assert drain(captured) == []
    [parked] = _dead_letters(account, dlq)
    assert parked["body"]["account"] == account
    assert why in parked["error"]


def test_cloudformation_puts_an_event_bus_policy_on_its_bus(fills: GapFills) -> None:
    template = {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "governance"}},
            "BusPolicy": {
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {
                    "EventBusName": {"Fn::GetAtt": ["Bus", "Name"]},
                    "StatementId": "Members",
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": [MEMBER]},
                        "Action": "events:PutEvents",
                        "Resource": {"Fn::GetAtt": ["Bus", "Arn"]},
                    },
                },
            },
        }
    }
    boto3.client("cloudformation").create_stack(StackName="bus", TemplateBody=json.dumps(template))

    policy = json.loads(boto3.client("events").describe_event_bus(Name="governance")["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "Members",
            "Effect": "Allow",
            "Principal": {"AWS": [MEMBER]},
            "Action": "events:PutEvents",
            "Resource": BUS_ARN,
        }
    ]
