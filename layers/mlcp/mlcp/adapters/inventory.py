"""What the control plane has hosted: its Models and EndpointConfigs, what every endpoint serves,
and their deletion (retirement). Only resources carrying ``MANAGED_TAG`` are listed; ``OWNER_TAG``
says which control plane (audit table) created each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from mlcp.adapters import clients
from mlcp.adapters.endpoints import MANAGED_TAG, OWNER_TAG

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

ResourceKind = Literal["model", "endpoint_config"]


class HostedResource(BaseModel):
    """A Model or EndpointConfig a control plane created (it carries ``MANAGED_TAG``)."""

    model_config = ConfigDict(frozen=True)

    kind: ResourceKind
    name: str
    arn: str
    created: datetime
    model_package_arn: str
    owner: str | None = None
    """The audit table of the control plane that created it (``OWNER_TAG``); None when untagged."""


class Serving(BaseModel):
    """What endpoints use now: their current and pending configs and those configs' models."""

    model_config = ConfigDict(frozen=True)

    configs: dict[str, str]
    """config name -> the endpoint using it"""
    models: dict[str, str]
    """model name -> the endpoint config serving it"""


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", "")).lower()


class SageMakerInventory:
    """ListModels / ListEndpointConfigs / ListTags / ListEndpoints / Describe* / Delete*."""

    def __init__(self, client: SageMakerClient | None = None) -> None:
        self._client = client or clients.sagemaker()

    def managed_resources(self) -> list[HostedResource]:
        """Every Model and EndpointConfig tagged ``MANAGED_TAG`` (whichever control plane created
        it), oldest first."""
        found: list[HostedResource] = []
        for page in self._client.get_paginator("list_models").paginate():
            for model in page.get("Models", []):
                found += self._if_managed(
                    "model", model["ModelName"], model["ModelArn"], model["CreationTime"]
                )
        for configs in self._client.get_paginator("list_endpoint_configs").paginate():
            for config in configs.get("EndpointConfigs", []):
                found += self._if_managed(
                    "endpoint_config",
                    config["EndpointConfigName"],
                    config["EndpointConfigArn"],
                    config["CreationTime"],
                )
        return sorted(found, key=lambda r: (r.created, r.kind, r.name))

    def endpoint_configs(self) -> list[str]:
        """The names of every EndpointConfig in the account and region, whoever created it."""
        return [
            config["EndpointConfigName"]
            for page in self._client.get_paginator("list_endpoint_configs").paginate()
            for config in page.get("EndpointConfigs", [])
        ]

    def _if_managed(self, kind: ResourceKind, name: str, arn: str, created: datetime) -> list[HostedResource]:
        tags: dict[str, str] = {}
        for page in self._client.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        package = tags.get(MANAGED_TAG)
        if not package:
            return []
        aware = created if created.tzinfo else created.replace(tzinfo=UTC)
        return [
            HostedResource(
                kind=kind,
                name=name,
                arn=arn,
                created=aware,
                model_package_arn=package,
                owner=tags.get(OWNER_TAG) or None,
            )
        ]

    def serving(self) -> Serving:
        """Every endpoint's current and pending config (any status: a failed endpoint still holds
        its config) and the models those configs serve."""
        configs: dict[str, str] = {}
        for page in self._client.get_paginator("list_endpoints").paginate():
            for endpoint in page.get("Endpoints", []):
                name = endpoint["EndpointName"]
                try:
                    described = self._client.describe_endpoint(EndpointName=name)
                except ClientError as exc:
                    if _error(exc)[0] == "ValidationException":
                        continue  # deleted between List and Describe
                    raise
                configs[described["EndpointConfigName"]] = name
                pending = (described.get("PendingDeploymentSummary") or {}).get("EndpointConfigName")
                if pending:
                    configs[pending] = name
        models = {model: config for config in configs for model in self.config_models(config)}
        return Serving(configs=configs, models=models)

    def config_models(self, config_name: str) -> list[str]:
        """The models an endpoint config serves (production and shadow variants); [] when it is gone."""
        try:
            described = self._client.describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError as exc:
            if _error(exc)[0] == "ValidationException":
                return []
            raise
        variants = [*described.get("ProductionVariants", []), *described.get("ShadowProductionVariants", [])]
        return [str(v["ModelName"]) for v in variants if v.get("ModelName")]

    def delete(self, kind: ResourceKind, name: str) -> bool:
        """DeleteModel / DeleteEndpointConfig; False when it was already gone (a retry)."""
        try:
            if kind == "model":
                self._client.delete_model(ModelName=name)
            else:
                self._client.delete_endpoint_config(EndpointConfigName=name)
        except ClientError as exc:
            code, message = _error(exc)
            if code == "ValidationException" and "could not find" in message:
                return False
            raise
        return True
