"""Deploy a SAM template into moto: the local equivalent of ``sam package`` + ``sam deploy``.

``deploy_local_stack(template_path, parameters, session)`` must run inside an active moto
(``mock_aws``) with the gap fills installed (see :mod:`mlcp_cli.emulator.gaps`) so that the
stack's state machines execute and its functions run their real code:

1. load the template with :func:`mlcp_cli.template.load_template` (short tags to long form);
2. zip each local ``CodeUri``/``ContentUri`` directory into an artifacts bucket and point the
   property at ``s3://bucket/key`` (what ``sam package`` does); inline each local
   ``DefinitionUri`` file as ``Definition``;
3. translate with aws-sam-translator (managed policies from its bundled offline map; the
   translation kept on disk for the same inputs, :func:`translate`, ADR 39);
4. upload the translated template to the artifacts bucket and ``create_stack`` on moto's
   CloudFormation from its ``TemplateURL`` (as ``sam deploy`` does: ``TemplateBody`` takes at most
   51,200 bytes), and check CREATE_COMPLETE (failures raise
   :class:`StackDeployError` with the reason of each failed resource);
5. register each ``AWS::Lambda::Function`` (physical name) with its code dir, handler and
   resolved environment in the :class:`~mlcp_cli.emulator.gaps.FunctionRegistry`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from mlcp_cli.emulator.gaps import FunctionRegistry, FunctionSpec
from mlcp_cli.template import load_template

DEFAULT_STACK_NAME = "mlcp-local"
_SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class StackDeployError(RuntimeError):
    """The stack could not be translated or did not reach CREATE_COMPLETE; the message says why."""


@dataclass
class LocalStack:
    """A deployed local stack: outputs and physical ids, grouped the ways callers need them."""

    name: str
    template: dict[str, Any]
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    resource_types: dict[str, str]
    function_names: dict[str, str] = field(default_factory=dict)
    state_machine_arns: dict[str, str] = field(default_factory=dict)
    table_names: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    bucket_names: dict[str, str] = field(default_factory=dict)
    rule_names: dict[str, str] = field(default_factory=dict)
    skipped_types: list[str] = field(default_factory=list)
    """Resource types moto's CloudFormation skipped (not created at all), e.g. AWS::SQS::QueuePolicy."""

    def physical_id(self, logical_id: str) -> str:
        try:
            return self.physical_ids[logical_id]
        except KeyError:
            raise KeyError(f"stack {self.name} has no resource {logical_id!r}") from None


# ------------------------------------------------------------------------------------------
# Template loading
# ------------------------------------------------------------------------------------------


def _load_template(path: Path) -> dict[str, Any]:
    """The project's template loader (short tags to long form); errors become StackDeployError."""
    try:
        return load_template(path)
    except (OSError, ValueError) as exc:
        raise StackDeployError(f"cannot load {path}: {exc}") from exc


# ------------------------------------------------------------------------------------------
# Packaging (sam package)
# ------------------------------------------------------------------------------------------


