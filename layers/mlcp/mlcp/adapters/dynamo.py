"""DynamoDB's answers to a conditional write or a transaction, classified once for every table.

A refused condition is the control plane's normal way of learning that someone else got there
first (a redelivery, a lost race): the stores turn it into a domain answer (``False``, ``None``,
"duplicate"). Every other error propagates. Read an error with these helpers, never by its codes::

    try:
        client.update_item(..., ConditionExpression=...)
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise

    try:
        client.transact_write_items(TransactItems=[first, second])
    except ClientError as exc:
        cancelled = cancellation(exc)
        if cancelled is None:
            raise
        if cancelled.condition_failed(1):  # the second write's condition
            ...
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mlcp.records import record_class

CONDITION_FAILED = "ConditionalCheckFailed"
"""A CancellationReasons code: that item's condition was false."""

RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
"""CancellationReasons codes that say "try again" (another transaction or the throughput was in the way)."""


def error_code(exc: ClientError) -> str:
    """The error's code (``""`` when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def condition_failed(exc: ClientError) -> bool:
    """Whether a single-item write was refused by its ``ConditionExpression``."""
    return error_code(exc) == "ConditionalCheckFailedException"


@record_class
class Cancellation:
    """Why DynamoDB cancelled a ``TransactWriteItems``: one reason per item, in the request's order."""

    reasons: tuple[str, ...]
    items: tuple[dict[str, Any] | None, ...]
    """Each item as stored, when its write asked for ``ReturnValuesOnConditionCheckFailure``."""

    def condition_failed(self, index: int) -> bool:
        """Whether the condition of the ``index``-th write was false."""
        return len(self.reasons) > index and self.reasons[index] == CONDITION_FAILED

    def any_condition_failed(self, below: int | None = None) -> bool:
        """Whether any write's condition (among the first ``below``, default all) was false."""
        return CONDITION_FAILED in self.reasons[:below]

    @property
    def retryable(self) -> bool:
        """Whether a reason says "try again" (a conflicting transaction, throttling)."""
        return any(reason in RETRYABLE_REASONS for reason in self.reasons)


def cancellation(exc: ClientError) -> Cancellation | None:
    """The reasons of a cancelled transaction; None when ``exc`` is another error."""
    if error_code(exc) != "TransactionCanceledException":
        return None
    reasons: list[dict[str, Any]] = [dict(reason) for reason in exc.response.get("CancellationReasons", [])]
    return Cancellation(
        reasons=tuple(str(reason.get("Code", "None")) for reason in reasons),
        items=tuple(reason.get("Item") for reason in reasons),
    )
