"""One AWS API call -> the IAM authorization requests AWS makes for it.

The IAM action, its resource types (ARN formats) and its dependent actions come from the Service
Authorization Reference (:mod:`.sar`). What this module adds is what the SAR leaves to the
service: which request parameter names the resource, the operations whose action name differs
from the operation (S3 ``HeadObject`` -> ``s3:GetObject``, Lambda ``Invoke`` ->
``lambda:InvokeFunction``, DynamoDB transactions -> one action per item), and the implicit
authorizations AWS documents:

- tags given in a Create call are authorized as the service's tagging action too (SageMaker:
  ``sagemaker:AddTags`` with ``sagemaker:TaggingAction``);
- a role ARN handed to a service (SageMaker ``ExecutionRoleArn``) is ``iam:PassRole`` with
  ``iam:PassedToService``;
- a customer-managed KMS key behind a DynamoDB table, SQS queue, SNS topic or S3 bucket is used
  by the service on the caller's behalf (``kms:Decrypt`` / ``kms:GenerateDataKey`` with
  ``kms:ViaService`` and the service's encryption context), checked against the caller's policies
  and the key policy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlcp_cli.emulator.iam import sar
from mlcp_cli.emulator.iam.policy import ContextValue

_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}

GLOBAL_KEYS = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
        "aws:requestedregion",
        "aws:requesttag/*",
        "aws:tagkeys",
        "aws:calledvia",
        "aws:viaawsservice",
    }
)
"""Global condition keys every request fills in when they apply (absent otherwise)."""

NO_AUTHORIZATION = {("sts", "GetCallerIdentity")}
"""Operations AWS answers without any IAM authorization."""


@dataclass
class AuthRequest:
    """One authorization AWS makes for a call."""

    action: str
    resource: str
    context: dict[str, ContextValue] = field(default_factory=dict)
    known_keys: set[str] = field(default_factory=set)
    implicit: str = ""
    """Why AWS checks it although the call names another action (``tags in CreateModel``, ``KMS key of ...``)."""
    key_arn: str = ""
    """For KMS: the key whose key policy must also allow it."""
    error: tuple[str, int] | None = None
    """(code, HTTP status) the service answers when this one is denied, if not the usual one."""


@dataclass(frozen=True)
class CallSite:
    prefix: str
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    partition: str = "aws"


Lookups = Any
"""The emulator's view of resources (tags, encryption): see :class:`mlcp_cli.emulator.iam.enforce.MotoLookups`."""


def iam_prefix(signing_name: str) -> str:
    return _PREFIX_OF_SIGNING_NAME.get(signing_name, signing_name)


# --------------------------------------------------------------------------------------------
# Operation -> action(s)
# --------------------------------------------------------------------------------------------

_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _actions(site: CallSite) -> list[tuple[str, Mapping[str, Any]]]:
    """(IAM action name, the parameters naming its resource) for each authorization of the call."""
    op, params = site.operation, site.params
    if site.prefix == "s3":
        if op == "PutObject" and (params.get("ObjectLockMode") or params.get("ObjectLockRetainUntilDate")):
            # Writing with a retention date is also authorised as s3:PutObjectRetention (S3 Object Lock).
            return [(_s3_action(op, params), params), ("PutObjectRetention", params)]
        return [(_s3_action(op, params), params)]
    if site.prefix == "lambda" and op == "Invoke":
        return [("InvokeFunction", params)]
    if site.prefix == "dynamodb" and op in {"TransactWriteItems", "TransactGetItems"}:
        out: list[tuple[str, Mapping[str, Any]]] = []
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                out.append((_TRANSACT_ACTIONS.get(kind, "GetItem" if kind == "Get" else kind), body))
        return out
    if site.prefix == "dynamodb" and op in {"BatchWriteItem", "BatchGetItem"}:
        return [(op, {"TableName": table}) for table in (params.get("RequestItems") or {})]
    if site.prefix == "sqs" and op.endswith("Batch"):
        return [(op[: -len("Batch")], params)]
    if site.prefix == "sns" and op == "PublishBatch":
        return [("Publish", params)]
    return [(op, params)]


