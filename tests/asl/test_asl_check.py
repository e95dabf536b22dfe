"""`mlcp asl check`: every rule, positive (valid fixture, real template) and negative (one fixture each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.asl_check import (
    Problem,
    check_asl_text,
    check_definition,
    check_template,
    classify_error_name,
    mlcp_error_names,
    placeholders,
)
from mlcp_cli.main import main
from mlcp_cli.template import load_template

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "asl"
VALID = FIXTURES / "valid" / "template.yaml"
NEGATIVE = FIXTURES / "negative" / "template.yaml"
REAL_TEMPLATE = REPO / "template.yaml"

# state machine -> (file the problem is reported in, state path, reason)
NEGATIVES: dict[str, tuple[str, str, str]] = {
    "InvalidJsonStateMachine": ("invalid_json.asl.json", "line 4 column 42", "invalid JSON"),
    "StartAtMissingStateMachine": (
        "start_at_missing.asl.json",
        "(root)",
        "StartAt 'Begin' is not a state in this scope",
    ),
    "NextMissingStateMachine": ("next_missing.asl.json", "First", "Next 'Second' is not a state"),
    "DefaultMissingStateMachine": ("default_missing.asl.json", "Route", "Default 'Fallback' is not a state"),
    "ChoiceNextMissingStateMachine": (
        "choice_next_missing.asl.json",
        "Route/Choices[1]",
        "Next 'Retry' is not a state",
    ),
    "CatchNextMissingStateMachine": (
        "catch_next_missing.asl.json",
        "Work/Catch[0]",
        "Next 'Reject' is not a state",
    ),
    # "Done" exists, but in the outer scope: a branch cannot jump out of its Parallel.
    "ParallelNextOutsideScopeStateMachine": (
        "parallel_next_outside_scope.asl.json",
        "Both/Branches[1]/Right",
        "Next 'Done' is not a state in this scope",
    ),
    "MapStartAtMissingStateMachine": (
        "map_start_at_missing.asl.json",
        "Each/ItemProcessor",
        "StartAt 'Handle' is not a state in this scope",
    ),
    "UnreachableStateMachine": ("unreachable.asl.json", "Orphan", "unreachable from StartAt 'First'"),
    "UnreachableInIteratorStateMachine": (
        "unreachable_in_iterator.asl.json",
        "Each/Iterator/Stray",
        "unreachable from StartAt 'Handle'",
    ),
    "TaskNoWayOutStateMachine": ("task_no_way_out.asl.json", "Work", "no way out: neither Next nor End"),
    "ChoiceNoChoicesStateMachine": (
        "choice_no_choices.asl.json",
        "Route",
        "no way out: Choices is missing or empty",
    ),
    "TerminalWithEndStateMachine": (
        "terminal_with_end.asl.json",
        "Done",
        "terminal and takes neither Next nor End",
    ),
    "PlaceholderUnsuppliedStateMachine": (
        "placeholder_unsupplied.asl.json",
        "line 7",
        "placeholder ${WorkerAlias} is not supplied",
    ),
    "SubstitutionUnusedStateMachine": (
        "template.yaml",
        "Resources/SubstitutionUnusedStateMachine/DefinitionSubstitutions/ModelBucketName",
        "substitution 'ModelBucketName' is not used",
    ),
    "UnknownMlcpErrorStateMachine": (
        "unknown_mlcp_error.asl.json",
        "Work/Retry[0]",
        "'ModelPackageMissing' is not an exception class of mlcp.errors",
    ),
    "UnknownStatesErrorStateMachine": (
        "unknown_states_error.asl.json",
        "Work/Retry[0]",
        "'States.Timout' is not a Step Functions error name",
    ),
    "StatesAllNotLastStateMachine": (
        "states_all_not_last.asl.json",
        "Work/Catch[0]",
        "States.ALL must be in the last entry of Catch",
    ),
    "StatesAllNotAloneStateMachine": (
        "states_all_not_alone.asl.json",
        "Work/Retry[0]",
        "States.ALL must appear alone",
    ),
}


@pytest.fixture(scope="module")
def negative_problems() -> list[Problem]:
    return check_template(NEGATIVE)


def test_valid_fixture_passes_every_rule() -> None:
    assert check_template(VALID) == []


def test_negative_fixtures_and_table_agree() -> None:
    resources = load_template(NEGATIVE)["Resources"]
    machines = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::StateMachine"}
    assert machines == set(NEGATIVES)


@pytest.mark.parametrize("machine", sorted(NEGATIVES))
def test_negative_fails_for_the_stated_reason(machine: str, negative_problems: list[Problem]) -> None:
    file, path, reason = NEGATIVES[machine]
    problems = [p for p in negative_problems if p.state_machine == machine]
    assert len(problems) == 1, problems
    (problem,) = problems
    assert Path(problem.file).name == file
    assert problem.path == path
    assert reason in problem.message


def test_mlcp_error_names_are_read_from_the_runtime_package() -> None:
    import mlcp.errors

    names = mlcp_error_names()
    assert {"ControlPlaneError", "InvalidEvent", "ModelPackageNotFound", "AuditConflict"} <= names
    classes = {n: v for n, v in vars(mlcp.errors).items() if isinstance(v, type)}
    assert names == {n for n, v in classes.items() if issubclass(v, BaseException)}


def test_error_name_check_follows_the_exception_classes() -> None:
    text = (FIXTURES / "negative" / "unknown_mlcp_error.asl.json").read_text()
    assert check_asl_text(text, "f.json", [], mlcp_error_names() | {"ModelPackageMissing"}) == []
    (problem,) = check_asl_text(text, "f.json", [], mlcp_error_names())
    assert "ModelPackageMissing" in problem.message


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("States.ALL", "states"),
        ("States.TaskFailed", "states"),
        ("Lambda.ServiceException", "aws"),
        ("Lambda.AWSLambdaException", "aws"),
        ("Lambda.SdkClientException", "aws"),
        ("Lambda.TooManyRequestsException", "aws"),
        ("SageMaker.ResourceNotFoundException", "aws"),
        ("DynamoDB.ConditionalCheckFailedException", "aws"),
        ("SQS.SdkClientException", "aws"),
        ("SNS.NotFoundException", "aws"),
        ("InvalidEvent", "mlcp"),
        # A Python Lambda's errorType is the bare class name: a dotted path is not an AWS error.
        ("mlcp.errors.InvalidEvent", "mlcp"),
    ],
)
def test_classify_error_name(name: str, kind: str) -> None:
    assert classify_error_name(name) == kind


def test_dotted_exception_path_is_reported() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["mlcp.errors.InvalidEvent"]}],
                "End": True,
            }
        },
    }
    (problem,) = check_definition(definition, "f.json", mlcp_error_names())
    assert problem.path == "T/Retry[0]"
    assert "not an exception class" in problem.message


def _task(**extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", **extra}


@pytest.mark.parametrize(
    ("states", "path", "reason"),
    [
        ({"A": _task(Next="B", End=True), "B": {"Type": "Succeed"}}, "A", "both Next and End"),
        (
            {"A": {"Type": "Choice", "Choices": [{"Next": "B"}], "Next": "B"}, "B": {"Type": "Succeed"}},
            "A",
            "takes neither Next nor End",
        ),
        (
            {"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True}]}},
            "A/Choices[0]",
            "choice rule has no Next",
        ),
        (
            {"A": {"Type": "Pass", "Retry": [{"ErrorEquals": ["States.ALL"]}], "End": True}},
            "A",
            "Retry is not allowed on a Pass state",
        ),
        (
            {"A": _task(Catch=[{"ErrorEquals": ["States.ALL"]}], End=True)},
            "A/Catch[0]",
            "catcher has no Next",
        ),
        (
            {"A": _task(Retry=[{"ErrorEquals": []}], End=True)},
            "A/Retry[0]",
            "ErrorEquals must be a non-empty",
        ),
        ({"A": _task(Catch={"ErrorEquals": ["States.ALL"]}, End=True)}, "A/Catch", "Catch must be a list"),
        ({"A": {"Type": "Parallel", "Branches": [], "End": True}}, "A", "Parallel state has no Branches"),
        ({"A": {"Type": "Map", "End": True}}, "A", "neither ItemProcessor nor Iterator"),
        ({"A": {"Type": "Tsk", "End": True}}, "A", "unknown state Type 'Tsk'"),
        ({"A": {"Type": "Pass", "Next": 3}}, "A", "Next must be a state name"),
        (
            {"A": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {}}], "End": True}},
            "A/Branches[0]",
            "States is missing or empty",
        ),
    ],
)
def test_structural_rules(states: dict[str, Any], path: str, reason: str) -> None:
    problems = check_definition({"StartAt": "A", "States": states}, "f.json", frozenset())
    assert [p.path for p in problems] == [path], problems
    assert reason in problems[0].message


def test_cycle_with_an_exit_is_reachable_and_clean() -> None:
    definition = {
        "StartAt": "Poll",
        "States": {
            "Poll": _task(Next="Ready?"),
            "Ready?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ready", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Pause",
            },
            "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Poll"},
            "Done": {"Type": "Succeed"},
        },
    }
    assert check_definition(definition, "f.json", frozenset()) == []


def test_catch_target_counts_for_reachability() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": _task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Oops"}], End=True),
            "Oops": {"Type": "Fail"},
        },
    }
    assert check_definition(definition, "f.json", frozenset()) == []
    del definition["States"]["A"]["Catch"]  # type: ignore[index]
    (problem,) = check_definition(definition, "f.json", frozenset())
    assert (problem.path, "unreachable" in problem.message) == ("Oops", True)


def test_placeholders_outside_strings_are_allowed() -> None:
    text = (
        '{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": ${Delay},'
        ' "Comment": "a \\"${Label}\\"", "End": true}}}'
    )
    assert placeholders(text) == {"Delay": 1, "Label": 1}
    assert check_asl_text(text, "f.json", ["Delay", "Label"], frozenset()) == []
    problems = check_asl_text(text, "f.json", ["Delay"], frozenset())
    assert [p.message for p in problems] == [
        "placeholder ${Label} is not supplied by DefinitionSubstitutions"
    ]


def test_loader_understands_short_tags() -> None:
    props = load_template(VALID)["Resources"]["PipelineStateMachine"]["Properties"]
    subs = props["DefinitionSubstitutions"]
    assert subs["WorkerFunctionArn"] == {"Fn::GetAtt": ["WorkerFunction", "Arn"]}
    assert subs["AuditTableName"] == {"Ref": "AuditTable"}
    assert subs["StageName"] == {"Fn::Sub": "mlcp-${Stage}"}
    assert props["Policies"][0]["LambdaInvokePolicy"]["FunctionName"] == {"Ref": "WorkerFunction"}


def test_missing_definition_file_and_missing_template(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n      DefinitionUri: statemachines/absent.asl.json\n"
    )
    (problem,) = check_template(template)
    assert (problem.path, problem.state_machine) == ("Resources/M/DefinitionUri", "M")
    assert "cannot read statemachines/absent.asl.json" in problem.message
    (problem,) = check_template(tmp_path / "nope.yaml")
    assert "cannot load template" in problem.message


def test_cli_exit_codes_and_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asl", "check", str(VALID)]) == 0
    assert "2 state machine(s) OK" in capsys.readouterr().out

    assert main(["asl", "check", str(NEGATIVE)]) == 1
    err = capsys.readouterr().err
    assert f"{len(NEGATIVES)} problem(s)" in err
    assert "unreachable.asl.json: Orphan: state is unreachable from StartAt 'First'" in err


def test_cli_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asl", "check", "--json", str(NEGATIVE)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {entry["state_machine"] for entry in report} == set(NEGATIVES)
    assert set(report[0]) == {"file", "path", "message", "state_machine"}


def test_real_template_passes() -> None:
    if not REAL_TEMPLATE.exists():
        pytest.skip("template.yaml not written yet")
    problems = check_template(REAL_TEMPLATE)
    assert problems == [], "\n".join(map(str, problems))
    resources = load_template(REAL_TEMPLATE).get("Resources", {})
    assert any(r.get("Type") == "AWS::Serverless::StateMachine" for r in resources.values())
