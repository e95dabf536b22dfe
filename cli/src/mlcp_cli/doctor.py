"""``mlcp doctor``: what a deployed control plane needs but cannot create itself, checked one by one.

The stack owns its functions, tables, queues and topics; it does not own the training bucket, the
published policy, who is subscribed, the account's CloudTrail, the monitors or the alarms a policy
names. Each check reads them through the AWS APIs (never from the template) and says, when they are
missing, the command that fixes them.

``run_checks(client, outputs, parameters)`` returns the checks; ``client(service)`` makes boto3
clients for the target (a deployed stack, or the emulator's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from mlcp.policy import Policy, PolicyError, parse_policy_json

Status = Literal["ok", "warn", "fail"]
ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return str(exc)


# ------------------------------------------------------------------ the training bucket


def training_bucket_checks(s3: Any, bucket: str) -> list[Check]:
    """EventBridge notifications on (data arrival is an S3 event) and versioning on (lineage)."""
    if not bucket:
        return [Check("training-bucket", "fail", "the stack has no TrainingDataBucketName parameter")]
    try:
        notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
        versioning = s3.get_bucket_versioning(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        return [
            Check(
                "training-bucket",
                "fail",
                f"bucket {bucket}: {_error(exc)}",
                "create it, or deploy with TrainingDataBucketName set to the bucket the pipelines read",
            )
        ]
    checks = []
    if "EventBridgeConfiguration" in notifications:
        checks.append(Check("training-bucket-events", "ok", f"{bucket} sends its events to EventBridge"))
    else:
        checks.append(
            Check(
                "training-bucket-events",
                "fail",
                f"{bucket} does not send events to EventBridge: new training data goes unnoticed",
                f"aws s3api put-bucket-notification-configuration --bucket {bucket} "
                "--notification-configuration '{\"EventBridgeConfiguration\": {}}'",
            )
        )
    if versioning.get("Status") == "Enabled":
        checks.append(Check("training-bucket-versioning", "ok", f"{bucket} keeps object versions"))
    else:
        checks.append(
            Check(
                "training-bucket-versioning",
                "fail",
                f"{bucket} is not versioned: packages cannot name the data versions they were trained on",
                f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled",
            )
        )
    return checks


# ------------------------------------------------------------------ the policy


def policy_check(ssm: Any, parameter: str) -> tuple[Check, Policy | None]:
    """The policy is published to the parameter the stack reads, and valid."""
    fix = f"mlcp policy publish policy/example.yaml --parameter {parameter}   (or your policy file)"
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
            return Check("policy", "fail", f"no policy published at {parameter}: nothing is gated", fix), None
        return Check("policy", "fail", f"{parameter}: {_error(exc)}", fix), None
    try:
        policy = parse_policy_json(value["Value"], f"ssm:{parameter}")
    except PolicyError as exc:
        return Check("policy", "fail", f"{parameter} holds an invalid policy: {exc.problems[0]}", fix), None
    detail = (
        f"{parameter} version {value.get('Version')}: {len(policy.groups)} groups, {len(policy.tiers)} tiers"
    )
    return Check("policy", "ok", detail), policy


# ------------------------------------------------------------------ who is told


def subscription_check(sns: Any, name: str, topic: str, who: str) -> Check:
    """At least one confirmed subscription on the topic (an unconfirmed email reaches nobody)."""
    if not topic:
        return Check(name, "fail", f"the stack has no {who} topic output")
    fix = f"aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint <{who}'s address>"
    try:
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    except (ClientError, BotoCoreError) as exc:
        return Check(name, "fail", f"{topic}: {_error(exc)}", fix)
    confirmed = [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]
    pending = len(subscriptions) - len(confirmed)
    if confirmed:
        endpoints = ", ".join(sorted(f"{s['Protocol']}:{s['Endpoint']}" for s in confirmed))
        return Check(name, "ok", f"{len(confirmed)} confirmed ({endpoints})")
    if pending:
        return Check(name, "fail", f"{pending} subscription(s) pending confirmation: nobody is told yet", fix)
    return Check(name, "fail", f"nobody is subscribed: {who} are never told", fix)


# ------------------------------------------------------------------ console approvals


def _management_writes(cloudtrail: Any, trail: dict[str, Any]) -> bool:
    selectors = cloudtrail.get_event_selectors(TrailName=trail["TrailARN"])
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") in (
            "All",
            "WriteOnly",
        ):
            return True
    for advanced in selectors.get("AdvancedEventSelectors") or []:
        for field in advanced.get("FieldSelectors") or []:
            if field.get("Field") == "eventCategory" and "Management" in (field.get("Equals") or []):
                return True
    # A trail created with no selectors records every management event.
    return not selectors.get("EventSelectors") and not selectors.get("AdvancedEventSelectors")


def console_approvals_check(cloudtrail: Any, region: str) -> Check:
    """A console answer is a StartExecution that only a logging trail with management (write) events
    turns into the EventBridge event the stack's ConsoleDecisionRule reacts to."""
    fix = (
        "aws cloudtrail create-trail --name mlcp-management --s3-bucket-name <log bucket> "
        "--is-multi-region-trail && aws cloudtrail start-logging --name mlcp-management"
    )
    try:
        trails = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]
        recording = [
            t["Name"]
            for t in trails
            if (t.get("IsMultiRegionTrail") or t.get("HomeRegion") == region)
            and cloudtrail.get_trail_status(Name=t["TrailARN"]).get("IsLogging")
            and _management_writes(cloudtrail, t)
        ]
    except (ClientError, BotoCoreError) as exc:
        return Check("console-approvals", "fail", f"cannot read CloudTrail: {_error(exc)}", fix)
    if recording:
        return Check("console-approvals", "ok", f"trail {', '.join(recording)} records management events")
    return Check(
        "console-approvals",
        "fail",
        "no logging trail records management events here: approvers' console answers never arrive",
        fix,
    )


