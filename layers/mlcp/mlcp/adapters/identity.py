"""Who is calling, as STS says (``GetCallerIdentity``): the operator CLI's identity for the audit."""

from __future__ import annotations

from typing import Any

from mlcp.observability import logger
from mlcp.ports import UNKNOWN


def caller_identity(sts: Any) -> str:
    """Who runs the CLI, as STS says (never as the caller claims)."""
    try:
        return str(sts.get_caller_identity()["Arn"])
    except Exception:  # no credentials, no network: fail closed
        logger.warning("cannot resolve the caller identity")
        return UNKNOWN
