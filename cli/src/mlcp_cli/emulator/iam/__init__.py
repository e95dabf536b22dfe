"""IAM in local mode: the evaluator (:mod:`.policy`), the Service Authorization Reference
(:mod:`.sar`), the call -> authorizations mapping (:mod:`.calls`) and the enforcement hook
(:mod:`.enforce`). See docs/adr/0018-local-mode-enforces-iam.md."""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any

from mlcp_cli.emulator.iam.enforce import DecisionRecord, IamEnforcer, moto_role_policies

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
    apply_queue_policies(stack, account)
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
            arn = _resolved(_chosen(entry, stack, account), stack)
            if arn is None:
                continue
            if arn not in backend.managed_policies and ":iam::aws:policy/" in arn:
                _load_aws_managed_policy(backend, arn)
            try:
                backend.attach_role_policy(arn, role_name)
            except Exception:  # an AWS managed policy moto does not ship: the role simply lacks it
                continue


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    """moto's bundled AWS managed policies by name (megabytes of JSON: parsed once per process)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data


def _load_aws_managed_policy(backend: Any, arn: str) -> None:
    """moto loads its AWS managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES: load one."""
    from moto.iam.models import AWSManagedPolicy

    name = arn.rsplit("/", 1)[-1]
    data = _aws_managed_policies().get(name)
    if data is None:
        return
    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
    backend.managed_policies[policy.arn] = policy


def _chosen(entry: object, stack: LocalStack, account: str) -> object:
    """The branch of an ``Fn::If`` entry its condition selects (as CloudFormation evaluated it for the
    stack), e.g. ``!If [HasMembers, !Ref MemberAccessPolicy, !Ref AWS::NoValue]``; else ``entry``."""
    if not (isinstance(entry, dict) and isinstance(entry.get("Fn::If"), list) and len(entry["Fn::If"]) == 3):
        return entry
    from moto.cloudformation.models import cloudformation_backends

    name, when_true, when_false = entry["Fn::If"]
    backend = cloudformation_backends[account][_region_of(stack)]
    deployed = [s for s in backend.stacks.values() if s.name == stack.name and s.status != "DELETE_COMPLETE"]
    holds = bool(deployed) and bool(deployed[-1].resource_map.lazy_condition_map[str(name)])
    return _chosen(when_true if holds else when_false, stack, account)


def _resolved(entry: object, stack: LocalStack) -> str | None:
    if isinstance(entry, str):
        return entry.replace("${AWS::Partition}", "aws")
    if isinstance(entry, dict) and "Ref" in entry:
        return stack.physical_ids.get(str(entry["Ref"]))
    if isinstance(entry, dict) and "Fn::Sub" in entry and isinstance(entry["Fn::Sub"], str):
        return str(entry["Fn::Sub"]).replace("${AWS::Partition}", "aws")
    return None


def bus_delivery_refusal(
    *, source_account: str, role_arn: str | None, bus_arn: str, bus_policy: str | None, event: dict[str, Any]
) -> str | None:
    """Why EventBridge would not put ``event`` from a rule in ``source_account`` (with its target's
    ``role_arn``) on the bus ``bus_arn``, or None when it would (fill z).

    AWS: the rule's role must be allowed ``events:PutEvents`` on the bus by its identity policies;
    across accounts the bus's resource policy must allow the role (or its account) as well. The
    request context carries ``events:source`` and ``events:detail-type`` of the event.
    """
    from mlcp_cli.emulator.iam.policy import Policy, Request, evaluate

    bus_account = bus_arn.split(":")[4]
    principal = (
        f"arn:aws:sts::{source_account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/events"
        if role_arn
        else source_account
    )
    context = {
        "events:source": str(event.get("source")),
        "events:detail-type": str(event.get("detail-type")),
        "aws:principalaccount": source_account,
        "aws:resourceaccount": bus_account,
    }
    if role_arn:
        context["aws:principalarn"] = role_arn
    request = Request(
        principal, "events:PutEvents", bus_arn, context, frozenset(context), principal_account=source_account
    )
    if role_arn:
        identity = evaluate(moto_role_policies(role_arn), request)
        if not identity.allowed:
            return f"{role_arn} is not allowed events:PutEvents on {bus_arn} ({identity.effect})"
    elif bus_account == source_account:
        return None
    if bus_account == source_account:
        return None
    if not bus_policy:
        return f"{bus_arn} has no policy admitting account {source_account}"
    resource = evaluate([Policy.parse("event bus policy", bus_policy)], request, resource_policy=True)
    if not resource.allowed:
        return f"the policy of {bus_arn} does not admit {principal} ({resource.effect})"
    return None


__all__ = ["DecisionRecord", "IamEnforcer", "bus_delivery_refusal", "enforcer_for", "moto_role_policies"]


class _Unresolvable(ValueError):
    pass


def apply_queue_policies(stack: LocalStack, account: str) -> None:
    """Set each ``AWS::SQS::QueuePolicy`` on its queues in moto.

    AWS: CloudFormation sets the queue's Policy attribute. moto (5.2.5): its CloudFormation skips
    the resource type, so a queue has no policy and EventBridge's dead-letter sends could not be
    checked. The policy's intrinsics (Ref, GetAtt ...Arn, Sub) are resolved from the deployed
    stack; a policy that cannot be resolved is left unset (its sends are then denied: visible).
    """
    from moto.sqs.models import sqs_backends

    region = _region_of(stack)
    for resource in (stack.template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::SQS::QueuePolicy":
            continue
        properties = resource.get("Properties") or {}
        try:
            document = _resolve(properties.get("PolicyDocument"), stack, account, region)
            queues = [_resolve(q, stack, account, region) for q in properties.get("Queues") or []]
        except _Unresolvable:
            continue
        for url in queues:
            backend = sqs_backends[account][region]
            backend.set_queue_attributes(str(url).rsplit("/", 1)[-1], {"Policy": json.dumps(document)})


def _region_of(stack: LocalStack) -> str:
    for physical in stack.physical_ids.values():
        if physical.startswith("arn:") and physical.split(":")[3]:
            return physical.split(":")[3]
    return "us-east-1"


def _arn_of(logical: str, stack: LocalStack, account: str, region: str) -> str:
    physical = stack.physical_ids.get(logical)
    kind = stack.resource_types.get(logical, "")
    if physical is None:
        raise _Unresolvable(logical)
    if physical.startswith("arn:"):
        return physical
    if kind == "AWS::SQS::Queue":
        return f"arn:aws:sqs:{region}:{account}:{physical.rsplit('/', 1)[-1]}"
    if kind == "AWS::Events::Rule":
        return f"arn:aws:events:{region}:{account}:rule/{physical}"
    if kind == "AWS::Lambda::Function":
        return f"arn:aws:lambda:{region}:{account}:function:{physical}"
    raise _Unresolvable(f"{logical}.Arn")


def _resolve(value: Any, stack: LocalStack, account: str, region: str) -> Any:
    pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
    if isinstance(value, list):
        return [_resolve(v, stack, account, region) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        name = str(value["Ref"])
        if name in pseudo:
            return pseudo[name]
        if name not in stack.physical_ids:
            raise _Unresolvable(name)
        return stack.physical_ids[name]
    if set(value) == {"Fn::GetAtt"}:
        logical, attribute = (
            value["Fn::GetAtt"]
            if isinstance(value["Fn::GetAtt"], list)
            else str(value["Fn::GetAtt"]).split(".", 1)
        )
        if attribute != "Arn":
            raise _Unresolvable(f"{logical}.{attribute}")
        return _arn_of(str(logical), stack, account, region)
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in pseudo:
                return pseudo[name]
            if name.endswith(".Arn"):
                return _arn_of(name[: -len(".Arn")], stack, account, region)
            if name in stack.physical_ids:
                return stack.physical_ids[name]
            raise _Unresolvable(name)

        return re.sub(r"\$\{([^}!]+)\}", substitute, value["Fn::Sub"])
    if any(key.startswith("Fn::") for key in value):
        raise _Unresolvable(str(list(value)))
    return {k: _resolve(v, stack, account, region) for k, v in value.items()}
