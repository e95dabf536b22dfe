"""``mlcp policy``: validate, explain and publish the policy as code (docs/policy.md).

- ``validate FILE...``  ``OK FILE: N groups, M tiers`` per valid file, else each problem with its
                        field path; exit 1 when any file is invalid.
- ``explain GROUP [--file F | --parameter NAME] [--json]``  which rule matches the group, its tier,
                        approval rule, gates with thresholds, freezes, deployment and monitoring; exit 1 when
                        no rule matches. Default source: a target stack's deployed policy (``--local``,
                        ``--config-env``, ``--stack-name``: its PolicyParameterName), else
                        ``--file policy/example.yaml``.
- ``publish FILE --parameter NAME``  validate, then write the canonical JSON to the SSM parameter
                        (String, Intelligent-Tiering, overwrite) and print the new version.

``load_policy_file`` and ``publish_policy`` are plain functions for in-process callers (the local
scenario runner). Region and account come from the target options (the standard AWS configuration
without them).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from mlcp.adapters.policy_ssm import PolicyStore
from mlcp.policy import (
    MAX_PARAMETER_BYTES,
    Policy,
    PolicyError,
    canonical_json,
    explain,
)
from mlcp_cli.commands.stack import add_stack_options
from mlcp_cli.policy_check import CheckResult, check_merged_policy, check_policy_text
from mlcp_cli.policy_delivery import AppConfigTarget, PublishResult, publish, status, write_status
from mlcp_cli.policy_dry_run import DryRun
from mlcp_cli.tables import wrap

EXIT_OK = 0
EXIT_INVALID = 1

DEFAULT_POLICY_FILE = Path("policy/example.yaml")


# -------------------------------------------------------------------------------------- loading


def check_policy_file(path: Path | str) -> CheckResult:
    """Read a YAML (or JSON) policy file, or a directory of them (merged, conflicts naming both
    files), and check it: the runtime model, then the semantic rules (``mlcp_cli.policy_check``);
    every finding in a file names the file, line and column."""
    if Path(path).is_dir():
        try:
            merged = load_policy_directory(Path(path))
        except PolicyError as exc:
            return CheckResult(None, list(exc.problems), [])
        return check_merged_policy(merged, str(path))
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return CheckResult(None, [f"{source}: cannot read file: {exc.strerror or exc}"], [])
    except UnicodeDecodeError:
        return CheckResult(None, [f"{source}: file is not UTF-8 text"], [])
    return check_policy_text(text, source)


def load_policy_file(path: Path | str) -> Policy:
    """A checked policy file; ``PolicyError`` lists its errors (warnings do not stop it)."""
    result = check_policy_file(path)
    if result.policy is None:
        raise PolicyError(str(path), result.errors)
    return result.policy


def _read_document(path: Path) -> Any:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(source, [f"{source}: cannot read file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(source, [f"{source}: file is not UTF-8 text"]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(source, [f"{source}: not valid YAML: {where}{problem}"]) from exc


def load_policy_directory(directory: Path) -> Policy:
    """One policy from the policy files of ``directory`` (``mlcp_cli.policy_delivery``)."""
    from mlcp_cli.policy_delivery import merge_policy_directory, policy_files

    files = policy_files(directory)
    if not files:
        raise PolicyError(str(directory), [f"{directory}: no policy files (*.yaml, *.yml, *.json)"])
    problems: list[str] = []
    documents: dict[Path, Any] = {}
    for file in files:
        try:
            documents[file] = _read_document(file)
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(str(directory), problems)
    return merge_policy_directory(directory, documents)


# ------------------------------------------------------------------------------------- validate


def validate_files(paths: Sequence[Path | str], out: TextIO) -> int:
    """Each error and warning, then ``OK FILE: N groups, M tiers`` for a valid file; 1 when any is invalid."""
    code = EXIT_OK
    for path in paths:
        result = check_policy_file(path)
        for line in [*result.errors, *result.warnings]:
            out.write(line + "\n")
        if result.policy is None:
            code = EXIT_INVALID
            continue
        policy = result.policy
        warned = (
            f" ({len(result.warnings)} warning{'s' * (len(result.warnings) != 1)})" if result.warnings else ""
        )
        out.write(f"OK {path}: {len(policy.groups)} groups, {len(policy.tiers)} tiers{warned}\n")
    return code


def _validate(args: argparse.Namespace) -> int:
    if not args.json:
        return validate_files(args.files, sys.stdout)
    code = EXIT_OK
    for path in args.files:
        result = check_policy_file(path)
        record: dict[str, Any] = {"file": path, "valid": result.policy is not None}
        if result.policy is None:
            record["problems"] = result.errors
            code = EXIT_INVALID
        else:
            record |= {"groups": len(result.policy.groups), "tiers": len(result.policy.tiers)}
        record["warnings"] = result.warnings
        sys.stdout.write(json.dumps(record) + "\n")
    return code


# -------------------------------------------------------------------------------------- explain


def _number(value: float) -> str:
    return f"{value:g}"


def _bound(threshold: Mapping[str, Any], magnitude: bool = False) -> str:
    low: float | None = threshold.get("min")
    high: float | None = threshold.get("max")
    name = f"|{threshold['metric']}|" if magnitude else threshold["metric"]
    if low is not None and high is not None:
        return f"{_number(low)} <= {name} <= {_number(high)}"
    if low is not None:
        return f"{name} >= {_number(low)}"
    return f"{name} <= {_number(high) if high is not None else '?'}"


def _required(flag: bool, what: str) -> str:
    return f"{what} {'required' if flag else 'not required'}"


def _gate_detail(gate: Mapping[str, Any]) -> str:
    """One line of a gate's settings, e.g. its thresholds."""
    name, settings = gate["gate"], gate["settings"]
    if not gate["configured"]:
        return "not configured"
    if name == "metrics":
        return "; ".join(_bound(t) for t in settings["thresholds"]) or "no thresholds"
    if name == "regression":
        direction = "higher is better" if settings["higher_is_better"] else "lower is better"
        return (
            f"{settings['metric']} not worse than the champion by more than "
            f"{_number(settings['tolerance'])} ({direction})"
        )
    if name == "bias":
        bounds = "; ".join(_bound(b, magnitude=True) for b in settings["bounds"]) or "no bounds"
        return f"{_required(settings['required'], 'report')}; {bounds}"
    if name == "explainability":
        return _required(settings["required"], "report")
    if name == "artifact_integrity":
        # an empty list allows nothing (the gate fails closed)
        registries = ", ".join(settings["allowed_registries"]) or "none allowed"
        buckets = ", ".join(settings["allowed_buckets"]) or "none allowed"
        return (
            f"{_required(settings['require_image_digest'], 'image digest')}, "
            f"{_required(settings['require_artifact_sha256'], 'artifact sha256')}; "
            f"registries: {registries}; buckets: {buckets}"
        )
    if name == "lineage":
        return (
            f"{_required(settings['require_pipeline_execution'], 'pipeline execution')}, "
            f"{_required(settings['require_training_data_versions'], 'training data versions')}"
        )
    if name == "required_metadata":
        return "keys: " + (", ".join(settings["keys"]) or "none")
    if name == "cost_allocation_tags":
        return "tags: " + ", ".join(settings["keys"])
    if name == "change_freeze":
        return "no approval inside a change freeze window"
    if name == "separation_of_duties":
        return "the approver may not be who created the package"
    return json.dumps(settings, sort_keys=True)


