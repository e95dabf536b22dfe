"""One table format for every command: a header row, a rule, columns two spaces apart, the whole fitting
``WIDTH`` (120) columns unless ``--wide``, and short forms of the long identifiers AWS hands out.

``Column(header, wide_only=False)`` names a column; a wide-only column (a hash, a decision id) shows
with ``--wide``. Cells that do not fit are cut in the middle (``arn:aws:sagemaker:.../churn-model/1``):
the head says what kind of thing it is and the tail which one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

WIDTH = 120
GAP = "  "
ELLIPSIS = "..."  # ASCII: one byte a column, whatever counts the width
MIN_COLUMN = 6


@dataclass(frozen=True)
class Column:
    header: str
    wide_only: bool = False
    #: Narrowed to fit, never below this (wider than a cell needs is no use): a reason keeps more room
    #: when an identifier gives some up.
    min_width: int = MIN_COLUMN
    #: Never narrowed (an id someone will type back).
    keep: bool = False


def elide(text: str, width: int) -> str:
    """``text`` cut in the middle to ``width`` characters (unchanged when it fits)."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    head = (width - len(ELLIPSIS)) // 2
    tail = width - len(ELLIPSIS) - head
    return text[:head] + ELLIPSIS + text[len(text) - tail :]


def _fit(widths: list[int], minimum: list[int], limit: int) -> list[int]:
    """Narrow the widest columns first until the row fits ``limit`` (each never below its minimum)."""
    fitted = list(widths)
    budget = limit - len(GAP) * (len(widths) - 1)
    while sum(fitted) > budget:
        narrowable = [i for i in range(len(fitted)) if fitted[i] > minimum[i]]
        if not narrowable:
            break
        fitted[max(narrowable, key=lambda i: fitted[i])] -= 1
    return fitted


def render(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False, width: int = WIDTH
) -> list[str]:
    """The table's lines: header, rule, rows; every line at most ``width`` unless ``wide``."""
    shown = [i for i, column in enumerate(columns) if wide or not column.wide_only]
    table = [[columns[i].header for i in shown], *([str(row[i]) for i in shown] for row in rows)]
    widths = [max(len(line[c]) for line in table) for c in range(len(shown))]
    if not wide:
        minimum = [w if columns[i].keep else columns[i].min_width for i, w in zip(shown, widths, strict=True)]
        widths = _fit(widths, minimum, width)
    lines = []
    for index, line in enumerate(table):
        cells = [elide(cell, w).ljust(w) for cell, w in zip(line, widths, strict=True)]
        lines.append(GAP.join(cells).rstrip())
        if index == 0:
            lines.append(GAP.join("-" * w for w in widths))
    return lines


def write_table(
    out: TextIO, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, wide: bool = False
) -> None:
    """``render`` to ``out``, one line each."""
    for line in render(columns, rows, wide=wide):
        out.write(line + "\n")


_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):[a-z0-9-]*:(?P<account>\d{12})?:(?P<resource>.+)$"
)


def short_arn(text: str) -> str:
    """An ARN by its resource part (``user/reviewer``, ``execution:mlcp-dev-deployment:9e1e…``; a model
    package as ``group/version``: ``churn-model/1``); anything else unchanged."""
    match = _ARN.match(text)
    if match is None:
        return text
    return match["resource"].removeprefix("model-package/")


def short_time(at: str) -> str:
    """``2026-12-07T19:36:32.000000Z`` -> ``2026-12-07 19:36:32`` (UTC, to the second)."""
    return at.replace("T", " ")[:19] if len(at) >= 19 and at[10:11] == "T" else at


def wrap(line: str, width: int = WIDTH, *, hang: int = 2) -> str:
    """``line`` folded at spaces to ``width`` columns; continuation lines keep its indentation plus
    ``hang``. Leading newlines are kept."""
    if len(line) <= width:
        return line
    import textwrap

    body = line.lstrip("\n")
    newlines = line[: len(line) - len(body)]
    indent = " " * (len(body) - len(body.lstrip(" ")))
    return newlines + textwrap.fill(
        body.strip(" "),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + " " * hang,
        break_long_words=True,
        break_on_hyphens=False,
    )
