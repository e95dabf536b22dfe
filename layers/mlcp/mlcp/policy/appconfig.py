"""The deployed policy delivered by AWS AppConfig (docs/adr/0022-policy-through-appconfig.md).

``AppConfigPolicyStore`` holds one AppConfig data session (StartConfigurationSession) per execution
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

import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlcp.errors import ConfigurationError
from mlcp.policy.load import (
    POLICY_PARAMETER_ENV,
    PolicyError,
    PolicyNotConfigured,
    PolicyStore,
    parse_policy_json,
)
from mlcp.policy.model import Policy
from mlcp.ports import PolicySource

POLICY_APPCONFIG_ENV = "MLCP_POLICY_APPCONFIG"
"""``<application id>/<environment id>/<configuration profile id>`` of the deployed policy."""

MAX_HOSTED_CONFIGURATION_BYTES = 2 * 1024 * 1024
"""A hosted configuration version holds at most 2 MB (AppConfig's default quota)."""

MIN_POLL_INTERVAL_SECONDS = 15
"""AppConfig's smallest RequiredMinimumPollIntervalInSeconds; the store asks for it (it polls per decision)."""


def parse_appconfig_target(value: str) -> tuple[str, str, str]:
    """``app/env/profile`` -> its three identifiers (ConfigurationError naming what is wrong)."""
    parts = [part.strip() for part in value.split("/")]
    if len(parts) != 3 or not all(parts):
        raise ConfigurationError(
            f"{POLICY_APPCONFIG_ENV} must be <application>/<environment>/<configuration profile>, got {value!r}"
        )
    return parts[0], parts[1], parts[2]


class AppConfigPolicyStore:
    """The policy deployed to one AppConfig environment, polled on every ``get()``.

    ``fallback`` serves the policy while no version was ever deployed (migration from SSM).
    Unreadable, never deployed without a fallback, or invalid -> ``PolicyError``.
    """

    def __init__(
        self,
        application: str,
        environment: str,
        profile: str,
        *,
        client: Any = None,
        fallback: PolicySource | None = None,
    ) -> None:
        self.application = application
        self.environment = environment
        self.profile = profile
        self.source = f"appconfig:{application}/{environment}/{profile}"
        self._client = client
        self._fallback = fallback
        self._token: str | None = None
        self._policy: Policy | None = None
        self.version_label: str | None = None
        self.polls = 0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, client: Any = None
    ) -> AppConfigPolicyStore:
        """The store named by ``MLCP_POLICY_APPCONFIG`` (legacy ``MLCP_POLICY_PARAMETER`` as fallback)."""
        env = os.environ if environ is None else environ
        target = env.get(POLICY_APPCONFIG_ENV, "").strip()
        if not target:
            raise ConfigurationError(
                f"{POLICY_APPCONFIG_ENV} is not set: the policy's AppConfig profile is unknown"
            )
        application, environment, profile = parse_appconfig_target(target)
        parameter = env.get(POLICY_PARAMETER_ENV, "").strip()
        fallback = PolicyStore(parameter, max_age_seconds=60) if parameter else None
        return cls(application, environment, profile, client=client, fallback=fallback)

    def _data_client(self) -> Any:
        if self._client is None:
            from mlcp.adapters import clients

            self._client = clients.appconfigdata()
        return self._client

    def _start_session(self) -> str:
        response = self._data_client().start_configuration_session(
            ApplicationIdentifier=self.application,
            EnvironmentIdentifier=self.environment,
            ConfigurationProfileIdentifier=self.profile,
            RequiredMinimumPollIntervalInSeconds=MIN_POLL_INTERVAL_SECONDS,
        )
        return str(response["InitialConfigurationToken"])

    def _poll(self) -> tuple[bytes, str | None]:
        """One GetLatestConfiguration (a new session if none, or if AppConfig refused the token)."""
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._start_session()
            try:
                response = self._data_client().get_latest_configuration(ConfigurationToken=self._token)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                self._token = None
                if code == "BadRequestException" and attempt == 1:  # an expired (24 h) or reused token
                    continue
                raise
            self._token = str(response["NextPollConfigurationToken"])
            self.polls += 1
            body = response.get("Configuration")
            content = body.read() if body is not None else b""
            return content, response.get("VersionLabel")
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, *, force_fetch: bool = False) -> Policy:
        """The deployed policy as of now (one GetLatestConfiguration; parsed only when it changed)."""
        try:
            content, label = self._poll()
        except (ClientError, BotoCoreError) as exc:
            raise PolicyError(
                self.source, [f"{self.source}: cannot read the deployed policy: {exc}"]
            ) from exc
        if content:
            self._policy = parse_policy_json(content, self.source)
            self.version_label = label
        if self._policy is not None:
            return self._policy
        if self._fallback is not None:
            return self._fallback.get(force_fetch=force_fetch)
        raise PolicyError(
            self.source,
            [f"{self.source}: no policy is deployed to this environment yet (mlcp policy publish)"],
        )


def policy_source_from_env(environ: Mapping[str, str] | None = None) -> PolicySource:
    """The function's policy: AppConfig when ``MLCP_POLICY_APPCONFIG`` is set, else the legacy SSM
    parameter, else ``PolicyNotConfigured`` (code that never evaluates a policy)."""
    env = os.environ if environ is None else environ
    if env.get(POLICY_APPCONFIG_ENV, "").strip():
        return AppConfigPolicyStore.from_env(env)
    parameter = env.get(POLICY_PARAMETER_ENV, "").strip()
    if parameter:
        return PolicyStore(parameter)
    return PolicyNotConfigured()


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
