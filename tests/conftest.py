"""Fixtures shared by every test package, the test tiers, and the reliability suite's summary.

Tiers (markers registered in pyproject.toml) are given by directory here, never by hand, so a new
test cannot be left without one: a test in a directory missing from ``TIER_OF_DIRECTORY`` stops the
run. ``pytest -m unit`` runs the cheap tier alone; ``make test`` runs every tier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcp_cli.emulator.gaps import serialized_dynamodb

TESTS = Path(__file__).resolve().parent

#: Each directory under tests/ and its tier (by cost, cheapest first: unit, emulator, e2e, reliability).
TIER_OF_DIRECTORY = {
    "analysis": "unit",
    "asl": "unit",
    "audit": "unit",
    "bench": "unit",
    "docs": "unit",
    "events": "unit",
    "gates": "unit",
    "harness": "unit",
    "incidents": "unit",
    "monitoring": "unit",
    "operations": "unit",
    "pipeline": "unit",
    "policy": "unit",
    "retraining": "unit",
    "runtime": "unit",
    "scenario": "unit",
    "usecases": "unit",
    "emulator": "emulator",
    "operator_cli": "emulator",
    "e2e": "e2e",
    "reliability": "reliability",
}
TIERS = ("unit", "emulator", "e2e", "reliability")


def tier_of(path: Path) -> str | None:
    """The tier of the test module at ``path``: its top directory's under tests/, None when unmapped."""
    parts = path.resolve().relative_to(TESTS).parts
    return TIER_OF_DIRECTORY.get(parts[0]) if len(parts) > 1 else None


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every collected test with its directory's tier; a test outside the map is a usage error."""
    for item in items:
        tier = tier_of(item.path)
        if tier is None:
            where = item.path.resolve().relative_to(TESTS).parent
            raise pytest.UsageError(
                f"{item.nodeid}: tests/{where} has no test tier; add it to TIER_OF_DIRECTORY in tests/conftest.py"
            )
        manual = [t for t in TIERS if t != tier and item.get_closest_marker(t)]
        if manual:
            raise pytest.UsageError(
                f"{item.nodeid}: marked {manual[0]!r} by hand, but its directory's tier is {tier!r}"
            )
        item.add_marker(tier)
    if hasattr(config, "workerinput"):
        # Under pytest-xdist, work goes out in collection order: the costliest tiers first, so the
        # cheap tests fill the end of the run instead of one long module on one worker. Stable: each
        # module's tests stay together (a tier is a directory), identically on every worker.
        items.sort(key=lambda item: -TIERS.index(tier_of(item.path) or "unit"))


@pytest.fixture
def serialized_moto() -> Iterator[None]:
    """moto's DynamoDB one request at a time (see ``serialized_dynamodb``)."""
    with serialized_dynamodb():
        yield


# ----------------------------------------------------------------- reliability suite summary
# The reliability tests record figures and their property through ``user_properties`` (see
# tests/reliability/conftest.py). Reports carry those to the process that writes the terminal, so the
# table is the same in a serial run and under pytest-xdist (whose controller never imports
# tests/reliability/conftest.py). Hence these hooks live here.

RELIABILITY_PROPERTY = "reliability_property"
RELIABILITY_FIGURE = "reliability_figure"


class _Reliability:
    def __init__(self) -> None:
        self.figures: list[dict[str, object]] = []
        self.outcomes: dict[str, str] = {}  # property -> passed / failed


_RELIABILITY = _Reliability()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = dict(p for p in report.user_properties if p[0] == RELIABILITY_PROPERTY)
    prop = properties.get(RELIABILITY_PROPERTY)
    if prop is None:
        return
    if report.failed or (report.when == "call" and report.skipped):
        _RELIABILITY.outcomes[str(prop)] = "failed"
    elif report.when == "call" and report.passed:
        _RELIABILITY.outcomes.setdefault(str(prop), "passed")
    if report.when == "teardown":  # user_properties accumulate: the teardown report has them all
        _RELIABILITY.figures += [
            dict(value) for name, value in report.user_properties if name == RELIABILITY_FIGURE
        ]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RELIABILITY.outcomes:
        return
    # A property fails when its test failed or any of its figures missed its target.
    for fig in _RELIABILITY.figures:
        if not fig["ok"]:
            _RELIABILITY.outcomes[str(fig["property"])] = "failed"
    columns = ("property", "metric", "value", "unit", "target")
    rows = [("property", "figure", "value", "unit", "target", "ok")]
    rows += [(*(_fmt(fig[c]) for c in columns), "yes" if fig["ok"] else "NO") for fig in _RELIABILITY.figures]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    write = terminalreporter.write_line
    write("")
    write(f"reliability proof suite ({os.environ.get('MLCP_RELIABILITY_PROFILE', 'quick')} profile)")
    for n, row in enumerate(rows):
        write("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            write("  ".join("-" * w for w in widths))
    passed = sum(1 for outcome in _RELIABILITY.outcomes.values() if outcome == "passed")
    failed = len(_RELIABILITY.outcomes) - passed
    write(f"{passed} passed, {failed} failed")
