"""The committed definition.json: the steps, parameters and registration the pipeline contract requires.

These run in the main venv (no sagemaker SDK): the definition is plain JSON. One test rebuilds it with the
SDK when .venv-pipeline exists, to prove the committed file is what `make pipeline` writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp.policy.model import RESERVED_PIPELINE_PARAMETERS

from .conftest import DEFINITION, PROJECT, ROOT

GOVERNANCE_KEYS = {
    "owner",
    "risk_tier",
    "cost_center",
    "artifact_sha256",
    "training_data",
    "trigger_reason",
    "trigger_event_id",
}


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFINITION.read_text())
    return document


def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in definition["Steps"]}


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_file_is_stable_json() -> None:
    text = DEFINITION.read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text), "no timestamps in the definition"


def test_steps_in_order(definition: dict[str, Any]) -> None:
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("Register", "RegisterModel"),
    ]


def test_parameters(definition: dict[str, Any]) -> None:
    declared = {p["Name"]: p for p in definition["Parameters"]}
    for name in (*RESERVED_PIPELINE_PARAMETERS, "ModelPackageGroupName", "Owner", "RiskTier", "CostCenter"):
        assert declared[name]["Type"] == "String"
    assert "ProcessingInstanceType" in declared
    assert "TrainingInstanceType" in declared
    # The data must come from the caller: no default to train on by accident.
    assert "DefaultValue" not in declared["TrainingDataUris"]
    assert "DefaultValue" not in declared["ExecutionRoleArn"]


def test_every_reference_resolves(definition: dict[str, Any]) -> None:
    declared = {p["Name"] for p in definition["Parameters"]}
    names = [s["Name"] for s in definition["Steps"]]
    property_files = {
        (s["Name"], f["PropertyFileName"]) for s in definition["Steps"] for f in s.get("PropertyFiles", [])
    }
    gets = [n["Get"] for n in walk(definition) if isinstance(n, dict) and "Get" in n]
    assert gets
    for get in gets:
        if get.startswith("Parameters."):
            assert get.removeprefix("Parameters.") in declared, get
        elif get.startswith("Steps."):
            _, step, rest = get.split(".", 2)
            assert step in names, get
            if rest.startswith("PropertyFiles."):
                assert (step, rest.removeprefix("PropertyFiles.")) in property_files, get
        else:
            assert get in {
                "Execution.PipelineExecutionId",
                "Execution.PipelineExecutionArn",
                "Execution.PipelineName",
            }, get


def test_jobs_run_as_the_role_parameter(definition: dict[str, Any]) -> None:
    text = json.dumps(definition)
    assert "placeholder" not in text
    assert "000000000000" not in text
    for name in ("Preprocess", "Train", "Evaluate"):
        assert steps(definition)[name]["Arguments"]["RoleArn"] == {"Get": "Parameters.ExecutionRoleArn"}


def test_training_is_builtin_xgboost_binary_logistic(definition: dict[str, Any]) -> None:
    train = steps(definition)["Train"]["Arguments"]
    assert train["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-xgboost:1.7-1")
    assert train["HyperParameters"]["objective"] == "binary:logistic"
    channels = {c["ChannelName"]: c for c in train["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    assert channels["train"]["ContentType"] == "text/csv"
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }


def test_preprocess_reads_the_training_data_parameter(definition: dict[str, Any]) -> None:
    app = steps(definition)["Preprocess"]["Arguments"]["AppSpecification"]
    arguments = app["ContainerArguments"]
    assert arguments[arguments.index("--training-data-uris") + 1] == {"Get": "Parameters.TrainingDataUris"}
    outputs = {
        o["OutputName"]
        for o in steps(definition)["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    }
    assert outputs == {"train", "validation", "test", "manifest"}


def test_evaluate_scores_the_trained_artifact(definition: dict[str, Any]) -> None:
    evaluate = steps(definition)["Evaluate"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluate["Arguments"]["ProcessingInputs"]}
    assert inputs["model"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["test"] == {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}
    files = {f["PropertyFileName"]: (f["OutputName"], f["FilePath"]) for f in evaluate["PropertyFiles"]}
    assert files == {
        "EvaluationReport": ("evaluation", "evaluation.json"),
        "Artifact": ("evaluation", "artifact.json"),
    }


def test_register_carries_the_governance_contract(definition: dict[str, Any]) -> None:
    register = steps(definition)["Register"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == {"Get": "Parameters.ModelPackageGroupName"}
    assert register["MetadataProperties"] == {"GeneratedBy": {"Get": "Execution.PipelineExecutionArn"}}

    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"] == {
        "Std:Join": {
            "On": "/",
            "Values": [
                {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
                "evaluation.json",
            ],
        }
    }

    metadata = register["CustomerMetadataProperties"]
    assert set(metadata) == GOVERNANCE_KEYS
    assert metadata["owner"] == {"Get": "Parameters.Owner"}
    assert metadata["risk_tier"] == {"Get": "Parameters.RiskTier"}
    assert metadata["cost_center"] == {"Get": "Parameters.CostCenter"}
    assert metadata["trigger_reason"] == {"Get": "Parameters.TriggerReason"}
    assert metadata["trigger_event_id"] == {"Get": "Parameters.TriggerEventId"}
    assert metadata["artifact_sha256"] == {
        "Std:JsonGet": {
            "Path": "artifact_sha256",
            "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Artifact"},
        }
    }
    assert metadata["training_data"] == {
        "Std:JsonGet": {
            "Path": "training_data",
            "PropertyFile": {"Get": "Steps.Preprocess.PropertyFiles.Manifest"},
        }
    }

    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert "" not in container.get("Environment", {}).values()


def test_code_keys_match_the_committed_scripts(definition: dict[str, Any]) -> None:
    """A script edited without `make pipeline` leaves the definition pointing at the old code."""
    from mlcp_cli.commands.pipeline import code_objects

    objects = {o.step: o for o in code_objects(definition)}
    assert set(objects) == {"Preprocess", "Evaluate"}
    for step, script in (("Preprocess", "preprocess.py"), ("Evaluate", "evaluate.py")):
        assert objects[step].filename == script
        assert objects[step].sha256 == hashlib.sha256((PROJECT / script).read_bytes()).hexdigest(), (
            f"{script} changed: run make pipeline"
        )


def test_make_pipeline_writes_the_committed_file(pipeline_python: Path, tmp_path: Path) -> None:
    out = tmp_path / "definition.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    subprocess.run(
        [str(pipeline_python), str(PROJECT / "pipeline.py"), "--out", str(out)],
        check=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert out.read_text() == DEFINITION.read_text()
