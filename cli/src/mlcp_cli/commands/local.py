"""`mlcp local run [SCENARIO] [--keep]`: the control plane on the embedded emulator, playing a
scenario; `mlcp local up` / `down` / `advance`: a local control plane that outlives one command, for
``--local`` commands from any shell (``mlcp_cli.local_server``, ADR 21)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO = Path("scenarios/default.yaml")

SKIPPING_VARIABLE = "MLCP_CLOCK_SKIPPING"
"""``off``: the virtual clock lets real time pass between timers instead of jumping (ADR 8), the
reference ``make bench`` times the full loop against; ``on`` (the default) skips."""


class SkippingSettingError(ValueError):
    """``MLCP_CLOCK_SKIPPING`` is neither ``on`` nor ``off``."""


def clock_skipping() -> bool:
    """Whether the local run's virtual clock skips to the next timer (``MLCP_CLOCK_SKIPPING``)."""
    import os

    value = os.environ.get(SKIPPING_VARIABLE, "on").strip().lower()
    if value not in ("on", "off"):
        raise SkippingSettingError(f"{SKIPPING_VARIABLE} must be on or off, not {value!r}")
    return value == "on"


def run_local(
    scenario_path: Path,
    *,
    template: Path,
    root: Path,
    as_json: bool,
    show_logs: bool = False,
    iam: bool = True,
    iam_report: Path | None = None,
    wide: bool = False,
    skipping: bool = True,
) -> int:
    """Deploy ``template`` on the emulator, play the scenario, print timeline, audit and verify.

    IAM is enforced (every call of a function or state machine checked against its role) unless
    ``iam`` is False; ``iam_report`` names a file for this run's ``mlcp iam report --from`` data;
    ``wide`` prints the audit tables with every field in full (else they fit 120 columns);
    ``skipping=False`` lets real time pass between timers (the benchmark's reference).

    Exit status: 0 when every expectation held, IAM denied nothing and the audit chain verifies,
    1 otherwise.
    """
    from mlcp_cli.emulator.runtime import LocalControlPlane
    from mlcp_cli.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    if not as_json:
        sys.stdout.write(f"deploying {template} on the embedded emulator ...\n")
    with LocalControlPlane(
        template, parameters=scenario.parameters, start=scenario.start, skipping=skipping, iam=iam
    ) as cp:
        return play(
            cp,
            scenario,
            scenario_path,
            root=root,
            out=sys.stdout,
            as_json=as_json,
            show_logs=show_logs,
            iam_report=iam_report,
            wide=wide,
        )


def play(
    cp: Any,
    scenario: Any,
    scenario_path: Path,
    *,
    root: Path,
    out: Any,
    as_json: bool,
    show_logs: bool = False,
    iam_report: Path | None = None,
    err: Any = None,
    wide: bool = False,
) -> int:
    """Play ``scenario`` on the running control plane ``cp``: timeline, IAM summary, audit trail and
    its verification on ``out`` (``--json``: the audit records). 0 when every expectation held, IAM
    denied nothing and the audit chain verifies, else 1."""
    from mlcp_cli.commands.audit import show_audit, verify_audit
    from mlcp_cli.scenario import ScenarioRunner

    err = err if err is not None else sys.stderr
    timeline = None if as_json else out
    # The timeline is the progress report; with --json, progress goes to stderr.
    runner = ScenarioRunner(
        cp, root=root, timeline=timeline, progress=err if as_json else None, show_logs=show_logs
    )
    result = runner.run(scenario)
    trail = runner.audit
    if cp.iam is not None:
        _iam_summary(cp, scenario_path, iam_report, err if as_json else out)
    elif timeline is not None:
        timeline.write("\nIAM: not enforced (--no-iam): AWS may refuse calls this run made\n")
    if as_json:
        show_audit(trail, None, True, out)
        verified = verify_audit(trail, None, err)
    else:
        out.write("\n== audit trail ==\n")
        show_audit(trail, None, False, out, wide=wide)
        out.write("\n== mlcp audit verify ==\n")
        verified = verify_audit(trail, None, out)
        out.write(
            f"\n{len(scenario.steps)} steps, {result.deliveries} deliveries, {len(result.executions)} executions, "
            f"{len(result.failures)} failed expectations\n"
        )
    for failure in result.failures:
        err.write(f"expectation failed: {failure}\n")
    return 0 if result.ok and verified == 0 else 1


