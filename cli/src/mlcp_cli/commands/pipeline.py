"""`mlcp pipeline upsert [--name N] [--definition FILE] --role-arn ARN [--code-dir DIR]`, `mlcp pipeline show NAME`.

The model builders' pipeline definition (pipelines/churn_training/definition.json, written offline by
`make pipeline`) goes to SageMaker with boto3 only: CreatePipeline when the name is new, UpdatePipeline
otherwise. The sagemaker SDK is not needed here (nor installed: it lives in .venv-pipeline). Both take
the target options (`--config-env prod`, `--stack-name/--region/--profile`, `--local`) for the account
and region the calls go to.

`--code-dir` also uploads the step scripts the definition references. Processing inputs named ``code``
point at content-addressed keys (``.../<sha256>/<script>``): each script is looked up by name in the
directory, its SHA-256 must equal the key's (else the definition is stale: run `make pipeline`), and it
is put into the bucket the definition's ``ArtifactBucket`` parameter defaults to (or `--artifact-bucket`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from mlcp_cli.commands.stack import add_stack_options, client
from mlcp_cli.tables import WIDTH, Column, elide, short_time, wrap, write_table

DEFAULT_NAME = "churn-training"
DEFAULT_DEFINITION = Path("pipelines/churn_training/definition.json")
BUCKET_PARAMETER = "ArtifactBucket"


class DefinitionError(ValueError):
    """The definition file cannot be used (the message says why)."""


@dataclass(frozen=True)
class CodeObject:
    """One step script the definition references: its key (under the artifact bucket) and digest."""

    step: str
    key: str
    sha256: str
    filename: str


def load_definition(path: Path) -> dict[str, Any]:
    """The parsed definition; a definition must be a JSON object with a non-empty ``Steps`` list."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot read file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("Steps"), list) or not document["Steps"]:
        raise DefinitionError(f"{path}: not a pipeline definition (no Steps)")
    return document


