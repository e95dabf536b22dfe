"""Audit tamper: random edits, deletions, reorderings and insertions of a stored chain are all detected."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from audit.chains import build_chain, head_of
from mlcp.audit import AuditRecord, StreamHead, verify_chain

from .conftest import Profile

pytestmark = pytest.mark.reliability_property("audit tamper")

MUTATIONS = ("edit", "delete", "reorder", "insert")


def _tamper(records: list[AuditRecord], rng: random.Random, kind: str) -> list[AuditRecord]:
    out = list(records)
    i = rng.randrange(len(out))
    if kind == "edit":
        field_name = rng.choice(["actor", "subject", "evidence"])
        value: Any = {"forged": rng.random()} if field_name == "evidence" else f"mallory-{rng.random()}"
        out[i] = out[i].model_copy(update={field_name: value})
    elif kind == "delete":
        del out[i]
    elif kind == "reorder":
        j = rng.choice([k for k in range(len(out)) if k != i])
        out[i], out[j] = out[j], out[i]
    else:
        forged = out[i].model_copy(update={"subject": f"inserted-{rng.random()}"})
        out.insert(i, forged)
    return out


def test_every_random_tampering_is_detected(profile: Profile, figure: Callable[..., None]) -> None:
    rng = random.Random(20261126)
    chain: list[AuditRecord] = build_chain("group#churn", 12)
    head: StreamHead = head_of(chain)
    assert verify_chain(chain, head, require_head=True).ok
    attempts = profile.scale(full=2_000, quick=1_000)
    detected = dict.fromkeys(MUTATIONS, 0)
    tried = dict.fromkeys(MUTATIONS, 0)
    for n in range(attempts):
        kind = MUTATIONS[n % len(MUTATIONS)]
        tried[kind] += 1
        if not verify_chain(_tamper(chain, rng, kind), head, require_head=True).ok:
            detected[kind] += 1
    total = sum(detected.values())
    for kind in MUTATIONS:
        figure(
            f"{kind}s detected",
            f"{detected[kind]}/{tried[kind]}",
            target="100%",
            ok=detected[kind] == tried[kind],
        )
    figure("tamperings detected", total / attempts * 100, unit="%", target="100%", ok=total == attempts)
    assert total == attempts
