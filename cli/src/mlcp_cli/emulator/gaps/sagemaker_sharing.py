"""SageMaker model packages shared across accounts: fill af (issue 20, ADR 27).

AWS: a model package group's resource policy (``PutModelPackageGroupPolicy``,
``GetModelPackageGroupPolicy``, ``DeleteModelPackageGroupPolicy``) lets other accounts use its
packages; ``CreateModel`` with a ``ModelPackageName`` of another account deploys the shared package
only when the package exists and both the caller's identity policies and the group's resource policy
allow the caller ``sagemaker:DescribeModelPackage`` on it (IAM's cross-account rule: both sides).

moto (5.2.5): has none of the three policy actions, and ``CreateModel`` accepts any
``ModelPackageName`` without reading it, so a deployment into another account would succeed with no
sharing at all, or with a package that does not exist.

This fill: the three actions store the policy on moto's group (a group that does not exist is a
ValidationException, a policy that is not a JSON object a ValidationException); ``CreateModel`` with
a package ARN of another account than the caller's is refused (ValidationException for a package that
does not exist, AccessDeniedException naming the side that does not allow it). Same-account packages
are left to moto (unchanged). Not emulated: AWS RAM resource shares (discoverability).
"""

from __future__ import annotations

import json
from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original

ACTION = "sagemaker:DescribeModelPackage"


def _validation(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _access_denied(message: str) -> Exception:
    from moto.sagemaker.exceptions import SagemakerClientError

    class AccessDenied(SagemakerClientError):
        code = "AccessDeniedException"

    return AccessDenied(message)


def _group(backend: Any, name: str) -> Any:
    group = backend.model_package_groups.get(name)
    if group is None:
        raise _validation(f"Model Package Group {name} does not exist.")
    return group


def fill_sagemaker_put_model_package_group_policy(self: Any) -> Any:
    """PutModelPackageGroupPolicy: keep the policy on the group (moto has no such action)."""
    from moto.core.responses import ActionResult

    group = _group(self.sagemaker_backend, str(self._get_param("ModelPackageGroupName")))
    document = self._get_param("ResourcePolicy")
    try:
        parsed = json.loads(document) if isinstance(document, str) else None
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed.get("Statement"):
        raise _validation("The resource policy is not a valid JSON policy document.")
    group.mlcp_resource_policy = document
    return ActionResult({"ModelPackageGroupArn": group.arn})


def fill_sagemaker_get_model_package_group_policy(self: Any) -> Any:
    """GetModelPackageGroupPolicy: the group's policy; a group without one is a ValidationException."""
    from moto.core.responses import ActionResult

    group = _group(self.sagemaker_backend, str(self._get_param("ModelPackageGroupName")))
    policy = getattr(group, "mlcp_resource_policy", None)
    if policy is None:
        raise _validation(f"Cannot find resource policy for {group.arn}.")
    return ActionResult({"ResourcePolicy": policy})


def fill_sagemaker_delete_model_package_group_policy(self: Any) -> Any:
    """DeleteModelPackageGroupPolicy: drop the group's policy."""
    from moto.core.responses import EmptyResult

    group = _group(self.sagemaker_backend, str(self._get_param("ModelPackageGroupName")))
    group.mlcp_resource_policy = None
    return EmptyResult()


def shared_package_refusal(caller_arn: str, caller_account: str, package_arn: str, region: str) -> str | None:
    """Why ``caller_arn`` may not use the package ``package_arn`` of another account, or None."""
    from moto.sagemaker.models import sagemaker_backends

    from mlcp_cli.emulator.iam import moto_role_policies
    from mlcp_cli.emulator.iam.policy import Policy, Request, evaluate

    owner = package_arn.split(":")[4]
    backend = sagemaker_backends[owner][package_arn.split(":")[3] or region]
    package = backend.describe_model_package(package_arn)  # the caller checked that it exists
    context = {"aws:principalaccount": caller_account, "aws:resourceaccount": owner}
    request = Request(
        caller_arn, ACTION, package_arn, context, frozenset(context), principal_account=caller_account
    )
    if ":assumed-role/" in caller_arn:
        role = caller_arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        identity = evaluate(moto_role_policies(f"arn:aws:iam::{caller_account}:role/{role}"), request)
        if not identity.allowed:
            return f"no identity-based policy of {caller_arn} allows {ACTION} on {package_arn}"
    group = backend.model_package_groups.get(str(package.model_package_group_name))
    policy = getattr(group, "mlcp_resource_policy", None) if group is not None else None
    if not policy:
        return f"the model package group of {package_arn} has no resource policy sharing it"
    decision = evaluate([Policy.parse("model package group policy", policy)], request, resource_policy=True)
    if not decision.allowed:
        return f"the resource policy of the model package group of {package_arn} does not allow {caller_arn}"
    return None


def _package_names(primary: Any, containers: Any) -> list[str]:
    found = [c.get("ModelPackageName") for c in [primary, *(containers or [])] if isinstance(c, dict)]
    return [str(name) for name in found if name]


def fill_sagemaker_create_model_shared_package(self: Any) -> Any:
    """CreateModel request: a package of another account must exist and be shared with the caller."""
    from mlcp_cli.emulator.gaps.identity import caller_identity

    names = _package_names(self._get_param("PrimaryContainer"), self._get_param("Containers"))
    foreign = [n for n in names if n.startswith("arn:") and n.split(":")[4] != self.current_account]
    if foreign:
        from moto.sagemaker.models import sagemaker_backends

        caller = caller_identity(self.get_access_key(), self.current_account, self.region)["Arn"]
        for arn in foreign:
            owner_backend = sagemaker_backends[arn.split(":")[4]][arn.split(":")[3] or self.region]
            try:
                owner_backend.describe_model_package(arn)
            except Exception as exc:
                raise _validation(f"Model package {arn} does not exist.") from exc
            refusal = shared_package_refusal(caller, self.current_account, arn, self.region)
            if refusal is not None:
                raise _access_denied(f"User: {caller} is not authorized to use {arn}: {refusal}")
    return _call_original(type(self), "create_model", self)
