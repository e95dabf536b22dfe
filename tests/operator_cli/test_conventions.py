"""One CLI: every command has --json, and one resolver picks the stack from flags, samconfig.toml
or the emulator (no AWS call needed for these)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from mlcp_cli.commands.stack import LOCAL_STACK_NAME, TargetError, samconfig_target, target_of
from mlcp_cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return [(path, parser)]
    found = []
    for action in subparsers:
        for name, child in action.choices.items():
            found += _leaves(child, (*path, name))
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def test_every_command_has_json_output() -> None:
    leaves = _leaves(build_parser())
    assert len(leaves) >= 20
    missing = [" ".join(path) for path, parser in leaves if "--json" not in _options(parser)]
    assert missing == []


def test_every_command_that_prints_a_table_has_wide() -> None:
    """Tables fit 120 columns; --wide shows every field in full (ids, ARNs, whole reasons)."""
    with_tables = {
        "audit show", "approvals list", "incidents list", "parked list", "parked redrive", "cost idle-endpoints",
        "retire", "local run",
    }  # fmt: skip
    leaves = {" ".join(path): parser for path, parser in _leaves(build_parser())}
    assert [name for name in sorted(with_tables) if "--wide" not in _options(leaves[name])] == []


def test_commands_on_a_deployed_stack_share_one_option_set() -> None:
    on_stack = {
        "approvals list", "approve", "reject", "incidents list", "incidents show", "incidents resolve",
        "rollback", "audit show", "audit verify", "audit export", "retire", "cost idle-endpoints", "policy publish",
        "status", "abort", "promote",
    }  # fmt: skip
    leaves = {" ".join(path): parser for path, parser in _leaves(build_parser())}
    for name in on_stack:
        assert {"--local", "--config-env", "--stack-name", "--region", "--profile"} <= _options(
            leaves[name]
        ), name


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["approvals", "list", *argv])


def test_samconfig_environments_of_the_repository() -> None:
    dev = target_of(_args("--config-env", "dev", "--samconfig", str(ROOT / "samconfig.toml")))
    assert (dev.source, dev.stack_name, dev.region, dev.profile) == (
        "samconfig:dev",
        "mlcp-dev",
        "us-east-1",
        None,
    )
    prod = samconfig_target(ROOT / "samconfig.toml", "prod")
    assert (prod.stack_name, prod.region) == ("mlcp-prod", "us-east-1")


def test_samconfig_deploy_parameters_win_over_global_and_flags_win_over_both(tmp_path: Path) -> None:
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[staging.global.parameters]\nstack_name = "g"\nregion = "eu-west-1"\nprofile = "ops"\n'
        '[staging.deploy.parameters]\nstack_name = "mlcp-staging"\n',
        encoding="utf-8",
    )
    target = samconfig_target(config, "staging")
    assert (target.stack_name, target.region, target.profile) == ("mlcp-staging", "eu-west-1", "ops")
    flagged = target_of(
        _args(
            "--config-env", "staging", "--samconfig", str(config), "--region", "us-west-2", "--profile", "p2"
        )
    )
    assert (flagged.stack_name, flagged.region, flagged.profile) == ("mlcp-staging", "us-west-2", "p2")


@pytest.mark.parametrize(
    ("content", "env", "message"),
    [
        (None, "dev", "not found"),
        ("version = [", "dev", "not valid TOML"),
        ('version = 0.1\n[dev.deploy.parameters]\nregion = "us-east-1"\n', "dev", "has no stack_name"),
        (
            'version = 0.1\n[dev.deploy.parameters]\nstack_name = "x"\n',
            "prod",
            "no environment 'prod' (environments: dev)",
        ),
    ],
)
def test_samconfig_problems_are_clear(tmp_path: Path, content: str | None, env: str, message: str) -> None:
    config = tmp_path / "samconfig.toml"
    if content is not None:
        config.write_text(content, encoding="utf-8")
    with pytest.raises(TargetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        samconfig_target(config, env)


def test_local_and_flag_targets() -> None:
    local = target_of(_args("--local"))
    assert (local.source, local.stack_name, local.region) == ("local", LOCAL_STACK_NAME, "us-east-1")
    flags = target_of(_args("--stack-name", "mlcp-prod", "--region", "eu-central-1"))
    assert (flags.source, flags.stack_name, flags.region, flags.profile) == (
        "flags",
        "mlcp-prod",
        "eu-central-1",
        None,
    )
    assert target_of(_args()).source == "environment"
    with pytest.raises(TargetError, match="--local targets the emulator"):
        target_of(_args("--local", "--config-env", "dev"))


def test_use_case_logs_go_to_stderr_so_json_output_stays_parseable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mlcp.observability import logger

    assert (
        main(["events", "validate", "--json", str(ROOT / "events/s3-object-created/other-bucket.json")]) == 0
    )
    logger.info("a use case's log line")
    out, err = capsys.readouterr()
    assert "a use case's log line" in err
    assert "a use case's log line" not in out
    assert all(json.loads(line) for line in out.splitlines())
