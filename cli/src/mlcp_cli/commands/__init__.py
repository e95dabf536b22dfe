"""CLI command groups. Each module exposes ``register(subparsers)``; COMMANDS lists them in order,
with the top-level command names each one registers.

Building the parser imports a module only for the command being run (ADR 38): importing every
command module (boto3, pydantic models, YAML, the policy checker) cost more than most commands do.
``mlcp --help``, an unknown command and the reference (docs/cli.md) register every module, in this
order, so what they print is the same as when every module was imported eagerly. A test keeps the
names here equal to what each module registers.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

Registrar = Callable[["argparse._SubParsersAction[Any]"], None]

COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("events", ("events",)),
    ("audit", ("audit",)),
    ("policy", ("policy",)),
    ("approvals", ("approvals", "approve", "reject")),
    ("incidents", ("incidents",)),
    ("pipeline", ("pipeline",)),
    ("rollback", ("rollback",)),
    ("status", ("status",)),
    ("steer", ("abort", "promote")),
    ("promote_stage", ("promote-stage",)),
    ("parked", ("parked",)),
    ("retire", ("retire",)),
    ("cost", ("cost",)),
    ("lineage", ("lineage", "evidence")),
    ("report", ("report",)),
    ("local", ("local",)),
    ("iam", ("iam",)),
    ("asl", ("asl",)),
    ("doctor", ("doctor",)),
)
"""(module under ``mlcp_cli.commands``, the top-level commands its ``register`` adds), in the
order ``mlcp --help`` lists them."""

MODULE_OF: dict[str, str] = {name: module for module, names in COMMANDS for name in names}


def registrar(module: str) -> Registrar:
    """The ``register`` function of the command module ``module`` (imported now)."""
    register: Registrar = importlib.import_module(f"{__name__}.{module}").register
    return register


def registrars(command: str | None = None) -> list[Registrar]:
    """The ``register`` functions to build the parser with: only the module that defines
    ``command`` when it names one, else every module in order."""
    module = MODULE_OF.get(command) if command is not None else None
    if module is not None:
        return [registrar(module)]
    return [registrar(module) for module, _ in COMMANDS]
