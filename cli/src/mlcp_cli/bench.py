"""``make bench`` (``python -m mlcp_cli.bench``): every performance figure of the control plane
against its budget, in one run; a table on stdout and ``bench-results.json`` (per figure: value,
unit, budget, ok; the raw samples under ``details``).

* **Cold import** of every handler module ``functions/<name>/app.py``, of the stack floor (boto3 +
  pydantic with one model class + Powertools Logger and Metrics), of a conventional Powertools handler
  (Logger, Metrics, Tracer, Parser with ``EventBridgeModel``, one module-level client) and of a bare
  ``import boto3``, each in fresh interpreters, interleaved round by round so drift hits all alike, with
  the environment template.yaml gives the function. The figure is the importing process's CPU time
  (``time.process_time``): on a shared machine wall time measures the neighbours; both are kept.
  Ratios are taken pair by pair within a round, then the median over ``--runs`` rounds.
  Handlers are timed **as shipped** (the function and its layer from ``sam build``'s output, with the
  layer's bytecode: ADR 32; a build older than the sources is refused) and, for the record, **from
  source** (our code compiled at import). Budget (issue 17): every handler as shipped within 1.15x the
  floor and faster than the conventional handler; a line under the table says whether it is met and
  names every handler that misses it; and no layer module compiled at import.
* **Package size**: the layer and each function as ``sam build`` left them, zipped with deflate;
  budget: all of them together within 5 MB.
* **CPU per event** of each decision path (gates, routing, incident dedup, retraining guard), botocore
  stubbed (recorded on moto, replayed by ``Stubber``; no I/O), on one core: budget 2 ms per event,
  and at least 1,000 gate evaluations per second.
* **Step Functions state transitions** per deployment in each mode (create, canary promoted, canary
  rolled back, queued, managed traffic shifting), counted from execution histories of the shipped
  scenarios on the emulator, and their cost at $0.025 per 1,000; budget: 25 per native canary.
* **Audit**: appends per second on the emulator's DynamoDB (TransactWriteItems counted per append;
  budget: one) and ``verify_chain`` throughput on a 100,000-record chain (budget: 100,000 records/s).
* **The policy at organisation scale** (:mod:`mlcp_cli.bench_policy`): a generated 1,000-group,
  20-tier policy validated, published to AppConfig on the emulator (the real validator), deployed
  and loaded as a handler reads it (CPU per cold start and per decision); gate CPU per event with it
  against a 3-group policy (budget: 1.2x, the lookup must not scan); ``mlcp policy dry-run`` over
  10,000 recorded decisions (records/s).
* **The full local scenario** (``scenarios/full-loop.yaml``: register, gates, approve, canary, alarm,
  rollback, incident, retraining): wall time to play it on a deployed stack; budget 5 s.

A figure that misses its budget is flagged (``MISS``) and counted in the summary line; the exit
status stays 0 unless ``--check`` is given (timings on shared CI machines are noisy, so gating on
them is an explicit choice). Nothing in the test suite asserts on time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlcp_cli.template import load_template

DEFAULT_RUNS = 10
MIB = 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * MIB
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
BASE_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
_MARKER = "__mlcp_bench_seconds__="
_CPU_MARKER = "__mlcp_bench_cpu_seconds__="
_COMPILED_MARKER = "__mlcp_bench_compiled_modules__="
DEFAULT_GATE_EVALUATIONS = 2000
DEFAULT_PATH_EVENTS = 1000
DEFAULT_AUDIT_APPENDS = 300
DEFAULT_VERIFY_RECORDS = 100_000
MB = 1000 * 1000
FULL_SCENARIO = "full-loop"
#: Scenarios whose deployment executions give the transitions of each mode (those present are run).
MODE_SCENARIOS = (
    "canary-success",
    "canary-queue",
    "canary-managed",
    "serverless-bake",
    "canary-analysis",
    "canary-analysis-guardrails",
    "shadow-pass",
    "shadow-fail",
)

POWERTOOLS_BASE = (
    "from aws_lambda_powertools import Logger, Metrics\n"
    "from aws_lambda_powertools.utilities.parser import event_parser, parse\n"
    "from aws_lambda_powertools.utilities.parser.models import EventBridgeModel\n"
)
TRACER_IMPORT = "from aws_lambda_powertools import Tracer\n"
# Powertools loads aws_xray_sdk lazily: the real cost is paid when Tracer() is built inside Lambda
# (it then patches boto3/botocore), hence LAMBDA_TASK_ROOT in that measurement's environment.
TRACER_INIT = TRACER_IMPORT + 'Tracer(service="bench")\n'
LAMBDA_LIKE_ENV = {"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "bench"}
#: The stack floor: what a handler that validates events with pydantic models and logs with
#: Powertools imports before a line of its own (docs/adr/0013). Every handler's cold import is
#: budgeted against it, timed in the same rounds (issue 17: at most ``FLOOR_RATIO_LIMIT`` x).
STACK_FLOOR = (
    "import boto3\n"
    "from pydantic import BaseModel, ConfigDict\n"
    "class Event(BaseModel):\n"
    "    model_config = ConfigDict(defer_build=True)\n"
    "    id: str\n"
    "from aws_lambda_powertools import Logger, Metrics\n"
    'Logger(service="bench")\n'
    'Metrics(namespace="bench", service="bench")\n'
)
STACK_FLOOR_LABEL = "stack floor (boto3 + pydantic, one model + Powertools Logger, Metrics)"
#: A handler written the conventional Powertools way (Logger, Metrics, Tracer, the Parser with
#: ``EventBridgeModel``, one client at module level): every handler must import faster than it.
CONVENTIONAL_HANDLER = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "from aws_lambda_powertools.utilities.parser import event_parser\n"
    "from aws_lambda_powertools.utilities.parser.models import EventBridgeModel\n"
    "from pydantic import BaseModel\n"
    'logger = Logger(service="bench")\n'
    'metrics = Metrics(namespace="bench", service="bench")\n'
    'tracer = Tracer(service="bench")\n'
    'sqs = boto3.client("sqs")\n'
    "class Detail(BaseModel):\n"
    "    bucket: dict[str, str]\n"
    "class Event(EventBridgeModel):\n"
    "    detail: Detail\n"
    "@logger.inject_lambda_context\n"
    "@metrics.log_metrics\n"
    "@tracer.capture_lambda_handler\n"
    "@event_parser(model=Event)\n"
    "def handler(event, context):\n"
    "    return {'id': event.id}\n"
)
CONVENTIONAL_LABEL = "conventional Powertools handler (Tracer, Parser, EventBridgeModel, one client)"
#: Other floors, shown for the record (not budgeted): how much of the stack floor is pydantic.
IMPORT_FLOORS = {
    "boto3 + pydantic BaseModel": "import boto3\nfrom pydantic import BaseModel\n",
}
FLOOR_RATIO_LIMIT = 1.15
#: What the timed interpreters import from the development venv (boto3 as Lambda's runtime provides
#: it; the floor's and the conventional handler's stack). The venv is installed without bytecode
#: (pip --no-compile) and the timed interpreters write none, so ``compile_stack`` compiles these
#: first: else a fresh venv's floor would include compiling botocore (ADR 32).
STACK_PACKAGES = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "dateutil",
    "six",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "typing_inspection",
    "annotated_types",
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "wrapt",
)


# --------------------------------------------------------------------------- pure helpers


def median(values: Iterable[float]) -> float:
    """Median of the samples; ValueError on none."""
    samples = list(values)
    if not samples:
        raise ValueError("median of no samples")
    return float(statistics.median(samples))


@dataclass(frozen=True)
class ArtifactSize:
    files: int
    unzipped_bytes: int
    zipped_bytes: int

    @property
    def zipped_mib(self) -> float:
        return self.zipped_bytes / MIB

    @property
    def unzipped_mib(self) -> float:
        return self.unzipped_bytes / MIB


def zip_size(directory: Path) -> ArtifactSize:
    """Zip ``directory`` in memory with deflate, as a deployment package; report its sizes."""
    buffer = io.BytesIO()
    files = unzipped = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(directory).as_posix())
            files += 1
            unzipped += path.stat().st_size
    return ArtifactSize(files=files, unzipped_bytes=unzipped, zipped_bytes=len(buffer.getvalue()))


def dummy_value(key: str, value: Any, parameters: Mapping[str, Any]) -> str:
    """A usable stand-in for one environment variable of the template.

    Literals are kept; ``!Ref`` to a parameter takes its Default; ``!Sub`` keeps its literal text
    with each ``${...}`` so replaced; any other intrinsic becomes a plausible dummy shaped after the
    variable's name (URL, ARN, name).
    """
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        if value["Ref"] in _PSEUDO_PARAMETERS:
            return _PSEUDO_PARAMETERS[value["Ref"]]
        parameter = parameters.get(value["Ref"])
        if isinstance(parameter, dict) and "Default" in parameter:
            return str(parameter["Default"])
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        # ``!Join [",", !Ref SomeList]``: a CommaDelimitedList's Default is already the joined text.
        separator, parts = value["Fn::Join"]
        if isinstance(parts, dict):
            return dummy_value(key, parts, parameters)
        return str(separator).join(dummy_value(key, part, parameters) for part in parts)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        body = value["Fn::Sub"]
        text = body if isinstance(body, str) else body[0] if isinstance(body, list) and body else None
        if isinstance(text, str):
            return _SUBSTITUTION.sub(lambda match: _substitute(match.group(1), parameters), text)
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    if key.endswith("_URL"):
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/bench-{slug}"
    if key.endswith("_ARN"):
        return f"arn:aws:lambda:us-east-1:123456789012:function:bench-{slug}"
    return f"bench-{slug}"


_SUBSTITUTION = re.compile(r"\$\{([^}!]+)\}")
_PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}


def _substitute(name: str, parameters: Mapping[str, Any]) -> str:
    """One ``${Name}`` of an ``!Sub``: a pseudo parameter, a parameter's Default, else a dummy name."""
    if name in _PSEUDO_PARAMETERS:
        return _PSEUDO_PARAMETERS[name]
    parameter = parameters.get(name)
    if isinstance(parameter, dict) and "Default" in parameter:
        return str(parameter["Default"])
    return "bench-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _variables(holder: Any) -> Mapping[str, Any]:
    if not isinstance(holder, dict):
        return {}
    environment = holder.get("Environment")
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    return variables if isinstance(variables, dict) else {}


