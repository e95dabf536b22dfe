"""Installing and uninstalling every fill: the list of moto patches and the :class:`GapFills` handle."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from mlcp_cli.emulator.gaps.appconfig import _appconfig_patches
from mlcp_cli.emulator.gaps.awslambda import FunctionRegistry, fill_lambda_invoke
from mlcp_cli.emulator.gaps.clock import VirtualClock, restore_clock, use_simulated_clock
from mlcp_cli.emulator.gaps.cloudformation import (
    fill_cfn_parse_template_json_first,
    fill_cfn_resource_class_from_type,
    fill_cfn_stack_parameter_list,
    fill_cfn_state_machine,
    fill_cfn_state_machine_delete,
)
from mlcp_cli.emulator.gaps.cloudtrail import fill_sfn_start_execution_cloudtrail
from mlcp_cli.emulator.gaps.cloudwatch import (
    fill_cloudwatch_dimension_order,
    fill_cloudwatch_put_metric_data,
    fill_cloudwatch_set_alarm_state,
)
from mlcp_cli.emulator.gaps.deliveries import Deliveries
from mlcp_cli.emulator.gaps.dynamodb import (
    BACKUP_COPY,
    fill_dynamodb_one_request_at_a_time,
    fill_dynamodb_transaction_backup,
)
from mlcp_cli.emulator.gaps.events import (
    fill_events_put_events_aws_source,
    fill_events_send_to_targets,
    process_pending,
)
from mlcp_cli.emulator.gaps.identity import (
    fill_sagemaker_create_model_package_caller,
    fill_sagemaker_update_model_package_caller,
    fill_sts_get_caller_identity,
)
from mlcp_cli.emulator.gaps.kms import (
    fill_cfn_kms_key,
    fill_kms_key_pair_on_first_use,
    fill_kms_sign_digest,
    fill_kms_verify,
)
from mlcp_cli.emulator.gaps.lazy_moto import defer_unused_packages, deferring
from mlcp_cli.emulator.gaps.loader import (
    fill_memoized_accepts_kwargs,
    fill_moto_reads_the_shared_model,
    fill_shared_client_methods,
    fill_shared_event_aliases,
    fill_shared_loader,
    fill_shared_service_model,
)
from mlcp_cli.emulator.gaps.moto_dispatch import fill_moto_action_methods
from mlcp_cli.emulator.gaps.s3 import (
    FreshIdEventMessage,
    fill_cfn_s3_bucket,
    fill_s3_get_bucket_notification_eventbridge,
    fill_s3_put_object_retention_compliance,
    fill_s3_versioning_stays_on_with_object_lock,
)
from mlcp_cli.emulator.gaps.sagemaker import (
    fill_sagemaker_create_model_package,
    fill_sagemaker_create_processing_job_environment,
    fill_sagemaker_list_monitoring_schedules,
    fill_sagemaker_start_pipeline_execution,
    fill_sagemaker_update_model_package,
    fill_sagemaker_versioned_package_arn,
)
from mlcp_cli.emulator.gaps.sagemaker_endpoints import (
    EndpointDeploymentStatus,
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
from mlcp_cli.emulator.gaps.sagemaker_sharing import (
    fill_sagemaker_create_model_shared_package,
    fill_sagemaker_delete_model_package_group_policy,
    fill_sagemaker_get_model_package_group_policy,
    fill_sagemaker_put_model_package_group_policy,
)
from mlcp_cli.emulator.gaps.ssm import _ops_center_patches
from mlcp_cli.emulator.gaps.state import _ABSENT, _INSTALL, HANG_TIMEOUT, SETTLE_WAKE, _State, _state
from mlcp_cli.emulator.gaps.stepfunctions import (
    clock_patches,
    fill_sfn_describe_execution_redrive,
    fill_sfn_parse_once,
    fill_sfn_redrive_execution,
    fill_sfn_send_task_failure_cause,
    fill_sfn_start_time_iso,
    fill_sfn_status_change_event,
    fill_sfn_stop_ends_callback_waits,
    fill_sfn_stopped_stays_stopped,
    fill_sfn_validate_once,
    terminating_executions,
)


class GapFills:
    """Handle of installed gap fills: ``uninstall()`` or use as a context manager."""

    def __init__(
        self, registry: FunctionRegistry, deliveries: Deliveries, state: _State | None = None
    ) -> None:
        self.registry = registry
        self.deliveries = deliveries
        self._state = state if state is not None else _State(registry, deliveries, VirtualClock())
        self._installed = True

    def endpoint_deployments(self, *, in_flight_only: bool = False) -> list[EndpointDeploymentStatus]:
        """The simulated endpoint deployments started under this installation, oldest first."""
        found = [deployment.status() for deployment in list(self._state.deployments)]
        return [status for status in found if status.in_flight or not in_flight_only]

    @property
    def clock(self) -> VirtualClock:
        """The installation's virtual clock."""
        return self._state.clock

    def runnable(self) -> list[str]:
        """What can still run without simulated time passing (empty: every participant is blocked
        on the clock or idle): queued deliveries, Step Functions executions not blocked on the
        clock (a Wait state, a retry interval, a task-token wait), endpoint deployments not blocked
        on it."""
        return runnable_work(self._state)

    def settle(self, timeout: float = HANG_TIMEOUT) -> None:
        """Run queued deliveries until :meth:`runnable` is empty. ``timeout`` (real seconds) only
        bounds a hang: it raises ``TimeoutError`` naming what still runs."""
        settle_state(self._state, timeout)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, running every timer that falls due in deadline
        order, settling before each jump and at the end (costs milliseconds, not ``seconds``)."""
        self._state.clock.advance(seconds, self.settle)

    def run_until(self, done: Callable[[], bool], *, limit: float = 86_400.0) -> bool:
        """Advance timer by timer until ``done()`` holds (True) or ``limit`` simulated seconds have
        passed or nothing is left to wait for (False)."""
        return self._state.clock.run_until(done, self.settle, limit=limit)

    def wait_endpoint_deployments(self, limit: float = 86_400.0) -> bool:
        """Advance the clock until no deployment is in flight (at most ``limit`` simulated seconds);
        False when one still is."""
        return self.run_until(lambda: not self.endpoint_deployments(in_flight_only=True), limit=limit)

    def uninstall(self) -> None:
        """Stop this installation's deployment threads; the last uninstall restores moto."""
        if self._installed:
            stop_endpoint_deployments(self._state)
        with _INSTALL.lock:
            if not self._installed:
                return
            self._installed = False
            _INSTALL.count -= 1
            if _INSTALL.count == 0:
                for (_, name), (owner, original) in reversed(_INSTALL.originals.items()):
                    if original is _ABSENT:
                        delattr(owner, name)
                    else:
                        setattr(owner, name, original)
                _INSTALL.originals.clear()
                _INSTALL.active = None
                restore_clock()

    def __enter__(self) -> GapFills:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()


