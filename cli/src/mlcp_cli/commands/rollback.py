"""`mlcp rollback ENDPOINT [--to VERSION] --reason ...`: revert an endpoint by hand to the config that
served a package version when it was promoted (as recorded in the audit trail); without ``--to``,
the previous champion. A rollback to the version already serving is refused (nothing audited)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from mlcp.adapters.endpoints import SageMakerHosting
from mlcp.adapters.identity import caller_identity
from mlcp.adapters.state import ControlPlaneState
from mlcp.audit import AuditTrail
from mlcp.errors import DeploymentNotSupported
from mlcp.usecases.deployment import DeploymentDeps, manual_rollback
from mlcp_cli.commands.stack import (
    AccountChoice,
    TargetError,
    account_client,
    add_account_option,
    add_table_options,
    client,
    local_wait_for,
    progress,
    resolve_account,
    tables,
)


def rollback(
    client: Any,
    endpoint: str,
    to_version: str | None,
    *,
    reason: str,
    state_table: str,
    audit_table: str,
    timeout: float = 3600,
    wait_for: Callable[[Callable[[], bool]], object] | None = None,
    account: AccountChoice | None = None,
    member_sagemaker: Any = None,
) -> dict[str, Any]:
    """Roll ``endpoint`` back as whoever ``client``'s credentials belong to.

    ``account`` (``--account``): a member's endpoint is updated with ``member_sagemaker`` (the
    operator's credentials in that account) under the lease and audit stream ``<account>:<endpoint>``
    of the control plane's tables (ADR 36); the versions it may go back to are those promoted there.

    ``wait_for(condition)`` waits until ``condition()`` holds (or gives up); by default it polls
    for up to ``timeout`` real seconds, as against AWS. Local mode passes one that runs the
    emulator's virtual clock instead (the endpoint's update only progresses there)."""
    member = account is not None and account.is_member
    hosting = SageMakerHosting(member_sagemaker if member else client("sagemaker"))
    deps = DeploymentDeps(
        hosting=hosting,
        state=ControlPlaneState(state_table, client("dynamodb")),
        audit=AuditTrail(audit_table, client=client("dynamodb")),
        model_role_arn="",
        account=account.account if account is not None else None,
        home_account=account.home if account is not None else None,
    )

    def poll(settled: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not settled() and time.monotonic() <= deadline:
            if timeout > 60:
                progress(f"waiting for {endpoint} to return to service ...")
            time.sleep(5 if timeout > 60 else 0.05)

    def wait_until_in_service(name: str) -> None:
        def settled() -> bool:
            state = hosting.endpoint(name)
            return state is None or state.status in {"InService", "Failed", "UpdateRollbackFailed"}

        (wait_for or poll)(settled)
        state = hosting.endpoint(name)
        if state is None or state.status != "InService":
            raise DeploymentNotSupported(
                f"{name} did not return to service ({state.status if state else 'gone'})"
            )

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
        account = resolve_account(args)
        done = rollback(
            client,
            args.endpoint,
            args.to,
            reason=args.reason,
            state_table=names[0],
            audit_table=names[1],
            wait_for=local_wait_for(),
            account=account,
            member_sagemaker=account_client("sagemaker", account) if account.is_member else None,
        )
    except TargetError as exc:
        sys.stderr.write(f"mlcp rollback: {exc}\n")
        return 2
    except DeploymentNotSupported as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps(done, sort_keys=True, default=str) + "\n")
    else:
        sys.stdout.write(
            f"{done['endpoint']}: {done['from_config']} -> {done['config']} (version {done['version']})\n"
        )
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "rollback", help="revert an endpoint by hand to a previously promoted version"
    )
    parser.add_argument("endpoint")
    parser.add_argument(
        "--to",
        help="package version to go back to, as promoted on this endpoint (default: the previous champion)",
    )
    parser.add_argument("--reason", required=True, help="why; recorded in the audit trail")
    parser.add_argument("--json", action="store_true", help="endpoint, from_config, config as JSON")
    add_account_option(parser, member_credentials=True)
    add_table_options(parser)
    parser.set_defaults(func=_cmd)
