"""Every fill of a moto gap, one module per AWS service.

Modules: :mod:`.awslambda`, :mod:`.events` (with :mod:`.deliveries`), :mod:`.cloudformation`,
:mod:`.sagemaker`, :mod:`.sagemaker_endpoints`, :mod:`.cloudwatch`, :mod:`.s3`, :mod:`.stepfunctions`,
:mod:`.identity` (STS), :mod:`.ssm`, :mod:`.appconfig` (AppConfig and AppConfig Data), :mod:`.dynamodb`, :mod:`.cloudtrail` (API calls to EventBridge); the simulated clock in :mod:`.clock`; the
shared installation state in :mod:`.state` and installing/uninstalling in :mod:`.install`. Every
public name is re-exported here.

Each fill is a small function whose docstring says what AWS does, what moto (5.2.5) does, and
what the fill does. ``install_gap_fills(registry)`` applies them all as monkeypatches on moto
classes; the returned :class:`GapFills` handle undoes them (``uninstall()`` or ``with``).
Installing twice is harmless: the patches are applied once and reference-counted, and the
most recent registry/delivery queue is the one the patched code uses.

Each fill has a test in ``tests/emulator/test_gaps.py`` (the SageMaker endpoint fills, j: in
``tests/emulator/test_gaps_endpoints.py``; RedriveExecution and StopExecution, o and r: in
``tests/emulator/test_gaps_redrive.py``; SendTaskFailure's cause, s: in
``tests/emulator/test_gaps_task_failure.py``; AppConfig's v and w and its CloudFormation types: in
``tests/emulator/test_gaps_appconfig.py``; shadow variants, y: in ``tests/emulator/test_gaps_shadow.py``) that first shows moto's raw behaviour still has the gap
(so a moto upgrade that fixes it makes that test fail: drop the fill then), and then shows the
fill gives AWS's behaviour.

Fill al (:mod:`.lazy_moto`, and the KMS key pair in :mod:`.kms`, ADR 39) is not an AWS fill either:
what moto does at every deploy that a local stack never uses (importing the models of sixteen
services for moto's CloudFormation, EC2's among them; a symmetric key's RSA key pair) is done on
first use.

Some modules are not AWS fills but costs of running many emulated environments in one process:
:mod:`.loader` (every botocore session shares one service-model loader, and botocore's other
read-only artefacts are built once), :mod:`.shared_modules` (layer modules without state are
imported once for every function, ADR 33), :mod:`.moto_dispatch` (moto's request path without
work it repeats on every request, ADR 40) and the per-process caches of fills p and v (a
definition text parsed and validated once, the validation's program run by its executions). Local deploys seed moto's
random source with the stack name (:func:`mlcp_cli.emulator.stack.deploy_local_stack`), so the
same definition text comes back on every deploy and those caches hold across stacks.

Local mode runs on one virtual clock (:mod:`.clock`, ADR 8) that only moves when asked
(``GapFills.advance``) and then jumps from timer to timer: Step Functions Wait states, task-token
timeouts and heartbeats, retry intervals (fill h) and the SageMaker deployment stages (fill j) all
block on it. Fill j runs each UpdateEndpoint as a background thread; ``GapFills.uninstall()``
stops the threads its installation started.

Measured and deliberately not filled (moto 5.2.5):

- S3 with EventBridge notifications enabled emits ``Object Created`` itself (through
  ``Rule.send_to_targets``, so the events fill delivers it to Lambda/Step Functions targets).
  Deviations from AWS: ``detail.reason`` is ``ObjectCreated`` (AWS ``PutObject``), the ETag key is
  ``eTag`` (AWS ``etag``), ``version-id`` is ``"null"`` when unversioned (AWS omits it), and a plain
  PutObject also emits ``Object Tags Added`` with the same event id. Rules naming the detail-type
  are unaffected.
- moto's CloudFormation ignores function ``Layers`` (get_function_configuration shows none) and
  creates no ``AWS::SQS::QueuePolicy`` (``LocalStack.skipped_types`` lists such types). In-process
  handlers import the layer package ``mlcp`` from the venv, so nothing needs the layer.
- Step Functions: an execution whose output is a JSON string is returned unquoted by
  describe_execution; Retry ``IntervalSeconds`` must be >= 1 (as on AWS). Wait states, task-token
  timeouts and heartbeats and Retry intervals run on the virtual clock (fill h); a state's own
  TimeoutSeconds around a Lambda task stays on wall-clock time (handler run time is not
  simulated time).
- Step Functions ``aws-sdk:*`` / optimized integrations sign with a fixed fake key, so they call as
  moto's default identity (``sts::<account>:user/moto``); AWS uses the state machine's role.
  Handlers run by a Task state do call as their function's role (fill i).
- Lambda async retries run immediately (AWS waits ~1 and ~2 minutes); ``MaximumEventAgeInSeconds``
  and EventBridge ``RetryPolicy`` are not simulated (a missing target goes to the DLQ at once).
"""

from __future__ import annotations

from mlcp_cli.emulator.gaps.appconfig import (
    APPCONFIG_CFN_TYPES,
    PREDEFINED_STRATEGIES,
    AppConfigError,
    fill_appconfig_routes,
    session_of_token,
)
from mlcp_cli.emulator.gaps.awslambda import (
    DEFAULT_ASYNC_RETRIES,
    LAYER_PACKAGES,
    FunctionLogLine,
    FunctionRegistry,
    FunctionSpec,
    InvocationResult,
    LambdaContext,
    fill_lambda_invoke,
    invoke_async,
    run_function,
    running_function,
)
from mlcp_cli.emulator.gaps.clock import (
    VirtualClock,
    active_clock,
    advance_clock,
    restore_clock,
    simulated_now,
    use_simulated_clock,
)
from mlcp_cli.emulator.gaps.cloudformation import (
    CfnCloudWatchAlarm,
    CfnLambdaEventInvokeConfig,
    fill_cfn_parse_template_json_first,
    fill_cfn_resource_class_from_type,
    fill_cfn_state_machine,
    fill_cfn_state_machine_delete,
    substitute_definition,
)
from mlcp_cli.emulator.gaps.cloudtrail import (
    fill_sfn_start_execution_cloudtrail,
    start_execution_record,
    user_identity,
)
from mlcp_cli.emulator.gaps.cloudwatch import (
    alarm_state_change_detail,
    evaluate_alarm,
    fill_cloudwatch_dimension_order,
    fill_cloudwatch_put_metric_data,
    fill_cloudwatch_set_alarm_state,
)
from mlcp_cli.emulator.gaps.deliveries import AsyncInvocation, Deliveries, Delivery, DeliveryRecord
from mlcp_cli.emulator.gaps.dynamodb import fill_dynamodb_one_request_at_a_time, serialized_dynamodb
from mlcp_cli.emulator.gaps.events import (
    AWS_SOURCE_PREFIX,
    deliver,
    fill_events_put_events_aws_source,
    fill_events_send_to_targets,
    process_pending,
    target_payload,
)
from mlcp_cli.emulator.gaps.identity import (
    caller_identity,
    fill_sagemaker_create_model_package_caller,
    fill_sagemaker_update_model_package_caller,
    fill_sts_get_caller_identity,
    stamp_model_package_caller,
)
from mlcp_cli.emulator.gaps.install import GapFills, install_gap_fills, installed, runnable_work, settle
from mlcp_cli.emulator.gaps.s3 import FreshIdEventMessage
from mlcp_cli.emulator.gaps.sagemaker import (
    fill_sagemaker_create_model_package,
    fill_sagemaker_create_processing_job_environment,
    fill_sagemaker_start_pipeline_execution,
    fill_sagemaker_update_model_package,
    fill_sagemaker_versioned_package_arn,
    model_package_state_change_detail,
)
from mlcp_cli.emulator.gaps.sagemaker_endpoints import (
    FLEET_LAUNCH_SECONDS,
    FLEET_TERMINATE_SECONDS,
    WEIGHTS_UPDATE_SECONDS,
    EndpointDeployment,
    EndpointDeploymentStatus,
    endpoint_event_detail,
    event_endpoint_status,
    fill_sagemaker_create_endpoint,
    fill_sagemaker_create_endpoint_config,
    fill_sagemaker_update_endpoint,
    fill_sagemaker_update_endpoint_request,
    fill_sagemaker_update_endpoint_weights_and_capacities,
    stop_endpoint_deployments,
)
from mlcp_cli.emulator.gaps.sagemaker_shadow import (
    fill_sagemaker_create_endpoint_config_shadow,
    fill_sagemaker_describe_endpoint_shadow,
)
from mlcp_cli.emulator.gaps.ssm import OPS_ITEM_ACTIONS, OpsItemError, fill_ssm_ops_items
from mlcp_cli.emulator.gaps.stepfunctions import (
    REDRIVABLE_STATUSES,
    REDRIVE_PERIOD,
    STOP_SETTLE_SECONDS,
    RetrySleepOnClock,
    clock_patches,
    fill_sfn_describe_execution_redrive,
    fill_sfn_heartbeat_wait_on_clock,
    fill_sfn_parse_once,
    fill_sfn_redrive_execution,
    fill_sfn_retrier_tags_execution,
    fill_sfn_send_task_failure_cause,
    fill_sfn_start_time_iso,
    fill_sfn_stop_ends_callback_waits,
    fill_sfn_stopped_stays_stopped,
    fill_sfn_task_token_wait_on_clock,
    fill_sfn_task_token_wait_tags_execution,
    fill_sfn_wait_on_clock,
    redrive_execution,
    redrive_status_reason,
    unsuccessful_state,
)

