"""``mlcp events``: check events against the contract, route them through the template's rules,
export the contract's JSON Schemas.

- ``validate FILE...``   one line per file: accepted + detail-type, or the rejection reason; a
                         negative sample (listed in its directory's expected.json) passes when
                         rejected with its expected reason; schemas and expected.json are skipped.
                         Exit 1 when a file is not as it should be.
- ``route FILE...``      which ``AWS::Events::Rule`` of the template match each event, and their
                         targets, using moto's EventBridge pattern matcher.
- ``schemas --write``    (re)write ``events/schemas/<slug>.schema.json``; ``--check`` fails on drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

DEFAULT_SCHEMA_DIR = Path("events/schemas")


# ------------------------------------------------------------------------------------- helpers


def _read_json(path: Path) -> tuple[Any, str | None]:
    """(document, None) or (None, reason)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return None, "file is not UTF-8 text"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"event is not valid JSON: {exc}"


def _emit(record: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------------ validate


EXPECTATIONS_FILE = "expected.json"
"""In a directory of negative samples: ``{"file.json": "a part of the rejection reason"}``. A file it
lists is a negative sample: it passes when it is rejected with that reason, and fails when accepted."""


def _expectations(directory: Path, cache: dict[Path, dict[str, str]]) -> dict[str, str]:
    if directory not in cache:
        document, error = _read_json(directory / EXPECTATIONS_FILE)
        valid = error is None and isinstance(document, dict)
        cache[directory] = {str(k): str(v) for k, v in document.items()} if valid else {}
    return cache[directory]


def _not_an_event(path: Path, cache: dict[Path, dict[str, str]]) -> str | None:
    """Why a file of the samples' tree is not an event (None: it is one)."""
    if path.name.endswith(".schema.json"):
        return "a JSON Schema of the event contract (mlcp events schemas), not an event"
    if path.name == EXPECTATIONS_FILE and _expectations(path.parent, cache):
        return "the expected rejection reasons of the negative samples beside it"
    return None


def validate_file(path: Path, cache: dict[Path, dict[str, str]] | None = None) -> dict[str, Any]:
    """One file's verdict: ``accepted`` and the detail-type or the ``reason``; for a negative sample
    (listed in its directory's ``expected.json``) also ``expected_reason`` and ``ok`` (rejected with
    it); for a file that is not an event (a schema, the expectations) ``skipped`` and why. ``ok``
    says whether the file is as it should be."""
    from mlcp.errors import InvalidEvent
    from mlcp.events import parse_event

    cache = {} if cache is None else cache
    skipped = _not_an_event(path, cache)
    if skipped is not None:
        return {"file": str(path), "skipped": skipped, "ok": True}
    document, error = _read_json(path)
    record: dict[str, Any]
    if error is not None:
        record = {"file": str(path), "accepted": False, "reason": error}
    else:
        try:
            event = parse_event(document)
        except InvalidEvent as exc:
            record = {"file": str(path), "accepted": False, "reason": exc.reason}
        else:
            record = {"file": str(path), "accepted": True, "detail_type": event.detail_type}
    expected = _expectations(path.parent, cache).get(path.name)
    if expected is None:
        record["ok"] = record["accepted"]
    else:
        record["expected_reason"] = expected
        record["ok"] = not record["accepted"] and expected in record["reason"]
    return record


def _human(record: Mapping[str, Any]) -> str:
    name = record["file"]
    if "skipped" in record:
        return f"SKIPPED  {name}: {record['skipped']}"
    expected = record.get("expected_reason")
    if expected is None:
        if record["accepted"]:
            return f"ACCEPTED {name}: {record['detail_type']}"
        return f"REJECTED {name}: {record['reason']}"
    if record["ok"]:
        return f"REJECTED {name} (a negative sample, as expected): {record['reason']}"
    got = f"accepted as {record['detail_type']}" if record["accepted"] else f"rejected: {record['reason']}"
    return f"WRONG    {name}: a negative sample expected to be rejected with {expected!r}, {got}"


def _cmd_validate(args: argparse.Namespace) -> int:
    all_ok = True
    cache: dict[Path, dict[str, str]] = {}
    for name in args.files:
        record = validate_file(Path(name), cache)
        all_ok &= bool(record["ok"])
        if args.json:
            _emit(record)
        else:
            sys.stdout.write(_human(record) + "\n")
    return EXIT_OK if all_ok else EXIT_REJECTED


# --------------------------------------------------------------------------------------- route


@dataclass(frozen=True)
class Rule:
    logical_id: str
    pattern: dict[str, Any]
    targets: tuple[str, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        from moto.events.models import EventPattern

        matcher = EventPattern.load(json.dumps(self.pattern))
        document: Any = dict(event)
        return bool(matcher.matches_event(document))


def rules_of(template: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> list[Rule]:
    """The enabled ``AWS::Events::Rule`` resources of the default bus with an event pattern, whose
    ``Condition`` holds, parameters resolved (a custom bus's rules see only what is put on it)."""
    from mlcp_cli.template import (
        TemplateError,
        condition_holds,
        parameter_values,
        referenced_logical_id,
        resolve,
    )

    values = parameter_values(template, parameters)
    values.update(_stand_in_arns(template, values))
    rules = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::Events::Rule":
            continue
        properties = resource.get("Properties") or {}
        if properties.get("EventBusName", "default") != "default":
            continue
        if "Condition" in resource and not condition_holds(template, str(resource["Condition"]), values):
            continue
        state = resolve(properties.get("State", "ENABLED"), values, template)
        if state != "ENABLED" or "EventPattern" not in properties:
            continue
        pattern = resolve(properties["EventPattern"], values, template)
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        if not isinstance(pattern, dict):
            raise TemplateError(f"{logical_id}: EventPattern is not an object")
        unresolved = _first_intrinsic(pattern)
        if unresolved is not None:
            raise TemplateError(f"{logical_id}: cannot resolve {json.dumps(unresolved)} in EventPattern")
        targets = tuple(
            referenced_logical_id(target.get("Arn")) or json.dumps(target.get("Arn"))
            for target in properties.get("Targets") or []
            if isinstance(target, Mapping)
        )
        rules.append(Rule(logical_id, pattern, targets))
    _check_patterns(rules)
    return rules


_STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


def _stand_in_arns(template: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, str]:
    """A pattern may name one of the stack's own state machines (``!Ref X``: its ARN, known only
    once deployed); offline it stands for ``arn:<partition>:states:<region>:<account>:stateMachine:X``,
    so a sample event routes when it carries that ARN."""
    prefix = f"arn:{values['AWS::Partition']}:states:{values['AWS::Region']}:{values['AWS::AccountId']}"
    return {
        logical_id: f"{prefix}:stateMachine:{logical_id}"
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, Mapping) and resource.get("Type") in _STATE_MACHINE_TYPES
    }


def _first_intrinsic(node: Any) -> Any:
    if isinstance(node, list):
        for item in node:
            found = _first_intrinsic(item)
            if found is not None:
                return found
    elif isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in {"Ref", "Fn::Sub", "Fn::GetAtt", "Fn::If", "Fn::Join"}:
            return node
        for value in node.values():
            found = _first_intrinsic(value)
            if found is not None:
                return found
    return None


def _check_patterns(rules: Sequence[Rule]) -> None:
    from moto.events.exceptions import InvalidEventPatternException

    from mlcp_cli.template import TemplateError

    for rule in rules:
        try:
            rule.matches({})
        except InvalidEventPatternException as exc:
            raise TemplateError(f"{rule.logical_id}: invalid EventPattern: {exc.message}") from exc


def route_event(event: Mapping[str, Any], rules: Sequence[Rule]) -> list[dict[str, Any]]:
    return [{"rule": rule.logical_id, "targets": list(rule.targets)} for rule in rules if rule.matches(event)]


def _parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param expects KEY=VALUE, got {pair!r}")
        params[key] = value
    return params


def _cmd_route(args: argparse.Namespace) -> int:
    from mlcp_cli.template import TemplateError, load_template

    try:
        params = _parse_params(args.param)
        rules = rules_of(load_template(args.template), params)
    except (TemplateError, ValueError) as exc:
        sys.stderr.write(f"mlcp events route: {exc}\n")
        return EXIT_USAGE
    status = EXIT_OK
    for name in args.files:
        document, error = _read_json(Path(name))
        if error is None and not isinstance(document, dict):
            error = "event must be a JSON object"
        matched = route_event(document, rules) if error is None else []
        if error is not None:
            status = EXIT_REJECTED
        if args.json:
            record: dict[str, Any] = {"file": name, "rules": matched}
            if error is not None:
                record["error"] = error
            _emit(record)
            continue
        sys.stdout.write(f"{name}\n")
        if error is not None:
            sys.stdout.write(f"  error: {error}\n")
        elif not matched:
            sys.stdout.write("  no rule matches\n")
        for hit in matched:
            sys.stdout.write(f"  {hit['rule']} -> {', '.join(hit['targets']) or '(no targets)'}\n")
    return status


# ------------------------------------------------------------------------------------- schemas


def expected_schemas() -> dict[str, str]:
    """``<slug>.schema.json`` -> its text, for every model of the contract."""
    from mlcp.events import MODELS_BY_DETAIL_TYPE, SLUG_BY_DETAIL_TYPE

    return {
        f"{SLUG_BY_DETAIL_TYPE[detail_type]}.schema.json": json.dumps(
            model.model_json_schema(by_alias=True), indent=2, ensure_ascii=False
        )
        + "\n"
        for detail_type, model in sorted(MODELS_BY_DETAIL_TYPE.items())
    }


def schema_drift(directory: Path) -> list[str]:
    """Human-readable differences between ``directory`` and the models (empty: in sync)."""
    expected = expected_schemas()
    problems = []
    for name, text in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the model")
    if directory.is_dir():
        problems.extend(
            f"{path}: no model has this schema"
            for path in sorted(directory.glob("*.schema.json"))
            if path.name not in expected
        )
    return problems


def _cmd_schemas(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    if args.write:
        directory.mkdir(parents=True, exist_ok=True)
        expected = expected_schemas()
        for name, text in expected.items():
            (directory / name).write_text(text, encoding="utf-8")
        for stale in directory.glob("*.schema.json"):
            if stale.name not in expected:
                stale.unlink()
        if args.json:
            _emit({"dir": str(directory), "written": sorted(expected)})
        else:
            sys.stdout.write(f"wrote {len(expected)} schemas to {directory}\n")
        return EXIT_OK
    problems = schema_drift(directory)
    if args.json:
        _emit({"dir": str(directory), "match": not problems, "problems": problems})
        return EXIT_REJECTED if problems else EXIT_OK
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    if problems:
        sys.stdout.write("schemas drifted: run `mlcp events schemas --write`\n")
        return EXIT_REJECTED
    sys.stdout.write(f"schemas in {directory} match the models\n")
    return EXIT_OK


# ------------------------------------------------------------------------------------ register


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    events = subparsers.add_parser("events", help="check, route and export the event contract")
    sub = events.add_subparsers(dest="events_command", required=True)

    validate = sub.add_parser("validate", help="validate event files against the contract")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="one JSON line per file")
    validate.set_defaults(func=_cmd_validate)

    route = sub.add_parser("route", help="which EventBridge rules of the template match each event")
    route.add_argument("files", nargs="+", metavar="FILE")
    route.add_argument("--json", action="store_true", help="one JSON line per file")
    route.add_argument("--template", type=Path, default=Path("template.yaml"), help="default: template.yaml")
    route.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="override a template parameter"
    )
    route.set_defaults(func=_cmd_route)

    schemas = sub.add_parser("schemas", help="export the contract's JSON Schemas")
    mode = schemas.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="(re)write the schema files")
    mode.add_argument("--check", action="store_true", help="exit 1 if the files drifted from the models")
    schemas.add_argument("--dir", type=Path, default=DEFAULT_SCHEMA_DIR, help="default: events/schemas")
    schemas.add_argument("--json", action="store_true", help="one JSON object: match, problems / written")
    schemas.set_defaults(func=_cmd_schemas)
