"""The reference pipeline's files, its scripts loaded as modules, and .venv-pipeline when it exists."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "pipelines" / "churn_training"
DEFINITION = PROJECT / "definition.json"
PIPELINE_PYTHON = ROOT / ".venv-pipeline" / "bin" / "python"


def load_script(name: str) -> ModuleType:
    """``pipelines/churn_training/<name>.py`` as a module (the project is not a package)."""
    module_name = f"churn_training_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, PROJECT / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pipeline_python() -> Path:
    """The .venv-pipeline interpreter (sagemaker SDK, xgboost); skips when `make pipeline` never ran."""
    if not PIPELINE_PYTHON.exists():
        pytest.skip(".venv-pipeline not built (make pipeline)")
    return PIPELINE_PYTHON
