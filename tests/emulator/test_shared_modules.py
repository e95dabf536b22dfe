"""Execution environments share only the layer modules without state (gaps/shared_modules.py, ADR 33)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from mlcp_cli.emulator.gaps import FunctionRegistry, FunctionSpec, GapFills, run_function
from mlcp_cli.emulator.gaps.shared_modules import ModuleSharing

FAKE_LAYER = {
    "__init__.py": '"""A package: never shared."""\n',
    "pure.py": """
        import re
        from dataclasses import dataclass
        from enum import Enum
        from typing import Literal

        from pydantic import BaseModel, ConfigDict

        LIMITS = {"name": 63, "arn": 2048}
        PATTERN = re.compile(r"^[a-z]+$")
        Kind = Literal["a", "b"]

        class Colour(Enum):
            RED = "red"

        @dataclass(frozen=True)
        class Point:
            x: int = 0

        ORIGIN = Point()

        class Record(BaseModel):
            model_config = ConfigDict(frozen=True)
            name: str
            kind: Kind = "a"

        def describe(record: Record, *, prefix: str = "record") -> str:
            return f"{prefix}: {record.name}"
    """,
    "uses_pure.py": """
        from fakelayer.pure import Record, describe

        def shout(name: str) -> str:
            return describe(Record(name=name)).upper()
    """,
    "cache_dict.py": "_seen = {}\n",
    "mutated_constant.py": """
        SEEN = {}

        def remember(key, value):
            SEEN[key] = value
    """,
    "rebinds.py": """
        _client = None

        def client():
            global _client
            _client = _client or object()
            return _client
    """,
    "env_at_import.py": """
        import os

        SERVICE = os.environ.get("SERVICE_NAME", "unknown")
    """,
    "env_at_call.py": """
        import os

        def service() -> str:
            return os.environ.get("SERVICE_NAME", "unknown")
    """,
    "memo.py": """
        from functools import cache

        @cache
        def client(name):
            return object()
    """,
    "class_state.py": """
        class Metrics:
            _metrics: dict = {}
    """,
    "instance.py": """
        class Holder:
            def __init__(self):
                self.value = None

        holder = Holder()
    """,
    "uses_state.py": """
        from fakelayer.class_state import Metrics

        def count() -> int:
            return len(Metrics._metrics)
    """,
    "mutable_default.py": """
        def add(item, into=[]):
            into.append(item)
            return into
    """,
}


@pytest.fixture
def fake_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ModuleType]]:
    """``fakelayer`` (every module above) imported as one execution environment would import it."""
    package = tmp_path / "fakelayer"
    package.mkdir()
    for name, source in FAKE_LAYER.items():
        (package / name).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in FAKE_LAYER:
        importlib.import_module(
            "fakelayer" if name == "__init__.py" else f"fakelayer.{name.removesuffix('.py')}"
        )
    environment = {
        name: module for name, module in sys.modules.items() if name.partition(".")[0] == "fakelayer"
    }
    yield environment
    for name in environment:
        sys.modules.pop(name, None)


def test_modules_without_state_are_shared_and_modules_with_state_are_not(
    fake_layer: dict[str, ModuleType],
) -> None:
    sharing = ModuleSharing(["fakelayer"])
    sharing.promote(fake_layer)
    assert sorted(sharing.shared) == ["fakelayer.env_at_call", "fakelayer.pure", "fakelayer.uses_pure"]
    reasons = {name.removeprefix("fakelayer."): reason for name, reason in sharing.refused.items()}
    assert "package" in reasons["fakelayer"]
    assert reasons["cache_dict"] == "_seen is a mutable dict (module state)"
    assert reasons["mutated_constant"] == "SEEN is a mutable dict (module state)"
    assert "`global` statement" in reasons["rebinds"]
    assert "reads the environment at import" in reasons["env_at_import"]
    assert "functools._lru_cache_wrapper" in reasons["memo"]
    assert reasons["class_state"] == "Metrics._metrics is a mutable dict (module state)"
    assert "Holder object" in reasons["instance"]
    assert reasons["uses_state"] == "Metrics comes from fakelayer.class_state, which is not shared"
    assert "mutable list" in reasons["mutable_default"]


def test_a_shared_module_is_handed_to_the_next_environment_not_imported_again(
    fake_layer: dict[str, ModuleType],
) -> None:
    sharing = ModuleSharing(["fakelayer"])
    sharing.promote(fake_layer)
    first = fake_layer["fakelayer.uses_pure"]
    for name in fake_layer:  # the next environment starts without any of them
        sys.modules.pop(name)
    sys.meta_path.insert(0, sharing.finder)
    try:
        again = importlib.import_module("fakelayer.uses_pure")
        package = sys.modules["fakelayer"]
        stateful = importlib.import_module("fakelayer.class_state")
    finally:
        sys.meta_path.remove(sharing.finder)
    assert again is first
    assert again.shout("ada") == "RECORD: ADA"
    assert package is not fake_layer["fakelayer"]  # its own package, with the shared module bound in it
    assert package.uses_pure is first  # type: ignore[attr-defined]
    assert again.__spec__ is not None
    assert again.__spec__.origin == first.__file__
    assert stateful is not fake_layer["fakelayer.class_state"]


APP = """
import mlcp.policy.model as policy_model
from mlcp.adapters import clients
from mlcp.observability import logger, metrics


def handler(event, context):
    metrics.add_metric(name=event["metric"], unit="Count", value=1)  # never flushed: still pending
    return {
        "service": logger.service,
        "pending": sorted(metrics.metric_set),
        "metrics_class": id(type(metrics)),
        "logger_module": id(type(logger)),
        "policy_model": id(policy_model),
        "clients": id(clients),
    }
"""


def test_two_functions_share_the_policy_model_but_not_logger_metrics_or_configuration(
    fills: GapFills, tmp_path: Path
) -> None:
    code = tmp_path / f"fn_{uuid.uuid4().hex[:8]}"
    code.mkdir()
    (code / "app.py").write_text(APP)
    registry = FunctionRegistry()
    specs = [
        FunctionSpec(
            name=f"shared-modules-{name}",
            code_dir=code,
            handler="app.handler",
            environment={"POWERTOOLS_SERVICE_NAME": name, "POWERTOOLS_METRICS_NAMESPACE": "test"},
        )
        for name in ("first", "second")
    ]
    for spec in specs:
        registry.register(spec)
    first = run_function(registry, specs[0], {"metric": "SeenByFirst"})
    second = run_function(registry, specs[1], {"metric": "SeenBySecond"})
    again = run_function(registry, specs[0], {"metric": "SeenByFirstAgain"})
    assert [result.error for result in (first, second, again)] == [None, None, None]
    assert (first.payload["service"], second.payload["service"]) == ("first", "second")
    assert second.payload["pending"] == ["SeenBySecond"]  # Metrics' class-level set is its own
    assert again.payload["pending"] == ["SeenByFirst", "SeenByFirstAgain"]  # a warm environment keeps it
    assert first.payload["metrics_class"] != second.payload["metrics_class"]
    assert first.payload["logger_module"] != second.payload["logger_module"]
    assert first.payload["clients"] != second.payload["clients"]  # cached clients stay per function
    assert first.payload["policy_model"] == second.payload["policy_model"]
    assert "mlcp.policy.model" in registry.sharing.shared
    assert "mlcp.observability" in registry.sharing.refused
    assert "mlcp.adapters.clients" in registry.sharing.refused