def _resources(template: Mapping[str, Any], kind: str) -> dict[str, Mapping[str, Any]]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return {}
    return {
        logical_id: (resource.get("Properties") or {})
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") == kind
    }


def function_environment(template: Mapping[str, Any], logical_id: str | None) -> dict[str, str]:
    """Globals' variables overlaid with the function's own, as dummy-but-usable values."""
    parameters = template.get("Parameters") or {}
    globals_function = (template.get("Globals") or {}).get("Function")
    variables: dict[str, Any] = dict(_variables(globals_function))
    if logical_id is not None:
        variables.update(_variables(_resources(template, FUNCTION_TYPE).get(logical_id)))
    return {key: dummy_value(key, value, parameters) for key, value in variables.items()}


def _norm_dir(uri: str) -> str:
    return Path(uri).as_posix().strip("/").removeprefix("./")


def functions_by_code_dir(template: Mapping[str, Any]) -> dict[str, str]:
    """Map a function's local ``CodeUri`` (``functions/x``) to its logical id."""
    mapping: dict[str, str] = {}
    for logical_id, properties in _resources(template, FUNCTION_TYPE).items():
        code_uri = properties.get("CodeUri")
        if isinstance(code_uri, str):
            mapping[_norm_dir(code_uri)] = logical_id
    return mapping


def handler_environment(template: Mapping[str, Any], logical_id: str | None) -> dict[str, str]:
    return {**function_environment(template, logical_id), **BASE_ENV}


def function_layers(template: Mapping[str, Any], logical_id: str) -> list[str]:
    """Logical ids of the template layers a function uses (its own Layers, else Globals')."""
    properties = _resources(template, FUNCTION_TYPE).get(logical_id) or {}
    layers = properties.get("Layers")
    if layers is None:
        layers = ((template.get("Globals") or {}).get("Function") or {}).get("Layers")
    return [ref["Ref"] for ref in layers or [] if isinstance(ref, dict) and isinstance(ref.get("Ref"), str)]


def timing_snippet(statements: str, sys_path: Sequence[str] = (), after: str = "") -> str:
    """A ``python -c`` program that times ``statements`` with perf_counter and prints the seconds,
    then runs ``after`` (untimed). ``sys_path`` entries go in front of the path in the given order."""
    lines = ["import sys, time"]
    lines += [f"sys.path.insert(0, {entry!r})" for entry in reversed(sys_path)]
    lines += ["_c0 = time.process_time()", "_t0 = time.perf_counter()", *statements.strip().splitlines()]
    lines.append(f"print({_MARKER!r} + repr(time.perf_counter() - _t0))")
    lines.append(f"print({_CPU_MARKER!r} + repr(time.process_time() - _c0))")
    lines += after.strip().splitlines()
    return "\n".join(lines) + "\n"


def bytecode_probe(roots: Sequence[str]) -> str:
    """Statements that print (after ``_COMPILED_MARKER``, as JSON) the modules imported from under
    ``roots`` that had no bytecode there, i.e. that this interpreter compiled from source."""
    prefixes = tuple(str(Path(root)) + os.sep for root in roots)
    return (
        "import json as _json, os as _os\n"
        f"_roots = {prefixes!r}\n"
        "_compiled = sorted(name for name, module in list(sys.modules.items())\n"
        "    if (spec := getattr(module, '__spec__', None)) is not None and isinstance(spec.origin, str)\n"
        "    and spec.origin.startswith(_roots) and spec.cached and not _os.path.exists(spec.cached))\n"
        f"print({_COMPILED_MARKER!r} + _json.dumps(_compiled))\n"
    )


