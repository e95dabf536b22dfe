"""PolicyStore against moto SSM: valid, missing, invalid, caching, from_env."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlcp.adapters.policy_ssm import PolicyStore
from mlcp.errors import ConfigurationError
from mlcp.policy import PolicyError, canonical_json, parse_policy

from .conftest import PARAMETER, example_document


def _put(ssm: Any, value: str, name: str = PARAMETER) -> None:
    ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)


def test_reads_a_valid_policy(ssm: Any) -> None:
    expected = parse_policy(example_document(), "example")
    _put(ssm, canonical_json(expected))
    store = PolicyStore(PARAMETER, ssm_client=ssm)
    assert store.get() == expected
    assert store.source == f"ssm:{PARAMETER}"


def test_missing_parameter_is_a_policy_error(ssm: Any) -> None:
    store = PolicyStore("/mlcp/nothing-here", ssm_client=ssm)
    with pytest.raises(PolicyError, match=r"^ssm:/mlcp/nothing-here: cannot read the policy parameter"):
        store.get()


def test_invalid_json_is_a_policy_error(ssm: Any) -> None:
    _put(ssm, "{not json")
    with pytest.raises(PolicyError, match=rf"^ssm:{PARAMETER}: not valid JSON"):
        PolicyStore(PARAMETER, ssm_client=ssm).get()


def test_invalid_policy_names_parameter_and_field(ssm: Any) -> None:
    document = example_document()
    document["tiers"]["high"]["gates"]["metrics"]["thresholds"][0] = {"metric": "x"}
    document["change_freezes"] = []
    _put(ssm, json.dumps(document))
    with pytest.raises(PolicyError) as caught:
        PolicyStore(PARAMETER, ssm_client=ssm).get()
    assert caught.value.problems == (
        f"ssm:{PARAMETER}: tiers.high.gates.metrics.thresholds[0]: threshold on 'x' needs min, max or both",
    )


def test_caches_for_max_age(ssm: Any) -> None:
    first = parse_policy(example_document(), "example")
    _put(ssm, canonical_json(first))
    store = PolicyStore(PARAMETER, max_age_seconds=60, ssm_client=ssm)
    cached = store.get()

    document = example_document()
    document["tiers"]["low"]["description"] = "changed"
    second = parse_policy(document, "example")
    _put(ssm, canonical_json(second))

    assert store.get() is cached  # within max_age: no read, same object
    assert store.get(force_fetch=True) == second
    assert PolicyStore(PARAMETER, max_age_seconds=60, ssm_client=ssm).get() == second


def test_max_age_zero_reads_every_time_but_reparses_only_changes(ssm: Any) -> None:
    _put(ssm, canonical_json(parse_policy(example_document(), "example")))
    store = PolicyStore(PARAMETER, max_age_seconds=0, ssm_client=ssm)
    first = store.get()
    assert store.get() is first  # same text: the parsed policy is reused

    document = example_document()
    document["groups"] = document["groups"][:1]
    _put(ssm, canonical_json(parse_policy(document, "example")))
    changed = store.get()
    assert [rule.match for rule in changed.groups] == ["churn-*"]

    _put(ssm, "[]")
    with pytest.raises(PolicyError, match="must be a mapping"):
        store.get()


def test_from_env(ssm: Any) -> None:
    _put(ssm, canonical_json(parse_policy(example_document(), "example")), name="/env/policy")
    store = PolicyStore.from_env({"MLCP_POLICY_PARAMETER": "/env/policy"}, ssm_client=ssm)
    assert store.parameter_name == "/env/policy"
    assert store.max_age_seconds == 60
    assert store.get().tiers["high"].human_approval


def test_from_env_reads_os_environ_with_the_default_client(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _put(ssm, canonical_json(parse_policy(example_document(), "example")), name="/os/policy")
    monkeypatch.setenv("MLCP_POLICY_PARAMETER", "/os/policy")
    assert PolicyStore.from_env().get().groups[1].endpoint == "fraud-prod"


@pytest.mark.parametrize("environ", [{}, {"MLCP_POLICY_PARAMETER": "  "}])
def test_from_env_without_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="MLCP_POLICY_PARAMETER"):
        PolicyStore.from_env(environ)
