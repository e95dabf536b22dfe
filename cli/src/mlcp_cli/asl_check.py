"""Static checks of the ASL files that template.yaml wires into its state machines.

``check_template(path)`` loads a SAM template and, for every ``AWS::Serverless::StateMachine``
whose ``DefinitionUri`` is a local file, reports every problem it finds as a :class:`Problem`
(file, state path, message):

* the file is valid JSON, ``StartAt`` names a state, every ``Next``/``Default``/``Choices[].Next``/
  ``Catch[].Next`` names a state of the same scope; Parallel branches and Map iterators are
  scopes of their own, checked recursively;
* every state is reachable from ``StartAt`` (per scope);
* every non-terminal state has a way out (``Next`` or ``End: true``; a Choice has ``Choices``);
* every ``${Name}`` placeholder is supplied by ``DefinitionSubstitutions`` and no substitution is
  unused;
* Retry/Catch ``ErrorEquals`` names that are neither ``States.*`` nor AWS service errors are
  exception classes of ``mlcp.errors`` (the exception names are the ASL contract);
* ``States.ALL`` stands alone in its ``ErrorEquals`` and in the last retrier/catcher of its list.

State paths read ``Outer/Branches[0]/Inner/Catch[1]``; problems of a whole scope use the scope path
(``(root)`` at the top level).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlcp_cli.template import load_template

STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"
ERRORS_MODULE = "mlcp.errors"

STATE_TYPES = frozenset({"Task", "Pass", "Wait", "Choice", "Parallel", "Map", "Succeed", "Fail"})
#: State types that continue with ``Next`` or stop with ``End: true``.
FLOW_TYPES = frozenset({"Task", "Pass", "Wait", "Parallel", "Map"})
TERMINAL_TYPES = frozenset({"Succeed", "Fail"})
#: State types that may carry Retry/Catch.
ERROR_HANDLING_TYPES = frozenset({"Task", "Parallel", "Map"})

#: The error names Step Functions itself raises (``States.*``).
STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.BranchFailed",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.QueryEvaluationError",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
    }
)
#: Prefixes of errors raised by AWS service integrations (``Lambda.ServiceException``, ...).
AWS_SERVICE_ERROR_PREFIXES = (
    "Lambda.",
    "SageMaker.",
    "DynamoDB.",
    "SQS.",
    "SNS.",
    "S3.",
    "EventBridge.",
    "StepFunctions.",
)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
ROOT = "(root)"


@dataclass(frozen=True, order=True)
class Problem:
    """One finding: where (file, state path) and what."""

    file: str
    path: str
    message: str
    state_machine: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        owner = f" [{self.state_machine}]" if self.state_machine else ""
        return f"{where}: {self.message}{owner}"


# --------------------------------------------------------------------------- error names


def mlcp_error_names(module_name: str = ERRORS_MODULE) -> frozenset[str]:
    """Names of the exception classes that ``mlcp.errors`` exposes."""
    module = importlib.import_module(module_name)
    return frozenset(
        name
        for name, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, BaseException)
    )


def classify_error_name(name: str) -> str:
    """``"states"``, ``"aws"`` or ``"mlcp"`` (a name that must be an mlcp.errors class)."""
    if name.startswith("States."):
        return "states"
    if name.startswith(AWS_SERVICE_ERROR_PREFIXES):
        return "aws"
    return "mlcp"


# --------------------------------------------------------------------------- placeholders


def placeholders(text: str) -> dict[str, int]:
    """``${Name}`` placeholders of an ASL text, each with the line of its first occurrence."""
    found: dict[str, int] = {}
    for match in _PLACEHOLDER.finditer(text):
        found.setdefault(match.group(1), text.count("\n", 0, match.start()) + 1)
    return found


def _neutralise_bare_placeholders(text: str) -> str:
    """Replace ``${Name}`` placeholders that stand outside JSON strings by ``0``.

    SAM substitutes textually, so ``"TimeoutSeconds": ${Timeout}`` is a valid definition once
    deployed; structurally the value does not matter to these checks.
    """
    out: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(text):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "$":
            match = _PLACEHOLDER.match(text, index)
            if match:
                out.append("0")
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


# --------------------------------------------------------------------------- definition checks


def _join(scope: str, *parts: str) -> str:
    base = "" if scope == ROOT else scope
    return "/".join(part for part in (base, *parts) if part)


class _DefinitionChecker:
    def __init__(self, file: str, error_names: frozenset[str] | None, state_machine: str) -> None:
        self.file = file
        self.error_names = error_names
        self.state_machine = state_machine
        self.problems: list[Problem] = []

    def report(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message, self.state_machine))

    # A scope: a top-level definition, a Parallel branch, a Map iterator/item processor.
    def scope(self, definition: Any, path: str) -> None:
        if not isinstance(definition, dict):
            self.report(path, f"expected an object with StartAt and States, got {type(definition).__name__}")
            return
        states = definition.get("States")
        if not isinstance(states, dict) or not states:
            self.report(path, "States is missing or empty")
            return
        start_at = definition.get("StartAt")
        if not isinstance(start_at, str):
            self.report(path, "StartAt is missing")
        elif start_at not in states:
            self.report(path, f"StartAt {start_at!r} is not a state in this scope")

        edges: dict[str, set[str]] = {}
        for name, state in states.items():
            state_path = _join(path, name)
            if not isinstance(state, dict):
                self.report(state_path, "state is not an object")
                edges[name] = set()
                continue
            edges[name] = self.state(name, state, state_path, states)

        if isinstance(start_at, str) and start_at in states:
            reachable = _reachable(start_at, edges)
            for name in states:
                if name not in reachable:
                    self.report(_join(path, name), f"state is unreachable from StartAt {start_at!r}")

    def state(self, name: str, state: dict[str, Any], path: str, states: Mapping[str, Any]) -> set[str]:
        """Check one state; return the names of the states it can transition to."""
        targets = _Targets(self, states)
        kind = state.get("Type")
        if kind not in STATE_TYPES:
            self.report(path, f"unknown state Type {kind!r}")
            return targets.names
        if kind in FLOW_TYPES:
            self.flow(kind, state, path, targets)
        elif kind == "Choice":
            self.choice(state, path, targets)
        elif "Next" in state or "End" in state:  # Succeed / Fail
            self.report(path, f"a {kind} state is terminal and takes neither Next nor End")

        for field in ("Retry", "Catch"):
            if field in state:
                if kind not in ERROR_HANDLING_TYPES:
                    self.report(path, f"{field} is not allowed on a {kind} state")
                self.error_handlers(state[field], f"{path}/{field}", field, targets)
        self.nested(kind, state, path)
        return targets.names

    def flow(self, kind: str, state: dict[str, Any], path: str, targets: _Targets) -> None:
        has_next = "Next" in state
        is_end = state.get("End") is True
        if has_next and is_end:
            self.report(path, "has both Next and End: true")
        elif not has_next and not is_end:
            self.report(path, f"{kind} state has no way out: neither Next nor End: true")
        if has_next:
            targets.add(state["Next"], path, "Next")

    def choice(self, state: dict[str, Any], path: str, targets: _Targets) -> None:
        if "Next" in state or "End" in state:
            self.report(path, "a Choice state takes neither Next nor End (use Choices/Default)")
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            self.report(path, "Choice state has no way out: Choices is missing or empty")
        else:
            for index, rule in enumerate(choices):
                where = f"{path}/Choices[{index}]"
                if not isinstance(rule, dict) or "Next" not in rule:
                    self.report(where, "choice rule has no Next")
                else:
                    targets.add(rule["Next"], where, "Next")
        if "Default" in state:
            targets.add(state["Default"], path, "Default")

    def nested(self, kind: str, state: dict[str, Any], path: str) -> None:
        if kind == "Parallel":
            branches = state.get("Branches")
            if not isinstance(branches, list) or not branches:
                self.report(path, "Parallel state has no Branches")
                return
            for index, branch in enumerate(branches):
                self.scope(branch, f"{path}/Branches[{index}]")
        elif kind == "Map":
            keys = [key for key in ("ItemProcessor", "Iterator") if key in state]
            if not keys:
                self.report(path, "Map state has neither ItemProcessor nor Iterator")
            for key in keys:
                self.scope(state[key], f"{path}/{key}")

    def error_handlers(self, handlers: Any, path: str, field: str, targets: _Targets) -> None:
        if not isinstance(handlers, list):
            self.report(path, f"{field} must be a list")
            return
        for index, handler in enumerate(handlers):
            where = f"{path}[{index}]"
            if not isinstance(handler, dict):
                self.report(where, f"{field} entry must be an object")
                continue
            names = handler.get("ErrorEquals")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                self.report(where, "ErrorEquals must be a non-empty list of error names")
                names = []
            if field == "Catch":
                if "Next" not in handler:
                    self.report(where, "catcher has no Next")
                else:
                    targets.add(handler["Next"], where, "Next")
            if "States.ALL" in names:
                if len(names) != 1:
                    self.report(where, "States.ALL must appear alone in its ErrorEquals")
                if index != len(handlers) - 1:
                    self.report(where, f"States.ALL must be in the last entry of {field}")
            for name in names:
                self.error_name(name, where)

    def error_name(self, name: str, where: str) -> None:
        kind = classify_error_name(name)
        if kind == "states":
            if name not in STATES_ERRORS:
                self.report(where, f"{name!r} is not a Step Functions error name")
        elif kind == "mlcp" and self.error_names is not None and name not in self.error_names:
            self.report(where, f"{name!r} is not an exception class of {ERRORS_MODULE}")


class _Targets:
    """Transition targets of one state, each checked against the states of its scope."""

    def __init__(self, checker: _DefinitionChecker, states: Mapping[str, Any]) -> None:
        self.checker = checker
        self.states = states
        self.names: set[str] = set()

    def add(self, value: Any, where: str, field: str) -> None:
        if not isinstance(value, str):
            self.checker.report(where, f"{field} must be a state name, got {value!r}")
        elif value not in self.states:
            self.checker.report(where, f"{field} {value!r} is not a state in this scope")
        else:
            self.names.add(value)


def _reachable(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def check_definition(
    definition: Any,
    file: str,
    error_names: frozenset[str] | None,
    state_machine: str = "",
) -> list[Problem]:
    """Structural checks of a parsed ASL definition (no placeholder checks)."""
    checker = _DefinitionChecker(file, error_names, state_machine)
    checker.scope(definition, ROOT)
    return checker.problems


def check_asl_text(
    text: str,
    file: str,
    substitutions: Iterable[str],
    error_names: frozenset[str] | None,
    *,
    state_machine: str = "",
    substitutions_file: str = "",
    substitutions_path: str = "DefinitionSubstitutions",
) -> list[Problem]:
    """Every check of one ASL file: JSON, structure, and placeholders against substitutions."""
    problems: list[Problem] = []
    used = placeholders(text)
    supplied = set(substitutions)
    for name, line in sorted(used.items()):
        if name not in supplied:
            problems.append(
                Problem(
                    file,
                    f"line {line}",
                    f"placeholder ${{{name}}} is not supplied by DefinitionSubstitutions",
                    state_machine,
                )
            )
    for name in sorted(supplied - set(used)):
        problems.append(
            Problem(
                substitutions_file or file,
                f"{substitutions_path}/{name}",
                f"substitution {name!r} is not used by {file}",
                state_machine,
            )
        )
    try:
        definition = json.loads(_neutralise_bare_placeholders(text))
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(file, f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}", state_machine)
        )
        return problems
    problems.extend(check_definition(definition, file, error_names, state_machine))
    return problems


def _state_machines(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return
    for logical_id, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") == STATE_MACHINE_TYPE:
            properties = resource.get("Properties")
            yield logical_id, properties if isinstance(properties, dict) else {}


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_template(template_path: Path, error_names: frozenset[str] | None = None) -> list[Problem]:
    """Check every state machine of a SAM template; return every problem found (sorted)."""
    template_file = _display(template_path)
    try:
        template = load_template(template_path)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        return [Problem(template_file, "", f"cannot load template: {exc}")]

    problems: list[Problem] = []
    if error_names is None:
        try:
            error_names = mlcp_error_names()
        except ImportError as exc:
            problems.append(Problem(template_file, "", f"cannot import {ERRORS_MODULE}: {exc}"))

    for logical_id, properties in _state_machines(template):
        resource_path = f"Resources/{logical_id}"
        uri = properties.get("DefinitionUri")
        if uri is None:
            continue  # inline Definition: nothing on disk to check
        if not isinstance(uri, str):
            problems.append(
                Problem(template_file, f"{resource_path}/DefinitionUri", "not a local path", logical_id)
            )
            continue
        asl_path = template_path.parent / uri
        asl_file = _display(asl_path)
        try:
            text = asl_path.read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(
                Problem(
                    template_file, f"{resource_path}/DefinitionUri", f"cannot read {uri}: {exc}", logical_id
                )
            )
            continue
        substitutions = properties.get("DefinitionSubstitutions") or {}
        if not isinstance(substitutions, dict):
            problems.append(
                Problem(
                    template_file,
                    f"{resource_path}/DefinitionSubstitutions",
                    "must be a mapping",
                    logical_id,
                )
            )
            substitutions = {}
        problems.extend(
            check_asl_text(
                text,
                asl_file,
                substitutions,
                error_names,
                state_machine=logical_id,
                substitutions_file=template_file,
                substitutions_path=f"{resource_path}/DefinitionSubstitutions",
            )
        )
    return sorted(problems)


def state_machine_ids(template_path: Path) -> list[str]:
    """Logical ids of the state machines of a template (for the CLI summary)."""
    return [logical_id for logical_id, _ in _state_machines(load_template(template_path))]
