"""AWS AppConfig and AppConfig Data: fills w (environments, deployment strategies, deployments with
validators, growth and bake on the virtual clock, alarm rollback), x (AppConfig Data sessions) and
the CloudFormation types moto skips (fill d's table gains ``AWS::AppConfig::*``).

moto 5.2.5 has AppConfig's applications, configuration profiles (validators stored, never run) and
hosted configuration versions; every other AppConfig route and every ``appconfigdata`` route answers
404 "Not yet implemented", and its CloudFormation skips every ``AWS::AppConfig::*`` type.

The fill answers those routes before moto's router (``BotocoreStubber.process_request``), keeping
its state next to moto's AppConfig backend (a moto reset forgets it), and lets moto keep the
applications, profiles and versions. Deployment state is a function of the virtual clock (no
thread): it is computed whenever a deployment or a session is read, so advancing the clock past a
deployment's duration and bake completes it, and an alarm in ALARM seen while it deploys or bakes
rolls it back at that moment.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import math
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from mlcp_cli.emulator.gaps.state import _INSTALL, _call_original

JsonResponse = tuple[int, dict[str, str], str | bytes]

PREDEFINED_STRATEGIES: dict[str, dict[str, Any]] = {
    "AppConfig.AllAtOnce": {"duration": 0, "bake": 10, "growth": 100.0, "type": "LINEAR"},
    "AppConfig.Linear50PercentEvery30Seconds": {"duration": 1, "bake": 1, "growth": 50.0, "type": "LINEAR"},
    "AppConfig.Canary10Percent20Minutes": {"duration": 20, "bake": 10, "growth": 10.0, "type": "EXPONENTIAL"},
    "AppConfig.Linear20PercentEvery6Minutes": {"duration": 30, "bake": 30, "growth": 20.0, "type": "LINEAR"},
}
"""AWS's predefined deployment strategies (id -> minutes of growth, bake, growth factor)."""

MAX_HOSTED_BYTES = 2 * 1024 * 1024
"""A hosted configuration version's default size quota (PayloadTooLargeException above)."""

IN_PROGRESS = frozenset({"VALIDATING", "DEPLOYING", "BAKING", "ROLLING_BACK"})

_LOCK = threading.RLock()


class AppConfigError(Exception):
    """An AppConfig error response (``x-amzn-ErrorType`` code, status, message, extra members)."""

    def __init__(self, code: str, status: int, message: str, **members: Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.members = members


@dataclass
class Strategy:
    id: str
    name: str
    duration_minutes: int
    bake_minutes: int
    growth_factor: float
    growth_type: str = "LINEAR"
    replicate_to: str = "NONE"
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": self.name,
            "Description": self.description,
            "DeploymentDurationInMinutes": self.duration_minutes,
            "GrowthType": self.growth_type,
            "GrowthFactor": self.growth_factor,
            "FinalBakeTimeInMinutes": self.bake_minutes,
            "ReplicateTo": self.replicate_to,
        }


@dataclass
class Environment:
    id: str
    application_id: str
    name: str
    description: str = ""
    monitors: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Deployment:
    number: int
    application_id: str
    environment_id: str
    profile_id: str
    version: str
    version_label: str | None
    strategy: Strategy
    started: dt.datetime
    description: str = ""
    state: str = "DEPLOYING"
    ended: dt.datetime | None = None
    event_log: list[dict[str, Any]] = field(default_factory=list)
    percentage: float = 0.0

    def log(self, event: str, by: str, description: str, at: dt.datetime) -> None:
        self.event_log.insert(
            0, {"EventType": event, "TriggeredBy": by, "Description": description, "OccurredAt": at}
        )


@dataclass
class Session:
    id: str
    account: str
    region: str
    application_id: str
    environment_id: str
    profile_id: str
    served: tuple[str, str] | None = None
    """(profile id, version) last sent to this session (None: nothing yet)."""
    next_token: str = ""


@dataclass
class _Store:
    environments: dict[str, Environment] = field(default_factory=dict)
    strategies: dict[str, Strategy] = field(default_factory=dict)
    deployments: dict[str, list[Deployment]] = field(default_factory=dict)
    """environment id -> its deployments, oldest first."""


