"""The runtime package's architecture, enforced from its source (ADR 0028).

Only ``mlcp.adapters`` talks to AWS; the domain and the adapters never import each other; nothing
imports upward (kernel < model < domain, adapters < use cases < composition root). No AWS call is
left outside the adapters. The imports between the domain and the adapters that remain are listed
here by name: a new one fails, and so does a listed one that was mended and not struck from the list
(the list only shrinks).
"""

from __future__ import annotations

import ast

import pytest

from . import architecture

#: Imports between the domain and the adapters that are still there (importer, imported).
DOMAIN_ADAPTER_IMPORTS_LEFT: set[tuple[str, str]] = set()


def test_aws_is_called_from_adapters_only() -> None:
    calls = [f"{c.module}:{c.line} {c.method}" for c in architecture.client_calls_outside_adapters()]
    assert calls == [], "AWS calls outside mlcp.adapters (put them behind a port, in an adapter)"


def test_nothing_imports_upward() -> None:
    found = list(architecture.imports())
    upward = sorted({(i.importer, i.imported) for i in architecture.upward(found)})
    assert upward == []
    across = {(i.importer, i.imported) for i in architecture.across(found)}
    assert across - DOMAIN_ADAPTER_IMPORTS_LEFT == set(), (
        "the domain and the adapters must not import each other"
    )
    assert DOMAIN_ADAPTER_IMPORTS_LEFT - across == set(), (
        "mended: strike these from DOMAIN_ADAPTER_IMPORTS_LEFT"
    )


def test_the_scan_sees_what_it_looks_for() -> None:
    # The rules above are only as good as these detectors: each must catch its own example.
    methods = architecture.client_methods()
    assert {"put_item", "transact_write_items", "describe_model_package", "send_task_success"} <= methods
    assert architecture.layer_of("mlcp.adapters.state") == "adapters"
    assert architecture.layer_of("mlcp.models.gates") == "model"
    assert architecture.layer_of("mlcp.policy.model") == "model"
    assert architecture.layer_of("mlcp.gates.evaluate") == "domain"
    assert architecture.layer_of("mlcp.usecases.approval") == "usecases"
    assert architecture.layer_of("mlcp.entrypoint") == "root"
    upward = architecture.Import("mlcp.gates.evaluate", "mlcp.usecases.gating", 1, lazy=False)
    across = architecture.Import("mlcp.adapters.state", "mlcp.gates.evaluate", 1, lazy=False)
    assert architecture.upward([upward, across]) == [upward]
    assert architecture.across([upward, across]) == [across]


@pytest.mark.parametrize("source", ["client.put_item(TableName='t', Item={})", "c.get_paginator('scan')"])
def test_the_scan_flags_a_client_call(source: str) -> None:
    statement = ast.parse(source).body[0]
    assert isinstance(statement, ast.Expr)
    assert architecture.is_client_call(statement.value, architecture.client_methods())


@pytest.mark.parametrize(
    "source", ["pattern.search(text)", "deps.hosting.update_endpoint(name, config, None)"]
)
def test_the_scan_passes_other_calls(source: str) -> None:
    statement = ast.parse(source).body[0]
    assert isinstance(statement, ast.Expr)
    assert not architecture.is_client_call(statement.value, architecture.client_methods())
