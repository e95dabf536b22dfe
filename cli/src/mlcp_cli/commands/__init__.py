"""CLI command groups. Each module exposes ``register(subparsers)``; REGISTRARS lists them in order."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mlcp_cli.commands import (
    approvals,
    asl,
    audit,
    cost,
    doctor,
    events,
    iam,
    incidents,
    lineage,
    local,
    parked,
    pipeline,
    policy,
    promote_stage,
    report,
    retire,
    rollback,
    status,
    steer,
)

Registrar = Callable[["argparse._SubParsersAction[Any]"], None]

REGISTRARS: list[Registrar] = [
    events.register,
    audit.register,
    policy.register,
    approvals.register,
    incidents.register,
    pipeline.register,
    rollback.register,
    status.register,
    steer.register,
    promote_stage.register,
    parked.register,
    retire.register,
    cost.register,
    lineage.register,
    report.register,
    local.register,
    iam.register,
    asl.register,
    doctor.register,
]
