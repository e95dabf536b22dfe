"""Malformed / poison input: hypothesis-generated bad events into every entry point that takes an
event are each rejected with a reason (logged, counted, parked, audited), raise nothing unhandled
and change nothing in AWS beyond the rejection path's own SQS message and audit record."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcp.audit import AuditAction, verify_chain
from mlcp.events import MODELS_BY_DETAIL_TYPE, SOURCE_BY_DETAIL_TYPE
from mlcp.usecases.reject_event import REJECTED_STREAM, event_digest

from .aws_calls import AwsCall
from .conftest import Profile
from .stack import EVENTS, RecordedStack, examples, recorded_stack, samples

pytestmark = pytest.mark.reliability_property("poison input")

SAMPLES = samples()
NEGATIVES = [
    path.read_text() for path in sorted((EVENTS / "negative").glob("*.json")) if path.stem != "expected"
]
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:mlcp-deployment:poison"


@dataclass(frozen=True)
class EntryPoint:
    """A function that takes an EventBridge event, and the detail-types it acts on."""

    logical_id: str
    takes: frozenset[str]
    wraps_event: bool = False  # the workflow task gets {"event": ..., "execution": ...}

    def payload(self, event: Any) -> Any:
        return {"event": event, "execution": EXECUTION} if self.wraps_event else event


_PACKAGE = "SageMaker Model Package State Change"
_ENDPOINT = {"SageMaker Endpoint State Change", "SageMaker Endpoint Deployment State Change"}
ENTRY_POINTS = (
    EntryPoint("DataArrivalFunction", frozenset({"Object Created"})),
    EntryPoint("EventIntakeFunction", frozenset(MODELS_BY_DETAIL_TYPE) - {"Object Created"}),
    EntryPoint("ModelPackageStatusFunction", frozenset({_PACKAGE})),
    EntryPoint("VerifyApprovalFunction", frozenset({_PACKAGE}), wraps_event=True),
    EntryPoint("EndpointEventsFunction", frozenset(_ENDPOINT)),
    EntryPoint("ScheduledRetrainingFunction", frozenset({"Scheduled Event"})),
)
ENVELOPE = ("version", "id", "source", "account", "time", "region", "resources", "detail-type", "detail")
# Values no envelope field accepts (time: not a list or object; strings: not numbers or null).
WRONG_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "time": st.one_of(st.lists(st.integers(), max_size=2), st.just({"at": "now"})),
    "resources": st.one_of(st.text(max_size=5), st.integers(), st.just({"arn": "x"})),
    "detail": st.one_of(st.lists(st.integers(), max_size=3), st.text(max_size=5), st.integers(), st.none()),
}
NOT_A_STRING = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(), st.lists(st.text())
)
KNOWN_TYPES = set(MODELS_BY_DETAIL_TYPE) | {"Scheduled Event"}
KNOWN_SOURCES = set(SOURCE_BY_DETAIL_TYPE.values()) | {"aws.events"}
# Look-alikes of genuine values: case, whitespace, zero-width and homoglyph characters.
LOOKALIKES = ("{} ", " {}", "{}\u200b", "{}\x00", "{}.evil", "custom.{}")


def _required_detail_fields(detail_type: str) -> list[str]:
    detail_model = MODELS_BY_DETAIL_TYPE[detail_type].model_fields["detail"].annotation
    fields = getattr(detail_model, "model_fields", {})
    return [f.alias or name for name, f in fields.items() if f.is_required()]


def _lookalike(genuine: str) -> st.SearchStrategy[str]:
    variants = [pattern.format(genuine) for pattern in LOOKALIKES]
    variants += [genuine.upper(), genuine.replace("a", "\u0430", 1), genuine.replace(".", "\uff0e", 1)]
    return st.sampled_from([v for v in variants if v != genuine])


@st.composite
def bad_events(draw: st.DrawFn, entry: EntryPoint) -> Any:
    """One event ``entry`` must reject, and how it was made (its kind)."""
    kind = draw(
        st.sampled_from(
            [
                "missing envelope field",
                "wrong envelope type",
                "wrong source",
                "look-alike source",
                "unknown detail-type",
                "missing detail field",
                "not a JSON object",
                "odd encoding",
                "oversized",
                "contract negative",
                "another function's event",
            ]
        )
    )
    base = dict(draw(st.sampled_from(sorted(SAMPLES.items())))[1])
    detail_type = base["detail-type"]
    if kind == "missing envelope field":
        del base[draw(st.sampled_from(ENVELOPE))]
        return kind, base
    if kind == "wrong envelope type":
        name = draw(st.sampled_from(ENVELOPE))
        base[name] = draw(WRONG_TYPES.get(name, NOT_A_STRING))
        return kind, base
    if kind == "wrong source":
        base["source"] = draw(st.text(min_size=1, max_size=40).filter(lambda s: s not in KNOWN_SOURCES))
        return kind, base
    if kind == "look-alike source":
        base["source"] = draw(_lookalike(base["source"]))
        return kind, base
    if kind == "unknown detail-type":
        base["detail-type"] = draw(
            st.one_of(_lookalike(detail_type), st.text(max_size=60)).filter(lambda t: t not in KNOWN_TYPES)
        )
        return kind, base
    if kind == "missing detail field":
        base["detail"] = dict(base["detail"])
        del base["detail"][draw(st.sampled_from(_required_detail_fields(detail_type)))]
        return kind, base
    if kind == "not a JSON object":
        json_values = st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3),
            max_leaves=6,
        )
        return kind, draw(json_values)
    if kind == "odd encoding":
        text = json.dumps(base)
        return (
            kind,
            draw(
                st.sampled_from(
                    [
                        "\ufeff" + text,  # a byte-order mark: not JSON to a strict parser
                        text[: len(text) // 2],  # truncated
                        text.encode("utf-16").decode("latin-1"),  # UTF-16 read as Latin-1
                        json.dumps(base, ensure_ascii=False).replace('"', "\u201c", 2),  # smart quotes
                        text.replace(
                            f'"{detail_type}"', json.dumps(detail_type + "\ud800"), 1
                        ),  # lone surrogate
                    ]
                )
            ),
        )
    if kind == "oversized":
        # Larger than EventBridge's 256 KB event limit, of an unknown type: parked truncated.
        char = draw(st.characters(codec="utf-8", exclude_categories=["Cs"]))
        base["detail-type"] = detail_type + " " + char * (300 * 1024)
        return kind, base
    if kind == "contract negative":
        text = draw(st.sampled_from(NEGATIVES))
        try:
            return kind, json.loads(text)
        except json.JSONDecodeError:
            return kind, text
    others = [event for event in SAMPLES.values() if event["detail-type"] not in entry.takes]
    return kind, dict(draw(st.sampled_from(others)))


@dataclass
class Tally:
    inputs: int = 0
    rejected: int = 0
    unhandled: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)  # rejected without a logged reason or metric
    mutating: list[AwsCall] = field(default_factory=list)
    calls_seen: int = 0  # every AWS call of the handlers: proves the hook sees them
    by_entry: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    digests: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def stack() -> Iterator[RecordedStack]:
    with recorded_stack() as recorded:
        yield recorded


def _rejection_path(call: AwsCall, queue_url: str, audit_table: str) -> bool:
    """The rejection's own writes: the parked message and the audit record."""
    if call.operation == "SendMessage":
        return bool(call.params.get("QueueUrl") == queue_url)
    if call.operation == "TransactWriteItems":
        tables = {next(iter(item.values())).get("TableName") for item in call.params.get("TransactItems", [])}
        return tables == {audit_table}
    return False


