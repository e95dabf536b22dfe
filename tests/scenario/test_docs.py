"""docs/scenarios.md and the registry of step kinds stay in sync: every kind and every expectation is
documented with an example, and every example parses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp_cli.scenario import STEP_KINDS, parse_scenario
from mlcp_cli.scenario.expect import Expect

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
TEXT = DOC.read_text()


def sections(level: str) -> dict[str, str]:
    """Heading name (in backquotes) -> the text up to the next heading of that level or above."""
    found: dict[str, str] = {}
    parts = re.split(rf"^({level}) `([a-z_]+)`$", TEXT, flags=re.MULTILINE)
    for index in range(1, len(parts) - 2, 3):
        found[parts[index + 1]] = re.split(rf"^#{{1,{len(level)}}} ", parts[index + 2], flags=re.MULTILINE)[0]
    return found


def examples(text: str) -> list[Any]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)]


KINDS = sections("###")
PARTS = sections("####")


def test_every_step_kind_is_documented_and_nothing_else() -> None:
    assert set(KINDS) == set(STEP_KINDS)


def test_every_expectation_is_documented() -> None:
    assert set(PARTS) == set(Expect.model_fields)


@pytest.mark.parametrize("name", sorted(STEP_KINDS))
def test_each_step_kind_has_an_example_that_parses(name: str) -> None:
    blocks = examples(KINDS.get(name, ""))
    assert blocks, f"docs/scenarios.md: no example for {name}"
    for block in blocks:
        scenario = parse_scenario({"name": "doc", "steps": block}, f"docs/scenarios.md ({name})")
        assert name in {step.action for step in scenario.steps}


@pytest.mark.parametrize("part", sorted(Expect.model_fields))
def test_each_expectation_has_an_example_that_parses(part: str) -> None:
    blocks = examples(PARTS.get(part, ""))
    assert blocks, f"docs/scenarios.md: no example for expect.{part}"
    for block in blocks:
        scenario = parse_scenario({"name": "doc", "steps": block}, f"docs/scenarios.md (expect.{part})")
        assert any(getattr(step.args, part, None) is not None for step in scenario.steps)


def test_every_example_in_the_doc_parses() -> None:
    blocks = examples(TEXT)
    assert len(blocks) > len(STEP_KINDS)
    for block in blocks:
        parse_scenario(
            block if isinstance(block, dict) else {"name": "doc", "steps": block}, "docs/scenarios.md"
        )
