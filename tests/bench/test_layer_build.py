"""The RuntimeLayer's build (layers/mlcp/Makefile, ADR 32) ships bytecode Lambda will use, and
`make bench` times the handlers as that build lays them out. No timing assertions."""

from __future__ import annotations

import importlib.util
import marshal
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlcp_cli import bench
from mlcp_cli.template import load_template

ROOT = Path(__file__).resolve().parents[2]
LAYER_SOURCE = ROOT / "layers" / "mlcp"
FIXTURE = ROOT / "tests" / "fixtures" / "bench" / "template.yaml"
#: PEP 552 flags word: bit 0 hash-based, bit 1 check_source. Unchecked hash: 0b01.
UNCHECKED_HASH = 0b01


def _makefile_variable(name: str) -> str:
    text = (LAYER_SOURCE / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{name} := (\S+)$", text, re.MULTILINE)
    assert match, f"{name} is not set in layers/mlcp/Makefile"
    return match.group(1)


def test_the_layer_makefile_builds_for_the_functions_runtime_and_architecture() -> None:
    template = load_template(ROOT / "template.yaml")
    function_globals = template["Globals"]["Function"]
    layer = template["Resources"]["RuntimeLayer"]
    runtime, architecture = _makefile_variable("RUNTIME"), _makefile_variable("ARCHITECTURE")
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert function_globals["Runtime"] == runtime
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert function_globals["Architectures"] == [architecture]
    assert layer["Metadata"]["BuildArchitecture"] == architecture
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture]
    for resource in template["Resources"].values():  # every function runs the layer's Python
        assert resource.get("Properties", {}).get("Runtime", runtime) == runtime
    makefile = (LAYER_SOURCE / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^build-RuntimeLayer:", makefile, re.MULTILINE)


def _build_layer(tmp_path: Path, python: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the build target as sam build does: in a scratch copy of the ContentUri, with ARTIFACTS_DIR.
    The scratch copy gets an empty requirements.txt (no network in tests: the dependencies' install is
    pip's) and a stale development __pycache__ that must not ship."""
    scratch, artifacts = tmp_path / "scratch", tmp_path / "artifacts"
    shutil.copytree(LAYER_SOURCE, scratch, ignore=shutil.ignore_patterns("__pycache__"))
    (scratch / "requirements.txt").write_text("", encoding="utf-8")
    stale = scratch / "mlcp" / "__pycache__" / "stale.cpython-313.pyc"
    stale.parent.mkdir()
    stale.write_bytes(b"not bytecode")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    proc = subprocess.run(
        ["make", "--makefile", str(scratch / "Makefile"), "build-RuntimeLayer", f"PYTHON={python}"],
        cwd=scratch,
        env={**environ, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, artifacts / "python"


def test_the_layer_ships_unchecked_hash_bytecode_of_every_module_for_opt_python(tmp_path: Path) -> None:
    proc, layer = _build_layer(tmp_path, sys.executable)
    assert proc.returncode == 0, proc.stderr
    sources = sorted((layer / "mlcp").rglob("*.py"))
    assert {p.relative_to(layer) for p in sources} == {
        p.relative_to(LAYER_SOURCE) for p in (LAYER_SOURCE / "mlcp").rglob("*.py")
    }
    assert not list(layer.rglob("stale.cpython-313.pyc"))
    for source in sources:
        data = Path(importlib.util.cache_from_source(str(source))).read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(data[4:8], "little") == UNCHECKED_HASH, source
        assert data[8:16] == importlib.util.source_hash(source.read_bytes()), source
        code = marshal.loads(data[16:])
        assert code.co_filename == f"/opt/python/{source.relative_to(layer).as_posix()}"


def test_an_import_from_the_built_layer_compiles_nothing(tmp_path: Path) -> None:
    # The bench's probe, on the build target's output: every mlcp module a handler imports comes
    # from the layer's bytecode. The sources' mtimes are changed first, as a zip's 1980 dates are.
    proc, layer = _build_layer(tmp_path, sys.executable)
    assert proc.returncode == 0, proc.stderr
    for source in (layer / "mlcp").rglob("*.py"):
        os.utime(source, (315532800, 315532800))
    timing = bench.ImportTiming("entrypoint")
    environment = bench.handler_environment(load_template(ROOT / "template.yaml"), "DeployModelFunction")
    bench.sample_import(
        timing,
        "import mlcp.entrypoint, mlcp.usecases.deployment\nassert mlcp.__file__.startswith(sys.path[0])",
        env=environment,
        sys_path=[str(layer)],
        after=bench.bytecode_probe([str(layer)]),
    )
    assert timing.error is None
    assert timing.compiled_modules == []


def test_the_layer_build_refuses_a_python_other_than_the_runtimes(tmp_path: Path) -> None:
    impostor = tmp_path / "python"
    impostor.write_text("#!/bin/sh\necho python3.12\n", encoding="utf-8")
    impostor.chmod(0o755)
    proc, layer = _build_layer(tmp_path, str(impostor))
    assert proc.returncode != 0
    assert "must be compiled by python3.13" in proc.stderr
    assert "is python3.12" in proc.stderr
    assert not layer.exists()


# ------------------------------------------------------------------ the bench's view of the build


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_a_build_older_than_the_sources_is_refused(tmp_path: Path) -> None:
    template = load_template(FIXTURE)
    root, build = tmp_path / "repo", tmp_path / "build"
    _tree(
        root,
        {
            "layers/mlcp/mlcp/__init__.py": "",
            "layers/mlcp/mlcp/a.py": "A = 1\n",
            "layers/mlcp/requirements.txt": "pydantic\n",
            "functions/ingest/app.py": "import mlcp\n",
            "functions/plain/app.py": "X = 1\n",
        },
    )
    assert bench.shipped_problem(root, template, build) == f"not built ({build}): run make sam-build"
    _tree(
        build,
        {
            "RuntimeLayer/python/mlcp/__init__.py": "",
            "RuntimeLayer/python/mlcp/a.py": "A = 1\n",
            "RuntimeLayer/python/pydantic/__init__.py": "",  # a dependency: not ours to compare
            "IngestFunction/app.py": "import mlcp\n",
            "PlainFunction/app.py": "X = 1\n",
        },
    )
    assert bench.stale_sources(root, template, build) == []
    assert bench.shipped_problem(root, template, build) is None
    (root / "layers/mlcp/mlcp/a.py").write_text("A = 2\n", encoding="utf-8")
    (build / "RuntimeLayer/python/mlcp/gone.py").write_text("", encoding="utf-8")
    (root / "functions/plain/new.py").write_text("", encoding="utf-8")
    assert bench.stale_sources(root, template, build) == [
        "layers/mlcp/mlcp/a.py",
        "layers/mlcp/mlcp/gone.py",
        "functions/plain/new.py",
    ]
    assert bench.shipped_problem(root, template, build) == (
        "the build is older than layers/mlcp/mlcp/a.py and 2 more: run make sam-build"
    )


def test_the_bytecode_probe_names_the_modules_compiled_from_source(tmp_path: Path) -> None:
    _tree(tmp_path, {"shipped.py": "import fresh\n", "fresh.py": "X = 1\n"})
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            str(tmp_path / "shipped.py"),
        ],
        check=True,
    )
    timing = bench.ImportTiming("probe")
    bench.sample_import(
        timing,
        "import shipped",
        env={},
        sys_path=[str(tmp_path)],
        after=bench.bytecode_probe([str(tmp_path)]),
    )
    assert timing.error is None
    assert timing.compiled_modules == ["fresh"]


def test_compile_stack_compiles_the_installed_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path, {"stackpkg/__init__.py": "", "stackpkg/sub.py": "X = 1\n", "stackmod.py": "Y = 2\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert bench.compile_stack(("stackpkg", "stackmod", "no_such_package_here")) == ["stackpkg", "stackmod"]
    for source in ("stackpkg/__init__.py", "stackpkg/sub.py", "stackmod.py"):
        assert Path(importlib.util.cache_from_source(str(tmp_path / source))).is_file()
