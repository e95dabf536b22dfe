"""Static security: the translated template (what CloudFormation receives) against checkov and the
control plane's own assertions: KMS customer-managed keys, table protection, a dead-letter path for
every asynchronous target, no wildcard outside a short allow-list, state machine logs and traces,
an alarm to on-call on every parking queue and state machine, and code signing enforced when a
signing profile is given.

cfn-lint (with the serverless rules) and checkov also run in ``make test`` (targets ``cfn-lint``,
``checkov``); the full profile runs checkov here too and records its figures.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlcp_cli.static import translated_template
from mlcp_cli.template import load_template, parameter_values, resolve

from .conftest import Profile

pytestmark = pytest.mark.reliability_property("static security")

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

#: Allow statements whose Action or Resource is a wildcard, and why each must be.
WILDCARD_ALLOWED = {
    ("AuditDigestKey", "AccountAdministersAndVerifies"): "the account administers and verifies the digest "
    "key ('*' in a key policy is this key); kms:Sign is not among its actions",
    ("AuditDigestKey", "OnlyTheDigestFunctionSigns"): "'*' in a key policy is this key; the principal is "
    "the digest function's role",
    ("ControlPlaneKey", "AccountAdministers"): "a key policy must let the account administer the key "
    "(kms:* on '*' = this key), or the key becomes unmanageable",
    ("ControlPlaneKey", "CloudWatchLogsEncrypts"): "AWS's documented statement for encrypted log groups "
    "('*' = this key; scoped by the logs encryption context)",
    ("ControlPlaneKey", "EventBridgeWritesEncryptedDeadLetters"): "'*' in a key policy is this key",
    ("ControlPlaneKey", "CloudWatchAlarmsNotify"): "'*' in a key policy is this key (scoped to this "
    "account's mlcp-<env>-* alarms)",
    ("SageMakerModelRole", "EcrLogin"): "ecr:GetAuthorizationToken has no resource-level permissions",
    ("RetirementPolicy", "ListHosting"): "SageMaker List* calls have no resource-level permissions",
    ("AnalyzeCanaryFunctionRole", "ReadVariantMetrics"): "cloudwatch:GetMetricData has no resource-level "
    "permissions",
    ("AnalyzeCanaryFunctionRole", "PublishTheVerdictOnly"): "cloudwatch:PutMetricData has no resource-level "
    "permissions; the cloudwatch:namespace condition scopes it to mlcp/CanaryAnalysis",
    ("AwaitConsoleDecisionFunctionRole", "CompleteTheDecisionExecution"): "states:SendTask* have no "
    "resource-level permissions; the task token is the scope (local IAM enforcement denied the ARN)",
    ("ConsoleDecisionFunctionRole", "AnswerTheWaitingWorkflows"): "states:SendTask* have no "
    "resource-level permissions; the task token is the scope (local IAM enforcement denied the ARN)",
    ("SteerBakeFunctionRole", "AnswerTheBake"): "states:SendTask* have no resource-level permissions; "
    "the bake's task token, read from the control-plane table after the re-checks, is the scope",
    ("IncidentPolicy", "OpenOpsItems"): "ssm:CreateOpsItem has no "
    "resource-level permissions (local IAM enforcement denied the opsitem/* scope)",
    (
        "DeploymentProgressPolicy",
        "ResumeTheDeploymentWorkflow",
    ): "states:SendTaskSuccess has no resource-level "
    "permissions; the task token is the scope (local IAM enforcement denied the state machine ARN)",
    ("DeploymentStateMachineRole", "DeliverExecutionLogs"): "CloudWatch Logs delivery APIs take only '*'",
    ("DeploymentStateMachineRole", "TraceExecutions"): "X-Ray PutTraceSegments takes only '*'",
    (
        "RetrainingDebounceStateMachineRole",
        "DeliverExecutionLogs",
    ): "CloudWatch Logs delivery APIs take only '*'",
    ("RetrainingDebounceStateMachineRole", "TraceExecutions"): "X-Ray PutTraceSegments takes only '*'",
    (
        "ApprovalDecisionStateMachineRole",
        "DeliverExecutionLogs",
    ): "CloudWatch Logs delivery APIs take only '*'",
    ("ApprovalDecisionStateMachineRole", "TraceExecutions"): "X-Ray PutTraceSegments takes only '*'",
}
#: AWS managed policies attached by SAM (their statements use '*'), and why.
MANAGED_ALLOWED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "a function writes its own logs",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "Tracing: Active (X-Ray segments)",
}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translated_template(TEMPLATE)


def _of_type(cfn: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties", {})
        for name, resource in cfn["Resources"].items()
        if resource["Type"] == resource_type
    }


def _is_cmk(cfn: dict[str, Any], ref: Any) -> bool:
    """``ref`` names a customer-managed key of this template (Ref or GetAtt Arn), not an AWS-managed alias."""
    keys = set(_of_type(cfn, "AWS::KMS::Key"))
    if isinstance(ref, dict) and "Ref" in ref:
        return ref["Ref"] in keys
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        return ref["Fn::GetAtt"][0] in keys and ref["Fn::GetAtt"][1] == "Arn"
    return False


def test_every_table_queue_topic_and_bucket_is_encrypted_with_a_customer_managed_key(
    cfn: dict[str, Any], figure: Callable[..., None]
) -> None:
    tables = _of_type(cfn, "AWS::DynamoDB::Table")
    queues = _of_type(cfn, "AWS::SQS::Queue")
    topics = _of_type(cfn, "AWS::SNS::Topic")
    buckets = _of_type(cfn, "AWS::S3::Bucket")
    for found in (tables, queues, topics, buckets):
        assert found
    for name, props in tables.items():
        sse = props.get("SSESpecification", {})
        assert sse.get("SSEEnabled") is True, name
        assert sse.get("SSEType") == "KMS", name
        assert _is_cmk(cfn, sse.get("KMSMasterKeyId")), name
    for name, props in {**queues, **topics}.items():
        assert _is_cmk(cfn, props.get("KmsMasterKeyId")), name
    for name, props in buckets.items():
        [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms", name
        assert _is_cmk(cfn, default.get("KMSMasterKeyID")), name
    for key in _of_type(cfn, "AWS::KMS::Key").values():
        if key.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
            assert key.get("EnableKeyRotation") is True
        else:  # KMS rotates symmetric keys only; an asymmetric key here only signs (audit digests)
            assert key.get("KeyUsage") == "SIGN_VERIFY"
    total = len(tables) + len(queues) + len(topics) + len(buckets)
    figure("resources on the CMK (tables, queues, topics, buckets)", f"{total}/{total}", target="all")


def test_every_table_has_point_in_time_recovery_and_deletion_protection(
    cfn: dict[str, Any], figure: Callable[..., None]
) -> None:
    tables = _of_type(cfn, "AWS::DynamoDB::Table")
    for name, props in tables.items():
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert props["DeletionProtectionEnabled"] is True, name
    figure("tables with PITR + deletion protection", f"{len(tables)}/{len(tables)}", target="all")


def _function_logical_id(cfn: dict[str, Any], ref: Any) -> str | None:
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        return str(ref["Fn::GetAtt"][0])
    return None


def test_every_asynchronous_target_has_a_dead_letter_path(
    cfn: dict[str, Any], figure: Callable[..., None]
) -> None:
    """Rule targets: a retry policy and a DLQ. Functions EventBridge invokes (asynchronously): an
    OnFailure destination or a dead-letter queue."""
    queues = set(_of_type(cfn, "AWS::SQS::Queue"))
    targets = 0
    for name, rule in _of_type(cfn, "AWS::Events::Rule").items():
        for target in rule.get("Targets", []):
            targets += 1
            assert _function_logical_id(cfn, target["DeadLetterConfig"]["Arn"]) in queues, (
                name,
                target["Id"],
            )
            assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, (name, target["Id"])
    on_failure = {
        _function_logical_id(cfn, props["FunctionName"]): props["DestinationConfig"]["OnFailure"][
            "Destination"
        ]
        for props in _of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
        if props.get("DestinationConfig", {}).get("OnFailure")
    }
    functions = _of_type(cfn, "AWS::Lambda::Function")
    async_functions = {
        _function_logical_id(cfn, props["FunctionName"])
        for props in _of_type(cfn, "AWS::Lambda::Permission").values()
        if props.get("Principal") == "events.amazonaws.com"
    }
    assert async_functions
    for function in async_functions:
        assert function in functions
        destination = on_failure.get(function) or functions[function].get("DeadLetterConfig", {}).get(
            "TargetArn"
        )
        assert _function_logical_id(cfn, destination) in queues, f"{function} has no dead-letter path"
    figure("rule targets with retry policy + DLQ", f"{targets}/{targets}", target="all")
    figure(
        "async functions with an OnFailure destination",
        f"{len(async_functions)}/{len(async_functions)}",
        target="all",
    )


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_outside_the_allow_list(cfn: dict[str, Any], figure: Callable[..., None]) -> None:
    found: set[tuple[str, str]] = set()
    managed: set[str] = set()
    for name, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
            managed |= {arn for arn in props.get("ManagedPolicyArns", []) if isinstance(arn, str)}
        elif resource["Type"] == "AWS::KMS::Key":
            documents = [props["KeyPolicy"]]
        elif "PolicyDocument" in props:
            documents = [props["PolicyDocument"]]
        for document in documents:
            for statement in _statements(document):
                if statement.get("Effect") != "Allow":
                    continue
                actions = [str(a) for a in _as_list(statement.get("Action", []))]
                wildcard = any("*" in a for a in actions) or "*" in _as_list(statement.get("Resource"))
                if wildcard:
                    key = (name, str(statement.get("Sid")))
                    assert key in WILDCARD_ALLOWED, f"{key}: {actions} on {statement.get('Resource')}"
                    found.add(key)
    assert managed <= set(MANAGED_ALLOWED), managed - set(MANAGED_ALLOWED)
    assert found == set(WILDCARD_ALLOWED), set(WILDCARD_ALLOWED) - found  # no stale allow-list entries
    figure(
        "wildcard statements (all allow-listed with a reason)",
        len(found),
        target=f"<= {len(WILDCARD_ALLOWED)}",
    )
    figure("AWS managed policies (allow-listed)", len(managed), target=f"<= {len(MANAGED_ALLOWED)}")


def test_state_machines_log_and_trace(cfn: dict[str, Any], figure: Callable[..., None]) -> None:
    machines = _of_type(cfn, "AWS::StepFunctions::StateMachine")
    assert machines
    for name, props in machines.items():
        logging = props["LoggingConfiguration"]
        assert logging["Level"] in {"ALL", "ERROR", "FATAL"}, name
        assert logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"], name
        assert props["TracingConfiguration"]["Enabled"] is True, name
    figure("state machines with logging + tracing", f"{len(machines)}/{len(machines)}", target="all")


def test_what_is_parked_or_stopped_alarms_on_call(cfn: dict[str, Any], figure: Callable[..., None]) -> None:
    """Every queue (where events are parked) has a depth alarm and every state machine an alarm on
    the executions no Catch compensates; all notify the incidents topic, which the key lets
    CloudWatch use."""
    alarms = _of_type(cfn, "AWS::CloudWatch::Alarm")
    for name, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": "IncidentsTopic"}], name
        assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold"), name
        assert props["TreatMissingData"] == "notBreaching", name
        assert len(props["AlarmDescription"]) > 80, name  # the runbook
    watched_queues = {
        props["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for props in alarms.values()
        if props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    queues = set(_of_type(cfn, "AWS::SQS::Queue"))
    assert watched_queues == queues
    watched: dict[str, set[str]] = {}
    for props in alarms.values():
        if props["Namespace"] == "AWS/States":
            watched.setdefault(props["Dimensions"][0]["Value"]["Ref"], set()).add(props["MetricName"])
    machines = set(_of_type(cfn, "AWS::StepFunctions::StateMachine"))
    assert set(watched) == machines
    assert watched["DeploymentStateMachine"] == {"ExecutionsAborted", "ExecutionsTimedOut"}
    [grant] = [
        st
        for st in _of_type(cfn, "AWS::KMS::Key")["ControlPlaneKey"]["KeyPolicy"]["Statement"]
        if st["Principal"].get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    figure("queues with a depth alarm to on-call", f"{len(watched_queues)}/{len(queues)}", target="all")
    figure(
        "state machines with an alarm on uncompensated ends", f"{len(watched)}/{len(machines)}", target="all"
    )


def test_every_function_has_a_log_group_with_retention(
    cfn: dict[str, Any], figure: Callable[..., None]
) -> None:
    """What cfn-lint-serverless WS1004 means; ours are attached through LoggingConfig, which it does not follow."""
    groups = _of_type(cfn, "AWS::Logs::LogGroup")
    functions = _of_type(cfn, "AWS::Lambda::Function")
    for name, props in functions.items():
        group = groups.get(_function_logical_id(cfn, props["LoggingConfig"]["LogGroup"]) or "")
        assert group is not None, name
        assert group.get("RetentionInDays"), name
        assert _is_cmk(cfn, group.get("KmsKeyId")), name
    figure(
        "functions with an encrypted log group with retention",
        f"{len(functions)}/{len(functions)}",
        target="all",
    )


def test_code_signing_is_enforced_when_a_signing_profile_is_given(
    cfn: dict[str, Any], figure: Callable[..., None]
) -> None:
    source = load_template(TEMPLATE)
    [(name, csc)] = [
        (k, r) for k, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::CodeSigningConfig"
    ]
    assert csc["Properties"]["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce"
    assert csc["Properties"]["AllowedPublishers"]["SigningProfileVersionArns"] == [
        {"Ref": "SigningProfileVersionArn"}
    ]
    condition = csc["Condition"]
    profile = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/mlcp/abcdef0123"
    without = parameter_values(source)
    with_profile = parameter_values(source, {"SigningProfileVersionArn": profile})
    assert resolve({"Condition": condition}, without, source) is False
    assert resolve({"Condition": condition}, with_profile, source) is True
    functions = _of_type(cfn, "AWS::Lambda::Function")
    for function, props in functions.items():
        assert props["CodeSigningConfigArn"] == {
            "Fn::If": [condition, {"Ref": name}, {"Ref": "AWS::NoValue"}]
        }, function
    figure("functions under the code-signing config", f"{len(functions)}/{len(functions)}", target="all")


def _suppressions() -> dict[str, str]:
    """Every checkov suppression and its written reason: .checkov.yaml comments and Metadata skips."""
    found: dict[str, str] = {}
    lines = (ROOT / ".checkov.yaml").read_text().splitlines()
    for n, line in enumerate(lines):
        if line.strip().startswith("- CKV"):
            reason = []
            for previous in reversed(lines[:n]):
                if not previous.strip().startswith("#"):
                    break
                reason.insert(0, previous.strip("# ").strip())
            found[line.strip("- ").strip()] = " ".join(reason)
    for name, resource in load_template(TEMPLATE)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            found[f"{skip['id']} ({name})"] = skip.get("comment", "")
    return found


def test_checkov_finds_nothing_and_every_suppression_has_a_reason(
    cfn: dict[str, Any], profile: Profile, figure: Callable[..., None], tmp_path: Path
) -> None:
    suppressions = _suppressions()
    assert suppressions
    for check, reason in suppressions.items():
        assert check.split()[0] in reason or len(reason) > 40, f"{check}: no reason given"
    config = yaml.safe_load((ROOT / ".checkov.yaml").read_text())
    assert {s.split()[0] for s in suppressions} >= set(config["skip-check"])
    figure("checkov suppressions, each with a reason", len(suppressions))
    if not profile.full:
        figure("checkov run", "in make test (target checkov)")
        return
    translated = tmp_path / "translated.json"
    translated.write_text(json.dumps(cfn, default=str))
    assert CHECKOV.exists(), "make checkov builds .venv-checkov"
    run = subprocess.run(
        [str(CHECKOV), "--config-file", str(ROOT / ".checkov.yaml"), "-f", str(translated), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    summary = json.loads(run.stdout)["summary"]
    figure("checkov checks passed", summary["passed"])
    figure("checkov checks failed", summary["failed"], target="0", ok=summary["failed"] == 0)
    figure("checkov checks skipped (Metadata)", summary["skipped"])
    assert summary["failed"] == 0, run.stdout[-4000:]