def parse_seconds(stdout: str, marker: str = _MARKER) -> float:
    """The wall seconds (or, with ``marker=_CPU_MARKER``, CPU seconds) a timing snippet printed."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            return float(line.removeprefix(marker))
    raise ValueError("no timing in the output")


# --------------------------------------------------------------------------- measurements


@dataclass
class ImportTiming:
    """Wall (``samples_ms``) and CPU (``cpu_samples_ms``) milliseconds of each run, and medians."""

    label: str
    samples_ms: list[float] = field(default_factory=list)
    median_ms: float | None = None
    error: str | None = None
    cpu_samples_ms: list[float] = field(default_factory=list)
    cpu_median_ms: float | None = None
    #: With a bytecode probe (``ImportJob.after``): the modules the last run compiled from source.
    compiled_modules: list[str] | None = None

    def finish(self) -> ImportTiming:
        if self.error is None and self.samples_ms:
            self.median_ms = median(self.samples_ms)
            self.cpu_median_ms = median(self.cpu_samples_ms)
        return self


def _clean_environ() -> dict[str, str]:
    prefixes = ("AWS_", "POWERTOOLS_", "MLCP_", "LAMBDA_", "_X_AMZN")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@dataclass(frozen=True)
class ImportJob:
    """Statements to time in fresh interpreters, and where their samples go."""

    timing: ImportTiming
    statements: str
    env: Mapping[str, str]
    sys_path: Sequence[str] = ()
    cwd: Path | None = None
    after: str = ""


def time_imports(jobs: Sequence[ImportJob], runs: int = DEFAULT_RUNS) -> list[ImportTiming]:
    """Every job ``runs`` times, round-robin (a busy moment of the machine hits every job alike,
    so differences between them are of one moment), then their medians."""
    for _ in range(runs):
        for job in jobs:
            sample_import(
                job.timing, job.statements, env=job.env, sys_path=job.sys_path, cwd=job.cwd, after=job.after
            )
    return [job.timing.finish() for job in jobs]


def sample_import(
    result: ImportTiming,
    statements: str,
    *,
    env: Mapping[str, str],
    sys_path: Sequence[str] = (),
    python: str = sys.executable,
    cwd: Path | None = None,
    after: str = "",
) -> None:
    """One fresh interpreter: add its wall and CPU milliseconds to ``result`` (or its error), and
    what a bytecode probe in ``after`` printed."""
    if result.error:
        return
    program = timing_snippet(statements, sys_path, after)
    environ = {**_clean_environ(), "PYTHONDONTWRITEBYTECODE": "1", **env}
    proc = subprocess.run(  # noqa: S603 - our own interpreter and program
        [python, "-c", program], env=environ, cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        result.error = f"exit {proc.returncode}: {tail}"
        return
    result.samples_ms.append(parse_seconds(proc.stdout) * 1000)
    result.cpu_samples_ms.append(parse_seconds(proc.stdout, _CPU_MARKER) * 1000)
    for line in proc.stdout.splitlines():
        if line.startswith(_COMPILED_MARKER):
            result.compiled_modules = json.loads(line.removeprefix(_COMPILED_MARKER))


def module_available(module: str, python: str = sys.executable) -> bool:
    program = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([python, "-c", program], check=False).returncode == 0  # noqa: S603


def drop_bytecode(root: Path) -> list[Path]:
    """Remove the ``__pycache__`` of our own code in the source tree (``layers/``, ``functions/``), so
    the "from source" figures time compiling it (the timed interpreters write none). Without this a
    ``make test`` run before would hide that cost."""
    import shutil

    caches = sorted({*root.glob("layers/**/__pycache__"), *root.glob("functions/**/__pycache__")})
    for cache in caches:
        shutil.rmtree(cache, ignore_errors=True)
    return caches


def compile_stack(packages: Sequence[str] = STACK_PACKAGES) -> list[str]:
    """Byte-compile the installed ``packages`` (those present), as their first import would have;
    return their names. The figures then compare our code against a compiled stack, whether or not
    anything imported it before on this machine."""
    import compileall
    import importlib.util

    compiled: list[str] = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            for location in spec.submodule_search_locations:
                compileall.compile_dir(location, quiet=2)
        elif spec.origin and spec.origin.endswith(".py"):
            compileall.compile_file(spec.origin, quiet=2)
        compiled.append(name)
    return compiled


def _differs(source: Path, built: Path) -> bool:
    return not built.is_file() or built.read_bytes() != source.read_bytes()


def stale_sources(root: Path, template: Mapping[str, Any], build_dir: Path) -> list[str]:
    """Our Python sources that the ``sam build`` output does not hold as they are now (changed,
    missing, or deleted here but still built): each layer's packages (``ContentUri``/<package> as
    ``<build>/<Layer>/python/<package>``) and each function's code. Empty when the build is current."""
    stale: list[str] = []
    for layer_id, properties in sorted(_resources(template, LAYER_TYPE).items()):
        content_uri = properties.get("ContentUri")
        if not isinstance(content_uri, str):
            continue
        source_root = root / _norm_dir(content_uri)
        built_root = build_dir / layer_id / "python"
        for package in sorted(init.parent for init in source_root.glob("*/__init__.py")):
            sources = {path.relative_to(source_root) for path in package.rglob("*.py")}
            built = {path.relative_to(built_root) for path in (built_root / package.name).rglob("*.py")}
            stale += [
                (source_root / rel).relative_to(root).as_posix()
                for rel in sorted(sources | built)
                if rel not in sources or _differs(source_root / rel, built_root / rel)
            ]
    for logical_id, properties in sorted(_resources(template, FUNCTION_TYPE).items()):
        code_uri = properties.get("CodeUri")
        if not isinstance(code_uri, str):
            continue
        source_root = root / _norm_dir(code_uri)
        stale += [
            path.relative_to(root).as_posix()
            for path in sorted(source_root.rglob("*.py"))
            if _differs(path, build_dir / logical_id / path.relative_to(source_root))
        ]
    return stale


def shipped_problem(root: Path, template: Mapping[str, Any], build_dir: Path) -> str | None:
    """Why the handlers cannot be timed as shipped (no build, or one older than the sources), or None."""
    if not build_dir.is_dir():
        return f"not built ({build_dir}): run make sam-build"
    stale = stale_sources(root, template, build_dir)
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        return f"the build is older than {stale[0]}{more}: run make sam-build"
    return None


def paired_ratio(numerator: ImportTiming, denominator: ImportTiming) -> float | None:
    """Median over rounds of ``numerator / denominator`` taken round by round (both ran in the same
    round, so a slow moment of the shared machine hits both); None when either failed."""
    if numerator.error or denominator.error:
        return None
    pairs = list(zip(numerator.cpu_samples_ms, denominator.cpu_samples_ms, strict=True))
    if not pairs:
        return None
    return median(top / bottom for top, bottom in pairs if bottom > 0)


def handler_imports(
    root: Path, template: Mapping[str, Any], runs: int, build_dir: Path | None = None
) -> dict[str, Any]:
    """Bare ``import boto3``, the stack floor, the conventional handler, the other floors and every
    handler module twice, timed together (``time_imports``): **as shipped** (the function and its
    layers as ``sam build`` left them in ``build_dir``, their bytecode included: the budgeted
    figures) and **from source** (our code compiled at import). Each gets its CPU time over boto3's
    and its ratios to boto3, to the floor and to the conventional handler (paired per round); a
    shipped handler also lists the layer modules it had to compile (``compiled_modules``)."""
    build_dir = build_dir if build_dir is not None else root / ".aws-sam" / "build"
    by_dir = functions_by_code_dir(template)
    plain_env = handler_environment(template, None)
    baseline = ImportJob(ImportTiming("import boto3"), "import boto3", plain_env)
    floor = ImportJob(ImportTiming(STACK_FLOOR_LABEL), STACK_FLOOR, plain_env)
    conventional = ImportJob(ImportTiming(CONVENTIONAL_LABEL), CONVENTIONAL_HANDLER, plain_env)
    floors = [ImportJob(ImportTiming(label), code, plain_env) for label, code in IMPORT_FLOORS.items()]
    apps = sorted((root / "functions").glob("*/app.py"))
    logical_ids = [by_dir.get(_norm_dir(app.parent.relative_to(root).as_posix())) for app in apps]
    problem = shipped_problem(root, template, build_dir)
    shipped: list[ImportJob] = []
    for app, logical_id in zip(apps, logical_ids, strict=True):
        label = f"functions/{app.parent.name}/app.py"
        if problem is not None or logical_id is None:
            error = problem or "not a function of the template"
            shipped.append(ImportJob(ImportTiming(label, error=error), "import app", {}))
            continue
        code = build_dir / logical_id
        layers = [str(build_dir / layer / "python") for layer in function_layers(template, logical_id)]
        shipped.append(
            ImportJob(
                ImportTiming(label),
                "import app",
                handler_environment(template, logical_id),
                sys_path=[str(code), *layers],
                cwd=code,
                after=bytecode_probe(layers),
            )
        )
    from_source = [
        ImportJob(
            ImportTiming(f"functions/{app.parent.name}/app.py (from source)"),
            "import app",
            handler_environment(template, logical_id),
            sys_path=[str(app.parent)],
            cwd=app.parent,
        )
        for app, logical_id in zip(apps, logical_ids, strict=True)
    ]
    compile_stack()
    drop_bytecode(root)
    time_imports([baseline, floor, conventional, *floors, *shipped, *from_source], runs)
    boto3_ms = baseline.timing.cpu_median_ms

    def ratios(timing: ImportTiming) -> dict[str, Any]:
        entry: dict[str, Any] = asdict(timing)
        if timing.cpu_median_ms is not None and boto3_ms:
            entry["over_boto3_ms"] = timing.cpu_median_ms - boto3_ms
            entry["ratio"] = paired_ratio(timing, baseline.timing)
        entry["over_floor"] = paired_ratio(timing, floor.timing)
        entry["over_conventional"] = paired_ratio(timing, conventional.timing)
        return entry

    return {
        "runs": runs,
        "build_dir": str(build_dir),
        "baseline": asdict(baseline.timing),
        "floor": ratios(floor.timing),
        "conventional": ratios(conventional.timing),
        "floors": [ratios(job.timing) for job in floors],
        "handlers": [
            {
                "function": app.parent.name,
                "logical_id": logical_id,
                **ratios(job.timing),
                "from_source": ratios(source.timing),
            }
            for app, logical_id, job, source in zip(apps, logical_ids, shipped, from_source, strict=True)
        ],
    }


