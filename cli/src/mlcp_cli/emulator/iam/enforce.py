"""IAM enforcement in local mode: every AWS call made by a function or a state machine is checked
against its role's policies before moto sees it, and denied exactly as AWS denies it.

Where: ``botocore.client.BaseClient._make_api_call`` (every boto3 client in the process, with the
operation's unserialised parameters). Who is calling:

- a Step Functions service integration (Task state): the state machine's role; moto's
  interpreter creates those clients with ``boto_client_for``, which is wrapped to tag each client
  with the execution's state machine;
- a Lambda handler running in-process (:func:`mlcp_cli.emulator.gaps.running_function`): the
  function's execution role (from its Lambda configuration);
- anything else (the operator, a test, the scenario runner): not checked, unless
  :meth:`IamEnforcer.attach_principal_policy` gave that principal a policy.

A denial raises the service's own error (``AccessDeniedException`` for JSON services,
``AccessDenied`` 403 for S3/SQS/CloudWatch, ``AuthorizationError`` for SNS, KMS errors as the
service wraps them) with AWS's message naming the principal, the action and the resource. S3
GetObject/HeadObject of a missing key answers 403 unless the caller may ``s3:ListBucket``.

Every decision is recorded (:attr:`IamEnforcer.decisions`) for ``mlcp iam report``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mlcp_cli.emulator.iam import calls
from mlcp_cli.emulator.iam.policy import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Decision,
    Policy,
    Request,
    combine_key_policy,
    combine_same_account,
    evaluate,
)
from mlcp_cli.emulator.patches import Hook, Patches

_JSON_DENIED = ("AccessDeniedException", 400)
_ERRORS: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "cloudwatch": ("AccessDenied", 403),
    "lambda": ("AccessDeniedException", 403),
    "iam": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
}


@dataclass(frozen=True)
class Caller:
    """Who makes a call: ``function`` / ``state machine`` (its name) / ``principal`` /
    ``assumed role`` (a session of a role in another account, fill ab)."""

    kind: str
    name: str
    role_arn: str
    session_arn: str
    account: str = ""
    """The caller's account when it is not the enforcer's (an assumed role in a member account)."""


def _with_trust_policy(identity: Decision, request: Request) -> Decision:
    """AssumeRole is decided by the role's trust policy too (fill ab).

    AWS: the trust policy must allow the caller; in the role's own account a trust statement naming
    the account (``:root``) delegates to the caller's identity policies, one naming the caller allows
    by itself; across accounts both the caller's identity policy and the trust policy must allow.
    A role that does not exist is AccessDenied (not NoSuchEntity) to the caller.
    """
    from moto.iam.models import iam_backends

    role_account = request.resource.split(":")[4] if request.resource.count(":") >= 5 else ""
    try:
        role = iam_backends[role_account]["aws"].get_role_by_arn(request.resource)
    except Exception:
        return Decision(IMPLICIT_DENY, identity.allowed_by)
    document = role.assume_role_policy_document
    trust_document = json.loads(document) if isinstance(document, str) else document
    trust = evaluate([Policy("trust policy", trust_document)], request, resource_policy=True)
    if role_account == request.principal_account:
        return combine_key_policy(identity, trust, trust_document, request)
    if EXPLICIT_DENY in (identity.effect, trust.effect):
        return combine_same_account(identity, trust)
    if identity.allowed and trust.allowed:
        return Decision(ALLOW, identity.allowed_by + trust.allowed_by)
    return Decision(IMPLICIT_DENY, identity.allowed_by + trust.allowed_by)


def moto_role_policies(role_arn: str) -> list[Policy]:
    """The role's inline and attached managed policies as moto's IAM of the role's account holds
    them (empty when the role does not exist)."""
    from moto.iam.models import iam_backends

    account = role_arn.split(":")[4]
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return []
    policies = [Policy.parse(str(name), document) for name, document in role.policies.items()]
    for managed in role.managed_policies.values():
        document = next((v.document for v in managed.versions if v.is_default), managed.versions[-1].document)
        policies.append(Policy.parse(managed.name, document))
    return policies


@dataclass(frozen=True)
class DecisionRecord:
    caller_kind: str
    caller: str
    role_arn: str
    operation: str
    """``service:Operation`` as called (``sagemaker:CreateEndpointConfig``)."""
    action: str
    resource: str
    effect: str
    allowed_by: tuple[str, ...]
    denied_by: tuple[str, ...]
    unknown_keys: tuple[str, ...]
    implicit: str
    time: str

    def as_json(self) -> dict[str, Any]:
        return {
            "caller_kind": self.caller_kind,
            "caller": self.caller,
            "role_arn": self.role_arn,
            "operation": self.operation,
            "action": self.action,
            "resource": self.resource,
            "effect": self.effect,
            "allowed_by": list(self.allowed_by),
            "denied_by": list(self.denied_by),
            "unknown_keys": list(self.unknown_keys),
            "implicit": self.implicit,
            "time": self.time,
        }


class DeliveryDenied(Exception):
    """EventBridge may not deliver to the target (or its DLQ): AWS's AccessDenied for a rule."""


