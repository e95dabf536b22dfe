"""The reliability and security proof suite (issue 6): each test proves one property and records figures.

``make reliability`` runs the full profile (``MLCP_RELIABILITY_PROFILE=full``); ``make test`` runs the
quick profile (the default) so CI keeps every property honest at a smaller scale. Each test asks for
the ``figure`` fixture and records what it measured; the session ends with a table of every figure and
one line ``N passed, M failed``, one count per property (a test is a property).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

PROFILES = {"quick", "full"}


@dataclass(frozen=True)
class Profile:
    """How big the proof runs: ``quick`` in ``make test``, ``full`` in ``make reliability``."""

    name: str

    @property
    def full(self) -> bool:
        return self.name == "full"

    def scale(self, full: int, quick: int) -> int:
        """``full`` inputs in the full profile, ``quick`` otherwise."""
        return full if self.full else quick


@dataclass
class Figure:
    property: str
    metric: str
    value: float | int | str
    unit: str
    target: str
    ok: bool


@dataclass
class _Results:
    figures: list[Figure] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)  # property -> passed / failed


_RESULTS = _Results()


def _profile_name() -> str:
    name = os.environ.get("MLCP_RELIABILITY_PROFILE", "quick")
    if name not in PROFILES:
        raise pytest.UsageError(f"MLCP_RELIABILITY_PROFILE={name!r}: expected one of {sorted(PROFILES)}")
    return name


@pytest.fixture(scope="session")
def profile() -> Profile:
    return Profile(_profile_name())


def _property_name(item: pytest.Item) -> str:
    marker = item.get_closest_marker("reliability_property")
    return str(marker.args[0]) if marker else item.name


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``figure(metric, value, unit="", target="", ok=True)``: record one measured figure of this property."""
    prop = _property_name(request.node)

    def record(
        metric: str, value: float | int | str, unit: str = "", target: str = "", ok: bool = True
    ) -> None:
        _RESULTS.figures.append(Figure(prop, metric, value, unit, target, ok))

    return record


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability_property(name): the property a reliability test proves (its table row group)"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if "tests/reliability" in item.nodeid.replace(os.sep, "/"):
        prop = _property_name(item)
        failed = report.failed or (report.when == "call" and report.skipped)
        if failed:
            _RESULTS.outcomes[prop] = "failed"
        elif report.when == "call" and report.passed:
            _RESULTS.outcomes.setdefault(prop, "passed")
    return report


def _fmt(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return value


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RESULTS.outcomes:
        return
    # A property fails when its test failed or any of its figures missed its target.
    for fig in _RESULTS.figures:
        if not fig.ok:
            _RESULTS.outcomes[fig.property] = "failed"
    rows = [("property", "figure", "value", "unit", "target", "ok")]
    rows += [
        (f.property, f.metric, _fmt(f.value), f.unit, f.target, "yes" if f.ok else "NO")
        for f in _RESULTS.figures
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    write = terminalreporter.write_line
    write("")
    write(f"reliability proof suite ({_profile_name()} profile)")
    for n, row in enumerate(rows):
        write("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            write("  ".join("-" * w for w in widths))
    passed = sum(1 for outcome in _RESULTS.outcomes.values() if outcome == "passed")
    failed = len(_RESULTS.outcomes) - passed
    write(f"{passed} passed, {failed} failed")
