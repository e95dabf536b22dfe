"""Move runtime modules to where their layer is, and rewrite every reference (ADR 0028).

Purely mechanical, so that it can be run again after other branches merge::

    .venv/bin/python tests/runtime/move_modules.py          # prints what it would do
    .venv/bin/python tests/runtime/move_modules.py --apply  # git mv, rewrite, ruff --fix, ruff format

Each move renames one module (``git mv``) and rewrites, in every tracked text file, its dotted name
(``mlcp.audit.trail`` -> ``mlcp.adapters.audit_trail``: imports, ``mock.patch`` targets, logger
names), its path (``audit/trail.py``), and ``from <package> import <module>`` of it. Then every
``from <module> import <name>`` of a name that a module or a package's face no longer hands on
(:data:`MOVED_NAMES`) is split so the name comes from the module that defines it, a face left with nothing to hand on
(:data:`FACES_REMOVED`) is deleted, and ruff sorts the imports it touched. Run ``make lint
typecheck`` and the tests after it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = ROOT / "layers" / "mlcp"

#: (old module, new module): DynamoDB stores that live in the domain's folders go to adapters/.
MOVES: list[tuple[str, str]] = [
    ("mlcp.audit.trail", "mlcp.adapters.audit_trail"),
    ("mlcp.incidents.store", "mlcp.adapters.incident_store"),
    # The data models the adapters read and write go down to the model layer (mlcp.models), so the
    # adapters never import a domain folder; the incident service is a use case.
    ("mlcp.gates.model", "mlcp.models.gates"),
    ("mlcp.incidents.model", "mlcp.models.incidents"),
    ("mlcp.audit.model", "mlcp.models.audit"),
    ("mlcp.audit.digest", "mlcp.models.digest"),
    ("mlcp.incidents.service", "mlcp.usecases.incidents"),
]

_AUDIT_TRAIL = "mlcp.adapters.audit_trail"
_INCIDENT_MODEL = "mlcp.models.incidents"
_INCIDENT_SERVICE = "mlcp.usecases.incidents"

#: Names a module (or a package's face) no longer hands on, and the module that defines each (ADR
#: 0028: a domain face must not re-export an adapter, nor a use case; the adapters read the models).
MOVED_NAMES: dict[str, dict[str, str]] = {
    "mlcp.audit.anchors": {"StoredDigest": "mlcp.models.digest"},
    # The bias reports' parsers live beside the evidence reading they serve.
    "mlcp.gates.evaluate": dict.fromkeys(
        ("BiasValue", "as_number", "bias_values", "flatten_bias_report"), "mlcp.gates.evidence"
    ),
    "mlcp.audit": {
        **dict.fromkeys(("AuditTrail", "InvalidAuditItem", "decision_pk", "record_sk"), _AUDIT_TRAIL),
        "AppendResult": "mlcp.models.audit",
    },
    # The outcome of an append is the audit model's (the AuditLog port returns it).
    _AUDIT_TRAIL: {"AppendResult": "mlcp.models.audit"},
    "mlcp.incidents": {
        **dict.fromkeys(
            ("Incident", "IncidentOutcome", "IncidentRequest", "IncidentStatus", "incident_id_for"),
            _INCIDENT_MODEL,
        ),
        **dict.fromkeys(("IncidentStore", "incident_pk"), "mlcp.adapters.incident_store"),
        **dict.fromkeys(
            (
                "IncidentConflict",
                "IncidentDeps",
                "get_incident",
                "list_incidents",
                "open_incident",
                "resolve_by_id",
                "resolve_incident",
            ),
            _INCIDENT_SERVICE,
        ),
    },
}

#: Packages whose every module moved away: their face (``__init__.py``) is deleted.
FACES_REMOVED = ("mlcp.incidents",)

#: A removed package named as a string in Python (``sys.modules`` checks, ``mock.patch`` targets):
#: the module that now does what it did, so such a check keeps meaning something.
NAMED_AS_STRING = {'"mlcp.incidents"': '"mlcp.usecases.incidents"'}

TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".json", ".txt", ".cfg"}


def module_path(module: str) -> Path:
    """The file of a ``mlcp.*`` module (a plain module, not a package)."""
    return PACKAGE_ROOT.joinpath(*module.split(".")).with_suffix(".py")


def rewrite(text: str, old: str, new: str) -> str:
    """``text`` with every reference to module ``old`` turned into one to ``new``."""
    old_package, _, old_name = old.rpartition(".")
    new_package, _, new_name = new.rpartition(".")
    text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, text)
    text = re.sub(
        rf"\bfrom {re.escape(old_package)} import {re.escape(old_name)}\b(?! as)",
        f"from {new_package} import {new_name}" + (f" as {old_name}" if old_name != new_name else ""),
        text,
    )
    old_path = "/".join(old.split(".")[1:]) + ".py"
    new_path = "/".join(new.split(".")[1:]) + ".py"
    return re.sub(rf"(?<![\w/]){re.escape(old_path)}\b", new_path, text).replace(
        f"mlcp/{old_path}", f"mlcp/{new_path}"
    )


#: The docstring of a package a move creates.
NEW_PACKAGES = {
    "models": '"""The data models: what the domain decides over and the adapters read and write '
    '(ADR 0028)."""\n',
}


