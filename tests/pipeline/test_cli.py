"""`mlcp pipeline upsert|show` against moto: create, then update the same pipeline; code upload checks."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcp_cli.commands.pipeline import DefinitionError, code_objects, load_definition, upload_code
from mlcp_cli.main import main

from .conftest import DEFINITION, PROJECT

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/pipelines"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def sagemaker() -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def test_upsert_creates_then_updates(aws: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["pipeline", "upsert", "--role-arn", ROLE, "--definition", str(DEFINITION)]) == 0
    created = capsys.readouterr().out.strip()
    assert created.startswith("created arn:aws:sagemaker:us-east-1:")
    arn = created.split()[1]
    assert arn.endswith(":pipeline/churn-training")
    described = sagemaker().describe_pipeline(PipelineName="churn-training")
    assert json.loads(described["PipelineDefinition"]) == json.loads(DEFINITION.read_text())
    assert described["RoleArn"] == ROLE

    changed = json.loads(DEFINITION.read_text())
    changed["Parameters"][0]["Description"] = "comma-separated pinned S3 objects"
    (tmp_path / "definition.json").write_text(json.dumps(changed))
    other_role = ROLE.replace("pipelines", "pipelines-v2")
    args = ["pipeline", "upsert", "--role-arn", other_role, "--definition", str(tmp_path / "definition.json")]
    assert main([*args, "--description", "v2"]) == 0
    assert capsys.readouterr().out == f"updated {arn}\n"

    described = sagemaker().describe_pipeline(PipelineName="churn-training")
    assert json.loads(described["PipelineDefinition"]) == changed
    assert described["RoleArn"] == other_role
    assert described["PipelineDescription"] == "v2"
    assert len(sagemaker().list_pipelines()["PipelineSummaries"]) == 1


def test_show(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "upsert", "--name", "churn", "--role-arn", ROLE]) == 0
    capsys.readouterr()
    execution = sagemaker().start_pipeline_execution(
        PipelineName="churn",
        PipelineParameters=[{"Name": "TrainingDataUris", "Value": "s3://d/k.csv?versionId=1"}],
    )["PipelineExecutionArn"]

    assert main(["pipeline", "show", "churn"]) == 0
    out = capsys.readouterr().out
    assert (
        "steps     Preprocess (Processing) -> Train (Training) -> Evaluate (Processing) -> Register (RegisterModel)"
        in out
    )
    assert "parameter TrainingDataUris = (required)\n" in out
    assert "parameter RiskTier = 'medium'\n" in out
    # the executions as a table with a header row, each by its id (--wide: the whole ARN too)
    (row,) = [line for line in out.splitlines() if line.startswith(execution.rsplit("/", 1)[-1])]
    assert row.split()[1] == "Succeeded"
    assert "execution     status     started" in out
    assert max(len(line) for line in out.splitlines()) <= 120
    assert main(["pipeline", "show", "churn", "--wide"]) == 0
    assert execution in capsys.readouterr().out

    assert main(["pipeline", "show", "churn", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["pipeline"]["PipelineName"] == "churn"
    assert [e["PipelineExecutionArn"] for e in body["executions"]] == [execution]


def test_show_unknown_pipeline(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "show", "nope"]) == 1
    assert capsys.readouterr().err == "no pipeline named nope\n"


def test_upsert_uploads_the_step_scripts(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts")
    args = [
        "pipeline",
        "upsert",
        "--role-arn",
        ROLE,
        "--code-dir",
        str(PROJECT),
        "--artifact-bucket",
        "artifacts",
    ]

    assert main(args) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("created ")
    for obj in code_objects(load_definition(DEFINITION)):
        assert f"uploaded s3://artifacts/{obj.key}" in lines
        body = s3.get_object(Bucket="artifacts", Key=obj.key)["Body"].read()
        assert body == (PROJECT / obj.filename).read_bytes()
        assert hashlib.sha256(body).hexdigest() == obj.sha256


def test_stale_or_missing_scripts_upload_nothing(aws: None, tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts")
    shutil.copy(PROJECT / "preprocess.py", tmp_path / "preprocess.py")
    (tmp_path / "preprocess.py").write_text((PROJECT / "preprocess.py").read_text() + "# edited\n")

    with pytest.raises(DefinitionError) as caught:
        upload_code(s3, load_definition(DEFINITION), tmp_path, "artifacts")

    assert "step Preprocess: " in str(caught.value)
    assert "differs from the definition's (run `make pipeline`)" in str(caught.value)
    assert "step Evaluate: " in str(caught.value)
    assert "evaluate.py not found" in str(caught.value)
    assert s3.list_objects_v2(Bucket="artifacts").get("KeyCount") == 0


def test_default_bucket_is_the_parameter_default(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="mlcp-pipeline-artifacts")
    assert main(["pipeline", "upsert", "--role-arn", ROLE, "--code-dir", str(PROJECT)]) == 0
    assert s3.list_objects_v2(Bucket="mlcp-pipeline-artifacts")["KeyCount"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not valid JSON: line 1"), ("[]", "not a pipeline definition"), ('{"Steps": []}', "no Steps")],
)
def test_bad_definition_is_refused_before_any_call(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "definition.json"
    path.write_text(text)
    assert main(["pipeline", "upsert", "--role-arn", ROLE, "--definition", str(path)]) == 1
    assert message in capsys.readouterr().err
    assert sagemaker().list_pipelines()["PipelineSummaries"] == []


def test_missing_definition_file(aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "upsert", "--role-arn", ROLE, "--definition", str(tmp_path / "x.json")]) == 1
    assert "cannot read file" in capsys.readouterr().err


def test_upsert_and_show_go_where_the_target_options_say(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # --region (like --config-env / --stack-name / --profile) picks the account and region of the calls
    assert main(["pipeline", "upsert", "--region", "eu-west-1", "--role-arn", ROLE]) == 0
    assert ":eu-west-1:" in capsys.readouterr().out
    in_ireland = boto3.client("sagemaker", region_name="eu-west-1").list_pipelines()["PipelineSummaries"]
    assert [p["PipelineName"] for p in in_ireland] == ["churn-training"]
    assert sagemaker().list_pipelines()["PipelineSummaries"] == []
    assert main(["pipeline", "show", "churn-training", "--region", "eu-west-1"]) == 0
    assert main(["pipeline", "show", "churn-training"]) == 1  # not in the default region
