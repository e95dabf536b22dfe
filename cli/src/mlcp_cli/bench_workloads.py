"""The workloads ``make bench`` times besides cold imports and sizes (see :mod:`mlcp_cli.bench`).

* CPU per event of each decision path, with botocore stubbed (no I/O): the path runs once on moto
  while every API call and its parsed response is recorded, then runs again and again on fresh
  clients whose :class:`botocore.stub.Stubber` replays those responses. What is timed is the
  control plane's own code plus botocore's parameter validation, never a network or moto.
* The audit trail: appends per second on the emulator's DynamoDB (TransactWriteItems counted per
  append) and ``verify_chain`` throughput on an in-memory chain.
* Step Functions state transitions per deployment, from the execution histories of scenarios run on
  the emulator, and the full local scenario's wall time.

Everything here imports moto, the emulator or the layer's heavy modules inside the functions, so
``python -m mlcp_cli.bench --help`` stays instant.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REGION = "us-east-1"
STATE_TABLE = "bench-state"
AUDIT_TABLE = "bench-audit"
#: Step Functions Standard workflows: USD per state transition (0.025 per 1,000).
USD_PER_TRANSITION = 0.025 / 1000
_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_METRICS_NAMESPACE": "mlcp-bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
}


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


@dataclass(frozen=True)
class PathCost:
    """CPU time of ``events`` runs of one decision path."""

    path: str
    events: int
    cpu_seconds: float
    api_calls_per_event: int
    outcome: str

    @property
    def us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6

    @property
    def events_per_second(self) -> float:
        return self.events / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")


def cpu_time(run: Callable[[], object], events: int) -> float:
    """``time.process_time`` spent calling ``run`` ``events`` times (one core: single thread).

    The metrics a path adds are dropped after each event, as ``log_metrics`` flushes them after
    each invocation (printing them is the handler's cost, not the decision's)."""
    from mlcp.observability import metrics

    start = time.process_time()
    for _ in range(events):
        run()
        metrics.clear_metrics()
    return time.process_time() - start


# --------------------------------------------------------------------------- record and replay


@dataclass(frozen=True)
class RecordedCall:
    """One API call as a client saw it: its service key, operation, HTTP status and parsed body."""

    client: str
    operation: str
    status: int
    parsed: Mapping[str, Any]


@dataclass
class CallRecorder:
    """Records every call of the clients it is attached to (botocore ``after-call``, errors too)."""

    calls: list[RecordedCall] = field(default_factory=list)

    def attach(self, key: str, client: Any) -> Any:
        def after_call(http_response: Any, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
            self.calls.append(RecordedCall(key, model.name, http_response.status_code, copy.deepcopy(parsed)))

        client.meta.events.register("after-call", after_call)
        return client

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call.operation == operation)


def queue_replies(stubbers: Mapping[str, Any], calls: Sequence[RecordedCall], times: int) -> None:
    """Queue ``times`` copies of the recorded replies, in order, on each client's Stubber."""
    from botocore import xform_name

    for _ in range(times):
        for call in calls:
            stubber = stubbers[call.client]
            body = {k: copy.deepcopy(v) for k, v in call.parsed.items() if k != "ResponseMetadata"}
            method = xform_name(call.operation)
            if call.status >= 300:
                error = body.pop("Error", {})
                stubber.add_client_error(
                    method,
                    service_error_code=str(error.get("Code", "")),
                    service_message=str(error.get("Message", "")),
                    http_status_code=call.status,
                    modeled_fields=body or None,
                )
            else:
                stubber.add_response(method, body)


