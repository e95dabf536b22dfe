"""The runtime package's architecture, enforced from its source (ADR 0028).

Only ``mlcp.adapters`` talks to AWS; the domain and the adapters never import each other; nothing
imports upward (kernel < model < domain, adapters < use cases < composition root). The modules that
still break a rule are listed here by name and count, as they were when the rule was written: a new
breach fails, and so does a listed one that was mended and not struck from the list (the list only
shrinks).
"""

from __future__ import annotations

import ast
from collections import Counter

import pytest

from . import architecture

#: Modules outside ``adapters/`` that still call AWS, and how many calls/imports each has.
AWS_IO_OUTSIDE_ADAPTERS_LEFT: dict[str, int] = {
    "mlcp.policy.appconfig": 4,
    "mlcp.policy.load": 3,
    "mlcp.usecases.approval": 4,
    "mlcp.usecases.console_decision": 4,
    "mlcp.usecases.deployment": 2,
    "mlcp.usecases.steer_bake": 3,  # merged from main with the same task-token answers as deployment
    "mlcp.usecases.traffic_shift": 1,
}

#: Imports between the domain and the adapters that are still there (importer, imported).
DOMAIN_ADAPTER_IMPORTS_LEFT: set[tuple[str, str]] = {
    ("mlcp.adapters.digests", "mlcp.audit.anchors"),
    # The packages' faces still hand on the stores that moved to adapters/ (``from mlcp.audit
    # import AuditTrail`` everywhere); the incident service is a use case that opens OpsItems.
    ("mlcp.audit", "mlcp.adapters.audit_trail"),
    ("mlcp.incidents", "mlcp.adapters.incident_store"),
    ("mlcp.incidents.service", "mlcp.adapters.incident_store"),
    ("mlcp.incidents.service", "mlcp.adapters.opscenter"),
    ("mlcp.policy.appconfig", "mlcp.adapters.clients"),
    ("mlcp.policy.load", "mlcp.adapters.clients"),
}


def test_aws_is_called_from_adapters_only() -> None:
    calls = Counter(call.module for call in architecture.client_calls_outside_adapters())
    new = {m: n for m, n in calls.items() if n > AWS_IO_OUTSIDE_ADAPTERS_LEFT.get(m, 0)}
    assert not new, f"AWS calls outside mlcp.adapters (put them behind a port, in an adapter): {new}"
    mended = {m: (n, calls.get(m, 0)) for m, n in AWS_IO_OUTSIDE_ADAPTERS_LEFT.items() if calls.get(m, 0) < n}
    assert not mended, f"mended: lower these counts in AWS_IO_OUTSIDE_ADAPTERS_LEFT (listed, now): {mended}"


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
    assert architecture.layer_of("mlcp.gates.model") == "model"
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
