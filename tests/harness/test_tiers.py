"""The test harness itself: tiers by directory, and the reliability summary in serial and xdist runs.

Each test lays out a small copy of tests/ (the real conftest files and pyproject.toml) in a temporary
directory and runs pytest on it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

pytest_plugins = ["pytester"]

PROPERTY_TEST = """
import pytest

pytestmark = pytest.mark.reliability_property("counting")


def test_counts(figure):
    figure("apples", 3, target="3", ok=True)
    figure("pears", 2, target="3", ok={pears_ok})
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty copy of the suite's layout: pyproject.toml and tests/conftest.py."""
    (pytester.path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "conftest.py").write_text((TESTS / "conftest.py").read_text())
    return pytester


def _add(suite: pytest.Pytester, relative: str, text: str) -> None:
    path = suite.path / "tests" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _reliability(suite: pytest.Pytester, *, pears_ok: bool) -> None:
    _add(suite, "reliability/__init__.py", "")
    _add(suite, "reliability/conftest.py", (TESTS / "reliability" / "conftest.py").read_text())
    _add(suite, "reliability/test_counting.py", PROPERTY_TEST.format(pears_ok=pears_ok))


def test_every_tier_is_a_registered_marker_and_every_directory_with_tests_has_one(
    pytestconfig: pytest.Config,
) -> None:
    (conftest,) = (
        p
        for p in pytestconfig.pluginmanager.get_plugins()
        if getattr(p, "__file__", None) == str(TESTS / "conftest.py")
    )
    tier_of_directory, tiers = conftest.TIER_OF_DIRECTORY, conftest.TIERS
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert {m.split(":")[0] for m in markers} >= set(tiers)
    assert set(tier_of_directory.values()) == set(tiers)
    with_tests = {p.parent.name for p in TESTS.glob("*/test_*.py")}
    assert with_tests == set(tier_of_directory)


def test_each_test_gets_its_directory_tier_and_m_selects_it(suite: pytest.Pytester) -> None:
    _add(suite, "gates/test_a.py", "def test_a():\n    pass\n")
    _add(suite, "e2e/test_b.py", "def test_b():\n    pass\n")
    result = suite.runpytest("-m", "e2e", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*e2e/test_b.py::test_b PASSED*"])


def test_a_test_in_an_unmapped_directory_stops_the_run(suite: pytest.Pytester) -> None:
    _add(suite, "newthing/test_c.py", "def test_c():\n    pass\n")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tests/newthing has no test tier; add it to TIER_OF_DIRECTORY*"])


def test_a_tier_marked_by_hand_against_its_directory_stops_the_run(suite: pytest.Pytester) -> None:
    _add(suite, "gates/test_d.py", "import pytest\n\n@pytest.mark.e2e\ndef test_d():\n    pass\n")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*marked 'e2e' by hand, but its directory's tier is 'unit'*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("pears_ok", [True, False], ids=["met", "missed"])
def test_the_reliability_table_has_every_figure_and_a_missed_target_fails(
    suite: pytest.Pytester, workers: list[str], pears_ok: bool
) -> None:
    _reliability(suite, pears_ok=pears_ok)
    result = suite.runpytest_subprocess(*workers, "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert re.search(r"^counting\s+apples\s+3\s+3\s+yes$", out, re.M), out
    if pears_ok:
        assert result.ret == pytest.ExitCode.OK
        assert re.search(r"^counting\s+pears\s+2\s+3\s+yes$", out, re.M), out
        assert re.search(r"^1 passed, 0 failed$", out, re.M), out
    else:  # the test fails too, not only its row: the exit status says so
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert re.search(r"^counting\s+pears\s+2\s+3\s+NO$", out, re.M), out
        assert re.search(r"^0 passed, 1 failed$", out, re.M), out
        assert "counting: figures missed their target: pears: 2 (target 3)" in out