def tracer_cost(runs: int) -> dict[str, Any]:
    """Powertools Tracer: its import, and building it in Lambda (aws_xray_sdk, boto3 patched),
    each the difference of two measurements timed together."""
    if not module_available("aws_xray_sdk"):
        return {"aws_xray_sdk": "not installed"}
    env = dict(BASE_ENV)
    lambda_env = {**env, **LAMBDA_LIKE_ENV}
    with_boto3 = "import boto3\n" + POWERTOOLS_BASE
    base, imported, boto, built = time_imports(
        [
            ImportJob(ImportTiming("Logger, Metrics + parser"), POWERTOOLS_BASE, env),
            ImportJob(ImportTiming("... + import Tracer"), POWERTOOLS_BASE + TRACER_IMPORT, env),
            ImportJob(ImportTiming("boto3 + Logger, Metrics + parser"), with_boto3, lambda_env),
            ImportJob(ImportTiming("... + Tracer() in Lambda"), with_boto3 + TRACER_INIT, lambda_env),
        ],
        runs,
    )
    result: dict[str, Any] = {
        "aws_xray_sdk": "installed",
        "rows": [asdict(timing) for timing in (base, imported, boto, built)],
    }
    if base.cpu_median_ms is not None and imported.cpu_median_ms is not None:
        result["import_cost_ms"] = imported.cpu_median_ms - base.cpu_median_ms
    if boto.cpu_median_ms is not None and built.cpu_median_ms is not None:
        result["init_cost_ms"] = built.cpu_median_ms - boto.cpu_median_ms
    return result


def artifact_sizes(template: Mapping[str, Any], build_dir: Path) -> list[dict[str, Any]]:
    """Sizes of the layers and functions ``sam build`` produced (missing ones say so)."""
    kinds = dict.fromkeys(_resources(template, LAYER_TYPE), "layer")
    kinds.update(dict.fromkeys(_resources(template, FUNCTION_TYPE), "function"))
    if build_dir.is_dir():
        for extra in sorted(p.name for p in build_dir.iterdir() if p.is_dir()):
            kinds.setdefault(extra, "other")
    sizes: dict[str, ArtifactSize] = {}
    rows: list[dict[str, Any]] = []
    for logical_id, kind in sorted(kinds.items(), key=lambda item: (item[1] != "layer", item[0])):
        directory = build_dir / logical_id
        row: dict[str, Any] = {"logical_id": logical_id, "kind": kind}
        if directory.is_dir():
            size = sizes[logical_id] = zip_size(directory)
            row |= asdict(size) | {"zipped_mib": size.zipped_mib, "unzipped_mib": size.unzipped_mib}
        else:
            row["error"] = "not built"
        rows.append(row)
    for row in rows:
        if row["kind"] == "function" and row["logical_id"] in sizes:
            layers = [
                sizes[lid].unzipped_bytes
                for lid in function_layers(template, row["logical_id"])
                if lid in sizes
            ]
            row["unzipped_with_layers_bytes"] = sizes[row["logical_id"]].unzipped_bytes + sum(layers)
    return rows


def gate_workload() -> tuple[Any, ...]:
    """(policy, rule, tier name, tier, candidate, evidence): a high-risk tier with every gate on, and a
    candidate that passes them all, with SageMaker-shaped reports (a Clarify analysis.json over three facets)."""
    from datetime import UTC, datetime

    from mlcp.models.gates import Candidate, Container, Evidence
    from mlcp.policy.model import Policy

    account, region = "123456789012", "us-east-1"
    image = f"{account}.dkr.ecr.{region}.amazonaws.com/fraud-xgb@sha256:{'a' * 64}"
    model_url, sha = "s3://mlcp-artifacts/fraud/7/model.tar.gz", "b" * 64
    creator = f"arn:aws:sts::{account}:assumed-role/SageMakerPipelineExecutionRole/SageMaker-7b2lqg8k3v1x"
    auc, fpr = (
        "binary_classification_metrics.auc.value",
        "binary_classification_metrics.false_positive_rate.value",
    )
    policy = Policy.model_validate(
        {
            "tiers": {
                "high": {
                    "auto_approve": True,
                    "human_approval": False,
                    "gates": {
                        "metrics": {
                            "thresholds": [{"metric": auc, "min": 0.9}, {"metric": fpr, "max": 0.02}]
                        },
                        "regression": {"metric": auc, "tolerance": 0.01},
                        "bias": {
                            "enabled": True,
                            "bounds": [
                                {"metric": "CI", "max": 0.3},
                                {"metric": "DPL", "min": -0.1, "max": 0.1},
                                {"metric": "DI", "min": 0.8, "max": 1.25},
                            ],
                        },
                        "explainability": {"enabled": True},
                        "artifact_integrity": {
                            "allowed_registries": [
                                "683313688378.dkr.ecr.*.amazonaws.com",
                                f"{account}.dkr.ecr.*.amazonaws.com",
                            ],
                            "allowed_buckets": ["mlcp-*"],
                        },
                        "required_metadata": {
                            "keys": ["owner", "risk_tier", "cost_center", "data_classification"]
                        },
                        "cost_allocation_tags": {"enabled": True, "keys": ["owner", "cost-center"]},
                    },
                }
            },
            "groups": [{"match": "fraud-*", "tier": "high", "endpoint": "fraud-prod"}],
            "change_freezes": [
                {"start": "2026-12-21T00:00:00Z", "end": "2027-01-04T00:00:00Z", "reason": "year-end"}
            ],
        }
    )
    rule = policy.groups[0]

    def quality(auc_value: float) -> dict[str, Any]:
        values = {
            "auc": auc_value,
            "false_positive_rate": 0.012,
            "precision": 0.91,
            "recall": 0.82,
            "f1": 0.86,
        }
        metrics = {name: {"value": value, "standard_deviation": 0.004} for name, value in values.items()}
        return {"version": 0.0, "binary_classification_metrics": metrics}

    def facets(names: list[str], base: float) -> dict[str, Any]:
        return {
            facet: [
                {
                    "value_or_threshold": str(group),
                    "metrics": [{"name": n, "value": base * (i + 1) / 10} for i, n in enumerate(names)],
                }
                for group in range(2)
            ]
            for facet in ("gender", "age", "region")
        }

    pre = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
    post = ["DPPL", "DCAcc", "DCR", "RD", "DAR", "TE", "FT", "CDDPL"]
    bias: dict[str, Any] = {
        "version": "1.0",
        "pre_training_bias_metrics": {
            "label": "is_fraud",
            "label_value_or_threshold": "1",
            "facets": facets(pre, 0.05),
        },
        "post_training_bias_metrics": {
            "label": "is_fraud",
            "label_value_or_threshold": "1",
            "facets": facets(post, 0.05),
        },
    }
    for groups in bias["post_training_bias_metrics"]["facets"].values():
        for group in groups:
            group["metrics"].append({"name": "DI", "value": 0.93})
    candidate = Candidate(
        arn=f"arn:aws:sagemaker:{region}:{account}:model-package/fraud-detector/7",
        group="fraud-detector",
        version=7,
        approval_status="PendingManualApproval",
        created_by=creator,
        last_modified_by=creator,
        creation_time=datetime(2026, 5, 30, 9, 0, tzinfo=UTC),
        containers=[Container(image=image, model_data_url=model_url)],
        customer_metadata={
            "owner": "fraud-risk",
            "risk_tier": "high",
            "cost_center": "cc-4711",
            "data_classification": "confidential",
            "artifact_sha256": sha,
            "training_data": "s3://mlcp-training-data/fraud/2026-05.parquet?versionId=3HL4kqtJlcpXroDTDmJ,"
            "s3://mlcp-training-data/fraud/labels.csv?versionId=Wn2x8tcmLq0cJ2MyQ8a0",
        },
        tags={"owner": "fraud-risk", "cost-center": "cc-4711"},
        generated_by=f"arn:aws:sagemaker:{region}:{account}:pipeline/fraud-training/execution/7b2lqg8k3v1x",
        model_metrics={"model_quality_statistics": "s3://mlcp-reports/fraud/7/evaluation.json"},
    )
    evidence = Evidence(
        now=datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
        metrics_report=quality(0.94),
        champion_arn=f"arn:aws:sagemaker:{region}:{account}:model-package/fraud-detector/6",
        champion_metrics_report=quality(0.935),
        bias_report=bias,
        explainability_report={"version": "1.0", "explanations": {"kernel_shap": {}}},
        artifact_sha256={model_url: sha},
        approver=f"arn:aws:sts::{account}:assumed-role/RiskApprover/alice@example.com",
    )
    return policy, rule, "high", policy.tiers["high"], candidate, evidence