def _deployment_line(deployment: Mapping[str, Any]) -> str:
    strategy = deployment["strategy"]
    if strategy == "canary":
        shift = f"canary {deployment['canary_percent']}% for {deployment['wait_interval_seconds']} s, then the rest"
    elif strategy == "linear":
        shift = (
            f"linear steps of {deployment['linear_step_percent']}% every "
            f"{deployment['wait_interval_seconds']} s"
        )
    else:
        shift = "all at once"
    alarms = ", ".join(deployment["alarms"]) or "none"
    shadow = deployment.get("shadow")
    if shadow:  # ADR 25: the shadow phase comes first
        shift = (
            f"shadow test {shadow['duration_minutes']} min on {shadow['sample_percent']}% of production's "
            f"requests ({len(shadow['metrics'])} metrics judged; fail rejects), then {shift}"
        )
    return (
        f"{shift}; old fleet kept {deployment['termination_wait_seconds']} s; "
        f"timeout {deployment['maximum_execution_timeout_seconds']} s; rollback alarms: {alarms}"
    )


def write_explanation(explanation: Mapping[str, Any], source: str, out: TextIO) -> None:
    """The human-readable form of ``mlcp.policy.explain``'s result, folded to 120 columns."""
    text = io.StringIO()
    _write_explanation(explanation, source, text)
    for line in text.getvalue().splitlines():
        out.write(wrap(line, hang=4) + "\n")


