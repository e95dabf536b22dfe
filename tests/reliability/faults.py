"""The fault matrix's bench (tests ``test_faults*.py``). Faults: throttling, 5xx and timeouts injected at each AWS call of the deployment workflow and the
endpoint event handlers (the emulator's botocore ``before-send`` hook, on top of moto), on both
deployment paths: SageMaker's guardrails (a single-variant endpoint, canary) and the managed weight
shift the workflow runs itself (a multi-variant endpoint, ADR 9).

Within budget (botocore's 6 attempts in a handler; the ASL Retry of a Lambda task for Step Functions'
own Invoke) the deployment goes through; beyond it the Catch runs the compensation (the lease is
released, ``deployment.failed`` recorded, an incident opened once the endpoint was touched) and every
audit stream still verifies. A redriven execution duplicates no side effect.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlcp.adapters.audit_trail import AuditTrail
from mlcp.audit import AuditAction, verify_chain
from mlcp_cli.emulator.faults import FaultInjector, FaultRule
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.seeding import PackageSpec, deploy_champion, register_package

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
GROUP, ENDPOINT = "faults-model", "faults-prod"
#: The managed lane: an A/B (two-variant) instance endpoint, so DeployModel picks the weight shift.
SHIFT_GROUP, SHIFT_ENDPOINT, SHIFT_ALARM = "shift-model", "shift-prod", "shift-prod-5xx"
SHIFT_AB_CONFIG = "shift-prod-ab"
BOTOCORE_ATTEMPTS = 6  # mlcp.adapters.clients: standard retry mode, max_attempts=5 retries
ASL_RETRIES = 3  # Lambda.* Retry of every Task of statemachines/deployment.asl.json
ASYNC_ATTEMPTS = 3  # EventBridge -> Lambda async invocation: 1 + MaximumRetryAttempts 2

#: One fault of each family per call site (the family's two variants alternate across sites).
FAMILIES = {
    "throttle": ("throttle",),
    "5xx": ("unavailable", "internal"),
    "timeout": ("read-timeout", "connect-timeout"),
}

#: Functions the deployment workflow invokes, and the event handlers that resume it.
WORKFLOW_FUNCTIONS = (
    "VerifyApprovalFunction",
    "AppendAuditFunction",
    "EndpointLeaseFunction",
    "DeployModelFunction",
    "AwaitEndpointFunction",
    "CheckDeploymentFunction",
    "FinishDeploymentFunction",
    "ShiftTrafficFunction",
)
EVENT_FUNCTIONS = ("EndpointEventsFunction",)
#: Steps after which the endpoint was touched: a failure there opens an incident.
HOLDING_LEASE = {
    "DeployModelFunction",
    "AwaitEndpointFunction",
    "CheckDeploymentFunction",
    "FinishDeploymentFunction",
    "ShiftTrafficFunction",
}


@dataclass(frozen=True)
class Site:
    """A call site: ``caller`` (logical function id, or ``states`` for Step Functions' own Invoke)
    calls ``service.operation`` (``target``: the function a Step Functions Invoke names)."""

    caller: str
    service: str
    operation: str
    target: str | None = None

    @property
    def label(self) -> str:
        who = f"states->{self.target}" if self.caller == "states" else self.caller.removesuffix("Function")
        return f"{who} {self.service}:{self.operation}"


@dataclass(frozen=True)
class Lane:
    """A model package group and the endpoint its approvals deploy to."""

    group: str
    endpoint: str


GUARDRAILS, MANAGED = Lane(GROUP, ENDPOINT), Lane(SHIFT_GROUP, SHIFT_ENDPOINT)
#: Incident causes a failed deployment opens (guardrails: failed; managed: failed or rolled back).
INCIDENT_CAUSES = ("deployment.failed", "deployment.rolled_back")


@dataclass
class Trial:
    execution: dict[str, Any]
    states: list[str]
    package_arn: str
    lease_holder: str | None
    incidents: int
    failed_records: int
    streams_ok: bool
    serves_candidate: bool
    rolled_back_records: int = 0
    faults_given: int = 0


class FaultBench:
    """One control plane with a champion on ``faults-prod`` and an A/B split on ``shift-prod``;
    each trial approves a new version in one lane."""

    def __init__(self, cp: LocalControlPlane, faults: FaultInjector) -> None:
        self.cp, self.faults = cp, faults
        self.logical = {physical: logical for logical, physical in cp.stack.function_names.items()}
        self.audit = AuditTrail(cp.stack.physical_id("AuditTable"), client=cp.client("dynamodb"))
        self.state_table = cp.stack.physical_id("ControlPlaneTable")

    def register(self, lane: Lane = GUARDRAILS) -> str:
        return register_package(
            self.cp.client("s3", principal="ml-engineer"),
            self.cp.client("sagemaker", principal="ml-engineer"),
            PackageSpec(group=lane.group),
        )

    def split_traffic(self) -> None:
        """Put ``shift-prod`` back on its A/B config when a promotion left one variant (the candidate)
        there: the next approval then takes the managed weight shift again."""
        sm = self.cp.client("sagemaker")
        config = sm.describe_endpoint(EndpointName=SHIFT_ENDPOINT)["EndpointConfigName"]
        if len(sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]) < 2:
            sm.update_endpoint(EndpointName=SHIFT_ENDPOINT, EndpointConfigName=SHIFT_AB_CONFIG)
            self.settle()

    def rule(self, site: Site, kind: str, times: int) -> FaultRule:
        physical = {v: k for k, v in self.logical.items()}
        if site.caller == "states":
            return FaultRule(site.service, site.operation, kind, times, target=physical[site.target or ""])
        return FaultRule(site.service, site.operation, kind, times, caller=physical[site.caller])

    def settle(self, limit: float = 30 * 86_400.0) -> None:
        """Run the virtual clock, timer by timer, until no execution runs and no endpoint deployment
        is in flight (a managed shift's Wait states, bakes and polls: ``pump`` returns while they wait)."""

        def settled() -> bool:
            running = [e for e in self.cp.executions() if e["status"] == "RUNNING"]
            return not running and not self.cp.endpoint_deployments(in_flight_only=True)

        if not self.cp.run_until(settled, limit=limit):
            raise AssertionError(
                f"not settled: {[e for e in self.cp.executions() if e['status'] == 'RUNNING']}"
            )

    def cold_start(self) -> None:
        """Fresh execution environments (new clients) for every function. A warm botocore client
        keeps its standard-mode retry quota (500 tokens, 5 per retry, 10 per timeout) across
        invocations, so after a few hundred faults it stops retrying at all: each trial starts cold
        to measure one site's budget, not what earlier trials drained."""
        registry = self.cp.registry
        for name in registry.names():
            spec = registry.get(name)
            assert spec is not None
            registry.register(spec)

    def approve(self, arn: str, rules: list[FaultRule], lane: Lane = GUARDRAILS) -> Trial:
        if lane == MANAGED:
            self.split_traffic()
        self.cold_start()
        before = {e["executionArn"] for e in self.cp.executions()}
        incidents_before, injected_before = self.incidents(lane), self.faults.injected
        for rule in rules:
            self.faults.arm(rule)
        self.cp.client("sagemaker", principal="reviewer").update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="Approved"
        )
        self.settle()
        self.faults.disarm()
        [execution] = [e for e in self.cp.executions() if e["executionArn"] not in before]
        trial = self.observe(execution, arn, lane)
        trial.incidents -= incidents_before
        trial.faults_given = self.faults.injected - injected_before
        return trial

    def start_and_stop_after(self, arn: str, state: str) -> str:
        """Approve ``arn`` and StopExecution its deployment once ``state`` has exited.

        On the virtual clock this is deterministic: ``pump()`` runs the deployment until it parks
        (a Wait state, a task-token wait, a poll interval); while ``state`` has not exited, the
        clock moves to the next timer. The execution is stopped where it is parked then, before
        anything else can run."""
        self.cold_start()
        before = {e["executionArn"] for e in self.cp.executions()}
        machine = self.cp.stack.physical_id("DeploymentStateMachine")
        sfn = self.cp.client("stepfunctions")
        self.cp.client("sagemaker", principal="reviewer").update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="Approved"
        )

        def exited() -> str | None:
            for listed in sfn.list_executions(stateMachineArn=machine)["executions"]:
                execution = listed["executionArn"]
                if execution in before:
                    continue
                events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
                if any(e.get("stateExitedEventDetails", {}).get("name") == state for e in events):
                    return str(execution)
            return None

        self.cp.pump()
        if not self.cp.run_until(lambda: exited() is not None):
            raise AssertionError(f"{state} never exited")
        execution = exited()
        assert execution is not None
        if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
            raise AssertionError(f"the deployment ended before it could be stopped after {state}")
        sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped mid-deployment")
        # moto ends the stopped execution once its parked state returns (AWS: at once); the pump
        # runs until nothing is runnable, so it is over when the pump returns.
        self.cp.pump()
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status == "RUNNING":
            raise AssertionError("StopExecution did not stop the execution")
        return execution

    def incidents(self, lane: Lane = GUARDRAILS) -> int:
        """Occurrences of the endpoint's deployment.failed / rolled_back incidents (one incident per
        cause, counted repeats)."""
        occurrences = 0
        for cause in INCIDENT_CAUSES:
            item = self.cp.client("dynamodb").get_item(
                TableName=self.state_table,
                Key={"pk": {"S": f"incident#endpoint/{lane.endpoint}#{cause}"}, "sk": {"S": "incident"}},
                ConsistentRead=True,
            )
            occurrences += int(item.get("Item", {}).get("occurrences", {}).get("N", "0"))
        return occurrences

    def observe(self, execution: dict[str, Any], arn: str, lane: Lane = GUARDRAILS) -> Trial:
        sfn = self.cp.client("stepfunctions")
        history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        states = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        lease = self.cp.client("dynamodb").get_item(
            TableName=self.state_table,
            Key={"pk": {"S": f"lease#endpoint#{lane.endpoint}"}, "sk": {"S": "lease"}},
            ConsistentRead=True,
        )
        holder = lease.get("Item", {}).get("holder", {}).get("S")
        streams = self.audit.streams()
        records = [r for stream in streams for r in self.audit.read(stream)]
        outcomes = Counter(
            r.action for r in records if r.evidence.get("execution") == execution["executionArn"]
        )
        streams_ok = all(
            verify_chain(self.audit.read(s), self.audit.head(s), require_head=True).ok for s in streams
        )
        return Trial(
            execution,
            states,
            arn,
            holder,
            self.incidents(lane),
            outcomes[AuditAction.DEPLOYMENT_FAILED],
            streams_ok,
            self.serves(arn, lane),
            rolled_back_records=outcomes[AuditAction.DEPLOYMENT_ROLLED_BACK],
        )

    def serves(self, arn: str, lane: Lane = GUARDRAILS) -> bool:
        """Whether a variant of the lane's endpoint serves the package (a managed shift's config
        carries the candidate next to the old variants)."""
        sm = self.cp.client("sagemaker")
        endpoint = sm.describe_endpoint(EndpointName=lane.endpoint)
        config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        models = [sm.describe_model(ModelName=v["ModelName"]) for v in config["ProductionVariants"]]
        return any(m["PrimaryContainer"].get("ModelPackageName") == arn for m in models)