@contextmanager
def _fake_aws_environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _FAKE_ENV}
    os.environ.update(_FAKE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _moto_with_tables(*tables: str) -> Iterator[None]:
    """moto (with the emulator's gap fills: OpsCenter, ...) and pk/sk string-keyed tables."""
    from moto import mock_aws

    from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills

    with _fake_aws_environment(), mock_aws(), install_gap_fills(FunctionRegistry()):
        dynamodb = _client("dynamodb")
        for table in tables:
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        yield


def replayed_cost(
    path: str,
    events: int,
    services: Mapping[str, str],
    build: Callable[[Mapping[str, Any]], Callable[[], object]],
    describe: Callable[[object], str],
) -> PathCost:
    """Run ``build(clients)()`` once on moto recording its calls, then ``events`` times on
    stubbed clients replaying them; ``services`` maps a client key to its AWS service."""
    from botocore.stub import Stubber

    from mlcp.observability import metrics

    recorder = CallRecorder()
    recording = {key: recorder.attach(key, _client(svc)) for key, svc in services.items()}
    outcome = describe(build(recording)())
    metrics.clear_metrics()
    calls = list(recorder.calls)
    stubbed = {key: _client(svc) for key, svc in services.items()}
    stubbers = {key: Stubber(client) for key, client in stubbed.items()}
    queue_replies(stubbers, calls, events + 1)
    for stubber in stubbers.values():
        stubber.activate()
    run = build(stubbed)
    replayed = describe(run())  # warm-up: lazy model builds, regex compilation
    metrics.clear_metrics()
    if replayed != outcome:
        raise RuntimeError(f"{path}: the replay took another path ({replayed!r}, recorded {outcome!r})")
    cpu = cpu_time(run, events)
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
    return PathCost(path, events, cpu, len(calls), outcome)


# --------------------------------------------------------------------------- decision paths


def _fixed_clock() -> Callable[[], datetime]:
    moment = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    return lambda: moment


def incident_dedup_cost(events: int) -> PathCost:
    """``open_incident`` for one more occurrence of an open incident (a repeated 5xx alarm): read
    the incident, count the occurrence (dedup marker + counter in one transaction), update the
    OpsItem, audit ``incident.updated``."""
    from mlcp.adapters.audit_trail import AuditTrail
    from mlcp.adapters.opscenter import OpsCenter
    from mlcp.models.incidents import IncidentRequest
    from mlcp.usecases.incidents import IncidentDeps, open_incident

    clock = _fixed_clock()

    def request(event_id: str) -> IncidentRequest:
        return IncidentRequest(
            resource="endpoint/churn-prod",
            cause="alarm:churn-prod-5xx",
            severity=2,
            title="churn-prod: 5xx errors above threshold",
            description="The alarm churn-prod-5xx is in ALARM.",
            operational_data={"alarm": "churn-prod-5xx", "endpoint": "churn-prod"},
            stream="endpoint#churn-prod",
            event_id=event_id,
        )

    def build(clients: Mapping[str, Any]) -> Callable[[], object]:
        deps = IncidentDeps(
            ops=OpsCenter(clients["ssm"]),
            table_name=STATE_TABLE,
            dynamodb=clients["dynamodb"],
            audit=AuditTrail(AUDIT_TABLE, client=clients["dynamodb"], clock=clock),
            clock=clock,
        )
        return lambda: open_incident(request("alarm-2"), deps)

    def describe(outcome: object) -> str:
        opened, duplicate = getattr(outcome, "opened", None), getattr(outcome, "duplicate", None)
        return f"opened={opened} duplicate={duplicate}"

    services = {"dynamodb": "dynamodb", "ssm": "ssm"}
    with _moto_with_tables(STATE_TABLE, AUDIT_TABLE):
        setup = {key: _client(svc) for key, svc in services.items()}
        first = IncidentDeps(
            ops=OpsCenter(setup["ssm"]),
            table_name=STATE_TABLE,
            dynamodb=setup["dynamodb"],
            audit=AuditTrail(AUDIT_TABLE, client=setup["dynamodb"], clock=clock),
            clock=clock,
        )
        from mlcp.observability import logger

        level = logger.log_level
        logger.setLevel("WARNING")  # the setup's "incident opened" line is not a bench result
        try:
            open_incident(request("alarm-1"), first)  # the incident is open; the bench counts a repeat
        finally:
            logger.setLevel(level)
        return replayed_cost("incident dedup", events, services, build, describe)


def analysis_cost(events: int, samples: int = 30) -> PathCost:
    """The canary analysis's judgement (``mlcp.analysis.judge``) of three metrics, ``samples``
    one-minute samples a side (30: the exact Mann-Whitney distribution, its dearest case; from 50
    the normal approximation is cheaper). Pure: the CloudWatch reads and the evidence writes are
    the use case's I/O, not measured here."""
    import random

    from mlcp.analysis.judge import MetricCriteria, judge

    rng = random.Random(19)  # noqa: S311 - simulated metrics, repeatable
    criteria = [
        MetricCriteria("ModelLatency"),
        MetricCriteria("OverheadLatency"),
        MetricCriteria("Invocation5XXErrors", allowed_increase=1.5),
    ]
    data = {
        "ModelLatency": (
            [rng.lognormvariate(4.0, 0.4) for _ in range(samples)],
            [rng.lognormvariate(4.0, 0.4) for _ in range(samples)],
        ),
        "OverheadLatency": (
            [rng.gauss(8, 1.5) for _ in range(samples)],
            [rng.gauss(8, 1.5) for _ in range(samples)],
        ),
        "Invocation5XXErrors": (
            [float(rng.randint(0, 2)) for _ in range(samples)],
            [float(rng.randint(0, 2)) for _ in range(samples)],
        ),
    }
    verdicts: list[str] = []
    seconds = cpu_time(lambda: verdicts.append(judge(data, criteria).verdict), events)
    return PathCost("canary analysis", events, seconds, 0, verdicts[-1] if verdicts else "none")


def retraining_guard_cost(events: int) -> PathCost:
    """``decide_retraining`` for a drift alarm while a retraining holds the pipeline's lease: the
    guard's one transaction (lease + daily count + cooldown) is refused and the refusal explained."""
    from mlcp.adapters.retraining_state import RetrainingState
    from mlcp.policy.model import RetrainingPolicy
    from mlcp.retraining import RetrainingTrigger, decide_retraining

    now = _fixed_clock()()
    policy = RetrainingPolicy.model_validate(
        {"pipeline": "churn-training", "on_alarms": ["churn-prod-model-drift"], "cooldown_hours": 1}
    )

    def trigger(event_id: str) -> RetrainingTrigger:
        return RetrainingTrigger(
            kind="alarm", reason="drift alarm", event_id=event_id, alarm_name="churn-prod-model-drift"
        )

    def build(clients: Mapping[str, Any]) -> Callable[[], object]:
        state = RetrainingState(STATE_TABLE, clients["dynamodb"])
        return lambda: decide_retraining(trigger("alarm-2"), policy, state, now + timedelta(minutes=5))

    def describe(decision: object) -> str:
        return f"start={getattr(decision, 'start', None)}"

    with _moto_with_tables(STATE_TABLE):
        first = decide_retraining(
            trigger("alarm-1"), policy, RetrainingState(STATE_TABLE, _client("dynamodb")), now
        )
        if not first.start:
            raise RuntimeError(f"retraining guard setup: the first trigger was refused ({first.reason})")
        return replayed_cost("retraining guard", events, {"dynamodb": "dynamodb"}, build, describe)


def routing_samples(events_dir: Path) -> list[dict[str, Any]]:
    """Every accepted sample of the contract corpus (``events/<detail-type>/*.json``)."""
    samples = []
    for path in sorted(events_dir.glob("*/*.json")):
        if path.parent.name == "negative":
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "detail-type" in document:
            samples.append(document)
    return samples


def routing_cost(events: int, events_dir: Path) -> PathCost:
    """``parse_event``: the route decision (detail-type and source -> the one model that takes it)
    and the validation, round-robin over the corpus samples; no I/O on this path."""
    from mlcp.events import parse_event

    samples = routing_samples(events_dir)
    if not samples:
        raise RuntimeError(f"no event samples under {events_dir}")
    raw = [json.dumps(sample) for sample in samples]
    for text in raw:  # warm-up: every model's validator is built on its first event
        parse_event(text)
    position = iter(range(events))
    count = len(raw)

    def run() -> object:
        return parse_event(raw[next(position) % count])

    cpu = cpu_time(run, events)
    return PathCost(
        "routing", events, cpu, 0, f"{count} samples, {len({s['detail-type'] for s in samples})} types"
    )


# --------------------------------------------------------------------------- audit trail


def audit_append_rate(appends: int) -> dict[str, Any]:
    """Wall-clock appends per second to one stream on the emulator's DynamoDB, and the
    TransactWriteItems calls they made (the contract: exactly one per append)."""

    from mlcp.adapters.audit_trail import AuditTrail
    from mlcp.audit import AuditAction

    with _moto_with_tables(AUDIT_TABLE):
        recorder = CallRecorder()
        client = recorder.attach("dynamodb", _client("dynamodb"))
        trail = AuditTrail(AUDIT_TABLE, client=client)
        start = time.perf_counter()
        for number in range(appends):
            trail.append(
                stream="group#bench",
                action=AuditAction.EVENT_RECEIVED,
                actor="bench",
                subject="arn:aws:sagemaker:us-east-1:123456789012:model-package/bench/1",
                evidence={"n": number},
                decision_id=f"bench-{number}",
            )
        seconds = time.perf_counter() - start
    transactions = recorder.count("TransactWriteItems")
    return {
        "appends": appends,
        "wall_seconds": seconds,
        "appends_per_second": appends / seconds,
        "transact_write_items": transactions,
        "transactions_per_append": transactions / appends,
        "api_calls": len(recorder.calls),
    }


def audit_contention(writers: int, appends_per_writer: int) -> dict[str, Any]:
    """TransactWriteItems attempts per append when ``writers`` threads append to one stream at once,
    back to back (no think time: harsher than any handler). Each writer has its own client, as
    concurrent Lambda invocations would."""
    import statistics
    import threading

    from mlcp.adapters.audit_trail import AuditTrail
    from mlcp.audit import AuditAction
    from mlcp.errors import AuditConflict
    from mlcp_cli.emulator.gaps import serialized_dynamodb

    attempts: list[int] = []
    conflicts: list[str] = []
    with _moto_with_tables(AUDIT_TABLE), serialized_dynamodb():
        start = threading.Barrier(writers)

        def write(index: int) -> None:
            client = _client("dynamodb")
            calls = [0]

            def count(**_: Any) -> None:
                calls[0] += 1

            client.meta.events.register("before-call.dynamodb.TransactWriteItems", count)
            trail = AuditTrail(AUDIT_TABLE, client=client)
            start.wait()
            for number in range(appends_per_writer):
                calls[0] = 0
                try:
                    trail.append(
                        stream="data#bench",
                        action=AuditAction.DATA_ARRIVED,
                        actor="bench",
                        subject=f"s3://bench/training-data/{index}/{number}.csv",
                        evidence={"n": number},
                        decision_id=f"bench-{index}-{number}",
                    )
                except AuditConflict as exc:
                    conflicts.append(str(exc))
                attempts.append(calls[0])

        threads = [threading.Thread(target=write, args=(index,)) for index in range(writers)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - began
    ordered = sorted(attempts)
    return {
        "writers": writers,
        "appends": len(attempts),
        "conflicts": len(conflicts),
        "attempts_mean": statistics.fmean(ordered),
        "attempts_p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "attempts_max": ordered[-1],
        "wall_seconds": seconds,
    }


def audit_chain(records: int, stream: str = "group#bench") -> list[Any]:
    """A valid chain of ``records`` records, hashed as ``AuditTrail.append`` hashes them."""
    from mlcp.models.audit import GENESIS_HASH, AuditAction, AuditRecord, format_timestamp, record_hash

    start = datetime(2026, 6, 1, tzinfo=UTC)
    chain: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, records + 1):
        fields = {
            "stream": stream,
            "seq": seq,
            "prev_hash": prev,
            "actor": "arn:aws:sts::123456789012:assumed-role/mlcp-dev-EventIntake/mlcp",
            "at": format_timestamp(start + timedelta(seconds=seq)),
            "action": AuditAction.EVENT_RECEIVED.value,
            "subject": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-prod#{seq}",
            "evidence": {"detail_type": "SageMaker Endpoint State Change", "status": "IN_SERVICE"},
            "event_id": f"evt-{seq}",
            "decision_id": f"decision-{seq}",
        }
        prev = record_hash(fields)
        chain.append(AuditRecord.model_validate({**fields, "hash": prev}))
    return chain


def audit_verify_rate(records: int) -> dict[str, Any]:
    """CPU throughput of ``verify_chain`` (pure) over a valid chain of ``records`` records."""
    from mlcp.audit.verify import verify_chain
    from mlcp.models.audit import StreamHead

    chain = audit_chain(records)
    head = StreamHead(stream=chain[-1].stream, seq=chain[-1].seq, hash=chain[-1].hash)
    start = time.process_time()
    verdict = verify_chain(chain, head, require_head=True)
    cpu = time.process_time() - start
    if not verdict.ok:
        raise RuntimeError(f"the bench chain does not verify: {verdict}")
    return {
        "records": records,
        "cpu_seconds": cpu,
        "records_per_second": records / cpu if cpu else float("inf"),
    }


def audit_digest_cost(streams: int, records_per_stream: int = 20) -> dict[str, Any]:
    """One signed digest of ``streams`` stream heads, and verification with digests on.

    Digest: the use case (``write_digest``) on the emulator (heads scanned from DynamoDB, signed by
    KMS, written once to an Object Lock bucket): its wall time, the CPU of building and hashing the
    digest itself (no I/O), and the size of the object. Verify: ``verify_chain`` of every stream
    plus ``verify_anchors`` against 24 hourly digests (pure, 1 core), in records per second.
    """
    from mlcp.adapters.audit_trail import HEAD_SK, AuditTrail
    from mlcp.adapters.digests import DigestBucket, DigestSigner
    from mlcp.models.audit import GENESIS_HASH
    from mlcp.models.digest import AuditDigest, StreamAnchor, digest_key
    from mlcp.usecases.audit_digest import DigestDeps, write_digest

    with _moto_with_tables(AUDIT_TABLE):
        dynamodb, kms, s3 = _client("dynamodb"), _client("kms"), _client("s3")
        for number in range(streams):
            dynamodb.put_item(
                TableName=AUDIT_TABLE,
                Item={
                    "pk": {"S": f"endpoint#bench-{number:04d}"},
                    "sk": {"S": HEAD_SK},
                    "seq": {"N": str(records_per_stream)},
                    "hash": {"S": f"{number:064x}"},
                    "updated_at": {"S": "2026-06-01T00:00:00.000000Z"},
                },
            )
        key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket="bench-digests", ObjectLockEnabledForBucket=True)
        deps = DigestDeps(
            audit=AuditTrail(AUDIT_TABLE, client=dynamodb),
            bucket=DigestBucket("bench-digests", s3),
            signer=DigestSigner(key, kms),
            key_arn=key,
            retention_days=lambda: 186,
            clock=lambda: datetime(2026, 6, 1, tzinfo=UTC),
        )
        started = time.perf_counter()
        digest = write_digest(deps, "schedule")
        wall = time.perf_counter() - started
        assert digest is not None  # a scheduled digest always writes
        size = len(s3.get_object(Bucket="bench-digests", Key=digest_key(1))["Body"].read())
    anchors = digest.streams
    start = time.process_time()
    for _ in range(10):
        built = AuditDigest(
            number=2,
            previous_digest_sha256=GENESIS_HASH,
            created_at="2026-06-01T01:00:00.000000Z",
            table=AUDIT_TABLE,
            trigger="schedule",
            key_id=key,
            streams=tuple(StreamAnchor(stream=a.stream, seq=a.seq, hash=a.hash, at=a.at) for a in anchors),
        )
        built.message_digest()
        built.to_bytes()
    build_cpu = (time.process_time() - start) / 10

    return {
        "streams": streams,
        "digest_wall_seconds": wall,
        "digest_build_cpu_seconds": build_cpu,
        "digest_bytes": size,
        **_verify_with_digests(streams, records_per_stream, key),
    }


