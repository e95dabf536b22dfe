"""Plays a scenario step by step on a running LocalControlPlane, printing the timeline.

Each step is followed by a pump: EventBridge deliveries, Lambda invocations and Step Functions
executions run until the control plane is idle, and the timeline shows what happened. ``expect``
steps make a scenario a test: a failed expectation fails the run. Expectations are checked once,
after the previous step's pump: the pump returns only when nothing can run without simulated time
passing, so what does not hold then will not without a ``wait``. A step with
``expect_failure:`` must raise that error (else the run fails); its error is not the run's.

``as: <principal>`` makes the step's API calls sign as that principal: an IAM user name
(created once, with an access key), an IAM user ARN or an IAM role ARN (assumed); see
:meth:`LocalControlPlane.session_for`. The timeline names it (``as arn:aws:iam::...:user/reviewer``).
Without ``as`` calls sign as moto's default identity.

The format (every step kind, every expectation) is in ``docs/scenarios.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mlcp.audit import AuditTrail
from mlcp_cli.emulator.calls import CallRecorder
from mlcp_cli.emulator.gaps.state import HANG_TIMEOUT
from mlcp_cli.emulator.runtime import LocalControlPlane, PumpReport
from mlcp_cli.scenario.format import ExpectFailure, Scenario, ScenarioError, Step
from mlcp_cli.tables import wrap

if TYPE_CHECKING:
    from mlcp_cli.scenario.expect import Expect


@dataclass
class ScenarioResult:
    """Outcome of a run: failed expectations (empty when all held) and what ran."""

    failures: list[str] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def error_names(exc: BaseException) -> list[str]:
    """What an ``expect_failure: {error: ...}`` may name: the exception's class names (and its
    bases'), the AWS error code of a botocore ClientError, a ``code`` attribute."""
    names = [cls.__name__ for cls in type(exc).__mro__ if cls not in (BaseException, Exception, object)]
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            names.append(str(code))
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        names.append(code)
    return names


