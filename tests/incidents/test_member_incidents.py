"""Incidents per account (issue 20 item 3, ADR 36): a member endpoint's alarms and Model Monitor
violations are keyed ``<account>:<endpoint>`` - staging's ``mlcp-promo`` and prod's ``mlcp-promo``
(and a home endpoint of that name) are three incidents, three streams, three streaks; a recovery in
one account resolves only that account's incident. OpsItems stay central (the governance account's
OpsCenter), naming the account."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from mlcp.adapters.pipelines import SageMakerPipelines
from mlcp.adapters.retraining_state import RetrainingState
from mlcp.events import parse_event
from mlcp.policy.model import parse_policy
from mlcp.usecases.incidents import list_incidents
from mlcp.usecases.reactions import react
from mlcp.usecases.retraining_reactions import ReactionDeps

from .conftest import STATE_TABLE, Env

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "scenarios" / "policies" / "promotion.yaml"
HOME, STAGING, PROD = "123456789012", "222222222222", "333333333333"
ENDPOINT = "mlcp-promo"  # the promotion path's endpoint in both stages (promotion.yaml)


@dataclass
class Policies:
    policy: Any

    def get(self, *, force_fetch: bool = False) -> Any:
        return self.policy


@dataclass
class MonitoringRuns:
    """``MonitoringRuns`` that records what was read (a member's job must never be read here)."""

    read: list[str] = field(default_factory=list)

    def processing_job(self, name: str) -> dict[str, Any] | None:
        self.read.append(name)
        return None

    def violations(self, uri: str) -> dict[str, Any] | None:
        self.read.append(uri)
        return None


def _deps(env: Env, runs: MonitoringRuns | None = None) -> ReactionDeps:
    policy = parse_policy(yaml.safe_load(POLICY.read_text()), str(POLICY))
    return ReactionDeps(
        policies=Policies(policy),
        incidents=env.deps,
        retraining=RetrainingState(STATE_TABLE, env.dynamodb),
        audit=env.audit,
        pipelines=SageMakerPipelines(boto3.client("sagemaker")),
        monitoring_runs=runs or MonitoringRuns(),
        clock=env.clock,
        home_account=HOME,
    )


def _sample(path: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "events" / path).read_text())
    return document


def _alarm(account: str, state: str, event_id: str) -> Any:
    event = _sample("alarm-state-change/ok-to-alarm.json")
    event["id"], event["account"] = event_id, account
    event["resources"] = [f"arn:aws:cloudwatch:us-east-1:{account}:alarm:mlcp-promo-5xx"]
    detail = event["detail"]
    detail["alarmName"] = "mlcp-promo-5xx"
    detail["state"]["value"], detail["previousState"]["value"] = (
        state,
        ("OK" if state == "ALARM" else "ALARM"),
    )
    for metric in detail["configuration"]["metrics"]:
        if "metricStat" in metric:
            metric["metricStat"]["metric"]["dimensions"]["EndpointName"] = ENDPOINT
    return parse_event(event)


def _report(account: str, event_id: str) -> Any:
    event = copy.deepcopy(_sample("model-monitoring-report/with-violations.json"))
    event["id"], event["account"] = event_id, account
    event["resources"] = [f"arn:aws:sagemaker:us-east-1:{account}:endpoint/{ENDPOINT}"]
    event["detail"]["endpointName"] = ENDPOINT
    event["detail"]["reportUri"] = (
        f"s3://mlcp-monitoring-{account}/reports/{ENDPOINT}/constraint_violations.json"
    )
    return parse_event(event)


def _open(env: Env) -> dict[str, Any]:
    return {i.resource: i for i in list_incidents(env.deps, "open")}