def _write_explanation(explanation: Mapping[str, Any], source: str, out: TextIO) -> None:
    group = explanation["group"]
    freezes = explanation["change_freezes"]
    if not explanation["matched"]:
        globs = ", ".join(f"{r['match']!r}" for r in explanation["rules"])
        out.write(f"group {group!r} matches no rule of {source} (rules: {globs}): no policy covers it\n")
        return
    rule, tier = explanation["rule"], explanation["tier"]
    out.write(
        f"group {group!r} matches groups[{rule['index']}] {rule['match']!r} -> tier {tier['name']}: "
        f"{tier['approval_summary']}\n"
    )
    if tier["description"]:
        out.write(f"  {tier['description']}\n")
    out.write(f"  endpoint: {rule['endpoint'] or '-'}   owners: {', '.join(rule['owners']) or '-'}\n")
    for shadowed in explanation["shadowed"]:
        out.write(
            f"  also matches groups[{shadowed['index']}] {shadowed['match']!r} (tier {shadowed['tier']}), "
            "shadowed: the first match wins\n"
        )
    out.write("gates (hard: a failure rejects; soft: a failure asks a human):\n")
    width = max(len(g["gate"]) for g in explanation["gates"])
    for gate in explanation["gates"]:
        state = ("on   hard" if gate["hard"] else "on   soft") if gate["enabled"] else "off      "
        detail = _gate_detail(gate) if gate["enabled"] else ""
        out.write(f"  {gate['gate'].ljust(width)}  {state}  {detail}".rstrip() + "\n")
    if freezes:
        out.write("change freezes (UTC, end exclusive):\n")
        for freeze in freezes:
            reason = f"  {freeze['reason']}" if freeze.get("reason") else ""
            out.write(f"  {freeze['start']} -> {freeze['end']}{reason}\n")
    else:
        out.write("change freezes: none\n")
    out.write(f"deployment: {_deployment_line(explanation['deployment'])}\n")
    retention = tier.get("retention_days")
    out.write(
        "retirement: "
        + (
            f"models and endpoint configs no longer serving are deleted after {retention} days\n"
            if retention
            else "never (no retention_days)\n"
        )
    )
    monitoring = explanation.get("monitoring")
    if monitoring is not None:
        out.write("monitoring (incident rules, first match wins):\n")
        for incident in monitoring["incidents"]:
            out.write(f"  incident: {incident['summary']}\n")
        if not monitoring["incidents"]:
            out.write("  incident: none (nothing opens an incident)\n")
        out.write(f"  retraining: {monitoring['retraining_summary']}\n")


def explain_group(policy: Policy, group: str, source: str, as_json: bool, out: TextIO) -> int:
    """Explain ``group`` under ``policy`` to ``out``; 1 when no rule matches it."""
    explanation = explain(policy, group)
    if as_json:
        out.write(json.dumps({"source": source, **explanation}, indent=2, ensure_ascii=False) + "\n")
    else:
        write_explanation(explanation, source, out)
    return EXIT_OK if explanation["matched"] else EXIT_INVALID


def deployed_policy_store(parameter: str | None = None) -> Any:
    """The target stack's deployed policy, as its functions read it: AWS AppConfig (its
    ``PolicyAppConfig`` output; the legacy parameter as fallback until a first deployment), else
    the SSM ``parameter``. None when the target names neither."""
    from mlcp.adapters.policy_appconfig import AppConfigPolicyStore
    from mlcp.policy.model import parse_appconfig_target
    from mlcp_cli.commands.stack import active_target, client

    target = active_target()
    legacy = parameter or target.parameters.get("PolicyParameterName")
    fallback = PolicyStore(legacy, max_age_seconds=0, ssm_client=client("ssm")) if legacy else None
    where = target.outputs.get(POLICY_APPCONFIG_OUTPUT)
    if where and not parameter:
        application, environment, profile = parse_appconfig_target(where)
        return AppConfigPolicyStore(
            application, environment, profile, client=client("appconfigdata"), fallback=fallback
        )
    return fallback


