"""CLI command groups. Each module exposes ``register(subparsers)``; add new groups to REGISTRARS."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Registrar = Callable[["argparse._SubParsersAction[Any]"], None]

REGISTRARS: list[Registrar] = []


def _load() -> None:
    import importlib

    for name in ("events", "audit", "local", "asl"):
        try:
            module = importlib.import_module(f"mlcp_cli.commands.{name}")
        except ModuleNotFoundError as exc:  # a group not written yet
            if exc.name != f"mlcp_cli.commands.{name}":
                raise
            continue
        REGISTRARS.append(module.register)


_load()