def _iam_summary(cp: Any, scenario_path: Path, iam_report: Path | None, out: Any) -> None:
    import json

    from mlcp_cli.emulator.iam.report import logical_namer, run_report

    enforcer = cp.iam
    logical = logical_namer(cp.stack)
    denials = enforcer.denials()
    missing = sum(1 for d in enforcer.decisions if d.implicit == "missing key" and d.effect != "Allow")
    out.write(
        f"\n== IAM ==\n{len(enforcer.decisions)} authorizations checked, {len(denials)} denied, "
        f"{missing} missing S3 keys answered 403 (no s3:ListBucket)\n"
    )
    for denial in denials:
        out.write(f"  AccessDenied: {logical(denial.caller)} {denial.action} on {denial.resource}\n")
    if iam_report is not None:
        report = run_report(enforcer, logical, scenario_path.stem)
        iam_report.parent.mkdir(parents=True, exist_ok=True)
        iam_report.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")


def _up(args: argparse.Namespace, scenario: Path | None) -> int:
    """Start the local server (playing ``scenario`` first) and print where it is."""
    from mlcp_cli.local_server import SCENARIO_LOG_NAME, LocalServerError, start, state_dir
    from mlcp_cli.scenario import ScenarioError, load_scenario

    directory = state_dir(args.dir)
    try:
        if scenario is not None:
            load_scenario(scenario)  # a malformed scenario is refused here, not in the server's log
        sys.stderr.write(f"starting the local control plane in {directory}/ ...\n")
        info = start(
            directory,
            template=Path(args.template),
            speed=args.speed,
            scenario=scenario,
            root=Path(args.root),
            iam=not args.no_iam,
        )
    except ScenarioError as exc:
        sys.stderr.write(f"mlcp local: {exc}\n")
        return 2
    except LocalServerError as exc:
        sys.stderr.write(f"mlcp local: {exc}\n")
        return 1
    code = int(info.get("scenario_exit", 1)) if scenario is not None else 0
    if args.json:  # the scenario's timeline stays in its log
        sys.stdout.write(json.dumps({**info, "dir": str(directory)}, sort_keys=True) + "\n")
        return code
    if scenario is not None:
        sys.stdout.write((directory / SCENARIO_LOG_NAME).read_text(encoding="utf-8"))
    clock = (
        "moves only with `mlcp local advance SECONDS`"
        if args.speed == 0
        else f"runs at {args.speed:g}x real time"
    )
    sys.stdout.write(
        f"\nlocal control plane up (pid {info['pid']}, {directory}/): `mlcp ... --local` from any shell in this "
        f"directory talks to it; its clock {clock}; `mlcp local down` ends it\n"
    )
    return code


def _cmd_up(args: argparse.Namespace) -> int:
    return _up(args, Path(args.scenario) if args.scenario else None)


def _cmd_down(args: argparse.Namespace) -> int:
    from mlcp_cli.local_server import state_dir, stop

    directory = state_dir(args.dir)
    if not stop(directory):
        sys.stderr.write(f"mlcp local down: no local control plane is running in {directory}/\n")
        return 1
    if args.json:
        sys.stdout.write(json.dumps({"dir": str(directory), "down": True}) + "\n")
    else:
        sys.stdout.write(f"local control plane in {directory}/: down\n")
    return 0