def _s3_action(op: str, params: Mapping[str, Any]) -> str:
    versioned = bool(params.get("VersionId"))
    if op in {"HeadObject", "GetObject"}:
        return "GetObjectVersion" if versioned else "GetObject"
    if op in {"ListObjectsV2", "ListObjects", "HeadBucket"}:
        return "ListBucket"
    if op == "ListObjectVersions":
        return "ListBucketVersions"
    if op in {"DeleteObject", "GetObjectTagging"} and versioned:
        return op.replace("Object", "ObjectVersion", 1)
    return op


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


def _last(value: str, sep: str) -> str:
    return value.rsplit(sep, 1)[-1]


def _function_name(value: str) -> str:
    if ":function:" in value:
        return value.split(":function:", 1)[1].split(":", 1)[0]
    return value


def _variable_values(
    variable: str, params: Mapping[str, Any], lookups: Lookups, site: CallSite
) -> list[str] | None:
    """Values of one ARN-format variable from the request parameters (None: not given)."""
    lowered = {k.lower(): v for k, v in params.items()}
    special: dict[str, Callable[[], Any]] = {
        "BucketName": lambda: params.get("Bucket"),
        "ObjectName": lambda: params.get("Key"),
        "QueueName": lambda: (
            _last(str(params["QueueUrl"]), "/") if params.get("QueueUrl") else params.get("QueueName")
        ),
        "FunctionName": lambda: (
            _function_name(str(params["FunctionName"])) if params.get("FunctionName") else None
        ),
        "ParameterNameWithoutLeadingSlash": lambda: (
            str(params["Name"]).lstrip("/") if params.get("Name") else None
        ),
        "AlarmName": lambda: (
            params.get("AlarmNames")
            or params.get("AlarmName")
            or (str(params.get("AlarmNamePrefix", "")) + "*")
        ),
        "StateMachineName": lambda: (
            _last(str(params.get("stateMachineArn") or params.get("name") or ""), ":") or None
        ),
        "ResourceId": lambda: params.get("OpsItemId"),
        "KeyId": lambda: lookups.key_id(str(params["KeyId"]), site) if params.get("KeyId") else None,
        "TopicName": lambda: _last(str(params["TopicArn"]), ":") if params.get("TopicArn") else None,
        "EventBusName": lambda: _last(str(params.get("EventBusName") or "default"), "/"),
        "RuleName": lambda: params.get("Name") or params.get("Rule"),
        "LogGroupName": lambda: params.get("logGroupName"),
        # AppConfig Data: identifiers in StartConfigurationSession, the session's in a token.
        "ApplicationId": lambda: params.get("ApplicationId") or _appconfig_session(params, 0),
        "EnvironmentId": lambda: params.get("EnvironmentId") or _appconfig_session(params, 1),
        "ConfigurationProfileId": lambda: (
            params.get("ConfigurationProfileId") or _appconfig_session(params, 2)
        ),
    }
    if variable in special:
        found = special[variable]()
    else:
        found = lowered.get(variable.lower())
        if isinstance(found, str) and found.startswith("arn:"):
            found = _last(found, "/")
    if found is None or found == "":
        return None
    return [str(v) for v in found] if isinstance(found, list) else [str(found)]


def _appconfig_session(params: Mapping[str, Any], index: int) -> str | None:
    """An AppConfig Data call's application / environment / profile: named by
    StartConfigurationSession, else the session its ConfigurationToken belongs to."""
    named = ("ApplicationIdentifier", "EnvironmentIdentifier", "ConfigurationProfileIdentifier")[index]
    if params.get(named):
        return str(params[named])
    token = params.get("ConfigurationToken")
    if not token:
        return None
    from mlcp_cli.emulator.gaps.appconfig import session_of_token

    session = session_of_token(str(token))
    if session is None:
        return None
    return (session.application_id, session.environment_id, session.profile_id)[index]


def _fill(
    resource: sar.ResourceType, params: Mapping[str, Any], lookups: Lookups, site: CallSite
) -> list[str] | None:
    # An ARN given as a parameter is the resource itself.
    regex = resource.arn_regex()
    for value in params.values():
        candidates = value if isinstance(value, list) else [value]
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.startswith("arn:") and regex.match(candidate):
                if resource.name == "function":  # a qualified ARN is authorized on the function
                    name = _function_name(candidate)
                    return [f"arn:{site.partition}:lambda:{site.region}:{site.account}:function:{name}"]
                return [candidate]
    arns = [resource.arn_format]
    for variable in resource.variables():
        if variable in {"Partition", "Region", "Account"}:
            value = {"Partition": site.partition, "Region": site.region, "Account": site.account}[variable]
            arns = [arn.replace("${" + variable + "}", value) for arn in arns]
            continue
        values = _variable_values(variable, params, lookups, site)
        if values is None:
            return None
        arns = [arn.replace("${" + variable + "}", value) for arn in arns for value in values]
    return arns


