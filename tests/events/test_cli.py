"""`mlcp events validate / route / schemas`, exit codes included, and the template loader."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.template import load_template, loads_template, parameter_values, resolve

from .conftest import (
    EVENTS,
    FIXTURE_TEMPLATE,
    NEGATIVE,
    REAL_TEMPLATE,
    SCHEMAS,
    expected_routes,
    load,
    negative_expectations,
    positive_samples,
)


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ------------------------------------------------------------------------------------ validate


def test_validate_accepts_every_sample(run_cli: Any) -> None:
    files = [str(p) for p in positive_samples()]
    code, out = run_cli("events", "validate", "--json", *files)
    records = _lines(out)
    assert code == 0
    assert [r["file"] for r in records] == files
    assert all(r["accepted"] for r in records)
    assert records[0]["detail_type"] == load(Path(files[0]))["detail-type"]


def test_validate_rejects_every_negative_with_its_reason(run_cli: Any) -> None:
    expected = negative_expectations()
    code, out = run_cli("events", "validate", "--json", *(str(NEGATIVE / name) for name in sorted(expected)))
    assert code == 0  # every negative sample is rejected, with the reason its expected.json names
    for record in _lines(out):
        assert record["accepted"] is False
        assert record["ok"] is True
        assert record["expected_reason"] == expected[Path(record["file"]).name]
        assert expected[Path(record["file"]).name] in record["reason"]


def test_the_operate_guides_first_events_example_holds_on_the_repositorys_own_files(run_cli: Any) -> None:
    files = sorted(str(path) for path in EVENTS.glob("*/*.json"))  # `mlcp events validate events/*/*.json`
    code, out = run_cli("events", "validate", *files)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(files)
    assert any(line.startswith("SKIPPED  ") and ".schema.json" in line for line in lines)
    assert any(line.startswith("SKIPPED  ") and "negative/expected.json" in line for line in lines)
    assert sum("(a negative sample, as expected)" in line for line in lines) == len(negative_expectations())


def test_a_negative_sample_that_is_accepted_or_rejected_for_another_reason_fails(
    run_cli: Any, tmp_path: Path
) -> None:
    good = load(EVENTS / "alarm-state-change" / "ok-to-alarm.json")
    (tmp_path / "looks-bad.json").write_text(json.dumps(good), encoding="utf-8")
    (tmp_path / "bad.json").write_text(json.dumps({**good, "detail": "x"}), encoding="utf-8")
    (tmp_path / "expected.json").write_text(
        json.dumps({"looks-bad.json": "detail", "bad.json": "a reason it does not give"}), encoding="utf-8"
    )
    code, out = run_cli("events", "validate", str(tmp_path / "looks-bad.json"), str(tmp_path / "bad.json"))
    assert code == 1
    first, second = out.splitlines()
    assert first.startswith(
        f"WRONG    {tmp_path / 'looks-bad.json'}: a negative sample expected to be rejected"
    )
    assert first.endswith("accepted as CloudWatch Alarm State Change")
    assert second.startswith(f"WRONG    {tmp_path / 'bad.json'}")
    assert "rejected: detail" in second


def test_validate_exit_code_is_1_if_any_file_is_rejected(run_cli: Any, tmp_path: Path) -> None:
    good = EVENTS / "alarm-state-change" / "ok-to-alarm.json"
    missing = tmp_path / "nope.json"
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    code, out = run_cli("events", "validate", "--json", str(good), str(missing), str(binary))
    records = _lines(out)
    assert code == 1
    assert records[0] == {
        "file": str(good), "accepted": True, "detail_type": "CloudWatch Alarm State Change", "ok": True
    }  # fmt: skip
    assert records[1]["accepted"] is False
    assert records[1]["reason"].startswith("cannot read file")
    assert records[2] == {
        "file": str(binary),
        "accepted": False,
        "reason": "file is not UTF-8 text",
        "ok": False,
    }


def test_validate_prints_a_line_per_file_for_people(run_cli: Any, tmp_path: Path) -> None:
    good = EVENTS / "alarm-state-change" / "ok-to-alarm.json"
    missing = tmp_path / "nope.json"
    code, out = run_cli("events", "validate", str(good), str(missing))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"ACCEPTED {good}: CloudWatch Alarm State Change"
    assert lines[1].startswith(f"REJECTED {missing}: cannot read file")


# --------------------------------------------------------------------------------------- route


def _route(run_cli: Any, template: Path, files: list[str], *extra: str) -> tuple[int, dict[str, list[str]]]:
    code, out = run_cli("events", "route", "--json", "--template", str(template), *extra, *files)
    return code, {r["file"]: [hit["rule"] for hit in r["rules"]] for r in _lines(out)}


def _parseable_samples() -> list[str]:
    return [
        rel
        for rel in expected_routes()
        if rel not in {"negative/not-an-object.json", "negative/truncated-json.json"}
    ]


def test_route_matches_expected_routes_on_fixture_template(run_cli: Any) -> None:
    rels = _parseable_samples()
    code, routes = _route(run_cli, FIXTURE_TEMPLATE, [str(EVENTS / rel) for rel in rels])
    assert code == 0
    assert {str(Path(f).relative_to(EVENTS)): r for f, r in routes.items()} == {
        rel: expected_routes()[rel] for rel in rels
    }


def test_route_reports_targets(run_cli: Any) -> None:
    approved = str(EVENTS / "model-package-state-change" / "approved.json")
    alarm = str(EVENTS / "alarm-state-change" / "ok-to-alarm.json")
    code, out = run_cli("events", "route", "--json", "--template", str(FIXTURE_TEMPLATE), approved, alarm)
    assert code == 0
    assert _lines(out) == [
        {
            "file": approved,
            "rules": [{"rule": "ModelPackageApprovedRule", "targets": ["DeploymentStateMachine"]}],
        },
        {"file": alarm, "rules": [{"rule": "EndpointAlarmRule", "targets": ["EventIntakeFunction"]}]},
    ]


def test_route_params_override_defaults(run_cli: Any) -> None:
    sample = str(EVENTS / "s3-object-created" / "training-data-put.json")
    _, default = _route(run_cli, FIXTURE_TEMPLATE, [sample])
    assert default[sample] == ["TrainingDataArrivedRule"]
    _, other_bucket = _route(
        run_cli, FIXTURE_TEMPLATE, [sample], "--param", "TrainingDataBucketName=elsewhere"
    )
    assert other_bucket[sample] == []
    _, other_prefix = _route(
        run_cli, FIXTURE_TEMPLATE, [sample], "--param", "TrainingDataPrefix=training-data/churn/"
    )
    assert other_prefix[sample] == ["TrainingDataArrivedRule"]
    alarm = str(EVENTS / "alarm-state-change" / "ok-to-alarm.json")
    _, disabled = _route(run_cli, FIXTURE_TEMPLATE, [alarm], "--param", "EnableAlarms=no")  # State: !If
    assert disabled[alarm] == []


def test_route_text_output(run_cli: Any) -> None:
    approved = str(EVENTS / "model-package-state-change" / "approved.json")
    outside = str(EVENTS / "s3-object-created" / "outside-prefix.json")
    code, out = run_cli("events", "route", "--template", str(FIXTURE_TEMPLATE), approved, outside)
    assert code == 0
    assert (
        out
        == f"{approved}\n  ModelPackageApprovedRule -> DeploymentStateMachine\n{outside}\n  no rule matches\n"
    )


def test_route_unreadable_event_and_bad_template(run_cli: Any, tmp_path: Path) -> None:
    code, out = run_cli(
        "events",
        "route",
        "--json",
        "--template",
        str(FIXTURE_TEMPLATE),
        str(NEGATIVE / "truncated-json.json"),
    )
    assert code == 1
    assert _lines(out)[0]["rules"] == []
    assert "not valid JSON" in _lines(out)[0]["error"]
    code, _ = run_cli(
        "events", "route", "--template", str(tmp_path / "missing.yaml"), str(NEGATIVE / "empty-detail.json")
    )
    assert code == 2
    code, _ = run_cli(
        "events",
        "route",
        "--template",
        str(FIXTURE_TEMPLATE),
        "--param",
        "oops",
        str(NEGATIVE / "empty-detail.json"),
    )
    assert code == 2


@pytest.mark.skipif(not REAL_TEMPLATE.is_file(), reason="template.yaml not written yet")
def test_every_sample_routes_as_expected_on_the_real_template(run_cli: Any) -> None:
    rels = _parseable_samples()
    code, routes = _route(run_cli, REAL_TEMPLATE, [str(EVENTS / rel) for rel in rels])
    assert code == 0
    assert {str(Path(f).relative_to(EVENTS)): r for f, r in routes.items()} == {
        rel: expected_routes()[rel] for rel in rels
    }


@pytest.mark.skipif(not REAL_TEMPLATE.is_file(), reason="template.yaml not written yet")
@pytest.mark.parametrize("rel", [str(p.relative_to(EVENTS)) for p in positive_samples()])
def test_forged_variants_match_no_rule_on_the_real_template(run_cli: Any, tmp_path: Path, rel: str) -> None:
    genuine = load(EVENTS / rel)
    forged_files = []
    for field, value in (
        ("source", "custom." + genuine["source"].split(".", 1)[1]),
        ("source", "mlcp.forged"),
        ("detail-type", genuine["detail-type"] + " "),
        ("detail-type", "Forged " + genuine["detail-type"]),
    ):
        forged = copy.deepcopy(genuine)
        forged[field] = value
        path = tmp_path / f"{len(forged_files)}.json"
        path.write_text(json.dumps(forged))
        forged_files.append(str(path))
    code, routes = _route(run_cli, REAL_TEMPLATE, forged_files)
    assert code == 0
    assert routes == {f: [] for f in forged_files}


# ------------------------------------------------------------------------------------- schemas


def test_committed_schemas_match_the_models(run_cli: Any) -> None:
    code, out = run_cli("events", "schemas", "--check", "--dir", str(SCHEMAS))
    assert code == 0, out


def test_schemas_write_then_check_and_drift_detection(run_cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "schemas"
    code, _ = run_cli("events", "schemas", "--write", "--dir", str(target))
    assert code == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    schema = json.loads((target / "model-package-state-change.schema.json").read_text())
    assert "ModelPackageArn" in schema["$defs"]["ModelPackageDetail"]["properties"]  # by alias
    assert "detail-type" in schema["properties"]
    assert run_cli("events", "schemas", "--check", "--dir", str(target))[0] == 0
    edited = target / "alarm-state-change.schema.json"
    edited.write_text(edited.read_text().replace("alarmName", "alarm_name"))
    (target / "stale.schema.json").write_text("{}")
    (target / "s3-object-created.schema.json").unlink()
    code, out = run_cli("events", "schemas", "--check", "--dir", str(target))
    assert code == 1
    assert "alarm-state-change.schema.json: differs" in out
    assert "s3-object-created.schema.json: missing" in out
    assert "stale.schema.json: no model has this schema" in out
    assert run_cli("events", "schemas", "--write", "--dir", str(target))[0] == 0
    assert not (target / "stale.schema.json").exists()
    assert run_cli("events", "schemas", "--check", "--dir", str(target))[0] == 0


def test_schemas_validate_the_samples() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for path in positive_samples():
        schema = json.loads((SCHEMAS / f"{path.parent.name}.schema.json").read_text())
        jsonschema.validate(load(path), schema)


# ----------------------------------------------------------------------------- template loader


def test_short_tags_become_long_form() -> None:
    template = loads_template(
        """
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  X:
    Properties:
      A: !Ref Param
      B: !GetAtt Fn.Arn
      C: !Sub "arn:${AWS::Partition}:s3:::${Bucket}"
      D: !If [IsProd, 1, 2]
      E: !Join ["-", [a, !Ref Param]]
      F: !Select [0, !GetAZs ""]
      G: !GetAtt [Fn, Arn]
      H: !Condition IsProd