def test_the_same_alarm_in_staging_and_prod_opens_one_incident_each_and_recovers_each_alone(env: Env) -> None:
    deps = _deps(env)
    react(_alarm(STAGING, "ALARM", "staging-1"), deps)
    react(_alarm(PROD, "ALARM", "prod-1"), deps)

    opened = _open(env)
    assert set(opened) == {f"endpoint/{STAGING}:{ENDPOINT}", f"endpoint/{PROD}:{ENDPOINT}"}
    staging = opened[f"endpoint/{STAGING}:{ENDPOINT}"]
    assert staging.stream == f"endpoint#{STAGING}:{ENDPOINT}"
    assert staging.cause == "alarm:mlcp-promo-5xx"
    # Central OpsItems (the governance account's OpsCenter, ADR 36), each naming its account.
    items = {i.ops_item_id: env.ssm.get_ops_item(OpsItemId=i.ops_item_id)["OpsItem"] for i in opened.values()}
    accounts = {item["OperationalData"]["account"]["Value"] for item in items.values()}
    assert accounts == {STAGING, PROD}

    # Staging recovers: its incident resolves, prod's stays open.
    outcome = react(_alarm(STAGING, "OK", "staging-2"), deps)
    assert outcome["resolved"] == staging.incident_id
    assert set(_open(env)) == {f"endpoint/{PROD}:{ENDPOINT}"}
    records = env.audit.read(f"endpoint#{STAGING}:{ENDPOINT}")
    assert [r.action.value for r in records] == ["incident.opened", "incident.resolved"]
    assert [r.action.value for r in env.audit.read(f"endpoint#{PROD}:{ENDPOINT}")] == ["incident.opened"]
    assert env.audit.read(f"endpoint#{ENDPOINT}") == []  # nothing in a home endpoint's stream


def test_a_home_alarm_keeps_its_unkeyed_incident_beside_a_members(env: Env) -> None:
    deps = _deps(env)
    react(_alarm(HOME, "ALARM", "home-1"), deps)
    react(_alarm(STAGING, "ALARM", "staging-1"), deps)
    assert set(_open(env)) == {f"endpoint/{ENDPOINT}", f"endpoint/{STAGING}:{ENDPOINT}"}
    react(_alarm(HOME, "OK", "home-2"), deps)
    assert set(_open(env)) == {f"endpoint/{STAGING}:{ENDPOINT}"}


def test_violations_in_staging_do_not_add_to_prods_incident(env: Env) -> None:
    deps = _deps(env)
    react(_report(STAGING, "run-staging"), deps)
    react(_report(PROD, "run-prod"), deps)

    opened = _open(env)
    assert set(opened) == {f"endpoint/{STAGING}:{ENDPOINT}", f"endpoint/{PROD}:{ENDPOINT}"}
    assert {i.occurrences for i in opened.values()} == {1}
    staging = opened[f"endpoint/{STAGING}:{ENDPOINT}"]
    assert staging.cause == "violation:data_quality"
    item = env.ssm.get_ops_item(OpsItemId=staging.ops_item_id)["OpsItem"]
    assert item["OperationalData"]["account"]["Value"] == STAGING
    assert item["Title"].startswith(f"{STAGING}:{ENDPOINT}: ")


def test_a_member_monitoring_job_is_not_read_in_the_governance_account(env: Env) -> None:
    runs = MonitoringRuns()
    event = _sample("processing-job-state-change/monitoring-completed-with-violations.json")
    event["account"] = STAGING
    event["resources"] = [arn.replace(":123456789012:", f":{STAGING}:") for arn in event.get("resources", [])]
    event = json.loads(json.dumps(event).replace(":123456789012:", f":{STAGING}:"))
    outcome = react(parse_event(event), _deps(env, runs))
    assert outcome["reaction"] == "none"
    assert f"monitoring job of member account {STAGING}" in outcome["why"]
    assert runs.read == []  # never DescribeProcessingJob of a same-named governance job
    assert _open(env) == {}


# ---------------------------------------------------------------------------- retraining (ADR 37)

MEMBER_PIPELINE = "mlcp-promo-training"


@dataclass
class Starter:
    """A ``PipelineStarter`` of one account that records what it started there."""

    account: str
    started: list[str] = field(default_factory=list)

    def start(self, pipeline: str, parameters: Any, description: str, client_request_token: str) -> str:
        arn = f"arn:aws:sagemaker:us-east-1:{self.account}:pipeline/{pipeline}/execution/{len(self.started)}"
        self.started.append(arn)
        return arn


