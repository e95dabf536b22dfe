"""SageMaker hosting adapter: models, endpoint configs and endpoints, read and written idempotently."""

import hashlib
import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from mlcp.adapters import clients

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

_NAME = re.compile(r"[^a-zA-Z0-9-]")

MANAGED_TAG = "mlcp:model-package"
"""Tag on every Model and EndpointConfig the deployment creates: the package it serves. Retirement
deletes nothing without it (and the retirement role may delete nothing without it)."""

OWNER_TAG = "mlcp:audit-table"
"""Tag beside ``MANAGED_TAG``: the audit table of the control plane that created the resource. Only
that control plane's trail knows the resource's rollback role, so only its retirement may delete it
(another stack in the same account and region leaves it alone; docs/adr/0010)."""


def resource_name(*parts: str) -> str:
    """A SageMaker resource name (63 characters of [a-zA-Z0-9-]) derived from ``parts``, stable and
    unique: long names keep a readable prefix and gain a hash of the whole."""
    joined = "-".join(p for p in parts if p)
    clean = _NAME.sub("-", joined).strip("-")
    if len(clean) <= 63:
        return clean
    digest = hashlib.sha256(joined.encode()).hexdigest()[:10]
    return f"{clean[:52].rstrip('-')}-{digest}"


class EndpointState(BaseModel):
    """What DescribeEndpoint says now."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    status: str
    config_name: str
    pending_config_name: str | None = None
    failure_reason: str | None = None
    variant_count: int = 1
    serverless: bool = False
    weights: dict[str, float] = {}
    """Each variant's desired weight (what UpdateEndpointWeightsAndCapacities last asked for)."""
    shadow_variants: tuple[str, ...] = ()
    """The shadow variants of the config the endpoint serves (a shadow test in progress, ADR 25)."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _managed_tags(model_package_arn: str | None, owner: str | None) -> "list[TagTypeDef]":
    """The tags that mark what a deployment created for a package, and which control plane created
    it (retirement only deletes what its own control plane created)."""
    if not model_package_arn:
        return []
    tags: list[TagTypeDef] = [{"Key": MANAGED_TAG, "Value": model_package_arn}]
    if owner:
        tags.append({"Key": OWNER_TAG, "Value": owner})
    return tags


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def _variant_serving(template: dict[str, Any], model_name: str) -> dict[str, Any]:
    """``template``'s variant (name, weight, capacity) serving ``model_name``: the same variant name,
    as blue/green deployments require, and a serverless variant stays serverless."""
    variant: dict[str, Any] = {
        "VariantName": str(template.get("VariantName", "AllTraffic")),
        "ModelName": model_name,
        "InitialVariantWeight": float(template.get("InitialVariantWeight", 1.0)),
    }
    if template.get("ServerlessConfig"):
        variant["ServerlessConfig"] = dict(template["ServerlessConfig"])
    else:
        variant["InitialInstanceCount"] = int(template.get("InitialInstanceCount", 1))
        variant["InstanceType"] = str(template.get("InstanceType", "ml.m5.large"))
    return variant


class SageMakerHosting:
    """CreateModel / CreateEndpointConfig / CreateEndpoint / UpdateEndpoint / DescribeEndpoint.

    ``owner`` (the control plane's audit table) goes on what it creates as ``OWNER_TAG``; a hosting
    adapter without one (operators' reads, tests) creates resources no retirement will delete.
    """

    def __init__(self, client: "SageMakerClient | None" = None, *, owner: str | None = None) -> None:
        self._client = client or clients.sagemaker()
        self._owner = owner

    def endpoint(self, name: str) -> EndpointState | None:
        """The endpoint's state, or None when it does not exist."""
        try:
            raw = self._client.describe_endpoint(EndpointName=name)
        except ClientError as exc:
            if _code(exc) == "ValidationException" and "not find" in _message(exc).lower():
                return None
            if _code(exc) == "ValidationException":
                return None
            raise
        pending = raw.get("PendingDeploymentSummary") or {}
        variants = raw.get("ProductionVariants") or []
        serverless = any("CurrentServerlessConfig" in v for v in variants)
        return EndpointState(
            name=name,
            status=raw["EndpointStatus"],
            config_name=raw["EndpointConfigName"],
            pending_config_name=pending.get("EndpointConfigName"),
            failure_reason=raw.get("FailureReason"),
            variant_count=max(1, len(variants)),
            serverless=serverless,
            weights={
                str(v["VariantName"]): float(v.get("DesiredWeight", v.get("CurrentWeight", 1.0)))
                for v in variants
            },
            shadow_variants=tuple(str(v["VariantName"]) for v in raw.get("ShadowProductionVariants") or []),
        )

    def serving_package(self, endpoint: str) -> str | None:
        """The model package the endpoint's (first) production variant serves, when it came from one."""
        from mlcp.adapters.evidence import champion_package

        return champion_package(self._client, endpoint)[1]

    def config_variants(self, config_name: str) -> list[dict[str, Any]]:
        """The production variants of an endpoint config."""
        return [
            dict(v)
            for v in self._client.describe_endpoint_config(EndpointConfigName=config_name)[
                "ProductionVariants"
            ]
        ]

    def config_exists(self, config_name: str) -> bool:
        """Whether the endpoint config exists (SageMaker answers ValidationException when not)."""
        try:
            self._client.describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException":
                return False
            raise
        return True

    def ensure_model(self, name: str, model_package_arn: str, role_arn: str) -> None:
        """CreateModel from the package, unless it exists (a retry or a redrive)."""
        try:
            self._client.create_model(
                ModelName=name,
                PrimaryContainer={"ModelPackageName": model_package_arn},
                ExecutionRoleArn=role_arn,
                Tags=_managed_tags(model_package_arn, self._owner),
            )
        except ClientError as exc:
            if "already exist" not in _message(exc).lower():
                raise

    def ensure_endpoint_config(
        self, name: str, model_name: str, variants: list[dict[str, Any]], model_package_arn: str | None = None
    ) -> None:
        """CreateEndpointConfig serving ``model_name`` with the given variants' names and capacity
        (serverless or instances), unless it exists (tagged with the package it serves, when given)."""
        self.ensure_endpoint_config_of(
            name, [_variant_serving(v, model_name) for v in variants], model_package_arn
        )

    def ensure_endpoint_config_of(
        self,
        name: str,
        production_variants: list[dict[str, Any]],
        model_package_arn: str | None = None,
        *,
        shadow_variants: list[dict[str, Any]] | None = None,
    ) -> None:
        """CreateEndpointConfig with exactly these ProductionVariants (and ShadowProductionVariants,
        when given), unless it exists (tagged with the package it serves, when given)."""
        kwargs: dict[str, Any] = {}
        if shadow_variants:
            kwargs["ShadowProductionVariants"] = shadow_variants
        try:
            self._client.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=production_variants,  # type: ignore[arg-type]
                Tags=_managed_tags(model_package_arn, self._owner),
                **kwargs,
            )
        except ClientError as exc:
            if "already exist" not in _message(exc).lower():
                raise

    def update_weights(self, name: str, weights: dict[str, float]) -> None:
        """UpdateEndpointWeightsAndCapacities: the variants' traffic weights (capacity unchanged)."""
        self._client.update_endpoint_weights_and_capacities(
            EndpointName=name,
            DesiredWeightsAndCapacities=[
                {"VariantName": variant, "DesiredWeight": weight} for variant, weight in weights.items()
            ],
        )

    def create_endpoint(self, name: str, config_name: str) -> None:
        self._client.create_endpoint(EndpointName=name, EndpointConfigName=config_name)

    def update_endpoint(self, name: str, config_name: str, deployment_config: dict[str, Any] | None) -> None:
        """UpdateEndpoint, with SageMaker's deployment guardrails when ``deployment_config`` is given."""
        kwargs: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
        if deployment_config is not None:
            kwargs["DeploymentConfig"] = deployment_config
        self._client.update_endpoint(**kwargs)

    def tag_package(self, model_package_arn: str, tags: dict[str, str]) -> None:
        """Mark a package (e.g. its deployment outcome) with tags."""
        self._client.add_tags(
            ResourceArn=model_package_arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
