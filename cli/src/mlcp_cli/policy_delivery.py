"""Delivering the policy through AWS AppConfig (docs/adr/0019): merging a policy directory,
publishing a version and deploying it, and reading what is deployed, rolling out or rolled back.

- ``merge_policy_directory(path)``: one policy from the YAML/JSON files of a directory (one per
  team or group). Tiers are a union, group rules are concatenated in file-name order, freezes are
  concatenated; a tier defined twice, a group pattern claimed twice, or a literal group name that
  another file's earlier glob already takes is a conflict naming both files.
- ``publish(appconfig, target, policy, ...)``: CreateHostedConfigurationVersion (the stack's
  validator runs the policy model on it) then StartDeployment with the chosen strategy. A freeze
  that is not yet deployed, or ``urgent``, picks the immediate strategy and stops a deployment in
  progress first (a freeze cannot wait behind a 16-minute rollout).
- ``status(appconfig, target)``: the deployments of the environment, newest first, with why a
  rolled-back one was rolled back (its event log).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from mlcp.policy import Policy, PolicyError, canonical_json, field_path, parse_policy_json
from mlcp.policy.appconfig import MAX_HOSTED_CONFIGURATION_BYTES
from mlcp.policy.model import parse_appconfig_target

POLICY_SUFFIXES = (".yaml", ".yml", ".json")
TOP_LEVEL_KEYS = ("version", "tiers", "groups", "change_freezes")
IN_PROGRESS = ("VALIDATING", "DEPLOYING", "BAKING", "ROLLING_BACK")


@dataclass(frozen=True)
class AppConfigTarget:
    """The application / environment / configuration profile the stack reads the policy from."""

    application: str
    environment: str
    profile: str

    @classmethod
    def parse(cls, value: str) -> AppConfigTarget:
        return cls(*parse_appconfig_target(value))

    def __str__(self) -> str:
        return f"{self.application}/{self.environment}/{self.profile}"


# ------------------------------------------------------------------------------------ directory


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


@dataclass
class _Merge:
    """The policy being merged, and which file each tier, group rule and freeze came from."""

    problems: list[str] = field(default_factory=list)
    tiers: dict[str, Any] = field(default_factory=dict)
    tier_file: dict[str, Path] = field(default_factory=dict)
    groups: list[Any] = field(default_factory=list)
    group_file: list[Path] = field(default_factory=list)
    freezes: list[Any] = field(default_factory=list)
    freeze_file: list[Path] = field(default_factory=list)
    version: tuple[Any, Path] | None = None

    def add(self, file: Path, document: Any) -> None:
        if document is None:
            return
        if not isinstance(document, Mapping):
            self.problems.append(f"{file}: a policy file must be a mapping (got {type(document).__name__})")
            return
        for key in document:
            if key not in TOP_LEVEL_KEYS:
                self.problems.append(
                    f"{file}: {key}: unknown key (a policy file holds {', '.join(TOP_LEVEL_KEYS)})"
                )
        if "version" in document:
            if self.version is not None and self.version[0] != document["version"]:
                self.problems.append(
                    f"{file}: version {document['version']!r} conflicts with version "
                    f"{self.version[0]!r} in {self.version[1]}"
                )
            self.version = self.version or (document["version"], file)
        for name, tier in (document.get("tiers") or {}).items():
            if name in self.tiers:
                self.problems.append(
                    f"{file}: tiers.{name}: tier {name!r} is also defined in {self.tier_file[name]}"
                )
                continue
            self.tiers[name], self.tier_file[name] = tier, file
        for index, rule in enumerate(document.get("groups") or []):
            match = rule.get("match") if isinstance(rule, Mapping) else None
            if isinstance(match, str):
                self._check_group(file, index, match)
            self.groups.append(rule)
            self.group_file.append(file)
        for freeze in document.get("change_freezes") or []:
            self.freezes.append(freeze)
            self.freeze_file.append(file)

    def _check_group(self, file: Path, index: int, match: str) -> None:
        for other, other_file in zip(self.groups, self.group_file, strict=True):
            other_match = other.get("match") if isinstance(other, Mapping) else None
            if not isinstance(other_match, str) or other_file == file:
                continue
            if other_match == match:
                self.problems.append(
                    f"{file}: groups[{index}]: group pattern {match!r} is also claimed in {other_file}"
                )
            elif not _is_glob(match) and fnmatch.fnmatchcase(match, other_match):
                self.problems.append(
                    f"{file}: groups[{index}]: group {match!r} is already taken by {other_match!r} "
                    f"in {other_file} (earlier in file order: the first match wins)"
                )

    def document(self) -> dict[str, Any]:
        merged: dict[str, Any] = {"tiers": self.tiers, "groups": self.groups, "change_freezes": self.freezes}
        if self.version is not None:
            merged["version"] = self.version[0]
        return merged


def merge_policy_directory(path: Path, documents: Mapping[Path, Any]) -> Policy:
    """Merge the decoded ``documents`` (file -> document) of directory ``path`` into one policy.

    ``PolicyError`` lists every conflict (naming both files) and every problem of the merged
    policy, each attributed to the file that holds the offending tier, group rule or freeze.
    """
    merge = _Merge()
    for file, document in documents.items():
        merge.add(file, document)
    if merge.problems:
        raise PolicyError(str(path), merge.problems)
    try:
        return Policy.model_validate(merge.document())
    except ValidationError as exc:
        raise PolicyError(
            str(path),
            [
                _attributed(error, path, merge.tier_file, merge.group_file, merge.freeze_file)
                for error in exc.errors(include_url=False)
            ],
        ) from exc


def _attributed(
    error: Any, path: Path, tier_file: dict[str, Path], group_file: list[Path], freeze_file: list[Path]
) -> str:
    loc = tuple(error["loc"])
    source: Path = path
    if len(loc) >= 2 and loc[0] == "tiers" and loc[1] in tier_file:
        source = tier_file[str(loc[1])]
    elif len(loc) >= 2 and loc[0] == "groups" and isinstance(loc[1], int) and loc[1] < len(group_file):
        source = group_file[loc[1]]
    elif (
        len(loc) >= 2 and loc[0] == "change_freezes" and isinstance(loc[1], int) and loc[1] < len(freeze_file)
    ):
        source = freeze_file[loc[1]]
    message = str(error["msg"]).removeprefix("Value error, ")
    where = field_path(loc)
    return f"{source}: {where}: {message}" if where else f"{source}: {message}"


def policy_files(directory: Path) -> list[Path]:
    """The policy files of a directory, in the order their group rules apply (by file name)."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in POLICY_SUFFIXES)