def parameter_default(document: dict[str, Any], name: str) -> str | None:
    for parameter in document.get("Parameters", []):
        if parameter.get("Name") == name:
            value = parameter.get("DefaultValue")
            return str(value) if value is not None else None
    return None


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step, condition branches included."""
    for step in steps:
        yield step
        arguments = step.get("Arguments") or {}
        for branch in ("IfSteps", "ElseSteps"):
            yield from _steps(arguments.get(branch) or [])


def code_objects(document: dict[str, Any]) -> list[CodeObject]:
    """The content-addressed step scripts: processing inputs named ``code`` whose S3 URI ends with a
    literal ``<prefix>/<sha256>/<file>`` (a plain string, or the last value of a ``Std:Join``)."""
    found: list[CodeObject] = []
    for step in _steps(document["Steps"]):
        for item in (step.get("Arguments") or {}).get("ProcessingInputs") or []:
            if item.get("InputName") != "code":
                continue
            uri = (item.get("S3Input") or {}).get("S3Uri")
            if isinstance(uri, dict) and "Std:Join" in uri:
                tail = uri["Std:Join"]["Values"][-1]
            elif isinstance(uri, str) and uri.startswith("s3://"):
                tail = uri.split("/", 3)[3]
            else:
                continue
            if not isinstance(tail, str):
                continue
            parts = tail.split("/")
            if len(parts) >= 2 and len(parts[-2]) == 64 and all(c in "0123456789abcdef" for c in parts[-2]):
                found.append(CodeObject(step=step["Name"], key=tail, sha256=parts[-2], filename=parts[-1]))
    return found


def upload_code(s3: Any, document: dict[str, Any], code_dir: Path, bucket: str) -> list[str]:
    """Put every referenced script into ``bucket``; refuses all of them if any is missing or stale."""
    objects = code_objects(document)
    problems: list[str] = []
    bodies: list[bytes] = []
    for item in objects:
        path = code_dir / item.filename
        if not path.is_file():
            problems.append(f"step {item.step}: {path} not found")
            continue
        body = path.read_bytes()
        if hashlib.sha256(body).hexdigest() != item.sha256:
            problems.append(f"step {item.step}: {path} differs from the definition's (run `make pipeline`)")
        bodies.append(body)
    if problems:
        raise DefinitionError("; ".join(problems))
    uploaded = []
    for item, body in zip(objects, bodies, strict=True):
        s3.put_object(Bucket=bucket, Key=item.key, Body=body, ChecksumAlgorithm="SHA256")
        uploaded.append(f"s3://{bucket}/{item.key}")
    return uploaded


def pipeline_exists(sagemaker: Any, name: str) -> bool:
    """Whether a pipeline has exactly this name (ListPipelines by prefix: DescribePipeline's error for an
    unknown name differs between SageMaker, ResourceNotFound, and moto, ValidationException)."""
    for page in sagemaker.get_paginator("list_pipelines").paginate(PipelineNamePrefix=name):
        if any(item.get("PipelineName") == name for item in page.get("PipelineSummaries", [])):
            return True
    return False


def upsert_pipeline(
    sagemaker: Any, name: str, document: dict[str, Any], role_arn: str, *, description: str | None = None
) -> tuple[str, str]:
    """CreatePipeline or UpdatePipeline; returns (``created`` | ``updated``, pipeline ARN)."""
    body = json.dumps(document, sort_keys=True)
    extra = {"PipelineDescription": description} if description else {}
    if not pipeline_exists(sagemaker, name):
        response = sagemaker.create_pipeline(
            PipelineName=name,
            PipelineDefinition=body,
            RoleArn=role_arn,
            ClientRequestToken=hashlib.sha256(f"{name}\n{body}".encode()).hexdigest()[:64],
            **extra,
        )
        return "created", response["PipelineArn"]
    response = sagemaker.update_pipeline(
        PipelineName=name, PipelineDefinition=body, RoleArn=role_arn, **extra
    )
    return "updated", response["PipelineArn"]


def _when(value: Any) -> str:
    """A time as ``2026-12-07 19:36:32`` (UTC to the second); anything else as it is."""
    if hasattr(value, "isoformat"):
        return short_time(value.isoformat())
    return "-" if value is None else short_time(str(value))


EXECUTION_COLUMNS = (
    Column("execution", keep=True),
    Column("status"),
    Column("started"),
    Column("last modified"),
    Column("display name", wide_only=True),
    Column("arn", wide_only=True),
)


def write_pipeline(
    described: dict[str, Any], executions: list[dict[str, Any]], out: TextIO, *, wide: bool = False
) -> None:
    """The pipeline (a field a line) and its latest executions (a table with a header row); every
    line fits ``WIDTH`` columns unless ``wide``."""
    rows = [
        ("name", described.get("PipelineName")),
        ("arn", described.get("PipelineArn")),
        ("status", described.get("PipelineStatus")),
        ("role", described.get("RoleArn")),
        ("created", _when(described.get("CreationTime"))),
        ("modified", _when(described.get("LastModifiedTime"))),
    ]
    for label, value in rows:
        if value is not None:
            text = str(value) if wide else elide(str(value), WIDTH - 10)
            out.write(f"{label:<10}{text}\n")
    try:
        definition = json.loads(described.get("PipelineDefinition") or "{}")
    except json.JSONDecodeError:
        definition = {}
    steps = [f"{s.get('Name')} ({s.get('Type')})" for s in _steps(definition.get("Steps") or [])]
    if steps:
        line = f"{'steps':<10}{' -> '.join(steps)}"
        out.write((line if wide else wrap(line, WIDTH, hang=10)) + "\n")
    for parameter in definition.get("Parameters") or []:
        default = parameter.get("DefaultValue")
        shown = "(required)" if default is None else repr(default)
        line = f"{'parameter':<10}{parameter.get('Name')} = {shown}"
        out.write((line if wide else elide(line, WIDTH)) + "\n")
    if not executions:
        out.write(f"{'executions':<10} none\n")
        return
    out.write("\n")
    write_table(
        out,
        EXECUTION_COLUMNS,
        [
            (
                str(e.get("PipelineExecutionArn", "")).rsplit("/", 1)[-1],
                str(e.get("PipelineExecutionStatus", "-")),
                _when(e.get("StartTime")),
                _when(e.get("LastModifiedTime") or e.get("StartTime")),
                str(e.get("PipelineExecutionDisplayName") or "-"),
                str(e.get("PipelineExecutionArn", "")),
            )
            for e in executions
        ],
        wide=wide,
    )


def _cmd_upsert(args: argparse.Namespace) -> int:
    uploaded: list[str] = []
    try:
        document = load_definition(args.definition)
        if args.code_dir is not None:
            bucket = args.artifact_bucket or parameter_default(document, BUCKET_PARAMETER)
            if not bucket:
                raise DefinitionError(
                    f"no bucket for the code: --artifact-bucket or a {BUCKET_PARAMETER} default"
                )
            uploaded = upload_code(client("s3"), document, args.code_dir, bucket)
            if not args.json:
                sys.stdout.writelines(f"uploaded {uri}\n" for uri in uploaded)
    except DefinitionError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    action, arn = upsert_pipeline(
        client("sagemaker"), args.name, document, args.role_arn, description=args.description
    )
    if args.json:
        record = {"action": action, "pipeline_arn": arn, "uploaded": uploaded}
        sys.stdout.write(json.dumps(record, sort_keys=True) + "\n")
    else:
        sys.stdout.write(f"{action} {arn}\n")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    sagemaker = client("sagemaker")
    if not pipeline_exists(sagemaker, args.name):
        sys.stderr.write(f"no pipeline named {args.name}\n")
        return 1
    described = sagemaker.describe_pipeline(PipelineName=args.name)
    executions = sagemaker.list_pipeline_executions(
        PipelineName=args.name, SortBy="CreationTime", SortOrder="Descending", MaxResults=args.executions
    ).get("PipelineExecutionSummaries", [])
    if args.json:
        described = {k: v for k, v in described.items() if k != "ResponseMetadata"}
        body = {"pipeline": described, "executions": executions}
        sys.stdout.write(json.dumps(body, sort_keys=True, default=str) + "\n")
        return 0
    write_pipeline(described, executions, sys.stdout, wide=args.wide)
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    pipeline = subparsers.add_parser("pipeline", help="the model builders' SageMaker pipeline")
    sub = pipeline.add_subparsers(dest="pipeline_command", required=True)

    upsert = sub.add_parser("upsert", help="create or update a pipeline from its definition JSON")
    upsert.add_argument("--name", default=DEFAULT_NAME, help=f"pipeline name (default {DEFAULT_NAME})")
    upsert.add_argument("--definition", type=Path, default=DEFAULT_DEFINITION, help="definition JSON file")
    upsert.add_argument("--role-arn", required=True, help="the role SageMaker Pipelines runs the pipeline as")
    upsert.add_argument("--description")
    upsert.add_argument("--code-dir", type=Path, help="also upload the step scripts found in this directory")
    upsert.add_argument(
        "--artifact-bucket", help=f"bucket for the scripts (default: {BUCKET_PARAMETER}'s default)"
    )
    upsert.add_argument("--json", action="store_true", help="one JSON object: action, pipeline_arn, uploaded")
    add_stack_options(upsert)
    upsert.set_defaults(func=_cmd_upsert)

    show = sub.add_parser("show", help="a pipeline: status, steps, parameters, latest executions")
    show.add_argument("name")
    show.add_argument("--executions", type=int, default=5, help="how many recent executions (default 5)")
    show.add_argument("--json", action="store_true")
    show.add_argument("--wide", action="store_true", help="every field in full, wider than 120 columns")
    add_stack_options(show)
    show.set_defaults(func=_cmd_show)