def install_gap_fills(
    registry: FunctionRegistry,
    deliveries: Deliveries | None = None,
    *,
    start: dt.datetime | None = None,
    skipping: bool = True,
) -> GapFills:
    """Apply every fill (once; later calls only swap in the given registry, deliveries and clock).

    The installation runs on a new :class:`VirtualClock` starting at ``start`` (default: now, to
    the second); ``skipping=False`` makes it let real time pass instead of jumping (benchmarks)."""
    deliveries = deliveries if deliveries is not None else Deliveries()
    state = _State(registry, deliveries, VirtualClock(start, skipping=skipping))
    with _INSTALL.lock:
        _INSTALL.active = state
        use_simulated_clock()
        if _INSTALL.count == 0:
            defer_unused_packages()  # fill al: before moto's CloudFormation imports them
            with deferring():
                patches = _patches()
            for owner, name, replacement in patches:
                # The first patch of an attribute keeps what moto had (uninstalling restores it).
                _INSTALL.originals.setdefault((id(owner), name), (owner, owner.__dict__.get(name, _ABSENT)))
                setattr(owner, name, replacement)
        _INSTALL.count += 1
    return GapFills(registry, deliveries, state)


def settle_state(state: _State, timeout: float = HANG_TIMEOUT) -> None:
    """See :meth:`GapFills.settle`."""
    deadline = time.monotonic() + timeout
    pause = 0.0005
    while True:
        SETTLE_WAKE.clear()  # before looking: a change announced from here on ends the wait below
        process_pending(state.deliveries, state.registry)
        busy = runnable_work(state)
        if not busy:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not settled after {timeout} s: {busy}")
        # The other participants are threads sharing the GIL: poll often at first (most waits
        # are short), then back off so the polling does not slow down a handler's seconds of work.
        # A participant announcing a change (SETTLE_WAKE) ends the wait at once (ADR 40).
        SETTLE_WAKE.wait(pause)
        pause = min(pause * 2, 0.01)