def gate_evaluation_cost(evaluations: int = DEFAULT_GATE_EVALUATIONS) -> dict[str, Any]:
    """CPU time (``time.process_time``) of ``evaluate_gates`` on ``gate_workload()``, per evaluation."""
    from mlcp.gates.evaluate import evaluate_gates

    workload = gate_workload()
    report = evaluate_gates(*workload)  # warm-up: lazy imports, regex compilation
    start = time.process_time()
    for _ in range(evaluations):
        evaluate_gates(*workload)
    cpu_seconds = time.process_time() - start
    return {
        "evaluations": evaluations,
        "cpu_seconds": cpu_seconds,
        "us_per_evaluation": cpu_seconds / evaluations * 1e6,
        "gates": len(report.results),
        "outcomes": [result.outcome.value for result in report.results],
        "decision": report.decision,
    }


# --------------------------------------------------------------------------- figures and budgets


@dataclass(frozen=True)
class Budget:
    """``value <= limit`` (``at_most``) or ``value >= limit``; ``strict``: ``<`` or ``>``."""

    limit: float
    at_most: bool = True
    strict: bool = False

    def met(self, value: float) -> bool:
        if self.strict:
            return value < self.limit if self.at_most else value > self.limit
        return value <= self.limit if self.at_most else value >= self.limit

    def __str__(self) -> str:
        sense = ("<" if self.at_most else ">") + ("" if self.strict else "=")
        return f"{sense} {self.limit:g}"


def at_most(limit: float) -> Budget:
    return Budget(limit, at_most=True)


def at_least(limit: float) -> Budget:
    return Budget(limit, at_most=False)


def below(limit: float) -> Budget:
    """``value < limit``, strictly."""
    return Budget(limit, at_most=True, strict=True)


@dataclass(frozen=True)
class Figure:
    """One measured figure. ``ok`` is None without a budget, False when it was not measured."""

    name: str
    value: float | None
    unit: str
    budget: Budget | None = None
    note: str = ""

    @property
    def ok(self) -> bool | None:
        if self.budget is None:
            return None
        return self.value is not None and self.budget.met(self.value)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "budget": None if self.budget is None else str(self.budget),
            "ok": self.ok,
        }
        if self.note:
            document["note"] = self.note
        return document


def format_value(value: float | None) -> str:
    """Three significant figures at least, thousands separated; ``-`` when not measured."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4g}"


def render_table(figures: Sequence[Figure]) -> str:
    """The figure / value / unit / budget / ok table, then a one-line verdict."""
    header = ("figure", "value", "unit", "budget", "ok")
    rows = [
        (
            f.name,
            format_value(f.value),
            f.unit,
            "" if f.budget is None else str(f.budget),
            {True: "ok", False: "MISS", None: ""}[f.ok],
        )
        for f in figures
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            str(cell).rjust(widths[i]) if i == 1 else str(cell).ljust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        out += ["", "notes:", *notes]
    out += ["", verdict(figures)]
    return "\n".join(out)


def verdict(figures: Sequence[Figure]) -> str:
    """``N of M budgets met``, and which missed (figures of one kind counted together)."""
    missed = misses(figures)
    budgeted = sum(1 for f in figures if f.budget is not None)
    kinds: dict[str, int] = {}
    for figure in missed:
        kind = figure.name.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    names = [kind if count == 1 else f"{kind} ({count})" for kind, count in kinds.items()]
    return f"{budgeted - len(missed)} of {budgeted} budgets met" + (
        f"; missed: {', '.join(names)}" if missed else ""
    )


def misses(figures: Iterable[Figure]) -> list[Figure]:
    return [f for f in figures if f.ok is False]


def results_document(
    figures: Sequence[Figure], details: Mapping[str, Any], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """What ``bench-results.json`` holds: run facts, ``figures`` (name -> value, unit, budget, ok)
    in table order, and the raw ``details`` each figure was computed from."""
    return {**meta, "figures": {f.name: f.to_json() for f in figures}, "details": dict(details)}


FLOOR_RATIO_BUDGET = at_most(FLOOR_RATIO_LIMIT)
CONVENTIONAL_RATIO_BUDGET = below(1.0)
SIZE_BUDGET_MB = at_most(5)
CPU_PER_EVENT_BUDGET_US = at_most(2000)
#: The canary analysis runs once per look at a deployment (every 120 s), not per event.
ANALYSIS_BUDGET_US = at_most(50_000)
GATE_RATE_BUDGET = at_least(1000)
CANARY_TRANSITIONS_BUDGET = at_most(25)
VERIFY_RATE_BUDGET = at_least(100_000)
TRANSACTIONS_PER_APPEND_BUDGET = at_most(1)
#: Issue 15: the full-loop play on a quiet host (the stack deploy is a figure of its own).
FULL_SCENARIO_BUDGET_S = at_most(2)


#: ADR 32: the layer ships the bytecode of everything a handler imports at init.
COMPILED_AT_IMPORT_BUDGET = at_most(0)


def import_figures(imports: Mapping[str, Any]) -> list[Figure]:
    """Cold imports: the ms CPU of boto3, the floor, the conventional handler and each handler;
    each handler's ratio to the floor and to the conventional handler (budgeted), and the worst."""
    baseline, floor, conventional = imports["baseline"], imports["floor"], imports["conventional"]
    runs = imports.get("runs")
    figures = [
        Figure(
            "cold import: import boto3", baseline.get("cpu_median_ms"), "ms CPU", note=baseline["error"] or ""
        ),
        Figure(
            f"cold import: {STACK_FLOOR_LABEL}",
            floor.get("cpu_median_ms"),
            "ms CPU",
            note=floor["error"] or f"{format_value(floor.get('ratio'))}x boto3",
        ),
        Figure(
            f"cold import: {CONVENTIONAL_LABEL}",
            conventional.get("cpu_median_ms"),
            "ms CPU",
            note=conventional["error"]
            or f"{format_value(conventional.get('ratio'))}x boto3, "
            f"{format_value(conventional.get('over_floor'))}x the floor",
        ),
    ]
    for other in imports.get("floors", []):
        figures.append(
            Figure(
                f"cold import floor: {other['label']}",
                other.get("ratio"),
                "x boto3",
                note=other["error"] or "",
            )
        )
    for handler in imports["handlers"]:
        name = handler["function"]
        figures.append(
            Figure(
                f"cold import: {name}",
                handler.get("cpu_median_ms"),
                "ms CPU",
                note=handler["error"] or _from_source_note(handler.get("from_source")),
            )
        )
    figures.append(compiled_at_import_figure(imports["handlers"]))
    for handler in imports["handlers"]:
        figures.append(
            Figure(
                f"cold import vs floor: {handler['function']}",
                handler.get("over_floor"),
                "x floor",
                FLOOR_RATIO_BUDGET,
            )
        )
    for handler in imports["handlers"]:
        figures.append(
            Figure(
                f"cold import vs conventional: {handler['function']}",
                handler.get("over_conventional"),
                "x conventional",
                CONVENTIONAL_RATIO_BUDGET,
            )
        )
    worst = worst_handler(imports["handlers"])
    figures.append(
        Figure(
            "cold start budget: worst handler vs floor",
            None if worst is None else worst.get("over_floor"),
            "x floor",
            FLOOR_RATIO_BUDGET,
            note=("" if worst is None else f"{worst['function']}; ")
            + f"paired per round, median of {runs} rounds"
            + _worst_from_source_note(imports["handlers"]),
        )
    )
    return figures


