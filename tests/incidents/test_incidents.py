"""Incidents: one open incident (one OpsItem) per (resource, cause), counted occurrences, idempotent
redeliveries, resolution with MTTR, reopening as a new incident."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mlcp.adapters.incident_store import incident_pk
from mlcp.audit import AuditAction, verify_chain
from mlcp.models.incidents import IncidentOutcome
from mlcp.usecases.incidents import (
    get_incident,
    list_incidents,
    open_incident,
    resolve_by_id,
    resolve_incident,
)

from .conftest import STATE_TABLE, Env, request

RESOURCE, CAUSE, STREAM = "endpoint/churn-prod", "alarm:churn-prod-5xx", "endpoint#churn-prod"


def records(env: Env, action: AuditAction | None = None) -> list[Any]:
    found = env.audit.read(STREAM)
    return [r for r in found if action is None or r.action == action]


def ops_item(env: Env, ops_item_id: str | None) -> dict[str, Any]:
    assert ops_item_id is not None
    item: dict[str, Any] = env.ssm.get_ops_item(OpsItemId=ops_item_id)["OpsItem"]
    return item


def data(item: dict[str, Any]) -> dict[str, str]:
    return {key: value["Value"] for key, value in item["OperationalData"].items()}


def state_item(env: Env) -> dict[str, Any]:
    item: dict[str, Any] = env.dynamodb.get_item(
        TableName=STATE_TABLE, Key={"pk": {"S": incident_pk(RESOURCE, CAUSE)}, "sk": {"S": "incident"}}
    )["Item"]
    return item


# -- opening and counting -------------------------------------------------------------------------


def test_first_occurrence_opens_an_ops_item_records_audits_and_notifies(env: Env) -> None:
    outcome = open_incident(request(), env.deps)

    assert outcome.opened
    assert outcome.occurrences == 1
    assert outcome.incident_id.startswith("inc-")
    assert len(outcome.incident_id) == len("inc-") + 12
    item = ops_item(env, outcome.ops_item_id)
    assert item["Title"] == "churn-prod: 5xx errors above threshold"
    assert item["Severity"] == "2"
    assert item["Source"] == "mlcp"
    assert item["Status"] == "Open"
    assert "https://runbooks.example/endpoint-5xx" in item["Description"]
    assert (
        data(item).items()
        >= {
            "mlcp:incident_id": outcome.incident_id,
            "mlcp:resource": RESOURCE,
            "mlcp:cause": CAUSE,
            "mlcp:occurrences": "1",
            "mlcp:last_event_id": "evt-1",
            "alarm": "churn-prod-5xx",
        }.items()
    )

    stored = state_item(env)
    assert stored["status"] == {"S": "open"}
    assert stored["ops_item_id"] == {"S": outcome.ops_item_id}
    assert stored["occurrences"] == {"N": "1"}
    assert stored["incident_id"] == {"S": outcome.incident_id}

    (opened,) = records(env)
    assert opened.action == AuditAction.INCIDENT_OPENED
    assert opened.decision_id == f"incident.opened:{outcome.incident_id}"
    assert opened.event_id == "evt-1"
    assert opened.evidence["ops_item_id"] == outcome.ops_item_id
    assert opened.evidence["cause"] == CAUSE

    (message,) = env.notifications()
    assert message["kind"] == "incident"
    assert message["event"] == "opened"
    assert message["incident_id"] == outcome.incident_id
    assert message["how"] == f"mlcp incidents resolve {outcome.incident_id} --reason ..."


def test_repeats_update_the_one_incident_and_its_ops_item(env: Env) -> None:
    first = open_incident(request(), env.deps)
    second = open_incident(request(event_id="evt-2", operational_data={"value": "0.31"}), env.deps)
    third = open_incident(request(event_id="evt-3"), env.deps)

    assert (second.opened, second.occurrences, second.incident_id) == (False, 2, first.incident_id)
    assert (third.opened, third.occurrences, third.ops_item_id) == (False, 3, first.ops_item_id)
    assert len(env.ops_items()) == 1
    item = ops_item(env, first.ops_item_id)
    assert data(item)["mlcp:occurrences"] == "3"
    assert data(item)["mlcp:last_event_id"] == "evt-3"
    assert data(item)["value"] == "0.31"  # merged in by occurrence 2, kept
    updated = records(env, AuditAction.INCIDENT_UPDATED)
    assert [r.decision_id for r in updated] == [
        f"incident.updated:{first.incident_id}:event:evt-2",
        f"incident.updated:{first.incident_id}:event:evt-3",
    ]
    assert [r.evidence["occurrences"] for r in updated] == [2, 3]
    assert len(env.notifications()) == 1  # on open only
    assert state_item(env)["occurrences"] == {"N": "3"}


def test_a_redelivered_event_counts_once(env: Env) -> None:
    first = open_incident(request(), env.deps)
    open_incident(request(event_id="evt-2"), env.deps)

    again = open_incident(request(event_id="evt-2"), env.deps)
    opening_again = open_incident(request(event_id="evt-1"), env.deps)

    for outcome in (again, opening_again):
        assert outcome.duplicate
        assert not outcome.opened
        assert outcome.occurrences == 2
        assert outcome.incident_id == first.incident_id
    assert state_item(env)["occurrences"] == {"N": "2"}
    assert data(ops_item(env, first.ops_item_id))["mlcp:occurrences"] == "2"
    assert len(records(env, AuditAction.INCIDENT_UPDATED)) == 1
    assert len(records(env, AuditAction.INCIDENT_OPENED)) == 1


def test_without_an_event_id_every_call_is_an_occurrence(env: Env) -> None:
    first = open_incident(request(event_id=None), env.deps)
    second = open_incident(request(event_id=None), env.deps)
    third = open_incident(request(event_id=None), env.deps)

    assert [first.occurrences, second.occurrences, third.occurrences] == [1, 2, 3]
    assert [r.decision_id for r in records(env, AuditAction.INCIDENT_UPDATED)] == [
        f"incident.updated:{first.incident_id}:2",
        f"incident.updated:{first.incident_id}:3",
    ]


def test_a_more_severe_occurrence_raises_the_severity_and_notifies(env: Env) -> None:
    first = open_incident(request(severity=3), env.deps)
    env.notifications()

    raised = open_incident(request(event_id="evt-2", severity=1), env.deps)
    milder = open_incident(request(event_id="evt-3", severity=4), env.deps)

    assert raised.severity_raised
    assert not milder.severity_raised
    assert ops_item(env, first.ops_item_id)["Severity"] == "1"
    assert state_item(env)["severity"] == {"N": "1"}
    (message,) = env.notifications()
    assert message["event"] == "severity_raised"
    assert (message["previous_severity"], message["severity"]) == (3, 1)
    assert records(env, AuditAction.INCIDENT_UPDATED)[0].evidence["severity_raised_from"] == 3


def test_causes_and_resources_are_separate_incidents(env: Env) -> None:
    a = open_incident(request(), env.deps)
    b = open_incident(request(cause="violation:data_quality", event_id="evt-b"), env.deps)
    c = open_incident(request(resource="endpoint/fraud-prod", event_id="evt-c"), env.deps)

    assert [a.opened, b.opened, c.opened] == [True, True, True]
    assert len({a.incident_id, b.incident_id, c.incident_id}) == 3
    assert len(env.ops_items()) == 3
    assert len(list_incidents(env.deps, "open")) == 3


# -- concurrency ----------------------------------------------------------------------------------


def _concurrently(count: int, call: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


def test_concurrent_first_occurrences_open_one_ops_item(env: Env) -> None:
    outcomes: list[IncidentOutcome] = _concurrently(
        8, lambda i: open_incident(request(event_id=f"evt-{i}"), env.deps)
    )

    assert sum(o.opened for o in outcomes) == 1
    assert len({o.incident_id for o in outcomes}) == 1
    # each repeat counted its own occurrence; the opener reports the count it left (>= 1)
    assert sorted(o.occurrences for o in outcomes if not o.opened) == list(range(2, 9))
    assert len(env.ops_items()) == 1
    assert state_item(env)["occurrences"] == {"N": "8"}
    assert state_item(env)["status"] == {"S": "open"}
    assert len(records(env, AuditAction.INCIDENT_OPENED)) == 1
    assert len(records(env, AuditAction.INCIDENT_UPDATED)) == 7
    assert verify_chain(records(env)).ok
    assert len(env.notifications()) == 1


def test_a_concurrent_redelivery_storm_counts_one_occurrence(env: Env) -> None:
    outcomes: list[IncidentOutcome] = _concurrently(8, lambda _: open_incident(request(), env.deps))

    assert sum(o.opened for o in outcomes) == 1
    assert sum(o.duplicate for o in outcomes) == 7
    assert len(env.ops_items()) == 1
    assert state_item(env)["occurrences"] == {"N": "1"}
    assert len(records(env)) == 1


# -- resolution -----------------------------------------------------------------------------------


def test_resolve_records_mttr_and_a_later_occurrence_opens_a_new_incident(env: Env) -> None:
    first = open_incident(request(), env.deps)
    open_incident(request(event_id="evt-2"), env.deps)
    env.clock.advance(minutes=90)

    resolved = resolve_incident(
        RESOURCE, CAUSE, reason="rolled back to v3", resolved_by="arn:aws:iam::1:user/oncall", deps=env.deps
    )

    assert resolved is not None
    assert resolved.status == "resolved"
    assert resolved.mttr_seconds == pytest.approx(5400, abs=1)
    assert resolved.occurrences == 2
    assert ops_item(env, first.ops_item_id)["Status"] == "Resolved"
    assert data(ops_item(env, first.ops_item_id))["mlcp:resolved_by"] == "arn:aws:iam::1:user/oncall"
    (record,) = records(env, AuditAction.INCIDENT_RESOLVED)
    assert record.decision_id == f"incident.resolved:{first.incident_id}"
    assert record.actor == "arn:aws:iam::1:user/oncall"
    assert record.evidence["mttr_seconds"] == pytest.approx(5400, abs=1)
    assert record.evidence["reason"] == "rolled back to v3"
    assert list_incidents(env.deps, "open") == []

    env.clock.advance(hours=1)
    again = open_incident(request(event_id="evt-9"), env.deps)

    assert again.opened
    assert again.occurrences == 1
    assert again.incident_id != first.incident_id
    assert again.ops_item_id != first.ops_item_id
    statuses = sorted(s["Status"] for s in env.ops_items())
    assert statuses == ["Open", "Resolved"]
    assert [i.incident_id for i in list_incidents(env.deps, "open")] == [again.incident_id]
    everything = list_incidents(env.deps)
    assert [i.incident_id for i in everything] == [again.incident_id, first.incident_id]  # newest first
    old = get_incident(first.incident_id, env.deps)
    assert old is not None
    assert old.status == "resolved"
    assert old.mttr_seconds == pytest.approx(5400, abs=1)
    assert len(records(env, AuditAction.INCIDENT_OPENED)) == 2


def test_a_redelivered_event_does_not_reopen_a_resolved_incident(env: Env) -> None:
    open_incident(request(), env.deps)
    resolve_incident(RESOURCE, CAUSE, reason="fixed", resolved_by="oncall", deps=env.deps)

    redelivered = open_incident(request(), env.deps)

    assert redelivered.duplicate
    assert not redelivered.opened
    assert len(env.ops_items()) == 1
    assert list_incidents(env.deps, "open") == []


def test_resolve_when_nothing_is_open_and_twice(env: Env) -> None:
    assert resolve_incident(RESOURCE, CAUSE, reason="x", resolved_by="oncall", deps=env.deps) is None
    opened = open_incident(request(), env.deps)
    assert resolve_incident(RESOURCE, CAUSE, reason="x", resolved_by="oncall", deps=env.deps) is not None
    assert resolve_incident(RESOURCE, CAUSE, reason="y", resolved_by="other", deps=env.deps) is None
    assert resolve_by_id(opened.incident_id, reason="z", resolved_by="other", deps=env.deps) is None
    (record,) = records(env, AuditAction.INCIDENT_RESOLVED)
    assert record.actor == "oncall"


def test_resolve_by_id_only_resolves_that_incident(env: Env) -> None:
    first = open_incident(request(), env.deps)
    resolve_by_id(first.incident_id, reason="fixed", resolved_by="oncall", deps=env.deps)
    second = open_incident(request(event_id="evt-2"), env.deps)

    assert resolve_by_id(first.incident_id, reason="again", resolved_by="oncall", deps=env.deps) is None
    assert resolve_by_id("inc-000000000000", reason="?", resolved_by="oncall", deps=env.deps) is None
    current = get_incident(second.incident_id, env.deps)
    assert current is not None
    assert current.status == "open"


# -- crashes between the claim and the OpsItem ------------------------------------------------------


class FlakyOps:
    """OpsCenter that fails the first create (before or after really creating the OpsItem)."""

    def __init__(self, real: Any, *, after_create: bool, error: type[BaseException] = TimeoutError) -> None:
        self.real = real
        self.after_create = after_create
        self.error = error
        self.failed = False

    def create(self, *args: Any, **kwargs: Any) -> str:
        if not self.failed:
            self.failed = True
            if self.after_create:
                self.real.create(*args, **kwargs)
            raise self.error("the create call failed")
        created: str = self.real.create(*args, **kwargs)
        return created

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.real.update(*args, **kwargs)

    def get(self, ops_item_id: str) -> dict[str, Any]:
        got: dict[str, Any] = self.real.get(ops_item_id)
        return got


@pytest.mark.parametrize("after_create", [False, True], ids=["before-create", "after-create"])
def test_a_failed_opening_is_finished_by_its_retry_with_one_ops_item(env: Env, after_create: bool) -> None:
    env.deps.ops = FlakyOps(env.deps.ops, after_create=after_create)  # type: ignore[assignment]
    with pytest.raises(TimeoutError):
        open_incident(request(), env.deps)
    assert state_item(env)["status"] == {"S": "opening"}

    retried = open_incident(request(), env.deps)  # at once: the failed call gave its claim up

    assert retried.opened
    assert retried.occurrences == 1
    assert len(env.ops_items()) == 1
    assert state_item(env)["status"] == {"S": "open"}
    assert len(records(env, AuditAction.INCIDENT_OPENED)) == 1
    assert open_incident(request(), env.deps).duplicate


def test_a_failed_opening_is_finished_by_the_next_occurrence_which_counts_too(env: Env) -> None:
    env.deps.ops = FlakyOps(env.deps.ops, after_create=True)  # type: ignore[assignment]
    with pytest.raises(TimeoutError):
        open_incident(request(), env.deps)

    other = open_incident(request(event_id="evt-2"), env.deps)

    assert other.opened
    assert other.occurrences == 2
    assert len(env.ops_items()) == 1
    assert data(ops_item(env, other.ops_item_id))["mlcp:occurrences"] == "2"
    assert open_incident(request(), env.deps).duplicate  # the failed call's retry: counted already
    assert open_incident(request(event_id="evt-2"), env.deps).duplicate
    assert state_item(env)["occurrences"] == {"N": "2"}


def test_a_stale_opening_is_taken_over_by_a_later_event(env: Env) -> None:
    env.deps.ops = FlakyOps(env.deps.ops, after_create=True, error=Killed)  # type: ignore[assignment]
    with pytest.raises(Killed):
        open_incident(request(), env.deps)
    counted = open_incident(request(event_id="evt-2"), env.deps)  # owner may still be working: count
    assert not counted.opened
    env.clock.advance(minutes=10)  # the opening event is never redelivered

    later = open_incident(request(event_id="evt-3"), env.deps)

    assert later.opened
    assert later.ops_item_id is not None
    assert len(env.ops_items()) == 1  # /aws/dedup: the first attempt's OpsItem, not a second one
    assert state_item(env)["status"] == {"S": "open"}


class Killed(BaseException):
    """The Lambda runtime killing the invocation (a timeout): no except clause runs."""


def test_a_killed_opening_is_finished_by_the_retry_a_minute_later(env: Env) -> None:
    env.deps.ops = FlakyOps(env.deps.ops, after_create=True, error=Killed)  # type: ignore[assignment]
    with pytest.raises(Killed):
        open_incident(request(), env.deps)

    at_once = open_incident(request(), env.deps)  # a duplicate delivery, not a retry: leave the owner be
    assert at_once.duplicate
    assert at_once.ops_item_id is None
    env.clock.advance(seconds=90)
    retried = open_incident(request(), env.deps)

    assert retried.opened
    assert len(env.ops_items()) == 1
    assert state_item(env)["status"] == {"S": "open"}
