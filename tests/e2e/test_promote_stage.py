"""`mlcp promote-stage` end to end on three accounts (issue 20, ADR 35): the operator's command starts
the deployment workflow with a promotion, the workflow decides and audits; a prod-stage gate failure
refuses the promotion without rejecting the package staging serves; a member account refuses the
shadow test, the canary analysis and managed traffic shifting before deploying anything."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp.audit import AuditAction, AuditRecord, AuditTrail
from mlcp_cli.emulator.accounts import deploy_member_stack, member_parameters
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.main import main

from .conftest import ROOT, TEMPLATE

STAGING, PROD = "222222222222", "333333333333"
EXTERNAL_ID = "mlcp-local-governance-0001"
SHADOW = yaml.safe_load((ROOT / "scenarios/policies/shadow.yaml").read_text())
ANALYSIS = yaml.safe_load((ROOT / "scenarios/policies/analysis.yaml").read_text())


def _policy(tmp: Path) -> Path:
    """The promotion scenarios' policy plus member stages whose tiers a member cannot run yet."""
    policy = yaml.safe_load((ROOT / "scenarios/policies/promotion.yaml").read_text())
    low = policy["tiers"]["low"]
    shadow = next(
        t["deployment"]["shadow"] for t in SHADOW["tiers"].values() if "shadow" in t.get("deployment", {})
    )
    analysis = next(
        t["deployment"]["analysis"]
        for t in ANALYSIS["tiers"].values()
        if "analysis" in t.get("deployment", {})
    )
    policy["tiers"]["shadowed"] = {
        **low,
        "deployment": {"strategy": "canary", "canary_percent": 10, "shadow": shadow},
    }
    policy["tiers"]["analysed"] = {
        **low,
        "deployment": {"strategy": "canary", "canary_percent": 10, "analysis": analysis},
    }
    for prefix, tier, endpoint in (
        ("shadowed", "shadowed", "mlcp-shadowed"),
        ("analysed", "analysed", "mlcp-analysed"),
        ("multi", "low", "mlcp-multi"),
    ):
        policy["groups"].append(
            {
                "match": f"{prefix}-*",
                "tier": "low",
                "promotion": [{"stage": "staging", "account": STAGING, "endpoint": endpoint, "tier": tier}],
            }
        )
    # Staging automatic, prod a named approver's (high tier): a denial at prod.
    policy["groups"].append(
        {
            "match": "humanprod-*",
            "tier": "low",
            "promotion": [
                {
                    "stage": "staging",
                    "account": STAGING,
                    "endpoint": "mlcp-human",
                    "tier": "low",
                    "soak_minutes": 0,
                },
                {"stage": "prod", "account": PROD, "endpoint": "mlcp-human", "tier": "high"},
            ],
        }
    )
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


@pytest.fixture(scope="module")
def cp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    from mlcp.policy import Policy
    from mlcp_cli.commands.policy import DeliveryTarget, PolicyError, publish_to_appconfig
    from mlcp_cli.policy_delivery import publish

    parameters = {"MemberAccountIds": f"{STAGING},{PROD}", "MemberExternalId": EXTERNAL_ID}
    with LocalControlPlane(TEMPLATE, parameters=parameters) as control:
        for account in (STAGING, PROD):
            deploy_member_stack(control, account, member_parameters(control, EXTERNAL_ID))
        target = DeliveryTarget.from_outputs(control.stack.outputs)
        path = _policy(tmp_path_factory.mktemp("policy"))
        # mlcp policy publish refuses member stages whose tiers a member cannot run (ADR 35) ...
        with pytest.raises(PolicyError, match="does not run a shadow phase yet"):
            publish_to_appconfig(control.client("appconfig"), target, path)
        # ... the runtime refuses them too when such a policy arrives another way (AppConfig's API).
        publish(
            control.client("appconfig"),
            target.appconfig,
            Policy.model_validate(yaml.safe_load(path.read_text())),
            immediate_strategy=target.immediate_strategy,
            gradual_strategy=target.gradual_strategy,
        )
        yield control


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _audit(cp: LocalControlPlane) -> AuditTrail:
    return AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))


def _register(cp: LocalControlPlane, group: str, **metrics: float) -> str:
    from mlcp_cli.seeding import PackageSpec, register_package

    spec = PackageSpec(group=group)
    if metrics:
        spec = PackageSpec(group=group, metrics={**spec.metrics, **metrics})
    arn = register_package(
        cp.client("s3", principal="ml-engineer"), cp.client("sagemaker", principal="ml-engineer"), spec
    )
    cp.pump()
    return arn


