"""``make bench`` (``python -m mlcp_cli.bench``): cold-import and package-size benchmarks.

Measures, and prints as a table and writes to ``bench-results.json``:

* cold import time of every handler module ``functions/<name>/app.py`` against a bare
  ``import boto3``, each in fresh interpreters (median of ``--runs``), with the environment
  variables template.yaml gives that function (dummy values for intrinsics);
* zipped (deflate, in memory) and unzipped size of the layer and of each function that
  ``sam build`` put under ``.aws-sam/build/<LogicalId>/``;
* the cost of the Powertools Tracer: Logger + Metrics + parser, with and without ``Tracer``.
* CPU time of one deployment-gate evaluation (``mlcp.gates.evaluate.evaluate_gates``, every gate on,
  a realistic candidate and evidence, no I/O): ``time.process_time`` over ``--gate-evaluations`` runs.

Numbers are informative; nothing here asserts on time.
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

DEFAULT_RUNS = 5
MIB = 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * MIB
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
BASE_ENV = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
_MARKER = "__mlcp_bench_seconds__="
DEFAULT_GATE_EVALUATIONS = 2000

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

    Literals are kept; ``!Ref`` to a parameter takes its Default; any other intrinsic becomes a
    plausible dummy shaped after the variable's name (URL, ARN, name).
    """
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = parameters.get(value["Ref"])
        if isinstance(parameter, dict) and "Default" in parameter:
            return str(parameter["Default"])
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    if key.endswith("_URL"):
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/bench-{slug}"
    if key.endswith("_ARN"):
        return f"arn:aws:lambda:us-east-1:123456789012:function:bench-{slug}"
    return f"bench-{slug}"


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


def timing_snippet(statements: str, sys_path: Sequence[str] = ()) -> str:
    """A ``python -c`` program that times ``statements`` with perf_counter and prints the seconds."""
    lines = ["import sys, time"]
    lines += [f"sys.path.insert(0, {entry!r})" for entry in sys_path]
    lines += ["_t0 = time.perf_counter()", *statements.strip().splitlines()]
    lines.append(f"print({_MARKER!r} + repr(time.perf_counter() - _t0))")
    return "\n".join(lines) + "\n"


def parse_seconds(stdout: str) -> float:
    for line in reversed(stdout.splitlines()):
        if line.startswith(_MARKER):
            return float(line.removeprefix(_MARKER))
    raise ValueError("no timing in the output")


# --------------------------------------------------------------------------- measurements


@dataclass
class ImportTiming:
    label: str
    samples_ms: list[float] = field(default_factory=list)
    median_ms: float | None = None
    error: str | None = None


