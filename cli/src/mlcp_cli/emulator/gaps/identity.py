"""Who called: fill i (STS GetCallerIdentity inside handlers answers the function's role; SageMaker
CreatedBy / LastModifiedBy)."""

from __future__ import annotations

import copy
import threading
import uuid
from typing import Any

from mlcp_cli.emulator.gaps.awslambda import FunctionSpec, _account_region, running_function
from mlcp_cli.emulator.gaps.state import _call_original


def _function_role_identity(spec: FunctionSpec) -> tuple[str, str, str] | None:
    """(PrincipalId, Arn, account) of the function's execution role session, as Lambda signs with it."""
    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    account, region = _account_region(spec)
    try:
        role_arn = str(lambda_backend(account, region).get_function(spec.name).role)
    except Exception:  # registered but not (or no longer) a moto function: nothing to sign as
        return None
    partition = get_partition(region)
    try:
        role_id = str(iam_backends[account][partition].get_role_by_arn(role_arn).id)
    except Exception:  # the role is not in moto's IAM: a stable id of AWS's shape
        role_id = "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, role_arn).hex[:17].upper()
    role_name = role_arn.rsplit("/", 1)[-1]
    return (
        f"{role_id}:{spec.name}",
        f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{spec.name}",
        account,
    )


def fill_sts_get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
    """A Lambda handler's calls are made as the function's execution role.

    AWS: Lambda gives the handler the execution role's session credentials, so the handler's
    calls (GetCallerIdentity, and every ``CreatedBy``-style record) name
    ``arn:aws:sts::<account>:assumed-role/<role name>/<function name>``.
    moto: identifies the caller by the request's access key (an IAM user's key -> that user, an
    AssumeRole key -> that role session); an in-process handler signs with the process's fake
    key, so it is moto's default identity (``sts::<account>:user/moto``).
    Fill: a key moto knows keeps its identity; otherwise, while a registered function runs in
    this thread, the caller is that function's role session (role from its Lambda configuration).
    Returns moto's ``(UserId, Arn, Account)`` triple.
    """
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    known = self.get_assumed_role_from_access_key(access_key_id) or iam_backends[self.account_id][
        get_partition(region)
    ].get_user_from_access_key_id(access_key_id)
    spec = running_function()
    if not known and spec is not None:
        role_identity = _function_role_identity(spec)
        if role_identity is not None:
            return role_identity
    identity: tuple[str, str, str] = _call_original(
        type(self), "get_caller_identity", self, access_key_id, region
    )
    return identity


def caller_identity(access_key_id: str, account_id: str, region: str) -> dict[str, str]:
    """The IAM identity behind an access key, as SageMaker's ``UserContext.IamIdentity`` shows it."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    principal_id, arn, _ = sts_backends[account_id][get_partition(region)].get_caller_identity(
        access_key_id, region
    )
    return {"Arn": arn, "PrincipalId": principal_id}


class _RequestCaller(threading.local):
    identity: dict[str, str] | None = None


_REQUEST_CALLER = _RequestCaller()


def _with_request_caller(response: Any, name: str) -> Any:
    """Run moto's response method ``name`` with the request's signer as this thread's caller."""
    outer = _REQUEST_CALLER.identity
    _REQUEST_CALLER.identity = caller_identity(
        response.get_access_key(), response.current_account, response.region
    )
    try:
        return _call_original(type(response), name, response)
    finally:
        _REQUEST_CALLER.identity = outer


def fill_sagemaker_create_model_package_caller(self: Any) -> Any:
    """CreateModelPackage request: its signer is the caller the package records (see below)."""
    return _with_request_caller(self, "create_model_package")


def fill_sagemaker_update_model_package_caller(self: Any) -> Any:
    """UpdateModelPackage request: its signer is the caller the package records (see below)."""
    return _with_request_caller(self, "update_model_package")


def stamp_model_package_caller(package: Any, *, created: bool) -> None:
    """A model package's ``CreatedBy`` / ``LastModifiedBy`` name the IAM identity that called.

    AWS: DescribeModelPackage (and the state-change event) report ``CreatedBy`` and
    ``LastModifiedBy`` UserContexts whose ``IamIdentity`` (``Arn``, ``PrincipalId``) is whoever
    signed CreateModelPackage and the latest UpdateModelPackage; separation-of-duties checks
    compare the two.
    moto: both are the same fake Studio user profile (``fake-user-profile-name``) whoever calls,
    so every approval looks like a self-approval.
    Fill: the SageMaker response methods record the request's signer (access key -> IAM user or
    role session, via STS's mapping; unknown keys -> moto's default identity; an in-process
    handler -> its function's role session); create sets ``CreatedBy`` and ``LastModifiedBy``,
    update sets ``LastModifiedBy``, each ``{"IamIdentity": {...}}`` over moto's own keys.
    Backend calls made outside a request (CloudFormation) keep moto's values.
    """
    identity = _REQUEST_CALLER.identity
    if identity is None:
        return
    if created:
        package.created_by = {**(package.created_by or {}), "IamIdentity": dict(identity)}
        package.last_modified_by = copy.deepcopy(package.created_by)
    else:
        package.last_modified_by = {**(package.last_modified_by or {}), "IamIdentity": dict(identity)}
