"""The operator commands against the real stack on the emulator (``--local``): tables resolved from
the stack's outputs, --json output, retirement (dry run, apply, idempotent) and the idle-endpoint
report from CloudWatch Invocations."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import yaml

from mlcp import clock
from mlcp.adapters.audit_trail import AuditTrail
from mlcp.adapters.endpoints import MANAGED_TAG, OWNER_TAG
from mlcp.adapters.inventory import SageMakerInventory
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.seeding import deploy_champion

from .conftest import ROOT

DAY = 86400.0


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_local_resolves_the_tables_from_the_stack_outputs(cp: LocalControlPlane, cli: Any) -> None:
    code, out, _ = cli("audit", "verify", "--local", "--json")
    assert code == 0
    verdict = json.loads(out)
    assert verdict["ok"] is True
    assert verdict["records"] > 0
    assert verdict["problems"] == []
    assert cli("approvals", "list", "--local", "--json")[0] == 0
    code, out, _ = cli("incidents", "list", "--all", "--local", "--json")
    assert code == 0


def test_an_unknown_stack_is_a_clear_error(cp: LocalControlPlane, cli: Any) -> None:
    code, out, err = cli("approvals", "list", "--stack-name", "mlcp-nope", "--region", "us-east-1")
    assert code == 2
    assert out == ""
    assert "stack 'mlcp-nope'" in err
    assert "does not exist" in err


def _names(cp: LocalControlPlane) -> set[str]:
    return {f"{r.kind}/{r.name}" for r in SageMakerInventory(cp.client("sagemaker")).managed_resources()}


def test_retire_dry_run_then_apply_then_nothing_more(cp: LocalControlPlane, cli: Any) -> None:
    everything = {
        f"{kind}/{name}"
        for version in (1, 2, 3)
        for kind, name in (
            ("model", f"churn-model-v{version}"),
            ("endpoint_config", f"churn-prod-churn-model-v{version}"),
        )
    }
    assert _names(cp) == everything

    code, out, _ = cli("retire", "--local", "--json")  # the same day: everything is young
    assert code == 0
    assert {v["action"] for v in _lines(out)} == {"keep"}

    cp.advance_time(31 * DAY)
    code, out, err = cli("retire", "--local", "--json")
    assert code == 0
    assert "listing models" in err  # progress goes to stderr, the JSON stays clean
    verdicts = {f"{v['kind']}/{v['name']}": v for v in _lines(out)}
    retire = {name for name, v in verdicts.items() if v["action"] == "retire"}
    assert retire == {"model/churn-model-v1", "endpoint_config/churn-prod-churn-model-v1"}
    assert verdicts["endpoint_config/churn-prod-churn-model-v3"]["reason"] == "used by endpoint churn-prod"
    assert (
        verdicts["endpoint_config/churn-prod-churn-model-v2"]["reason"]
        == "rollback target of endpoint churn-prod"
    )
    assert verdicts["model/churn-model-v2"]["reason"].startswith("served by churn-prod-churn-model-v2")
    assert verdicts["model/churn-model-v1"]["retention_days"] == 30
    assert verdicts["model/churn-model-v1"]["tier"] == "medium"
    assert _names(cp) == everything  # a dry run deletes nothing

    code, out, _ = cli("retire", "--local")
    assert code == 0
    assert "2 to retire, 4 kept (dry run: --apply deletes)" in out

    code, out, _ = cli("retire", "--local", "--apply", "--json")
    assert code == 0
    applied = _lines(out)  # nothing but JSON on stdout
    assert {f"{v['kind']}/{v['name']}" for v in applied if v["deleted"]} == retire
    assert _names(cp) == everything - retire
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    retired = [r for r in trail.read("group#churn-model") if r.action.value.endswith(".retired")]
    assert [(r.action.value, r.evidence["name"]) for r in retired] == [
        ("endpoint_config.retired", "churn-prod-churn-model-v1"),
        ("model.retired", "churn-model-v1"),
    ]
    assert all(r.actor.endswith(":user/moto") for r in retired)  # the caller, as STS says

    code, out, _ = cli("retire", "--local", "--apply")
    assert code == 0
    assert "0 retired, 4 kept" in out
    assert len([r for r in trail.read("group#churn-model") if r.action.value.endswith(".retired")]) == 2
    assert cli("audit", "verify", "--local")[0] == 0


def test_retire_judges_only_what_this_stack_deployed(cp: LocalControlPlane, cli: Any) -> None:
    """Another stack in the same account (another audit table) and resources older than the owner
    tag are listed as kept, never deleted - and so are our models their configs serve."""
    ours = cp.stack.physical_id("AuditTable")
    sagemaker = cp.client("sagemaker")
    inventory = SageMakerInventory(sagemaker)
    deployed = [r for r in inventory.managed_resources() if r.name.startswith("churn-")]
    assert deployed
    assert {r.owner for r in deployed} == {ours}  # the deployment tags with its audit table

    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/1"
    role = "arn:aws:iam::123456789012:role/mlcp-sagemaker-execution"

    def tags(owner: str | None) -> list[dict[str, str]]:
        return [{"Key": MANAGED_TAG, "Value": package}] + (
            [{"Key": OWNER_TAG, "Value": owner}] if owner else []
        )

    def config(name: str, model: str, owner: str | None) -> None:
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
            Tags=tags(owner),
        )

    made = {
        "model/other-churn-model-v1": "mlcp-dev-AuditTable-1",
        "model/legacy-churn-model-v1": None,
        "model/shared-churn-model-v1": ours,
        "model/handmade-churn-model-v1": ours,
    }
    for resource, owner in made.items():
        sagemaker.create_model(
            ModelName=resource.split("/")[1],
            PrimaryContainer={"ModelPackageName": package},
            ExecutionRoleArn=role,
            Tags=tags(owner),
        )
    config("other-prod-churn-model-v1", "other-churn-model-v1", "mlcp-dev-AuditTable-1")
    config("legacy-prod-churn-model-v1", "legacy-churn-model-v1", None)
    # the other stack's config serves a model of ours: deleting it would break their config
    config("other-prod-shared-churn-model-v1", "shared-churn-model-v1", "mlcp-dev-AuditTable-1")
    # a config made by hand (no mlcp tags at all) serves another model of ours
    sagemaker.create_endpoint_config(
        EndpointConfigName="handmade-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "handmade-churn-model-v1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    configs = {
        "endpoint_config/other-prod-churn-model-v1",
        "endpoint_config/legacy-prod-churn-model-v1",
        "endpoint_config/other-prod-shared-churn-model-v1",
    }
    try:
        cp.advance_time(31 * DAY)  # old enough for any retention in the policy
        code, out, _ = cli("retire", "--local", "--apply", "--json")
        assert code == 0
        verdicts = {f"{v['kind']}/{v['name']}": v for v in _lines(out)}
        for name in [*made, *configs]:
            assert verdicts[name]["action"] == "keep", verdicts[name]
            assert not verdicts[name]["deleted"]
        other = "created by another control plane (audit table mlcp-dev-AuditTable-1)"
        assert verdicts["model/other-churn-model-v1"]["reason"] == other
        assert verdicts["endpoint_config/other-prod-churn-model-v1"]["reason"] == other
        assert verdicts["model/legacy-churn-model-v1"]["reason"].startswith(f"no {OWNER_TAG} tag")
        assert (
            verdicts["model/shared-churn-model-v1"]["reason"]
            == "served by kept config other-prod-shared-churn-model-v1"
        )
        assert (
            verdicts["model/handmade-churn-model-v1"]["reason"]
            == "served by config handmade-config (not created by a control plane)"
        )
        assert _names(cp) >= set(made) | configs
    finally:
        sagemaker.delete_endpoint_config(EndpointConfigName="handmade-config")
        for name in configs:
            sagemaker.delete_endpoint_config(EndpointConfigName=name.split("/")[1])
        for name in made:
            sagemaker.delete_model(ModelName=name.split("/")[1])


def test_policy_explain_reads_the_target_stacks_deployed_policy(cp: LocalControlPlane, cli: Any) -> None:
    code, out, _ = cli("policy", "explain", "churn-model", "--local", "--json")
    assert code == 0
    explanation = json.loads(out)
    # the stack's AppConfig profile, not the example file
    assert explanation["source"] == f"appconfig:{cp.stack.outputs['PolicyAppConfig']}"
    assert explanation["tier"]["name"] == "medium"


def test_policy_status_shows_what_the_scenario_deployed(cp: LocalControlPlane, cli: Any) -> None:
    code, out, _ = cli("policy", "status", "--local", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["deployed"]["state"] == "COMPLETE"
    assert report["rolling_out"] is None


def test_policy_dry_run_replays_the_recorded_gate_evaluations(
    cp: LocalControlPlane, cli: Any, tmp_path: Any
) -> None:
    same = ROOT / "scenarios" / "policy.yaml"
    code, out, _ = cli("policy", "dry-run", str(same), "--local", "--json", "--group", "churn-model")
    assert code == 0
    unchanged = json.loads(out)
    assert unchanged["replayed"] >= 3
    assert unchanged["changed"] == []
    stricter = yaml.safe_load(same.read_text(encoding="utf-8"))
    stricter["tiers"]["medium"]["gates"]["metrics"]["thresholds"][0]["min"] = 0.99
    draft = tmp_path / "stricter.yaml"
    draft.write_text(yaml.safe_dump(stricter), encoding="utf-8")
    code, out, _ = cli("policy", "dry-run", str(draft), "--local", "--json", "--group", "churn-model")
    assert code == 0
    changed = json.loads(out)["changed"]
    gate_changes = [c for c in changed if c["action"] == "gates.evaluated"]
    assert gate_changes
    assert {c["after"] for c in gate_changes} == {"reject"}
    assert all(any(why.startswith("metrics: pass -> fail") for why in c["why"]) for c in gate_changes)
    code, text, _ = cli("policy", "dry-run", str(draft), "--local", "--group", "churn-model")
    assert "would come out differently" in text
    assert "-> reject" in text


def test_retire_with_a_draft_policy_file(cp: LocalControlPlane, cli: Any, tmp_path: Any) -> None:
    draft = tmp_path / "policy.yaml"
    draft.write_text(
        "version: 1\ntiers: {t: {retention_days: 3650}}\ngroups: [{match: 'churn-*', tier: t}]\n",
        encoding="utf-8",
    )
    code, out, _ = cli("retire", "--local", "--json", "--policy-file", str(draft))
    assert code == 0
    assert {v["action"] for v in _lines(out)} == {"keep"}


def test_idle_endpoints_from_cloudwatch_invocations(cp: LocalControlPlane, cli: Any) -> None:
    sagemaker = cp.client("sagemaker")
    package = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-model/1"
    deploy_champion(sagemaker, "idle-prod", package)  # 1 x ml.m5.large, never invoked
    sagemaker.create_model(
        ModelName="scoring-serverless",
        PrimaryContainer={"ModelPackageName": package},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/mlcp-sagemaker-execution",
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="scoring-serverless-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "scoring-serverless",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            }
        ],
    )
    sagemaker.create_endpoint(
        EndpointName="scoring-serverless", EndpointConfigName="scoring-serverless-config"
    )
    now = clock.now()
    cp.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "churn-prod"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": now - timedelta(hours=2),
                "Value": 42.0,
                "Unit": "None",
            },
            {  # outside a 24 h window: does not count
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "idle-prod"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": now - timedelta(hours=30),
                "Value": 7.0,
                "Unit": "None",
            },
        ],
    )

    code, out, err = cli("cost", "idle-endpoints", "--local", "--json", "--all")
    assert code == 0
    assert "reading Invocations" in err
    report = {r["endpoint"]: r for r in _lines(out)}
    assert report["churn-prod"]["idle"] is False
    assert report["churn-prod"]["invocations"] == 42.0
    assert report["idle-prod"]["idle"] is True
    assert report["idle-prod"]["hourly_usd"] == 0.115  # 1 x ml.m5.large
    assert report["idle-prod"]["variants"][0]["instance_type"] == "ml.m5.large"
    assert report["scoring-serverless"]["idle"] is True
    assert report["scoring-serverless"]["hourly_usd"] == 0.0  # serverless costs nothing idle

    code, out, _ = cli("cost", "idle-endpoints", "--local", "--window-hours", "48", "--json")
    assert {r["endpoint"] for r in _lines(out)} == {"scoring-serverless"}  # idle-prod's 7 count now

    code, out, _ = cli("cost", "idle-endpoints", "--local")
    assert code == 0
    assert "2 of 3 endpoints idle over the last 24 h: $0.115/h, about $83.95/month" in out
    assert "idle-prod" in out
    assert "churn-prod" not in out


def test_idle_endpoints_rejects_bad_input(cp: LocalControlPlane, cli: Any, tmp_path: Any) -> None:
    assert cli("cost", "idle-endpoints", "--local", "--window-hours", "0")[0] == 2
    prices = tmp_path / "prices.json"
    prices.write_text('{"ml.m5.large": "cheap"}', encoding="utf-8")
    code, _, err = cli("cost", "idle-endpoints", "--local", "--prices", str(prices))
    assert code == 2
    assert "instance type -> USD per hour" in err


def test_the_retirement_function_rejects_anything_but_a_scheduled_event(cp: LocalControlPlane) -> None:
    trail = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
    before = len(trail.read("control-plane"))
    forged = {"id": "x-1", "source": "mlcp.monitoring", "detail-type": "Scheduled Event", "detail": {}}
    cp.invoke_async(cp.stack.function_names["RetirementFunction"], forged)
    cp.pump()
    records = trail.read("control-plane")[before:]
    assert [r.action.value for r in records] == ["event.rejected"]
    assert "source" in records[0].evidence["reason"]


def test_policy_publish_urgent_then_status_and_an_invalid_policy_deploys_nothing(
    cp: LocalControlPlane, cli: Any, tmp_path: Any
) -> None:
    policy = ROOT / "scenarios" / "policy.yaml"
    code, out, _ = cli("policy", "publish", str(policy), "--local", "--urgent", "--json")
    assert code == 0
    published = json.loads(out)
    assert published["reason"] == "marked urgent: applies at once"
    assert published["strategy"] == cp.stack.outputs["PolicyImmediateStrategyId"]
    code, out, _ = cli("policy", "status", "--local", "--json")
    assert json.loads(out)["deployed"]["version"] == published["version"]
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(
        "version: 1\ntiers: {t: {auto_approve: true, human_approval: true}}\ngroups: [{match: '*', tier: t}]\n"
    )
    code, _, err = cli("policy", "publish", str(invalid), "--local", "--urgent")
    assert code == 1
    assert "auto_approve and human_approval cannot both be true" in err
    code, out, _ = cli("policy", "status", "--local", "--json")
    assert json.loads(out)["deployed"]["version"] == published["version"]
