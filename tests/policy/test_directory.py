"""A policy directory: one file per team or group, merged; conflicts name both files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.policy import PolicyError
from mlcp_cli.commands.policy import load_policy_file, validate_files

LOW = {"auto_approve": True, "human_approval": False}


def _write(directory: Path, name: str, document: dict[str, Any]) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(document))
    return path


def test_files_merge_in_name_order(tmp_path: Path) -> None:
    _write(tmp_path, "00-tiers.yaml", {"version": 1, "tiers": {"low": LOW, "high": {}}})
    _write(tmp_path, "10-fraud.yaml", {"groups": [{"match": "fraud-*", "tier": "high"}]})
    _write(tmp_path, "90-rest.yaml", {"groups": [{"match": "*", "tier": "low"}]})
    (tmp_path / "README.md").write_text("not a policy file")
    policy = load_policy_file(tmp_path)
    assert [rule.match for rule in policy.groups] == ["fraud-*", "*"]
    assert sorted(policy.tiers) == ["high", "low"]
    assert policy.rule_for("fraud-x") is not None
    assert policy.rule_for("fraud-x").tier == "high"  # type: ignore[union-attr]


def test_a_tier_defined_twice_names_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.yaml", {"tiers": {"low": LOW}, "groups": [{"match": "a-*", "tier": "low"}]})
    second = _write(tmp_path, "b.yaml", {"tiers": {"low": LOW}, "groups": [{"match": "b-*", "tier": "low"}]})
    with pytest.raises(PolicyError) as raised:
        load_policy_file(tmp_path)
    assert raised.value.problems == (f"{second}: tiers.low: tier 'low' is also defined in {first}",)


def test_a_group_claimed_twice_or_taken_by_an_earlier_glob_names_both_files(tmp_path: Path) -> None:
    first = _write(
        tmp_path, "a.yaml", {"tiers": {"low": LOW}, "groups": [{"match": "churn-*", "tier": "low"}]}
    )
    second = _write(
        tmp_path,
        "b.yaml",
        {"groups": [{"match": "churn-*", "tier": "low"}, {"match": "churn-model", "tier": "low"}]},
    )
    with pytest.raises(PolicyError) as raised:
        load_policy_file(tmp_path)
    assert raised.value.problems == (
        f"{second}: groups[0]: group pattern 'churn-*' is also claimed in {first}",
        f"{second}: groups[1]: group 'churn-model' is already taken by 'churn-*' in {first} "
        "(earlier in file order: the first match wins)",
    )


def test_a_model_error_names_the_file_that_holds_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, "a.yaml", {"tiers": {"low": LOW}, "groups": [{"match": "*", "tier": "low"}]})
    bad = _write(tmp_path, "b.yaml", {"tiers": {"high": {"auto_approve": True, "human_approval": True}}})
    assert validate_files([tmp_path], sys.stdout) == 1
    out = capsys.readouterr().out
    assert f"{bad}: tiers.high: auto_approve and human_approval cannot both be true" in out


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy files"):
        load_policy_file(tmp_path)