def _rejected(entry: EntryPoint, payload: Any, error: dict[str, Any] | None) -> bool:
    if entry.wraps_event:  # the workflow task raises InvalidEvent into its EventRejected branch
        return error is not None and error.get("errorType") == "InvalidEvent"
    return error is None and payload == {"status": "rejected"}


def _queue_depth(stack: RecordedStack, url: str) -> int:
    attributes = stack.cp.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_every_bad_event_is_rejected_with_a_reason_and_changes_nothing(
    stack: RecordedStack, profile: Profile, figure: Callable[..., None]
) -> None:
    queue_url = stack.cp.stack.queue_urls["RejectedEventsQueue"]
    audit_table = stack.cp.stack.physical_id("AuditTable")
    parked_before = _queue_depth(stack, queue_url)
    tally = Tally()

    @examples(profile.scale(full=1_000, quick=60))
    @given(data=st.data())
    def one_bad_event(data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(ENTRY_POINTS))
        kind, event = data.draw(bad_events(entry))
        tally.inputs += 1
        tally.by_entry[entry.logical_id] = tally.by_entry.get(entry.logical_id, 0) + 1
        tally.by_kind[kind] = tally.by_kind.get(kind, 0) + 1
        mark = stack.calls.mark()
        result = stack.invoke(entry.logical_id, entry.payload(event))
        calls = [call for call in stack.calls.since(mark) if call.function is not None]
        tally.calls_seen += len(calls)
        tally.mutating += [c for c in calls if c.mutating and not _rejection_path(c, queue_url, audit_table)]
        if not _rejected(entry, result.payload, result.error):
            tally.unhandled.append(f"{entry.logical_id} <- {kind}: {str(result.payload)[:300]}")
            return
        tally.rejected += 1
        tally.digests.add(event_digest(event))
        lines = [log.line for log in stack.cp.registry.logs if log.request_id == result.request_id]
        logged = [json.loads(line) for line in lines if '"event rejected"' in line]
        counted = any('"EventsRejected"' in line for line in lines)
        if not (logged and logged[0].get("reason") and counted):
            tally.unexplained.append(f"{entry.logical_id} <- {kind}: logged={bool(logged)} counted={counted}")

    one_bad_event()

    parked = _queue_depth(stack, queue_url) - parked_before
    records = stack.audit.read(REJECTED_STREAM)
    audited = {r.evidence["digest"] for r in records if r.action == AuditAction.EVENT_REJECTED}
    for logical_id, count in sorted(tally.by_entry.items()):
        figure(f"inputs into {logical_id.removesuffix('Function')}", count)
    for kind, count in sorted(tally.by_kind.items()):
        figure(f"inputs: {kind}", count)
    figure("bad events in", tally.inputs)
    figure("rejected", tally.rejected, target=f"{tally.inputs:,}", ok=tally.rejected == tally.inputs)
    figure("unhandled exceptions", len(tally.unhandled), target="0", ok=not tally.unhandled)
    figure(
        "rejected without logged reason or metric",
        len(tally.unexplained),
        target="0",
        ok=not tally.unexplained,
    )
    figure("parked in RejectedEventsQueue", parked, target=f"{tally.inputs:,}", ok=parked == tally.inputs)
    figure(
        "distinct events audited event.rejected",
        len(audited & tally.digests),
        target=f"{len(tally.digests):,}",
        ok=tally.digests <= audited,
    )
    figure("AWS calls made by the handlers (hook sees)", tally.calls_seen)
    figure(
        "mutating AWS calls (besides park + audit)", len(tally.mutating), target="0", ok=not tally.mutating
    )
    assert not tally.unhandled, tally.unhandled[:5]
    assert not tally.unexplained, tally.unexplained[:5]
    assert not tally.mutating, [(c.function, c.operation) for c in tally.mutating[:5]]
    assert tally.calls_seen >= 2 * tally.inputs  # at least the park and the audit of each
    assert tally.rejected == tally.inputs == parked
    assert tally.digests <= audited
    assert verify_chain(records).ok
    assert set(tally.by_entry) == {e.logical_id for e in ENTRY_POINTS}


def test_the_generator_only_makes_events_the_contract_rejects() -> None:
    """The property is about rejection: a generated event the contract accepts would be a generator bug."""
    from mlcp.errors import InvalidEvent
    from mlcp.events import parse_event

    @examples(200)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from(ENTRY_POINTS))
        kind, event = data.draw(bad_events(entry))
        if kind == "another function's event":
            assert event["detail-type"] not in entry.takes
            return
        if not isinstance(event, dict | str):
            return
        with pytest.raises(InvalidEvent):
            parse_event(event)

    check()
