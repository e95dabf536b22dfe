"""Gap fill t: CloudTrail delivers Step Functions' StartExecution calls to EventBridge.

AWS: CloudTrail records every management API call and puts it on the default bus as
``AWS API Call via CloudTrail`` (source ``aws.states`` for Step Functions), with ``userIdentity`` naming
the signer (an IAM user, or an assumed role's session) and the request and response; Step Functions
hides the execution's input (``requestParameters.input`` is ``HIDDEN_DUE_TO_SECURITY_REASONS``). Only
AWS can put an ``aws.*`` event, so the identity in it cannot be forged by a caller.
moto: records nothing and puts no event.
Fill: after a successful StartExecution request, put that event with the request's signer, as
CloudTrail does. Known difference (the fidelity table, docs/local-mode.md): AWS delivers these
events only while a trail with logging on exists in the account and region, and a few minutes late
at worst; the emulator delivers them at once, trail or not, and only for successful calls.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from mlcp_cli.emulator.gaps.identity import caller_identity
from mlcp_cli.emulator.gaps.state import _call_original

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def user_identity(arn: str, principal_id: str, account_id: str, access_key_id: str) -> dict[str, Any]:
    """CloudTrail's ``userIdentity`` for the signer of a request."""
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return {
            "type": "AssumedRole",
            "principalId": principal_id,
            "arn": arn,
            "accountId": account_id,
            "accessKeyId": access_key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{account_id}:role/{role}",
                    "accountId": account_id,
                    "userName": role,
                },
            },
        }
    if arn.endswith(":root"):
        return {"type": "Root", "principalId": account_id, "arn": arn, "accountId": account_id}
    return {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": arn,
        "accountId": account_id,
        "accessKeyId": access_key_id,
        "userName": arn.rsplit("/", 1)[-1],
    }


def start_execution_record(
    *,
    identity: dict[str, Any],
    region: str,
    account_id: str,
    state_machine_arn: str,
    name: str | None,
    execution_arn: str,
    start_date: Any,
) -> dict[str, Any]:
    """The CloudTrail record (the event's ``detail``) of a successful StartExecution."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = start_date.strftime("%b %d, %Y, %I:%M:%S %p") if isinstance(start_date, dt.datetime) else None
    request: dict[str, Any] = {"stateMachineArn": state_machine_arn, "input": HIDDEN}
    if name:
        request["name"] = name
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": now,
        "eventSource": "states.amazonaws.com",
        "eventName": "StartExecution",
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "mlcp-emulator",
        "requestParameters": request,
        "responseElements": {"executionArn": execution_arn, "startDate": started},
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }


def fill_sfn_start_execution_cloudtrail(self: Any) -> Any:
    """StartExecution request, then CloudTrail's event for the call (see the module)."""
    from moto.events.models import events_backends

    result = _call_original(type(self), "start_execution", self)  # a failed call raises: nothing recorded
    response = getattr(result, "result", None)
    execution_arn = response.get("executionArn") if isinstance(response, dict) else None
    if not execution_arn or not isinstance(response, dict):
        return result
    key = self.get_access_key()
    caller = caller_identity(key, self.current_account, self.region)
    record = start_execution_record(
        identity=user_identity(caller["Arn"], caller["PrincipalId"], self.current_account, key),
        region=self.region,
        account_id=self.current_account,
        state_machine_arn=str(self._get_param("stateMachineArn")),
        name=self._get_param("name"),
        execution_arn=str(execution_arn),
        start_date=response.get("startDate"),
    )
    events_backends[self.current_account][self.region].put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": "AWS API Call via CloudTrail",
                "Resources": [],
                "Detail": json.dumps(record),
            }
        ]
    )
    return result
