"""`mlcp local run`'s environment settings: MLCP_CLOCK_SKIPPING=off runs the virtual clock without
skipping (the benchmark's reference); any other value than on/off is refused before deploying."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.commands import local
from mlcp_cli.emulator import runtime
from mlcp_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = str(ROOT / "scenarios" / "full-loop.yaml")


@pytest.mark.parametrize(
    ("value", "skipping"), [(None, True), ("on", True), ("off", False), (" OFF ", False)]
)
def test_clock_skipping_setting(monkeypatch: pytest.MonkeyPatch, value: str | None, skipping: bool) -> None:
    if value is None:
        monkeypatch.delenv("MLCP_CLOCK_SKIPPING", raising=False)
    else:
        monkeypatch.setenv("MLCP_CLOCK_SKIPPING", value)
    assert local.clock_skipping() is skipping


def test_an_unknown_setting_is_refused_before_deploying(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLCP_CLOCK_SKIPPING", "sometimes")
    assert main(["local", "run", SCENARIO, "--root", str(ROOT)]) == 2
    captured = capsys.readouterr()
    assert "MLCP_CLOCK_SKIPPING must be on or off, not 'sometimes'" in captured.err
    assert "deploying" not in captured.out


class _Deployed(Exception):
    """Stands for the deploy: the run stops where the control plane would start."""


class _RecordingControlPlane:
    built: list[dict[str, Any]] = []

    def __init__(self, template: Path, **options: Any) -> None:
        self.built.append(options)

    def __enter__(self) -> None:
        raise _Deployed

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_setting_reaches_the_control_planes_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "LocalControlPlane", _RecordingControlPlane)
    for value, skipping in (("off", False), ("on", True)):
        monkeypatch.setenv("MLCP_CLOCK_SKIPPING", value)
        with pytest.raises(_Deployed):
            main(["local", "run", SCENARIO, "--root", str(ROOT)])
        assert _RecordingControlPlane.built.pop()["skipping"] is skipping
