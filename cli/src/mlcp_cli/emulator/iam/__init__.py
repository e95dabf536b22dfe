"""IAM in local mode: the evaluator (:mod:`.policy`), the Service Authorization Reference
(:mod:`.sar`), the call -> authorizations mapping (:mod:`.calls`) and the enforcement hook
(:mod:`.enforce`). See docs/adr/0020-local-iam-enforcement.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlcp_cli.emulator.iam.enforce import DecisionRecord, IamEnforcer

if TYPE_CHECKING:
    from mlcp_cli.emulator.stack import LocalStack


def enforcer_for(stack: LocalStack, account: str = "123456789012") -> IamEnforcer:
    """An enforcer for the deployed stack: its roles get their managed policies (see
    :func:`attach_managed_policies`) and reports name managed policies by their logical ids."""
    enforcer = IamEnforcer(account=account)
    for logical_id, resource_type in stack.resource_types.items():
        if resource_type == "AWS::IAM::ManagedPolicy":
            enforcer.policy_names[stack.physical_ids[logical_id]] = logical_id
    attach_managed_policies(stack, account)
    return enforcer


def attach_managed_policies(stack: LocalStack, account: str) -> None:
    """Attach each role's ``ManagedPolicyArns`` in moto's IAM.

    AWS: CloudFormation attaches them when it creates the role. moto (5.2.5): its CloudFormation
    creates the role and the managed policies but attaches none of them (``ListAttachedRolePolicies``
    is empty), so a role would hold only its inline policies. AWS managed policies
    (``arn:aws:iam::aws:policy/...``) come from moto's bundled copies.
    """
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    for logical_id, resource in (stack.template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::IAM::Role" or logical_id not in stack.physical_ids:
            continue
        role_name = stack.physical_ids[logical_id]
        for entry in (resource.get("Properties") or {}).get("ManagedPolicyArns") or []:
            arn = _resolved(entry, stack)
            if arn is None:
                continue
            if arn not in backend.managed_policies and ":iam::aws:policy/" in arn:
                _load_aws_managed_policy(backend, arn)
            try:
                backend.attach_role_policy(arn, role_name)
            except Exception:  # an AWS managed policy moto does not ship: the role simply lacks it
                continue


def _load_aws_managed_policy(backend: Any, arn: str) -> None:
    """moto loads its AWS managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES: load one."""
    import json

    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy

    name = arn.rsplit("/", 1)[-1]
    data = json.loads(aws_managed_policies_data).get(name)
    if data is None:
        return
    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    backend.managed_policies[policy.arn] = policy


def _resolved(entry: object, stack: LocalStack) -> str | None:
    if isinstance(entry, str):
        return entry.replace("${AWS::Partition}", "aws")
    if isinstance(entry, dict) and "Ref" in entry:
        return stack.physical_ids.get(str(entry["Ref"]))
    if isinstance(entry, dict) and "Fn::Sub" in entry and isinstance(entry["Fn::Sub"], str):
        return str(entry["Fn::Sub"]).replace("${AWS::Partition}", "aws")
    return None


__all__ = ["DecisionRecord", "IamEnforcer", "enforcer_for"]
