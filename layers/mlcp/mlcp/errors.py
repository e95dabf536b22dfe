"""Exceptions of the control plane.

Class names are part of the ASL contract: state machines name them in Retry/Catch
``ErrorEquals`` (a Lambda error surfaces as its ``errorType``, the exception's class name).
Rename one only together with every state machine that names it.
"""

TASK_TOKEN_GONE = frozenset({"InvalidToken", "TaskTimedOut", "TaskDoesNotExist"})
"""Step Functions error codes of SendTask* that mean no execution waits on the token any more
(its wait timed out or closed, or the execution ended): there is nothing left to resume."""


class ControlPlaneError(Exception):
    """Base class of every error the control plane raises on purpose."""


class PipelineStartFailed(ControlPlaneError):
    """SageMaker did not start a pipeline (StartPipelineExecution failed); ``code`` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidEvent(ControlPlaneError):
    """An event is malformed or is not one the control plane consumes; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ModelPackageNotFound(ControlPlaneError):
    """DescribeModelPackage does not know the package an event names."""


class AuditConflict(ControlPlaneError):
    """An audit append lost a race for the stream head more often than its retry budget allows."""


class ConfigurationError(ControlPlaneError):
    """The function's environment does not carry the configuration it needs."""


class ApprovalDenied(ControlPlaneError):
    """A human denied a pending approval (the deployment workflow's task fails with this name)."""


class SeparationOfDutiesViolation(ControlPlaneError):
    """The approver is the package's creator, or either identity is unknown (fails closed)."""


class ApprovalNotPending(ControlPlaneError):
    """The approval was already decided, expired or abandoned, or does not exist."""


class DeploymentNotSupported(ControlPlaneError):
    """The endpoint cannot take this deployment (e.g. guardrails exclude serverless endpoints)."""


class DeploymentAborted(ControlPlaneError):
    """An operator aborted the managed deployment during its bake (``mlcp abort``: SendTaskFailure with
    this error name on the bake's task token); the workflow rolls the candidate back."""
