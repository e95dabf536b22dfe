"""DynamoDB: fill q (one request at a time), fill ae (a transaction backs up only what it can change)
and :func:`serialized_dynamodb` for plain moto."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original

_DYNAMODB_LOCK = threading.RLock()
"""One DynamoDB request at a time: fill q and ``serialized_dynamodb`` share it (re-entrant)."""


@contextlib.contextmanager
def serialized_dynamodb() -> Iterator[None]:
    """Serialize moto's DynamoDB request handling while the context is open, for plain moto (no
    gap fills: the audit and incident tests, ``make bench``); the gap fills do the same (fill q).

    moto's TransactWriteItems snapshots and restores whole tables without a lock, so truly
    concurrent requests can clobber each other inside the emulator. DynamoDB itself does not
    behave that way; with one request at a time the emulator is a faithful stand-in, and
    concurrent writers exercise *our* conditional writes, not moto's races.
    """
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.__dict__["call_action"]  # its own, so restoring it undoes exactly this

    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


def fill_dynamodb_one_request_at_a_time(self: Any) -> Any:
    """Every DynamoDB request is handled alone, as the real service's requests are serializable.

    AWS: concurrent requests on a table never corrupt each other; a TransactWriteItems is atomic
    and isolated. moto 5.2.5: TransactWriteItems deep-copies the tables to roll back on failure,
    without a lock, while other threads (Lambda handlers, Step Functions tasks) write: the copy
    fails with ``RuntimeError: dictionary changed size during iteration``, which the control plane
    sees as a failed call (a deployment failed beyond its retries in an e2e test, 1 run in 4).
    Fill: a re-entrant lock around the DynamoDB request handler.
    """
    from moto.dynamodb.responses import DynamoHandler

    with _DYNAMODB_LOCK:
        return _call_original(DynamoHandler, "call_action", self)


class _Transaction(threading.local):
    items: list[dict[str, Any]] | None = None


_TRANSACTION = _Transaction()


def fill_dynamodb_transaction_backup(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """Fill ae: TransactWriteItems backs up only what it can change (same rollback, less copying).

    AWS: TransactWriteItems is all or nothing. moto 5.2.5: rolls back a cancelled transaction by
    restoring a deep copy of every table it names, taken before it starts, so each transaction
    costs a copy of the whole table (the audit trail grows all along a scenario; a third of the
    DynamoDB time of ``make bench``'s full scenario). Fill: the same rollback from a cheaper
    backup (:func:`table_backup`): the table's structure is copied, the items the transaction
    names are deep-copied and the others, which it cannot touch, are shared. Requests run one at
    a time (fill q), so nothing else writes meanwhile.
    """
    from moto.dynamodb.models import DynamoDBBackend

    outer = _TRANSACTION.items
    _TRANSACTION.items = transact_items
    try:
        _call_original(DynamoDBBackend, "transact_write_items", self, transact_items)
    finally:
        _TRANSACTION.items = outer


def _named_items(table: Any, transact_items: list[dict[str, Any]]) -> list[Any]:
    """The stored items (moto ``Item`` objects) of ``table`` that ``transact_items`` name."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    found: list[Any] = []
    for entry in transact_items:
        for op in entry.values():
            if not isinstance(op, dict) or op.get("TableName") != table.name:
                continue
            key = op.get("Key") or op.get("Item") or {}
            hash_value = key.get(table.hash_key_attr)
            range_value = key.get(table.range_key_attr) if table.range_key_attr else None
            if hash_value is None:
                continue
            # Read the index without table.get_item: on its defaultdict a missing hash key would be
            # added (as an empty range) to the live table.
            stored = table.items.get(DynamoType(hash_value))
            if table.range_key_attr:
                item = stored.get(DynamoType(range_value)) if stored and range_value is not None else None
            else:
                item = stored
            if item is not None:
                found.append(item)
    return found


def table_backup(table: Any, transact_items: list[dict[str, Any]]) -> Any:
    """A copy of moto ``Table`` ``table`` that a rollback of ``transact_items`` can restore: a new
    table object and item index, the named items deep-copied, the other items shared (the
    transaction replaces or removes items in the index, and changes in place only items it names)."""
    backup = copy.copy(table)
    named = {id(item): copy.deepcopy(item) for item in _named_items(table, transact_items)}
    items: Any = defaultdict(dict)
    for hash_value, stored in table.items.items():
        if isinstance(stored, dict):
            items[hash_value] = {key: named.get(id(item), item) for key, item in stored.items()}
        else:
            items[hash_value] = named.get(id(stored), stored)
    backup.items = items
    shard = table.stream_shard
    if shard is not None:
        backup.stream_shard = copy.copy(shard)
        backup.stream_shard.table = backup
        backup.stream_shard.items = list(shard.items)
    return backup


class _BackupCopy:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: a deep copy of a table
    taken for a transaction is :func:`table_backup`; everything else is :mod:`copy`'s own."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        transact_items = _TRANSACTION.items
        if transact_items is not None and type(value) is Table:
            return table_backup(value, transact_items)
        return copy.deepcopy(value, memo)


BACKUP_COPY = _BackupCopy()
