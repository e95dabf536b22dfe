"""Which stack a command works on, and the shared output conventions of every command.

One option set (``add_stack_options``) and one resolver (``resolve_target``) for every command that
talks to a deployed control plane. The target comes from, in this order:

- ``--local``: the emulator's stack (``mlcp-local``, us-east-1) on the moto this process runs
  (scenarios, tests), or on a moto server named by ``$AWS_ENDPOINT_URL``;
- ``--config-env dev|prod``: ``stack_name``, ``region`` and ``profile`` of that environment in
  ``samconfig.toml`` (``[<env>.deploy.parameters]``, then ``[<env>.global.parameters]``);
- ``--stack-name``, ``--region``, ``--profile`` (each also overrides what samconfig says);
- nothing: the standard AWS configuration, tables from ``$MLCP_STATE_TABLE`` / ``$MLCP_AUDIT_TABLE``.

A targeted stack's tables come from its outputs (``ControlPlaneTableName``, ``AuditTableName``) via
CloudFormation DescribeStacks; ``--state-table`` / ``--audit-table`` still win. ``main`` resolves
the target once per invocation; ``client(service)`` then signs with its profile and region.

``--account`` (``add_account_option``, ``resolve_account``): which governed account an endpoint is in
(ADR 36). Default: the control plane's own (home) account; a listed member (the stack's
``MemberAccountIds``, else ``$MLCP_MEMBER_ACCOUNTS``) keys the endpoint ``<account>:<endpoint>`` in
the control plane's tables and streams; any other account is refused. Reading or changing the
member's own resources (SageMaker, CloudWatch) takes credentials in that account
(``--account-profile``; local mode: the emulated account's administrator).

Output: human tables by default, ``--json`` for machines (``add_json_option``, ``write_json``,
``write_table``); progress on long work goes to stderr (``progress``), never into the output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

LOCAL_STACK_NAME = "mlcp-local"
"""The emulator's stack (``mlcp_cli.emulator.stack.DEFAULT_STACK_NAME``)."""
LOCAL_REGION = "us-east-1"
DEFAULT_SAMCONFIG = Path("samconfig.toml")
STATE_TABLE_OUTPUT = "ControlPlaneTableName"
AUDIT_TABLE_OUTPUT = "AuditTableName"


class TargetError(Exception):
    """The stack cannot be resolved: what is missing or wrong, in words an operator can act on."""


@dataclass
class StackTarget:
    """Where a command's AWS calls go."""

    source: str
    """how it was chosen: local | samconfig:<env> | flags | environment"""
    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def session(self) -> Any:
        import boto3

        return boto3.Session(profile_name=self.profile, region_name=self.region)


class _Active:
    """The target of the running invocation (one per process: ``main`` resets and resolves it)."""

    target = StackTarget(source="environment")


# ------------------------------------------------------------------------------------ options


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """The one target option set: --local | --config-env, --stack-name/--region/--profile, tables."""
    group = parser.add_argument_group("target stack (default: the standard AWS configuration)")
    group.add_argument("--local", action="store_true", help="the emulator's stack (mlcp-local)")
    group.add_argument(
        "--config-env", metavar="ENV", help="stack_name/region/profile of ENV in samconfig.toml"
    )
    group.add_argument("--samconfig", type=Path, default=DEFAULT_SAMCONFIG, help="default: %(default)s")
    group.add_argument("--stack-name", help="the deployed CloudFormation stack (its outputs name the tables)")
    group.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    group.add_argument("--profile", help="AWS named profile (default: the AWS configuration's)")
    group.add_argument(
        "--state-table", help="ControlPlaneTableName output (default: the stack's, $MLCP_STATE_TABLE)"
    )
    group.add_argument(
        "--audit-table", help="AuditTableName output (default: the stack's, $MLCP_AUDIT_TABLE)"
    )
    parser.set_defaults(resolve_stack=True)


add_table_options = add_stack_options
"""The name the first commands used; the same option set."""


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine output: JSON (one object per line)")


def add_account_option(parser: argparse.ArgumentParser, *, member_credentials: bool = False) -> None:
    """``--account`` (a governed account; default: the control plane's own) and, where the command
    reads or changes the member's own resources, ``--account-profile``."""
    parser.add_argument(
        "--account",
        metavar="ID",
        help="the governed account the endpoint is in: a member (MemberAccountIds) keys it "
        "<account>:<endpoint> (docs/multi-account.md); default: the control plane's own",
    )
    if member_credentials:
        parser.add_argument(
            "--account-profile",
            metavar="PROFILE",
            help="AWS named profile with credentials in --account's member account (its SageMaker and "
            "CloudWatch); --local: that account's administrator",
        )


# ------------------------------------------------------------------------------------ resolving