def _worst_from_source_note(handlers: Sequence[Mapping[str, Any]]) -> str:
    sources = [{"function": h["function"], **h["from_source"]} for h in handlers if h.get("from_source")]
    worst = worst_handler(sources)
    if worst is None:
        return ""
    return f"; from source: {worst['function']} {format_value(worst.get('over_floor'))}x"


def _from_source_note(source: Mapping[str, Any] | None) -> str:
    if not source:
        return ""
    if source.get("error"):
        return f"from source: {source['error']}"
    return (
        f"from source (our code compiled at import) {format_value(source.get('cpu_median_ms'))} ms, "
        f"{format_value(source.get('over_floor'))}x the floor"
    )


def compiled_at_import_figure(handlers: Sequence[Mapping[str, Any]]) -> Figure:
    """The most layer modules one handler had to compile at import, as shipped (budget: none; a
    handler that was not timed, or not probed, leaves it unmeasured); the note names them."""
    name = "cold import: layer modules compiled at import (as shipped)"
    counts = [h.get("compiled_modules") for h in handlers]
    if not handlers or any(modules is None for modules in counts):
        return Figure(name, None, "modules", COMPILED_AT_IMPORT_BUDGET, note="not measured for every handler")
    offenders = [
        f"{h['function']}: {', '.join(h['compiled_modules'])}" for h in handlers if h["compiled_modules"]
    ]
    return Figure(
        name,
        max(len(modules or []) for modules in counts),
        "modules",
        COMPILED_AT_IMPORT_BUDGET,
        note="; ".join(offenders),
    )


