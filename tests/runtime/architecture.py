"""The runtime package's import structure, measured from its source (nothing is imported or run).

Used by ``test_architecture.py`` (the rules) and as a script that prints the numbers ADR 0028
compares before and after::

    .venv/bin/python tests/runtime/architecture.py

A module's *layer* is where it belongs in the architecture, bottom up: ``kernel`` (errors, clock,
config, observability) < ``model`` (``mlcp.models``: the data the domain decides over and the
adapters store; event models, ports) < ``domain`` (the pure decision modules) and, beside it,
``adapters`` (the only code that talks to AWS) < ``usecases`` < ``root`` (the composition root).
An *upward import* runs from a lower layer to a higher one. A module's *floor* is 1 + the highest
floor among the package modules it imports (1 = imports nothing of the package), over the file
graph with cycles collapsed; the number of floors is the depth of that graph.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "mlcp" / "mlcp"

LAYERS = ("kernel", "model", "domain", "adapters", "usecases", "root")
RANK = {"kernel": 0, "model": 1, "domain": 2, "adapters": 2, "usecases": 3, "root": 4}
"""Domain and adapters share a rank: neither may import the other (both build on the models)."""

_KERNEL = {
    "mlcp",
    "mlcp.errors",
    "mlcp.clock",
    "mlcp.config",
    "mlcp.observability",
    "mlcp.s3uri",
    "mlcp.records",
}
# mlcp.accounts: the governed accounts (a value parsed from configuration) and pure functions over
# an event's envelope; adapters (AccountClients) build on the value, so it sits with the models.
_MODEL = {"mlcp.ports", "mlcp.accounts"}


def layer_of(module: str) -> str:
    """The architectural layer of a ``mlcp.*`` module, by its name."""
    if module in _KERNEL:
        return "kernel"
    if module in {"mlcp.entrypoint", "mlcp.composition"}:
        return "root"
    if module.startswith("mlcp.adapters"):
        return "adapters"
    if module.startswith("mlcp.usecases"):
        return "usecases"
    if module in _MODEL or module.startswith(("mlcp.events", "mlcp.ports", "mlcp.models")):
        return "model"
    if module.endswith(".model"):  # mlcp.policy.model: the policy's own model, beside its loader
        return "model"
    return "domain"


def modules() -> dict[str, Path]:
    """Every module of the runtime package by its dotted name."""
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


@dataclass(frozen=True)
class Import:
    """One ``import`` statement naming a module of the package."""

    importer: str
    imported: str
    line: int
    lazy: bool  # inside a function or an ``if TYPE_CHECKING`` block


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def imports() -> Iterator[Import]:
    """Every import of a package module by a package module (``from x import y`` counts ``x.y`` when
    ``y`` is itself a module)."""
    known = modules()
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, path.name == "__init__.py", node)
                targets = [
                    f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names
                ]
            for named in dict.fromkeys(targets):
                target = named
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target.startswith("mlcp") and target != name:
                    yield Import(name, target, node.lineno, lazy=id(node) not in top_level)


def _reach(edges: set[tuple[str, str]], names: list[str]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {n: set() for n in names}
    for a, b in edges:
        graph[a].add(b)
    reach: dict[str, set[str]] = {}
    for start in names:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            v = todo.pop()
            if v not in seen:
                seen.add(v)
                todo.extend(graph[v])
        reach[start] = seen
    return reach


def floors(edges: set[tuple[str, str]], names: list[str]) -> dict[str, int]:
    """Each module's floor over ``edges`` (importer, imported), a cycle counted as one room."""
    reach = _reach(edges, names)
    room = {a: frozenset({a} | {b for b in reach[a] if a in reach[b]}) for a in names}
    floor: dict[frozenset[str], int] = {}

    def height(r: frozenset[str]) -> int:
        if r not in floor:
            below = {room[b] for a, b in edges if a in r} - {r}
            floor[r] = 1 + max((height(d) for d in below), default=0)
        return floor[r]

    return {m: height(room[m]) for m in names}


def cycles(edges: set[tuple[str, str]], names: list[str]) -> list[set[str]]:
    """The import cycles (strongly connected components of more than one module)."""
    reach = _reach(edges, names)
    found: list[set[str]] = []
    for a in names:
        loop = {a} | {b for b in reach[a] if a in reach[b]}
        if len(loop) > 1 and loop not in found:
            found.append(loop)
    return found


def upward(found: list[Import]) -> list[Import]:
    """The imports that run from a lower layer to a higher one."""
    return [i for i in found if RANK[layer_of(i.imported)] > RANK[layer_of(i.importer)]]