"""
    )
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    props = template["Resources"]["X"]["Properties"]
    assert props["A"] == {"Ref": "Param"}
    assert props["B"] == props["G"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert props["C"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}"}
    assert props["D"] == {"Fn::If": ["IsProd", 1, 2]}
    assert props["E"] == {"Fn::Join": ["-", ["a", {"Ref": "Param"}]]}
    assert props["F"] == {"Fn::Select": [0, {"Fn::GetAZs": ""}]}
    assert props["H"] == {"Condition": "IsProd"}
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
    values = {**parameter_values(template), "Param": "p", "Bucket": "b", "Env": "prod"}
    resolved = resolve(props, values, template)
    assert resolved["A"] == "p"
    assert resolved["C"] == "arn:aws:s3:::b"
    assert resolved["D"] == 1
    assert resolved["H"] is True
    assert resolved["E"] == "a-p"
    assert resolved["B"] == {"Fn::GetAtt": ["Fn", "Arn"]}  # resources stay symbolic


def test_load_template_reads_files() -> None:
    template = load_template(FIXTURE_TEMPLATE)
    assert template["Resources"]["TrainingDataArrivedRule"]["Type"] == "AWS::Events::Rule"
    assert parameter_values(template, {"TrainingDataPrefix": "x/"})["TrainingDataPrefix"] == "x/"
    assert parameter_values(template)["TrainingDataBucketName"] == "mlcp-training-data"
