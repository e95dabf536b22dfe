"""The deployed policy delivered by AWS AppConfig (docs/adr/0022-policy-through-appconfig.md).

``mlcp.adapters.policy_appconfig.AppConfigPolicyStore`` holds one AppConfig data session (StartConfigurationSession) per execution
environment and calls GetLatestConfiguration on **every** ``get()``: AppConfig answers an empty body
when this session already has the deployed version, so an unchanged policy costs one small call and
no parsing, and a freeze whose deployment has completed is in force for the very next decision (no
cache TTL). A non-empty body is a newly deployed version: it is validated with the policy model
(AppConfig's validator already refused anything the model refuses) and replaces the cached one.

Migration: while nothing was ever deployed to the AppConfig environment (a stack upgraded from the
SSM parameter, before its first ``mlcp policy publish``), the store serves the legacy SSM parameter
(``MLCP_POLICY_PARAMETER``) when one is configured, so an upgrade loses no policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcp.errors import PolicyError
from mlcp.policy.model import Policy, parse_policy_json

MAX_HOSTED_CONFIGURATION_BYTES = 2 * 1024 * 1024
"""A hosted configuration version holds at most 2 MB (AppConfig's default quota)."""


class PolicyRefused(PolicyError):
    """AppConfig's validator refused a configuration version (the name AppConfig reports)."""


def validate_deployment_content(event: Mapping[str, Any]) -> Policy:
    """The AppConfig Lambda validator: decode ``content`` (base64) and parse it with the policy model.

    AppConfig calls it with ``applicationId``, ``configurationProfileId``, ``configurationVersion``,
    ``content`` and ``uri``; raising refuses the version (CreateHostedConfigurationVersion and
    StartDeployment fail with the message), so a policy the functions would refuse is never deployed.
    """
    import base64
    import binascii

    version = str(event.get("configurationVersion", "?"))
    source = (
        f"appconfig:{event.get('applicationId', '?')}/{event.get('configurationProfileId', '?')}@{version}"
    )
    content = event.get("content")
    if not isinstance(content, str):
        raise PolicyRefused(source, [f"{source}: the validator received no content"])
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PolicyRefused(source, [f"{source}: content is not base64: {exc}"]) from exc
    try:
        return parse_policy_json(raw, source)
    except PolicyError as exc:
        raise PolicyRefused(source, list(exc.problems)) from exc