class _Bypass(threading.local):
    depth = 0


_BYPASS = _Bypass()


class _SfnCaller(threading.local):
    state_machine_arn: str | None = None


def denial_message(principal: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied message (the form with the reason, as IAM writes it since 2021)."""
    if decision.unknown_keys:
        reason = (
            "with an explicit deny: the local IAM evaluator cannot evaluate condition key(s) "
            + ", ".join(decision.unknown_keys)
        )
    elif decision.effect == EXPLICIT_DENY:
        reason = f"with an explicit deny in an identity-based policy ({', '.join(decision.denied_by)})"
    else:
        reason = f"because no identity-based policy allows the {action} action"
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource} {reason}"


# --------------------------------------------------------------------------------------------
# What the emulator knows about resources
# --------------------------------------------------------------------------------------------


class MotoLookups:
    """Tags, encryption keys and key policies, read from moto's backends (no API call, no check)."""

    def _kms(self, site: calls.CallSite) -> Any:
        from moto.kms.models import kms_backends

        return kms_backends[site.account][site.region]

    def key_arn(self, key: str, site: calls.CallSite) -> str:
        try:
            backend = self._kms(site)
            return str(backend.describe_key(backend.any_id_to_key_id(key)).arn)
        except Exception:
            return (
                key
                if key.startswith("arn:")
                else f"arn:{site.partition}:kms:{site.region}:{site.account}:key/{key}"
            )

    def key_id(self, key: str, site: calls.CallSite) -> str:
        return self.key_arn(key, site).rsplit("/", 1)[-1]

    def key_policy(self, key_arn: str, site: calls.CallSite) -> dict[str, Any] | None:
        try:
            backend = self._kms(site)
            raw = backend.describe_key(backend.any_id_to_key_id(key_arn)).policy
            parsed: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
            return parsed
        except Exception:
            return None

    def function_policy(self, name: str, site: calls.CallSite) -> dict[str, Any] | None:
        from moto.awslambda.utils import get_backend

        try:
            wire: dict[str, Any] = json.loads(get_backend(site.account, site.region).get_policy(name))
        except Exception:  # no resource policy at all
            return None
        policy = wire.get("Policy", wire)  # GetPolicy's answer wraps the document as a string
        parsed: dict[str, Any] = json.loads(policy) if isinstance(policy, str) else policy
        return parsed

    def queue_policy(self, site: calls.CallSite) -> dict[str, Any] | None:
        from moto.sqs.models import sqs_backends

        try:
            queue = sqs_backends[site.account][site.region].get_queue(
                str(site.params["QueueUrl"]).rsplit("/", 1)[-1]
            )
            raw = queue.policy
        except Exception:
            return None
        if not raw:
            return None
        parsed: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
        return parsed

    def resource_tags(self, resource: str, site: calls.CallSite) -> dict[str, str] | None:
        if not resource.startswith("arn:") or site.prefix != "sagemaker":
            return None
        from moto.sagemaker.models import sagemaker_backends

        try:
            tags = sagemaker_backends[site.account][site.region].list_tags(resource)
        except Exception:
            return {}  # not there (yet): no tags
        if isinstance(tags, dict):
            return {str(k): str(v) for k, v in tags.items()}
        out: dict[str, str] = {}
        pending: list[Any] = list(tags or [])
        while pending:  # moto keeps some resources' tags as a list of tag lists
            tag = pending.pop(0)
            if isinstance(tag, dict) and "Key" in tag:
                out[str(tag["Key"])] = str(tag.get("Value", ""))
            elif isinstance(tag, list | tuple):
                pending.extend(tag)
        return out

    def table_key(self, table: str, site: calls.CallSite) -> tuple[str, dict[str, str]]:
        from moto.dynamodb.models import dynamodb_backends

        try:
            spec = dynamodb_backends[site.account][site.region].get_table(table).sse_specification or {}
        except Exception:
            return "", {}
        enabled = spec.get("Enabled", spec.get("SSEEnabled"))  # CloudFormation's name is SSEEnabled
        if not enabled or not spec.get("KMSMasterKeyId"):
            return "", {}
        return self.key_arn(str(spec["KMSMasterKeyId"]), site), {}

    def encryption_of(self, site: calls.CallSite) -> tuple[str, dict[str, str]]:
        params = site.params
        try:
            if site.prefix == "sqs":
                from moto.sqs.models import sqs_backends

                name = str(params["QueueUrl"]).rsplit("/", 1)[-1]
                queue = sqs_backends[site.account][site.region].get_queue(name)
                key = getattr(queue, "kms_master_key_id", None)
                return (self.key_arn(str(key), site), {"aws:sqs:arn": queue.queue_arn}) if key else ("", {})
            if site.prefix == "sns":
                from moto.sns.models import sns_backends

                topic = sns_backends[site.account][site.region].get_topic(str(params["TopicArn"]))
                key = topic.kms_master_key_id
                return (self.key_arn(str(key), site), {"aws:sns:topicArn": topic.arn}) if key else ("", {})
            if site.prefix == "s3":
                from moto.s3.models import s3_backends

                bucket_name = str(params["Bucket"])
                backend = s3_backends[site.account][site.partition]
                rule = (backend.get_bucket_encryption(bucket_name) or {}).get("Rule") or {}
                default = rule.get("ApplyServerSideEncryptionByDefault") or {}
                if site.operation == "GetObject":
                    obj = backend.get_object(bucket_name, str(params["Key"]))
                    if obj is None or obj.encryption != "aws:kms" or not obj.kms_key_id:
                        return "", {}
                    key = str(obj.kms_key_id)
                elif params.get("SSEKMSKeyId"):
                    key = str(params["SSEKMSKeyId"])
                elif default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                    key = str(default["KMSMasterKeyID"])
                else:
                    return "", {}
                bucket_arn = f"arn:{site.partition}:s3:::{bucket_name}"
                return self.key_arn(key, site), {"aws:s3:arn": bucket_arn}
        except Exception:
            return "", {}
        return "", {}

    def object_exists(self, site: calls.CallSite) -> bool:
        from moto.s3.models import s3_backends

        try:
            obj = s3_backends[site.account][site.partition].get_object(
                str(site.params["Bucket"]), str(site.params["Key"]), version_id=site.params.get("VersionId")
            )
        except Exception:
            return False
        return obj is not None


# --------------------------------------------------------------------------------------------
# The enforcer
# --------------------------------------------------------------------------------------------


@dataclass
class IamEnforcer(Hook):
    """Install with ``with`` (or ``install()``/``uninstall()``); see the module docstring."""

    account: str = "123456789012"
    decisions: list[DecisionRecord] = field(default_factory=list)
    lookups: MotoLookups = field(default_factory=MotoLookups)
    principal_policies: dict[str, list[Policy]] = field(default_factory=dict)
    """Policies given to operator/scenario principals (by caller ARN), checked as for roles."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _role_policies: dict[str, list[Policy]] = field(default_factory=dict)
    patches: Patches = field(default_factory=Patches)
    _sfn: _SfnCaller = field(default_factory=_SfnCaller)
    _sfn_clients: dict[tuple[str, str, str | None], Any] = field(default_factory=dict)
    policy_names: dict[str, str] = field(default_factory=dict)
    """Managed policy ARN or physical name -> the template's logical id (for reports)."""

    # -- installation ------------------------------------------------------------------------

    def _patch(self) -> None:
        import botocore.client

        enforcer = self
        make_api_call: Callable[..., Any] = getattr(botocore.client.BaseClient, "_make_api_call")  # noqa: B009

        def checked_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            enforcer.check(client, operation_name, api_params)
            return make_api_call(client, operation_name, api_params)

        self.patches.replace(botocore.client.BaseClient, "_make_api_call", checked_call)
        self._wrap_sfn_clients()
        from mlcp_cli.emulator.gaps.events import DELIVERY_CHECKS

        DELIVERY_CHECKS.append(self.check_delivery)

    def _wrap_sfn_clients(self) -> None:
        """Tag the clients moto's ASL interpreter creates with the running state machine.

        moto creates a new client for every Task state it runs (16 Lambda clients in a full-loop
        play, each costing more than the call it makes): the same arguments for the same state
        machine get the client made the first time, for this enforcer's life (ADR 40)."""
        import importlib

        from moto.stepfunctions.parser.asl.utils import boto_client as module

        original: Callable[..., Any] = module.boto_client_for
        clients = self._sfn_clients

        def tagged_client(*args: Any, **kwargs: Any) -> Any:
            arn = _state_machine_in_stack()
            key = (repr(args), repr(sorted(kwargs.items())), arn)
            client = clients.get(key)
            if client is None:
                client = original(*args, **kwargs)
                if arn is not None:
                    client.meta.mlcp_iam_state_machine = arn
                clients[key] = client
            return client

        for name in (
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
            "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
        ):
            try:
                importlib.import_module(name)
            except ImportError:
                continue
        for name, loaded in list(sys.modules.items()):
            if (
                name.startswith("moto.stepfunctions.parser")
                and getattr(loaded, "boto_client_for", None) is original
            ):
                self.patches.replace(loaded, "boto_client_for", tagged_client)

    def uninstall(self) -> None:
        from mlcp_cli.emulator.gaps.events import DELIVERY_CHECKS

        if self.check_delivery in DELIVERY_CHECKS:
            DELIVERY_CHECKS.remove(self.check_delivery)
        self._sfn_clients.clear()
        super().uninstall()

    # -- policies ----------------------------------------------------------------------------

    def attach_principal_policy(
        self, principal_arn: str, document: dict[str, Any], name: str = "scenario"
    ) -> None:
        self.principal_policies.setdefault(principal_arn, []).append(Policy(name, document))

    def role_policies(self, role_arn: str) -> list[Policy]:
        """The role's inline and attached managed policies, as moto's IAM holds them."""
        with self._lock:
            cached = self._role_policies.get(role_arn)
        if cached is not None:
            return cached
        from moto.iam.models import iam_backends

        policies: list[Policy] = []
        try:
            role = iam_backends[self.account]["aws"].get_role_by_arn(role_arn)
        except Exception:
            role = None
        if role is not None:
            for name, document in role.policies.items():  # SAM names them <Function>RolePolicy<n>
                policies.append(Policy.parse(str(name), document))
            for arn, managed in role.managed_policies.items():
                document = next(
                    (v.document for v in managed.versions if v.is_default), managed.versions[-1].document
                )
                policies.append(Policy.parse(self.policy_names.get(arn, managed.name), document))
        with self._lock:
            self._role_policies[role_arn] = policies
        return policies

    def forget_policies(self) -> None:
        with self._lock:
            self._role_policies.clear()

    # -- the check ---------------------------------------------------------------------------

    def caller(self, client: Any) -> Caller | None:
        arn = getattr(client.meta, "mlcp_iam_state_machine", None)
        if arn is not None:
            return self._state_machine_caller(str(arn))
        assumed = self._assumed_role_caller(client)
        if assumed is not None:
            return assumed
        from mlcp_cli.emulator.gaps import running_function

        spec = running_function()
        if spec is not None:
            return self._function_caller(spec)
        return self._principal_caller(client)

    def _assumed_role_caller(self, client: Any) -> Caller | None:
        """A client signing with AssumeRole credentials of a role in another account acts as that
        role there, whoever built it (fill ab: a function acting in a member account)."""
        try:
            credentials = client._request_signer._credentials
            access_key = credentials.access_key if credentials is not None else None
        except AttributeError:
            return None
        if not access_key or not str(access_key).startswith("ASIA"):
            return None
        from moto.sts.models import sts_backends

        for account, partitions in list(sts_backends.items()):
            if account == self.account:
                continue
            found = partitions["aws"].get_assumed_role_from_access_key(access_key)
            if found is not None:
                return Caller("assumed role", found.session_name, found.role_arn, found.arn, account)
        return None

    def _function_caller(self, spec: Any) -> Caller | None:
        from moto.awslambda.utils import get_backend

        parts = str(spec.arn).split(":")
        region = parts[3] if len(parts) > 4 and parts[3] else _region()
        try:
            role = str(get_backend(self.account, region).get_function(spec.name).role)
        except Exception:  # registered but not a moto function: nothing to sign as
            return None
        return Caller("function", spec.name, role, _session(role, spec.name))

    def _state_machine_caller(self, arn: str) -> Caller | None:
        from moto.stepfunctions.responses import get_backend  # the executing backend (parser)

        try:
            machine = get_backend(self.account, arn.split(":")[3]).describe_state_machine(arn)
        except Exception:
            return None
        role = str(machine.roleArn)
        return Caller("state machine", str(machine.name), role, _session(role, "states-execution"))

    def _principal_caller(self, client: Any) -> Caller | None:
        if not self.principal_policies:
            return None
        try:
            credentials = client._request_signer._credentials
            access_key = credentials.access_key if credentials is not None else None
        except AttributeError:
            return None
        if access_key is None:
            return None
        from moto.sts.models import sts_backends

        try:
            _, arn, _ = sts_backends[self.account]["aws"].get_caller_identity(access_key, _region())
        except Exception:
            return None
        if arn not in self.principal_policies:
            return None
        return Caller("principal", arn.rsplit("/", 1)[-1], arn, arn)

    def policies_of(self, caller: Caller) -> list[Policy]:
        if caller.kind == "assumed role":
            return moto_role_policies(caller.role_arn)
        if caller.kind == "principal":
            return self.principal_policies.get(caller.role_arn, [])
        return self.role_policies(caller.role_arn)

    def check(self, client: Any, operation_name: str, api_params: dict[str, Any]) -> None:
        """Raise the service's access-denied error if the caller may not make this call."""
        if _BYPASS.depth:
            return
        _BYPASS.depth += 1
        try:
            caller = self.caller(client)
            if caller is None:
                return
            model = client.meta.service_model
            prefix = calls.iam_prefix(str(model.signing_name))
            account = caller.account or self.account
            site = calls.CallSite(prefix, operation_name, api_params, client.meta.region_name, account)
            now = dt.datetime.now(dt.UTC)
            policies = self.policies_of(caller)
            for auth in calls.authorizations(caller.session_arn, site, self.lookups, now):
                decision = self._decide(caller, auth, policies, site)
                self._record(caller, site, auth, decision, now)
                if not decision.allowed:
                    code, status = auth.error or _ERRORS.get(prefix, _JSON_DENIED)
                    message = denial_message(caller.session_arn, auth.action, auth.resource, decision)
                    if auth.key_arn:
                        message = f"KMS key access denied: {message}"
                    raise _client_error(client, operation_name, code, status, message)
            if (
                prefix == "s3"
                and operation_name in {"GetObject", "HeadObject"}
                and not self.lookups.object_exists(site)
            ):
                self._missing_key(client, caller, site, policies, now)
        finally:
            _BYPASS.depth -= 1

    def _decide(
        self, caller: Caller, auth: calls.AuthRequest, policies: list[Policy], site: calls.CallSite
    ) -> Decision:
        request = Request(
            caller.session_arn,
            auth.action,
            auth.resource,
            auth.context,
            frozenset(auth.known_keys),
            principal_account=caller.account or self.account,
        )
        identity = evaluate(policies, request)
        if auth.action == "sts:AssumeRole":
            return _with_trust_policy(identity, request)
        # A direct KMS call (Sign, Verify, DescribeKey...) is authorised by the key's policy too.
        key_arn = auth.key_arn or (
            auth.resource if auth.action.startswith("kms:") and ":key/" in auth.resource else ""
        )
        if not key_arn:
            return identity
        key_document = self.lookups.key_policy(key_arn, site)
        if key_document is None:
            return identity
        key_decision = evaluate([Policy("key policy", key_document)], request, resource_policy=True)
        return combine_key_policy(identity, key_decision, key_document, request)

    def _missing_key(
        self, client: Any, caller: Caller, site: calls.CallSite, policies: list[Policy], now: dt.datetime
    ) -> None:
        """AWS answers 403, not 404, for a missing key when the caller may not list the bucket."""
        bucket_arn = f"arn:{site.partition}:s3:::{site.params.get('Bucket')}"
        listing = calls.AuthRequest(
            "s3:ListBucket", bucket_arn, {}, set(calls.GLOBAL_KEYS), implicit="missing key"
        )
        listing.context.update(calls._base_context(caller.session_arn, site, now))
        listing.context["s3:prefix"] = str(site.params.get("Key", ""))
        listing.known_keys.add("s3:prefix")
        decision = self._decide(caller, listing, policies, site)
        self._record(caller, site, listing, decision, now)
        if decision.allowed:
            return
        if site.operation == "HeadObject":
            raise _client_error(client, site.operation, "403", 403, "Forbidden")
        raise _client_error(client, site.operation, "AccessDenied", 403, "Access Denied")

    def _record(
        self,
        caller: Caller,
        site: calls.CallSite,
        auth: calls.AuthRequest,
        decision: Decision,
        now: dt.datetime,
    ) -> None:
        record = DecisionRecord(
            caller.kind,
            caller.name,
            caller.role_arn,
            f"{site.prefix}:{site.operation}",
            auth.action,
            auth.resource,
            decision.effect,
            decision.allowed_by,
            decision.denied_by,
            decision.unknown_keys,
            auth.implicit,
            now.isoformat(),
        )
        with self._lock:
            self.decisions.append(record)

    # -- EventBridge deliveries --------------------------------------------------------------

    def check_delivery(self, delivery: Any, stage: str) -> None:
        """What EventBridge is allowed to do for a rule: start a state machine as the target's
        role, invoke a function its resource policy lets events.amazonaws.com invoke for this
        rule, send to a DLQ whose queue policy (and key policy) allows it. Raises AccessDenied."""
        rule_arn = str(delivery.rule_arn)
        rule = rule_arn.rsplit("/", 1)[-1]
        target_arn = str(delivery.target["Arn"])
        now = dt.datetime.now(dt.UTC)
        site = calls.CallSite("events", "Deliver", {}, str(delivery.region), str(delivery.account_id))
        service_context: dict[str, Any] = {
            "aws:SourceArn": rule_arn,
            "aws:SourceAccount": site.account,
            "aws:SecureTransport": True,
        }
        known = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:securetransport"})
        if stage == "dead-letter":
            dlq = str(delivery.target["DeadLetterConfig"]["Arn"])
            queue_site = calls.CallSite(
                "sqs", "SendMessage", {"QueueUrl": dlq.rsplit(":", 1)[-1]}, site.region, site.account
            )
            request = Request(
                "events.amazonaws.com",
                "sqs:SendMessage",
                dlq,
                service_context,
                known,
                site.account,
                "Service",
            )
            self._service_check(
                rule, "sqs:SendMessage", request, self.lookups.queue_policy(queue_site), "queue policy"
            )
            key_arn, _ = self.lookups.encryption_of(queue_site)
            if key_arn:
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    key_request = Request(
                        "events.amazonaws.com",
                        action,
                        key_arn,
                        service_context,
                        known,
                        site.account,
                        "Service",
                    )
                    self._service_check(
                        rule,
                        "sqs:SendMessage",
                        key_request,
                        self.lookups.key_policy(key_arn, site),
                        "key policy",
                    )
            return
        if ":lambda:" in target_arn:
            name = target_arn.split(":function:", 1)[1].split(":", 1)[0]
            function_arn = f"arn:aws:lambda:{site.region}:{site.account}:function:{name}"
            request = Request(
                "events.amazonaws.com",
                "lambda:InvokeFunction",
                function_arn,
                service_context,
                known,
                site.account,
                "Service",
            )
            self._service_check(
                rule, "lambda:Invoke", request, self.lookups.function_policy(name, site), "function policy"
            )
            return
        role = delivery.target.get("RoleArn")
        caller = Caller(
            "rule",
            rule,
            str(role or ""),
            _session(str(role), "events-rule") if role else "events.amazonaws.com",
        )
        auth = calls.AuthRequest(
            "states:StartExecution",
            target_arn,
            calls._base_context(caller.session_arn, site, now),
            set(calls.GLOBAL_KEYS),
        )
        decision = self._decide(caller, auth, self.role_policies(str(role)) if role else [], site)
        self._record(
            caller,
            calls.CallSite("states", "StartExecution", {}, site.region, site.account),
            auth,
            decision,
            now,
        )
        if not decision.allowed:
            raise DeliveryDenied(denial_message(caller.session_arn, auth.action, auth.resource, decision))

    def _service_check(
        self, rule: str, operation: str, request: Request, document: dict[str, Any] | None, what: str
    ) -> None:
        now = dt.datetime.now(dt.UTC)
        decision = (
            evaluate([Policy(what, document)], request, resource_policy=True)
            if document
            else Decision(IMPLICIT_DENY)
        )
        caller = Caller("rule", rule, "", request.principal)
        auth = calls.AuthRequest(
            request.action, request.resource, dict(request.context), set(request.known_keys)
        )
        prefix, _, name = operation.partition(":")
        self._record(caller, calls.CallSite(prefix, name, {}, "", self.account), auth, decision, now)
        if not decision.allowed:
            raise DeliveryDenied(
                f"{request.principal} is not authorized to perform: {request.action} on resource: {request.resource} "
                f"because no {what} allows it (rule {rule})"
            )

    # -- results -----------------------------------------------------------------------------

    def denials(self) -> list[DecisionRecord]:
        return [d for d in self.decisions if d.effect != ALLOW and d.implicit != "missing key"]

    def grants(self) -> dict[tuple[str, str], list[tuple[str, Policy]]]:
        """(caller kind, caller name) -> [(role ARN, policy)] for every caller seen."""
        seen: dict[tuple[str, str], list[tuple[str, Policy]]] = {}
        for record in self.decisions:
            key = (record.caller_kind, record.caller)
            if key not in seen:
                caller = Caller(record.caller_kind, record.caller, record.role_arn, record.role_arn)
                seen[key] = [(record.role_arn, policy) for policy in self.policies_of(caller)]
        return seen


def _client_error(client: Any, operation_name: str, code: str, status: int, message: str) -> Exception:
    response = {
        "Error": {"Code": code, "Message": message, "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "local-iam"},
        "message": message,
    }
    error_class = client.exceptions.from_code(code)
    error: Exception = error_class(response, operation_name)
    return error


def _region() -> str:
    import os

    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _session(role_arn: str, session_name: str) -> str:
    parts = role_arn.split(":")
    role_name = role_arn.rsplit("/", 1)[-1]
    return f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{role_name}/{session_name}"


def _state_machine_in_stack() -> str | None:
    """The state machine whose execution is creating a client (the interpreter's ``env``)."""
    frame = sys._getframe(2)
    depth = 0
    while frame is not None and depth < 40:
        env = frame.f_locals.get("env")
        if env is not None:
            try:
                data = env.states.context_object.context_object_data
                return str(data["StateMachine"]["Id"])
            except (AttributeError, KeyError, TypeError):
                pass
        frame = frame.f_back  # type: ignore[assignment]
        depth += 1
    return None


@dataclass
class Installed:
    enforcer: IamEnforcer


def iter_denials(decisions: list[DecisionRecord]) -> Iterator[DecisionRecord]:
    yield from (d for d in decisions if d.effect != ALLOW and d.implicit != "missing key")
