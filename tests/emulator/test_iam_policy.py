"""The local IAM evaluator: one test per evaluation rule, operator and condition key used."""

from __future__ import annotations

from typing import Any

import pytest

from mlcp_cli.emulator.iam.policy import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Policy,
    Request,
    combine_key_policy,
    evaluate,
)

ACCOUNT = "123456789012"
ROLE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/DeployRole/deploy-fn"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/audit"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy("test", {"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: Any = "dynamodb:PutItem", resource: Any = TABLE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _request(
    action: str = "dynamodb:PutItem",
    resource: str = TABLE,
    context: dict[str, Any] | None = None,
    known: set[str] | None = None,
) -> Request:
    context = context or {}
    keys = {k.lower() for k in context} | (known or set())
    return Request(ROLE_SESSION, action, resource, context, frozenset(keys), principal_account=ACCOUNT)


def _effect(policy: Policy, request: Request) -> str:
    return evaluate([policy], request).effect


# ------------------------------------------------------------------ the core rules


def test_nothing_allows_so_the_request_is_implicitly_denied() -> None:
    assert _effect(_policy(_allow(action="dynamodb:GetItem")), _request()) == IMPLICIT_DENY


def test_an_allow_that_matches_action_and_resource_allows() -> None:
    decision = evaluate([_policy({**_allow(), "Sid": "Write"})], _request())
    assert decision.effect == ALLOW
    assert decision.allowed_by == ("test/Write",)


def test_an_explicit_deny_wins_over_an_allow() -> None:
    policy = _policy(_allow(), {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*", "Sid": "No"})
    decision = evaluate([policy], _request())
    assert decision.effect == EXPLICIT_DENY
    assert decision.denied_by == ("test/No",)


def test_a_deny_in_another_policy_wins_too() -> None:
    deny = Policy("other", {"Statement": {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": TABLE}})
    assert evaluate([_policy(_allow()), deny], _request()).effect == EXPLICIT_DENY


def test_not_action_matches_every_other_action() -> None:
    policy = _policy({"Effect": "Allow", "NotAction": "dynamodb:DeleteItem", "Resource": TABLE})
    assert _effect(policy, _request("dynamodb:PutItem")) == ALLOW
    assert _effect(policy, _request("dynamodb:DeleteItem")) == IMPLICIT_DENY


def test_not_resource_matches_every_other_resource() -> None:
    policy = _policy({"Effect": "Allow", "Action": "dynamodb:PutItem", "NotResource": TABLE})
    assert _effect(policy, _request(resource=TABLE + "-other")) == ALLOW
    assert _effect(policy, _request()) == IMPLICIT_DENY


@pytest.mark.parametrize(
    ("action_pattern", "resource_pattern", "expected"),
    [
        ("dynamodb:*", TABLE, ALLOW),
        ("DynamoDB:putitem", TABLE, ALLOW),  # actions are case-insensitive
        ("dynamodb:Put*", f"arn:aws:dynamodb:*:{ACCOUNT}:table/*", ALLOW),
        ("dynamodb:?utItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/audi?", ALLOW),
        ("dynamodb:Get*", TABLE, IMPLICIT_DENY),
        (
            "dynamodb:PutItem",
            f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/AUDIT",
            IMPLICIT_DENY,
        ),  # resources are not
        ("*", "*", ALLOW),
    ],
)
def test_wildcards_in_action_and_resource(action_pattern: str, resource_pattern: str, expected: str) -> None:
    assert _effect(_policy(_allow(action_pattern, resource_pattern)), _request()) == expected


def test_policy_variables_in_resources() -> None:
    policy = _policy(_allow(resource="arn:aws:dynamodb:us-east-1:${aws:PrincipalAccount}:table/audit"))
    assert _effect(policy, _request(context={"aws:PrincipalAccount": ACCOUNT})) == ALLOW
    assert _effect(policy, _request(context={"aws:PrincipalAccount": "999999999999"})) == IMPLICIT_DENY


# ------------------------------------------------------------------ condition operators


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "holds"),
    [
        ("StringEquals", "prod", "prod", True),
        ("StringEquals", "prod", "Prod", False),
        ("StringNotEquals", "prod", "dev", True),
        ("StringNotEquals", "prod", "prod", False),
        ("StringEqualsIgnoreCase", "prod", "PROD", True),
        ("StringNotEqualsIgnoreCase", "prod", "PROD", False),
        ("StringLike", "mlcp-*", "mlcp-dev", True),
        ("StringLike", "mlcp-?", "mlcp-dev", False),
        ("StringNotLike", "mlcp-*", "other", True),
        ("NumericEquals", "5", "5", True),
        ("NumericNotEquals", "5", "6", True),
        ("NumericLessThan", "5", "4", True),
        ("NumericLessThanEquals", "5", "5", True),
        ("NumericGreaterThan", "5", "5", False),
        ("NumericGreaterThanEquals", "5", "5", True),
        ("DateEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
        ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", True),
        ("DateLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", True),
        ("DateLessThanEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2026-01-01T00:00:00Z", "2025-12-31T00:00:00Z", False),
        ("DateGreaterThanEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", True),
        ("Bool", "true", True, True),
        ("Bool", "false", True, False),
        ("BinaryEquals", "QUJD", "QUJD", True),
        ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
        ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
        ("ArnEquals", "arn:aws:events:us-east-1:1:rule/a", "arn:aws:events:us-east-1:1:rule/a", True),
        ("ArnLike", "arn:aws:events:*:1:rule/*", "arn:aws:events:us-east-1:1:rule/a", True),
        ("ArnLike", "arn:aws:events:*:1:rule/*", "arn:aws:events:us-east-1:2:rule/a", False),
        ("ArnNotEquals", "arn:aws:events:us-east-1:1:rule/a", "arn:aws:events:us-east-1:1:rule/b", True),
        ("ArnNotLike", "arn:aws:events:*:1:rule/*", "arn:aws:events:us-east-1:1:rule/a", False),
    ],
)
def test_each_condition_operator(operator: str, policy_value: Any, request_value: Any, holds: bool) -> None:
    policy = _policy(_allow(Condition={operator: {"test:Key": policy_value}}))
    assert _effect(policy, _request(context={"test:Key": request_value})) == (
        ALLOW if holds else IMPLICIT_DENY
    )


def test_null_tests_whether_a_key_is_present() -> None:
    absent = _policy(_allow(Condition={"Null": {"aws:RequestTag/team": "true"}}))
    present = _policy(_allow(Condition={"Null": {"aws:RequestTag/team": "false"}}))
    tagged = _request(context={"aws:RequestTag/team": "ml"})
    untagged = _request(known={"aws:requesttag/*"})
    assert (_effect(absent, untagged), _effect(absent, tagged)) == (ALLOW, IMPLICIT_DENY)
    assert (_effect(present, untagged), _effect(present, tagged)) == (IMPLICIT_DENY, ALLOW)


def test_an_absent_key_fails_a_condition_unless_if_exists() -> None:
    plain = _policy(_allow(Condition={"StringEquals": {"aws:RequestTag/team": "ml"}}))
    if_exists = _policy(_allow(Condition={"StringEqualsIfExists": {"aws:RequestTag/team": "ml"}}))
    untagged = _request(known={"aws:requesttag/*"})
    assert _effect(plain, untagged) == IMPLICIT_DENY
    assert _effect(if_exists, untagged) == ALLOW
    assert _effect(if_exists, _request(context={"aws:RequestTag/team": "other"})) == IMPLICIT_DENY


def test_for_any_value_needs_one_request_value_in_the_set() -> None:
    policy = _policy(_allow(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}}))
    assert _effect(policy, _request(context={"aws:TagKeys": ["cost", "team"]})) == ALLOW
    assert _effect(policy, _request(context={"aws:TagKeys": ["cost"]})) == IMPLICIT_DENY


def test_for_all_values_needs_every_request_value_in_the_set() -> None:
    policy = _policy(_allow(Condition={"ForAllValues:StringLike": {"aws:TagKeys": ["mlcp:*"]}}))
    assert _effect(policy, _request(context={"aws:TagKeys": ["mlcp:a", "mlcp:b"]})) == ALLOW
    assert _effect(policy, _request(context={"aws:TagKeys": ["mlcp:a", "cost"]})) == IMPLICIT_DENY
    # AWS: ForAllValues holds when the key is absent (no values, none outside the set).
    assert _effect(policy, _request(known={"aws:tagkeys"})) == ALLOW


def test_several_values_of_one_key_are_ored_and_several_keys_anded() -> None:
    policy = _policy(
        _allow(
            Condition={
                "StringEquals": {"aws:RequestTag/stage": ["dev", "prod"], "aws:RequestTag/team": "ml"},
            }
        )
    )
    assert (
        _effect(policy, _request(context={"aws:RequestTag/stage": "prod", "aws:RequestTag/team": "ml"}))
        == ALLOW
    )
    assert (
        _effect(policy, _request(context={"aws:RequestTag/stage": "prod", "aws:RequestTag/team": "x"}))
        == IMPLICIT_DENY
    )


# ------------------------------------------------------------------ condition keys template.yaml uses


@pytest.mark.parametrize(
    ("operator", "key", "policy_value", "good", "bad"),
    [
        (
            "StringLike",
            "aws:ResourceTag/mlcp:model-package",
            "arn:aws:sagemaker:*:model-package/*",
            "arn:aws:sagemaker:us-east-1:1:model-package/g/1",
            "arn:aws:sagemaker:us-east-1:1:model/x",
        ),
        ("StringEquals", "aws:RequestTag/mlcp:audit-table", "audit", "audit", "other"),
        ("ForAnyValue:StringEquals", "aws:TagKeys", ["mlcp:model-package"], ["mlcp:model-package"], ["x"]),
        (
            "StringEquals",
            "sagemaker:TaggingAction",
            "CreateEndpointConfig",
            "CreateEndpointConfig",
            "AddTags",
        ),
        (
            "StringEquals",
            "iam:PassedToService",
            "sagemaker.amazonaws.com",
            "sagemaker.amazonaws.com",
            "lambda.amazonaws.com",
        ),
        (
            "StringEquals",
            "kms:ViaService",
            "dynamodb.us-east-1.amazonaws.com",
            "dynamodb.us-east-1.amazonaws.com",
            "sqs.us-east-1.amazonaws.com",
        ),
        (
            "ArnLike",
            "kms:EncryptionContext:aws:logs:arn",
            "arn:aws:logs:us-east-1:1:log-group:*",
            "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/x",
            "arn:aws:logs:us-east-1:2:log-group:x",
        ),
        (
            "ArnEquals",
            "aws:SourceArn",
            "arn:aws:events:us-east-1:1:rule/r",
            "arn:aws:events:us-east-1:1:rule/r",
            "arn:aws:events:us-east-1:1:rule/other",
        ),
        ("StringEquals", "aws:SourceAccount", ACCOUNT, ACCOUNT, "999999999999"),
        ("Bool", "aws:SecureTransport", "false", False, True),
    ],
)
def test_each_condition_key(operator: str, key: str, policy_value: Any, good: Any, bad: Any) -> None:
    policy = _policy(_allow(Condition={operator: {key: policy_value}}))
    assert _effect(policy, _request(context={key: good})) == ALLOW
    assert _effect(policy, _request(context={key: bad})) == IMPLICIT_DENY


def test_an_unknown_condition_key_denies_and_says_which() -> None:
    policy = _policy({**_allow(Condition={"StringEquals": {"dynamodb:LeadingKeys": "pk"}}), "Sid": "Scoped"})
    decision = evaluate([policy], _request())
    assert decision.effect == EXPLICIT_DENY
    assert decision.unknown_keys == ("test/Scoped: dynamodb:LeadingKeys",)


def test_an_unknown_condition_operator_denies_and_says_which() -> None:
    policy = _policy(_allow(Condition={"StringSortOf": {"test:Key": "x"}}))
    decision = evaluate([policy], _request(context={"test:Key": "x"}))
    assert decision.effect == EXPLICIT_DENY
    assert decision.unknown_keys == ("test/#0: StringSortOf (operator)",)


# ------------------------------------------------------------------ resource policies


def test_a_resource_policy_must_name_the_principal() -> None:
    queue = "arn:aws:sqs:us-east-1:1:dlq"
    policy = _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue,
        }
    )
    service = Request(
        "events.amazonaws.com", "sqs:SendMessage", queue, {}, frozenset(), principal_type="Service"
    )
    other = Request("sns.amazonaws.com", "sqs:SendMessage", queue, {}, frozenset(), principal_type="Service")
    assert evaluate([policy], service, resource_policy=True).effect == ALLOW
    assert evaluate([policy], other, resource_policy=True).effect == IMPLICIT_DENY


def test_a_key_policy_that_delegates_to_the_account_lets_iam_decide() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    key_document = {
        "Statement": [
            {
                "Sid": "Root",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    request = _request("kms:Decrypt", key)
    key_decision = evaluate([Policy("key policy", key_document)], request, resource_policy=True)
    granted = evaluate([_policy(_allow("kms:Decrypt", key))], request)
    not_granted = evaluate([_policy(_allow("kms:Encrypt", key))], request)
    assert combine_key_policy(granted, key_decision, key_document, request).effect == ALLOW
    assert combine_key_policy(not_granted, key_decision, key_document, request).effect == IMPLICIT_DENY


def test_a_key_policy_that_does_not_allow_denies_whatever_iam_says() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    key_document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "logs.amazonaws.com"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    request = _request("kms:Decrypt", key)
    key_decision = evaluate([Policy("key policy", key_document)], request, resource_policy=True)
    granted = evaluate([_policy(_allow("kms:Decrypt", key))], request)
    assert combine_key_policy(granted, key_decision, key_document, request).effect == IMPLICIT_DENY