def bench_policy(tmp: Path) -> Path:
    policy = yaml.safe_load((ROOT / "scenarios" / "policy.yaml").read_text())
    tier = policy["tiers"]["medium"]
    # The longest deployment timeout the policy allows (14,400 simulated seconds, 24 s here): a
    # trial faulted everywhere within budget is slow under load, and SageMaker's timeout rollback
    # (tested with the emulator's deployments) is not what the matrix is about.
    tier["deployment"] = {
        "strategy": "canary",
        "canary_percent": 10,
        "maximum_execution_timeout_seconds": 14400,
    }
    tier.pop("monitoring")
    managed = policy["tiers"]["managed"]  # weight shift: 10 % for a bake, 100 %, promote (ADR 9)
    managed["deployment"]["alarms"] = [SHIFT_ALARM]
    managed["deployment"]["maximum_execution_timeout_seconds"] = 14400
    managed["auto_approve"] = False  # each trial approves (arms its faults first), as in medium
    managed.pop("monitoring", None)
    policy["groups"] = [
        {"match": "faults-*", "tier": "medium", "endpoint": ENDPOINT},
        {"match": "shift-*", "tier": "managed", "endpoint": SHIFT_ENDPOINT},
    ]
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


@contextlib.contextmanager
def open_bench(tmp: Path) -> Iterator[FaultBench]:
    """Both lanes on a new control plane: a champion on the single-variant ``faults-prod``, an A/B
    split on ``shift-prod`` (each test module gets its own: trials slow down as executions and audit
    records pile up on one control plane, and the modules run in parallel)."""
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    with FaultInjector() as faults, LocalControlPlane(TEMPLATE) as cp:
        publish_to_appconfig(
            cp.client("appconfig"),
            DeliveryTarget.from_outputs(cp.stack.outputs),
            bench_policy(tmp),
        )
        fb = FaultBench(cp, faults)
        deploy_champion(cp.client("sagemaker"), ENDPOINT, fb.register())
        ab_endpoint(cp)
        fb.settle()
        yield fb


