"""Move runtime modules to where their layer is, and rewrite every reference (ADR 0028).

Purely mechanical, so that it can be run again after other branches merge::

    .venv/bin/python tests/runtime/move_modules.py          # prints what it would do
    .venv/bin/python tests/runtime/move_modules.py --apply  # git mv, rewrite, ruff --fix, ruff format

Each move renames one module (``git mv``) and rewrites, in every tracked text file, its dotted name
(``mlcp.audit.trail`` -> ``mlcp.adapters.audit_trail``: imports, ``mock.patch`` targets, logger
names), its path (``audit/trail.py``), and ``from <package> import <module>`` of it. Then ruff sorts
the imports it touched. Run ``make lint typecheck`` and the tests after it.
"""

from __future__ import annotations

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
]

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


def tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return [
        ROOT / name
        for name in out.splitlines()
        if Path(name).suffix in TEXT_SUFFIXES
        and not name.startswith("docs/adr/")  # ADRs keep their history
        and ROOT / name != Path(__file__).resolve()  # the list of moves keeps its old names
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
    python = sorted(str(p) for p in changed if p.suffix == ".py")
    if apply and python:
        ruff = str(ROOT / ".venv" / "bin" / "ruff")
        subprocess.run([ruff, "check", "--fix", "--select", "I", "-q", *python], cwd=ROOT, check=False)
        subprocess.run([ruff, "format", "-q", *python], cwd=ROOT, check=True)
    for path in sorted(changed):
        print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(apply="--apply" in sys.argv[1:]))
