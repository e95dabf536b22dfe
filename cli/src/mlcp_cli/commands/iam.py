"""`mlcp iam report`: what each function and state machine used of its IAM grants, in local mode."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlcp_cli.tables import wrap


def shipped_scenarios(root: Path) -> list[Path]:
    """scenarios/*.yaml except the policy document that lives beside them."""
    return sorted(p for p in (root / "scenarios").glob("*.yaml") if p.name != "policy.yaml")


def _play(scenario_path: Path, template: Path, root: Path) -> dict[str, Any]:
    """Play one scenario quietly with IAM enforced; its report."""
    from mlcp_cli.emulator.iam.report import logical_namer, run_report
    from mlcp_cli.emulator.runtime import LocalControlPlane
    from mlcp_cli.scenario import ScenarioRunner, load_scenario

    scenario = load_scenario(scenario_path)
    with LocalControlPlane(template, parameters=scenario.parameters, start=scenario.start) as cp:
        result = ScenarioRunner(cp, root=root, timeline=None).run(scenario)
        if cp.iam is None:
            raise RuntimeError("IAM enforcement is off")
        report = run_report(cp.iam, logical_namer(cp.stack), scenario_path.stem)
        report["failed_expectations"] = {scenario_path.stem: result.failures} if result.failures else {}
        return report


def _cmd_report(args: argparse.Namespace) -> int:
    from mlcp_cli.emulator.iam.report import finish, load_justifications, merge, render

    root = Path(args.root)
    reports: list[dict[str, Any]] = []
    for path in args.from_ or []:
        reports.append(json.loads(Path(path).read_text(encoding="utf-8")))
    if not args.from_:
        scenarios = [Path(s) for s in args.scenarios] or shipped_scenarios(root)
        for scenario in scenarios:
            sys.stderr.write(f"playing {scenario} with IAM enforced ...\n")
            reports.append(_play(scenario, Path(args.template), root))
    report = finish(merge(reports), load_justifications(root))
    if args.json:
        sys.stdout.write(json.dumps(report, indent=1, sort_keys=True) + "\n")
    else:
        sys.stdout.write("".join(wrap(line, hang=4) + "\n" for line in render(report).splitlines()))
    return 1 if report["denials"] or report["unjustified_unused_grants"] else 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    iam = subparsers.add_parser("iam", help="IAM in local mode: what the control plane's roles use")
    sub = iam.add_subparsers(dest="iam_command", required=True)
    report = sub.add_parser(
        "report",
        help="per function / state machine: actions used, grants never used, denials "
        "(plays the shipped scenarios, or reads mlcp local run --iam-report files)",
    )
    report.add_argument("scenarios", nargs="*", help="scenario YAML files (default: every scenarios/*.yaml)")
    report.add_argument(
        "--from", dest="from_", action="append", help="a file written by mlcp local run --iam-report"
    )
    report.add_argument("--template", default="template.yaml", help="SAM template (default: %(default)s)")
    report.add_argument("--root", default=".", help="the repository root (scenarios/, docs/iam/)")
    report.add_argument("--json", action="store_true", help="the report as JSON")
    report.set_defaults(func=_cmd_report)