def across(found: list[Import]) -> list[Import]:
    """The imports between the domain and the adapters (either way)."""
    return [i for i in found if {layer_of(i.importer), layer_of(i.imported)} == {"domain", "adapters"}]


def usecases_on_adapters(found: list[Import]) -> list[Import]:
    """The imports by which a use case names an adapter instead of a port."""
    return [i for i in found if layer_of(i.importer) == "usecases" and layer_of(i.imported) == "adapters"]


def report() -> str:
    """The numbers, one a line."""
    names = sorted(modules())
    found = list(imports())
    eager = {(i.importer, i.imported) for i in found if not i.lazy}
    every = {(i.importer, i.imported) for i in found}
    floor = floors(every, names)
    lines = [
        f"modules: {len(names)}",
        f"imports between package modules (edges): {len(every)} ({len(eager)} at module level)",
        f"floors (file graph, every import): {max(floor.values())}",
        f"floors (file graph, module-level imports only): {max(floors(eager, names).values())}",
        f"import cycles: {len(cycles(every, names))}",
    ]
    for title, chosen in (
        (f"upward imports (against {' < '.join(LAYERS)}; domain = adapters)", upward(found)),
        ("imports between domain and adapters", across(found)),
        ("use cases importing an adapter (not a port)", usecases_on_adapters(found)),
    ):
        lines.append(f"{title}: {len({(i.importer, i.imported) for i in chosen})}")
        for i in sorted(chosen, key=lambda i: (i.importer, i.imported)):
            lines.append(
                f"  {i.importer} ({layer_of(i.importer)}) -> {i.imported} ({layer_of(i.imported)}):{i.line}"
            )
    per_layer: dict[str, int] = {}
    for name in names:
        per_layer[layer_of(name)] = per_layer.get(layer_of(name), 0) + 1
    lines.append("modules per layer: " + ", ".join(f"{k} {per_layer.get(k, 0)}" for k in LAYERS))
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())


#: The AWS services the runtime package has clients for (``adapters/clients.py``).
SERVICES = (
    "appconfigdata",
    "cloudwatch",
    "dynamodb",
    "kms",
    "s3",
    "sagemaker",
    "sns",
    "sqs",
    "ssm",
    "stepfunctions",
    "sts",
)


def client_methods() -> frozenset[str]:
    """Every method name of a boto3 client of :data:`SERVICES`: its operations plus the helpers."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    names = {"get_paginator", "get_waiter", "generate_presigned_url", "generate_presigned_post"}
    for service in SERVICES:
        model = session.get_service_model(service)
        names.update(xform_name(operation) for operation in model.operation_names)
    return frozenset(names)


#: Modules that do AWS I/O for their caller: only adapters (and the composition root, which builds
#: the clients and Powertools' idempotency store) may import them.
_AWS_IO_MODULES = ("mlcp.adapters.clients", "aws_lambda_powertools.utilities.parameters")
_ROOT_MAY_IMPORT = ("mlcp.adapters.clients",)


@dataclass(frozen=True)
class ClientCall:
    """A call, outside ``adapters/``, of a method named like a boto3 client's."""

    module: str
    line: int
    method: str


def is_client_call(node: ast.AST, methods: frozenset[str]) -> bool:
    """Whether ``node`` looks like a boto3 client call: an operation's name with keyword arguments
    only (a client takes no positional one, but its paginators and waiters take the operation's)."""
    if not (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in methods
    ):
        return False
    return not node.args or node.func.attr in {"get_paginator", "get_waiter"}


def client_calls_outside_adapters() -> list[ClientCall]:
    """Calls that look like a boto3 client's (an operation's name, keyword arguments only), and any
    ``boto3``/``botocore`` import, outside ``mlcp.adapters``."""
    methods = client_methods()
    found: list[ClientCall] = []
    for name, path in modules().items():
        if layer_of(name) == "adapters":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if is_client_call(node, methods):
                assert isinstance(node, ast.Call)
                assert isinstance(node.func, ast.Attribute)
                found.append(ClientCall(name, node.lineno, node.func.attr))
            elif isinstance(node, ast.Import | ast.ImportFrom):
                if isinstance(node, ast.Import):
                    imported = [a.name for a in node.names]
                else:
                    imported = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                    imported = [m for m in imported if m.startswith(_AWS_IO_MODULES)][:1] or imported[:1]
                for module in imported:
                    aws = module.split(".")[0] in {"boto3", "botocore"} or module.startswith(_AWS_IO_MODULES)
                    if aws and not (layer_of(name) == "root" and module.startswith(_ROOT_MAY_IMPORT)):
                        found.append(ClientCall(name, node.lineno, f"import {module}"))
    return found