def _retraining_deps(env: Env, *, prod_pipeline: str | None) -> tuple[ReactionDeps, dict[str, Starter]]:
    """Both stages under the medium tier (it retrains on churn-prod-model-drift); prod names its own
    pipeline when ``prod_pipeline`` is given."""
    document = yaml.safe_load(POLICY.read_text())
    [group] = [g for g in document["groups"] if g["match"] == "promo-*"]
    for stage in group["promotion"]:
        stage["tier"] = "medium"
        if stage["stage"] == "prod" and prod_pipeline:
            stage["pipeline"] = prod_pipeline
    starters = {account: Starter(account) for account in (HOME, STAGING, PROD)}
    deps = _deps(env)
    deps.policies = Policies(parse_policy(document, str(POLICY)))
    deps.pipelines = starters[HOME]  # type: ignore[assignment]
    deps.member_pipelines = lambda account: starters[account]  # type: ignore[assignment,return-value]
    return deps, starters


def _drift(account: str, event_id: str, endpoint: str = ENDPOINT) -> Any:
    event = _alarm(account, "ALARM", event_id)
    raw = event.model_dump(mode="json", by_alias=True)
    raw["detail"]["alarmName"] = "churn-prod-model-drift"
    for metric in raw["detail"]["configuration"]["metrics"]:
        if metric.get("metricStat"):
            metric["metricStat"]["metric"]["dimensions"]["EndpointName"] = endpoint
    raw["resources"] = [f"arn:aws:cloudwatch:us-east-1:{account}:alarm:churn-prod-model-drift"]
    return parse_event(raw)


def _pipeline_event(account: str, arn: str, status: str) -> Any:
    event = _sample("pipeline-execution-status-change/failed.json")
    event["account"] = account
    pipeline_arn = arn.split("/execution/", maxsplit=1)[0]
    event["resources"] = [pipeline_arn, arn]
    event["detail"].update(
        pipelineArn=pipeline_arn, pipelineExecutionArn=arn, currentPipelineExecutionStatus=status
    )
    return parse_event(event)


def test_a_members_retraining_runs_its_own_pipeline_with_its_own_guards(env: Env) -> None:
    deps, starters = _retraining_deps(env, prod_pipeline=MEMBER_PIPELINE)
    outcome = react(_drift(PROD, "prod-drift-1"), deps)
    assert outcome["retraining"]["started"] is True
    [arn] = starters[PROD].started
    assert starters[HOME].started == []
    assert starters[STAGING].started == []
    key = f"{PROD}:{MEMBER_PIPELINE}"
    assert [r.action.value for r in env.audit.read(f"pipeline#{key}")] == ["retraining.started"]

    # A home run of the tier's own pipeline is not held back by prod's lease or cooldown.
    home = react(_drift(HOME, "home-drift-1", "churn-prod"), deps)
    assert home["retraining"]["started"] is True
    assert len(starters[HOME].started) == 1

    # Prod's run fails: prod's lease is released, its incident is prod's pipeline's, the home
    # pipeline's lease stays held (a failed status event from another account never frees it).
    failed = react(_pipeline_event(PROD, arn, "Failed"), deps)
    assert failed["ours"] is True
    assert failed["incident"]
    assert f"pipeline/{key}" in _open(env)
    assert [r.action.value for r in env.audit.read(f"pipeline#{key}")] == [
        "retraining.started",
        "retraining.failed",
        "incident.opened",
    ]
    again = react(_drift(HOME, "home-drift-2", "churn-prod"), deps)
    assert again["retraining"]["started"] is False


def test_a_member_stage_without_its_own_pipeline_never_runs_the_governance_pipeline(env: Env) -> None:
    deps, starters = _retraining_deps(env, prod_pipeline=None)
    outcome = react(_drift(PROD, "prod-drift-1"), deps)
    assert outcome["retraining"] == {
        "started": False,
        "refused": True,
        "reason": f"member account {PROD} has no retraining pipeline for {ENDPOINT} (the promotion stage "
        "names none); the governance account's churn-training is never run for a member's model",
    }
    assert all(s.started == [] for s in starters.values())
    [refused] = env.audit.read(f"pipeline#{PROD}:churn-training")
    assert refused.evidence["refused"] is True
    assert refused.evidence["account"] == PROD

    # And a control plane that starts nothing in members refuses too, with its own reason.
    deps, starters = _retraining_deps(env, prod_pipeline=MEMBER_PIPELINE)
    deps.member_pipelines = None
    outcome = react(_drift(PROD, "prod-drift-2"), deps)
    assert outcome["retraining"]["refused"] is True
    assert "starts no pipeline in member account" in outcome["retraining"]["reason"]
    assert all(s.started == [] for s in starters.values())
