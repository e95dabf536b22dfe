"""Audit records as JSON Lines per stream and UTC day: what the retention export writes and reads.

Key: ``exports/<stream, URL-quoted>/<YYYY-MM-DD>.jsonl``; one record per line, every field with its
``hash`` and ``prev_hash`` (``AuditRecord.to_json_dict``), in seq order. Each file is written once
to the Object Lock bucket, so a day's evidence outlives the table and still verifies as a chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from urllib.parse import quote, unquote

from mlcp.models.audit import AuditRecord

EXPORT_PREFIX = "exports/"


def export_key(stream: str, day: str) -> str:
    """The object key of ``stream``'s records of ``day`` (``YYYY-MM-DD``)."""
    return f"{EXPORT_PREFIX}{quote(stream, safe='')}/{day}.jsonl"


def stream_of_key(key: str) -> str | None:
    """The stream an export key names, or None."""
    parts = key.removeprefix(EXPORT_PREFIX).split("/")
    if not key.startswith(EXPORT_PREFIX) or len(parts) != 2 or not parts[1].endswith(".jsonl"):
        return None
    return unquote(parts[0])


def days_of(records: Iterable[AuditRecord]) -> dict[str, list[AuditRecord]]:
    """Records grouped by their UTC day (``at[:10]``), each group in seq order."""
    grouped: dict[str, list[AuditRecord]] = {}
    for record in sorted(records, key=lambda r: r.seq):
        grouped.setdefault(record.at[:10], []).append(record)
    return grouped


def to_jsonl(records: Sequence[AuditRecord]) -> bytes:
    """One compact JSON object per record per line (sorted keys, UTF-8)."""
    lines = [
        json.dumps(r.to_json_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        for r in records
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def from_jsonl(body: bytes) -> list[AuditRecord]:
    """The records of one export file; raises ``ValueError`` on a line that is not a record."""
    return [
        AuditRecord.model_validate(json.loads(line)) for line in body.decode("utf-8").splitlines() if line
    ]
