"""The deployed policy in an SSM parameter (``MLCP_POLICY_PARAMETER``), read through Powertools
parameters: the legacy store, and AppConfig's fallback while nothing was deployed there (ADR 0022).
Parsing and validation are the policy model's (``mlcp.policy.model``); this module only reads."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlcp.errors import ConfigurationError, PolicyError
from mlcp.policy.model import POLICY_PARAMETER_ENV, Policy, parse_policy_json

if TYPE_CHECKING:
    # Powertools parameters loads on the first SSM read: its package imports every provider
    # (SSM, Secrets Manager, AppConfig, DynamoDB with boto3's conditions), ~10 ms of cold start.
    from aws_lambda_powertools.utilities.parameters import SSMProvider


class PolicyStore:
    """The deployed policy: JSON in an SSM parameter, read through Powertools parameters.

    ``get()`` serves the cached value for ``max_age_seconds`` (0: read every time), re-validating
    only when the parameter's text changed. Absent, unreadable or invalid -> ``PolicyError``.
    """

    def __init__(self, parameter_name: str, max_age_seconds: int = 60, *, ssm_client: Any = None) -> None:
        if not parameter_name:
            raise ConfigurationError("PolicyStore needs an SSM parameter name")
        self.parameter_name = parameter_name
        self.max_age_seconds = max_age_seconds
        self.source = f"ssm:{parameter_name}"
        self._ssm_client = ssm_client
        self._provider: SSMProvider | None = None
        self._parsed: tuple[str, Policy] | None = None

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        max_age_seconds: int = 60,
        ssm_client: Any = None,
    ) -> PolicyStore:
        """The store of the parameter named by ``MLCP_POLICY_PARAMETER`` (ConfigurationError if unset)."""
        env = os.environ if environ is None else environ
        name = env.get(POLICY_PARAMETER_ENV, "").strip()
        if not name:
            raise ConfigurationError(f"{POLICY_PARAMETER_ENV} is not set: the policy parameter is unknown")
        return cls(name, max_age_seconds, ssm_client=ssm_client)

    def _get_provider(self) -> SSMProvider:
        if self._provider is None:
            # The one client configuration (standard retries, bounded timeouts) of every function:
            # Powertools' own default client would retry fewer times than every other call.
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            from mlcp.adapters import clients

            self._provider = SSMProvider(boto3_client=self._ssm_client or clients.ssm())
        return self._provider

    def get(self, *, force_fetch: bool = False) -> Policy:
        """The current policy (from the cache when younger than ``max_age_seconds``)."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            raw = self._get_provider().get(
                self.parameter_name, max_age=self.max_age_seconds, force_fetch=force_fetch
            )
        except GetParameterError as exc:
            raise PolicyError(
                self.source, [f"{self.source}: cannot read the policy parameter: {exc}"]
            ) from exc
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        if not isinstance(raw, str):
            raise PolicyError(self.source, [f"{self.source}: the parameter holds no text"])
        if self._parsed is not None and self._parsed[0] == raw:
            return self._parsed[1]
        policy = parse_policy_json(raw, self.source)
        self._parsed = (raw, policy)
        return policy
