"""The scenario format is strict: an unknown key or a check that cannot fail is refused when the file
is loaded, and the error names the file, the step and the key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.scenario import STEP_KINDS, ScenarioError, StepKind, load_scenario, parse_scenario, step_kind
from mlcp_cli.scenario.runner import ScenarioRunner, error_names

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "policy.yaml")


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_parses(path: Path) -> None:
    assert load_scenario(path).steps


def test_an_unknown_expectation_key_is_refused_with_file_step_and_key(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        "name: x\nsteps:\n  - wait: {seconds: 1}\n  - title: Version 2 is rejected\n"
        "    expect: {model_package: {group: g, version: 2, stauts: Rejected}}\n",
    )
    assert message.startswith('step 2 ("Version 2 is rejected"): expect.model_package: ')
    assert "unknown key 'stauts' (did you mean 'status'?)" in message


def test_an_unknown_expectation_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, "name: x\nsteps:\n  - expect: {incident: {resource: r, open: 1}}\n")
    assert message.startswith("step 1 (expect): expect: unknown key 'incident' (did you mean 'incidents'?)")


@pytest.mark.parametrize(
    ("step", "wanted"),
    [
        ("put_objcet: {bucket: b, key: k}", "step 1: unknown key 'put_objcet' (did you mean 'put_object'?)"),
        ("put_object: {bucket: b, key: k, bdy: x}", "put_object: unknown key 'bdy' (did you mean 'body'?)"),
        ("wait: {seconds: 1}\n    titel: t", "unknown key 'titel' (did you mean 'title'?)"),
        ("wait: {}", "wait.seconds: Field required"),
        ("set_alarm_state: {name: a, state: ALARMED}", "set_alarm_state.state: Input should be 'OK'"),
        (
            "rollback: {endpoint: e, to: 1}\n    expect_failure: {eror: X}",
            "unknown key 'eror' (did you mean 'error'?)",
        ),
        ("put_event: {}", "give the event as file or as event"),
        ("approve_model_package: {group: g}", "name the model package"),
        ("expect: {}", "expect nothing?"),
        ("expect: {audit: {stream: s}}", "expect.audit: give actions, includes, excludes or count"),
        ("expect: {incidents: {resource: r}}", "give open, resolved, severity or occurrences"),
        (
            "expect: {model_package: {group: g, version: 1}}",
            "give status, reason, created_by or last_modified_by",
        ),
        (
            "expect: {model_package: {group: g, version: 1, status: Aproved}}",
            "Input should be 'Approved', 'Rejected' or 'PendingManualApproval'",
        ),
        ("expect: {executions: {}}", "expect.executions.statuses: Field required"),
        (
            "expect: {calls: {absent: [sagemaker.CreateModle]}}",
            "sagemaker has no operation CreateModle (did you mean 'CreateModel'?)",
        ),
        (
            "expect: {calls: {absent: [sagemkr.CreateModel]}}",
            "expected service.Operation with a boto3 service name (did you mean 'sagemaker'?)",
        ),
        ("expect: {calls: {}}", "give absent or count"),
        ("expect: {pipeline: {name: p}}", "give executions or statuses"),
        ("expect: {rejected_events: {}}", "give count or reasons"),
        ("expect: {approval: {group: g, version: 1, status: approved}}", "Input should be 'pending'"),
    ],
)
def test_malformed_steps_are_refused(tmp_path: Path, step: str, wanted: str) -> None:
    assert wanted in refused(tmp_path, f"name: x\nsteps:\n  - {step}\n")


def test_an_unknown_scenario_key_is_refused(tmp_path: Path) -> None:
    assert refused(
        tmp_path, "name: x\nstrat: 2026-01-05T09:00:00Z\nsteps:\n  - wait: {seconds: 1}\n"
    ).startswith("unknown key 'strat' (did you mean 'start'?)")


def test_two_kinds_in_one_step_are_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, "name: x\nsteps:\n  - wait: {seconds: 1}\n    tick: {rule: R}\n")
    assert "a step takes exactly one of" in message
    assert "got ['wait', 'tick']" in message


@pytest.fixture
def registered() -> Iterator[type[StepKind]]:
    @step_kind("sound_the_horn")
    class SoundTheHorn(StepKind):
        """A step kind defined in one place: its arguments and what it does."""

        times: int = 1

        def run(self, runner: ScenarioRunner) -> str:
            return "horn" * self.times

    try:
        yield SoundTheHorn
    finally:
        del STEP_KINDS["sound_the_horn"]


def test_a_step_kind_is_one_class(registered: type[StepKind]) -> None:
    scenario = parse_scenario({"name": "x", "steps": [{"sound_the_horn": {"times": 2}}]}, "inline")
    assert isinstance(scenario.steps[0].args, registered)
    assert scenario.steps[0].args.run(None) == "hornhorn"  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="unknown key 'time'"):
        parse_scenario({"name": "x", "steps": [{"sound_the_horn": {"time": 2}}]}, "inline")
    with pytest.raises(ValueError, match="registered twice"):
        step_kind("sound_the_horn")(registered)


def test_error_names_cover_class_bases_and_aws_codes() -> None:
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "UpdateEndpoint")
    assert {"ClientError", "ValidationException"} <= set(error_names(error))
    assert "ValueError" in error_names(ScenarioError("x"))


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({}, "give policy (an IAM policy document) or stack_policy (an output), one of them"),
        (
            {"stack_policy": "OperatorPolicyArn", "policy": {"Statement": [{}]}},
            "give policy (an IAM policy document) or stack_policy (an output), one of them",
        ),
        ({"stack_policy": "DeploymentStateMachineArn"}, "should match pattern"),
    ],
)
def test_a_principal_has_exactly_one_policy_source(given: dict[str, Any], error: str) -> None:
    raw = {"name": "x", "principals": {"on-call": given}, "steps": [{"wait": {"seconds": 1}}]}
    with pytest.raises(ScenarioError, match=re.escape(error) if "pattern" not in error else error):
        parse_scenario(raw, "test")