def _explain(args: argparse.Namespace) -> int:
    # --parameter, else a target stack's deployed policy (AppConfig, else its parameter), else the file.
    store = None if args.file else deployed_policy_store(args.parameter)
    try:
        if store is not None:
            policy, source = store.get(), store.source
        else:
            path = args.file or DEFAULT_POLICY_FILE
            policy, source = load_policy_file(path), str(path)
    except PolicyError as exc:
        sys.stderr.write(str(exc) + "\n")
        return EXIT_INVALID
    return explain_group(policy, args.group, source, args.json, sys.stdout)


# -------------------------------------------------------------------------------------- publish


def publish_policy(ssm_client: Any, path: Path | str, parameter: str) -> int:
    """Validate the policy file and write its canonical JSON to SSM ``parameter``; the new version.

    ``PolicyError`` when the file is invalid or its canonical form exceeds what a parameter holds.
    """
    policy = load_policy_file(path)
    text = canonical_json(policy)
    size = len(text.encode("utf-8"))
    if size > MAX_PARAMETER_BYTES:
        raise PolicyError(
            str(path),
            [f"{path}: the published policy is {size} bytes; an SSM parameter holds {MAX_PARAMETER_BYTES}"],
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    response = ssm_client.put_parameter(
        Name=parameter,
        Value=text,
        Type="String",
        Overwrite=True,
        Tier="Intelligent-Tiering",
        Description=f"mlcp policy from {Path(path).name} (sha256 {digest[:16]})",
    )
    return int(response["Version"])


POLICY_APPCONFIG_OUTPUT = "PolicyAppConfig"
IMMEDIATE_STRATEGY_OUTPUT = "PolicyImmediateStrategyId"
GRADUAL_STRATEGY_OUTPUT = "PolicyGradualStrategyId"


@dataclass(frozen=True)
class DeliveryTarget:
    """Where ``publish`` deploys: the AppConfig profile and the stack's two strategies."""

    appconfig: AppConfigTarget
    immediate_strategy: str
    gradual_strategy: str

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, str], appconfig: str | None = None) -> DeliveryTarget:
        """From a stack's outputs (``--appconfig`` overrides the profile); PolicyError if unknown."""
        where = appconfig or outputs.get(POLICY_APPCONFIG_OUTPUT)
        if not where:
            raise PolicyError(
                "appconfig",
                ["the policy's AppConfig profile is unknown: --appconfig APP/ENV/PROFILE or a stack"],
            )
        return cls(
            AppConfigTarget.parse(where),
            outputs.get(IMMEDIATE_STRATEGY_OUTPUT, "AppConfig.AllAtOnce"),
            outputs.get(GRADUAL_STRATEGY_OUTPUT, "AppConfig.Linear20PercentEvery6Minutes"),
        )


def publish_to_appconfig(
    appconfig: Any,
    target: DeliveryTarget,
    path: Path | str,
    *,
    strategy: str | None = None,
    urgent: bool = False,
) -> PublishResult:
    """``mlcp policy publish``: validate the file or directory, create a hosted version, deploy it.

    The one code path of the command and of local scenarios. ``PolicyError`` when invalid or refused.
    """
    policy = load_policy_file(path)
    return publish(
        appconfig,
        target.appconfig,
        policy,
        immediate_strategy=target.immediate_strategy,
        gradual_strategy=target.gradual_strategy,
        strategy=strategy,
        urgent=urgent,
        description=f"mlcp policy publish {Path(path).name}",
    )


def _delivery_target(args: argparse.Namespace) -> DeliveryTarget:
    from mlcp_cli.commands.stack import active_target

    return DeliveryTarget.from_outputs(active_target().outputs, args.appconfig)


