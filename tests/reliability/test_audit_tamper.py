"""Audit tamper: random edits, deletions, reorderings and insertions of a stored chain are all detected;
with signed digests, so are a consistent rewrite, a truncated tail, a deleted stream, a forged digest
and a missing digest, with no false alarm on untouched anchored chains."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from audit.anchoring import KEY_ARN, TABLE, LocalSigner, checked, sign_chain
from audit.chains import build_chain, head_of, make_record
from mlcp.audit import AuditRecord, StreamHead, verify_chain
from mlcp.audit.anchors import verify_anchors
from mlcp.models.digest import StoredDigest

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


# ---------------------------------------------------------------- attacks the chain alone cannot see

ANCHOR_ATTACKS = ("rewrite", "truncate", "delete_stream", "forge_digest", "drop_digest")


def _rewritten(records: list[AuditRecord], rng: random.Random) -> list[AuditRecord]:
    """The whole stream rewritten consistently: every hash recomputed, the chain verifies."""
    out: list[AuditRecord] = []
    prev = "0" * 64
    victim = rng.randrange(len(records))
    for index, record in enumerate(records):
        extra = {"subject": f"rewritten-{rng.random()}"} if index == victim else {}
        forged = make_record(record.stream, record.seq, prev, **extra)
        out.append(forged)
        prev = forged.hash
    return out


def _world(
    rng: random.Random, signer: LocalSigner
) -> tuple[dict[str, list[AuditRecord]], list[StoredDigest]]:
    """2-4 streams of random length, digested 2-4 times as they grew (the last after every record)."""
    streams = {f"group#s{i}": build_chain(f"group#s{i}", rng.randint(2, 9)) for i in range(rng.randint(2, 4))}
    cuts = sorted(rng.random() for _ in range(rng.randint(1, 3)))
    snapshots = [{n: r[: max(1, int(len(r) * cut))] for n, r in streams.items()} for cut in cuts] + [streams]
    return streams, sign_chain(snapshots, signer)


def _detected(streams: dict[str, list[AuditRecord]], digests: list[StoredDigest]) -> bool:
    chains_ok = all(verify_chain(r, head_of(r), require_head=True).ok for r in streams.values() if r)
    return not chains_ok or not verify_anchors(streams, digests, table=TABLE, key_id=KEY_ARN).ok


def _attack(
    kind: str,
    streams: dict[str, list[AuditRecord]],
    digests: list[StoredDigest],
    rng: random.Random,
    signer: LocalSigner,
) -> tuple[dict[str, list[AuditRecord]], list[StoredDigest]]:
    streams, digests = dict(streams), list(digests)
    name = rng.choice(sorted(streams))
    if kind == "rewrite":
        streams[name] = _rewritten(streams[name], rng)
    elif kind == "truncate":  # cut below the last anchored seq, and move the head back with it
        streams[name] = streams[name][: rng.randrange(1, len(streams[name]))]
    elif kind == "delete_stream":
        del streams[name]
    elif kind == "forge_digest":  # change what a signed digest says, keep its signature
        index = rng.randrange(len(digests))
        original = digests[index].digest
        assert original is not None
        anchors = list(original.streams)
        at = rng.randrange(len(anchors))
        anchors[at] = anchors[at].model_copy(update={"hash": f"{rng.getrandbits(256):064x}"})
        forged = original.model_copy(update={"streams": tuple(anchors)})
        stored = StoredDigest(digests[index].key, digests[index].number, forged.to_bytes(), forged, True)
        digests[index] = checked(stored, signer)
    else:  # drop_digest: any digest but the newest (its successor names the gap)
        del digests[rng.randrange(len(digests) - 1)]
    return streams, digests


def test_every_attack_on_anchored_streams_is_detected_and_untouched_chains_pass(
    profile: Profile, figure: Callable[..., None]
) -> None:
    rng = random.Random(20261207)
    signer = LocalSigner()
    attempts = profile.scale(full=2_000, quick=500)
    detected = dict.fromkeys(ANCHOR_ATTACKS, 0)
    tried = dict.fromkeys(ANCHOR_ATTACKS, 0)
    false_alarms = 0
    for n in range(attempts):
        streams, digests = _world(rng, signer)
        if _detected(streams, digests):
            false_alarms += 1
        kind = ANCHOR_ATTACKS[n % len(ANCHOR_ATTACKS)]
        tried[kind] += 1
        if _detected(*_attack(kind, streams, digests, rng, signer)):
            detected[kind] += 1
    for kind in ANCHOR_ATTACKS:
        figure(
            f"{kind} detected",
            f"{detected[kind]}/{tried[kind]}",
            target="100%",
            ok=detected[kind] == tried[kind],
        )
    figure("false alarms on untouched anchored chains", false_alarms, target="0", ok=false_alarms == 0)
    assert detected == tried
    assert false_alarms == 0
