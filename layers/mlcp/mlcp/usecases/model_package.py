"""Re-read a model package named by an event: the registry, not the event, says what it is."""

from __future__ import annotations

from typing import Protocol

from mlcp.adapters.registry import ModelPackageState
from mlcp.events import ModelPackageStateChangeEvent
from mlcp.observability import MetricUnit, logger, metrics


class ModelRegistry(Protocol):
    def describe(self, model_package_arn: str) -> ModelPackageState: ...


def read_model_package(event: ModelPackageStateChangeEvent, *, registry: ModelRegistry) -> dict[str, object]:
    """DescribeModelPackage for the event's package; returns its state beside what the event claimed.

    Raises ``ModelPackageNotFound`` when SageMaker does not know the package.
    """
    state = registry.describe(event.model_package_arn)
    metrics.add_metric(name="ModelPackagesRead", unit=MetricUnit.Count, value=1)
    if state.approval_status != event.approval_status:
        metrics.add_metric(name="EventRegistryDisagreements", unit=MetricUnit.Count, value=1)
        logger.warning(
            "event and registry disagree",
            extra={
                "model_package_arn": state.model_package_arn,
                "event_status": event.approval_status,
                "registry_status": state.approval_status,
            },
        )
    return {**state.model_dump(mode="json"), "event_approval_status": event.approval_status}
