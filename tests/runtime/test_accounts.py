"""The account an event lets the control plane act on: the envelope's, never one in ``detail`` (ADR 26)."""

from __future__ import annotations

import pytest

from mlcp.accounts import AccountScope, accounts_named, acting_account
from mlcp.errors import InvalidEvent

HOME, STAGING, PROD, STRANGER = "111111111111", "222222222222", "333333333333", "999999999999"
SCOPE = AccountScope.parse(HOME, f"{STAGING},{PROD}")


def _endpoint(account: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{account}:endpoint/churn"


def test_the_envelope_account_is_acted_on_when_everything_agrees() -> None:
    detail = {"EndpointArn": _endpoint(STAGING), "Variants": [{"Image": "763104351884.dkr.ecr/x"}]}
    assert acting_account(STAGING, detail=detail, resources=[_endpoint(STAGING)], scope=SCOPE) == STAGING
    assert acting_account(HOME, detail={}, resources=[], scope=SCOPE) == HOME


def test_an_unlisted_account_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="999999999999, which this control plane does not govern"):
        acting_account(STRANGER, detail={}, resources=[], scope=SCOPE)


@pytest.mark.parametrize(
    ("detail", "resources"),
    [
        ({"EndpointArn": _endpoint(PROD)}, []),
        (
            {
                "nested": {
                    "deeper": [{"ModelPackageArn": f"arn:aws:sagemaker:us-east-1:{PROD}:model-package/g/1"}]
                }
            },
            [],
        ),
        ({}, [_endpoint(PROD)]),
    ],
)
def test_a_detail_or_resource_in_another_account_is_refused_even_a_governed_one(
    detail: dict[str, object], resources: list[str]
) -> None:
    with pytest.raises(InvalidEvent, match=f"from account {STAGING} names resources in account {PROD}"):
        acting_account(STAGING, detail=detail, resources=resources, scope=SCOPE)


def test_without_a_scope_the_envelope_and_detail_must_still_agree() -> None:
    assert acting_account(STRANGER, detail={}, resources=[], scope=None) == STRANGER
    with pytest.raises(InvalidEvent, match="names resources in account"):
        acting_account(HOME, detail={"EndpointArn": _endpoint(PROD)}, resources=[], scope=None)


@pytest.mark.parametrize("envelope", [None, "", "12345", "aws"])
def test_an_envelope_without_an_account_id_is_refused(envelope: str | None) -> None:
    with pytest.raises(InvalidEvent, match="no account id in its envelope"):
        acting_account(envelope, detail={}, resources=[], scope=SCOPE)


def test_only_arns_with_an_account_field_name_an_account() -> None:
    named = accounts_named(
        {
            "a": "arn:aws:s3:::bucket/key",
            "b": "arn:aws:sagemaker:us-east-1:aws:hub/x",
            "c": f"arn:aws-us-gov:iam::{PROD}:role/r",
            "d": f"not-an-arn {STAGING}",
        }
    )
    assert named == {PROD}


def test_the_scope_parses_the_template_variables() -> None:
    assert AccountScope.parse(HOME, "") == AccountScope(HOME, frozenset())
    assert AccountScope.parse(HOME, f" {STAGING} ,{HOME}").members == frozenset({STAGING})
    with pytest.raises(ValueError, match="not an account id"):
        AccountScope.parse(HOME, "12")


def test_a_member_accounts_stream_is_keyed_with_the_account_and_home_streams_stay() -> None:
    from mlcp.accounts import account_stream

    assert account_stream("endpoint#churn", HOME, HOME) == "endpoint#churn"
    assert account_stream("endpoint#churn", STAGING, HOME) == f"endpoint#{STAGING}:churn"
    assert account_stream("endpoint#churn", PROD, HOME) != account_stream("endpoint#churn", STAGING, HOME)
    assert account_stream("endpoint#churn", STAGING, None) == "endpoint#churn"
