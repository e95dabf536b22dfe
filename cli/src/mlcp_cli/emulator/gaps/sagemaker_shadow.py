"""SageMaker shadow variants: fill y (``ShadowProductionVariants`` of an endpoint config, kept,
validated and shown by DescribeEndpoint on the endpoint that serves the config; ADR 25)."""

from __future__ import annotations

from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original

MAX_SHADOW_VARIANTS = 1
"""SageMaker supports one shadow variant per endpoint (Developer Guide, *Create a shadow test*)."""


def _validation(message: str) -> Exception:
    from moto.sagemaker.exceptions import ValidationError

    return ValidationError(message=message)


def _validate_shadow_config(
    name: str,
    production: list[dict[str, Any]],
    shadows: list[dict[str, Any]],
    async_inference: dict[str, Any] | None,
) -> None:
    """AWS's rules for a config with a shadow variant (Developer Guide: *Create a shadow test*, its
    *Exclusions*): one shadow variant, one production variant beside it, no serverless or
    asynchronous inference, instance capacity on the shadow, distinct variant names."""
    if len(shadows) > MAX_SHADOW_VARIANTS:
        raise _validation(
            f"Endpoint configuration {name!r} has {len(shadows)} shadow production variants: "
            "SageMaker supports a maximum of one shadow variant per endpoint."
        )
    if len(production) > 1:
        raise _validation(
            f"Endpoint configuration {name!r} has {len(production)} production variants and a shadow "
            "variant: an endpoint with a shadow variant can have at most one production variant."
        )
    if any(v.get("ServerlessConfig") for v in [*production, *shadows]):
        raise _validation(
            f"Endpoint configuration {name!r}: shadow variants are not supported with serverless inference."
        )
    if async_inference:
        raise _validation(
            f"Endpoint configuration {name!r}: shadow variants are not supported with asynchronous inference."
        )
    names = [str(v.get("VariantName", "")) for v in [*production, *shadows]]
    if len(set(names)) != len(names):
        raise _validation(
            f"Endpoint configuration {name!r}: variant names must be unique ({', '.join(names)})."
        )
    for shadow in shadows:
        if not shadow.get("InstanceType") or not shadow.get("InitialInstanceCount"):
            raise _validation(
                f"Shadow variant {shadow.get('VariantName')!r} needs an InstanceType and an InitialInstanceCount."
            )


def fill_sagemaker_create_endpoint_config_shadow(self: Any) -> Any:
    """CreateEndpointConfig keeps ``ShadowProductionVariants``.

    AWS: an endpoint config may name shadow variants beside its production variants; the shadow
    receives a copy of the requests sent to the production variant (its ``InitialVariantWeight``
    relative to the production variant's sets the share copied) and answers nobody;
    DescribeEndpointConfig returns them. A config with a shadow takes one production variant and
    one shadow, and no serverless or asynchronous inference (ValidationException otherwise).
    moto 5.2.5: the request's ``ShadowProductionVariants`` is dropped without a word.
    Fill: validate as above (our wording: AWS's messages are not documented), create the config
    through moto (and the other fills), keep the shadow variants on it (DescribeEndpointConfig
    returns them)."""
    from moto.core.responses import ActionResult

    name = self._get_param("EndpointConfigName")
    production = self._get_param("ProductionVariants") or []
    shadows = self._get_param("ShadowProductionVariants") or []
    async_inference = self._get_param("AsyncInferenceConfig")
    if shadows:
        _validate_shadow_config(name, production, shadows, async_inference)
    config = self.sagemaker_backend.create_endpoint_config(
        endpoint_config_name=name,
        async_inference_config=async_inference,
        production_variants=production,
        data_capture_config=self._get_param("DataCaptureConfig"),
        tags=self._get_param("Tags"),
        kms_key_id=self._get_param("KmsKeyId"),
    )
    if shadows:
        config.shadow_production_variants = [dict(v) for v in shadows]
    return ActionResult({"EndpointConfigArn": config.endpoint_config_arn})


def shadow_variants_of(backend: Any, config_name: str) -> list[dict[str, Any]]:
    """The shadow variants of an endpoint config as DescribeEndpoint shows them on a live endpoint."""
    config = backend.endpoint_configs.get(config_name)
    shown: list[dict[str, Any]] = []
    for variant in getattr(config, "shadow_production_variants", None) or []:
        weight = float(variant.get("InitialVariantWeight", 1.0))
        count = int(variant.get("InitialInstanceCount", 1))
        shown.append(
            {
                "VariantName": variant["VariantName"],
                "CurrentWeight": weight,
                "DesiredWeight": weight,
                "CurrentInstanceCount": count,
                "DesiredInstanceCount": count,
            }
        )
    return shown


def fill_sagemaker_describe_endpoint_shadow(self: Any, endpoint_name: str) -> Any:
    """DescribeEndpoint shows the shadow variants of the config the endpoint serves.

    AWS: ``ShadowProductionVariants`` (name, weights, instance counts) while the endpoint's config
    has a shadow; an UpdateEndpoint adds or removes it when the update completes (a rolled-back
    update leaves the old config's). moto 5.2.5: never returned. Fill: derived from the config the
    endpoint serves now (which fill j switches when an update completes, and back on a rollback)."""
    response = _call_original(type(self), "describe_endpoint", self, endpoint_name)
    shadows = shadow_variants_of(self, str(response.get("EndpointConfigName", "")))
    if shadows:
        response = {**response, "ShadowProductionVariants": shadows}
    return response
