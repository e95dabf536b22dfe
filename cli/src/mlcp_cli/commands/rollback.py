"""`mlcp rollback ENDPOINT --to VERSION --reason ...`: revert an endpoint by hand to the config that
served a package version when it was promoted (as recorded in the audit trail)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditTrail
from mlcp.errors import DeploymentNotSupported
from mlcp.usecases.approval import caller_identity
from mlcp.usecases.deployment import DeploymentDeps, manual_rollback
from mlcp_cli.commands.stack import add_table_options, client, progress, tables


def rollback(
    client: Any,
    endpoint: str,
    to_version: str,
    *,
    reason: str,
    state_table: str,
    audit_table: str,
    timeout: float = 3600,
) -> dict[str, Any]:
    """Roll ``endpoint`` back as whoever ``client``'s credentials belong to."""
    hosting = SageMakerHosting(client("sagemaker"))
    deps = DeploymentDeps(
        hosting=hosting,
        state=ControlPlaneState(state_table, client("dynamodb")),
        audit=AuditTrail(audit_table, client=client("dynamodb")),
        model_role_arn="",
    )

    def wait_until_in_service(name: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = hosting.endpoint(name)
            if state is not None and state.status == "InService":
                return
            if (
                state is None
                or state.status in {"Failed", "UpdateRollbackFailed"}
                or time.monotonic() > deadline
            ):
                raise DeploymentNotSupported(
                    f"{name} did not return to service ({state.status if state else 'gone'})"
                )
            if timeout > 60:
                progress(f"waiting for {name} to return to service ({state.status}) ...")
            time.sleep(5 if timeout > 60 else 0.05)

    return manual_rollback(
        endpoint,
        to_version,
        reason=reason,
        identity=caller_identity(client("sts")),
        deps=deps,
        wait_until_in_service=wait_until_in_service,
    )


def _cmd(args: argparse.Namespace) -> int:
    names = tables(args)
    if names is None:
        return 2
    try:
        done = rollback(
            client, args.endpoint, args.to, reason=args.reason, state_table=names[0], audit_table=names[1]
        )
    except DeploymentNotSupported as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(done, sort_keys=True, default=str) + "\n")
    else:
        sys.stdout.write(f"{done['endpoint']}: {done['from_config']} -> {done['config']}\n")
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "rollback", help="revert an endpoint by hand to a previously promoted version"
    )
    parser.add_argument("endpoint")
    parser.add_argument(
        "--to", required=True, help="package version to go back to (as promoted on this endpoint)"
    )
    parser.add_argument("--reason", required=True, help="why; recorded in the audit trail")
    parser.add_argument("--json", action="store_true", help="endpoint, from_config, config as JSON")
    add_table_options(parser)
    parser.set_defaults(func=_cmd)