def _resources(action: sar.Action, params: Mapping[str, Any], lookups: Lookups, site: CallSite) -> list[str]:
    if not action.resource_types:
        return ["*"]
    required = [rt for rt in action.resource_types if rt.required]
    if required:
        # Several required types are either all named by the call (CreateEndpoint: the endpoint
        # and its config) or alternatives (DescribeExecution: an execution or an express one):
        # each one the call names is authorized; none named is an unresolved resource (denied).
        out: list[str] = []
        for resource in required:
            filled = _fill(resource, params, lookups, site)
            out.extend(filled or [])
        return out or [f"<unresolved {required[0].name}>"]
    for resource in action.resource_types:
        filled = _fill(resource, params, lookups, site)
        if filled is not None:
            return filled
    return ["*"]


# --------------------------------------------------------------------------------------------
# Context
# --------------------------------------------------------------------------------------------


def _tags(params: Mapping[str, Any]) -> dict[str, str]:
    raw = params.get("Tags") or params.get("tags") or {}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {
        str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value", "")))
        for t in raw
        if isinstance(t, Mapping)
    }


def _base_context(principal: str, site: CallSite, now: dt.datetime) -> dict[str, ContextValue]:
    return {
        "aws:PrincipalArn": principal,
        "aws:PrincipalAccount": site.account,
        "aws:PrincipalType": "AssumedRole",
        "aws:SecureTransport": True,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:RequestedRegion": site.region,
        "aws:ViaAWSService": False,
    }


def authorizations(principal: str, site: CallSite, lookups: Lookups, now: dt.datetime) -> list[AuthRequest]:
    """Every authorization AWS makes for the call (empty: the call needs none)."""
    if (site.prefix, site.operation) in NO_AUTHORIZATION:
        return []
    base = _base_context(principal, site, now)
    out: list[AuthRequest] = []
    request_tags = _tags(site.params)
    for name, params in _actions(site):
        found = sar.action(site.prefix, name)
        if found is None:
            out.append(
                AuthRequest(
                    f"{site.prefix}:{name}", "<no IAM action in the SAR>", dict(base), set(GLOBAL_KEYS)
                )
            )
            continue
        for resource in _resources(found, params, lookups, site):
            context = dict(base)
            known = set(GLOBAL_KEYS)
            if request_tags:
                context["aws:TagKeys"] = list(request_tags)
                for key, value in request_tags.items():
                    context[f"aws:RequestTag/{key}"] = value
            if found.name == "cloudwatch:PutMetricData" and "Namespace" in params:
                # The one condition key PutMetricData has: which namespace the data goes to.
                context["cloudwatch:namespace"] = str(params["Namespace"])
                known.add("cloudwatch:namespace")
            if found.name == "sts:AssumeRole":
                # The keys a trust policy (and the caller's policy) may test (fill ab).
                context["aws:ResourceAccount"] = resource.split(":")[4] if resource.count(":") >= 5 else ""
                context["sts:RoleSessionName"] = str(params.get("RoleSessionName", ""))
                known |= {"aws:resourceaccount", "sts:rolesessionname", "sts:externalid"}
                if "ExternalId" in params:
                    context["sts:ExternalId"] = str(params["ExternalId"])
            resource_tags = lookups.resource_tags(resource, site)
            if resource_tags is not None:
                known.add("aws:resourcetag/*")
                known.add(f"{site.prefix}:resourcetag/*")
                for key, value in resource_tags.items():
                    context[f"aws:ResourceTag/{key}"] = value
                    context[f"{site.prefix}:ResourceTag/{key}"] = value
            out.append(AuthRequest(found.name, resource, context, known))
        out.extend(_implicit(found, params, site, base, request_tags))
    out.extend(_kms(site, base, lookups))
    return out