def _cmd_advance(args: argparse.Namespace) -> int:
    from mlcp_cli.local_server import LocalServerError, request, state_dir

    if args.seconds < 0:
        sys.stderr.write("mlcp local advance: time only moves forward\n")
        return 2
    try:
        return request(
            state_dir(args.dir), {"advance": args.seconds, "json": args.json}, sys.stdout, sys.stderr
        )
    except LocalServerError as exc:
        sys.stderr.write(f"mlcp local advance: {exc}\n")
        return 1


def _cmd_run(args: argparse.Namespace) -> int:
    from mlcp_cli.scenario import ScenarioError

    if args.keep:
        return _up(args, Path(args.scenario))
    try:
        skipping = clock_skipping()
    except SkippingSettingError as exc:
        sys.stderr.write(f"mlcp local run: {exc}\n")
        return 2
    try:
        return run_local(
            Path(args.scenario),
            template=Path(args.template),
            root=Path(args.root),
            as_json=args.json,
            show_logs=args.logs,
            iam=not args.no_iam,
            iam_report=Path(args.iam_report) if args.iam_report else None,
            wide=args.wide,
            skipping=skipping,
        )
    except ScenarioError as exc:
        sys.stderr.write(f"mlcp local run: {exc}\n")
        return 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    local = subparsers.add_parser("local", help="run the control plane locally on the embedded emulator")
    sub = local.add_subparsers(dest="local_command", required=True)
    run = sub.add_parser("run", help="deploy template.yaml on the emulator and play a scenario")
    run.add_argument(
        "scenario", nargs="?", default=str(DEFAULT_SCENARIO), help="scenario YAML (default: %(default)s)"
    )
    run.add_argument("--template", default="template.yaml", help="SAM template (default: %(default)s)")
    run.add_argument("--root", default=".", help="directory that scenario file paths are relative to")
    run.add_argument("--json", action="store_true", help="print the audit records as JSON lines instead")
    run.add_argument("--logs", action="store_true", help="show what each function logged, in the timeline")
    run.add_argument(
        "--wide", action="store_true", help="audit tables with every field in full, wider than 120 columns"
    )
    run.add_argument(
        "--no-iam",
        action="store_true",
        help="do not check calls against IAM (only to see the difference: AWS always checks)",
    )
    run.add_argument("--iam-report", help="write this run's IAM usage to FILE (for mlcp iam report --from)")
    run.add_argument(
        "--keep",
        action="store_true",
        help="play it in a local control plane that stays up (as `mlcp local up`), for --local commands",
    )
    _server_options(run)
    run.set_defaults(func=_cmd_run)

    up = sub.add_parser("up", help="start a local control plane that outlives this command (state in --dir)")
    up.add_argument("--scenario", help="play this scenario first (its timeline is printed)")
    up.add_argument("--template", default="template.yaml", help="SAM template (default: %(default)s)")
    up.add_argument("--root", default=".", help="directory that scenario file paths are relative to")
    up.add_argument("--no-iam", action="store_true", help="do not check calls against IAM")
    up.add_argument("--json", action="store_true", help="machine output: the server's pid, directory, ...")
    _server_options(up)
    up.set_defaults(func=_cmd_up)

    down = sub.add_parser("down", help="stop the local control plane")
    down.add_argument("--dir", help="its state directory (default: $MLCP_LOCAL_DIR or .mlcp-local)")
    down.add_argument("--json", action="store_true", help="machine output: JSON")
    down.set_defaults(func=_cmd_down)

    advance = sub.add_parser("advance", help="let SECONDS of simulated time pass on the local control plane")
    advance.add_argument("seconds", type=float)
    advance.add_argument("--dir", help="its state directory (default: $MLCP_LOCAL_DIR or .mlcp-local)")
    advance.add_argument("--json", action="store_true", help="machine output: JSON (the new simulated time)")
    advance.set_defaults(func=_cmd_advance)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", help="state directory of the local server (default: $MLCP_LOCAL_DIR or .mlcp-local)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="the virtual clock runs at SPEED x real time (0: only `mlcp local advance` moves it; default 1)",
    )