def ab_endpoint(cp: LocalControlPlane) -> None:
    """``shift-prod``: two instance variants at 50/50 (as canary-managed.yaml), and its 5xx alarm."""
    sm = cp.client("sagemaker")
    variants = []
    for name in ("Baseline", "Challenger"):
        sm.create_model(
            ModelName=f"shift-{name.lower()}",
            PrimaryContainer={
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
            },
            ExecutionRoleArn="arn:aws:iam::123456789012:role/mlcp-sagemaker-execution",
        )
        variants.append(
            {
                "VariantName": name,
                "ModelName": f"shift-{name.lower()}",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
                "InitialVariantWeight": 0.5,
            }
        )
    sm.create_endpoint_config(EndpointConfigName=SHIFT_AB_CONFIG, ProductionVariants=variants)
    sm.create_endpoint(EndpointName=SHIFT_ENDPOINT, EndpointConfigName=SHIFT_AB_CONFIG)
    cp.client("cloudwatch").put_metric_alarm(
        AlarmName=SHIFT_ALARM,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": SHIFT_ENDPOINT}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=3,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )


def call_sites(fb: FaultBench, lane: Lane = GUARDRAILS) -> list[Site]:
    """The call sites of one clean deployment in ``lane``, as the injector saw them."""
    start = len(fb.faults.calls)
    trial = fb.approve(fb.register(lane), [], lane)
    assert trial.states[-1] == "Deployed", (trial.states, trial.execution)
    assert trial.serves_candidate
    found: dict[Site, None] = {}
    for call in fb.faults.calls[start:]:
        if call.caller is None and call.service == "lambda" and call.operation == "Invoke" and call.target:
            logical = fb.logical.get(call.target)
            if logical in WORKFLOW_FUNCTIONS:
                found.setdefault(Site("states", "lambda", "Invoke", logical), None)
        elif call.caller is not None:
            logical = fb.logical.get(call.caller, "")
            if logical in WORKFLOW_FUNCTIONS or logical in EVENT_FUNCTIONS:
                found.setdefault(Site(logical, call.service, call.operation), None)
    return list(found)


#: Calls whose failure the code handles on purpose. None today: ListTags beyond budget used to read as
#: "no tags" (the cost_allocation_tags gate then rejected a good package); it now fails the step.
TOLERATED: set[Site] = set()
#: AwaitEndpoint's failure races with the endpoint event completing its token and with its own
#: timeout (the polling fallback): when either wins, the deployment goes on, which is as valid.
RACING_STEP = "AwaitEndpointFunction"
#: The managed lane's shift task (step / check / promote / roll_back); its Catch is ShiftFailed.
SHIFT_STEP = "ShiftTrafficFunction"


def applies(site: Site, family: str) -> bool:
    """Step Functions' own Invoke gets Lambda's API errors (throttling, ServiceException), not timeouts."""
    return not (site.caller == "states" and family == "timeout")


def budget(site: Site) -> int:
    """Consecutive faults a site absorbs: ASL retries for Step Functions' Invoke, botocore's
    attempts in a handler (times the async attempts for an event handler)."""
    if site.caller == "states":
        return ASL_RETRIES
    if site.caller in EVENT_FUNCTIONS:
        return BOTOCORE_ATTEMPTS * ASYNC_ATTEMPTS - 1
    return BOTOCORE_ATTEMPTS - 1


def compensation_held(site: Site, trial: Trial) -> tuple[bool, str]:
    """Beyond budget: whether the compensation held, and the outcome's name for the matrix."""
    status, last = trial.execution["status"], trial.states[-1]
    if site.caller in EVENT_FUNCTIONS:
        # The event goes to the function's OnFailure queue; polling finishes the deployment.
        return (
            status == "SUCCEEDED" and last == "Deployed" and trial.lease_holder is None,
            "polling -> Deployed",
        )
    step = site.target if site.caller == "states" else site.caller
    failed = status == "FAILED" and trial.failed_records >= 1
    if site == Site("EndpointLeaseFunction", "dynamodb", "DeleteItem"):
        # The release itself failed after the outcome was recorded: the lease is left to its expiry.
        return failed and trial.lease_holder == trial.execution[
            "executionArn"
        ], "catch -> failed, lease expires"
    if step == SHIFT_STEP:
        rolled = {"ShiftFailed", "RollBackShift"} <= set(trial.states) and trial.lease_holder is None
        if last == "RolledBack":
            ok = rolled and status == "SUCCEEDED" and trial.rolled_back_records >= 1 and trial.incidents >= 1
            return ok and not trial.serves_candidate, "catch -> RollBackShift -> rolled back, incident"
        if last == "Deployed":
            # PromoteShift's UpdateEndpoint had taken: the rollback finds the candidate alone, InService.
            return rolled and trial.serves_candidate, "catch -> RollBackShift finds it promoted -> Deployed"
        ok = rolled and failed and trial.incidents >= 1
        return ok, "catch -> RollBackShift -> failed, incident"
    if step in HOLDING_LEASE:
        ok = failed and trial.lease_holder is None and trial.incidents >= 1
        return ok, "catch -> lease released, failed, incident"
    ok = failed and trial.lease_holder is None and not trial.serves_candidate
    return ok, "catch -> failed"


def fault_matrix(bench: FaultBench, sites: list[Site], lane: Lane, figure: Callable[..., None]) -> list[str]:
    """Within budget, every site at once per family -> Deployed; beyond it, one site at a time ->
    compensated. Records the rows (prefixed ``managed`` for the managed lane); returns the failures."""
    prefix = "managed " if lane == MANAGED else ""
    figure(f"{prefix}call sites", len(sites), target="each")
    failures: list[str] = []

    # Within budget: every site of one deployment faulted at once, one family at a time -> deployed.
    for family, kinds in FAMILIES.items():
        rules = [
            bench.rule(site, kinds[n % len(kinds)], budget(site))
            for n, site in enumerate(sites)
            if applies(site, family)
        ]
        injected = bench.faults.injected
        trial = bench.approve(bench.register(lane), rules, lane)
        given = bench.faults.injected - injected
        ok = trial.states[-1] == "Deployed" and trial.serves_candidate and trial.streams_ok
        figure(
            f"{prefix}all sites {family} within budget",
            f"{given} faults -> {trial.states[-1]}",
            target="Deployed",
            ok=ok,
        )
        if not ok:
            reason = (
                bench.cp.client("sagemaker")
                .describe_endpoint(EndpointName=lane.endpoint)
                .get("FailureReason")
            )
            failures.append(f"{prefix}{family} within budget: {trial.states} (endpoint: {reason})")

    # Beyond budget: one site at a time.
    outcomes: Counter[str] = Counter()
    for n, site in enumerate(sites):
        for family, kinds in FAMILIES.items():
            if not applies(site, family):
                continue
            kind = kinds[n % len(kinds)]
            times = budget(site) + 1
            trial = bench.approve(bench.register(lane), [bench.rule(site, kind, times)], lane)
            if trial.faults_given < times:
                # This run took the other path (an endpoint event and the poll race to the callback).
                outcome = f"not reached ({trial.faults_given}/{times} faults)"
                ok = trial.states[-1] == "Deployed"
                outcomes["not reached"] += 1
            elif trial.states[-1] == "Deployed" and site in TOLERATED:
                outcome, ok = "tolerated (best effort) -> Deployed", trial.lease_holder is None
                outcomes["compensated"] += 1
            elif trial.states[-1] == "Deployed" and RACING_STEP in {site.caller, site.target}:
                outcome, ok = "event or poll won the race -> Deployed", trial.lease_holder is None
                outcomes["compensated"] += 1
            else:
                ok, outcome = compensation_held(site, trial)
                outcomes["compensated" if ok else "not compensated"] += 1
            ok = ok and trial.streams_ok
            figure(f"{prefix}{site.label} x{times} {kind}", f"{trial.states[-1]}: {outcome}", ok=ok)
            if not ok:
                failures.append(f"{prefix}{site.label} {kind}: {trial.states} {trial}")
    compensated = outcomes["compensated"]
    figure(
        f"{prefix}beyond budget handled (compensated, tolerated or raced)",
        f"{compensated}/{compensated + outcomes['not compensated']}",
        target="100%",
        ok=not outcomes["not compensated"],
    )
    figure(f"{prefix}beyond budget, site not reached (raced)", outcomes["not reached"])
    return failures


#: Calls that change AWS state, counted per operation (faulted attempts never reach moto).
EFFECTS = {
    "CreateModel",
    "CreateEndpointConfig",
    "CreateEndpoint",
    "UpdateEndpoint",
    "Publish",
    "CreateOpsItem",
}


def side_effects(fb: FaultBench) -> Counter[str]:
    """Side effects so far: successful mutating calls, audit records per action, incident repeats."""
    counted: Counter[str] = Counter(
        call.operation for call in fb.faults.calls if call.fault is None and call.operation in EFFECTS
    )
    for stream in fb.audit.streams():
        counted.update(f"audit {r.action.value}" for r in fb.audit.read(stream))
    counted["incident occurrences"] = fb.incidents()
    return counted


def delta(after: Counter[str], before: Counter[str]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after.keys() | before.keys() if after[k] != before[k]}


def redrive(fb: FaultBench, execution_arn: str, package_arn: str) -> Trial:
    sfn = fb.cp.client("stepfunctions")
    sfn.redrive_execution(executionArn=execution_arn)
    fb.settle()
    return fb.observe(sfn.describe_execution(executionArn=execution_arn), package_arn)
