"""The one place that sets up logging and metrics for every function.

Logger: JSON, service name from POWERTOOLS_SERVICE_NAME, correlation id = the EventBridge event id.
Metrics: CloudWatch EMF in the POWERTOOLS_METRICS_NAMESPACE namespace. No Powertools Tracer:
functions use Lambda active tracing (docs/adr/0003-no-powertools-tracer.md).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

#: EventBridge puts the event id at ``id``; Step Functions tasks get the same envelope.
EVENT_ID_PATH = correlation_paths.EVENT_BRIDGE

__all__ = ["EVENT_ID_PATH", "MetricUnit", "logger", "metrics"]
