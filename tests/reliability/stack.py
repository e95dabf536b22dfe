"""The real template deployed on the local control plane, with every AWS call recorded."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from e2e.conftest import POLICY, ROOT, TEMPLATE
from mlcp.adapters.audit_trail import AuditTrail
from mlcp_cli.emulator.gaps import Delivery, InvocationResult, run_function
from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.seeding import PackageSpec, register_package

from .aws_calls import CallLog, recording_aws_calls

EVENTS = ROOT / "events"


def examples(count: int) -> settings:
    """Hypothesis settings of a property: ``count`` examples, reproducible, no deadline (the stack is slow)."""
    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


def run_in_threads(work: Callable[..., None], args: list[tuple[Any, ...]]) -> None:
    """``work(*a)`` for each ``a`` of ``args``, each in its own thread, all at once; re-raises failures."""
    errors: list[BaseException] = []

    def guarded(*arguments: Any) -> None:
        try:
            work(*arguments)
        except BaseException as exc:  # surfaced below: a thread must not fail silently
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=a) for a in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def sample(relative: str) -> dict[str, Any]:
    """One event of the contract corpus (``events/<relative>``)."""
    loaded: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return loaded


def samples() -> dict[str, dict[str, Any]]:
    """Every accepted sample of the contract corpus, by path under ``events/``."""
    return {
        str(path.relative_to(EVENTS)): json.loads(path.read_text())
        for path in sorted(EVENTS.glob("*/*.json"))
        if path.parent.name not in {"negative", "schemas"}
    }


@dataclass
class RecordedStack:
    cp: LocalControlPlane
    calls: CallLog

    @property
    def audit(self) -> AuditTrail:
        return AuditTrail(self.cp.stack.physical_id("AuditTable"), client=self.cp.client("dynamodb"))

    def invoke(self, logical_id: str, payload: Any) -> InvocationResult:
        """Run a function's real handler in-process now (as a synchronous Lambda invoke would)."""
        spec = self.cp.registry.get(self.cp.stack.function_names[logical_id])
        assert spec is not None, logical_id
        return run_function(self.cp.registry, spec, payload)

    def take_deliveries(self) -> list[Delivery]:
        """The EventBridge deliveries queued so far, taken off the queue (to make when, and as
        often as, a test likes: ``cp.deliveries.enqueue``)."""
        taken = []
        while (item := self.cp.deliveries.take()) is not None:
            assert isinstance(item, Delivery), item
            taken.append(item)
        return taken

    def settle(self, limit: float = 30 * 86_400.0) -> None:
        """Run the virtual clock, timer by timer, until nothing is queued, deploying or running,
        except executions parked on a task token (waiting for a human): ``pump()`` alone returns
        while executions sit in Wait states or retry intervals."""

        def settled() -> bool:
            return not self.cp.endpoint_deployments(in_flight_only=True) and all(
                self.cp.waits_for_task_token(arn, wait_states=False) for arn in self.running_executions()
            )

        if not self.cp.run_until(settled, limit=limit):
            raise AssertionError(f"the control plane did not settle: {self.running_executions()}")

    def running_executions(self) -> list[str]:
        """ARNs of the stack's executions still running (one ListExecutions per state machine)."""
        sfn = self.cp.client("stepfunctions")
        return [
            execution["executionArn"]
            for arn in self.cp.stack.state_machine_arns.values()
            for page in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=arn, statusFilter="RUNNING"
            )
            for execution in page["executions"]
        ]

    def states_entered(self, execution_arn: str) -> set[str]:
        """Names of the states an execution entered."""
        history = self.cp.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000
        )["events"]
        return {e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e}

    def register(self, group: str, **spec: Any) -> str:
        """A package registered by an ML engineer the way the reference pipeline does; its ARN."""
        return register_package(
            self.cp.client("s3", principal="ml-engineer"),
            self.cp.client("sagemaker", principal="ml-engineer"),
            PackageSpec(group=group, **spec),
        )

    def set_status(self, arn: str, status: str, principal: str = "reviewer") -> None:
        """A reviewer sets the package's approval status in the Model Registry."""
        self.cp.client("sagemaker", principal=principal).update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status
        )


@contextlib.contextmanager
def recorded_stack(template: Path = TEMPLATE, policy: Path = POLICY) -> Iterator[RecordedStack]:
    """The stack with a policy (the scenarios' by default) published through AppConfig, as ``mlcp policy
    publish`` does; AWS calls recorded from before it exists."""
    from mlcp_cli.commands.policy import DeliveryTarget, publish_to_appconfig

    with recording_aws_calls() as calls, LocalControlPlane(template) as cp:
        publish_to_appconfig(cp.client("appconfig"), DeliveryTarget.from_outputs(cp.stack.outputs), policy)
        yield RecordedStack(cp, calls)
