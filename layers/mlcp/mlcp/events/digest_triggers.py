"""What starts an audit digest: the hourly schedule tick, or the end of a deployment execution.

Step Functions sends ``Step Functions Execution Status Change`` to the default bus when a standard
workflow's execution ends; the rule (template ``DeploymentDecidedRule``) keeps the ends of this
stack's deployment state machine. The digest re-reads every head itself: nothing in the event is
trusted but its shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ExecutionStatusDetail(BaseModel):
    """The part of the event's detail the digest logs."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    execution_arn: str = Field(alias="executionArn", min_length=1)
    state_machine_arn: str = Field(alias="stateMachineArn", min_length=1)
    status: Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class ExecutionStatusChange(BaseModel):
    """Step Functions' ``Step Functions Execution Status Change`` for an execution that ended."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    id: str = Field(min_length=1)
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusDetail
