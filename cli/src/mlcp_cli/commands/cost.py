"""`mlcp cost idle-endpoints [--window-hours 24] [--all] [--prices FILE]`: endpoints that served no
request over the window (CloudWatch ``AWS/SageMaker`` ``Invocations``) and their hourly cost
(instance type x count; serverless: 0). See ``mlcp_cli.cost`` for the price table and its source."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from mlcp import clock
from mlcp_cli.commands.stack import (
    add_json_option,
    add_stack_options,
    client,
    progress,
    write_json,
    write_table,
)
from mlcp_cli.cost import HOURS_PER_MONTH, PRICE_SOURCE, EndpointUsage, endpoint_usage


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}".rstrip("0").rstrip(".")


def write_usage(
    usage: list[EndpointUsage],
    out: TextIO,
    *,
    as_json: bool,
    window_hours: float,
    show_all: bool,
    wide: bool = False,
) -> None:
    shown = usage if show_all else [u for u in usage if u.idle]
    if as_json:
        write_json([{**u.model_dump(mode="json"), "window_hours": window_hours} for u in shown], out)
        return
    if not shown:
        out.write(f"no idle endpoints over the last {window_hours:g} h ({len(usage)} endpoints)\n")
        return
    rows = [
        (
            u.endpoint,
            u.status,
            "idle" if u.idle else "serving",
            f"{u.invocations:g}",
            ", ".join(
                "serverless" if v.serverless else f"{v.instance_count} x {v.instance_type}"
                for v in u.variants
            ),
            _usd(u.hourly_usd),
        )
        for u in shown
    ]
    write_table(rows, ("endpoint", "status", "usage", "invocations", "capacity", "per hour"), out, wide=wide)
    idle = [u for u in usage if u.idle]
    known = [u.hourly_usd for u in idle if u.hourly_usd is not None]
    hourly = sum(known)
    unknown = len(idle) - len(known)
    out.write(
        f"\n{len(idle)} of {len(usage)} endpoints idle over the last {window_hours:g} h: "
        f"{_usd(hourly)}/h, about {_usd(hourly * HOURS_PER_MONTH)}/month"
        + (f" (+{unknown} with an unknown price)" if unknown else "")
        + f"\nprices: {PRICE_SOURCE}\n"
    )


def _prices(path: Path | None) -> dict[str, float] | None:
    if path is None:
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and v >= 0 for k, v in document.items()
    ):
        raise ValueError(f"{path}: expected a JSON object of instance type -> USD per hour (>= 0)")
    return {k: float(v) for k, v in document.items()}


def _cmd_idle(args: argparse.Namespace) -> int:
    if not 1 <= args.window_hours <= 24 * 63:  # CloudWatch keeps hourly data 63 days
        sys.stderr.write("mlcp cost idle-endpoints: --window-hours must be within 1..1512\n")
        return 2
    try:
        prices = _prices(args.prices)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"mlcp cost idle-endpoints: {exc}\n")
        return 2
    usage = endpoint_usage(
        client("sagemaker"),
        client("cloudwatch"),
        now=clock.now(),
        window_hours=args.window_hours,
        prices=prices,
        progress=progress,
    )
    write_usage(
        usage,
        sys.stdout,
        as_json=args.json,
        window_hours=args.window_hours,
        show_all=args.all,
        wide=args.wide,
    )
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    cost = subparsers.add_parser("cost", help="what the control plane's endpoints cost")
    sub = cost.add_subparsers(dest="cost_command", required=True)
    idle = sub.add_parser(
        "idle-endpoints", help="endpoints with no invocations over a window, and their hourly cost"
    )
    idle.add_argument("--window-hours", type=float, default=24, help="look back this many hours (default 24)")
    idle.add_argument("--all", action="store_true", help="also the endpoints that served requests")
    idle.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    idle.add_argument(
        "--prices", type=Path, help="JSON object instance type -> USD/h (default: us-east-1 table)"
    )
    add_json_option(idle)
    add_stack_options(idle)
    idle.set_defaults(func=_cmd_idle)