__all__ = [
    "APPCONFIG_CFN_TYPES",
    "AWS_SOURCE_PREFIX",
    "DEFAULT_ASYNC_RETRIES",
    "FLEET_LAUNCH_SECONDS",
    "FLEET_TERMINATE_SECONDS",
    "LAYER_PACKAGES",
    "OPS_ITEM_ACTIONS",
    "PREDEFINED_STRATEGIES",
    "REDRIVABLE_STATUSES",
    "REDRIVE_PERIOD",
    "STOP_SETTLE_SECONDS",
    "WEIGHTS_UPDATE_SECONDS",
    "AppConfigError",
    "AsyncInvocation",
    "CfnCloudWatchAlarm",
    "CfnLambdaEventInvokeConfig",
    "Deliveries",
    "Delivery",
    "DeliveryRecord",
    "EndpointDeployment",
    "EndpointDeploymentStatus",
    "FreshIdEventMessage",
    "FunctionLogLine",
    "FunctionRegistry",
    "FunctionSpec",
    "GapFills",
    "InvocationResult",
    "LambdaContext",
    "OpsItemError",
    "RetrySleepOnClock",
    "VirtualClock",
    "active_clock",
    "advance_clock",
    "alarm_state_change_detail",
    "caller_identity",
    "clock_patches",
    "deliver",
    "endpoint_event_detail",
    "evaluate_alarm",
    "event_endpoint_status",
    "fill_appconfig_routes",
    "fill_cfn_parse_template_json_first",
    "fill_cfn_resource_class_from_type",
    "fill_cfn_state_machine",
    "fill_cfn_state_machine_delete",
    "fill_cloudwatch_dimension_order",
    "fill_cloudwatch_put_metric_data",
    "fill_cloudwatch_set_alarm_state",
    "fill_dynamodb_one_request_at_a_time",
    "fill_events_put_events_aws_source",
    "fill_events_send_to_targets",
    "fill_lambda_invoke",
    "fill_sagemaker_create_endpoint",
    "fill_sagemaker_create_endpoint_config",
    "fill_sagemaker_create_endpoint_config_shadow",
    "fill_sagemaker_create_model_package",
    "fill_sagemaker_create_model_package_caller",
    "fill_sagemaker_create_processing_job_environment",
    "fill_sagemaker_describe_endpoint_shadow",
    "fill_sagemaker_start_pipeline_execution",
    "fill_sagemaker_update_endpoint",
    "fill_sagemaker_update_endpoint_request",
    "fill_sagemaker_update_endpoint_weights_and_capacities",
    "fill_sagemaker_update_model_package",
    "fill_sagemaker_update_model_package_caller",
    "fill_sagemaker_versioned_package_arn",
    "fill_sfn_describe_execution_redrive",
    "fill_sfn_heartbeat_wait_on_clock",
    "fill_sfn_parse_once",
    "fill_sfn_redrive_execution",
    "fill_sfn_retrier_tags_execution",
    "fill_sfn_send_task_failure_cause",
    "fill_sfn_start_execution_cloudtrail",
    "fill_sfn_start_time_iso",
    "fill_sfn_stop_ends_callback_waits",
    "fill_sfn_stopped_stays_stopped",
    "fill_sfn_task_token_wait_on_clock",
    "fill_sfn_task_token_wait_tags_execution",
    "fill_sfn_validate_once",
    "fill_sfn_wait_on_clock",
    "fill_ssm_ops_items",
    "fill_sts_get_caller_identity",
    "install_gap_fills",
    "installed",
    "invoke_async",
    "model_package_state_change_detail",
    "process_pending",
    "redrive_execution",
    "redrive_status_reason",
    "restore_clock",
    "run_function",
    "runnable_work",
    "running_function",
    "serialized_dynamodb",
    "session_of_token",
    "settle",
    "simulated_now",
    "stamp_model_package_caller",
    "start_execution_record",
    "stop_endpoint_deployments",
    "substitute_definition",
    "target_payload",
    "unsuccessful_state",
    "use_simulated_clock",
    "user_identity",
]