def _publish(args: argparse.Namespace) -> int:
    from mlcp_cli.commands.stack import client

    if args.parameter:  # legacy: a stack not yet upgraded to AppConfig
        try:
            version = publish_policy(client("ssm"), args.file, args.parameter)
        except PolicyError as exc:
            sys.stderr.write(str(exc) + "\n")
            return EXIT_INVALID
        if args.json:
            record = {"file": str(args.file), "parameter": args.parameter, "version": version}
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            sys.stdout.write(f"published {args.file} to {args.parameter}: version {version}\n")
        return EXIT_OK
    try:
        target = _delivery_target(args)
        result = publish_to_appconfig(
            client("appconfig"), target, args.file, strategy=args.strategy, urgent=args.urgent
        )
    except PolicyError as exc:
        sys.stderr.write(str(exc) + "\n")
        return EXIT_INVALID
    if args.json:
        sys.stdout.write(
            json.dumps({"file": str(args.file), "appconfig": str(target.appconfig), **result.to_json()})
            + "\n"
        )
        return EXIT_OK
    for number in result.stopped:
        sys.stdout.write(f"stopped deployment {number} (rolled back) for the urgent change\n")
    sys.stdout.write(
        f"published {args.file} as version {result.version} ({result.label}); deployment {result.deployment} "
        f"with strategy {result.strategy}: {result.reason}\n"
        "  mlcp policy status shows its progress\n"
    )
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from mlcp_cli.commands.stack import client

    try:
        target = _delivery_target(args)
        report = status(client("appconfig"), target.appconfig)
    except PolicyError as exc:
        sys.stderr.write(str(exc) + "\n")
        return EXIT_INVALID
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        write_status(report, sys.stdout)
    return EXIT_OK


def migrate_from_parameter(ssm: Any, appconfig: Any, target: DeliveryTarget, parameter: str) -> PublishResult:
    """Deploy, at once, exactly the policy in the legacy SSM ``parameter`` (nothing lost on upgrade)."""
    policy = PolicyStore(parameter, max_age_seconds=0, ssm_client=ssm).get()
    return publish(
        appconfig,
        target.appconfig,
        policy,
        immediate_strategy=target.immediate_strategy,
        gradual_strategy=target.gradual_strategy,
        strategy=target.immediate_strategy,
        description=f"mlcp policy migrate from ssm:{parameter}",
    )


def _migrate(args: argparse.Namespace) -> int:
    from mlcp_cli.commands.stack import active_target, client

    parameter = args.parameter or active_target().parameters.get("PolicyParameterName") or "/mlcp/policy"
    try:
        target = _delivery_target(args)
        result = migrate_from_parameter(client("ssm"), client("appconfig"), target, parameter)
    except PolicyError as exc:
        sys.stderr.write(str(exc) + "\n")
        return EXIT_INVALID
    if args.json:
        document = {"parameter": parameter, "version": result.version, "deployment": result.deployment}
        sys.stdout.write(json.dumps(document) + "\n")
        return EXIT_OK
    sys.stdout.write(
        f"deployed the policy of ssm:{parameter} as version {result.version} (deployment {result.deployment}); "
        "the functions read AppConfig from their next decision\n"
    )
    return EXIT_OK


def s3_report_loader(s3: Any) -> Callable[[str], bytes | None]:
    """Read a gate report by its ``s3://`` URI (None when it is gone)."""
    from botocore.exceptions import ClientError

    from mlcp.s3uri import parse_s3_uri

    def load(uri: str) -> bytes | None:
        parsed = parse_s3_uri(uri)  # a report's URI names its version (?versionId=)
        if parsed is None:
            return None
        bucket, key, version = parsed
        extra = {"VersionId": version} if version else {}
        try:
            body: bytes = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        except ClientError:
            return None
        return body

    return load


def dry_run_policy(
    trail: Any, s3: Any, path: Path | str, *, since: str | None = None, group: str | None = None
) -> DryRun:
    """``mlcp policy dry-run``: every stream's replayable records under the policy at ``path``."""
    from mlcp import clock as mlcp_clock
    from mlcp_cli.policy_dry_run import dry_run, parse_since, select

    policy = load_policy_file(path)
    start = parse_since(since, mlcp_clock.now()) if since else None
    streams = [f"group#{group}"] if group else trail.streams()
    records = (record for stream in streams for record in trail.read(stream))
    return dry_run(select(records, since=start, group=group), policy, s3_report_loader(s3))


def _dry_run(args: argparse.Namespace) -> int:
    from mlcp.adapters.audit_trail import AuditTrail
    from mlcp_cli.commands.stack import client
    from mlcp_cli.policy_dry_run import write_dry_run

    table = args.audit_table or os.environ.get("MLCP_AUDIT_TABLE")
    if not table:
        sys.stderr.write(
            "mlcp policy dry-run: the audit table is unknown: --stack-name, --config-env, --local\n"
        )
        return 2
    try:
        run = dry_run_policy(
            AuditTrail(table, client=client("dynamodb")),
            client("s3"),
            args.file,
            since=args.since,
            group=args.group,
        )
    except PolicyError as exc:
        sys.stderr.write(str(exc) + "\n")
        return EXIT_INVALID
    except ValueError as exc:
        sys.stderr.write(f"mlcp policy dry-run: --since: {exc}\n")
        return 2
    if args.json:
        sys.stdout.write(json.dumps(run.to_json(), indent=2, default=str) + "\n")
    else:
        write_dry_run(run, sys.stdout)
    return EXIT_OK


