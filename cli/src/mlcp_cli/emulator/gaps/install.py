"""Installing and uninstalling every fill: the list of moto patches and the :class:`GapFills` handle."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from mlcp_cli.emulator.gaps.awslambda import FunctionRegistry, fill_lambda_invoke
from mlcp_cli.emulator.gaps.clock import restore_clock, use_simulated_clock
from mlcp_cli.emulator.gaps.cloudformation import (
    fill_cfn_resource_class_from_type,
    fill_cfn_state_machine,
    fill_cfn_state_machine_delete,
)
from mlcp_cli.emulator.gaps.cloudwatch import fill_cloudwatch_set_alarm_state
from mlcp_cli.emulator.gaps.deliveries import Deliveries
from mlcp_cli.emulator.gaps.dynamodb import fill_dynamodb_one_request_at_a_time
from mlcp_cli.emulator.gaps.events import fill_events_put_events_aws_source, fill_events_send_to_targets
from mlcp_cli.emulator.gaps.identity import (
    fill_sagemaker_create_model_package_caller,
    fill_sagemaker_update_model_package_caller,
    fill_sts_get_caller_identity,
)
from mlcp_cli.emulator.gaps.s3 import FreshIdEventMessage
from mlcp_cli.emulator.gaps.sagemaker import (
    fill_sagemaker_create_model_package,
    fill_sagemaker_create_processing_job_environment,
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
from mlcp_cli.emulator.gaps.ssm import _ops_center_patches
from mlcp_cli.emulator.gaps.state import _ABSENT, _INSTALL, _State
from mlcp_cli.emulator.gaps.stepfunctions import (
    ScaledRetrySleep,
    fill_sfn_describe_execution_redrive,
    fill_sfn_parse_once,
    fill_sfn_redrive_execution,
    fill_sfn_scaled_timeout,
    fill_sfn_scaled_wait,
    fill_sfn_start_time_iso,
    fill_sfn_stop_ends_callback_waits,
    fill_sfn_stopped_stays_stopped,
)


class GapFills:
    """Handle of installed gap fills: ``uninstall()`` or use as a context manager."""

    def __init__(
        self, registry: FunctionRegistry, deliveries: Deliveries, state: _State | None = None
    ) -> None:
        self.registry = registry
        self.deliveries = deliveries
        self._state = state if state is not None else _State(registry, deliveries)
        self._installed = True

    def endpoint_deployments(self, *, in_flight_only: bool = False) -> list[EndpointDeploymentStatus]:
        """The simulated endpoint deployments started under this installation, oldest first."""
        found = [deployment.status() for deployment in list(self._state.deployments)]
        return [status for status in found if status.in_flight or not in_flight_only]

    def wait_endpoint_deployments(self, timeout: float = 10.0) -> bool:
        """Block until no deployment is in flight (real seconds); False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        for deployment in list(self._state.deployments):
            deployment.thread.join(max(0.0, deadline - time.monotonic()))
        return not self.endpoint_deployments(in_flight_only=True)

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
                for owner, name, original in reversed(_INSTALL.originals):
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
    registry: FunctionRegistry, deliveries: Deliveries | None = None, *, time_scale: float = 1.0
) -> GapFills:
    """Apply every fill (once; later calls only swap in the given registry, deliveries and clock).

    ``time_scale``: simulated seconds per real second for Step Functions waits and timeouts
    (3600: an hour-long approval timeout fires after one second)."""
    if time_scale <= 0:
        raise ValueError("time_scale must be positive")
    deliveries = deliveries if deliveries is not None else Deliveries()
    state = _State(registry, deliveries, time_scale)
    with _INSTALL.lock:
        _INSTALL.active = state
        use_simulated_clock()
        if _INSTALL.count == 0:
            for owner, name, replacement in _patches():
                _INSTALL.originals.append((owner, name, owner.__dict__.get(name, _ABSENT)))
                setattr(owner, name, replacement)
        _INSTALL.count += 1
    return GapFills(registry, deliveries, state)


def installed() -> bool:
    """Whether the fills are currently applied."""
    return _INSTALL.count > 0


def _patches() -> list[tuple[Any, str, Any]]:
    import moto.cloudformation.parsing as cfn_parsing
    import moto.events.utils as events_utils
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.models import Rule
    from moto.events.responses import EventsHandler
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.sts.models import STSBackend

    return [
        (LambdaSimpleBackend, "invoke", fill_lambda_invoke),
        (Rule, "send_to_targets", fill_events_send_to_targets),
        (EventsHandler, "put_events", fill_events_put_events_aws_source),
        (StateMachine, "create_from_cloudformation_json", classmethod(fill_cfn_state_machine)),
        (StateMachine, "delete_from_cloudformation_json", classmethod(fill_cfn_state_machine_delete)),
        (cfn_parsing, "resource_class_from_type", fill_cfn_resource_class_from_type),
        (SageMakerModelBackend, "create_model_package", fill_sagemaker_create_model_package),
        (SageMakerModelBackend, "update_model_package", fill_sagemaker_update_model_package),
        (SageMakerModelBackend, "_get_resource_from_arn", fill_sagemaker_versioned_package_arn),
        (SageMakerModelBackend, "start_pipeline_execution", fill_sagemaker_start_pipeline_execution),
        (SageMakerResponse, "create_processing_job", fill_sagemaker_create_processing_job_environment),
        (SageMakerResponse, "create_model_package", fill_sagemaker_create_model_package_caller),
        (SageMakerResponse, "update_model_package", fill_sagemaker_update_model_package_caller),
        (STSBackend, "get_caller_identity", fill_sts_get_caller_identity),
        (CloudWatchBackend, "set_alarm_state", fill_cloudwatch_set_alarm_state),
        (SageMakerModelBackend, "create_endpoint", fill_sagemaker_create_endpoint),
        (SageMakerModelBackend, "create_endpoint_config", fill_sagemaker_create_endpoint_config),
        (SageMakerModelBackend, "update_endpoint", fill_sagemaker_update_endpoint),
        (
            SageMakerModelBackend,
            "update_endpoint_weights_and_capacities",
            fill_sagemaker_update_endpoint_weights_and_capacities,
        ),
        (SageMakerResponse, "update_endpoint", fill_sagemaker_update_endpoint_request),
        (ExecutionWorker, "_get_evaluation_environment", fill_sfn_start_time_iso),
        (ExecutionWorker, "_get_evaluation_entrypoint", fill_sfn_parse_once),
        (Timeout, "_eval_body", fill_sfn_scaled_timeout),
        (WaitFunction, "_wait_interval", fill_sfn_scaled_wait),
        (StepFunctionResponse, "redrive_execution", fill_sfn_redrive_execution),
        (StepFunctionResponse, "describe_execution", fill_sfn_describe_execution_redrive),
        (retrier_decl, "time", ScaledRetrySleep()),
        (DynamoHandler, "call_action", fill_dynamodb_one_request_at_a_time),
        (Execution, "stop", fill_sfn_stop_ends_callback_waits),
        (Environment, "set_error", fill_sfn_stopped_stays_stopped),
        *_ops_center_patches(),
        (
            events_utils,
            "_BASE_EVENT_MESSAGE",
            FreshIdEventMessage(events_utils.__dict__["_BASE_EVENT_MESSAGE"]),
        ),
    ]
