"""What every command that works on a deployed stack shares: its tables and boto3 clients."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """``--state-table`` and ``--audit-table`` (defaults: $MLCP_STATE_TABLE, $MLCP_AUDIT_TABLE)."""
    parser.add_argument("--state-table", help="ControlPlaneTableName output (default $MLCP_STATE_TABLE)")
    parser.add_argument("--audit-table", help="AuditTableName output (default $MLCP_AUDIT_TABLE)")


def tables(args: argparse.Namespace) -> tuple[str, str] | None:
    """The control-plane and audit table names, or None after saying what is missing."""
    state = args.state_table or os.environ.get("MLCP_STATE_TABLE")
    audit = args.audit_table or os.environ.get("MLCP_AUDIT_TABLE")
    if not state or not audit:
        sys.stderr.write(
            "the control-plane and audit tables are unknown: --state-table/--audit-table or MLCP_*\n"
        )
        return None
    return state, audit


def client(service: str) -> Any:
    """A boto3 client with the caller's credentials and region (standard AWS configuration)."""
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]
