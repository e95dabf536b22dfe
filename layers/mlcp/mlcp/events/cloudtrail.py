"""``aws.states`` ``AWS API Call via CloudTrail`` for StartExecution: who started an execution.

CloudTrail puts every management API call on the default bus (a trail with logging on must exist in
the account and region). ``userIdentity`` is AWS's record of the signer; Step Functions hides the
execution's input in ``requestParameters`` (read it with DescribeExecution).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlcp.events._base import AwsDetail, AwsEvent, AwsPart

API_CALL = "AWS API Call via CloudTrail"


class UserIdentity(AwsPart):
    type: str = Field(description="IAMUser, AssumedRole, Root, FederatedUser, AWSService, ...")
    arn: str | None = Field(default=None, description="The signer: a user ARN or an STS session ARN.")
    principal_id: str | None = Field(default=None, alias="principalId")
    account_id: str | None = Field(default=None, alias="accountId")


class StartExecutionRequest(AwsPart):
    state_machine_arn: str = Field(alias="stateMachineArn", min_length=20)


class StartExecutionResponse(AwsPart):
    execution_arn: str = Field(alias="executionArn", min_length=20)


class StartExecutionCallDetail(AwsDetail):
    event_source: Literal["states.amazonaws.com"] = Field(alias="eventSource")
    event_name: Literal["StartExecution"] = Field(alias="eventName")
    event_id: str = Field(alias="eventID", min_length=1)
    user_identity: UserIdentity = Field(alias="userIdentity")
    request_parameters: StartExecutionRequest = Field(alias="requestParameters")
    response_elements: StartExecutionResponse | None = Field(default=None, alias="responseElements")
    error_code: str | None = Field(default=None, alias="errorCode")


class StartExecutionCallEvent(AwsEvent):
    """Someone called StartExecution (console "Start execution", CLI or SDK)."""

    source: Literal["aws.states"]
    detail_type: Literal["AWS API Call via CloudTrail"] = Field(alias="detail-type")
    detail: StartExecutionCallDetail