def _zip_dir(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                full = Path(root) / name
                info = zipfile.ZipInfo(str(full.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, full.read_bytes())
    return buffer.getvalue()


class _Packager:
    def __init__(self, base_dir: Path, session: boto3.Session, bucket: str) -> None:
        self.base_dir = base_dir
        self.s3 = session.client("s3")
        self.bucket = bucket
        self.created = False

    def local_dir(self, uri: Any) -> Path | None:
        if not isinstance(uri, str) or uri.startswith("s3://"):
            return None
        path = (self.base_dir / uri).resolve()
        if not path.is_dir():
            raise StackDeployError(f"local path {uri!r} is not a directory under {self.base_dir}")
        return path

    def upload(self, directory: Path) -> str:
        self._ensure_bucket()
        body = _zip_dir(directory)
        key = f"{hashlib.md5(body, usedforsecurity=False).hexdigest()}.zip"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def upload_template(self, template: dict[str, Any]) -> str:
        """Upload a CloudFormation template; returns its URL for CreateStack's ``TemplateURL``.

        As ``sam deploy`` does: CreateStack takes at most 51,200 bytes in ``TemplateBody`` (the
        control plane's translated template is about 260 KB) and up to 1 MB from S3."""
        self._ensure_bucket()
        body = json.dumps(template).encode()
        key = f"{hashlib.md5(body, usedforsecurity=False).hexdigest()}.template"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"https://{self.bucket}.s3.amazonaws.com/{key}"

    def _ensure_bucket(self) -> None:
        if not self.created:
            existing = {b["Name"] for b in self.s3.list_buckets().get("Buckets", [])}
            if self.bucket not in existing:
                region = self.s3.meta.region_name
                if region == "us-east-1":
                    self.s3.create_bucket(Bucket=self.bucket)
                else:
                    self.s3.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                    )
            self.created = True


def package_template(
    template: dict[str, Any],
    base_dir: Path,
    session: boto3.Session,
    bucket: str,
    packager: _Packager | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Upload local code/layer dirs and inline local ASL files; returns (template, logical id -> code dir)."""
    packaged = copy.deepcopy(template)
    packager = packager or _Packager(base_dir, session, bucket)
    code_dirs: dict[str, Path] = {}
    global_fn = packaged.get("Globals", {}).get("Function", {})
    global_code = packager.local_dir(global_fn.get("CodeUri"))
    if global_code is not None:
        global_fn["CodeUri"] = packager.upload(global_code)
    for logical_id, resource in packaged.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            directory = packager.local_dir(props.get(key))
            if directory is not None:
                props[key] = packager.upload(directory)
                if key == "CodeUri":
                    code_dirs[logical_id] = directory
        inherits_code = "CodeUri" not in props and "InlineCode" not in props
        if resource.get("Type") == _SERVERLESS_FUNCTION and inherits_code and global_code:
            code_dirs[logical_id] = global_code
        definition_uri = props.get("DefinitionUri")
        if isinstance(definition_uri, str) and not definition_uri.startswith("s3://"):
            asl_path = base_dir / definition_uri
            try:
                props["Definition"] = json.loads(asl_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StackDeployError(
                    f"{logical_id}: cannot inline DefinitionUri {asl_path}: {exc}"
                ) from exc
            del props["DefinitionUri"]
    return packaged, code_dirs


# ------------------------------------------------------------------------------------------
# Translation (SAM -> CloudFormation), offline
# ------------------------------------------------------------------------------------------


class OfflineManagedPolicyLoader:
    """aws-sam-translator's policy loader without IAM: the translator's bundled managed-policy map."""

    def __init__(self, partition: str = "aws") -> None:
        self.partition = partition

    def load(self) -> dict[str, str]:
        from samtranslator.internal.managed_policies import get_bundled_managed_policy_map

        return dict(get_bundled_managed_policy_map(self.partition) or {})


TRANSLATION_CACHE_ENV = "MLCP_SAM_TRANSLATION_CACHE"
"""A directory for translated templates (default: inside the running environment, ``sys.prefix``);
``off`` keeps none on disk (ADR 39)."""
_TRANSLATION_FORMAT = "1"
"""Part of every translation's key: bump it when :func:`translate`'s own inputs or output change."""


def translation_cache_dir() -> Path | None:
    """Where :func:`translate` keeps translations between processes, unless
    :data:`TRANSLATION_CACHE_ENV` says otherwise."""
    configured = os.environ.get(TRANSLATION_CACHE_ENV, "")
    if configured == "off":
        return None
    return Path(configured) if configured else Path(sys.prefix) / "var" / "mlcp" / "sam-translations"


def _translation_file(template: dict[str, Any], parameters: dict[str, str]) -> Path | None:
    """The file of this exact translation: keyed by everything the translator reads (the packaged
    template, the parameters, the region it derives the partition from, its own version, whose
    bundled managed-policy map comes with it), so an entry is never stale, only unused."""
    directory = translation_cache_dir()
    if directory is None:
        return None
    import samtranslator  # the package alone: its version, not the translator

    key = json.dumps(
        [
            _TRANSLATION_FORMAT,
            samtranslator.__version__,
            os.environ.get("AWS_REGION"),
            os.environ.get("AWS_DEFAULT_REGION"),
            parameters,
            template,
        ],
        sort_keys=True,
        default=str,
    )
    return directory / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def _stored_translation(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent or damaged: translate again
        return None
    return found if isinstance(found, dict) else None


def _store_translation(path: Path | None, result: dict[str, Any]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        partial.write_text(json.dumps(result), encoding="utf-8")
        partial.replace(path)  # readers see the whole file or none
    except (OSError, TypeError, ValueError):  # a cache that cannot be written only costs a translation
        pass


def translate(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Translate a (packaged) SAM template to CloudFormation; errors become :class:`StackDeployError`.

    A translation is kept on disk (:func:`translation_cache_dir`) and read back for the same
    inputs: the translator is a pure function of them, and importing and running it was a quarter
    of a local deploy. A template it refuses is never stored: it is refused every time."""
    stored_at = _translation_file(template, parameters)
    stored = _stored_translation(stored_at)
    if stored is not None:
        return stored
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    try:
        result: dict[str, Any] = transform(
            copy.deepcopy(template), dict(parameters), OfflineManagedPolicyLoader()
        )
    except InvalidDocumentException as exc:
        reasons = "; ".join(str(cause) for cause in exc.causes)
        raise StackDeployError(f"SAM translation failed: {reasons}") from exc
    _store_translation(stored_at, result)
    return result


# ------------------------------------------------------------------------------------------
# Deploy
# ------------------------------------------------------------------------------------------


_SKIPPED = re.compile(r"Tried to parse (\S+) but it's not supported")


@contextlib.contextmanager
def _quiet_moto_cfn_logger() -> Iterator[None]:
    """moto logs a warning per unsupported resource; they are collected in ``skipped_types`` instead."""
    logger = logging.getLogger("moto")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def deploy_local_stack(
    template_path: str | Path,
    parameters: dict[str, str],
    session: boto3.Session,
    registry: FunctionRegistry | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
) -> LocalStack:
    """Package, translate and create the template in moto; register its functions in ``registry``."""
    template_path = Path(template_path).resolve()
    sam_template = _load_template(template_path)
    account = session.client("sts").get_caller_identity()["Account"]
    bucket = f"mlcp-local-artifacts-{account}-{session.region_name}"
    packager = _Packager(template_path.parent, session, bucket)
    packaged, code_dirs = package_template(sam_template, template_path.parent, session, bucket, packager)
    cfn_template = translate(packaged, parameters)

    declared = cfn_template.get("Parameters", {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise StackDeployError(f"parameters not declared by the template: {', '.join(unknown)}")
    # CloudFormation names unnamed resources <stack>-<logical id>-<random suffix>. Seeding moto's
    # random source makes a local deploy of the same stack name the same every time: runs are
    # reproducible, and per-process caches keyed by definition text (the emulator's Step Functions
    # fills) hold across deploys.
    from moto.moto_api._internal import mock_random

    mock_random.seed(f"mlcp-local:{stack_name}")
    with warnings.catch_warnings(record=True) as caught, _quiet_moto_cfn_logger():
        warnings.simplefilter("always")
        local = _create_stack(
            session, stack_name, packager.upload_template(cfn_template), cfn_template, parameters
        )
    local.skipped_types = sorted(
        {m.group(1) for w in caught if (m := _SKIPPED.search(str(w.message))) is not None}
    )
    if registry is not None:
        _register_functions(local, cfn_template, code_dirs, session, registry)
    return local


def _create_stack(
    session: boto3.Session,
    stack_name: str,
    template_url: str,
    cfn_template: dict[str, Any],
    parameters: dict[str, str],
) -> LocalStack:
    cfn = session.client("cloudformation")
    try:
        cfn.create_stack(
            StackName=stack_name,
            TemplateURL=template_url,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except Exception as exc:
        raise StackDeployError(f"create_stack {stack_name} failed: {type(exc).__name__}: {exc}") from exc
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        failures = [
            f"{e['LogicalResourceId']} ({e.get('ResourceType')}): {e.get('ResourceStatusReason')}"
            for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
            if e.get("ResourceStatus", "").endswith("FAILED")
        ]
        raise StackDeployError(
            f"stack {stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason')}; "
            + ("; ".join(failures) or "no failed resource reported")
        )

    local = LocalStack(
        name=stack_name,
        template=cfn_template,
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])},
        physical_ids={},
        resource_types={},
    )
    for resource in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
        logical = resource.get("LogicalResourceId")
        physical = resource.get("PhysicalResourceId")
        if not logical or not physical:  # moto lists resources it skipped without ids
            continue
        rtype = resource["ResourceType"]
        local.physical_ids[logical] = physical
        local.resource_types[logical] = rtype
        group = {
            "AWS::Lambda::Function": local.function_names,
            "AWS::StepFunctions::StateMachine": local.state_machine_arns,
            "AWS::DynamoDB::Table": local.table_names,
            "AWS::SQS::Queue": local.queue_urls,
            "AWS::SNS::Topic": local.topic_arns,
            "AWS::S3::Bucket": local.bucket_names,
            "AWS::Events::Rule": local.rule_names,
        }.get(rtype)
        if group is not None:
            group[logical] = physical
    return local


def _register_functions(
    local: LocalStack,
    cfn_template: dict[str, Any],
    code_dirs: dict[str, Path],
    session: boto3.Session,
    registry: FunctionRegistry,
) -> None:
    lam = session.client("lambda")
    # One ListFunctions (the same FunctionConfiguration as GetFunctionConfiguration's, 50 a page)
    # rather than a GetFunctionConfiguration per function.
    configs = {
        config["FunctionName"]: config
        for page in lam.get_paginator("list_functions").paginate()
        for config in page["Functions"]
    }
    for logical_id, name in local.function_names.items():
        code_dir = code_dirs.get(logical_id)
        if code_dir is None:  # inline or S3 code: moto's simple Lambda behaviour applies
            continue
        config = configs.get(name) or lam.get_function_configuration(FunctionName=name)
        handler = config.get("Handler") or cfn_template["Resources"][logical_id]["Properties"].get("Handler")
        registry.register(
            FunctionSpec(
                name=name,
                code_dir=code_dir,
                handler=str(handler),
                environment=dict(config.get("Environment", {}).get("Variables", {})),
                memory_mb=int(config.get("MemorySize", 128)),
                timeout_s=int(config.get("Timeout", 3)),
                arn=config["FunctionArn"],
                log_group=_log_group_of(local, cfn_template, logical_id, config),
            )
        )


def _log_group_of(local: LocalStack, cfn_template: dict[str, Any], logical_id: str, config: Any) -> str:
    """LoggingConfig.LogGroup as moto reports it, else as the template names it (a Ref to a log group)."""
    reported = config.get("LoggingConfig", {}).get("LogGroup")
    if reported:
        return str(reported)
    named = cfn_template["Resources"][logical_id]["Properties"].get("LoggingConfig", {}).get("LogGroup")
    if isinstance(named, dict) and "Ref" in named:
        return local.physical_ids.get(str(named["Ref"]), "")
    return named if isinstance(named, str) else ""
