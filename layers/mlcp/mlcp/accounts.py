"""Which account an event lets the control plane act on (ADR 26): its envelope's ``account``, never
a field inside ``detail``.

EventBridge sets an event's ``account`` itself (the account whose bus the event was put on; a
forwarded event keeps it), and the governance bus admits only the member accounts' events. What
``detail`` says is written by whoever produced the event. So the envelope decides, and an event
whose ``detail`` or ``resources`` name a resource in another account is refused: acting on it would
let one account's event steer the control plane into another account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from mlcp.errors import InvalidEvent
from mlcp.records import record_class

_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# arn:partition:service:region:account:resource - only a 12-digit account field names an account
# (AWS-owned ARNs say "aws" there, S3 ARNs leave it empty).
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:([0-9]{12}):")


@record_class
class AccountScope:
    """The accounts this control plane governs: its own (home) and the listed members."""

    home: str
    members: frozenset[str]

    @classmethod
    def parse(cls, home: str, members: str) -> AccountScope:
        """From the template's ``MLCP_HOME_ACCOUNT`` and comma-separated ``MLCP_MEMBER_ACCOUNTS``."""
        listed = [item.strip() for item in members.split(",") if item.strip()]
        for account in [home, *listed]:
            if not _ACCOUNT_ID.match(account):
                raise ValueError(f"not an account id: {account!r}")
        return cls(home=home, members=frozenset(listed) - {home})

    def governs(self, account: str) -> bool:
        """True for the home account and the members."""
        return account == self.home or account in self.members


def accounts_named(value: Any) -> set[str]:
    """Every account id named by an ARN anywhere in ``value`` (nested dicts, lists, strings)."""
    return {match.group(1) for text in _strings(value) if (match := _ARN_ACCOUNT.match(text))}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def acting_account(
    envelope_account: str | None,
    *,
    detail: Any,
    resources: Iterable[str],
    scope: AccountScope | None,
) -> str:
    """The account an event may be acted on in, or :class:`InvalidEvent` with the reason.

    Refused: an envelope without an account id; an account the scope does not govern (an
    unlisted account's event that reached a bus anyway); a ``detail`` or ``resources`` ARN in
    another account than the envelope's. ``scope`` None (no ``MLCP_HOME_ACCOUNT``) skips only the
    membership test, never the envelope/detail agreement.
    """
    account = envelope_account or ""
    if not _ACCOUNT_ID.match(account):
        raise InvalidEvent(f"event has no account id in its envelope ({envelope_account!r})")
    if scope is not None and not scope.governs(account):
        raise InvalidEvent(f"event from account {account}, which this control plane does not govern")
    others = sorted((accounts_named(detail) | accounts_named(list(resources))) - {account})
    if others:
        raise InvalidEvent(
            f"event from account {account} names resources in account {', '.join(others)}: "
            "the control plane acts only on the envelope's account"
        )
    return account


def account_stream(stream: str, account: str, home: str | None) -> str:
    """The audit stream of ``stream`` (``kind#name``) in ``account``: unchanged at home (the
    single-account streams stay where they were), ``kind#<account>:name`` in a member, so the same
    endpoint name in staging and prod are two streams."""
    if home is None or account == home:
        return stream
    kind, _, name = stream.partition("#")
    return f"{kind}#{account}:{name}"
