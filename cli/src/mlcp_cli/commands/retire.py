"""`mlcp retire [--apply]`: the models and endpoint configs nothing serves, past their tier's
``retention_days`` (docs/policy.md#retirement). A dry run by default: it lists every managed resource
with its verdict; ``--apply`` audits and deletes those to retire, as the caller (STS identity).

The policy comes from the stack's ``PolicyParameterName`` parameter (or ``--policy-parameter``), or
from a file (``--policy-file``: what would a draft policy retire?).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.identity import caller_identity
from mlcp.adapters.inventory import SageMakerInventory
from mlcp.adapters.policy_ssm import PolicyStore
from mlcp.policy import Policy, PolicyError
from mlcp.usecases.retirement import RetirementDeps, Verdict, retire
from mlcp_cli.commands.stack import (
    add_json_option,
    add_stack_options,
    client,
    progress,
    write_json,
    write_table,
)

DEFAULT_POLICY_PARAMETER = "/mlcp/policy"


class _FilePolicy:
    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def get(self) -> Policy:
        return self._policy


def write_verdicts(
    verdicts: list[Verdict], out: TextIO, *, as_json: bool, applied: bool, wide: bool = False
) -> None:
    if as_json:
        write_json([v.model_dump(mode="json") for v in verdicts], out)
        return
    if not verdicts:
        out.write("no models or endpoint configs created by the control plane\n")
        return
    rows = [
        (
            v.action
            if not applied or v.action == "keep"
            else ("retired" if v.deleted else "retired (was gone)"),
            v.kind,
            v.name,
            f"{v.age_days:.1f}",
            v.retention_days if v.retention_days is not None else "-",
            v.reason,
        )
        for v in verdicts
    ]
    write_table(rows, ("verdict", "kind", "name", "age (days)", "retention", "why"), out, wide=wide)
    to_retire = sum(v.action == "retire" for v in verdicts)
    if applied:
        out.write(f"\n{to_retire} retired, {len(verdicts) - to_retire} kept\n")
    else:
        out.write(f"\n{to_retire} to retire, {len(verdicts) - to_retire} kept (dry run: --apply deletes)\n")


def _policies(args: argparse.Namespace) -> Any:
    if args.policy_file:
        from mlcp_cli.commands.policy import load_policy_file

        return _FilePolicy(load_policy_file(args.policy_file))
    from mlcp_cli.commands.policy import deployed_policy_store

    store = deployed_policy_store(args.policy_parameter)
    if store is not None:
        return store
    return PolicyStore(DEFAULT_POLICY_PARAMETER, max_age_seconds=0, ssm_client=client("ssm"))


def _cmd(args: argparse.Namespace) -> int:
    table = args.audit_table or os.environ.get("MLCP_AUDIT_TABLE")
    if not table:
        sys.stderr.write("the audit table is unknown: --stack-name, --config-env, --local, --audit-table\n")
        return 2
    try:
        deps = RetirementDeps(
            inventory=SageMakerInventory(client("sagemaker")),
            policies=_policies(args),
            audit=AuditTrail(table, client=client("dynamodb")),
        )
        actor = caller_identity(client("sts")) if args.apply else "dry-run"
        if actor == "unknown":
            sys.stderr.write("mlcp retire --apply: who you are is unknown (STS); nothing deleted\n")
            return 1
        progress("listing models, endpoint configs and endpoints ...")
        verdicts = retire(deps, apply=args.apply, actor=actor)
    except PolicyError as exc:
        sys.stderr.write(f"mlcp retire: {exc}\n")
        return 2
    write_verdicts(verdicts, sys.stdout, as_json=args.json, applied=args.apply, wide=args.wide)
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "retire", help="delete unused models and endpoint configs past the policy's retention (dry run)"
    )
    parser.add_argument("--apply", action="store_true", help="audit and delete (default: only list)")
    parser.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--policy-parameter", help="SSM parameter (default: the stack's PolicyParameterName)")
    source.add_argument("--policy-file", type=Path, help="a policy file instead of the deployed policy")
    add_json_option(parser)
    add_stack_options(parser)
    parser.set_defaults(func=_cmd)
