"""The figures, budgets, table and JSON of `python -m mlcp_cli.bench`, and the pure parts of its
workloads (record/replay stubbing, transition counting, the audit chain). No timing assertions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mlcp.audit.verify import verify_chain
from mlcp_cli import bench
from mlcp_cli import bench_workloads as workloads

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ budgets and figures


def test_budgets_compare_inclusively_and_print_their_sense() -> None:
    assert bench.at_most(1.3).met(1.3)
    assert not bench.at_most(1.3).met(1.31)
    assert bench.at_least(1000).met(1000)
    assert not bench.at_least(1000).met(999.9)
    assert str(bench.at_most(1.3)) == "<= 1.3"
    assert str(bench.at_least(100_000)) == ">= 100000"


def test_a_figure_is_ok_only_against_a_budget_and_unmeasured_misses() -> None:
    assert bench.Figure("a", 1.0, "ms").ok is None
    assert bench.Figure("b", 1.0, "x", bench.at_most(1.3)).ok is True
    assert bench.Figure("c", 2.0, "x", bench.at_most(1.3)).ok is False
    assert bench.Figure("d", None, "x", bench.at_most(1.3)).ok is False
    assert bench.Figure("e", None, "ms").ok is None


def test_figure_json_carries_value_unit_budget_ok() -> None:
    assert bench.Figure("b", 1.25, "x boto3", bench.at_most(1.3)).to_json() == {
        "value": 1.25,
        "unit": "x boto3",
        "budget": "<= 1.3",
        "ok": True,
    }
    assert bench.Figure("a", 3.0, "ms", note="why").to_json() == {
        "value": 3.0,
        "unit": "ms",
        "budget": None,
        "ok": None,
        "note": "why",
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "-"), (123456.7, "123,457"), (250.04, "250.0"), (1.256, "1.26"), (0.000635, "0.000635")],
)
def test_format_value(value: float | None, shown: str) -> None:
    assert bench.format_value(value) == shown


def test_table_has_the_five_columns_flags_misses_and_ends_with_the_verdict() -> None:
    figures = [
        bench.Figure("cold import: import boto3", 120.0, "ms CPU"),
        bench.Figure("cold import ratio: a", 1.2, "x boto3", bench.at_most(1.3)),
        bench.Figure("cold import ratio: b", 1.5, "x boto3", bench.at_most(1.3)),
        bench.Figure("cold import ratio: c", 1.6, "x boto3", bench.at_most(1.3)),
        bench.Figure(
            "audit verify", 90_000.0, "records/s", bench.at_least(100_000), "chain of 100000 records"
        ),
    ]
    lines = bench.render_table(figures).splitlines()
    assert lines[0].split() == ["figure", "value", "unit", "budget", "ok"]
    row = {line.split("  ")[0].strip(): line for line in lines[2:7]}
    assert row["cold import ratio: a"].endswith("ok")
    assert row["cold import ratio: b"].endswith("MISS")
    assert row["cold import: import boto3"].rstrip().endswith("ms CPU")
    assert "  audit verify: chain of 100000 records" in lines
    assert lines[-1] == "1 of 4 budgets met; missed: cold import ratio (2), audit verify"
    assert bench.verdict(figures[:2]) == "1 of 1 budgets met"


def test_results_document_keeps_table_order_and_details() -> None:
    figures = [bench.Figure("z", 1.0, "s", bench.at_most(5)), bench.Figure("a", 2.0, "ms")]
    document = bench.results_document(figures, {"raw": [1, 2]}, {"python": "3.13.0", "runs": 10})
    assert list(document["figures"]) == ["z", "a"]
    assert document["figures"]["z"] == {"value": 1.0, "unit": "s", "budget": "<= 5", "ok": True}
    assert document["details"] == {"raw": [1, 2]}
    assert document["python"] == "3.13.0"
    json.dumps(document)


# ------------------------------------------------------------------ figures from details


def _timing(label: str, cpu: float | None, **extra: Any) -> dict[str, Any]:
    return {"label": label, "cpu_median_ms": cpu, "error": None if cpu is not None else "exit 1", **extra}


def _imports(*handlers: dict[str, Any]) -> dict[str, Any]:
    return {
        "runs": 12,
        "baseline": _timing("import boto3", 100.0),
        "floor": _timing("floor", 150.0, ratio=1.5, over_floor=1.0, over_conventional=0.6),
        "conventional": _timing("conventional", 250.0, ratio=2.5, over_floor=1.67, over_conventional=1.0),
        "floors": [_timing("boto3 + pydantic BaseModel", 130.0, ratio=1.3)],
        "handlers": list(handlers),
    }


def test_import_figures_budget_each_handler_against_the_floor_and_the_conventional_handler() -> None:
    imports = _imports(
        {"function": "a", **_timing("a", 160.0, ratio=1.6, over_floor=1.07, over_conventional=0.64)},
        {"function": "b", **_timing("b", None), "error": "exit 1: KeyError: 'X'"},
        {"function": "c", **_timing("c", 180.0, ratio=1.8, over_floor=1.2, over_conventional=0.72)},
    )
    figures = {f.name: f for f in bench.import_figures(imports)}
    assert figures["cold import: import boto3"].value == 100.0
    assert figures[f"cold import: {bench.STACK_FLOOR_LABEL}"].value == 150.0
    assert "1.67x the floor" in figures[f"cold import: {bench.CONVENTIONAL_LABEL}"].note
    assert figures["cold import vs floor: a"].ok is True
    assert figures["cold import vs floor: c"].ok is False
    assert figures["cold import vs floor: b"].ok is False  # not measured is a miss
    assert figures["cold import vs conventional: a"].ok is True
    assert str(figures["cold import vs conventional: a"].budget) == "< 1"
    assert figures["cold import: b"].note == "exit 1: KeyError: 'X'"
    worst = figures["cold start budget: worst handler vs floor"]
    assert worst.value is None  # b failed to import: it is the worst
    assert worst.note.startswith("b; ")
    assert "12 rounds" in worst.note
    other = figures["cold import floor: boto3 + pydantic BaseModel"]
    assert (other.value, other.unit, other.budget) == (1.3, "x boto3", None)


def test_import_figures_show_each_handler_from_source_and_count_layer_modules_compiled() -> None:
    source = _timing("a (from source)", 190.0, over_floor=1.27)
    imports = _imports(
        {
            "function": "a",
            **_timing("a", 160.0, over_floor=1.07),
            "compiled_modules": [],
            "from_source": source,
        },
        {"function": "c", **_timing("c", 170.0, over_floor=1.1), "compiled_modules": ["x.y", "x.z"]},
    )
    figures = {f.name: f for f in bench.import_figures(imports)}
    assert (
        figures["cold import: a"].note
        == "from source (our code compiled at import) 190.0 ms, 1.27x the floor"
    )
    compiled = figures["cold import: layer modules compiled at import (as shipped)"]
    assert (compiled.value, compiled.unit, compiled.ok) == (2, "modules", False)
    assert compiled.note == "c: x.y, x.z"
    assert figures["cold start budget: worst handler vs floor"].note.endswith("; from source: a 1.27x")
    imports["handlers"][1]["compiled_modules"] = []
    assert bench.compiled_at_import_figure(imports["handlers"]).ok is True
    imports["handlers"][1]["compiled_modules"] = None  # not timed as shipped: unmeasured is a miss
    assert bench.compiled_at_import_figure(imports["handlers"]).ok is False


def test_cold_start_verdict_names_every_handler_that_misses() -> None:
    met = _imports(
        {"function": "a", **_timing("a", 160.0, over_floor=1.07, over_conventional=0.64)},
        {"function": "b", **_timing("b", 170.0, over_floor=1.14, over_conventional=0.7)},
    )
    assert bench.cold_start_verdict(met) == (
        "cold start budget MET: worst b at 1.14x the floor (<= 1.15x), "
        "every handler faster than the conventional handler"
    )
    missed = _imports(
        {"function": "a", **_timing("a", 160.0, over_floor=1.16, over_conventional=0.64)},
        {"function": "b", **_timing("b", 300.0, over_floor=2.0, over_conventional=1.0)},
    )
    assert bench.cold_start_verdict(missed) == (
        "cold start budget MISSED: over 1.15x the floor: a 1.16x, b 2.00x; "
        "not faster than the conventional handler: b 1.00x"
    )


def test_paired_ratio_is_the_median_of_per_round_ratios() -> None:
    top = bench.ImportTiming("a", cpu_samples_ms=[200.0, 110.0, 330.0])
    bottom = bench.ImportTiming("b", cpu_samples_ms=[100.0, 100.0, 300.0])
    assert bench.paired_ratio(top, bottom) == pytest.approx(1.1)  # ratios 2.0, 1.1, 1.1
    assert bench.paired_ratio(bench.ImportTiming("x", error="exit 1"), bottom) is None
    assert bench.paired_ratio(bench.ImportTiming("x"), bench.ImportTiming("y")) is None


def test_below_is_strict() -> None:
    assert bench.below(1.0).met(0.99)
    assert not bench.below(1.0).met(1.0)


def test_size_figures_total_is_budgeted_and_needs_every_artifact() -> None:
    built = [
        {"logical_id": "RuntimeLayer", "kind": "layer", "zipped_bytes": 3_500_000},
        {"logical_id": "AFunction", "kind": "function", "zipped_bytes": 1_000},
        {"logical_id": "Other", "kind": "other", "zipped_bytes": 9_000_000},
    ]
    figures = {f.name: f for f in bench.size_figures(built)}
    assert figures["zipped size: AFunction"].value == 1.0  # kB
    assert figures["zipped size: total"].value == pytest.approx(3.501)
    assert figures["zipped size: total"].ok is True
    assert "zipped size: Other" not in figures
    missing = bench.size_figures(
        [*built, {"logical_id": "BFunction", "kind": "function", "error": "not built"}]
    )
    total = {f.name: f for f in missing}["zipped size: total"]
    assert total.value is None
    assert total.ok is False
    assert "BFunction" in total.note


def test_path_figures_budget_cpu_on_every_path_and_the_gate_rate() -> None:
    paths = {
        "gates": {"us_per_event": 200.0, "events_per_second": 5000.0},
        "routing": {"us_per_event": 30.0, "events_per_second": 33000.0},
        "incident dedup": {"error": "incident dedup: RuntimeError: boom"},
    }
    figures = {f.name: f for f in bench.path_figures(paths)}
    assert figures["CPU per event: gates"].budget == bench.at_most(2000)
    assert figures["events per second: gates"].budget == bench.at_least(1000)
    assert figures["events per second: routing"].budget is None
    assert figures["CPU per event: incident dedup"].ok is False
    assert "boom" in figures["CPU per event: incident dedup"].note


def test_transition_figures_keep_the_worst_execution_per_mode_and_cost_it() -> None:
    runs: list[dict[str, Any]] = [
        {
            "scenario": "full-loop",
            "executions": [
                {"mode": "create", "transitions": 17},
                {"mode": "canary rolled back", "transitions": 17},
            ],
        },
        {"scenario": "canary-success", "executions": [{"mode": "create", "transitions": 21}]},
        {"scenario": "canary-queue", "error": "canary-queue: PumpTimeout: not idle"},
    ]
    assert bench.transitions_by_mode(runs)["create"] == {"transitions": 21, "scenario": "canary-success"}
    figures = {f.name: f for f in bench.transition_figures(runs, workloads.USD_PER_TRANSITION)}
    assert figures["transitions: canary rolled back"].budget == bench.at_most(25)
    assert figures["transitions: create"].budget is None
    assert figures["cost: create"].value == pytest.approx(21 * 0.025 / 1000)
    assert figures["transitions: canary-queue"].ok is False


def test_scenario_figure_is_the_play_time_of_a_passing_run() -> None:
    run = {
        "ok": True,
        "failures": [],
        "play_seconds": 1.6,
        "play_cpu_seconds": 1.5,
        "deploy_seconds": 3.0,
        "simulated_seconds": 5400.0,
        "skipping": True,
    }
    figure, deploy = bench.scenario_figures(run)
    assert figure.value == 1.6
    assert figure.ok is True
    assert "5400 simulated seconds on the virtual clock, 1.50 s CPU" in figure.note
    assert deploy.budget is None
    *_, ratio = bench.scenario_figures(run, {**run, "play_seconds": 3.2, "skipping": False, "rate": 3600})
    assert ratio.value == 0.5
    assert ratio.unit == "x"
    assert "3.20 s wall with skipping disabled" in ratio.note
    assert bench.scenario_figures({**run, "play_seconds": 2.1})[0].ok is False  # issue 15: at most 2 s
    failed = bench.scenario_figures({**run, "ok": False, "failures": ["endpoint: wrong"]})[0]
    assert failed.ok is False
    assert "endpoint: wrong" in failed.note
    *_, command = bench.scenario_figures(run, None, {"ok": True, "wall_seconds": 4.5, "cpu_seconds": 4.1})
    assert (command.name, command.value, command.unit) == (
        "mlcp local run full-loop (whole command)",
        4.5,
        "s wall",
    )
    assert command.note.startswith("4.10 s CPU")
    assert command.ok is False  # issue 15: the whole command in at most 2 s
    *_, broken = bench.scenario_figures(run, None, {"error": "full-loop: CalledProcessError: boom"})
    assert broken.value is None
    assert "boom" in broken.note


def test_whole_command_figures_with_and_without_skipping() -> None:
    unskipped = {"ok": True, "skipping": False, "wall_seconds": 6.0, "cpu_seconds": 3.0}
    command = {
        "ok": True,
        "wall_seconds": 1.5,
        "cpu_seconds": 1.4,
        "rounds": 2,
        "unskipped": unskipped,
        "ratio": 0.25,
    }
    whole, reference, ratio = bench.whole_command_figures(command)
    assert (whole.value, whole.ok) == (1.5, True)
    assert whole.note.endswith("(fastest of 2)")
    assert (reference.name, reference.value) == (
        "mlcp local run full-loop without time skipping (whole command)",
        6.0,
    )
    assert "MLCP_CLOCK_SKIPPING=off" in reference.note
    assert (ratio.value, ratio.unit) == (0.25, "x")
    failed = {**command, "unskipped": {"ok": False, "error": "boom"}}
    assert [f.value for f in bench.whole_command_figures(failed)] == [1.5, None]
    assert "boom" in bench.whole_command_figures(failed)[1].note


def test_whole_commands_alternate_and_keep_each_sides_fastest(monkeypatch: pytest.MonkeyPatch) -> None:
    walls = iter([3.0, 8.0, 2.0, 9.0, 2.5, 7.0])
    order: list[bool] = []

    def timed(root: Path, template: Path, scenario: Path, *, skipping: bool = True) -> dict[str, Any]:
        order.append(skipping)
        return {"ok": True, "skipping": skipping, "wall_seconds": next(walls), "cpu_seconds": 1.0}

    monkeypatch.setattr(workloads, "whole_command", timed)
    result = workloads.whole_commands(Path("."), Path("template.yaml"), Path("s.yaml"), rounds=3)
    assert order == [True, False] * 3
    assert (result["wall_seconds"], result["unskipped"]["wall_seconds"]) == (2.0, 7.0)
    assert result["ratio"] == pytest.approx(2.0 / 7.0)


def test_main_validates_counts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main(["--events", "0"])
    assert "--events must be at least 1" in capsys.readouterr().err


# ------------------------------------------------------------------ workloads


def test_deployment_mode_from_states_and_deploy_mode() -> None:
    done = ["DeployModel", "FinishDeployment", "ReleaseLease", "DeploymentResult"]
    assert workloads.deployment_mode([*done, "Deployed"], "create") == "create"
    assert workloads.deployment_mode([*done, "Deployed"], "guardrails") == "canary promoted"
    assert workloads.deployment_mode([*done, "RolledBack"], "guardrails") == "canary rolled back"
    assert (
        workloads.deployment_mode(["ShiftTraffic", *done, "Deployed"], "managed")
        == "traffic shifting promoted"
    )
    assert (
        workloads.deployment_mode(["ShiftTraffic", *done, "RolledBack"], "bake") == "managed bake rolled back"
    )
    assert (
        workloads.deployment_mode(["AcquireLease", "WaitForLease", *done, "Deployed"], "guardrails")
        == "queued"
    )
    assert workloads.deployment_mode(["VerifyApproval", "Rejected"], None) == "no deployment Rejected"
    shadow = ["StartShadow", "WaitForShadow", "ShadowBake", "JudgeShadow", "EndShadow"]
    assert workloads.deployment_mode([*shadow, *done, "Deployed"], "guardrails") == "shadow + canary promoted"
    assert (
        workloads.deployment_mode([*shadow, "ReleaseLeaseAfterShadow", "RejectAfterShadow", "Rejected"], None)
        == "shadow rejected"
    )


def test_count_transitions_counts_states_entered_and_finds_the_deploy_mode() -> None:
    history = [
        {"type": "ExecutionStarted"},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "DeployModel"}},
        {"type": "TaskScheduled"},
        {
            "type": "TaskStateExited",
            "stateExitedEventDetails": {
                "name": "DeployModel",
                "output": json.dumps({"deploy": {"mode": "guardrails"}}),
            },
        },
        {"type": "SucceedStateEntered", "stateEnteredEventDetails": {"name": "Deployed"}},
        {"type": "ExecutionSucceeded"},
    ]
    counted = workloads.count_transitions(history)
    assert counted == {"transitions": 2, "states": ["DeployModel", "Deployed"], "deploy_mode": "guardrails"}
    history[3]["stateExitedEventDetails"]["output"] = json.dumps(
        {"deploy": {"mode": "managed", "shift": {"strategy": "bake"}}}
    )
    assert workloads.count_transitions(history)["deploy_mode"] == "bake"


def test_recorded_calls_replay_through_stubber_including_modeled_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    calls = [
        workloads.RecordedCall("ddb", "GetItem", 200, {"Item": {"pk": {"S": "a"}}, "ResponseMetadata": {}}),
        workloads.RecordedCall(
            "ddb",
            "TransactWriteItems",
            400,
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "ConditionalCheckFailed"}],
            },
        ),
    ]
    client = boto3.client("dynamodb", region_name="us-east-1")
    stubber = Stubber(client)
    workloads.queue_replies({"ddb": stubber}, calls, times=2)
    with stubber:
        for _ in range(2):
            assert client.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
            with pytest.raises(ClientError) as raised:
                client.transact_write_items(
                    TransactItems=[{"Delete": {"TableName": "t", "Key": {"pk": {"S": "a"}}}}]
                )
            assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
            assert raised.value.response["CancellationReasons"] == [{"Code": "ConditionalCheckFailed"}]
        stubber.assert_no_pending_responses()


def test_call_recorder_counts_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    recorder = workloads.CallRecorder()
    client = recorder.attach("ddb", boto3.client("dynamodb", region_name="us-east-1"))
    with Stubber(client) as stubber:
        stubber.add_response("list_tables", {"TableNames": ["xyz"]})
        client.list_tables()
    assert recorder.count("ListTables") == 1
    assert recorder.calls[0].parsed["TableNames"] == ["xyz"]


def test_audit_chain_verifies_and_a_tampered_one_does_not() -> None:
    chain = workloads.audit_chain(50)
    assert verify_chain(chain).ok
    tampered = chain[:]
    tampered[10] = tampered[10].model_copy(update={"subject": "edited"})
    assert not verify_chain(tampered).ok


def test_routing_samples_are_the_accepted_corpus() -> None:
    samples = workloads.routing_samples(ROOT / "events")
    assert len({sample["detail-type"] for sample in samples}) >= 9
    assert all("detail-type" in sample for sample in samples)


def test_contention_figures_budget_only_the_data_arrival_cap() -> None:
    template = bench.load_template(ROOT / "template.yaml")
    assert bench.data_arrival_writers(template) == 5
    assert str(bench.audit_retry_budget()) == "<= 50"
    runs = [
        {
            "writers": 5,
            "budgeted": True,
            "appends": 200,
            "conflicts": 0,
            "attempts_mean": 2.4,
            "attempts_p99": 9,
            "attempts_max": 13,
        },
        {
            "writers": 10,
            "budgeted": False,
            "appends": 200,
            "conflicts": 1,
            "attempts_mean": 9.0,
            "attempts_p99": 50,
            "attempts_max": 51,
        },
        {"writers": 5, "budgeted": True, "error": "contention: boom"},
    ]
    capped, doubled, failed = bench.audit_figures({}, {}, runs)[3:]
    assert (capped.name, capped.value, capped.ok) == (
        "audit attempts per append, 5 writers on one stream",
        13,
        True,
    )
    assert capped.note == "mean 2.40, p99 9 over 200 appends; 0 AuditConflict"
    assert (doubled.value, doubled.ok) == (51, None)
    assert (failed.value, failed.ok, failed.note) == (None, False, "contention: boom")


def test_audit_contention_counts_every_attempt_of_concurrent_writers() -> None:
    result = workloads.audit_contention(writers=3, appends_per_writer=4)
    assert (result["writers"], result["appends"], result["conflicts"]) == (3, 12, 0)
    assert 1 <= result["attempts_mean"] <= result["attempts_max"]
    assert result["attempts_p99"] <= result["attempts_max"] <= 50


def test_the_digest_cost_counts_every_run_and_the_table_scan() -> None:
    from mlcp_cli.bench import DEPLOYMENTS_PER_MONTH, HOURS_PER_MONTH, KMS_SIGN_USD, digest_monthly_cost

    small, large = digest_monthly_cost(150_000, table_gb=0.0), digest_monthly_cost(150_000, table_gb=2.0)
    assert small["kms"] == pytest.approx((HOURS_PER_MONTH + DEPLOYMENTS_PER_MONTH) * KMS_SIGN_USD + 1.0)
    assert small["dynamodb_scan"] == 0
    assert large["dynamodb_scan"] > 0
    assert large["total"] == pytest.approx(large["kms"] + large["s3"] + large["dynamodb_scan"])


def test_digest_figures_say_when_the_workload_failed() -> None:
    from mlcp_cli.bench import digest_figures

    [figure] = digest_figures({"error": "digest: boom"})
    assert figure.value is None
    assert "boom" in figure.note


def test_a_sub_variable_keeps_its_literal_shape_for_the_cold_import() -> None:
    parameters = {"PolicyProfile": {"Type": "String", "Default": "policy"}}
    value = {"Fn::Sub": "${PolicyApplication}/${PolicyEnvironment}/${PolicyProfile}"}
    assert bench.dummy_value("MLCP_POLICY_APPCONFIG", value, parameters) == (
        "bench-policyapplication/bench-policyenvironment/policy"
    )