def _verify_with_digests(streams: int, records_per_stream: int, key: str) -> dict[str, Any]:
    """``verify_chain`` of ``streams`` chains plus their 24 hourly digests (signatures, anchors)."""
    import base64
    import datetime as dt

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    from mlcp.audit.anchors import verify_anchors
    from mlcp.audit.verify import verify_chain
    from mlcp.models.audit import GENESIS_HASH, StreamHead
    from mlcp.models.digest import AuditDigest, StoredDigest, StreamAnchor, digest_key, object_sha256

    private = ec.generate_private_key(ec.SECP256R1())
    algorithm = ec.ECDSA(Prehashed(hashes.SHA256()))
    chains = {
        f"endpoint#bench-{n:04d}": audit_chain(records_per_stream, f"endpoint#bench-{n:04d}")
        for n in range(streams)
    }
    stored: list[StoredDigest] = []
    previous = GENESIS_HASH
    for hour in range(1, 25):
        upto = max(1, records_per_stream * hour // 24)
        unsigned = AuditDigest(
            number=hour,
            previous_digest_sha256=previous,
            created_at=(datetime(2026, 6, 1, tzinfo=UTC) + dt.timedelta(hours=hour)).strftime(
                "%Y-%m-%dT%H:%M:%S.000000Z"
            ),
            table=AUDIT_TABLE,
            trigger="schedule",
            key_id=key,
            streams=tuple(
                StreamAnchor(stream=name, seq=chain[upto - 1].seq, hash=chain[upto - 1].hash)
                for name, chain in chains.items()
            ),
        )
        signature = base64.b64encode(private.sign(unsigned.message_digest(), algorithm)).decode("ascii")
        signed = unsigned.model_copy(update={"signature": signature})
        body = signed.to_bytes()
        stored.append(StoredDigest(digest_key(hour), hour, body, signed, True))
        previous = object_sha256(body)
    start = time.process_time()
    for name, chain in chains.items():
        head = StreamHead(stream=name, seq=chain[-1].seq, hash=chain[-1].hash)
        if not verify_chain(chain, head, require_head=True).ok:
            raise RuntimeError("the bench chains do not verify")
    chain_cpu = time.process_time() - start
    start = time.process_time()
    signature_checks = sum(
        1
        for d in stored
        if d.digest
        and private.public_key().verify(
            base64.b64decode(d.digest.signature), d.digest.message_digest(), algorithm
        )
        is None
    )
    verdict = verify_anchors(chains, stored, table=AUDIT_TABLE, key_id=key)
    anchor_cpu = time.process_time() - start
    if not verdict.ok or signature_checks != len(stored):
        raise RuntimeError(f"the bench digests do not verify: {verdict.problems[:3]}")
    records = streams * records_per_stream
    return {
        "verify_records": records,
        "verify_digests": len(stored),
        "verify_chain_cpu_seconds": chain_cpu,
        "verify_anchor_cpu_seconds": anchor_cpu,
        "verify_records_per_second": records / (chain_cpu + anchor_cpu)
        if chain_cpu + anchor_cpu
        else float("inf"),
    }


# --------------------------------------------------------------------------- workflows


def deployment_mode(states: Sequence[str], deploy_mode: str | None) -> str:
    """What a deployment execution was, from the states it entered and DeployModel's ``mode``."""
    if "WaitForLease" in states:
        return "queued"
    ending = states[-1] if states else ""
    outcome = {"Deployed": "promoted", "RolledBack": "rolled back"}.get(ending, ending or "unknown")
    # A shadow phase before the canary (ADR 25): its own modes, compared with the canary alone.
    shadow = "shadow + " if "ShadowBake" in states else ""
    if shadow and "RejectAfterShadow" in states:
        return "shadow rejected"
    if deploy_mode == "create":
        return "create" if ending == "Deployed" else f"create {outcome}"
    if deploy_mode == "bake":
        return f"managed bake {outcome}"
    analysed = " with analysis" if {"AnalyzeShiftStep", "AnalyzeBake"} & set(states) else ""
    if deploy_mode == "managed" or "ShiftTraffic" in states:
        return f"traffic shifting{analysed} {outcome}"
    if deploy_mode == "guardrails":
        return f"{shadow}canary{analysed} {outcome}"
    return f"{deploy_mode or 'no deployment'} {outcome}"


def _find_mode(value: Any) -> str | None:
    """DeployModel's ``mode`` wherever the workflow put its result (``bake``: a managed deployment
    whose strategy is the serverless all-at-once bake, ADR 9)."""
    if isinstance(value, dict):
        mode = value.get("mode")
        if isinstance(mode, str) and mode in {"create", "guardrails", "managed", "resumed"}:
            shift = value.get("shift")
            if mode == "managed" and isinstance(shift, dict) and shift.get("strategy") == "bake":
                return "bake"
            return mode
        for item in value.values():
            found = _find_mode(item)
            if found:
                return found
    return None


def count_transitions(history: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """States entered (what Step Functions bills: one transition per state entered, retries
    included) and DeployModel's mode, from one execution's history."""
    states = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    deploy_mode = None
    for event in history:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") == "DeployModel":
            try:
                deploy_mode = _find_mode(json.loads(details.get("output") or "null"))
            except ValueError:
                deploy_mode = None
    return {"transitions": len(states), "states": states, "deploy_mode": deploy_mode}


def whole_command(
    root: Path, template: Path, scenario_path: Path, *, skipping: bool = True
) -> dict[str, Any]:
    """``mlcp local run SCENARIO`` in a process of its own, as a user runs it (the console script
    beside this interpreter): wall and CPU of everything (interpreter start, imports, deploy, play,
    the closing audit verification, the exit). ``skipping=False``: the same command with the
    virtual clock's skipping disabled (``MLCP_CLOCK_SKIPPING=off``), the reference."""
    import os
    import resource
    import subprocess
    import sys

    script = Path(sys.executable).parent / "mlcp"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "mlcp_cli.main"]
    command += ["local", "run", str(scenario_path), "--template", str(template), "--root", str(root)]
    environment = {**os.environ, "MLCP_CLOCK_SKIPPING": "on" if skipping else "off"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603  our own CLI
        command, cwd=root, env=environment, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "ok": done.returncode == 0,
        "skipping": skipping,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "error": "" if done.returncode == 0 else (done.stderr or done.stdout)[-500:],
    }


def whole_commands(root: Path, template: Path, scenario_path: Path, *, rounds: int = 2) -> dict[str, Any]:
    """The whole command with skipping on and off, in turn (on, off, on, off, ...: a drift in the
    host's speed touches both alike); each side's fastest passing round, and the ratio of the two."""
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for _ in range(rounds):
        for skipping in (True, False):
            runs[skipping].append(whole_command(root, template, scenario_path, skipping=skipping))

    def best(found: list[dict[str, Any]]) -> dict[str, Any]:
        passed = [run for run in found if run["ok"]]
        return min(passed, key=lambda run: run["wall_seconds"]) if passed else found[-1]

    skipped, unskipped = best(runs[True]), best(runs[False])
    ratio = skipped["wall_seconds"] / unskipped["wall_seconds"] if skipped["ok"] and unskipped["ok"] else None
    return {**skipped, "rounds": rounds, "unskipped": unskipped, "ratio": ratio}


def run_scenario(root: Path, template: Path, scenario_path: Path, *, skipping: bool = True) -> dict[str, Any]:
    """Deploy the stack on the emulator, play the scenario; wall times and deployment executions.
    ``skipping=False``: the virtual clock lets real time pass instead of jumping (the reference)."""
    import io

    from mlcp_cli.emulator.runtime import LocalControlPlane
    from mlcp_cli.scenario import ScenarioRunner, load_scenario

    scenario = load_scenario(scenario_path)
    started = time.perf_counter()
    with LocalControlPlane(
        template, parameters=scenario.parameters, start=scenario.start, skipping=skipping
    ) as cp:
        deployed = time.perf_counter()
        cpu = time.process_time()
        result = ScenarioRunner(cp, root=root, timeline=io.StringIO()).run(scenario)
        played = time.perf_counter()
        cpu = time.process_time() - cpu
        simulated, rate = cp.clock.elapsed(), cp.clock.rate
        sfn = cp.client("stepfunctions")
        machine = cp.stack.physical_id("DeploymentStateMachine")
        executions = []
        listed = sfn.list_executions(stateMachineArn=machine)["executions"]
        for execution in sorted(listed, key=lambda e: e["startDate"]):
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            counted = count_transitions(history["events"])
            executions.append(
                {
                    "status": execution["status"],
                    "mode": deployment_mode(counted["states"], counted["deploy_mode"]),
                    **counted,
                }
            )
    return {
        "scenario": scenario.name,
        "ok": result.ok,
        "failures": result.failures,
        "deploy_seconds": deployed - started,
        "play_seconds": played - deployed,
        "play_cpu_seconds": cpu,
        "simulated_seconds": simulated,
        "skipping": skipping,
        "rate": rate,
        "executions": executions,
    }