class ScenarioRunner:
    """Plays a scenario step by step on a running LocalControlPlane, printing the timeline."""

    def __init__(
        self,
        cp: LocalControlPlane,
        *,
        root: Path,
        timeline: TextIO | None,
        progress: TextIO | None = None,
        show_logs: bool = False,
        pump_timeout: float = HANG_TIMEOUT,
    ) -> None:
        self.cp = cp
        self.root = root
        self.timeline = timeline
        self.progress = progress
        self.pump_timeout = pump_timeout
        self.show_logs = show_logs
        self._logs_shown = 0
        self._iam_shown = 0
        self.started = cp.now()
        """The simulated time the run started: the timeline shows simulated time since."""
        self.result = ScenarioResult()
        self.calls = CallRecorder()
        """Every AWS call while a scenario runs, by caller and step (``expect: {calls: ...}``)."""
        self._logical_ids: dict[str, str] | None = None
        self.principal: str | None = None
        """The current step's ``as:`` principal (None: the default identity)."""
        self._principal_arns: dict[str, str] = {}
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._step_events: dict[int, list[str]] = {}
        self._step = 0

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.cp.stack.physical_id("AuditTable"), client=self.default_client("dynamodb"))

    def client(self, service: str) -> Any:
        """A client signing as the current step's principal (``as:``), else the default identity;
        one per (service, principal) for the run: creating a client costs more than most steps."""
        key = (service, self.principal)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.cp.client(service, principal=self.principal)
        return client

    def default_client(self, service: str) -> Any:
        """A client of the default identity, whatever the current step's principal."""
        principal, self.principal = self.principal, None
        try:
            return self.client(service)
        finally:
            self.principal = principal

    def principal_arn(self, principal: str) -> str:
        """The caller ARN a principal signs as (what SageMaker and STS report for its calls)."""
        if principal.startswith("arn:aws:sts:"):
            return principal
        if principal not in self._principal_arns:
            sts = self.cp.client("sts", principal=principal)
            self._principal_arns[principal] = str(sts.get_caller_identity()["Arn"])
        return self._principal_arns[principal]

    def stack_policy(self, output: str) -> dict[str, Any]:
        """The document of the stack's managed policy named by ``output`` (``OperatorPolicyArn``)."""
        from urllib.parse import unquote

        arn = self.cp.stack.outputs.get(output)
        if not arn:
            raise ScenarioError(f"principals: the stack has no output {output!r}")
        iam = self.default_client("iam")
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        parsed: dict[str, Any] = json.loads(unquote(document)) if isinstance(document, str) else document
        return parsed

    # ---------------------------------------------------------------- running

    def run(self, scenario: Scenario) -> ScenarioResult:
        total = len(scenario.steps)
        self._say(f"scenario {scenario.name}: {scenario.description.strip()}".rstrip(": "))
        for principal, given in scenario.principals.items():
            if self.cp.iam is not None:
                document = given.policy or self.stack_policy(str(given.stack_policy))
                self.cp.iam.attach_principal_policy(self.principal_arn(principal), document, principal)
        self.calls = CallRecorder()
        self._step_events = {}
        with self.calls:
            for number, step in enumerate(scenario.steps, start=1):
                self._step = self.calls.step = number
                label = step.title or step.action.replace("_", " ")
                if self.progress is not None:
                    self.progress.write(f"[{number}/{total}] {label}\n")
                    self.progress.flush()
                caller = ""
                marked = self.cp.delivery_mark()
                try:
                    caller = f"as {self.principal_arn(step.as_)}" if step.as_ else ""
                    self.principal = step.as_
                    summary = self._play(step)
                except ScenarioError as exc:
                    raise ScenarioError(f"{step.label(number)}: {exc}") from exc
                except Exception as exc:
                    raise ScenarioError(f"{step.label(number)}: {type(exc).__name__}: {exc}") from exc
                finally:
                    self.principal = None
                    if step.args.puts_events:
                        for event_id in self.cp.delivered_event_ids(marked):
                            self.note_event(event_id)
                self._say(f"\n{self._clock()} step {number}: {label}")
                if caller:  # its own line: a title and an ARN together wrap mid-sentence at 120 columns
                    self._say(f"           {caller}")
                if summary:
                    self._say(f"           {summary}")
                self._show(self.cp.pump(timeout=self.pump_timeout))
        return self.result

    def _play(self, step: Step) -> str:
        """Run the step; with ``expect_failure``, its error is the expected outcome."""
        if step.expect_failure is None:
            return step.args.run(self)
        wanted: ExpectFailure = step.expect_failure
        try:
            step.args.run(self)
        except Exception as exc:
            names = error_names(exc)
            if wanted.error in names and (
                wanted.message is None or wanted.message.lower() in str(exc).lower()
            ):
                return f"failed as expected: {type(exc).__name__}: {exc}"
            failure = f"step {self._step}: expected {wanted.error}" + (
                f" mentioning {wanted.message!r}" if wanted.message else ""
            )
            self.result.failures.append(f"{failure}, got {type(exc).__name__}: {exc}")
            return f"EXPECTATION FAILED: {failure}, got {type(exc).__name__}: {exc}"
        failure = f"step {self._step}: expected {wanted.error}, but the step succeeded"
        self.result.failures.append(failure)
        return f"EXPECTATION FAILED: {failure}"

    def _clock(self) -> str:
        elapsed = int((self.cp.now() - self.started).total_seconds())
        hours, rest = divmod(elapsed, 3600)
        return f"[+{hours:3d}:{rest // 60:02d}:{rest % 60:02d}]"

    def _say(self, line: str) -> None:
        """A timeline line, wrapped to ``tables.WIDTH`` columns under its own indentation."""
        if self.timeline is not None:
            self.timeline.write(wrap(line) + "\n")

    def logical(self, physical: str) -> str:
        """The template's logical id for a physical name or ARN (what a reader knows)."""
        if self._logical_ids is None:
            self._logical_ids = {}
            for logical, physical_id in self.cp.stack.physical_ids.items():
                self._logical_ids[physical_id] = logical
                self._logical_ids[physical_id.rsplit(":", 1)[-1].rsplit("/", 1)[-1]] = logical
        name = physical.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        return self._logical_ids.get(physical) or self._logical_ids.get(name) or name

    def _show_iam_denials(self) -> None:
        """Each call IAM denied since the last step, in the timeline and as a failure (the shipped
        template makes none: a denial is a permission AWS would refuse)."""
        iam = self.cp.iam
        if iam is None:
            return
        denials = iam.denials()
        for denial in denials[self._iam_shown :]:
            line = (
                f"IAM AccessDenied: {self.logical(denial.caller)} {denial.action} on {denial.resource}"
                + (f" ({denial.implicit})" if denial.implicit else "")
                + (
                    f" [unknown condition keys: {', '.join(denial.unknown_keys)}]"
                    if denial.unknown_keys
                    else ""
                )
            )
            self._say(f"           !! {line}")
            self.result.failures.append(line)
        self._iam_shown = len(denials)

    def _show(self, report: PumpReport) -> None:
        if self.show_logs:
            for entry in self.cp.registry.logs[self._logs_shown :]:
                self._say(f"           | {self.logical(entry.function)}: {entry.line}")
        self._logs_shown = len(self.cp.registry.logs)
        self._show_iam_denials()
        self.result.deliveries += len(report.deliveries)
        for delivery in report.deliveries:
            detail = (
                f" ({delivery.detail})" if delivery.detail and not delivery.detail.startswith("arn:") else ""
            )
            self._say(
                f"           -> {self.logical(delivery.rule)} => {self.logical(delivery.target)}: "
                f"{delivery.outcome}{detail}"
            )
        for execution in report.executions:
            self.result.executions.append(execution)
            events = self.cp.history_events(execution["executionArn"])
            path = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
            machine = self.logical(execution["stateMachineArn"])
            self._say(f"           -> {machine} {execution['status']}: {' > '.join(path)}")
            why = execution_reason(events, path[-1] if path else None)
            if why:
                self._say(f"              why: {why}")

    # ---------------------------------------------------------------- what steps use

    def wait(self, seconds: float) -> str:
        """Let simulated time pass: every timer falling due on the way runs (Wait states, task
        timeouts, retries, endpoint deployment stages), in order; costs milliseconds."""
        self.cp.advance_time(seconds, timeout=self.pump_timeout)
        return f"{seconds:.0f} simulated seconds pass"

    def check(self, expect: Expect) -> str:
        """Check the expectations (once: the step's pump left nothing runnable); a failure is the
        run's."""
        failed = expect.check(self)
        if failed:
            self.result.failures.extend(failed)
            return "EXPECTATION FAILED: " + "; ".join(failed)
        return "expectations held"

    def package_arn(self, group: str | None, version: int | None, arn: str | None = None) -> str:
        """The ARN of a model package named by group and version (or given)."""
        if arn is not None:
            return arn
        sm = self.client("sagemaker")
        packages = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
        for package in packages:
            if int(package.get("ModelPackageVersion", 0)) == version:
                return str(package["ModelPackageArn"])
        raise ScenarioError(f"no version {version} in model package group {group}")

    def template_parameter(self, name: str) -> str:
        """A template parameter's value: the scenario's override, else its default."""
        if name in self.cp.parameters:
            return self.cp.parameters[name]
        return str(self.cp.stack.template["Parameters"][name]["Default"])

    def note_event(self, event_id: str | None) -> None:
        """Remember that the current step put the event ``event_id`` (for ``redeliver``)."""
        if event_id and event_id not in self._step_events.setdefault(self._step, []):
            self._step_events[self._step].append(event_id)

    def redeliver(self, step: int | None, times: int) -> list[str]:
        """Deliver again, ``times`` times, the events step ``step`` put (default: the last step that
        put any); returns their ids. A step that put none, or a later step, is an error."""
        if step is not None:
            if step >= self._step:
                raise ScenarioError(f"redeliver: step {step} is not an earlier step")
            ids = self._step_events.get(step, [])
            if not ids:
                raise ScenarioError(f"redeliver: step {step} put no event on the bus")
        else:
            earlier = [
                number
                for number in sorted(self._step_events)
                if number < self._step and self._step_events[number]
            ]
            if not earlier:
                raise ScenarioError("redeliver: no earlier step put an event on the bus")
            ids = self._step_events[earlier[-1]]
        for _ in range(times):
            for event_id in ids:
                self.cp.redeliver(event_id)
        return list(ids)


