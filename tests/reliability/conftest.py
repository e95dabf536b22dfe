"""The reliability and security proof suite (issue 6): each test proves one property and records figures.

``make reliability`` runs the full profile (``MLCP_RELIABILITY_PROFILE=full``); ``make test`` runs the
quick profile (the default) so CI keeps every property honest at a smaller scale. Each test asks for
the ``figure`` fixture and records what it measured; the session ends with a table of every figure and
one line ``N passed, M failed``, one count per property (a test is a property).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .faults import FaultBench

# The summary table is written by tests/conftest.py from these user properties of each report (it
# must run in pytest-xdist's controller too, which never imports this file).
RELIABILITY_PROPERTY = "reliability_property"
RELIABILITY_FIGURE = "reliability_figure"

HERE = Path(__file__).resolve().parent

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
def figure(request: pytest.FixtureRequest) -> Iterator[Callable[..., None]]:
    """``figure(metric, value, unit="", target="", ok=True)``: record one measured figure of this property.

    A figure that misses its target (``ok=False``) fails the test at teardown, as it fails its
    property in the summary table (tests/conftest.py writes it).
    """
    prop = _property_name(request.node)
    missed: list[str] = []

    def record(
        metric: str, value: float | int | str, unit: str = "", target: str = "", ok: bool = True
    ) -> None:
        figure = {
            "property": prop,
            "metric": metric,
            "value": value,
            "unit": unit,
            "target": target,
            "ok": ok,
        }
        request.node.user_properties.append((RELIABILITY_FIGURE, figure))
        if not ok:
            missed.append(f"{metric}: {value} (target {target or 'ok'})")

    yield record
    if missed:
        pytest.fail(f"{prop}: figures missed their target: {'; '.join(missed)}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability_property(name): the property a reliability test proves (its table row group)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag each test of this suite with its property: every report carries it to the summary."""
    for item in items:
        if Path(item.path).resolve().is_relative_to(HERE):
            item.user_properties.append((RELIABILITY_PROPERTY, _property_name(item)))


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultBench]:
    """The fault matrix's bench (``faults.py``): one control plane per test module that asks for it."""
    from .faults import open_bench

    with open_bench(tmp_path_factory.mktemp("faults")) as fb:
        yield fb
