"""The reference retraining pipeline: preprocess -> train (built-in XGBoost) -> evaluate -> register.

Builds a SageMaker Pipeline with the sagemaker SDK (v3) and writes its definition JSON offline::

    .venv-pipeline/bin/python pipelines/churn_training/pipeline.py --out pipelines/churn_training/definition.json

(``make pipeline`` does exactly this). Nothing here reaches AWS: the definition is produced with a
``PipelineSession`` that is never asked to call a service, and the step scripts are referenced by
content-addressed S3 keys (``s3://<ArtifactBucket>/mlcp/code/<sha256>/<script>``) that
``mlcp pipeline upsert --code-dir pipelines/churn_training`` uploads, so the JSON is deterministic and
account-independent. See docs/pipeline-contract.md for what the registered package carries and why.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
XGBOOST_VERSION = "1.7-1"
SKLEARN_VERSION = "1.2-1"
CODE_PREFIX = "mlcp/code"
RUNS_PREFIX = "mlcp/runs"
SCRIPTS = ("preprocess.py", "evaluate.py")
#: Stands for the ExecutionRoleArn parameter while the SDK builds the steps (ModelTrainer accepts only a
#: string role); definition() replaces every occurrence with {"Get": "Parameters.ExecutionRoleArn"}.
#: Named to the SDK's session only; every S3 location of the definition is under ArtifactBucket.
OFFLINE_BUCKET = "mlcp-offline-unused"
ROLE_PLACEHOLDER = "arn:aws:iam::000000000000:role/mlcp-pipeline-role-placeholder"

#: Step names (the contract's tests and the control plane's failure events name them).
PREPROCESS, TRAIN, EVALUATE, REGISTER = "Preprocess", "Train", "Evaluate", "Register"

#: XGBoost hyperparameters of the reference model (binary churn classifier).
HYPERPARAMETERS = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": "200",
    "max_depth": "5",
    "eta": "0.2",
    "subsample": "0.8",
    "min_child_weight": "1",
    "early_stopping_rounds": "20",
}


def code_key(script: str, directory: Path = HERE) -> str:
    """``mlcp/code/<sha256 of the script>/<script>``: a changed script gets a new key."""
    digest = hashlib.sha256((directory / script).read_bytes()).hexdigest()
    return f"{CODE_PREFIX}/{digest}/{script}"


#: The pipeline's parameters: name -> default (None: required at start). The control plane always passes
#: the first three (mlcp.policy.RESERVED_PIPELINE_PARAMETERS); a retraining policy can set the others.
PARAMETERS: dict[str, str | None] = {
    "TrainingDataUris": None,
    "TriggerReason": "manual",
    "TriggerEventId": "none",
    "ModelPackageGroupName": "churn",
    "Owner": "churn-team",
    "RiskTier": "medium",
    "CostCenter": "cc-0000",
    "ArtifactBucket": "mlcp-pipeline-artifacts",
    "ExecutionRoleArn": None,
    "ProcessingInstanceType": "ml.m5.large",
    "TrainingInstanceType": "ml.m5.xlarge",
    "LabelColumn": "churn",
    "DropColumns": "customer_id",
}


def parameters() -> dict[str, Any]:
    """A ParameterString for each of PARAMETERS, in that order."""
    from sagemaker.core.workflow.parameters import ParameterString

    return {
        name: ParameterString(name=name)
        if default is None
        else ParameterString(name=name, default_value=default)
        for name, default in PARAMETERS.items()
    }


def build_pipeline(name: str = "churn-training", *, region: str = REGION) -> Any:
    """The Pipeline object (imports the sagemaker SDK, so only in .venv-pipeline)."""
    # The SDK makes boto3 clients at import time; they need a region (and are never called).
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    # ...and would validate the role through IAM (a placeholder here, and no network).
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"
    # ...and would send telemetry: opted out in the SDK defaults file beside this one.
    os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(HERE / "sagemaker-config.yaml")
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig

    session = PipelineSession(boto_session=boto3.Session(region_name=region), default_bucket=OFFLINE_BUCKET)
    # default_bucket() would still check (and create) the bucket through S3 when ModelBuilder.register
    # asks for it; nothing is uploaded there (no entry point), so mark the name as already resolved.
    session._default_bucket = OFFLINE_BUCKET

    p = parameters()
    bucket = p["ArtifactBucket"]
    role = ROLE_PLACEHOLDER  # the SDK's ModelTrainer takes a plain string: bound in definition()

    def s3(*parts: Any) -> Any:
        return Join(on="/", values=["s3:/", bucket, *parts])

    def run_location(step: str) -> Any:
        return s3(RUNS_PREFIX, ExecutionVariables.PIPELINE_EXECUTION_ID, step)

    def code_input(script: str) -> Any:
        return ProcessingInput(
            input_name="code",
            s3_input=ProcessingS3Input(
                s3_uri=s3(code_key(script)),
                local_path="/opt/ml/processing/input/code",
                s3_data_type="S3Prefix",
                s3_input_mode="File",
            ),
        )

    def output(name: str, step: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=run_location(f"{step}/{name}"),
                local_path=f"/opt/ml/processing/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    sklearn_image = image_uris.retrieve(framework="sklearn", region=region, version=SKLEARN_VERSION)
    xgboost_image = image_uris.retrieve(framework="xgboost", region=region, version=XGBOOST_VERSION)

    # 1. Preprocess: read the pinned object versions, split, record what was read.
    manifest = PropertyFile(name="Manifest", output_name="manifest", path="manifest.json")
    preprocessor = Processor(
        role=role,
        image_uri=sklearn_image,
        entrypoint=["python3", "/opt/ml/processing/input/code/preprocess.py"],
        instance_count=1,
        instance_type=p["ProcessingInstanceType"],
        sagemaker_session=session,
    )
    preprocess = ProcessingStep(
        name=PREPROCESS,
        step_args=preprocessor.run(
            inputs=[code_input("preprocess.py")],
            outputs=[output(name, PREPROCESS) for name in ("train", "validation", "test", "manifest")],
            arguments=[
                "--training-data-uris",
                p["TrainingDataUris"],
                "--label-column",
                p["LabelColumn"],
                "--drop-columns",
                p["DropColumns"],
            ],
        ),
        property_files=[manifest],
    )

    def split(name: str) -> Any:
        return preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    # 2. Train: the built-in XGBoost algorithm (CSV, label first, no header).
    trainer = ModelTrainer(
        training_image=xgboost_image,
        compute=Compute(instance_type=p["TrainingInstanceType"], instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=run_location(TRAIN)),
        hyperparameters=HYPERPARAMETERS,
        input_data_config=[
            InputData(channel_name="train", data_source=split("train"), content_type="text/csv"),
            InputData(channel_name="validation", data_source=split("validation"), content_type="text/csv"),
        ],
        role=role,
        sagemaker_session=session,
    )
    train = TrainingStep(name=TRAIN, step_args=trainer.train())
    model_data = train.properties.ModelArtifacts.S3ModelArtifacts

    # 3. Evaluate: the model quality report and the artifact's SHA-256.
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    digest = PropertyFile(name="Artifact", output_name="evaluation", path="artifact.json")
    evaluator = Processor(
        role=role,
        image_uri=xgboost_image,
        entrypoint=["python3", "/opt/ml/processing/input/code/evaluate.py"],
        instance_count=1,
        instance_type=p["ProcessingInstanceType"],
        sagemaker_session=session,
    )
    evaluate = ProcessingStep(
        name=EVALUATE,
        step_args=evaluator.run(
            inputs=[
                code_input("evaluate.py"),
                ProcessingInput(
                    input_name="model",
                    s3_input=ProcessingS3Input(
                        s3_uri=model_data,
                        local_path="/opt/ml/processing/model",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
                ProcessingInput(
                    input_name="test",
                    s3_input=ProcessingS3Input(
                        s3_uri=split("test"),
                        local_path="/opt/ml/processing/test",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
            ],
            outputs=[output("evaluation", EVALUATE)],
            arguments=["--model-data-url", model_data],
        ),
        property_files=[report, digest],
    )

    register = register_step(p, preprocess, evaluate, model_data, xgboost_image, session)
    return Pipeline(
        name=name,
        parameters=list(p.values()),
        steps=[preprocess, train, evaluate, register],
        sagemaker_session=session,
    )


def register_step(
    p: dict[str, Any], preprocess: Any, evaluate: Any, model_data: Any, image: str, session: Any
) -> Any:
    """Step 4, Register: PendingManualApproval, the evaluation report as ModelQuality statistics, the
    governance metadata (docs/pipeline-contract.md). Values produced by earlier steps come in through
    JsonGet on their property files, which SageMaker resolves when the step runs."""
    from sagemaker.core.shapes import MetadataProperties, MetricsSource, ModelMetrics, ModelQuality
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    report_uri = Join(
        on="/",
        values=[
            evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            "evaluation.json",
        ],
    )
    builder = ModelBuilder(
        s3_model_data_url=model_data,
        image_uri=image,
        role_arn=ROLE_PLACEHOLDER,
        sagemaker_session=session,
    )
    return ModelStep(
        name=REGISTER,
        step_args=builder.register(
            model_package_group_name=p["ModelPackageGroupName"],
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.xlarge"],
            approval_status="PendingManualApproval",
            model_metrics=ModelMetrics(
                model_quality=ModelQuality(
                    statistics=MetricsSource(content_type="application/json", s3_uri=report_uri)
                )
            ),
            metadata_properties=MetadataProperties(generated_by=ExecutionVariables.PIPELINE_EXECUTION_ARN),
            customer_metadata_properties={
                "owner": p["Owner"],
                "risk_tier": p["RiskTier"],
                "cost_center": p["CostCenter"],
                "artifact_sha256": JsonGet(
                    step_name=EVALUATE, property_file="Artifact", json_path="artifact_sha256"
                ),
                "training_data": JsonGet(
                    step_name=PREPROCESS, property_file="Manifest", json_path="training_data"
                ),
                "trigger_reason": p["TriggerReason"],
                "trigger_event_id": p["TriggerEventId"],
            },
        ),
    )


def definition(name: str = "churn-training", *, region: str = REGION) -> dict[str, Any]:
    """The pipeline definition as a dict, every job role bound to the ExecutionRoleArn parameter."""
    document = json.loads(build_pipeline(name, region=region).definition())
    bound = bind_role(document)
    if not bound:
        raise RuntimeError("no job role found to bind to ExecutionRoleArn")
    drop_empty_environment(document)
    return document


def drop_empty_environment(document: dict[str, Any]) -> None:
    """ModelBuilder writes ``SAGEMAKER_PROGRAM`` / ``SAGEMAKER_SUBMIT_DIRECTORY`` as empty strings (no
    user script); the built-in algorithm's serving needs neither, so empty variables are left out."""
    for step in document["Steps"]:
        for container in step["Arguments"].get("InferenceSpecification", {}).get("Containers", []):
            environment = container.get("Environment", {})
            for key in [key for key, value in environment.items() if value == ""]:
                del environment[key]


def bind_role(node: Any) -> int:
    """Replace ROLE_PLACEHOLDER values in place; returns how many were replaced."""
    count = 0
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in list(items):
        if value == ROLE_PLACEHOLDER:
            node[key] = {"Get": "Parameters.ExecutionRoleArn"}
            count += 1
        else:
            count += bind_role(value)
    return count


def render(document: dict[str, Any]) -> str:
    """Stable text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write the churn training pipeline definition (offline)")
    parser.add_argument("--name", default="churn-training")
    parser.add_argument("--region", default=REGION, help="region of the built-in algorithm images")
    parser.add_argument("--out", type=Path, default=HERE / "definition.json")
    args = parser.parse_args(argv)
    # The SDK narrates every default it applies and every field it leaves to execution time.
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    args.out.write_text(render(definition(args.name, region=args.region)))
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
