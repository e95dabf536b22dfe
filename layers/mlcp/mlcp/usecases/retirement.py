"""Retirement: delete the Models and EndpointConfigs the control plane created that nothing needs any
more, once they are older than their tier's ``retention_days``.

Judged only when this control plane created them (``OWNER_TAG`` = its audit table): only its own trail
knows which config an endpoint's rollback returns to, so another stack's resources in the same account
and region, and untagged older ones, are listed as kept (and the models their configs serve with them).

Kept, whatever their age: every endpoint's current and pending config and the models they serve (the
champion among them); the config an endpoint's latest promotion replaced (``previous_config`` of its
last ``deployment.promoted`` record: where a rollback returns) and its models; any model a kept config
serves, another control plane's or a hand-made one included; anything of a group no policy rule
covers, or whose tier has no ``retention_days``.

Each deletion is audited first (``model.retired`` / ``endpoint_config.retired`` on the group's stream,
decision id = resource ARN + creation time), then made: a crash in between leaves a record whose
deletion the next run (or the retry) completes, never a deletion the trail does not show. Configs go
before models, so no config is left pointing at a deleted model.
"""

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from mlcp import clock as mlcp_clock
from mlcp.adapters.endpoints import OWNER_TAG
from mlcp.adapters.inventory import HostedResource, ResourceKind, Serving
from mlcp.audit import AuditAction
from mlcp.ports import AuditLog, Clock, PolicySource
from mlcp.records import record_class


class Inventory(Protocol):
    def managed_resources(self) -> list[HostedResource]: ...
    def endpoint_configs(self) -> list[str]: ...
    def serving(self) -> Serving: ...
    def config_models(self, config_name: str) -> list[str]: ...
    def delete(self, kind: ResourceKind, name: str) -> bool: ...


@record_class(frozen=False, eq=False, repr=False)  # a bundle of adapters: compared by identity, never printed
class RetirementDeps:
    inventory: Inventory
    policies: PolicySource
    audit: AuditLog
    clock: Clock = mlcp_clock.current


class Verdict(BaseModel):
    """What retirement decided about one resource, and why."""

    model_config = ConfigDict(frozen=True)

    kind: ResourceKind
    name: str
    arn: str
    created: datetime
    age_days: float
    group: str | None
    tier: str | None
    retention_days: int | None
    action: Literal["retire", "keep"]
    reason: str
    deleted: bool = False


def group_of(model_package_arn: str) -> str | None:
    """``arn:...:model-package/<group>/<version>`` -> ``<group>`` (None for anything else)."""
    _, _, path = model_package_arn.partition(":model-package/")
    group, _, version = path.partition("/")
    return group if group and version.isdigit() else None


def rollback_configs(endpoints: set[str], audit: AuditLog) -> dict[str, str]:
    """config -> endpoint: the config each endpoint's latest promotion replaced."""
    found: dict[str, str] = {}
    for endpoint in sorted(endpoints):
        promoted = [
            r for r in audit.read(f"endpoint#{endpoint}") if r.action == AuditAction.DEPLOYMENT_PROMOTED
        ]
        previous = promoted[-1].evidence.get("previous_config") if promoted else None
        if isinstance(previous, str) and previous:
            found[previous] = endpoint
    return found


def _not_ours(owner: str | None) -> str:
    if owner is None:
        return f"no {OWNER_TAG} tag (created before ownership tags): tag it with this stack's audit table to have it judged"
    return f"created by another control plane (audit table {owner})"