# ------------------------------------------------------------------------------------ publish


@dataclass
class PublishResult:
    """What ``publish`` did: the hosted version, its deployment and why that strategy."""

    version: int
    deployment: int
    strategy: str
    reason: str
    stopped: list[int] = field(default_factory=list)
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "deployment": self.deployment,
            "strategy": self.strategy,
            "reason": self.reason,
            "stopped": self.stopped,
            "label": self.label,
        }


def deployed_policy(appconfig: Any, target: AppConfigTarget) -> tuple[int, Policy] | None:
    """The last completed deployment's version number and policy (None: nothing deployed)."""
    for summary in _deployments(appconfig, target):
        if summary.get("State") == "COMPLETE":
            version = int(summary["ConfigurationVersion"])
            hosted = appconfig.get_hosted_configuration_version(
                ApplicationId=target.application, ConfigurationProfileId=target.profile, VersionNumber=version
            )
            return version, parse_policy_json(hosted["Content"].read(), f"appconfig:{target}@{version}")
    return None


def _deployments(appconfig: Any, target: AppConfigTarget) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = appconfig.list_deployments(
        ApplicationId=target.application, EnvironmentId=target.environment
    ).get("Items", [])
    return sorted(items, key=lambda item: int(item["DeploymentNumber"]), reverse=True)


def adds_freeze(new: Policy, old: Policy | None) -> bool:
    """Whether ``new`` has a freeze window ``old`` lacks (such a change must apply at once)."""
    known = set() if old is None else {(f.start, f.end) for f in old.change_freezes}
    return any((f.start, f.end) not in known for f in new.change_freezes)