_SESSIONS: dict[str, Session] = {}
_TOKENS: dict[str, str] = {}
"""Unused configuration token -> session id (each token answers once)."""
_IDS = itertools.count(1)


def _now() -> dt.datetime:
    clock = _INSTALL.active.clock if _INSTALL.active is not None else None
    return clock.now() if clock is not None else dt.datetime.now(dt.UTC)


def _new_id() -> str:
    return hashlib.sha256(f"{uuid.uuid4()}".encode()).hexdigest()[:7]


def _backend(account: str, region: str) -> Any:
    from moto.appconfig.models import appconfig_backends

    return appconfig_backends[account][region]


def _store(account: str, region: str) -> _Store:
    backend = _backend(account, region)
    store: _Store = backend.__dict__.setdefault("_mlcp_appconfig", _Store())
    return store


def _application(account: str, region: str, identifier: str) -> Any:
    backend = _backend(account, region)
    for app in backend.applications.values():
        if identifier in (app.id, app.name):
            return app
    raise AppConfigError("ResourceNotFoundException", 404, f"Application {identifier} not found")


def _profile(app: Any, identifier: str) -> Any:
    for profile in app.config_profiles.values():
        if identifier in (profile.id, profile.name):
            return profile
    raise AppConfigError("ResourceNotFoundException", 404, f"Configuration profile {identifier} not found")


def _environment(store: _Store, app_id: str, identifier: str) -> Environment:
    for env in store.environments.values():
        if env.application_id == app_id and identifier in (env.id, env.name):
            return env
    raise AppConfigError("ResourceNotFoundException", 404, f"Environment {identifier} not found")


def _strategy(store: _Store, identifier: str) -> Strategy:
    if identifier in PREDEFINED_STRATEGIES:
        spec = PREDEFINED_STRATEGIES[identifier]
        return Strategy(
            identifier, identifier, spec["duration"], spec["bake"], spec["growth"], spec["type"], "NONE"
        )
    for strategy in store.strategies.values():
        if identifier in (strategy.id, strategy.name):
            return strategy
    raise AppConfigError("ResourceNotFoundException", 404, f"Deployment strategy {identifier} not found")


# ------------------------------------------------------------------------------------ deployments


