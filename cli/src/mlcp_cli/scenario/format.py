"""The scenario format: a registry of step kinds, each one typed model, and strict parsing.

A step kind is a subclass of :class:`StepKind` registered with :func:`step_kind`: its fields are
the step's arguments (``extra="forbid"``: an unknown key is an error, with a "did you mean"), its
``run(runner)`` does the step and returns the timeline's summary line. Adding a step kind is that
one class; ``docs/scenarios.md`` documents each kind with an example (a test keeps them in sync).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, InstanceOf, ValidationError, model_validator

if TYPE_CHECKING:
    from mlcp_cli.scenario.runner import ScenarioRunner


class ScenarioError(ValueError):
    """A scenario file is malformed, or a step could not run; the message names the file and the step."""


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a known name is close to ``key``, else empty."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


class Strict(BaseModel):
    """A part of the scenario format: every key is known (an unknown one names its closest match)."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=(), populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, dict):
            known = _known_keys(cls)
            for key in data:
                if key not in known:
                    raise ValueError(
                        f"unknown key {key!r}{did_you_mean(str(key), known)}; known: {', '.join(known) or 'none'}"
                    )
        return data


class StepKind(Strict):
    """The arguments of one kind of step, and what it does (``run``)."""

    kind: ClassVar[str] = ""
    puts_events: ClassVar[bool] = True
    """Whether the events put on the bus while the step runs are its own (``redeliver`` replays
    them); not for a step that pumps the control plane itself (``expect`` while settling)."""

    def run(self, runner: ScenarioRunner) -> str:
        """Do the step on the runner's control plane; returns the timeline's summary line."""
        raise NotImplementedError


STEP_KINDS: dict[str, type[StepKind]] = {}
"""Step kind name (the step's key in YAML) -> its model. Filled by :func:`step_kind`."""

K = TypeVar("K", bound=type[StepKind])


def step_kind(name: str) -> Callable[[K], K]:
    """Register a :class:`StepKind` subclass as the step ``name``."""

    def register(cls: K) -> K:
        if name in STEP_KINDS or name in STEP_KEYS:
            raise ValueError(f"step kind {name!r} is registered twice")
        cls.kind = name
        STEP_KINDS[name] = cls
        return cls

    return register


class ExpectFailure(Strict):
    """The step must fail with this error: ``error`` is the exception's class name or the AWS error
    code (``NotAuthorizedForSourceException``, ``DeploymentNotSupported``, ``ValidationException``);
    ``message``, if given, is a part of the error message."""

    error: str = Field(min_length=1)
    message: str | None = None


STEP_KEYS = ("title", "as", "expect_failure")
"""The keys any step may have beside its kind."""


def _error_lines(exc: ValidationError, prefix: str) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


class Step(BaseModel):
    """One step: an optional title and principal, exactly one step kind, and whether it must fail."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    title: str | None = None
    as_: str | None = Field(default=None, alias="as", min_length=1)
    expect_failure: ExpectFailure | None = None
    args: InstanceOf[StepKind]

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, Step):
            return data
        if not isinstance(data, dict):
            raise ValueError(
                f"a step is a mapping of a step kind to its arguments, got {type(data).__name__}"
            )
        if "args" in data and isinstance(data["args"], StepKind):  # built in code, not parsed
            return data
        for key in data:
            if key not in STEP_KINDS and key not in STEP_KEYS:
                raise ValueError(
                    f"unknown key {key!r}{did_you_mean(str(key), [*STEP_KINDS, *STEP_KEYS])}; "
                    f"a step takes one of {', '.join(STEP_KINDS)}"
                )
        given = [key for key in data if key in STEP_KINDS]
        if len(given) != 1:
            raise ValueError(f"a step takes exactly one of {', '.join(STEP_KINDS)}; got {given or 'none'}")
        [name] = given
        try:
            args = STEP_KINDS[name].model_validate(data[name] if data[name] is not None else {})
        except ValidationError as exc:
            raise ValueError(_error_lines(exc, name)) from None
        return {**{key: data[key] for key in STEP_KEYS if key in data}, "args": args}

    @property
    def action(self) -> str:
        """The step kind's name (``put_event``, ``expect``, ...)."""
        return self.args.kind

    def label(self, number: int) -> str:
        """``step 3 ("title")`` or ``step 3 (put_event)``: how errors and the timeline name it."""
        return f'step {number} ("{self.title}")' if self.title else f"step {number} ({self.action})"


class PrincipalPolicy(BaseModel):
    """What a scenario principal is allowed: an IAM policy its ``as`` calls are checked against, given
    inline (``policy``) or as the stack's own managed policy (``stack_policy``: the output naming it,
    e.g. ``OperatorPolicyArn``: the operator's command played with exactly the operator's grants)."""

    model_config = ConfigDict(extra="forbid")

    policy: dict[str, Any] | None = None
    stack_policy: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]+PolicyArn$")

    @model_validator(mode="after")
    def _has_statements(self) -> PrincipalPolicy:
        if (self.policy is None) == (self.stack_policy is None):
            raise ValueError("give policy (an IAM policy document) or stack_policy (an output), one of them")
        if self.policy is not None and not self.policy.get("Statement"):
            raise ValueError("policy: an IAM policy document with a Statement")
        return self


class Scenario(BaseModel):
    """A scenario file: what to deploy with which parameters, and the steps to play."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, str] = Field(default_factory=dict)
    start: AwareDatetime | None = Field(
        default=None,
        description="the simulated clock's start (e.g. 2026-01-05T09:00:00Z; default: now, to the second)",
    )
    steps: list[Step] = Field(min_length=1)
    principals: dict[str, PrincipalPolicy] = Field(
        default_factory=dict,
        description="IAM policies of scenario principals: their `as` calls are checked against them (local IAM)",
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = list(cls.model_fields)
            for key in data:
                if key not in known:
                    raise ValueError(
                        f"unknown key {key!r}{did_you_mean(str(key), known)}; known: {', '.join(known)}"
                    )
        return data


def _step_title(raw: Any, index: int) -> str:
    """How an error names step ``index`` (0-based) of the raw YAML: number and title or kind."""
    steps = raw.get("steps") if isinstance(raw, dict) else None
    step = steps[index] if isinstance(steps, list) and index < len(steps) else None
    if isinstance(step, dict) and isinstance(step.get("title"), str):
        return f'step {index + 1} ("{step["title"]}")'
    kinds = [key for key in step if key in STEP_KINDS] if isinstance(step, dict) else []
    return f"step {index + 1} ({kinds[0]})" if len(kinds) == 1 else f"step {index + 1}"


def parse_scenario(raw: Any, source: str) -> Scenario:
    """Validate a parsed YAML document; ``ScenarioError`` names ``source``, the step and the key."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping (name, steps, ...), got {type(raw).__name__}")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = list(error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
                rest = ".".join(str(part) for part in loc[2:])
                problems.append(f"{_step_title(raw, loc[1])}: {rest + ': ' if rest else ''}{message}")
            else:
                problems.append(f"{'.'.join(map(str, loc)) + ': ' if loc else ''}{message}")
        raise ScenarioError(f"{source}: {'; '.join(problems)}") from exc


def load_scenario(path: Path) -> Scenario:
    """Parse and validate a scenario file."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: {exc}") from exc
    return parse_scenario(raw, str(path))