def _clean_environ() -> dict[str, str]:
    prefixes = ("AWS_", "POWERTOOLS_", "MLCP_", "LAMBDA_", "_X_AMZN")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def measure_import(
    label: str,
    statements: str,
    *,
    env: Mapping[str, str],
    runs: int = DEFAULT_RUNS,
    sys_path: Sequence[str] = (),
    python: str = sys.executable,
    cwd: Path | None = None,
) -> ImportTiming:
    """Time ``statements`` in ``runs`` fresh interpreters; keep every sample and the median."""
    result = ImportTiming(label)
    program = timing_snippet(statements, sys_path)
    environ = {**_clean_environ(), "PYTHONDONTWRITEBYTECODE": "1", **env}
    for _ in range(runs):
        proc = subprocess.run(  # noqa: S603 - our own interpreter and program
            [python, "-c", program], env=environ, cwd=cwd, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            result.error = f"exit {proc.returncode}: {tail}"
            return result
        result.samples_ms.append(parse_seconds(proc.stdout) * 1000)
    result.median_ms = median(result.samples_ms)
    return result


def module_available(module: str, python: str = sys.executable) -> bool:
    program = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([python, "-c", program], check=False).returncode == 0  # noqa: S603


def handler_imports(root: Path, template: Mapping[str, Any], runs: int) -> dict[str, Any]:
    by_dir = functions_by_code_dir(template)
    baseline = measure_import(
        "import boto3", "import boto3", env=handler_environment(template, None), runs=runs
    )
    handlers: list[dict[str, Any]] = []
    for app in sorted((root / "functions").glob("*/app.py")):
        code_dir = app.parent
        logical_id = by_dir.get(_norm_dir(code_dir.relative_to(root).as_posix()))
        timing = measure_import(
            f"functions/{code_dir.name}/app.py",
            "import app",
            env=handler_environment(template, logical_id),
            runs=runs,
            sys_path=[str(code_dir)],
            cwd=code_dir,
        )
        entry = {"function": code_dir.name, "logical_id": logical_id, **asdict(timing)}
        if timing.median_ms is not None and baseline.median_ms is not None:
            entry["over_boto3_ms"] = timing.median_ms - baseline.median_ms
        handlers.append(entry)
    return {"baseline": asdict(baseline), "handlers": handlers}


def tracer_cost(runs: int) -> dict[str, Any]:
    if not module_available("aws_xray_sdk"):
        return {"aws_xray_sdk": "not installed"}
    env = dict(BASE_ENV)
    base = measure_import("Logger, Metrics + parser", POWERTOOLS_BASE, env=env, runs=runs)
    imported = measure_import("... + import Tracer", POWERTOOLS_BASE + TRACER_IMPORT, env=env, runs=runs)
    with_boto3 = "import boto3\n" + POWERTOOLS_BASE
    lambda_env = {**env, **LAMBDA_LIKE_ENV}
    boto = measure_import("boto3 + Logger, Metrics + parser", with_boto3, env=lambda_env, runs=runs)
    built = measure_import("... + Tracer() in Lambda", with_boto3 + TRACER_INIT, env=lambda_env, runs=runs)
    rows = [asdict(timing) for timing in (base, imported, boto, built)]
    result: dict[str, Any] = {"aws_xray_sdk": "installed", "rows": rows}
    if base.median_ms is not None and imported.median_ms is not None:
        result["import_cost_ms"] = imported.median_ms - base.median_ms
    if boto.median_ms is not None and built.median_ms is not None:
        result["init_cost_ms"] = built.median_ms - boto.median_ms
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

    from mlcp.gates.model import Candidate, Container, Evidence
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


# --------------------------------------------------------------------------- report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:8.1f} ms"


def render_gates(gates: Mapping[str, Any] | None) -> list[str]:
    """The gate-evaluation lines of the report (none when it was not measured)."""
    if not gates:
        return []
    return [
        "",
        "Gate evaluation (evaluate_gates, every gate on, no I/O)",
        f"  {gates['us_per_evaluation']:8.1f} us CPU per evaluation"
        f" ({gates['evaluations']} evaluations, {gates['cpu_seconds']:.3f} s CPU, {gates['gates']} gates,"
        f" decision {gates['decision']})",
    ]


def render(results: Mapping[str, Any]) -> str:
    out: list[str] = [
        f"mlcp bench  (python {results['python']}, median of {results['runs']} fresh interpreters)"
    ]
    imports = results["imports"]
    out += ["", "Cold import", f"  {'module':<44} {'median':>11} {'over boto3':>12}"]
    baseline = imports["baseline"]
    out.append(f"  {baseline['label']:<44} {_ms(baseline['median_ms']):>11} {'':>12}")
    for handler in imports["handlers"]:
        extra = handler.get("over_boto3_ms")
        if handler["error"]:
            out.append(f"  {handler['label']:<44} {'error':>11}  {handler['error']}")
        else:
            delta = "" if extra is None else f"{extra:+8.1f} ms"
            out.append(f"  {handler['label']:<44} {_ms(handler['median_ms']):>11} {delta:>12}")
    if not imports["handlers"]:
        out.append("  (no functions/*/app.py yet)")

    out += [
        "",
        "Package size (deflate)",
        f"  {'artifact':<34} {'kind':<9} {'files':>6} {'zipped':>16} {'unzipped':>16}",
    ]
    for row in results["sizes"]:
        if "error" in row:
            out.append(f"  {row['logical_id']:<34} {row['kind']:<9} {row['error']}")
            continue
        zipped = f"{row['zipped_bytes']:>9} {row['zipped_mib']:5.2f}M"
        unzipped = f"{row['unzipped_bytes']:>9} {row['unzipped_mib']:5.2f}M"
        out.append(
            f"  {row['logical_id']:<34} {row['kind']:<9} {row['files']:>6} {zipped:>16} {unzipped:>16}"
        )
    with_layers = [
        r["unzipped_with_layers_bytes"] for r in results["sizes"] if "unzipped_with_layers_bytes" in r
    ]
    if with_layers:
        out.append(
            f"  largest function + layers unzipped: {max(with_layers) / MIB:.2f} MiB"
            f" (Lambda limit {LAMBDA_UNZIPPED_LIMIT / MIB:.0f} MiB)"
        )

    tracer = results["tracer"]
    out += ["", "Powertools Tracer"]
    if tracer["aws_xray_sdk"] != "installed":
        out.append("  aws-xray-sdk: not installed")
    else:
        for row in tracer["rows"]:
            shown = row["error"] or _ms(row["median_ms"])
            out.append(f"  {row['label']:<44} {shown:>11}")
        if "import_cost_ms" in tracer:
            out.append(f"  import Tracer (lazy) costs {tracer['import_cost_ms']:+.1f} ms")
        if "init_cost_ms" in tracer:
            out.append(
                f"  Tracer() in Lambda (loads aws_xray_sdk, patches) costs {tracer['init_cost_ms']:+.1f} ms"
            )

    out += render_gates(results.get("gates"))
    return "\n".join(out)


def run(
    root: Path,
    template_path: Path,
    build_dir: Path,
    runs: int,
    gate_evaluations: int = DEFAULT_GATE_EVALUATIONS,
) -> dict[str, Any]:
    template = load_template(template_path) if template_path.exists() else {}
    return {
        "python": platform.python_version(),
        "runs": runs,
        "template": str(template_path),
        "imports": handler_imports(root, template, runs),
        "sizes": artifact_sizes(template, build_dir),
        "tracer": tracer_cost(runs),
        "gates": gate_evaluation_cost(gate_evaluations),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlcp_cli.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: cwd)")
    parser.add_argument("--template", type=Path, help="SAM template (default: ROOT/template.yaml)")
    parser.add_argument("--build-dir", type=Path, help="sam build output (default: ROOT/.aws-sam/build)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="fresh interpreters per measurement")
    parser.add_argument("--output", type=Path, default=Path("bench-results.json"), help="JSON results file")
    parser.add_argument(
        "--gate-evaluations",
        type=int,
        default=DEFAULT_GATE_EVALUATIONS,
        help="evaluate_gates runs timed for the per-evaluation CPU cost",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.gate_evaluations < 1:
        parser.error("--gate-evaluations must be at least 1")
    root = args.root.resolve()
    results = run(
        root,
        args.template or root / "template.yaml",
        args.build_dir or root / ".aws-sam" / "build",
        args.runs,
        args.gate_evaluations,
    )
    print(render(results))
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
