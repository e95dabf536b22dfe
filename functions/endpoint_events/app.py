"""SageMaker Endpoint State Change -> resume the deployment waiting on that endpoint, if it ended.

The event only says "look again": DescribeEndpoint decides whether the deployment ended and how.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.entrypoint import DeploymentsByAccount, Runtime
from mlcp.events import EndpointDeploymentStateChangeEvent, EndpointStateChangeEvent
from mlcp.observability import EVENT_ID_PATH, logger, metrics
from mlcp.usecases.deployment import complete_callback

runtime = Runtime("endpoint-events")
deployments = DeploymentsByAccount(runtime, opens_incidents=False)


@logger.inject_lambda_context(correlation_id_path=EVENT_ID_PATH)
@metrics.log_metrics
def handler(raw: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = runtime.parse_or_reject(raw, EndpointStateChangeEvent, EndpointDeploymentStateChangeEvent)
    if not isinstance(event, EndpointStateChangeEvent | EndpointDeploymentStateChangeEvent):
        return {"status": "rejected"}  # None: rejected with its reason by parse_or_reject
    # The envelope's account (checked by parse_or_reject) is the endpoint's: look there.
    return complete_callback(event.endpoint_name, deps=deployments(event.account))
