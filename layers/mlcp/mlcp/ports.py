"""The ports: what the use cases and the domain need from the outside world, each defined once.

An adapter in ``mlcp.adapters`` implements a port against AWS; a test implements it in memory
(``tests/usecases/fakes.py``); the composition root (``mlcp.entrypoint``) picks which. Nothing
here does I/O, and nothing here imports an adapter (ADR 0028).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from mlcp.records import record_class

if TYPE_CHECKING:
    from mlcp.models.audit import AppendResult, AuditAction, AuditRecord, StreamHead
    from mlcp.models.gates import Candidate
    from mlcp.policy.model import Policy

type Clock = Callable[[], datetime]
"""Where "now" comes from: ``mlcp.clock.current`` by default (local mode's virtual clock), a fixed
moment in a test. Every ``*Deps`` takes one as ``clock``."""


MAX_PARAMETER_VALUE: Final = 1024
"""The longest value of a pipeline parameter SageMaker takes."""
MAX_DESCRIPTION: Final = 3072
"""The longest pipeline execution description SageMaker takes."""
UNKNOWN: Final = "unknown"
"""The identity of a caller STS could not name (every check of who acts fails closed on it)."""
TOKEN_PREFIX: Final = "mlcp-"  # noqa: S105 (a ClientRequestToken prefix, not a secret)
"""How the ClientRequestToken of a retraining mlcp starts begins."""


@record_class(slots=True)
class DataWindow:
    """New training data counted since the last retraining of a pipeline."""

    objects: int = 0
    bytes: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None


@record_class(slots=True)
class Admission:
    """Whether the guards let a retraining start, and why (not)."""

    admitted: bool
    reason: str


class StoredReport(NamedTuple):
    """Where a report was stored (its S3 URI, with the version) and the SHA-256 of its bytes."""

    uri: str
    sha256: str


class PolicySource(Protocol):
    """What the use cases read the policy from (SSM Parameter Store or AppConfig)."""

    def get(self, *, force_fetch: bool = False) -> Policy: ...


class Notifier(Protocol):
    """Tells people something (an SNS topic); returns the message id."""

    def notify(self, subject: str, message: dict[str, Any]) -> str: ...


@record_class(slots=True)
class TaskAnswer:
    """What answering a task token came to: delivered, or ``gone`` with Step Functions' code
    (TaskTimedOut, TaskDoesNotExist, InvalidToken: the wait ended or was answered already)."""

    gone: str | None = None

    @property
    def delivered(self) -> bool:
        """The workflow took the answer."""
        return self.gone is None


class TaskCallbacks(Protocol):
    """Answers a Step Functions task token (a workflow waits on it); a gone token is a
    ``TaskAnswer``, any other failure an exception (``adapters/task_callbacks.py``)."""

    def succeed(self, token: str, output: str) -> TaskAnswer: ...

    def fail(self, token: str, error: str, cause: str) -> TaskAnswer: ...

    def heartbeat(self, token: str) -> TaskAnswer: ...


class Executions(Protocol):
    """Step Functions executions, read back (the console decision's input and state machine)."""

    def describe(self, execution_arn: str) -> dict[str, Any]: ...


class CandidateSource(Protocol):
    """The model registry, read as the gates see it: the package now, and its tags."""

    def candidate(self, model_package_arn: str) -> tuple[Candidate, str]:
        """The package parsed once into a ``Candidate``, with its last-modified time (ISO 8601);
        ``ModelPackageNotFound`` when the registry does not know it."""
        ...


class ModelRegistry(CandidateSource, Protocol):
    """The model registry the approval flow reads and writes."""

    def set_status(self, model_package_arn: str, status: str, description: str) -> None:
        """Set the package's approval status with a description."""
        ...


class ReportStore(Protocol):
    """Where gate reports are kept (an S3 bucket): ``write`` returns where, with the content's hash."""

    def write(self, key: str, document: dict[str, Any]) -> StoredReport: ...


class MonitoringRuns(Protocol):
    """Model Monitor's runs: the processing job of a run, and the violations report it wrote."""

    def processing_job(self, name: str) -> dict[str, Any] | None:
        """DescribeProcessingJob's response (None: no such job)."""
        ...

    def violations(self, uri: str) -> dict[str, Any] | None:
        """The JSON object at ``uri`` (None: no file, as after a clean run)."""
        ...


class RetrainingGuards(Protocol):
    """What keeps retraining from starting too often: monitoring streaks, the new-data window, and
    the lease / cooldown / daily maximum of each pipeline (``adapters/retraining_state.py``)."""

    def streak(self, endpoint: str, check_kind: str, bad: bool, *, run_id: str | None = None) -> int: ...

    def accumulate_data(
        self, pipeline: str, size: int, object_key: str, event_id: str, *, at: datetime | None = None
    ) -> DataWindow: ...

    def data_window(self, pipeline: str) -> DataWindow: ...

    def reset_data(self, pipeline: str, *, window: DataWindow | None = None) -> bool: ...

    def try_acquire(
        self,
        pipeline: str,
        execution_token: str,
        now: datetime,
        cooldown: timedelta,
        max_per_day: int,
        *,
        lease: timedelta = ...,
    ) -> Admission: ...

    def attach_execution(self, pipeline: str, execution_token: str, execution_arn: str) -> bool: ...

    def release(
        self, pipeline: str, finished_at: datetime, succeeded: bool, *, execution_arn: str | None = None
    ) -> bool: ...

    def abandon(self, pipeline: str, execution_token: str, now: datetime) -> bool: ...


class PipelineStarter(Protocol):
    """Starts a SageMaker pipeline; ``PipelineStartFailed`` (with SageMaker's error code) when refused."""

    def start(
        self, pipeline: str, parameters: Mapping[str, str], description: str, client_request_token: str
    ) -> str:
        """Start ``pipeline`` once per ``client_request_token``; the execution ARN."""
        ...


class EvidenceSource(Protocol):
    """Where the gates' evidence is read: reports and artifacts in S3, the champion on an endpoint.
    "Looked for, not found" is ``None``, never an exception."""

    def json_report(self, uri: str | None) -> dict[str, Any] | None:
        """The JSON object stored at ``uri`` (None: no URI, no object, or not a JSON object)."""
        ...

    def sha256(self, uri: str) -> str | None:
        """Hex SHA-256 of the object at ``uri`` (None: absent)."""
        ...

    def champion(self, endpoint: str) -> tuple[str | None, str | None]:
        """(the model serving on ``endpoint``, its package's ModelQuality statistics URI)."""
        ...


class AuditLog(Protocol):
    """The append-only audit trail (``adapters/audit_trail.py``): one record per decision id.
    ``table_name`` names it (a digest says which trail it anchors; deployments are tagged with it)."""

    table_name: str

    def append(
        self,
        *,
        stream: str,
        action: AuditAction,
        actor: str,
        subject: str,
        evidence: Mapping[str, Any],
        decision_id: str,
        event_id: str | None = None,
    ) -> AppendResult:
        """Append once per ``decision_id`` (a redelivery returns the first record, ``appended`` False)."""
        ...

    def read(self, stream: str) -> list[AuditRecord]:
        """Every record of ``stream``, oldest first."""
        ...

    def heads(self) -> list[tuple[StreamHead, str | None]]:
        """Every stream's head, with when it last changed."""
        ...