def _alarm_in_alarm(account: str, region: str, monitors: list[dict[str, str]]) -> str | None:
    """The ARN of the first monitor alarm in ALARM (None: all quiet or missing)."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = cloudwatch_backends[account][region].alarms
    for monitor in monitors:
        arn = monitor.get("AlarmArn", "")
        alarm = alarms.get(arn.rsplit(":alarm:", 1)[-1])
        if alarm is not None and alarm.state_value == "ALARM":
            return arn
    return None


def _progress(deployment: Deployment, env: Environment, account: str, region: str) -> None:
    """Bring ``deployment`` up to the virtual clock's now (growth, bake, completion, alarm rollback)."""
    if deployment.state not in IN_PROGRESS:
        return
    now = _now()
    alarm = _alarm_in_alarm(account, region, env.monitors)
    if alarm is not None:
        deployment.state = "ROLLED_BACK"
        deployment.ended = now
        deployment.log(
            "ROLLBACK_STARTED", "CLOUDWATCH_ALARM", f"Rollback initiated by CloudWatch alarm: {alarm}", now
        )
        deployment.log("ROLLBACK_COMPLETED", "APPCONFIG", "Rollback completed", now)
        return
    strategy = deployment.strategy
    elapsed = (now - deployment.started).total_seconds()
    duration = strategy.duration_minutes * 60
    if duration <= 0 or elapsed >= duration:
        deployment.percentage = 100.0
    else:
        steps = max(1, math.ceil(100.0 / strategy.growth_factor))
        step = int(elapsed // (duration / steps)) + 1
        deployment.percentage = min(100.0, step * strategy.growth_factor)
    if elapsed >= duration + strategy.bake_minutes * 60:
        if deployment.state != "COMPLETE":
            deployment.state = "COMPLETE"
            deployment.ended = deployment.started + dt.timedelta(
                seconds=duration + strategy.bake_minutes * 60
            )
            deployment.log("DEPLOYMENT_COMPLETED", "APPCONFIG", "Deployment completed", deployment.ended)
    elif elapsed >= duration:
        if deployment.state != "BAKING":
            deployment.log("BAKE_TIME_STARTED", "APPCONFIG", "Final bake time started", now)
        deployment.state = "BAKING"
    else:
        deployment.state = "DEPLOYING"


def _deployments(store: _Store, env: Environment, account: str, region: str) -> list[Deployment]:
    found = store.deployments.setdefault(env.id, [])
    for deployment in found:
        _progress(deployment, env, account, region)
    return found


def _served_version(
    store: _Store, env: Environment, profile_id: str, session_id: str, account: str, region: str
) -> Deployment | None:
    """The deployment whose version a session gets now: the in-flight one when the session's
    bucket is within its percentage, else the last completed one."""
    chosen: Deployment | None = None
    bucket = int(hashlib.sha256(session_id.encode()).hexdigest(), 16) % 100
    for deployment in _deployments(store, env, account, region):
        if deployment.profile_id != profile_id:
            continue
        if deployment.state == "COMPLETE" or (
            deployment.state in IN_PROGRESS and bucket < deployment.percentage
        ):
            chosen = deployment
    return chosen


def _deployment_json(deployment: Deployment, app: Any, profile_name: str, env_name: str) -> dict[str, Any]:
    strategy = deployment.strategy
    body: dict[str, Any] = {
        "ApplicationId": deployment.application_id,
        "EnvironmentId": deployment.environment_id,
        "DeploymentStrategyId": strategy.id,
        "ConfigurationProfileId": deployment.profile_id,
        "DeploymentNumber": deployment.number,
        "ConfigurationName": profile_name,
        "ConfigurationLocationUri": "hosted",
        "ConfigurationVersion": deployment.version,
        "Description": deployment.description,
        "DeploymentDurationInMinutes": strategy.duration_minutes,
        "GrowthType": strategy.growth_type,
        "GrowthFactor": strategy.growth_factor,
        "FinalBakeTimeInMinutes": strategy.bake_minutes,
        "State": deployment.state,
        "EventLog": [{**e, "OccurredAt": e["OccurredAt"].isoformat()} for e in deployment.event_log],
        "PercentageComplete": deployment.percentage,
        "StartedAt": deployment.started.isoformat(),
    }
    if deployment.ended is not None:
        body["CompletedAt"] = deployment.ended.isoformat()
    if deployment.version_label:
        body["VersionLabel"] = deployment.version_label
    return body


# ------------------------------------------------------------------------------------ validators


def _run_validators(profile: Any, app_id: str, version: str, content: bytes) -> None:
    """Run the profile's validators as AppConfig does; BadRequestException when one refuses."""
    for validator in profile.validators or []:
        kind = validator.get("Type")
        if kind == "JSON_SCHEMA":
            try:
                json.loads(content)
            except ValueError as exc:
                raise _invalid(f"content is not JSON: {exc}", "JSON_SCHEMA") from exc
            continue
        if kind != "LAMBDA":
            continue
        if _INSTALL.active is None:
            raise AppConfigError("BadRequestException", 400, "the validator function cannot be invoked")
        from mlcp_cli.emulator.gaps.awslambda import run_function

        registry = _INSTALL.active.registry
        spec = registry.get(str(validator.get("Content", "")))
        if spec is None:
            raise AppConfigError(
                "BadRequestException", 400, f"Validator function {validator.get('Content')} not found"
            )
        event = {
            "applicationId": app_id,
            "configurationProfileId": profile.id,
            "configurationVersion": version,
            "content": base64.b64encode(content).decode("ascii"),
            "uri": profile.location_uri,
        }
        result = run_function(registry, spec, event)
        if result.error is not None:
            raise _invalid(str(result.error.get("errorMessage", "")), "LAMBDA")


def _invalid(reason: str, kind: str) -> AppConfigError:
    return AppConfigError(
        "BadRequestException",
        400,
        f"Configuration failed validation: {reason}",
        Reason="InvalidConfiguration",
        Details={"InvalidConfiguration": [{"Type": kind, "Reason": reason, "Constraint": "validator"}]},
    )


# ------------------------------------------------------------------------------------ routes


def _json(status: int, body: Any) -> JsonResponse:
    return status, {"Content-Type": "application/json"}, json.dumps(body, default=str)


def _create_environment(ctx: _Ctx, app_id: str) -> JsonResponse:
    app = _application(ctx.account, ctx.region, app_id)
    body = ctx.body_json()
    env = Environment(
        id=_new_id(),
        application_id=app.id,
        name=str(body.get("Name", "")),
        description=str(body.get("Description", "")),
        monitors=list(body.get("Monitors") or []),
    )
    if not env.name:
        raise AppConfigError("BadRequestException", 400, "Name is required")
    ctx.store.environments[env.id] = env
    return _json(201, _environment_json(ctx, env))


def _environment_json(ctx: _Ctx, env: Environment) -> dict[str, Any]:
    deployments = _deployments(ctx.store, env, ctx.account, ctx.region)
    state = "ReadyForDeployment"
    if deployments:
        last = deployments[-1]
        state = {
            "DEPLOYING": "DEPLOYING",
            "BAKING": "DEPLOYING",
            "VALIDATING": "DEPLOYING",
            "ROLLING_BACK": "ROLLING_BACK",
            "ROLLED_BACK": "ROLLED_BACK",
        }.get(last.state, "ReadyForDeployment")
    return {
        "ApplicationId": env.application_id,
        "Id": env.id,
        "Name": env.name,
        "Description": env.description,
        "State": state,
        "Monitors": env.monitors,
    }


def _create_strategy(ctx: _Ctx) -> JsonResponse:
    body = ctx.body_json()
    try:
        strategy = Strategy(
            id=_new_id(),
            name=str(body["Name"]),
            duration_minutes=int(body["DeploymentDurationInMinutes"]),
            bake_minutes=int(body.get("FinalBakeTimeInMinutes", 0)),
            growth_factor=float(body["GrowthFactor"]),
            growth_type=str(body.get("GrowthType", "LINEAR")),
            replicate_to=str(body.get("ReplicateTo", "NONE")),
            description=str(body.get("Description", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AppConfigError("BadRequestException", 400, f"invalid deployment strategy: {exc}") from exc
    if not 0 <= strategy.duration_minutes <= 1440 or not 0 <= strategy.bake_minutes <= 1440:
        raise AppConfigError("BadRequestException", 400, "durations are 0..1440 minutes")
    if not 1.0 <= strategy.growth_factor <= 100.0:
        raise AppConfigError("BadRequestException", 400, "GrowthFactor is 1..100")
    ctx.store.strategies[strategy.id] = strategy
    return _json(201, strategy.to_json())


def _start_deployment(ctx: _Ctx, app_id: str, env_id: str) -> JsonResponse:
    app = _application(ctx.account, ctx.region, app_id)
    env = _environment(ctx.store, app.id, env_id)
    body = ctx.body_json()
    profile = _profile(app, str(body.get("ConfigurationProfileId", "")))
    strategy = _strategy(ctx.store, str(body.get("DeploymentStrategyId", "")))
    version = str(body.get("ConfigurationVersion", ""))
    try:
        hosted = profile.get_version(int(version))
    except (ValueError, Exception) as exc:
        raise AppConfigError(
            "ResourceNotFoundException", 404, f"Configuration version {version} not found"
        ) from exc
    deployments = _deployments(ctx.store, env, ctx.account, ctx.region)
    busy = [d for d in deployments if d.state in IN_PROGRESS]
    if busy:
        raise AppConfigError(
            "ConflictException",
            409,
            f"Deployment {busy[0].number} is in progress in environment {env.id}; stop it first",
        )
    content = hosted.content if isinstance(hosted.content, bytes) else str(hosted.content).encode("utf-8")
    _run_validators(profile, app.id, version, content)
    now = _now()
    deployment = Deployment(
        number=len(deployments) + 1,
        application_id=app.id,
        environment_id=env.id,
        profile_id=profile.id,
        version=version,
        version_label=hosted.version_label,
        strategy=strategy,
        started=now,
        description=str(body.get("Description", "")),
    )
    deployment.log("DEPLOYMENT_STARTED", "USER", "Deployment started", now)
    deployments.append(deployment)
    _progress(deployment, env, ctx.account, ctx.region)
    return _json(201, _deployment_json(deployment, app, profile.name, env.name))


def _find_deployment(ctx: _Ctx, app_id: str, env_id: str, number: str) -> tuple[Any, Environment, Deployment]:
    app = _application(ctx.account, ctx.region, app_id)
    env = _environment(ctx.store, app.id, env_id)
    for deployment in _deployments(ctx.store, env, ctx.account, ctx.region):
        if str(deployment.number) == number:
            return app, env, deployment
    raise AppConfigError("ResourceNotFoundException", 404, f"Deployment {number} not found")


def _profile_name(app: Any, profile_id: str) -> str:
    profile = app.config_profiles.get(profile_id)
    return str(profile.name) if profile is not None else profile_id


def _get_deployment(ctx: _Ctx, app_id: str, env_id: str, number: str) -> JsonResponse:
    app, env, deployment = _find_deployment(ctx, app_id, env_id, number)
    return _json(200, _deployment_json(deployment, app, _profile_name(app, deployment.profile_id), env.name))


def _stop_deployment(ctx: _Ctx, app_id: str, env_id: str, number: str) -> JsonResponse:
    app, env, deployment = _find_deployment(ctx, app_id, env_id, number)
    if deployment.state not in IN_PROGRESS:
        raise AppConfigError(
            "BadRequestException", 400, f"Deployment {number} is {deployment.state}: nothing to stop"
        )
    now = _now()
    deployment.state = "ROLLED_BACK"
    deployment.ended = now
    deployment.log("ROLLBACK_STARTED", "USER", "Deployment stopped by the user", now)
    deployment.log("ROLLBACK_COMPLETED", "APPCONFIG", "Rollback completed", now)
    return _json(202, _deployment_json(deployment, app, _profile_name(app, deployment.profile_id), env.name))


def _list_deployments(ctx: _Ctx, app_id: str, env_id: str) -> JsonResponse:
    app = _application(ctx.account, ctx.region, app_id)
    env = _environment(ctx.store, app.id, env_id)
    items = []
    for deployment in reversed(_deployments(ctx.store, env, ctx.account, ctx.region)):
        full = _deployment_json(deployment, app, _profile_name(app, deployment.profile_id), env.name)
        items.append(
            {
                k: full[k]
                for k in (
                    "DeploymentNumber",
                    "ConfigurationName",
                    "ConfigurationVersion",
                    "DeploymentDurationInMinutes",
                    "GrowthType",
                    "GrowthFactor",
                    "FinalBakeTimeInMinutes",
                    "State",
                    "PercentageComplete",
                    "StartedAt",
                    "CompletedAt",
                    "VersionLabel",
                )
                if k in full
            }
        )
    return _json(200, {"Items": items})


def _create_hosted_version(ctx: _Ctx, app_id: str, profile_id: str) -> JsonResponse | None:
    """Run the profile's validators first (as AppConfig does for hosted versions); moto stores it."""
    app = _application(ctx.account, ctx.region, app_id)
    profile = _profile(app, profile_id)
    content = ctx.body if isinstance(ctx.body, bytes) else (ctx.body or "").encode("utf-8")
    if len(content) > MAX_HOSTED_BYTES:
        raise AppConfigError(
            "PayloadTooLargeException",
            413,
            "Hosted configuration content exceeds the size limit",
            Limit=float(MAX_HOSTED_BYTES),
            Size=float(len(content)),
            Measure="BYTES",
        )
    next_version = str(max(profile.config_versions, default=0) + 1)
    _run_validators(profile, app.id, next_version, content)
    return None  # moto creates the version


# ------------------------------------------------------------------------------------ AppConfig Data


def _start_session(ctx: _Ctx) -> JsonResponse:
    body = ctx.body_json()
    app = _application(ctx.account, ctx.region, str(body.get("ApplicationIdentifier", "")))
    env = _environment(ctx.store, app.id, str(body.get("EnvironmentIdentifier", "")))
    profile = _profile(app, str(body.get("ConfigurationProfileIdentifier", "")))
    interval = body.get("RequiredMinimumPollIntervalInSeconds")
    if interval is not None and not 15 <= int(interval) <= 86400:
        raise AppConfigError(
            "BadRequestException", 400, "RequiredMinimumPollIntervalInSeconds must be 15..86400"
        )
    session = Session(uuid.uuid4().hex, ctx.account, ctx.region, app.id, env.id, profile.id)
    _SESSIONS[session.id] = session
    return _json(201, {"InitialConfigurationToken": _issue_token(session)})


def _issue_token(session: Session) -> str:
    token = base64.urlsafe_b64encode(f"{session.id}:{next(_IDS)}".encode()).decode("ascii")
    _TOKENS[token] = session.id
    return token


def session_of_token(token: str) -> Session | None:
    """The AppConfig Data session a configuration token belongs to (IAM resolves its ARN with it)."""
    try:
        session_id = base64.urlsafe_b64decode(token.encode("ascii")).decode().split(":", 1)[0]
    except (ValueError, UnicodeDecodeError):
        return None
    return _SESSIONS.get(session_id)


def _get_latest(ctx: _Ctx) -> JsonResponse:
    token = (parse_qs(urlparse(ctx.url).query).get("configuration_token") or [""])[0]
    session_id = _TOKENS.pop(token, None)
    if session_id is None or session_id not in _SESSIONS:
        raise AppConfigError("BadRequestException", 400, "Invalid or already used configuration token")
    session = _SESSIONS[session_id]
    app = _application(session.account, session.region, session.application_id)
    env = _environment(ctx.store, app.id, session.environment_id)
    deployment = _served_version(ctx.store, env, session.profile_id, session.id, ctx.account, ctx.region)
    headers = {
        "Next-Poll-Configuration-Token": _issue_token(session),
        "Next-Poll-Interval-In-Seconds": "15",
        "Content-Type": "application/json",
    }
    content: bytes = b""
    if deployment is not None and session.served != (deployment.profile_id, deployment.version):
        hosted = _profile(app, session.profile_id).get_version(int(deployment.version))
        raw = hosted.content
        content = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        session.served = (deployment.profile_id, deployment.version)
        if deployment.version_label:
            headers["Version-Label"] = deployment.version_label
        if hosted.content_type:
            headers["Content-Type"] = str(hosted.content_type)
    return 200, headers, content


# ------------------------------------------------------------------------------------ routing


@dataclass
class _Ctx:
    method: str
    url: str
    path: str
    body: bytes | str | None
    account: str
    region: str

    @property
    def store(self) -> _Store:
        return _store(self.account, self.region)

    def body_json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        raw = self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body
        loaded = json.loads(raw)
        return loaded if isinstance(loaded, dict) else {}


_P = r"([^/]+)"
_ROUTES: list[tuple[str, str, re.Pattern[str], Callable[..., JsonResponse | None]]] = [
    ("appconfig", "POST", re.compile(rf"^/applications/{_P}/environments$"), _create_environment),
    ("appconfig", "POST", re.compile(r"^/deploymentstrategies/?$"), _create_strategy),
    (
        "appconfig",
        "POST",
        re.compile(rf"^/applications/{_P}/environments/{_P}/deployments$"),
        _start_deployment,
    ),
    (
        "appconfig",
        "GET",
        re.compile(rf"^/applications/{_P}/environments/{_P}/deployments$"),
        _list_deployments,
    ),
    (
        "appconfig",
        "GET",
        re.compile(rf"^/applications/{_P}/environments/{_P}/deployments/{_P}$"),
        _get_deployment,
    ),
    (
        "appconfig",
        "DELETE",
        re.compile(rf"^/applications/{_P}/environments/{_P}/deployments/{_P}$"),
        _stop_deployment,
    ),
    (
        "appconfig",
        "POST",
        re.compile(rf"^/applications/{_P}/configurationprofiles/{_P}/hostedconfigurationversions$"),
        _create_hosted_version,
    ),
    ("appconfigdata", "POST", re.compile(r"^/configurationsessions$"), _start_session),
    ("appconfigdata", "GET", re.compile(r"^/configuration$"), _get_latest),
]


def _get_environment(ctx: _Ctx, app_id: str, env_id: str) -> JsonResponse:
    app = _application(ctx.account, ctx.region, app_id)
    return _json(200, _environment_json(ctx, _environment(ctx.store, app.id, env_id)))


def _list_environments(ctx: _Ctx, app_id: str) -> JsonResponse:
    app = _application(ctx.account, ctx.region, app_id)
    items = [_environment_json(ctx, e) for e in ctx.store.environments.values() if e.application_id == app.id]
    return _json(200, {"Items": items})


def _get_strategy(ctx: _Ctx, strategy_id: str) -> JsonResponse:
    return _json(200, _strategy(ctx.store, unquote(strategy_id)).to_json())


def _list_strategies(ctx: _Ctx) -> JsonResponse:
    items = [_strategy(ctx.store, name).to_json() for name in PREDEFINED_STRATEGIES]
    items += [s.to_json() for s in ctx.store.strategies.values()]
    return _json(200, {"Items": items})


_ROUTES += [
    ("appconfig", "GET", re.compile(rf"^/applications/{_P}/environments/{_P}$"), _get_environment),
    ("appconfig", "GET", re.compile(rf"^/applications/{_P}/environments$"), _list_environments),
    ("appconfig", "GET", re.compile(rf"^/deploymentstrategies/{_P}$"), _get_strategy),
    ("appconfig", "GET", re.compile(r"^/deploymentstrategies/?$"), _list_strategies),
]

_HOST = re.compile(r"^(appconfig|appconfigdata)\.([a-z0-9-]+)\.amazonaws\.com")


def _account_of(request: Any) -> str:
    """The caller's account, as moto's responses find it (env, header, else the access key)."""
    import os

    from moto.iam.models import get_account_id_from

    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    headers = request.headers
    if headers.get("x-moto-account-id"):
        return str(headers["x-moto-account-id"])
    auth = headers.get("Authorization", b"") or b""
    auth = auth.decode() if isinstance(auth, bytes) else str(auth)
    match = re.search(r"Credential=([^/]+)/", auth)
    return str(get_account_id_from(match.group(1) if match else ""))


def fill_appconfig_routes(self: Any, request: Any) -> Any:
    """AppConfig environments, deployment strategies, deployments (validators, growth and bake on
    the virtual clock, alarm rollback, StopDeployment) and AppConfig Data sessions.

    AWS: an environment receives deployments of a profile's versions with a deployment strategy
    (growth over DeploymentDurationInMinutes, then FinalBakeTimeInMinutes); the profile's validators
    run on CreateHostedConfigurationVersion and StartDeployment (a refusal is BadRequestException,
    Reason InvalidConfiguration); one deployment at a time per environment (ConflictException); an
    environment monitor's alarm in ALARM while a deployment grows or bakes rolls it back
    (ROLLED_BACK, the previous version stays); StopDeployment rolls back too. AppConfig Data serves
    the deployed version through sessions whose tokens answer once; an unchanged version is an
    empty body; a hosted version above 2 MB is PayloadTooLargeException. moto 5.2.5: none of these routes (404 "Not yet implemented"), validators never run.
    Fill: answer them here before moto's router; everything else goes to moto.
    """
    url = str(request.url)
    parsed = urlparse(url)
    host = _HOST.match(parsed.netloc)
    if host is not None:
        service, region = host.group(1), host.group(2)
        method = str(request.method).upper()
        for route_service, route_method, pattern, handler in _ROUTES:
            match = pattern.match(parsed.path)
            if route_service != service or route_method != method or match is None:
                continue
            ctx = _Ctx(method, url, parsed.path, request.body, _account_of(request), region)
            try:
                with _LOCK:
                    answered = handler(ctx, *(unquote(g) for g in match.groups()))
            except AppConfigError as exc:
                body = {"Message": exc.message, "message": exc.message, **exc.members}
                return (
                    exc.status,
                    {"x-amzn-ErrorType": exc.code, "Content-Type": "application/json"},
                    json.dumps(body),
                )
            if answered is not None:
                return answered
            break
    from moto.core.botocore_stubber import BotocoreStubber

    return _call_original(BotocoreStubber, "process_request", self, request)


def _appconfig_patches() -> list[tuple[Any, str, Any]]:
    from moto.core.botocore_stubber import BotocoreStubber

    return [(BotocoreStubber, "process_request", fill_appconfig_routes)]


# ------------------------------------------------------------------------------------ CloudFormation


class _CfnAppConfig:
    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return False

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        return None


def _filled(physical_id: str, attributes: dict[str, str] | None = None) -> Any:
    from mlcp_cli.emulator.gaps.cloudformation import _FilledResource

    return _FilledResource(physical_id, attributes or {})


class CfnAppConfigApplication(_CfnAppConfig):
    """``AWS::AppConfig::Application`` (moto's create_application); Ref is its id."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return attr == "ApplicationId"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        app = _backend(account_id, region_name).create_application(
            name=p.get("Name", resource_name), description=p.get("Description"), tags={}
        )
        return _filled(app.id, {"ApplicationId": app.id})


class CfnAppConfigConfigurationProfile(_CfnAppConfig):
    """``AWS::AppConfig::ConfigurationProfile`` (moto's create_configuration_profile, validators kept)."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return attr == "ConfigurationProfileId"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        profile = _backend(account_id, region_name).create_configuration_profile(
            application_id=p["ApplicationId"],
            name=p.get("Name", resource_name),
            description=p.get("Description", ""),
            location_uri=p.get("LocationUri", "hosted"),
            retrieval_role_arn=p.get("RetrievalRoleArn", ""),
            validators=list(p.get("Validators") or []),
            _type=p.get("Type", "AWS.Freeform"),
            tags={},
        )
        return _filled(profile.id, {"ConfigurationProfileId": profile.id})


class CfnAppConfigEnvironment(_CfnAppConfig):
    """``AWS::AppConfig::Environment`` (this fill's environments, monitors kept)."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return attr == "EnvironmentId"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        app = _application(account_id, region_name, p["ApplicationId"])
        env = Environment(
            id=_new_id(),
            application_id=app.id,
            name=p.get("Name", resource_name),
            description=p.get("Description", ""),
            monitors=[dict(m) for m in p.get("Monitors") or []],
        )
        _store(account_id, region_name).environments[env.id] = env
        return _filled(env.id, {"EnvironmentId": env.id})


class CfnAppConfigDeploymentStrategy(_CfnAppConfig):
    """``AWS::AppConfig::DeploymentStrategy`` (this fill's strategies)."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return attr == "Id"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        p = cloudformation_json["Properties"]
        strategy = Strategy(
            id=_new_id(),
            name=p.get("Name", resource_name),
            duration_minutes=int(p["DeploymentDurationInMinutes"]),
            bake_minutes=int(p.get("FinalBakeTimeInMinutes", 0)),
            growth_factor=float(p["GrowthFactor"]),
            growth_type=p.get("GrowthType", "LINEAR"),
            replicate_to=p.get("ReplicateTo", "NONE"),
            description=p.get("Description", ""),
        )
        _store(account_id, region_name).strategies[strategy.id] = strategy
        return _filled(strategy.id, {"Id": strategy.id})


APPCONFIG_CFN_TYPES: dict[str, Any] = {
    "AWS::AppConfig::Application": CfnAppConfigApplication,
    "AWS::AppConfig::ConfigurationProfile": CfnAppConfigConfigurationProfile,
    "AWS::AppConfig::Environment": CfnAppConfigEnvironment,
    "AWS::AppConfig::DeploymentStrategy": CfnAppConfigDeploymentStrategy,
}
