"""More than one AWS account in one emulator (ADR 26): member accounts beside the local control plane's.

moto keeps every backend per account id and serves a request from the account its access key
belongs to (an IAM user's key, or the credentials AssumeRole returned for a role of that account);
unknown keys (the process's fake credentials) are the control plane's account. So an account here is
an administrator user in that account's IAM and a boto3 Session signing with its key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from mlcp_cli.emulator.iam import apply_queue_policies
from mlcp_cli.emulator.stack import LocalStack, deploy_local_stack

if TYPE_CHECKING:
    from mlcp_cli.emulator.runtime import LocalControlPlane

MEMBER_TEMPLATE = Path(__file__).resolve().parents[4] / "member.yaml"
MEMBER_STACK_NAME = "mlcp-member"
_ADMIN = "mlcp-local-admin"


def account_session(account: str, region: str) -> boto3.Session:
    """A Session signing as an administrator of ``account`` (created on first use, in moto's IAM
    of that account; local mode's IAM layer checks only the stack's roles and named principals)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    if _ADMIN not in backend.users:
        backend.create_user(region, _ADMIN)
    # One key, reused: IAM allows a user two (moto enforces it), and every CLI command asks again.
    keys = backend.users[_ADMIN].access_keys
    key = keys[0] if keys else backend.create_access_key(_ADMIN)
    return boto3.Session(
        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key, region_name=region
    )


def deploy_member_stack(
    cp: LocalControlPlane,
    account: str,
    parameters: dict[str, str],
    template: Path = MEMBER_TEMPLATE,
) -> LocalStack:
    """Deploy ``member.yaml`` into ``account`` of the running emulator, as a member's administrator
    would (its queue policies applied: moto's CloudFormation skips them)."""
    session = account_session(account, cp.region)
    stack = deploy_local_stack(template, parameters, session, stack_name=MEMBER_STACK_NAME)
    apply_queue_policies(stack, account)
    return stack


def member_parameters(cp: LocalControlPlane, external_id: str) -> dict[str, str]:
    """The member stack's parameters from the control plane stack's outputs."""
    outputs = cp.stack.outputs
    return {
        "GovernanceAccountId": outputs["GovernanceBusArn"].split(":")[4],
        "GovernanceBusArn": outputs["GovernanceBusArn"],
        "TrustedRoleArns": outputs["MemberTrustedRoleArns"],
        "ExternalId": external_id,
    }


def put_service_events(account: str, region: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Put events on ``account``'s default bus the way its AWS services do (``aws.*`` sources)."""
    from moto.events.models import events_backends

    from mlcp_cli.emulator.runtime import _shaped

    result: list[dict[str, Any]] = events_backends[account][region].put_events(_shaped(entries))
    return result