def worst_handler(handlers: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The handler with the highest ratio to the floor (one that failed to import counts as worst)."""
    if not handlers:
        return None
    return max(handlers, key=lambda h: float("inf") if h.get("over_floor") is None else h["over_floor"])


def cold_start_verdict(imports: Mapping[str, Any]) -> str:
    """One line that says whether the cold start budget (issue 17) is met, and by whom it is not."""
    handlers = imports["handlers"]
    worst = worst_handler(handlers)
    if worst is None:
        return "cold start budget: no handlers measured"
    floor_misses = [h for h in handlers if h.get("over_floor") is None or h["over_floor"] > FLOOR_RATIO_LIMIT]
    slower = [h for h in handlers if h.get("over_conventional") is None or h["over_conventional"] >= 1.0]
    worst_text = f"worst {worst['function']} at {format_value(worst.get('over_floor'))}x the floor"
    if not floor_misses and not slower:
        return (
            f"cold start budget MET: {worst_text} (<= {FLOOR_RATIO_LIMIT:g}x), "
            "every handler faster than the conventional handler"
        )
    parts = []
    if floor_misses:
        names = ", ".join(f"{h['function']} {format_value(h.get('over_floor'))}x" for h in floor_misses)
        parts.append(f"over {FLOOR_RATIO_LIMIT:g}x the floor: {names}")
    if slower:
        names = ", ".join(f"{h['function']} {format_value(h.get('over_conventional'))}x" for h in slower)
        parts.append(f"not faster than the conventional handler: {names}")
    return "cold start budget MISSED: " + "; ".join(parts)


def size_figures(sizes: Sequence[Mapping[str, Any]]) -> list[Figure]:
    """Each built layer and function (kB, zipped) and their total (MB, budgeted)."""
    deployed = [row for row in sizes if row["kind"] in {"layer", "function"}]
    figures = [
        Figure(
            f"zipped size: {row['logical_id']}",
            None if "error" in row else row["zipped_bytes"] / 1000,
            "kB",
            note=row.get("error", ""),
        )
        for row in deployed
    ]
    built = [row for row in deployed if "error" not in row]
    missing = [row["logical_id"] for row in deployed if "error" in row]
    total = sum(row["zipped_bytes"] for row in built) / MB if built and not missing else None
    layers = sum(1 for row in built if row["kind"] == "layer")
    note = (
        f"not built: {', '.join(missing)} (make sam-build)"
        if missing
        else f"{layers} layer(s) + {len(built) - layers} functions"
    )
    figures.append(Figure("zipped size: total", total, "MB", SIZE_BUDGET_MB, note))
    return figures


def path_figures(paths: Mapping[str, Any]) -> list[Figure]:
    figures = []
    for name, cost in paths.items():
        if "error" in cost:
            figures.append(
                Figure(f"CPU per event: {name}", None, "us", CPU_PER_EVENT_BUDGET_US, cost["error"])
            )
            continue
        budget = ANALYSIS_BUDGET_US if name == "canary analysis" else CPU_PER_EVENT_BUDGET_US
        figures.append(Figure(f"CPU per event: {name}", cost["us_per_event"], "us", budget))
        rate_budget = GATE_RATE_BUDGET if name == "gates" else None
        figures.append(
            Figure(f"events per second: {name}", cost["events_per_second"], "/s (1 core)", rate_budget)
        )
    return figures


def transitions_by_mode(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per deployment mode: the most transitions any of its executions took, and where."""
    modes: dict[str, dict[str, Any]] = {}
    for run_ in runs:
        for execution in run_.get("executions", []):
            mode = execution["mode"]
            if mode not in modes or execution["transitions"] > modes[mode]["transitions"]:
                modes[mode] = {"transitions": execution["transitions"], "scenario": run_["scenario"]}
    return modes


def transition_figures(runs: Sequence[Mapping[str, Any]], usd_per_transition: float) -> list[Figure]:
    figures = []
    for mode, found in sorted(transitions_by_mode(runs).items()):
        # The budget is the native canary's; a canary with analysis looks every 120 s (reported).
        budget = CANARY_TRANSITIONS_BUDGET if mode.startswith("canary") and "analysis" not in mode else None
        figures.append(
            Figure(
                f"transitions: {mode}",
                found["transitions"],
                "per deployment",
                budget,
                note=f"scenario {found['scenario']}",
            )
        )
        figures.append(
            Figure(f"cost: {mode}", found["transitions"] * usd_per_transition, "USD per deployment")
        )
    for run_ in runs:
        if "error" in run_:
            figures.append(
                Figure(
                    f"transitions: {run_['scenario']}",
                    None,
                    "per deployment",
                    CANARY_TRANSITIONS_BUDGET,
                    run_["error"],
                )
            )
    return figures


def audit_retry_budget() -> Budget:
    """At most ``AuditTrail``'s default ``max_attempts``: a writer past it raises AuditConflict."""
    import inspect

    from mlcp.adapters.audit_trail import AuditTrail

    return at_most(inspect.signature(AuditTrail).parameters["max_attempts"].default)


def data_arrival_writers(template: Mapping[str, Any]) -> int:
    """The template's default ``DataArrivalConcurrency``: how many writers share the data stream."""
    return int(template.get("Parameters", {}).get("DataArrivalConcurrency", {}).get("Default", 5))


def audit_figures(
    appends: Mapping[str, Any], verify: Mapping[str, Any], contention: Sequence[Mapping[str, Any]] = ()
) -> list[Figure]:
    return [
        Figure(
            "audit appends per second",
            appends.get("appends_per_second"),
            "/s (emulator DynamoDB)",
            note=appends.get("error", f"{appends.get('appends')} appends to one stream"),
        ),
        Figure(
            "audit TransactWriteItems per append",
            appends.get("transactions_per_append"),
            "calls",
            TRANSACTIONS_PER_APPEND_BUDGET,
            appends.get("error", ""),
        ),
        Figure(
            "audit verify",
            verify.get("records_per_second"),
            "records/s (1 core)",
            VERIFY_RATE_BUDGET,
            verify.get("error", f"chain of {verify.get('records')} records"),
        ),
        *(
            Figure(
                f"audit attempts per append, {run_.get('writers')} writers on one stream",
                run_.get("attempts_max"),
                "max",
                audit_retry_budget() if run_.get("budgeted") else None,
                run_.get("error")
                or (
                    f"mean {run_['attempts_mean']:.2f}, p99 {run_['attempts_p99']} over {run_['appends']}"
                    f" appends; {run_['conflicts']} AuditConflict"
                ),
            )
            for run_ in contention
        ),
    ]


# Added monthly cost of the digests (us-east-1 list prices, 2026): KMS asymmetric Sign $0.15 per
# 10,000 requests (ECC_NIST_P256) + the key $1/month; S3 PUT/LIST $0.005 per 1,000, GET $0.0004 per
# 1,000, Standard storage $0.023 per GB-month; DynamoDB on-demand $0.125 per million read request units.
KMS_SIGN_USD = 0.15 / 10_000
KMS_KEY_USD_PER_MONTH = 1.0
S3_PUT_USD = 0.005 / 1_000
S3_GET_USD = 0.0004 / 1_000
S3_GB_MONTH_USD = 0.023
DDB_RRU_USD = 0.125 / 1_000_000
HOURS_PER_MONTH = 730
DEPLOYMENTS_PER_MONTH = 200
"""Assumed deployment executions a month (each ends with one more digest)."""


def digest_monthly_cost(digest_bytes: float, table_gb: float = 1.0) -> dict[str, float]:
    """USD a month for hourly digests plus one per deployment: signs, puts, gets, lists, the
    consistent scan of a ``table_gb`` audit table per digest, and one month's new digest storage."""
    runs = HOURS_PER_MONTH + DEPLOYMENTS_PER_MONTH
    scan_rru = table_gb * 1024**3 / 4096  # a consistent Scan reads 4 KB per read request unit
    parts = {
        "kms": runs * KMS_SIGN_USD + KMS_KEY_USD_PER_MONTH,
        "s3": runs * (S3_PUT_USD + S3_GET_USD + S3_PUT_USD) + runs * digest_bytes / 1024**3 * S3_GB_MONTH_USD,
        "dynamodb_scan": runs * scan_rru * DDB_RRU_USD,
    }
    parts["total"] = sum(parts.values())
    return parts


def digest_figures(cost: Mapping[str, Any]) -> list[Figure]:
    """Signed digests: CPU and size for the bench's streams, verify throughput, monthly cost."""
    if "error" in cost:
        return [Figure("audit digest", None, "", note=str(cost["error"]))]
    streams = cost["streams"]
    monthly = digest_monthly_cost(cost["digest_bytes"])
    return [
        Figure(
            f"audit digest build CPU, {streams} streams",
            cost["digest_build_cpu_seconds"] * 1000,
            "ms (1 core)",
            note="model, canonical JSON and SHA-256 of the signed bytes; no I/O",
        ),
        Figure(
            f"audit digest run, {streams} streams",
            cost["digest_wall_seconds"] * 1000,
            "ms wall (emulator)",
            note="scan the heads, read the last digest, KMS Sign, locked PutObject",
        ),
        Figure(f"audit digest size, {streams} streams", cost["digest_bytes"] / 1024, "KiB"),
        Figure(
            "audit verify with digests",
            cost["verify_records_per_second"],
            "records/s (1 core)",
            note=(
                f"{cost['verify_records']} records in {streams} streams, {cost['verify_digests']} digests: "
                f"chains {cost['verify_chain_cpu_seconds']:.2f} s, signatures and anchors "
                f"{cost['verify_anchor_cpu_seconds']:.2f} s"
            ),
        ),
        Figure(
            "audit digests, added monthly cost",
            monthly["total"],
            "USD/month",
            note=(
                f"{HOURS_PER_MONTH} hourly + {DEPLOYMENTS_PER_MONTH} deployment digests: KMS ${monthly['kms']:.2f} "
                f"(incl. $1 key), S3 ${monthly['s3']:.3f}, consistent scan of a 1 GB table "
                f"${monthly['dynamodb_scan']:.2f}"
            ),
        ),
    ]


def scenario_figures(
    run_: Mapping[str, Any] | None,
    reference: Mapping[str, Any] | None = None,
    command: Mapping[str, Any] | None = None,
) -> list[Figure]:
    """The full scenario's wall time; with ``reference`` (the same run with the virtual clock's
    skipping disabled: real time passes at its rate), the ratio of the two; with ``command``,
    the whole ``mlcp local run`` of it in a process of its own."""
    if run_ is None:
        return [
            Figure(f"full local scenario ({FULL_SCENARIO})", None, "s", FULL_SCENARIO_BUDGET_S, "not run")
        ]
    if "error" in run_:
        return [
            Figure(f"full local scenario ({FULL_SCENARIO})", None, "s", FULL_SCENARIO_BUDGET_S, run_["error"])
        ]
    played = run_["play_seconds"] if run_["ok"] else None
    note = (
        f"{run_['simulated_seconds']:.0f} simulated seconds on the virtual clock"
        + (f", {run_['play_cpu_seconds']:.2f} s CPU" if "play_cpu_seconds" in run_ else "")
        if run_["ok"]
        else "expectations failed: " + "; ".join(run_["failures"])
    )
    figures = [
        Figure(f"full local scenario ({FULL_SCENARIO})", played, "s wall", FULL_SCENARIO_BUDGET_S, note),
        Figure("stack deploy on the emulator", run_["deploy_seconds"], "s wall"),
    ]
    if reference is not None and "error" not in reference:
        unskipped = reference["play_seconds"] if reference["ok"] else None
        ratio = played / unskipped if played is not None and unskipped else None
        figures.append(
            Figure(
                f"full local scenario ({FULL_SCENARIO}) / same run without time skipping",
                ratio,
                "x",
                note=(
                    f"{unskipped:.2f} s wall with skipping disabled (real time at "
                    f"{reference.get('rate', 0):g} simulated s per s)"
                    if unskipped is not None
                    else "the reference run failed: " + "; ".join(reference.get("failures", []))
                ),
            )
        )
    if command is not None:
        figures += whole_command_figures(command)
    return figures


def whole_command_figures(command: Mapping[str, Any]) -> list[Figure]:
    """The whole ``mlcp local run`` of the full scenario in a process of its own (issue 15's
    budget: everything a user waits for), the same command with the clock's skipping disabled, and
    the ratio of the two, measured in turn in one run."""
    name = f"mlcp local run {FULL_SCENARIO} (whole command)"
    if not command.get("ok"):
        return [
            Figure(name, None, "s wall", FULL_SCENARIO_BUDGET_S, "failed: " + str(command.get("error", "")))
        ]
    rounds = command.get("rounds", 1)
    figures = [
        Figure(
            name,
            command["wall_seconds"],
            "s wall",
            FULL_SCENARIO_BUDGET_S,
            note=(
                f"{command['cpu_seconds']:.2f} s CPU: interpreter start, imports, deploy, play, audit verify, "
                f"exit" + (f" (fastest of {rounds})" if rounds > 1 else "")
            ),
        )
    ]
    unskipped = command.get("unskipped")
    if unskipped is None:
        return figures
    reference = f"mlcp local run {FULL_SCENARIO} without time skipping (whole command)"
    if not unskipped.get("ok"):
        failed = "failed: " + str(unskipped.get("error", ""))
        return [*figures, Figure(reference, None, "s wall", note=failed)]
    return [
        *figures,
        Figure(
            reference,
            unskipped["wall_seconds"],
            "s wall",
            note=f"{unskipped['cpu_seconds']:.2f} s CPU, MLCP_CLOCK_SKIPPING=off: real time passes between timers",
        ),
        Figure(
            f"mlcp local run {FULL_SCENARIO}: with / without time skipping (whole command)",
            command.get("ratio"),
            "x",
            note="the two commands run in turn in this run; each side's fastest",
        ),
    ]


def tracer_figures(tracer: Mapping[str, Any]) -> list[Figure]:
    if tracer.get("aws_xray_sdk") != "installed":
        return []
    return [
        Figure(
            "Tracer import (lazy)",
            tracer.get("import_cost_ms"),
            "ms CPU",
            note="difference of two medians: around 0 (either sign) means the import costs nothing",
        ),
        Figure("Tracer() in Lambda (loads aws_xray_sdk)", tracer.get("init_cost_ms"), "ms CPU"),
    ]


# --------------------------------------------------------------------------- the run


def _guarded(label: str, measure: Any) -> dict[str, Any]:
    """A measurement's result, or ``{"error": ...}``: one failing workload does not hide the rest."""
    try:
        result: dict[str, Any] = measure()
    except Exception as exc:  # reported as the figure's note, the other figures still run
        return {"error": f"{label}: {type(exc).__name__}: {exc}"}
    return result


def _path_cost(cost: Any) -> dict[str, Any]:
    return {
        "events": cost.events,
        "cpu_seconds": cost.cpu_seconds,
        "us_per_event": cost.us_per_event,
        "events_per_second": cost.events_per_second,
        "api_calls_per_event": cost.api_calls_per_event,
        "outcome": cost.outcome,
    }


@dataclass(frozen=True)
class BenchOptions:
    root: Path
    template: Path
    build_dir: Path
    runs: int = DEFAULT_RUNS
    gate_evaluations: int = DEFAULT_GATE_EVALUATIONS
    path_events: int = DEFAULT_PATH_EVENTS
    audit_appends: int = DEFAULT_AUDIT_APPENDS
    verify_records: int = DEFAULT_VERIFY_RECORDS
    scenarios: bool = True
    imports_only: bool = False


def run(options: BenchOptions, progress: Any = sys.stderr) -> tuple[list[Figure], dict[str, Any]]:
    """Measure everything; (figures in table order, details)."""
    from mlcp_cli import bench_workloads as workloads

    def say(what: str) -> None:
        progress.write(f"bench: {what}\n")
        progress.flush()

    template = load_template(options.template) if options.template.exists() else {}
    details: dict[str, Any] = {}
    say(f"cold imports ({options.runs} rounds of fresh interpreters)")
    details["imports"] = handler_imports(options.root, template, options.runs, options.build_dir)
    if options.imports_only:
        return import_figures(details["imports"]), details
    say("package sizes")
    details["sizes"] = artifact_sizes(template, options.build_dir)
    say("Powertools Tracer")
    details["tracer"] = tracer_cost(min(options.runs, DEFAULT_RUNS))
    say("CPU per event")
    details["paths"] = {
        "gates": _guarded("gates", lambda: _gate_cost(options.gate_evaluations)),
        "routing": _guarded(
            "routing",
            lambda: _path_cost(workloads.routing_cost(options.path_events, options.root / "events")),
        ),
        "incident dedup": _guarded(
            "incident dedup", lambda: _path_cost(workloads.incident_dedup_cost(options.path_events))
        ),
        "retraining guard": _guarded(
            "retraining guard", lambda: _path_cost(workloads.retraining_guard_cost(options.path_events))
        ),
        "canary analysis": _guarded(
            "canary analysis",
            lambda: _path_cost(workloads.analysis_cost(max(10, options.path_events // 100))),
        ),
    }
    say("policy at scale (1,000 groups, 20 tiers; dry run over 10,000 decisions)")
    from mlcp_cli.bench_policy import policy_figures, policy_scale

    details["policy_scale"] = policy_scale(options.root)
    say("audit trail")
    details["audit_appends"] = _guarded("appends", lambda: workloads.audit_append_rate(options.audit_appends))
    details["audit_verify"] = _guarded("verify", lambda: workloads.audit_verify_rate(options.verify_records))
    details["audit_digest"] = _guarded("digest", lambda: workloads.audit_digest_cost(1_000))
    # At the data-arrival cap (budgeted: no append may exhaust the retries), and at twice the cap.
    cap = data_arrival_writers(template)
    details["audit_contention"] = [
        {
            "writers": writers,
            "budgeted": writers == cap,
            **_guarded(
                "contention", lambda writers=writers: workloads.audit_contention(writers, 200 // writers)
            ),
        }
        for writers in (cap, 2 * cap)
    ]
    runs_: list[dict[str, Any]] = []
    full: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    if options.scenarios:
        for name in (FULL_SCENARIO, *MODE_SCENARIOS):
            path = options.root / "scenarios" / f"{name}.yaml"
            if not path.exists():
                continue
            say(f"scenario {name} on the emulator")
            result = _guarded(
                name, lambda path=path: workloads.run_scenario(options.root, options.template, path)
            )
            result.setdefault("scenario", name)
            runs_.append(result)
            if name == FULL_SCENARIO:
                full = result
                say(f"scenario {name} again, with the virtual clock's skipping disabled")
                reference = _guarded(
                    name,
                    lambda path=path: workloads.run_scenario(
                        options.root, options.template, path, skipping=False
                    ),
                )
                say(f"scenario {name} as a whole `mlcp local run` command, with and without skipping")
                command = _guarded(
                    name, lambda path=path: workloads.whole_commands(options.root, options.template, path)
                )
    details["scenarios"] = runs_
    details["scenario_command"] = command
    figures = [
        *import_figures(details["imports"]),
        *size_figures(details["sizes"]),
        *path_figures(details["paths"]),
        *transition_figures(runs_, workloads.USD_PER_TRANSITION),
        *audit_figures(details["audit_appends"], details["audit_verify"], details["audit_contention"]),
        *digest_figures(details["audit_digest"]),
        *policy_figures(details["policy_scale"]),
        *(scenario_figures(full, reference, command) if options.scenarios else []),
        *tracer_figures(details["tracer"]),
    ]
    return figures, details


def _gate_cost(evaluations: int) -> dict[str, Any]:
    cost = gate_evaluation_cost(evaluations)
    cost["events_per_second"] = evaluations / cost["cpu_seconds"] if cost["cpu_seconds"] else float("inf")
    cost["us_per_event"] = cost["us_per_evaluation"]
    return cost


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlcp_cli.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: cwd)")
    parser.add_argument("--template", type=Path, help="SAM template (default: ROOT/template.yaml)")
    parser.add_argument("--build-dir", type=Path, help="sam build output (default: ROOT/.aws-sam/build)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="fresh interpreters per import figure")
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"), help="JSON results file")
    parser.add_argument(
        "--gate-evaluations",
        type=int,
        default=DEFAULT_GATE_EVALUATIONS,
        help="evaluate_gates runs timed for the per-evaluation CPU cost",
    )
    parser.add_argument(
        "--events", type=int, default=DEFAULT_PATH_EVENTS, help="events timed per decision path"
    )
    parser.add_argument("--appends", type=int, default=DEFAULT_AUDIT_APPENDS, help="audit appends timed")
    parser.add_argument(
        "--verify-records", type=int, default=DEFAULT_VERIFY_RECORDS, help="records in the verified chain"
    )
    parser.add_argument("--no-scenarios", action="store_true", help="skip the emulator scenarios")
    parser.add_argument(
        "--imports-only", action="store_true", help="only the cold imports (handlers, floor, conventional)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure misses its budget")
    args = parser.parse_args(argv)
    for name in ("runs", "gate_evaluations", "events", "appends", "verify_records"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    root = args.root.resolve()
    options = BenchOptions(
        root=root,
        template=args.template or root / "template.yaml",
        build_dir=args.build_dir or root / ".aws-sam" / "build",
        runs=args.runs,
        gate_evaluations=args.gate_evaluations,
        path_events=args.events,
        audit_appends=args.appends,
        verify_records=args.verify_records,
        scenarios=not args.no_scenarios,
        imports_only=args.imports_only,
    )
    figures, details = run(options)
    meta = {"python": platform.python_version(), "runs": args.runs, "template": str(options.template)}
    print(render_table(figures))
    if "imports" in details:
        print(cold_start_verdict(details["imports"]))
    args.output.write_text(
        json.dumps(results_document(figures, details, meta), indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nwrote {args.output}")
    return 1 if args.check and misses(figures) else 0


if __name__ == "__main__":
    sys.exit(main())