# ------------------------------------------------------------------ what the policy names


def _exact(names: Iterable[str]) -> list[str]:
    return sorted({name for name in names if not any(c in name for c in "*?[")})


def alarm_check(cloudwatch: Any, policy: Policy) -> Check:
    """Every alarm the policy names by exact name exists (a missing one never rolls back or fires)."""
    named = _exact(
        [alarm for tier in policy.tiers.values() for alarm in tier.deployment.alarms]
        + [
            alarm
            for tier in policy.tiers.values()
            if tier.monitoring.retraining is not None
            for alarm in tier.monitoring.retraining.on_alarms
        ]
    )
    if not named:
        return Check("policy-alarms", "ok", "the policy names no alarm")
    found: set[str] = set()
    for start in range(0, len(named), 100):
        response = cloudwatch.describe_alarms(AlarmNames=named[start : start + 100])
        found |= {alarm["AlarmName"] for alarm in response.get("MetricAlarms", [])}
        found |= {alarm["AlarmName"] for alarm in response.get("CompositeAlarms", [])}
    missing = [name for name in named if name not in found]
    if missing:
        return Check(
            "policy-alarms",
            "fail",
            f"{len(missing)} of {len(named)} alarms the policy names do not exist: {', '.join(missing)}",
            "create them (aws cloudwatch put-metric-alarm --alarm-name ...) or fix the names in the policy",
        )
    return Check("policy-alarms", "ok", f"{len(named)} alarms the policy names exist")


def monitoring_check(sagemaker: Any, policy: Policy) -> Check:
    """Each managed endpoint whose tier retrains on violations has a Model Monitor schedule."""
    wanted = sorted(
        {
            rule.endpoint
            for rule in policy.groups
            if rule.endpoint
            and (retraining := policy.tiers[rule.tier].monitoring.retraining) is not None
            and retraining.on_violations
        }
    )
    if not wanted:
        return Check("model-monitor", "ok", "no tier retrains on monitoring violations")
    unmonitored = []
    try:
        for endpoint in wanted:
            schedules = sagemaker.list_monitoring_schedules(EndpointName=endpoint)[
                "MonitoringScheduleSummaries"
            ]
            if not schedules:
                unmonitored.append(endpoint)
    except (ClientError, BotoCoreError) as exc:
        return Check("model-monitor", "fail", f"cannot list monitoring schedules: {_error(exc)}")
    if unmonitored:
        return Check(
            "model-monitor",
            "warn",
            f"no Model Monitor schedule on {', '.join(unmonitored)}: its violations (which retrain) never come"
            " (fine before its first deployment)",
            "create a monitoring schedule for the endpoint (SageMaker Model Monitor), or publish "
            "Model Monitoring Report events from your own monitor",
        )
    return Check("model-monitor", "ok", f"{len(wanted)} endpoint(s) have a monitoring schedule")


# ------------------------------------------------------------------ all of them


def run_checks(
    client: ClientFactory, outputs: dict[str, str], parameters: dict[str, str], region: str
) -> list[Check]:
    """Every check, in the order an operator would fix them."""
    checks = training_bucket_checks(client("s3"), parameters.get("TrainingDataBucketName", ""))
    policy_parameter = parameters.get("PolicyParameterName") or "/mlcp/policy"
    policy_status, policy = policy_check(client("ssm"), policy_parameter)
    checks.append(policy_status)
    sns = client("sns")
    checks.append(
        subscription_check(sns, "approvals-subscribed", outputs.get("ApprovalsTopicArn", ""), "approvers")
    )
    checks.append(
        subscription_check(sns, "incidents-subscribed", outputs.get("IncidentsTopicArn", ""), "on-call")
    )
    checks.append(console_approvals_check(client("cloudtrail"), region))
    if policy is not None:
        checks.append(alarm_check(client("cloudwatch"), policy))
        checks.append(monitoring_check(client("sagemaker"), policy))
    return checks