def _make_package(folder: Path) -> None:
    init = folder / "__init__.py"
    if not init.exists():
        folder.mkdir(parents=True, exist_ok=True)
        init.write_text(NEW_PACKAGES.get(folder.name, '"""mlcp."""\n'))
        subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)


def split_face_imports(text: str, face: str, names: dict[str, str]) -> str:
    """``text`` (Python source) with each ``from <face> import ...`` of a name in ``names`` split so
    that name is imported from its own module (``as`` kept, the statement's indentation kept)."""
    if f"from {face} import" not in text:
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(keepends=True)
    statements = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level == 0
        and node.module == face
        and any(alias.name in names for alias in node.names)
    ]
    for node in sorted(statements, key=lambda n: n.lineno, reverse=True):
        groups: dict[str, list[str]] = {}
        for alias in node.names:
            spelled = alias.name + (f" as {alias.asname}" if alias.asname else "")
            groups.setdefault(names.get(alias.name, face), []).append(spelled)
        indent = " " * node.col_offset
        assert node.end_lineno is not None
        lines[node.lineno - 1 : node.end_lineno] = [
            f"{indent}from {module} import {', '.join(spelled)}\n" for module, spelled in groups.items()
        ]
    return "".join(lines)


def tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [
        ROOT / name
        for name in out.splitlines()
        if Path(name).suffix in TEXT_SUFFIXES
        and not name.startswith("docs/adr/")  # ADRs keep their history
        and ROOT / name != Path(__file__).resolve()  # the list of moves keeps its old names
        and ROOT / name != Path(__file__).resolve().with_name("test_move_modules.py")  # and its test
    ]


def main(apply: bool) -> int:
    changed: set[Path] = set()
    for old, new in MOVES:
        source, target = module_path(old), module_path(new)
        if source.exists() and target.exists():
            print(
                f"refuse {old} -> {new}: both {source.relative_to(ROOT)} and {target.relative_to(ROOT)} exist"
            )
            return 1
        if source.exists():
            print(f"git mv {source.relative_to(ROOT)} {target.relative_to(ROOT)}")
            if apply:
                _make_package(target.parent)
                subprocess.run(["git", "mv", str(source), str(target)], cwd=ROOT, check=True)
        else:  # moved already (e.g. merged from this branch): rewrite what still names the old module
            print(f"{old} is {new} already: rewriting references only")
        for path in tracked_text_files() if apply else []:
            if not path.exists():
                continue
            text = path.read_text()
            updated = rewrite(text, old, new)
            if updated != text:
                path.write_text(updated)
                changed.add(path)
    for path in tracked_text_files() if apply else []:
        if path.suffix != ".py" or not path.exists():
            continue
        text = path.read_text()
        updated = text
        for named, now in NAMED_AS_STRING.items():
            updated = updated.replace(named, now)
        for module, names in MOVED_NAMES.items():
            if path not in {module_path(module), module_path(module).with_suffix("") / "__init__.py"}:
                updated = split_face_imports(updated, module, names)
        if updated != text:
            path.write_text(updated)
            changed.add(path)
    for face in FACES_REMOVED:
        package = module_path(face).with_suffix("")
        left = [p for p in package.glob("*.py") if p.name != "__init__.py"] if package.is_dir() else []
        if package.is_dir() and not left:
            print(f"git rm {package.relative_to(ROOT)}/__init__.py (nothing left to hand on)")
            if apply:
                subprocess.run(["git", "rm", "-q", "-f", str(package / "__init__.py")], cwd=ROOT, check=True)
                changed.discard(package / "__init__.py")
    python = sorted(str(p) for p in changed if p.suffix == ".py" and p.exists())
    if apply and python:
        ruff = str(ROOT / ".venv" / "bin" / "ruff")
        subprocess.run([ruff, "check", "--fix", "--select", "I", "-q", *python], cwd=ROOT, check=False)
        subprocess.run([ruff, "format", "-q", *python], cwd=ROOT, check=True)
    for path in sorted(changed):
        print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(apply="--apply" in sys.argv[1:]))
