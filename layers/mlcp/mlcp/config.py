"""Function configuration from environment variables, validated once per execution environment.

template.yaml sets these variables; a missing or malformed one fails the cold start with a
ConfigurationError that names the variable, instead of failing later on first use.
"""

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcp.errors import ConfigurationError


class _EnvConfig(BaseModel):
    # Built on first use: a function validates the one or two configs it reads, not all of them.
    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """Build the configuration from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        names = [field.alias or name for name, field in cls.model_fields.items()]
        values = {name: env[name] for name in names if name in env}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(f"{cls.__name__}: {problems}") from exc


class CoreConfig(_EnvConfig):
    """What every function needs: the audit trail, idempotency store and rejected-events queue."""

    audit_table: str = Field(alias="MLCP_AUDIT_TABLE", min_length=3)
    idempotency_table: str = Field(alias="MLCP_IDEMPOTENCY_TABLE", min_length=3)
    rejected_events_queue_url: str = Field(alias="MLCP_REJECTED_EVENTS_QUEUE_URL", min_length=1)
    # The accounts events may come from (ADR 26); template.yaml always sets the home account.
    home_account: str | None = Field(alias="MLCP_HOME_ACCOUNT", default=None, pattern=r"^[0-9]{12}$")
    member_accounts: str = Field(
        alias="MLCP_MEMBER_ACCOUNTS", default="", pattern=r"^([0-9]{12})?(,[0-9]{12})*$"
    )


class MemberAccessConfig(_EnvConfig):
    """Acting in a member account (ADR 26): its deployment role's name and this control plane's
    external id (template.yaml's Globals; member.yaml's DeploymentRoleName / ExternalId)."""

    member_role_name: str = Field(alias="MLCP_MEMBER_ROLE_NAME", default="mlcp-member-deployment")
    member_external_id: str = Field(alias="MLCP_MEMBER_EXTERNAL_ID", default="")


class TrainingDataConfig(_EnvConfig):
    """Where new training data lands (TrainingDataBucketName / TrainingDataPrefix parameters)."""

    bucket: str = Field(alias="MLCP_TRAINING_DATA_BUCKET", min_length=3)
    prefix: str = Field(alias="MLCP_TRAINING_DATA_PREFIX", default="")


class GovernanceConfig(_EnvConfig):
    """Where the policy, gate reports, control-plane state and approvers' topic are."""

    state_table: str = Field(alias="MLCP_STATE_TABLE", min_length=3)
    policy_parameter: str | None = Field(alias="MLCP_POLICY_PARAMETER", default=None)
    reports_bucket: str | None = Field(alias="MLCP_REPORTS_BUCKET", default=None)
    approvals_topic_arn: str | None = Field(alias="MLCP_APPROVALS_TOPIC_ARN", default=None)
    decision_state_machine_arn: str | None = Field(alias="MLCP_DECISION_STATE_MACHINE_ARN", default=None)
    policy_appconfig: str | None = Field(alias="MLCP_POLICY_APPCONFIG", default=None)
    incidents_topic_arn: str | None = Field(alias="MLCP_INCIDENTS_TOPIC_ARN", default=None)
    debounce_state_machine_arn: str | None = Field(alias="MLCP_DEBOUNCE_STATE_MACHINE_ARN", default=None)

    def policy_environment(self) -> dict[str, str]:
        """Where the policy is, as ``policy_source_from_env`` reads it (AppConfig first, else SSM)."""
        return {
            "MLCP_POLICY_APPCONFIG": self.policy_appconfig or "",
            "MLCP_POLICY_PARAMETER": self.policy_parameter or "",
        }


class DeploymentEnvConfig(_EnvConfig):
    """The deployment tasks' settings: the state table and the role SageMaker models run with."""

    state_table: str = Field(alias="MLCP_STATE_TABLE", min_length=3)
    model_role_arn: str = Field(alias="MLCP_MODEL_ROLE_ARN", min_length=20)
    # Acting in a member account (ADR 26): its deployment role, this control plane's external id and
    # the role the member's models run with (member.yaml's DeploymentRoleName / ModelRoleName).
    member_role_name: str = Field(alias="MLCP_MEMBER_ROLE_NAME", default="mlcp-member-deployment")
    member_external_id: str = Field(alias="MLCP_MEMBER_EXTERNAL_ID", default="")
    member_model_role_name: str = Field(alias="MLCP_MEMBER_MODEL_ROLE_NAME", default="mlcp-member-model")


class ShadowEnvConfig(_EnvConfig):
    """The shadow phase's settings: the role SageMaker runs the shadow model with."""

    model_role_arn: str = Field(alias="MLCP_MODEL_ROLE_ARN", min_length=20)


class DigestConfig(_EnvConfig):
    """The audit digest bucket, the signing key and the stack's floor of the lock (template)."""

    bucket: str = Field(alias="MLCP_DIGEST_BUCKET", min_length=3)
    key_arn: str = Field(alias="MLCP_DIGEST_KEY_ARN", min_length=1)
    retention_floor_days: int = Field(alias="MLCP_AUDIT_RETENTION_DAYS", default=186, ge=183)
