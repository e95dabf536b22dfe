from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
NEGATIVE = EVENTS / "negative"
SCHEMAS = EVENTS / "schemas"
FIXTURE_TEMPLATE = ROOT / "tests" / "fixtures" / "events" / "template.yaml"
REAL_TEMPLATE = ROOT / "template.yaml"


def positive_samples() -> list[Path]:
    return sorted(p for p in EVENTS.glob("*/*.json") if p.parent.name not in {"negative", "schemas"})


def negative_expectations() -> dict[str, str]:
    expected: dict[str, str] = json.loads((NEGATIVE / "expected.json").read_text())
    return expected


def expected_routes() -> dict[str, list[str]]:
    routes: dict[str, list[str]] = json.loads((EVENTS / "expected-routes.json").read_text())
    return routes


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Any:
    from mlcp_cli.main import main

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        return code, capsys.readouterr().out

    return run
