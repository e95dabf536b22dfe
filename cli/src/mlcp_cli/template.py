"""Load a CloudFormation / SAM template (YAML or JSON) into plain data.

CloudFormation's short-form tags become their long form, exactly as CloudFormation reads them:
``!Ref X`` -> ``{"Ref": "X"}``, ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``,
``!Sub s`` -> ``{"Fn::Sub": "s"}``, ``!If [...]`` -> ``{"Fn::If": [...]}``, ``!Condition C`` ->
``{"Condition": "C"}``, and so on for every ``Fn::`` function. YAML timestamps are not resolved
(``AWSTemplateFormatVersion: 2010-09-09`` stays a string), as CloudFormation does.

Also: :func:`resolve` substitutes parameters / pseudo parameters in ``Ref``, ``Fn::Sub``,
``Fn::Join``, ``Fn::If``, ``Fn::Select``, ``Fn::Split`` where they are resolvable offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

# Short tag -> long key. ``!Ref`` and ``!Condition`` are not ``Fn::`` functions.
_FUNCTIONS = (
    "And",
    "Base64",
    "Cidr",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "Equals",
    "FindInMap",
    "ForEach",
    "GetAtt",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "RefAll",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
    "ValueOf",
    "ValueOfAll",
)
SHORT_TAGS: dict[str, str] = {"Ref": "Ref", "Condition": "Condition"} | {
    name: f"Fn::{name}" for name in _FUNCTIONS
}

PSEUDO_PARAMETER_DEFAULTS: dict[str, str] = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "mlcp",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/mlcp/00000000-0000-0000-0000-000000000000",
}


class TemplateError(ValueError):
    """The template cannot be read or an intrinsic cannot be resolved."""


# libyaml's parser when PyYAML has it (its wheels do): the template is read on every local deploy,
# and the pure-Python parser took most of a second for it.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CfnYamlLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader + CloudFormation short tags, without YAML timestamp resolution."""


CfnYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _make_constructor(long_name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if long_name == "Fn::GetAtt":
                resource, _, attribute = str(value).partition(".")
                value = [resource, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        else:  # pragma: no cover - PyYAML has no other node kinds
            raise TemplateError(f"unsupported node for !{long_name}")
        return {long_name: value}

    return construct


for _short, _long in SHORT_TAGS.items():
    CfnYamlLoader.add_constructor(f"!{_short}", _make_constructor(_long))


def loads_template(text: str) -> dict[str, Any]:
    """Parse template text (YAML with short tags, or JSON)."""
    try:
        document = yaml.load(text, Loader=CfnYamlLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"not a valid template: {exc}") from exc
    if not isinstance(document, dict):
        raise TemplateError("a template must be a mapping at the top level")
    return document


def load_template(path: str | Path) -> dict[str, Any]:
    """Read a template file into plain data with intrinsics in their long form."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return loads_template(text)


def parameter_values(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parameter defaults overridden by ``overrides``, plus the pseudo parameters."""
    values: dict[str, Any] = dict(PSEUDO_PARAMETER_DEFAULTS)
    for name, spec in (template.get("Parameters") or {}).items():
        if isinstance(spec, Mapping) and "Default" in spec:
            values[name] = spec["Default"]
    values.update(overrides or {})
    for name, spec in (template.get("Parameters") or {}).items():
        # CloudFormation hands a CommaDelimitedList to Ref as a list ("" is [""]).
        if (
            isinstance(spec, Mapping)
            and spec.get("Type") == "CommaDelimitedList"
            and isinstance(values.get(name), str)
        ):
            values[name] = [item.strip() for item in values[name].split(",")]
    return values


def condition_holds(template: Mapping[str, Any], name: str, values: Mapping[str, Any]) -> bool:
    """Whether the template's condition ``name`` holds for ``values`` (a resource's ``Condition``)."""
    return _evaluate_condition(template, name, values)


_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def _evaluate_condition(template: Mapping[str, Any], name: str, values: Mapping[str, Any]) -> bool:
    conditions = template.get("Conditions") or {}
    if name not in conditions:
        raise TemplateError(f"unknown condition {name!r}")
    return bool(resolve(conditions[name], values, template))


def resolve(node: Any, values: Mapping[str, Any], template: Mapping[str, Any] | None = None) -> Any:
    """Resolve the intrinsics of ``node`` that depend only on parameters.

    ``Ref`` to a parameter or pseudo parameter becomes its value; ``Ref`` to anything else (a
    resource) is left as is. ``Fn::Sub`` variables that are parameters are substituted, others
    are left in place. ``Fn::If`` / ``Condition`` evaluate the template's ``Conditions``."""
    template = template or {}
    if isinstance(node, list):
        return [resolve(item, values, template) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        handler = _HANDLERS.get(key)
        if handler is not None:
            result = handler(arg, values, template)
            if result is not _UNRESOLVED:
                return result
    return {key: resolve(value, values, template) for key, value in node.items()}


_UNRESOLVED = object()
_Handler = Callable[[Any, Mapping[str, Any], Mapping[str, Any]], Any]


def _ref(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    return values[arg] if isinstance(arg, str) and arg in values else _UNRESOLVED


def _join(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    delimiter, items = resolve(arg, values, template)
    if isinstance(items, list) and all(isinstance(item, str) for item in items):
        return str(delimiter).join(items)
    return _UNRESOLVED


def _if(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    condition, when_true, when_false = arg
    chosen = when_true if _evaluate_condition(template, condition, values) else when_false
    return resolve(chosen, values, template)


def _equals(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    left, right = resolve(arg, values, template)
    return left == right


def _not(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    return not resolve(arg[0], values, template)


def _and(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    return all(resolve(item, values, template) for item in arg)


def _or(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    return any(resolve(item, values, template) for item in arg)


def _condition(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    return _evaluate_condition(template, arg, values) if isinstance(arg, str) else _UNRESOLVED


def _select(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    index, items = resolve(arg, values, template)
    return items[int(index)] if isinstance(items, list) else _UNRESOLVED


def _split(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    delimiter, text = resolve(arg, values, template)
    return text.split(delimiter) if isinstance(text, str) else _UNRESOLVED


def _resolve_sub(arg: Any, values: Mapping[str, Any], template: Mapping[str, Any]) -> Any:
    if isinstance(arg, list):
        text, variables = arg[0], resolve(arg[1] if len(arg) > 1 else {}, values, template)
        scope = {**values, **variables}
    else:
        text, scope = arg, dict(values)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        value = scope.get(name)
        return str(value) if isinstance(value, str | int | float) else match.group(0)

    result = _SUB_VARIABLE.sub(substitute, str(text))
    return result if not _SUB_VARIABLE.search(result) else {"Fn::Sub": result}


def referenced_logical_id(node: Any) -> str | None:
    """The logical id a target ``Arn`` points at: ``!GetAtt X.Arn``, ``!Ref X``, ``!Sub ${X.Arn}``."""
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Fn::GetAtt" and isinstance(arg, list) and arg:
            return str(arg[0])
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::Sub" and isinstance(arg, str):
            match = _SUB_VARIABLE.fullmatch(arg.strip())
            if match:
                return match.group(1).split(".", 1)[0]
    return None


_HANDLERS: dict[str, _Handler] = {
    "Ref": _ref,
    "Fn::Sub": _resolve_sub,
    "Fn::Join": _join,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Condition": _condition,
    "Fn::Select": _select,
    "Fn::Split": _split,
}
