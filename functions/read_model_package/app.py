"""Deployment workflow task: re-read the event's model package with DescribeModelPackage.

Read-only, so it needs no idempotency store. A malformed event is rejected (parked and audited)
and then raised as ``InvalidEvent`` so the state machine ends on its EventRejected branch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.adapters.registry import SageMakerModelRegistry
from mlcp.entrypoint import Runtime
from mlcp.errors import InvalidEvent
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.model_package import read_model_package

runtime = Runtime("read-model-package")
registry = SageMakerModelRegistry()


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    event = runtime.parse_or_reject(raw, ModelPackageStateChangeEvent)
    if event is None:
        raise InvalidEvent("the deployment workflow was started by an event it does not take")
    return read_model_package(event, registry=registry)