# ------------------------------------------------------------------------------------- register


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``policy`` command group (``validate``, ``explain``, ``publish``)."""
    group = subparsers.add_parser("policy", help="validate, explain and publish the policy as code")
    commands = group.add_subparsers(dest="policy_command", required=True)

    validate = commands.add_parser("validate", help="validate policy files; exit 1 if one is invalid")
    validate.add_argument("files", nargs="+", metavar="FILE", help="YAML policy files")
    validate.add_argument("--json", action="store_true", help="one JSON line per file")
    validate.set_defaults(func=_validate)

    explain_cmd = commands.add_parser(
        "explain", help="what the policy says about a model package group; exit 1 if no rule matches"
    )
    explain_cmd.add_argument("group", metavar="GROUP", help="model package group name")
    source = explain_cmd.add_mutually_exclusive_group()
    source.add_argument(
        "--file", type=Path, help=f"policy file (YAML); default {DEFAULT_POLICY_FILE} when no --parameter"
    )
    source.add_argument(
        "--parameter",
        help="SSM parameter holding the deployed policy (JSON); default: the target stack's, if one is given",
    )
    explain_cmd.add_argument("--json", action="store_true", help="print the explanation as JSON")
    add_stack_options(explain_cmd)
    explain_cmd.set_defaults(func=_explain)

    publish = commands.add_parser(
        "publish", help="validate a policy and deploy it through AppConfig (a new hosted version)"
    )
    publish.add_argument("file", metavar="FILE", type=Path, help="YAML policy file or directory of them")
    publish.add_argument(
        "--strategy",
        help="AppConfig deployment strategy id or name (default: the stack's immediate strategy for a new "
        "freeze or --urgent, else its gradual one)",
    )
    publish.add_argument(
        "--urgent", action="store_true", help="apply at once (stops a deployment in progress first)"
    )
    publish.add_argument(
        "--appconfig", metavar="APP/ENV/PROFILE", help="default: the stack's PolicyAppConfig"
    )
    publish.add_argument(
        "--parameter", help="legacy: write this SSM parameter instead (a stack not yet upgraded to AppConfig)"
    )
    publish.add_argument("--json", action="store_true", help="one JSON object: version, deployment, strategy")
    add_stack_options(publish)
    publish.set_defaults(func=_publish)

    status_cmd = commands.add_parser("status", help="what is deployed, rolling out, rolled back and why")
    status_cmd.add_argument(
        "--appconfig", metavar="APP/ENV/PROFILE", help="default: the stack's PolicyAppConfig"
    )
    status_cmd.add_argument("--json", action="store_true", help="the report as JSON")
    add_stack_options(status_cmd)
    status_cmd.set_defaults(func=_status)

    migrate = commands.add_parser(
        "migrate", help="deploy the legacy SSM parameter's policy through AppConfig, unchanged"
    )
    migrate.add_argument("--parameter", help="default: the stack's PolicyParameterName, else /mlcp/policy")
    migrate.add_argument(
        "--appconfig", metavar="APP/ENV/PROFILE", help="default: the stack's PolicyAppConfig"
    )
    migrate.add_argument(
        "--json", action="store_true", help="one JSON object: parameter, version, deployment"
    )
    add_stack_options(migrate)
    migrate.set_defaults(func=_migrate)

    dry = commands.add_parser(
        "dry-run", help="replay the audit trail's decisions under a new policy: what would differ, and why"
    )
    dry.add_argument("file", metavar="NEW_POLICY", type=Path, help="YAML policy file or directory")
    dry.add_argument(
        "--since", help="only decisions from then: 2026-11-01, an ISO time, or 7d / 12h / 30m ago"
    )
    dry.add_argument("--group", help="only this model package group's decisions")
    dry.add_argument("--json", action="store_true", help="the result as JSON")
    add_stack_options(dry)
    dry.set_defaults(func=_dry_run)