def settle(timeout: float = HANG_TIMEOUT) -> None:
    """:meth:`GapFills.settle` for the installation in use (for code that holds no handle)."""
    settle_state(_state(), timeout)


def runnable_work(state: _State) -> list[str]:
    """See :meth:`GapFills.runnable`."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    blocked = state.clock.blocked_tags()
    busy: list[str] = []
    for regions in list(stepfunctions_parser_backends.values()):
        for backend in list(regions.values()):
            busy.extend(
                execution.execution_arn
                for machine in list(backend.state_machines)
                for execution in list(machine.executions)
                if execution.status == "RUNNING" and execution.execution_arn not in blocked
            )
    busy.extend(f"{arn} (ending)" for arn in terminating_executions())
    busy.extend(
        f"endpoint deployment of {deployment.endpoint.endpoint_name}"
        for deployment in list(state.deployments)
        if deployment.thread.is_alive() and deployment not in blocked
    )
    # Last: a participant seen blocked or finished above queues nothing more, so an event put by
    # one that was finishing just then is counted here.
    if state.deliveries.pending():
        busy.append(f"{state.deliveries.pending()} queued deliveries")
    return busy


def installed() -> bool:
    """Whether the fills are currently applied."""
    return _INSTALL.count > 0


def _patches() -> list[tuple[Any, str, Any]]:
    import botocore.client
    import botocore.hooks
    import botocore.session
    import moto.cloudformation.parsing as cfn_parsing
    import moto.core.responses as moto_core_responses
    import moto.core.utils as moto_core_utils
    import moto.dynamodb.models as dynamodb_models
    import moto.events.utils as events_utils
    import moto.kms.models as kms_models
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.cloudformation.models import Stack
    from moto.cloudwatch.models import CloudWatchBackend, Dimension
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.models import Rule
    from moto.events.responses import EventsHandler
    from moto.kms.models import Key as KmsKey
    from moto.kms.responses import KmsResponse
    from moto.s3.models import FakeBucket, S3Backend
    from moto.s3.responses import S3Response
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.sts.models import STSBackend

    return [
        (botocore.session, "create_loader", fill_shared_loader),
        (botocore.client.ClientCreator, "_load_service_model", fill_shared_service_model),
        (botocore.client.ClientCreator, "_create_methods", fill_shared_client_methods),
        (botocore.hooks, "accepts_kwargs", fill_memoized_accepts_kwargs),
        (botocore.hooks.EventAliaser, "_alias_event_name", fill_shared_event_aliases),
        (moto_core_utils, "_load_service_model", fill_moto_reads_the_shared_model),
        (moto_core_responses, "method_names_from_class", fill_moto_action_methods),
        (LambdaSimpleBackend, "invoke", fill_lambda_invoke),
        (Rule, "send_to_targets", fill_events_send_to_targets),
        (EventsHandler, "put_events", fill_events_put_events_aws_source),
        (StateMachine, "create_from_cloudformation_json", classmethod(fill_cfn_state_machine)),
        (StateMachine, "delete_from_cloudformation_json", classmethod(fill_cfn_state_machine_delete)),
        (cfn_parsing, "resource_class_from_type", fill_cfn_resource_class_from_type),
        (Stack, "parse_template", staticmethod(fill_cfn_parse_template_json_first)),
        (Stack, "parameter_list", property(fill_cfn_stack_parameter_list)),
        (StepFunctionsParserBackend, "_validate_definition", staticmethod(fill_sfn_validate_once)),
        (SageMakerModelBackend, "create_model_package", fill_sagemaker_create_model_package),
        (SageMakerModelBackend, "update_model_package", fill_sagemaker_update_model_package),
        (SageMakerModelBackend, "_get_resource_from_arn", fill_sagemaker_versioned_package_arn),
        (SageMakerModelBackend, "start_pipeline_execution", fill_sagemaker_start_pipeline_execution),
        (SageMakerResponse, "create_processing_job", fill_sagemaker_create_processing_job_environment),
        (SageMakerResponse, "list_monitoring_schedules", fill_sagemaker_list_monitoring_schedules),
        (S3Response, "get_bucket_notification", fill_s3_get_bucket_notification_eventbridge),
        (SageMakerResponse, "create_model_package", fill_sagemaker_create_model_package_caller),
        (SageMakerResponse, "update_model_package", fill_sagemaker_update_model_package_caller),
        (STSBackend, "get_caller_identity", fill_sts_get_caller_identity),
        (CloudWatchBackend, "set_alarm_state", fill_cloudwatch_set_alarm_state),
        (CloudWatchBackend, "put_metric_data", fill_cloudwatch_put_metric_data),
        (Dimension, "__lt__", fill_cloudwatch_dimension_order),
        (SageMakerModelBackend, "create_endpoint", fill_sagemaker_create_endpoint),
        (SageMakerModelBackend, "create_endpoint_config", fill_sagemaker_create_endpoint_config),
        (SageMakerModelBackend, "update_endpoint", fill_sagemaker_update_endpoint),
        (
            SageMakerModelBackend,
            "update_endpoint_weights_and_capacities",
            fill_sagemaker_update_endpoint_weights_and_capacities,
        ),
        (SageMakerResponse, "update_endpoint", fill_sagemaker_update_endpoint_request),
        (SageMakerResponse, "create_endpoint_config", fill_sagemaker_create_endpoint_config_shadow),
        (SageMakerModelBackend, "describe_endpoint", fill_sagemaker_describe_endpoint_shadow),
        (SageMakerResponse, "put_model_package_group_policy", fill_sagemaker_put_model_package_group_policy),
        (SageMakerResponse, "get_model_package_group_policy", fill_sagemaker_get_model_package_group_policy),
        (
            SageMakerResponse,
            "delete_model_package_group_policy",
            fill_sagemaker_delete_model_package_group_policy,
        ),
        (SageMakerResponse, "create_model", fill_sagemaker_create_model_shared_package),
        (ExecutionWorker, "_get_evaluation_environment", fill_sfn_start_time_iso),
        (ExecutionWorker, "_get_evaluation_entrypoint", fill_sfn_parse_once),
        *clock_patches(),
        (StepFunctionResponse, "redrive_execution", fill_sfn_redrive_execution),
        (StepFunctionResponse, "describe_execution", fill_sfn_describe_execution_redrive),
        (StepFunctionResponse, "send_task_failure", fill_sfn_send_task_failure_cause),
        (DynamoHandler, "call_action", fill_dynamodb_one_request_at_a_time),
        (dynamodb_models.DynamoDBBackend, "transact_write_items", fill_dynamodb_transaction_backup),
        (dynamodb_models, "copy", BACKUP_COPY),
        (Execution, "stop", fill_sfn_stop_ends_callback_waits),
        (Environment, "set_error", fill_sfn_stopped_stays_stopped),
        (StepFunctionResponse, "start_execution", fill_sfn_start_execution_cloudtrail),
        *_ops_center_patches(),
        (KmsKey, "create_from_cloudformation_json", classmethod(fill_cfn_kms_key)),
        (KmsResponse, "sign", fill_kms_sign_digest),
        (KmsResponse, "verify", fill_kms_verify),
        (kms_models, "generate_private_key", fill_kms_key_pair_on_first_use),
        (FakeBucket, "create_from_cloudformation_json", classmethod(fill_cfn_s3_bucket)),
        (S3Backend, "put_object_retention", fill_s3_put_object_retention_compliance),
        (S3Backend, "put_bucket_versioning", fill_s3_versioning_stays_on_with_object_lock),
        (BaseExecutionWorkerCommunication, "terminated", fill_sfn_status_change_event),
        *_appconfig_patches(),
        (
            events_utils,
            "_BASE_EVENT_MESSAGE",
            FreshIdEventMessage(events_utils.__dict__["_BASE_EVENT_MESSAGE"]),
        ),
    ]