def _staged(cp: LocalControlPlane, group: str, **metrics: float) -> str:
    arn = _register(cp, group, **metrics)
    assert cp.run_until(
        lambda: any(
            r.action == AuditAction.DEPLOYMENT_PROMOTED and r.subject == arn
            for r in _audit(cp).read(f"endpoint#{STAGING}:mlcp-promo")
        ),
        limit=4 * 3600,
    )
    return arn


def _group_records(cp: LocalControlPlane, group: str, *actions: AuditAction) -> list[AuditRecord]:
    return [r for r in _audit(cp).read(f"group#{group}") if r.action in actions]


def _promote(cli: Any, group: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(
        "promote-stage", group, "--to", "prod", "--reason", "soaked", "--local", "--json", *extra
    )
    assert out, err
    return code, json.loads(out)


def test_promote_stage_refuses_before_the_soak_and_promotes_after_it(cp: LocalControlPlane, cli: Any) -> None:
    from moto.sagemaker.models import sagemaker_backends

    group = f"promo-{uuid.uuid4().hex[:6]}"
    arn = _staged(cp, group)

    code, refused = _promote(cli, group)
    assert code == 3
    assert refused["decision"] == "refused"
    assert refused["package_arn"] == arn
    assert any("has soaked 0 of 60 minutes in staging" in r for r in refused["reasons"])
    assert not any(
        arn in str(e.primary_container) for e in sagemaker_backends[PROD][cp.region]._models.values()
    )

    cp.advance_time(61 * 60)
    code, allowed = _promote(cli, group, "--version", "1")
    assert (code, allowed["decision"]) == (0, "allowed")
    assert (allowed["account"], allowed["endpoint"], allowed["next"]) == (PROD, "mlcp-promo", "proceed")
    assert cp.run_until(
        lambda: any(
            r.action == AuditAction.DEPLOYMENT_PROMOTED and r.subject == arn
            for r in _audit(cp).read(f"endpoint#{PROD}:mlcp-promo")
        ),
        limit=4 * 3600,
    )
    prod = sagemaker_backends[PROD][cp.region]
    assert prod.endpoints["mlcp-promo"].endpoint_status == "InService"

    # Who asked, why, and the decisions, in the group's stream: each naming its execution.
    requested = _group_records(cp, group, AuditAction.PROMOTION_REQUESTED)
    assert [r.evidence["reason"] for r in requested] == ["soaked", "soaked"]
    assert {r.evidence["execution"] for r in requested} == {refused["execution"], allowed["execution"]}
    assert all(r.actor == refused["requested_by"] and r.actor for r in requested)
    [decided] = _group_records(cp, group, AuditAction.PROMOTION_ALLOWED)
    assert decided.evidence["previous_stage"]["soaked_minutes"] >= 60
    assert decided.evidence["execution"] == allowed["execution"]

    # mlcp lineage follows it: refused then allowed to prod (s20cli's lineage reads the decisions).
    code, out, err = cli("lineage", arn, "--local", "--json")
    assert code == 0, err
    promotions = [link["facts"] for link in json.loads(out)["links"] if link["kind"] == "promotion"]
    assert [(f["stage"], f["outcome"]) for f in promotions] == [("prod", "refused"), ("prod", "allowed")]
    assert "has soaked 0 of 60 minutes in staging" in promotions[0]["reason"]
    # Asked again (twice): already promoted, nothing deployed twice.
    for _ in range(2):
        code, again = _promote(cli, group)
        assert (code, again["decision"]) == (3, "ignored")
        assert any("already promoted to prod" in r for r in again["reasons"])
    assert [r.subject for r in _audit(cp).read(f"endpoint#{PROD}:mlcp-promo")].count(
        arn
    ) == 2  # started, promoted


def test_a_gate_failure_at_prod_refuses_the_promotion_and_keeps_the_package_staging_serves(
    cp: LocalControlPlane, cli: Any
) -> None:
    from moto.sagemaker.models import sagemaker_backends

    group = f"promo-{uuid.uuid4().hex[:6]}"
    # auc 0.7: enough for staging's low tier (0.60), not for prod's medium tier (0.80).
    arn = _staged(cp, group, auc=0.7)
    cp.advance_time(61 * 60)

    code, refused = _promote(cli, group)
    assert (code, refused["decision"]) == (3, "refused")
    assert any("prod's gates (tier medium)" in r and "auc" in r for r in refused["reasons"]), refused
    described = cp.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"  # the package staging serves stays approved
    assert _group_records(cp, group, AuditAction.PACKAGE_REJECTED) == []
    staging = sagemaker_backends[STAGING][cp.region].endpoints["mlcp-promo"]
    assert staging.endpoint_status == "InService"
    assert not [r for r in _audit(cp).read(f"endpoint#{PROD}:mlcp-promo") if r.subject == arn]
    # The refusal freed the promotion: asked again, it is decided again (not "already promoted").
    code, again = _promote(cli, group)
    assert (code, again["decision"]) == (3, "refused")


def test_promote_stage_of_a_package_that_is_not_approved_starts_nothing(
    cp: LocalControlPlane, cli: Any
) -> None:
    group = f"churn-{uuid.uuid4().hex[:6]}"  # medium tier: stays PendingManualApproval
    _register(cp, group)
    before = len(cp.executions())
    code, _, err = cli("promote-stage", group, "--to", "prod", "--version", "1", "--reason", "r", "--local")
    assert code == 1
    assert "PendingManualApproval in the registry: only an Approved package is promoted" in err
    assert len(cp.executions()) == before
    assert _group_records(cp, group, AuditAction.PROMOTION_REQUESTED) == []


def _refusal_in_staging(cp: LocalControlPlane, arn: str, endpoint: str) -> AuditRecord:
    records = _audit(cp).read(f"endpoint#{STAGING}:{endpoint}")
    assert [r.action for r in records if r.subject == arn] == [AuditAction.DEPLOYMENT_REFUSED], [
        r.evidence for r in records if r.subject == arn
    ]
    return next(r for r in records if r.subject == arn)


def _nothing_deployed(cp: LocalControlPlane, group: str, endpoint: str, arn: str) -> None:
    from moto.sagemaker.models import sagemaker_backends

    staging = sagemaker_backends[STAGING][cp.region]
    assert not [m for m in staging._models.values() if group in m.model_name]
    assert not [c for c in staging.endpoint_configs if group in c]
    described = cp.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert not [e for e in cp.executions() if e["status"] == "FAILED"]


@pytest.mark.parametrize(
    ("prefix", "endpoint", "what"),
    [("shadowed", "mlcp-shadowed", "the shadow test"), ("analysed", "mlcp-analysed", "the canary analysis")],
)
def test_a_member_refuses_a_tier_it_cannot_run_before_deploying_anything(
    cp: LocalControlPlane, prefix: str, endpoint: str, what: str
) -> None:
    group = f"{prefix}-{uuid.uuid4().hex[:6]}"
    arn = _register(cp, group)  # low tier: auto-approved, then the deployment workflow
    refusal = _refusal_in_staging(cp, arn, endpoint)
    [reason] = refusal.evidence["reasons"]
    assert reason.startswith(f"{what} (deployment.")
    assert f"is not supported in member account {STAGING} ({endpoint}) yet" in reason
    assert refusal.evidence["rejects_package"] is False
    _nothing_deployed(cp, group, endpoint, arn)


def test_a_member_refuses_managed_traffic_shifting_before_creating_anything(cp: LocalControlPlane) -> None:
    from moto.sagemaker.models import sagemaker_backends

    # Staging's endpoint already serves two production variants (as a team set it up by hand).
    from mlcp_cli.emulator.accounts import account_session

    hands = account_session(STAGING, cp.region).client("sagemaker")
    hands.create_model(
        ModelName="mlcp-multi-hand",
        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
        ExecutionRoleArn=f"arn:aws:iam::{STAGING}:role/mlcp-member-model",
    )
    variants = [
        {
            "VariantName": name,
            "ModelName": "mlcp-multi-hand",
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
        }
        for name in ("a", "b")
    ]
    hands.create_endpoint_config(EndpointConfigName="mlcp-multi-hand", ProductionVariants=variants)
    hands.create_endpoint(EndpointName="mlcp-multi", EndpointConfigName="mlcp-multi-hand")
    cp.run_until(lambda: hands.describe_endpoint(EndpointName="mlcp-multi")["EndpointStatus"] == "InService")
    staging = sagemaker_backends[STAGING][cp.region]

    group = f"multi-{uuid.uuid4().hex[:6]}"
    arn = _register(cp, group)
    refusal = _refusal_in_staging(cp, arn, "mlcp-multi")
    [reason] = refusal.evidence["reasons"]
    assert reason.startswith(
        "managed traffic shifting (the endpoint has 2 production variants) is not supported"
    )
    assert staging.endpoints["mlcp-multi"].endpoint_config_name == "mlcp-multi-hand"
    _nothing_deployed(cp, group, "mlcp-multi", arn)


def test_the_scenario_step_and_the_member_endpoint_expectation_can_fail(cp: LocalControlPlane) -> None:
    import io

    from mlcp_cli.scenario import ScenarioError, ScenarioRunner, parse_scenario

    group = f"promo-{uuid.uuid4().hex[:6]}"
    _staged(cp, group)

    def play(steps: list[dict[str, Any]]) -> list[str]:
        runner = ScenarioRunner(cp, root=ROOT, timeline=io.StringIO())
        return list(runner.run(parse_scenario({"name": "t", "steps": steps}, "test")).failures)

    serves = {"name": "mlcp-promo", "account": STAGING, "serves": {"group": group, "version": 1}}
    assert play([{"expect": {"endpoint": serves}}]) == []
    wrong = {**serves, "serves": {"group": group, "version": 2}}
    [failure] = play([{"expect": {"endpoint": wrong}}])
    assert failure.startswith("endpoint mlcp-promo: serves mlcp-promo-")
    assert play([{"expect": {"endpoint": {**serves, "account": "210987654321"}}}]) == [
        "endpoint mlcp-promo in account 210987654321: does not exist"
    ]
    with pytest.raises(ScenarioError, match=r"expected allowed, got .* refused \(version 1 has soaked"):
        play([{"promote_stage": {"group": group, "to": "prod", "decision": "allowed"}}])
    with pytest.raises(ScenarioError, match="no reason contains 'open incident'"):
        play(
            [
                {
                    "promote_stage": {
                        "group": group,
                        "to": "prod",
                        "decision": "refused",
                        "because": "open incident",
                    }
                }
            ]
        )


def test_a_denial_at_prod_refuses_the_promotion_and_keeps_the_package(
    cp: LocalControlPlane, cli: Any
) -> None:
    import io

    from mlcp_cli.scenario import ScenarioRunner, parse_scenario

    group = f"humanprod-{uuid.uuid4().hex[:6]}"
    steps: list[dict[str, Any]] = [
        {
            "as": "ml-engineer",
            "register_model_package": {"group": group, "bias": {"DPL": 0.04}, "explainability": True},
        },
        {"wait": {"seconds": 600}},
        {"as": "on-call", "promote_stage": {"group": group, "to": "prod", "decision": "allowed"}},
        {"expect": {"approval": {"group": group, "version": 1, "status": "pending"}}},
        {"as": "risk-officer", "decide_approval": {"group": group, "version": 1, "decision": "deny"}},
        {"expect": {"approval": {"group": group, "version": 1, "status": "denied"}}},
        {"expect": {"model_package": {"group": group, "version": 1, "status": "Approved"}}},
        {
            "expect": {
                "audit": {
                    "stream": f"group#{group}",
                    "includes": [
                        "promotion.allowed",
                        "approval.requested",
                        "approval.denied",
                        "promotion.refused",
                    ],
                    "excludes": ["package.rejected"],
                }
            }
        },
        {
            "expect": {
                "endpoint": {
                    "name": "mlcp-human",
                    "account": STAGING,
                    "serves": {"group": group, "version": 1},
                }
            }
        },
        {"expect": {"audit": {"stream": f"endpoint#{PROD}:mlcp-human", "count": {"deployment.started": 0}}}},
    ]
    runner = ScenarioRunner(cp, root=ROOT, timeline=io.StringIO())
    result = runner.run(parse_scenario({"name": "denied-at-prod", "steps": steps}, "test"))
    assert result.failures == []
    [refused] = _group_records(cp, group, AuditAction.PROMOTION_REFUSED)
    assert refused.evidence["stage"] == "prod"
    assert any("denied by" in r for r in refused.evidence["reasons"])
    # The denial freed the promotion: asked again, it is decided again and a new approval is asked
    # (its own id: the denied one is never stored again, the workflow waits on an answerable token).
    code, again = _promote(cli, group)
    assert (code, again["decision"], again["next"]) == (0, "allowed", "needs_human")
    from mlcp.adapters.state import ControlPlaneState

    state = ControlPlaneState(cp.stack.physical_id("ControlPlaneTable"), cp.client("dynamodb"))
    asked = [a for a in state.list_approvals(status=None) if group in a.model_package_arn]
    assert sorted(a.status for a in asked) == ["denied", "pending"]
    assert asked[0].approval_id != asked[1].approval_id


def test_an_incident_in_staging_during_prods_approval_wait_refuses_at_the_moment_of_effect(
    cp: LocalControlPlane, cli: Any
) -> None:
    import io

    from mlcp_cli.scenario import ScenarioRunner, parse_scenario

    group = f"humanprod-{uuid.uuid4().hex[:6]}"
    failed = {
        "account": STAGING,
        "event": {
            "source": "aws.sagemaker",
            "detail-type": "SageMaker Endpoint State Change",
            "resources": [f"arn:aws:sagemaker:us-east-1:{STAGING}:endpoint/mlcp-human"],
            "detail": {
                "EndpointName": "mlcp-human",
                "EndpointArn": f"arn:aws:sagemaker:us-east-1:{STAGING}:endpoint/mlcp-human",
                "EndpointStatus": "FAILED",
            },
        },
    }
    steps: list[dict[str, Any]] = [
        {
            "as": "ml-engineer",
            "register_model_package": {"group": group, "bias": {"DPL": 0.04}, "explainability": True},
        },
        {"wait": {"seconds": 3600}},
        {"as": "on-call", "promote_stage": {"group": group, "to": "prod", "decision": "allowed"}},
        {"title": "staging fails while prod's approver has not answered", "put_event": failed},
        {"as": "risk-officer", "decide_approval": {"group": group, "version": 1, "decision": "grant"}},
        {"expect": {"audit": {"stream": f"endpoint#{PROD}:mlcp-human", "includes": ["deployment.refused"]}}},
        {"expect": {"audit": {"stream": f"endpoint#{PROD}:mlcp-human", "count": {"deployment.started": 0}}}},
        {"expect": {"model_package": {"group": group, "version": 1, "status": "Approved"}}},
        {"as": "on-call", "resolve_incident": {"resource": f"endpoint/{STAGING}:mlcp-human"}},
        {"as": "on-call", "promote_stage": {"group": group, "to": "prod", "decision": "allowed"}},
    ]
    runner = ScenarioRunner(cp, root=ROOT, timeline=io.StringIO())
    result = runner.run(parse_scenario({"name": "incident-at-effect", "steps": steps}, "test"))
    assert result.failures == []
    [refusal] = [
        r
        for r in _audit(cp).read(f"endpoint#{PROD}:mlcp-human")
        if r.action == AuditAction.DEPLOYMENT_REFUSED and group in r.subject
    ]
    assert refusal.evidence["rejects_package"] is False
    assert any(
        "re-checked before deploying to prod" in r and "open incident" in r
        for r in refusal.evidence["reasons"]
    )
    assert _group_records(cp, group, AuditAction.PACKAGE_REJECTED) == []


def test_prods_approval_timing_out_refuses_the_promotion_and_keeps_the_package(cp: LocalControlPlane) -> None:
    import io

    from mlcp_cli.scenario import ScenarioRunner, parse_scenario

    group = f"humanprod-{uuid.uuid4().hex[:6]}"
    steps: list[dict[str, Any]] = [
        {
            "as": "ml-engineer",
            "register_model_package": {"group": group, "bias": {"DPL": 0.04}, "explainability": True},
        },
        {"wait": {"seconds": 3600}},
        {"as": "on-call", "promote_stage": {"group": group, "to": "prod", "decision": "allowed"}},
        {"title": "nobody answers prod's approval (high tier: 48 h)", "advance_time": {"seconds": 49 * 3600}},
        {"expect": {"approval": {"group": group, "version": 1, "status": "expired"}}},
        {"expect": {"model_package": {"group": group, "version": 1, "status": "Approved"}}},
        {
            "expect": {
                "audit": {
                    "stream": f"group#{group}",
                    "includes": [
                        "promotion.allowed",
                        "approval.requested",
                        "approval.denied",
                        "promotion.refused",
                    ],
                    "excludes": ["package.rejected"],
                }
            }
        },
    ]
    runner = ScenarioRunner(cp, root=ROOT, timeline=io.StringIO())
    result = runner.run(parse_scenario({"name": "timed-out-at-prod", "steps": steps}, "test"))
    assert result.failures == []
    [refused] = _group_records(cp, group, AuditAction.PROMOTION_REFUSED)
    assert refused.evidence["reasons"] == ["human approval timed out"]