def samconfig_target(path: Path, env: str) -> StackTarget:
    """stack_name / region / profile of ``env`` in a SAM CLI config file."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TargetError(f"{path}: not found (--samconfig PATH)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{path}: not valid TOML: {exc}") from exc
    section = document.get(env)
    if not isinstance(section, Mapping):
        known = ", ".join(sorted(k for k, v in document.items() if isinstance(v, Mapping))) or "none"
        raise TargetError(f"{path}: no environment {env!r} (environments: {known})")
    merged: dict[str, Any] = {}
    for command in ("global", "deploy"):  # deploy's parameters win over global ones, as in sam
        parameters = (section.get(command) or {}).get("parameters") or {}
        merged.update(parameters)
    if not merged.get("stack_name"):
        raise TargetError(f"{path}: [{env}.deploy.parameters] has no stack_name")
    return StackTarget(
        source=f"samconfig:{env}",
        stack_name=str(merged["stack_name"]),
        region=str(merged["region"]) if merged.get("region") else None,
        profile=str(merged["profile"]) if merged.get("profile") else None,
    )


def target_of(args: argparse.Namespace) -> StackTarget:
    """The target the flags choose (no AWS call yet)."""
    if args.local and (args.config_env or args.stack_name or args.profile):
        raise TargetError("--local targets the emulator: it takes no --config-env, --stack-name or --profile")
    if args.local:
        target = StackTarget(source="local", stack_name=LOCAL_STACK_NAME, region=LOCAL_REGION)
    elif args.config_env:
        target = samconfig_target(args.samconfig, args.config_env)
    else:
        target = StackTarget(source="flags" if args.stack_name else "environment")
    target.stack_name = args.stack_name or target.stack_name
    target.region = args.region or target.region
    target.profile = args.profile or target.profile
    return target


def describe_stack(target: StackTarget) -> tuple[dict[str, str], dict[str, str]]:
    """The stack's outputs and parameters (CloudFormation DescribeStacks)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cfn = target.session().client("cloudformation")
        stacks = cfn.describe_stacks(StackName=target.stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        where = f"region {target.region or '(default)'}, profile {target.profile or '(default)'}"
        raise TargetError(f"stack {target.stack_name!r} ({where}): {message}") from exc
    except BotoCoreError as exc:
        raise TargetError(f"stack {target.stack_name!r}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stacks[0].get("Parameters", [])}
    return outputs, parameters


def resolve_target(args: argparse.Namespace) -> StackTarget:
    """Resolve the target and fill ``args.state_table`` / ``args.audit_table`` from it; make it the
    one ``client()`` uses. Raises ``TargetError``."""
    target = target_of(args)
    if target.stack_name:
        target.outputs, target.parameters = describe_stack(target)
        args.state_table = args.state_table or target.outputs.get(STATE_TABLE_OUTPUT)
        args.audit_table = args.audit_table or target.outputs.get(AUDIT_TABLE_OUTPUT)
    _Active.target = target
    return target


def reset_target() -> None:
    """Back to the standard AWS configuration (``main`` calls it before each command)."""
    _Active.target = StackTarget(source="environment")


def active_target() -> StackTarget:
    return _Active.target


def local_wait_for() -> Callable[[Callable[[], bool]], object] | None:
    """How a ``--local`` command waits for a condition: on the virtual clock of the emulator this
    process runs (time moves timer by timer until it holds); None: in real time (AWS)."""
    if _Active.target.source != "local":
        return None
    from mlcp_cli.emulator.runtime import active_control_plane

    cp = active_control_plane()
    if cp is None:
        return None
    return lambda settled: cp.run_until(settled, limit=86_400)


def aws_wait_for(timeout: float, waiting: str, every: float) -> Callable[[Callable[[], bool]], None]:
    """How a command waits for a condition against AWS: read it every ``every`` seconds for up to
    ``timeout`` seconds, saying ``waiting`` on stderr each time."""

    def wait_for(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            progress(waiting)
            time.sleep(every)

    return wait_for


def tables(args: argparse.Namespace) -> tuple[str, str] | None:
    """The control-plane and audit table names, or None after saying what is missing."""
    state = args.state_table or os.environ.get("MLCP_STATE_TABLE")
    audit = args.audit_table or os.environ.get("MLCP_AUDIT_TABLE")
    if not state or not audit:
        sys.stderr.write(
            "the control-plane and audit tables are unknown: --stack-name, --config-env, --local, "
            "--state-table/--audit-table or MLCP_STATE_TABLE/MLCP_AUDIT_TABLE\n"
        )
        return None
    return state, audit


def client(service: str) -> Any:
    """A boto3 client for the resolved target (its profile and region), else the standard AWS
    configuration."""
    target = _Active.target
    if target.profile is None and target.region is None:
        import boto3

        return boto3.client(service)  # type: ignore[call-overload]
    return target.session().client(service)


# ------------------------------------------------------------------------------------ accounts

MEMBER_ACCOUNTS_PARAMETER = "MemberAccountIds"
MEMBER_ACCOUNTS_ENV = "MLCP_MEMBER_ACCOUNTS"


@dataclass(frozen=True)
class AccountChoice:
    """The account a command's endpoint is in (``--account``), and how the control plane keys it."""

    account: str
    home: str
    members: frozenset[str]
    profile: str | None = None

    @property
    def is_member(self) -> bool:
        return self.account != self.home

    def key(self, name: str) -> str:
        """The endpoint's key in the control-plane table (lease, bake, incidents): the name at
        home, ``<account>:<name>`` in a member (ADR 26)."""
        return f"{self.account}:{name}" if self.is_member else name

    def stream(self, name: str) -> str:
        """The endpoint's audit stream."""
        return f"endpoint#{self.key(name)}"

    def label(self, name: str) -> str:
        """How an operator reads the endpoint: ``name`` at home, ``name (account <id>)`` in a member."""
        return f"{name} (account {self.account})" if self.is_member else name


def member_accounts(target: StackTarget) -> frozenset[str]:
    """The member accounts the target's control plane governs (its ``MemberAccountIds`` parameter;
    without a stack, ``$MLCP_MEMBER_ACCOUNTS``)."""
    listed = (
        target.parameters.get(MEMBER_ACCOUNTS_PARAMETER)
        if target.stack_name
        else os.environ.get(MEMBER_ACCOUNTS_ENV)
    )
    return frozenset(item.strip() for item in (listed or "").split(",") if item.strip())


def resolve_account(args: argparse.Namespace) -> AccountChoice:
    """The account ``--account`` names, checked against the control plane's (home: the caller's
    account, where the stack is; members: ``member_accounts``). ``TargetError`` for anything that is
    neither: a command never acts on an account the control plane does not govern."""
    home = str(client("sts").get_caller_identity()["Account"])
    members = member_accounts(_Active.target)
    wanted = getattr(args, "account", None)
    profile = getattr(args, "account_profile", None)
    if wanted is None or wanted == home:
        if profile:
            raise TargetError(f"--account-profile is for a member account; {home} is the control plane's own")
        return AccountChoice(home, home, members)
    if not (len(wanted) == 12 and wanted.isdigit()):
        raise TargetError(f"--account {wanted!r}: not an AWS account id (12 digits)")
    if wanted not in members:
        listed = ", ".join(sorted(members)) or "none"
        raise TargetError(
            f"--account {wanted}: not governed by this control plane (its own account {home}; "
            f"members: {listed})"
        )
    return AccountChoice(wanted, home, members, profile)


def account_client(service: str, choice: AccountChoice) -> Any:
    """A client of ``service`` in ``choice``'s account: at home the target's (``client``); in a
    member, signed with ``--account-profile``'s credentials there (local mode: that emulated
    account's administrator). ``TargetError`` without credentials for the member: the control
    plane's own credentials never act in a member account from the CLI (the member's deployment
    role trusts only the control plane's functions)."""
    if not choice.is_member:
        return client(service)
    target = _Active.target
    if choice.profile:
        import boto3

        return boto3.Session(profile_name=choice.profile, region_name=target.region).client(service)  # type: ignore[call-overload]
    if target.source == "local":
        from mlcp_cli.emulator.accounts import account_session

        return account_session(choice.account, target.region or LOCAL_REGION).client(service)  # type: ignore[call-overload]
    raise TargetError(
        f"account {choice.account}'s {service} needs credentials in that account: "
        "--account-profile PROFILE (a named profile of the member account)"
    )


# -------------------------------------------------------------------------------------- output


def write_json(records: Sequence[Mapping[str, Any]] | Mapping[str, Any], out: TextIO) -> None:
    """One compact JSON object per line (a mapping is one line)."""
    for record in [records] if isinstance(records, Mapping) else records:
        out.write(json.dumps(record, sort_keys=True, default=str) + "\n")


def write_table(
    rows: Sequence[Sequence[Any]], columns: Sequence[str], out: TextIO, *, wide: bool = False
) -> None:
    """Left-aligned columns under a header and a rule, fitting 120 columns unless ``wide``
    (``mlcp_cli.tables``, the one table format of every command)."""
    from mlcp_cli import tables

    header = [tables.Column(name) for name in columns]
    tables.write_table(out, header, [[str(cell) for cell in row] for row in rows], wide=wide)


def progress(message: str) -> None:
    """A progress line for long work: stderr, so that --json output stays clean."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
