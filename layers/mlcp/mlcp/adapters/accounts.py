"""boto3 clients for the account an event is about (ADR 26): the function's own role at home, the
member's deployment role (``member.yaml``) in a member account.

One AssumeRole per (account, execution environment), kept until five minutes before its credentials
expire; clients built on those credentials are kept with them. The external id names this control
plane; the session name names the function (``mlcp-<function>``), so the member's CloudTrail shows
which function acted, and the audit trail records the execution that decided it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3

from mlcp.accounts import AccountScope
from mlcp.adapters import clients
from mlcp.errors import ControlPlaneError
from mlcp.records import record_class

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sts import STSClient

#: Credentials are renewed this long before they expire (a deployment task runs up to 2 minutes).
RENEW_BEFORE = timedelta(minutes=5)
#: The member role's MaxSessionDuration (member.yaml) is 3600 s; an hour is AssumeRole's default too.
SESSION_SECONDS = 3600


class AccountNotGoverned(ControlPlaneError):
    """A client was asked for an account that is neither home nor a listed member."""


@record_class(frozen=False)
class _Session:
    credentials: dict[str, Any]
    expires: datetime
    clients: dict[str, Any] = field(default_factory=dict)


class AccountClients:
    """Clients per account: home -> the execution environment's own clients; member -> assumed role."""

    def __init__(
        self,
        scope: AccountScope,
        *,
        role_name: str,
        external_id: str,
        function: str,
        partition: str = "aws",
        sts: STSClient | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._scope = scope
        self._role_name = role_name
        self._external_id = external_id
        self._session_name = f"mlcp-{function}"[:64]
        self._partition = partition
        self._sts = sts or clients.sts()
        self._now = now
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self.assumed = 0
        """How many AssumeRole calls this execution environment made (the cache's measure)."""

    def role_arn(self, account: str) -> str:
        """The member's deployment role."""
        return f"arn:{self._partition}:iam::{account}:role/{self._role_name}"

    def sagemaker(self, account: str) -> SageMakerClient:
        """SageMaker in ``account``."""
        if account == self._scope.home:
            return clients.sagemaker()
        return cast("SageMakerClient", self._member_client(account, "sagemaker"))

    def cloudwatch(self, account: str) -> CloudWatchClient:
        """CloudWatch in ``account``."""
        if account == self._scope.home:
            return clients.cloudwatch()
        return cast("CloudWatchClient", self._member_client(account, "cloudwatch"))

    def _member_client(self, account: str, service: str) -> Any:
        if account not in self._scope.members:
            raise AccountNotGoverned(f"account {account} is not a member of this control plane")
        with self._lock:
            session = self._sessions.get(account)
            if session is None or session.expires - RENEW_BEFORE <= self._now():
                session = self._assume(account)
                self._sessions[account] = session
            client = session.clients.get(service)
            if client is None:
                credentials = session.credentials
                client = boto3.client(  # type: ignore[call-overload]
                    service,
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                    config=clients._CONFIG,
                )
                session.clients[service] = client
            return client

    def _assume(self, account: str) -> _Session:
        answer = self._sts.assume_role(
            RoleArn=self.role_arn(account),
            RoleSessionName=self._session_name,
            ExternalId=self._external_id,
            DurationSeconds=SESSION_SECONDS,
        )
        self.assumed += 1
        credentials: dict[str, Any] = dict(answer["Credentials"])
        expires: datetime = answer["Credentials"]["Expiration"]
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return _Session(credentials=credentials, expires=expires)
