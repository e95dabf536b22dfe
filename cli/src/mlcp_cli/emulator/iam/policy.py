"""IAM policy evaluation: the decision AWS makes for one request against a set of policies.

Implements the documented evaluation logic for one account (no SCPs, permission boundaries or
session policies: see the fidelity table in docs/local-mode.md):

- an explicit ``Deny`` in any applicable statement wins;
- otherwise an ``Allow`` is needed (identity policies, or a resource policy naming the principal);
- ``Action``/``NotAction`` (case-insensitive, ``*`` and ``?`` wildcards), ``Resource``/``NotResource``
  (case-sensitive wildcards, policy variables such as ``${aws:username}``), ``Principal``/
  ``NotPrincipal`` in resource policies;
- every condition operator of the IAM reference (String*, Numeric*, Date*, Bool, BinaryEquals,
  IpAddress, Arn*, Null), the ``...IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:``
  set operators.

A condition key the request builder does not know (``Request.known_keys``) cannot be evaluated:
the statement that uses it makes the request **denied**, and the decision says which key (fail
closed and visible, never a silent allow).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"

ContextValue = str | bool | int | float | list[str]


@dataclass(frozen=True)
class Policy:
    """One policy document with a name to report (``ReactionsPolicy``, ``inline:Foo``, ``key policy``)."""

    name: str
    document: Mapping[str, Any]

    @classmethod
    def parse(cls, name: str, document: str | Mapping[str, Any]) -> Policy:
        return cls(name, json.loads(document) if isinstance(document, str) else document)

    def statements(self) -> tuple[Statement, ...]:
        """The document's statements, built once per policy: every checked call evaluates its
        caller's policies (ADR 40). A policy's document is never changed once parsed."""
        return self._statements

    @functools.cached_property
    def _statements(self) -> tuple[Statement, ...]:
        raw = self.document.get("Statement", [])
        items = raw if isinstance(raw, list) else [raw]
        return tuple(Statement(self.name, index, item) for index, item in enumerate(items))


@dataclass(frozen=True)
class Statement:
    policy: str
    index: int
    body: Mapping[str, Any]

    @property
    def sid(self) -> str:
        """``Policy/Sid`` (or ``Policy/#index`` without a Sid): how reports name a grant."""
        return f"{self.policy}/{self.body.get('Sid') or '#' + str(self.index)}"

    @property
    def effect(self) -> str:
        return str(self.body.get("Effect", ""))


@dataclass(frozen=True)
class Request:
    """What is asked: who, which action on which resource, and the request context."""

    principal: str
    """The caller's ARN (``arn:aws:sts::123456789012:assumed-role/Role/session``) or a service
    principal (``events.amazonaws.com``)."""
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    known_keys: frozenset[str] = frozenset()
    """Condition keys (lower case; ``aws:resourcetag/*`` for a whole family) whose value the caller
    of the evaluator has filled in when it applies: a key not known is an unknown key."""
    principal_account: str = ""
    principal_type: str = "AWS"
    """``AWS`` for an IAM principal, ``Service`` for a service principal."""


@dataclass(frozen=True)
class Decision:
    effect: str
    allowed_by: tuple[str, ...] = ()
    """Statements (``Policy/Sid``) that allow the request."""
    denied_by: tuple[str, ...] = ()
    """Statements with an explicit Deny that apply."""
    unknown_keys: tuple[str, ...] = ()
    """Condition keys the evaluator could not evaluate (the request is then denied)."""

    @property
    def allowed(self) -> bool:
        return self.effect == ALLOW


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@functools.lru_cache(maxsize=4096)  # a stack's policies have a few hundred patterns, checked per call
def _wildcard_regex(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard match: ``*`` any run of characters (``/`` and ``:`` included), ``?`` one."""
    return bool(_wildcard_regex(pattern, ignore_case=ignore_case).match(value))


def _substitute(pattern: str, context: Mapping[str, ContextValue]) -> str | None:
    """Policy variables in a Resource or condition value; None when a variable has no value."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _SPECIAL:
            return "\x00" + name  # a literal *, ? or $: kept out of wildcard expansion below
        default = None
        if "," in name:  # ${aws:username, 'default'}
            name, _, rest = name.partition(",")
            default = rest.strip().strip("'")
        found = _lookup(context, name.strip())
        if found is None or isinstance(found, list):
            if default is None:
                raise KeyError(name)
            return default
        return str(found).lower() if isinstance(found, bool) else str(found)

    try:
        return _VARIABLE.sub(value_of, pattern)
    except KeyError:
        return None


def _resource_match(pattern: str, resource: str, context: Mapping[str, ContextValue]) -> bool:
    if pattern == "*":
        return True
    expanded = _substitute(pattern, context)
    if expanded is None:
        return False
    return bool(_literal_aware_regex(expanded).match(resource))


@functools.lru_cache(maxsize=4096)
def _literal_aware_regex(pattern: str) -> re.Pattern[str]:
    """A wildcard pattern where ``\x00`` marks the next character as literal (from ``${*}``)."""
    out: list[str] = []
    literal = False
    for ch in pattern:
        if literal:
            out.append(re.escape(ch))
            literal = False
        elif ch == "\x00":
            literal = True
        else:
            out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("^" + "".join(out) + "$", re.DOTALL)


def _action_match(pattern: str, action: str) -> bool:
    return pattern == "*" or wildcard_match(pattern, action, ignore_case=True)


def _lookup(context: Mapping[str, ContextValue], key: str) -> ContextValue | None:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return value
    return None


def _principal_match(spec: Any, request: Request) -> bool:
    """Does a statement's ``Principal`` name the request's principal?"""
    if spec == "*":
        return True
    if not isinstance(spec, Mapping):
        return False
    for kind, values in spec.items():
        for value in _as_list(values):
            if kind == "AWS":
                if request.principal_type != "AWS":
                    continue
                if value == "*":
                    return True
                if re.fullmatch(r"\d{12}", str(value)) or str(value).endswith(":root"):
                    account = str(value) if re.fullmatch(r"\d{12}", str(value)) else str(value).split(":")[4]
                    if account == request.principal_account:
                        return True
                    continue
                if str(value) == request.principal or str(value) == _role_of(request.principal):
                    return True
            elif kind == "Service" and request.principal_type == "Service" and value == request.principal:
                return True
    return False


def _role_of(principal: str) -> str:
    """``arn:aws:sts::A:assumed-role/R/s`` -> ``arn:aws:iam::A:role/R`` (a role ARN names its sessions)."""
    found = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+", principal)
    if not found:
        return principal
    partition, account, role = found.groups()
    return f"arn:{partition}:iam::{account}:role/{role}"


def root_delegation(spec: Any, account: str) -> bool:
    """Does a resource policy's Principal name the account (so IAM policies decide)?"""
    if not isinstance(spec, Mapping):
        return False
    return any(
        str(value) == account or str(value).endswith(f":{account}:root")
        for value in _as_list(spec.get("AWS"))
    )


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


def _key_known(key: str, known: frozenset[str]) -> bool:
    lowered = key.lower()
    if lowered in known:
        return True
    return any(family.endswith("*") and lowered.startswith(family[:-1]) for family in known)


def _to_number(value: Any) -> float:
    return float(value)


def _to_date(value: Any) -> dt.datetime:
    if isinstance(value, int | float) or (isinstance(value, str) and re.fullmatch(r"\d+", value)):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _to_bool_text(value: Any) -> str:
    return str(value).lower()


def _compare(
    operator: str, policy_value: Any, request_value: Any, context: Mapping[str, ContextValue]
) -> bool:
    """One policy value against one request value, for a base operator (no IfExists / set prefix)."""
    if operator in {"StringEquals", "StringNotEquals"}:
        expected = _substitute(str(policy_value), context)
        return expected is not None and expected == str(request_value)
    if operator in {"StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}:
        return str(policy_value).lower() == str(request_value).lower()
    if operator in {"StringLike", "StringNotLike"}:
        expected = _substitute(str(policy_value), context)
        return expected is not None and wildcard_match(expected, str(request_value))
    if operator in {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}:
        return _arn_like(str(policy_value), str(request_value))
    # NumericNotEquals / DateNotEquals compare as their Equals here: the caller negates (_NEGATED).
    positive = operator.replace("NotEquals", "Equals")
    if operator.startswith("Numeric"):
        left, right = _to_number(request_value), _to_number(policy_value)
        return {
            "NumericEquals": left == right,
            "NumericLessThan": left < right,
            "NumericLessThanEquals": left <= right,
            "NumericGreaterThan": left > right,
            "NumericGreaterThanEquals": left >= right,
        }[positive]
    if operator.startswith("Date"):
        left_d, right_d = _to_date(request_value), _to_date(policy_value)
        return {
            "DateEquals": left_d == right_d,
            "DateLessThan": left_d < right_d,
            "DateLessThanEquals": left_d <= right_d,
            "DateGreaterThan": left_d > right_d,
            "DateGreaterThanEquals": left_d >= right_d,
        }[positive]
    if operator == "Bool":
        return _to_bool_text(policy_value) == _to_bool_text(request_value)
    if operator == "BinaryEquals":
        return base64.b64decode(str(policy_value)) == base64.b64decode(str(request_value))
    if operator in {"IpAddress", "NotIpAddress"}:
        return ipaddress.ip_address(str(request_value)) in ipaddress.ip_network(
            str(policy_value), strict=False
        )
    raise ValueError(f"unknown condition operator {operator!r}")


_NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "ArnNotEquals",
    "ArnNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
}
OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
)


def _arn_like(pattern: str, arn: str) -> bool:
    """ARN operators compare the six colon-separated fields, each with wildcards."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return pattern == arn
    return all(wildcard_match(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


class UnknownOperatorError(ValueError):
    pass


def _condition_holds(raw_operator: str, key: str, values: Any, request: Request) -> bool:
    context = request.context
    set_op = ""
    operator = raw_operator
    if ":" in operator:
        set_op, operator = operator.split(":", 1)
        if set_op not in {"ForAnyValue", "ForAllValues"}:
            raise UnknownOperatorError(raw_operator)
    if_exists = operator.endswith("IfExists") and operator != "Null"
    if if_exists:
        operator = operator[: -len("IfExists")]
    if operator not in OPERATORS:
        raise UnknownOperatorError(raw_operator)
    policy_values = [_to_bool_text(v) if isinstance(v, bool) else v for v in _as_list(values)]
    present = _lookup(context, key)
    if operator == "Null":
        wants_absent = _to_bool_text(policy_values[0]) == "true" if policy_values else True
        is_absent = present is None or present == []
        return wants_absent == is_absent
    if present is None:
        if set_op == "ForAllValues":
            return True  # AWS: ForAllValues is true when the key is absent (a known pitfall)
        return if_exists
    request_values = present if isinstance(present, list) else [present]
    negated = operator in _NEGATED

    def any_match(request_value: Any) -> bool:
        return any(_compare(operator, pv, request_value, context) for pv in policy_values)

    if set_op == "ForAllValues":
        if negated:
            return all(not any_match(rv) for rv in request_values)
        return all(any_match(rv) for rv in request_values)
    if set_op == "ForAnyValue":
        if negated:
            return any(not any_match(rv) for rv in request_values)
        return any(any_match(rv) for rv in request_values)
    # A single-valued operator on a multi-valued key: any value matching counts (AWS's behaviour).
    if negated:
        return not any(any_match(rv) for rv in request_values)
    return any(any_match(rv) for rv in request_values)


def _conditions(statement: Statement, request: Request) -> tuple[bool, list[str]]:
    """(all conditions hold, unknown keys). Unknown keys make the statement undecidable."""
    block = statement.body.get("Condition") or {}
    unknown: list[str] = []
    holds = True
    for operator, pairs in block.items():
        for key, values in (pairs or {}).items():
            if not _key_known(key, request.known_keys):
                unknown.append(key)
                continue
            try:
                if not _condition_holds(operator, key, values, request):
                    holds = False
            except UnknownOperatorError:
                unknown.append(f"{operator} (operator)")
            except (ValueError, TypeError):
                holds = False  # a value of the wrong type does not match, as AWS treats it
    return holds and not unknown, unknown


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _matches_any(patterns: Any, match: Callable[[str], bool]) -> bool:
    return any(match(str(pattern)) for pattern in _as_list(patterns))


def statement_applies(statement: Statement, request: Request, *, resource_policy: bool = False) -> bool:
    """Action, Resource and (for resource policies) Principal match, conditions aside."""
    body = statement.body

    def action(pattern: str) -> bool:
        return _action_match(pattern, request.action)

    def resource(pattern: str) -> bool:
        return _resource_match(pattern, request.resource, request.context)

    if "Action" in body:
        applies = _matches_any(body["Action"], action)
    elif "NotAction" in body:
        applies = not _matches_any(body["NotAction"], action)
    else:
        return False
    if "Resource" in body:
        applies = applies and _matches_any(body["Resource"], resource)
    elif "NotResource" in body:
        applies = applies and not _matches_any(body["NotResource"], resource)
    elif not resource_policy:
        return False
    if not applies or not resource_policy:
        return applies
    if "Principal" in body:
        return _principal_match(body["Principal"], request)
    if "NotPrincipal" in body:
        return not _principal_match(body["NotPrincipal"], request)
    return False


def evaluate(policies: Iterable[Policy], request: Request, *, resource_policy: bool = False) -> Decision:
    """The decision for ``request`` under ``policies`` (all identity policies, or one resource policy)."""
    allowed: list[str] = []
    denied: list[str] = []
    unknown: list[str] = []
    for policy in policies:
        for statement in policy.statements():
            if statement.effect not in {"Allow", "Deny"}:
                continue
            if not statement_applies(statement, request, resource_policy=resource_policy):
                continue
            holds, missing = _conditions(statement, request)
            if missing:
                unknown.extend(f"{statement.sid}: {key}" for key in missing)
                continue
            if not holds:
                continue
            (denied if statement.effect == "Deny" else allowed).append(statement.sid)
    if denied or unknown:
        return Decision(EXPLICIT_DENY, tuple(allowed), tuple(denied), tuple(unknown))
    if allowed:
        return Decision(ALLOW, tuple(allowed))
    return Decision(IMPLICIT_DENY)


def combine_same_account(identity: Decision, resource: Decision | None) -> Decision:
    """Same-account access: allowed when either the identity or the resource policy allows it and
    neither denies it explicitly (KMS keys differ: see :func:`combine_key_policy`)."""
    if resource is None:
        return identity
    if EXPLICIT_DENY in (identity.effect, resource.effect):
        return Decision(
            EXPLICIT_DENY,
            identity.allowed_by + resource.allowed_by,
            identity.denied_by + resource.denied_by,
            identity.unknown_keys + resource.unknown_keys,
        )
    if identity.allowed or resource.allowed:
        return Decision(ALLOW, identity.allowed_by + resource.allowed_by)
    return Decision(IMPLICIT_DENY)


def combine_key_policy(
    identity: Decision, key_policy: Decision, key_document: Mapping[str, Any], request: Request
) -> Decision:
    """KMS: the key policy must allow, either the principal itself or the account (then IAM decides)."""
    if EXPLICIT_DENY in (identity.effect, key_policy.effect):
        return combine_same_account(identity, key_policy)
    if not key_policy.allowed:
        return Decision(IMPLICIT_DENY, identity.allowed_by)
    delegated = [
        statement.sid
        for statement in Policy("key policy", key_document).statements()
        if statement.sid in key_policy.allowed_by
        and root_delegation(statement.body.get("Principal"), request.principal_account)
    ]
    direct = [sid for sid in key_policy.allowed_by if sid not in delegated]
    if direct:
        return Decision(ALLOW, identity.allowed_by + tuple(direct))
    if identity.allowed:
        return Decision(ALLOW, identity.allowed_by + tuple(delegated))
    return Decision(IMPLICIT_DENY)


__all__ = [
    "ALLOW",
    "EXPLICIT_DENY",
    "IMPLICIT_DENY",
    "OPERATORS",
    "Decision",
    "Policy",
    "Request",
    "Statement",
    "combine_key_policy",
    "combine_same_account",
    "evaluate",
    "statement_applies",
    "wildcard_match",
]