def _implicit(
    action: sar.Action,
    params: Mapping[str, Any],
    site: CallSite,
    base: dict[str, ContextValue],
    tags: dict[str, str],
) -> list[AuthRequest]:
    out: list[AuthRequest] = []
    dependent = action.dependent_actions
    primary_types = [rt for rt in action.resource_types if rt.required] or list(action.resource_types)
    if tags:
        tag_action = next(
            (a for a in dependent if a.split(":")[1] in {"AddTags", "TagResource", "CreateTags"}), None
        )
        if tag_action is not None:
            for resource_type in primary_types[:1]:
                for resource in _fill(resource_type, params, _NO_LOOKUPS, site) or ["*"]:
                    context = dict(base)
                    context["aws:TagKeys"] = list(tags)
                    for key, value in tags.items():
                        context[f"aws:RequestTag/{key}"] = value
                    known = set(GLOBAL_KEYS)
                    if site.prefix == "sagemaker":
                        context["sagemaker:TaggingAction"] = action.name.split(":")[1]
                        known.add("sagemaker:taggingaction")
                    out.append(
                        AuthRequest(tag_action, resource, context, known, implicit=f"tags in {action.name}")
                    )
    if "iam:PassRole" in dependent:
        for role in _role_arns(params):
            context = dict(base)
            context["iam:PassedToService"] = f"{site.prefix}.amazonaws.com"
            known = set(GLOBAL_KEYS) | {"iam:passedtoservice", "iam:associatedresourcearn"}
            out.append(
                AuthRequest("iam:PassRole", role, context, known, implicit=f"role passed in {action.name}")
            )
    return out


_ROLE_ARN = re.compile(r"^arn:[\w-]+:iam::\d{12}:role/.+$")


def _role_arns(params: Any) -> list[str]:
    found: list[str] = []
    if isinstance(params, Mapping):
        for value in params.values():
            found.extend(_role_arns(value))
    elif isinstance(params, list):
        for value in params:
            found.extend(_role_arns(value))
    elif isinstance(params, str) and _ROLE_ARN.match(params):
        found.append(params)
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------------------------
# KMS used on the caller's behalf
# --------------------------------------------------------------------------------------------

_DYNAMODB_DATA = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
}
_KMS_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessageBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "ReceiveMessage"): ("kms:Decrypt",),
    ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sns", "PublishBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("s3", "PutObject"): ("kms:GenerateDataKey",),
    ("s3", "GetObject"): ("kms:Decrypt",),
}
KMS_ERRORS = {
    "dynamodb": ("AccessDeniedException", 400),
    "sqs": ("KmsAccessDenied", 400),
    "sns": ("KMSAccessDenied", 400),
    "s3": ("AccessDenied", 403),
}


def _kms(site: CallSite, base: dict[str, ContextValue], lookups: Lookups) -> list[AuthRequest]:
    if site.prefix == "dynamodb" and site.operation in _DYNAMODB_DATA:
        tables = {t for _, p in _actions(site) if (t := p.get("TableName"))}
        actions: tuple[str, ...] = ("kms:Decrypt",)
        targets = [
            (
                lookups.table_key(str(t), site)[0],
                {"aws:dynamodb:tableName": str(t), "aws:dynamodb:subscriberId": site.account},
            )
            for t in sorted(tables)
        ]
    elif (site.prefix, site.operation) in _KMS_ACTIONS:
        actions = _KMS_ACTIONS[(site.prefix, site.operation)]
        targets = [lookups.encryption_of(site)]
    else:
        return []
    out: list[AuthRequest] = []
    for key_arn, encryption_context in targets:
        if not key_arn:
            continue
        for action in actions:
            context = dict(base)
            context["kms:ViaService"] = f"{site.prefix}.{site.region}.amazonaws.com"
            context["kms:CallerAccount"] = site.account
            for key, value in encryption_context.items():
                context[f"kms:EncryptionContext:{key}"] = value
            context["kms:EncryptionContextKeys"] = list(encryption_context)
            known = set(GLOBAL_KEYS) | {
                "kms:viaservice",
                "kms:calleraccount",
                "kms:encryptioncontext:*",
                "kms:encryptioncontextkeys",
            }
            out.append(
                AuthRequest(
                    action,
                    key_arn,
                    context,
                    known,
                    implicit=f"KMS key behind {site.prefix}:{site.operation}",
                    key_arn=key_arn,
                    error=KMS_ERRORS.get(site.prefix),
                )
            )
    return out


class _NoLookups:
    def resource_tags(self, resource: str, site: CallSite) -> dict[str, str] | None:
        return None

    def key_id(self, key: str, site: CallSite) -> str:
        return key


_NO_LOOKUPS = _NoLookups()