def publish(
    appconfig: Any,
    target: AppConfigTarget,
    policy: Policy,
    *,
    immediate_strategy: str,
    gradual_strategy: str,
    strategy: str | None = None,
    urgent: bool = False,
    description: str = "",
) -> PublishResult:
    """Create a hosted version of ``policy`` and deploy it (see the module docstring).

    ``PolicyError`` when the validator refuses the version or AppConfig refuses the deployment.
    """
    text = canonical_json(policy)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    source = f"appconfig:{target}"
    size = len(text.encode("utf-8"))
    if size > MAX_HOSTED_CONFIGURATION_BYTES:
        raise PolicyError(
            source,
            [
                f"{source}: the published policy is {size} bytes; a hosted version holds {MAX_HOSTED_CONFIGURATION_BYTES}"
            ],
        )
    current = deployed_policy(appconfig, target)
    freeze = adds_freeze(policy, current[1] if current else None)
    if strategy:
        chosen, reason = strategy, "given on the command line"
    elif current is None:
        chosen, reason = immediate_strategy, "the first deployment: nothing to roll back to"
    elif urgent or freeze:
        chosen = immediate_strategy
        reason = "a new change freeze: applies at once" if freeze else "marked urgent: applies at once"
    else:
        chosen, reason = gradual_strategy, "a gradual rollout under the rollback alarm"
    try:
        created = appconfig.create_hosted_configuration_version(
            ApplicationId=target.application,
            ConfigurationProfileId=target.profile,
            Content=text.encode("utf-8"),
            ContentType="application/json",
            Description=(description or f"mlcp policy sha256 {digest[:16]}")[:1024],
            VersionLabel=f"sha256-{digest[:16]}",
        )
    except ClientError as exc:
        raise PolicyError(source, [f"{source}: the new version was refused: {_message(exc)}"]) from exc
    version = int(created["VersionNumber"])
    stopped: list[int] = []
    if chosen == immediate_strategy and (urgent or freeze):
        for summary in _deployments(appconfig, target):
            if summary.get("State") in IN_PROGRESS:
                appconfig.stop_deployment(
                    ApplicationId=target.application,
                    EnvironmentId=target.environment,
                    DeploymentNumber=int(summary["DeploymentNumber"]),
                )
                stopped.append(int(summary["DeploymentNumber"]))
    try:
        started = appconfig.start_deployment(
            ApplicationId=target.application,
            EnvironmentId=target.environment,
            DeploymentStrategyId=chosen,
            ConfigurationProfileId=target.profile,
            ConfigurationVersion=str(version),
            Description=f"mlcp policy publish ({reason})"[:1024],
        )
    except ClientError as exc:
        raise PolicyError(source, [f"{source}: version {version} was not deployed: {_message(exc)}"]) from exc
    return PublishResult(
        version=version,
        deployment=int(started["DeploymentNumber"]),
        strategy=chosen,
        reason=reason,
        stopped=stopped,
        label=f"sha256-{digest[:16]}",
    )


def _message(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"


# ------------------------------------------------------------------------------------ status


def status(appconfig: Any, target: AppConfigTarget, limit: int = 10) -> dict[str, Any]:
    """What is deployed, what is rolling out and what was rolled back and why (newest first)."""
    deployments: list[dict[str, Any]] = []
    deployed: dict[str, Any] | None = None
    rolling: dict[str, Any] | None = None
    for summary in _deployments(appconfig, target)[:limit]:
        full = appconfig.get_deployment(
            ApplicationId=target.application,
            EnvironmentId=target.environment,
            DeploymentNumber=int(summary["DeploymentNumber"]),
        )
        entry = {
            "deployment": int(full["DeploymentNumber"]),
            "version": int(full["ConfigurationVersion"]),
            "label": full.get("VersionLabel", ""),
            "state": full["State"],
            "percent": float(full.get("PercentageComplete", 0.0)),
            "strategy": full.get("DeploymentStrategyId", ""),
            "started": str(full.get("StartedAt", "")),
            "completed": str(full.get("CompletedAt", "") or ""),
            "description": full.get("Description", ""),
            "why": "",
        }
        if full["State"] == "ROLLED_BACK":
            reasons = [
                e.get("Description", "")
                for e in full.get("EventLog", [])
                if e.get("EventType") == "ROLLBACK_STARTED"
            ]
            entry["why"] = "; ".join(r for r in reasons if r) or "rolled back"
        if full["State"] == "COMPLETE" and deployed is None:
            deployed = entry
        if full["State"] in IN_PROGRESS and rolling is None:
            rolling = entry
        deployments.append(entry)
    return {"target": str(target), "deployed": deployed, "rolling_out": rolling, "deployments": deployments}


def write_status(report: Mapping[str, Any], out: Any) -> None:
    """The human-readable form of ``status``."""
    deployed, rolling = report["deployed"], report["rolling_out"]
    out.write(f"policy at appconfig:{report['target']}\n")
    if deployed:
        out.write(
            f"deployed:    version {deployed['version']} ({deployed['label']}) by deployment "
            f"{deployed['deployment']}, completed {deployed['completed']}\n"
        )
    else:
        out.write("deployed:    nothing yet (mlcp policy publish)\n")
    if rolling:
        out.write(
            f"rolling out: version {rolling['version']} by deployment {rolling['deployment']}: "
            f"{rolling['state']} {rolling['percent']:g} %\n"
        )
    for entry in report["deployments"]:
        why = f"  why: {entry['why']}" if entry["why"] else ""
        out.write(
            f"  #{entry['deployment']:<3} version {entry['version']:<4} {entry['state']:<12} "
            f"{entry['percent']:>5g} %  {entry['started']}{why}\n"
        )


__all__ = [
    "AppConfigTarget",
    "PublishResult",
    "adds_freeze",
    "deployed_policy",
    "merge_policy_directory",
    "policy_files",
    "publish",
    "status",
    "write_status",
]