NEGATIVE_ENDS = frozenset({"Rejected", "RolledBack", "EventRejected", "NotApproved", "DeploymentFailed"})
"""Terminal states of the shipped state machines that say no: the timeline shows why."""


def execution_reason(events: list[dict[str, Any]], last_state: str | None) -> str:
    """Why an execution ended in a refusal or failed: the reasons its final output carries (a
    verdict's ``reasons``, a denial's or an error's ``Cause``, a rollback's ``reason``) or the
    failure's error and cause; '' for an execution that ended well."""
    for event in reversed(events):
        failed = event.get("executionFailedEventDetails")
        if failed is not None:
            cause = _readable(failed.get("cause") or "")
            return ": ".join(part for part in (failed.get("error"), cause) if part)
        succeeded = event.get("executionSucceededEventDetails")
        if succeeded is not None:
            if last_state not in NEGATIVE_ENDS:
                return ""
            try:
                output = json.loads(succeeded.get("output") or "null")
            except ValueError:
                return ""
            return "; ".join(_readable(reason) for reason in _reasons_in(output))
    return ""


def _readable(reason: str) -> str:
    """A Lambda error caught into the state (``{"errorType", "errorMessage", "stackTrace"}`` as text) as
    ``Type: message``; any other reason as it is."""
    if reason.startswith("{"):
        try:
            error = json.loads(reason)
        except ValueError:
            return reason
        if isinstance(error, dict) and "errorMessage" in error:
            return f"{error.get('errorType', 'Error')}: {error['errorMessage']}"
    return reason


_REASON_KEYS = ("reasons", "reason", "failure_reason", "Cause", "cause", "why")


def _reasons_in(node: Any, depth: int = 0) -> list[str]:
    """Reason texts anywhere in a state's output (breadth of keys first, then nested objects)."""
    found: list[str] = []
    if not isinstance(node, dict) or depth > 4:
        return found
    for key in _REASON_KEYS:
        value = node.get(key)
        texts = value if isinstance(value, list) else [value]
        found.extend(text for text in texts if isinstance(text, str) and text and text not in found)
    for value in node.values():
        if isinstance(value, dict):
            found.extend(text for text in _reasons_in(value, depth + 1) if text not in found)
    return found