def plan_retirement(deps: RetirementDeps) -> list[Verdict]:
    """Every managed Model and EndpointConfig with its verdict (nothing is changed)."""
    policy = deps.policies.get()
    now = deps.clock()
    resources = deps.inventory.managed_resources()
    serving = deps.inventory.serving()
    rollback = rollback_configs(set(serving.configs.values()), deps.audit)
    protected_models = {
        model: f"served by {config} ({why})"
        for config, why in [
            *((c, f"endpoint {e}") for c, e in serving.configs.items()),
            *((c, f"rollback target of {e}") for c, e in rollback.items()),
        ]
        for model in deps.inventory.config_models(config)
    }

    def verdict(resource: HostedResource, action: Literal["retire", "keep"], reason: str) -> Verdict:
        group = group_of(resource.model_package_arn)
        found = policy.tier_for(group) if group else None
        return Verdict(
            kind=resource.kind,
            name=resource.name,
            arn=resource.arn,
            created=resource.created,
            age_days=round((now - resource.created).total_seconds() / 86400, 3),
            group=group,
            tier=found[0].tier if found else None,
            retention_days=found[1].retention_days if found else None,
            action=action,
            reason=reason,
        )

    def by_age(resource: HostedResource, in_use: str | None) -> Verdict:
        if resource.owner != deps.audit.table_name:
            return verdict(resource, "keep", _not_ours(resource.owner))
        if in_use:
            return verdict(resource, "keep", in_use)
        group = group_of(resource.model_package_arn)
        found = policy.tier_for(group) if group else None
        if found is None:
            return verdict(resource, "keep", f"no policy rule covers group {group!r}")
        rule, tier = found
        if tier.retention_days is None:
            return verdict(resource, "keep", f"tier {rule.tier} has no retention_days")
        age = (now - resource.created).total_seconds() / 86400
        if age < tier.retention_days:
            return verdict(resource, "keep", f"{age:.1f} days old, retention {tier.retention_days} days")
        return verdict(
            resource, "retire", f"unused, {age:.1f} days old > retention {tier.retention_days} days"
        )

    configs = [
        by_age(
            r,
            f"used by endpoint {serving.configs[r.name]}"
            if r.name in serving.configs
            else (f"rollback target of endpoint {rollback[r.name]}" if r.name in rollback else None),
        )
        for r in resources
        if r.kind == "endpoint_config"
    ]
    kept_config_models = {
        model: f"served by kept config {v.name}"
        for v in configs
        if v.action == "keep"
        for model in deps.inventory.config_models(v.name)
    }
    # Configs without MANAGED_TAG (made by hand or by other tools) may serve one of our models too.
    managed_configs = {r.name for r in resources if r.kind == "endpoint_config"}
    outside_config_models = {
        model: f"served by config {config} (not created by a control plane)"
        for config in deps.inventory.endpoint_configs()
        if config not in managed_configs
        for model in deps.inventory.config_models(config)
    }
    models = [
        by_age(
            r,
            protected_models.get(r.name)
            or kept_config_models.get(r.name)
            or outside_config_models.get(r.name),
        )
        for r in resources
        if r.kind == "model"
    ]
    return configs + models


def retire(deps: RetirementDeps, *, apply: bool, actor: str, event_id: str | None = None) -> list[Verdict]:
    """Plan, and with ``apply`` audit and delete each resource to retire (configs, then models)."""
    plan = plan_retirement(deps)
    if not apply:
        return plan
    done: list[Verdict] = []
    for item in plan:
        if item.action != "retire" or item.group is None:
            done.append(item)
            continue
        action = AuditAction.MODEL_RETIRED if item.kind == "model" else AuditAction.ENDPOINT_CONFIG_RETIRED
        deps.audit.append(
            stream=f"group#{item.group}",
            action=action,
            actor=actor,
            subject=item.arn,
            evidence={
                "name": item.name,
                "kind": item.kind,
                "created": item.created.isoformat(),
                "age_days": item.age_days,
                "tier": item.tier,
                "retention_days": item.retention_days,
                "reason": item.reason,
            },
            decision_id=f"{action.value}:{item.arn}:{item.created.isoformat()}",
            event_id=event_id,
        )
        deleted = deps.inventory.delete(item.kind, item.name)
        done.append(item.model_copy(update={"deleted": deleted}))
    return done
