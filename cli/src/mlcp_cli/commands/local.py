"""`mlcp local run [SCENARIO]`: the control plane on the embedded emulator, playing a scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_SCENARIO = Path("scenarios/default.yaml")


def run_local(
    scenario_path: Path, *, template: Path, root: Path, as_json: bool, show_logs: bool = False
) -> int:
    """Deploy ``template`` on the emulator, play the scenario, print timeline, audit and verify.

    Exit status: 0 when every expectation held and the audit chain verifies, 1 otherwise.
    """
    from mlcp_cli.commands.audit import show_audit, verify_audit
    from mlcp_cli.emulator.runtime import LocalControlPlane
    from mlcp_cli.scenario import ScenarioRunner, load_scenario

    scenario = load_scenario(scenario_path)
    out = sys.stdout
    timeline = None if as_json else out
    if timeline is not None:
        timeline.write(f"deploying {template} on the embedded emulator ...\n")
    with LocalControlPlane(template, parameters=scenario.parameters, start=scenario.start) as cp:
        # The timeline is the progress report; with --json, progress goes to stderr.
        runner = ScenarioRunner(
            cp, root=root, timeline=timeline, progress=sys.stderr if as_json else None, show_logs=show_logs
        )
        result = runner.run(scenario)
        trail = runner.audit
        if as_json:
            show_audit(trail, None, True, out)
            verified = verify_audit(trail, None, sys.stderr)
        else:
            out.write("\n== audit trail ==\n")
            show_audit(trail, None, False, out)
            out.write("\n== mlcp audit verify ==\n")
            verified = verify_audit(trail, None, out)
            executions = result.executions
            out.write(
                f"\n{len(scenario.steps)} steps, {result.deliveries} deliveries, {len(executions)} executions, "
                f"{len(result.failures)} failed expectations\n"
            )
    for failure in result.failures:
        sys.stderr.write(f"expectation failed: {failure}\n")
    return 0 if result.ok and verified == 0 else 1


def _cmd_run(args: argparse.Namespace) -> int:
    from mlcp_cli.scenario import ScenarioError

    try:
        return run_local(
            Path(args.scenario),
            template=Path(args.template),
            root=Path(args.root),
            as_json=args.json,
            show_logs=args.logs,
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
    run.set_defaults(func=_cmd_run)
