"""`mlcp policy validate|explain|publish` through mlcp_cli.main.main, publish against moto SSM."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.adapters.policy_ssm import PolicyStore
from mlcp.policy import PolicyError, canonical_json, parse_policy
from mlcp_cli.commands.policy import load_policy_file, publish_policy
from mlcp_cli.main import main

from .conftest import EXAMPLE, PARAMETER, ROOT, example_document


def _write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


# ------------------------------------------------------------------------------------- validate


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == f"OK {EXAMPLE}: 3 groups, 3 tiers\n"


def test_validate_reports_every_problem_of_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = example_document()
    document["tiers"]["high"]["gates"]["metrics"]["thresholds"][0] = {"metric": "x"}
    document["tiers"]["low"]["human_approval"] = True
    broken = _write(tmp_path, "broken.yaml", document)
    syntax = _write(tmp_path, "syntax.yaml", "tiers: {low: [}\n")
    missing = tmp_path / "missing.yaml"

    code = main(["policy", "validate", str(EXAMPLE), str(broken), str(syntax), str(missing)])

    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"OK {EXAMPLE}: 3 groups, 3 tiers"
    located = [re.sub(r"^(.*?):\d+:\d+: ", r"\1: ", line) for line in lines]  # FILE:LINE:COL: ...
    assert len(located) == len(set(located))
    assert located != lines
    assert (
        f"{broken}: tiers.high.gates.metrics.thresholds[0]: threshold on 'x' needs min, max or both"
        in located
    )
    assert f"{broken}: tiers.low: auto_approve and human_approval cannot both be true" in located
    assert any(line.startswith(f"{syntax}:1:15: not valid YAML:") for line in lines)
    assert any(line.startswith(f"{missing}: cannot read file") for line in lines)
    assert len(lines) == 5


@pytest.mark.parametrize(
    ("text", "message"), [("", "the file is empty"), ("- a\n- b\n", "must be a mapping")]
)
def test_validate_rejects_empty_and_non_mapping_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = _write(tmp_path, "odd.yaml", text)
    assert main(["policy", "validate", str(path)]) == 1
    assert message in capsys.readouterr().out


# -------------------------------------------------------------------------------------- explain


def _unfold(out: str) -> str:
    """explain folds its lines to 120 columns (continuations indented 4 more): join them back."""
    assert all(len(line) <= 120 for line in out.splitlines())
    return re.sub(r"\n {4,}", " ", out)


def test_explain_from_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "explain", "fraud-detector", "--file", str(EXAMPLE)]) == 0
    out = _unfold(capsys.readouterr().out)
    lines = out.splitlines()
    assert lines[0].startswith(
        "group 'fraud-detector' matches groups[1] 'fraud-*' -> tier high: human approval required"
    )
    assert "endpoint: fraud-prod" in out
    gate_lines = {line.split()[0]: line for line in lines if line.startswith("  ") and len(line.split()) > 1}
    assert "binary_classification_metrics.auc.value >= 0.9" in gate_lines["metrics"]
    assert "binary_classification_metrics.false_positive_rate.value <= 0.02" in gate_lines["metrics"]
    assert "|DPL| <= 0.1; 0.8 <= |DI| <= 1.25" in gate_lines["bias"]
    assert "on   hard" in gate_lines["explainability"]
    assert "2026-12-21T00:00:00Z -> 2027-01-04T00:00:00Z  year-end change freeze" in out
    assert "deployment: canary 5% for 300 s" in out


def test_explain_shows_soft_and_off_gates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "explain", "churn-propensity", "--file", str(EXAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    by_gate = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert "on   soft" in by_gate["bias"]
    assert by_gate["explainability"].split() == ["explainability", "off"]
    assert "not worse than the champion by more than 0.01" in by_gate["regression"]


def test_explain_defaults_to_the_example(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["policy", "explain", "sandbox-bob"]) == 0
    assert capsys.readouterr().out.startswith(
        "group 'sandbox-bob' matches groups[2] 'sandbox-*' -> tier low: approved automatically"
    )


def test_explain_no_match_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "explain", "pricing", "--file", str(EXAMPLE)]) == 1
    out = _unfold(capsys.readouterr().out)
    assert out == (
        f"group 'pricing' matches no rule of {EXAMPLE} (rules: 'churn-*', 'fraud-*', 'sandbox-*'): "
        "no policy covers it\n"
    )


def test_explain_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "explain", "churn-x", "--file", str(EXAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == str(EXAMPLE)
    assert data["rule"]["index"] == 0
    assert data["tier"]["name"] == "medium"
    assert main(["policy", "explain", "nobody", "--file", str(EXAMPLE), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["matched"] is False


def test_explain_invalid_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bad.yaml", {"tiers": {}, "groups": []})
    assert main(["policy", "explain", "x", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:8: tiers: Dictionary should have at least 1 item" in err


def test_file_and_parameter_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["policy", "explain", "x", "--file", str(EXAMPLE), "--parameter", "/p"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -------------------------------------------------------------------------------------- publish


def test_publish_then_explain_from_the_parameter(ssm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "publish", str(EXAMPLE), "--parameter", PARAMETER]) == 0
    assert capsys.readouterr().out == f"published {EXAMPLE} to {PARAMETER}: version 1\n"

    stored = ssm.get_parameter(Name=PARAMETER)["Parameter"]
    expected = parse_policy(example_document(), "x")
    assert stored["Type"] == "String"
    assert stored["Value"] == canonical_json(expected)
    assert PolicyStore(PARAMETER, ssm_client=ssm).get() == expected

    assert main(["policy", "explain", "fraud-detector", "--parameter", PARAMETER]) == 0
    assert capsys.readouterr().out.startswith(
        "group 'fraud-detector' matches groups[1] 'fraud-*' -> tier high"
    )

    assert main(["policy", "publish", str(EXAMPLE), "--parameter", PARAMETER]) == 0
    assert capsys.readouterr().out.endswith("version 2\n")


def test_publish_policy_function_returns_the_version(ssm: Any, tmp_path: Path) -> None:
    assert publish_policy(ssm, EXAMPLE, PARAMETER) == 1
    document = example_document()
    document["groups"].append({"match": "*", "tier": "low"})
    changed = _write(tmp_path, "changed.yaml", document)
    assert publish_policy(ssm, changed, PARAMETER) == 2
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [PARAMETER]}])
    assert described["Parameters"][0]["Description"].startswith("mlcp policy from changed.yaml (sha256 ")
    assert PolicyStore(PARAMETER, ssm_client=ssm).get().groups[-1].match == "*"


def test_publish_refuses_an_invalid_file(
    ssm: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = example_document()
    document["groups"][0]["tier"] = "nope"
    path = _write(tmp_path, "bad.yaml", document)
    assert main(["policy", "publish", str(path), "--parameter", PARAMETER]) == 1
    assert "groups[0] ('churn-*') names tier 'nope'" in capsys.readouterr().err
    assert ssm.describe_parameters()["Parameters"] == []


def test_publish_refuses_a_policy_too_large_for_a_parameter(ssm: Any, tmp_path: Path) -> None:
    document = example_document()
    document["tiers"]["low"]["description"] = "x" * 9000
    path = _write(tmp_path, "huge.yaml", document)
    with pytest.raises(PolicyError, match="bytes; an SSM parameter holds 8192"):
        publish_policy(ssm, path, PARAMETER)
    assert ssm.describe_parameters()["Parameters"] == []


def test_load_policy_file_matches_parse_policy() -> None:
    assert load_policy_file(EXAMPLE) == parse_policy(example_document(), str(EXAMPLE))


def test_explain_says_empty_allow_lists_allow_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "defaults.yaml", {"tiers": {"t": {}}, "groups": [{"match": "*", "tier": "t"}]})
    assert main(["policy", "explain", "anything", "--file", str(path)]) == 0
    out = _unfold(capsys.readouterr().out)
    assert "registries: none allowed; buckets: none allowed" in out
    assert "regression            off" in out
    assert "change freezes: none" in out
    assert "deployment: canary 10% for 300 s, then the rest" in out


def test_explain_says_a_shadow_test_comes_before_the_canary(capsys: pytest.CaptureFixture[str]) -> None:
    shadow_policy = ROOT / "scenarios" / "policies" / "shadow.yaml"
    assert main(["policy", "explain", "scoring-model", "--file", str(shadow_policy)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "deployment: shadow test 30 min on 20% of production's requests (2 metrics judged; fail rejects), "
        "then canary 10% for 600 s" in out
    )
