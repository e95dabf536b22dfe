"""The control-plane state table: pending human approvals and the last approval status seen per
model package (to tell a real approval from a metadata update of an approved package)."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from mlcp import clock
from mlcp.adapters import clients
from mlcp.adapters.dynamo import condition_failed
from mlcp.errors import ApprovalNotPending

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

APPROVAL_SK = "approval"
STATUS_SK = "status"


class PendingApproval(BaseModel):
    """A human approval the deployment workflow waits for."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    approval_id: str
    model_package_arn: str
    group: str
    version: int
    created_by: str
    tier: str
    status: str
    requested_at: str
    expires_at: str
    report_uri: str | None = None
    reasons: list[str] = []
    #: Who may answer (the tier's approvers when it was requested); empty: anyone but the creator.
    approvers: list[str] = []
    execution: str | None = None
    #: Where the approved deployment goes (ADR 36): the verdict's account and promotion stage.
    account: str | None = None
    stage: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str | None = None


def _now() -> str:
    return clock.now().isoformat()


class ControlPlaneState:
    """DynamoDB-backed state (keys ``pk``/``sk``); every write is conditional."""

    def __init__(self, table_name: str, client: "DynamoDBClient | None" = None) -> None:
        self.table_name = table_name
        self._client = client or clients.dynamodb()

    # ------------------------------------------------------------ package status

    def record_status(self, model_package_arn: str, status: str, last_modified_time: str) -> bool:
        """Remember ``status`` as of ``last_modified_time``; False if a newer one is already known
        (events arrive out of order: an older status never overwrites a newer one)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"package#{model_package_arn}"}, "sk": {"S": STATUS_SK}},
                UpdateExpression="SET #status = :status, last_modified_time = :lmt",
                ConditionExpression="attribute_not_exists(pk) OR last_modified_time <= :lmt",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": {"S": status}, ":lmt": {"S": last_modified_time}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def claim_stage_promotion(self, model_package_arn: str, stage: str, execution: str) -> bool:
        """True when ``execution`` owns the promotion of the package to ``stage`` (ADR 27): the first
        execution to claim it, or that execution again (a retry or redrive); False for any other."""
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": f"package#{model_package_arn}"},
                    "sk": {"S": f"promotion#{stage}"},
                    "execution": {"S": execution},
                    "claimed_at": {"S": _now()},
                },
                ConditionExpression="attribute_not_exists(pk) OR execution = :exec",
                ExpressionAttributeValues={":exec": {"S": execution}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def release_stage_promotion(self, model_package_arn: str, stage: str, execution: str) -> bool:
        """Give up ``execution``'s claim of the package's promotion to ``stage`` (it was refused: by
        the stage's gates, its approver, or at the moment of effect), so that it may be asked again.
        Only the claiming execution's claim is deleted; False when it held none."""
        try:
            self._client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"package#{model_package_arn}"}, "sk": {"S": f"promotion#{stage}"}},
                ConditionExpression="execution = :exec",
                ExpressionAttributeValues={":exec": {"S": execution}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def claim_approval_transition(
        self, model_package_arn: str, last_modified_time: str, execution: str
    ) -> bool:
        """True when the package's Approved status as of ``last_modified_time`` is a transition this
        ``execution`` owns: the last status seen was not Approved, or this execution claimed this very
        approval before (a retry or redrive). False for a metadata update of an approved package and
        for a second execution started by a redelivered event."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"package#{model_package_arn}"}, "sk": {"S": STATUS_SK}},
                UpdateExpression=(
                    "SET #status = :approved, last_modified_time = :lmt, approved_at = :lmt, execution = :exec"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#status <> :approved AND last_modified_time <= :lmt) "
                    "OR (approved_at = :lmt AND execution = :exec)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":approved": {"S": "Approved"},
                    ":lmt": {"S": last_modified_time},
                    ":exec": {"S": execution},
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------ pending approvals

    def put_pending_approval(self, approval: PendingApproval, task_token: str) -> bool:
        """Store a pending approval with its task token; False if it was decided or expired meanwhile.

        A pending one is overwritten (a retried request, or a redrive: the new token is the live
        one), and so is an abandoned one (its execution ended; the redriven run asks again)."""
        item: dict[str, Any] = {
            "pk": {"S": f"approval#{approval.approval_id}"},
            "sk": {"S": APPROVAL_SK},
            "task_token": {"S": task_token},
            "body": {"S": approval.model_dump_json()},
            "status": {"S": approval.status},
        }
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #status IN (:pending, :abandoned)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":pending": {"S": "pending"}, ":abandoned": {"S": "abandoned"}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def get_approval(self, approval_id: str) -> tuple[PendingApproval, str] | None:
        """The approval and its task token."""
        item = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"approval#{approval_id}"}, "sk": {"S": APPROVAL_SK}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return self._approval(item), item["task_token"]["S"]

    def list_approvals(self, status: str | None = "pending") -> list[PendingApproval]:
        """Approvals, oldest request first (a scan: the table holds little besides them)."""
        found: list[PendingApproval] = []
        paginator = self._client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table_name,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues={":sk": {"S": APPROVAL_SK}},
        ):
            found.extend(self._approval(item) for item in page.get("Items", []))
        if status is not None:
            found = [a for a in found if a.status == status]
        return sorted(found, key=lambda a: a.requested_at)

    def decide(self, approval_id: str, status: str, decided_by: str, reason: str) -> PendingApproval:
        """Move a pending approval to ``status`` (granted|denied); ApprovalNotPending otherwise."""
        return self._move(
            approval_id,
            "pending",
            {"status": status, "decided_by": decided_by, "decided_at": _now(), "reason": reason},
        )

    def reopen(self, approval_id: str, decided: str) -> PendingApproval:
        """Undo a decision whose answer never reached the workflow (``decided`` -> pending), so that
        the approver can answer again; ApprovalNotPending if it is no longer ``decided``."""
        return self._move(
            approval_id,
            decided,
            {"status": "pending", "decided_by": None, "decided_at": None, "reason": None},
        )

    def abandon(self, approval_id: str, decided: str, why: str) -> PendingApproval:
        """``decided`` -> abandoned: the workflow that asked for it has ended, so no answer can reach it."""
        return self._move(approval_id, decided, {"status": "abandoned", "reason": why})

    def _move(self, approval_id: str, expected: str, update: dict[str, Any]) -> PendingApproval:
        """Set ``update`` on the approval if its status is ``expected`` (one conditional write)."""
        current = self.get_approval(approval_id)
        if current is None:
            raise ApprovalNotPending(f"no approval {approval_id!r}")
        approval, _ = current
        moved = approval.model_copy(update=update)
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"approval#{approval_id}"}, "sk": {"S": APPROVAL_SK}},
                UpdateExpression="SET #status = :status, body = :body",
                ConditionExpression="#status = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": {"S": moved.status},
                    ":expected": {"S": expected},
                    ":body": {"S": moved.model_dump_json()},
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                latest = self.get_approval(approval_id)
                state = latest[0].status if latest else "gone"
                raise ApprovalNotPending(f"approval {approval_id!r} is {state}, not {expected}") from exc
            raise
        return moved

    # ------------------------------------------------------------ endpoint leases

    def acquire_lease(
        self, endpoint: str, holder: str, ttl_seconds: int, now: datetime | None = None
    ) -> str | None:
        """Take the endpoint's deployment lease for ``holder``; None when taken, else the holder of
        the live lease (a retry by the same holder re-acquires; an expired lease can be taken)."""
        moment = now or clock.now()
        now_epoch = int(moment.timestamp())
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": f"lease#endpoint#{endpoint}"},
                    "sk": {"S": "lease"},
                    "holder": {"S": holder},
                    "acquired_at": {"S": moment.isoformat()},
                    "expires_at": {"N": str(now_epoch + ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR holder = :holder",
                ExpressionAttributeValues={":now": {"N": str(now_epoch)}, ":holder": {"S": holder}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                item = self._client.get_item(
                    TableName=self.table_name,
                    Key={"pk": {"S": f"lease#endpoint#{endpoint}"}, "sk": {"S": "lease"}},
                    ConsistentRead=True,
                ).get("Item", {})
                return str(item.get("holder", {}).get("S", "another deployment"))
            raise
        return None

    def lease(self, endpoint: str) -> dict[str, str] | None:
        """The endpoint's lease as stored (holder, acquired_at, expires_at as epoch seconds), or None."""
        item = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"lease#endpoint#{endpoint}"}, "sk": {"S": "lease"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return {key: str(value.get("S", value.get("N", ""))) for key, value in item.items()}

    def release_lease(self, endpoint: str, holder: str) -> bool:
        """Release the lease if ``holder`` still has it (True), else leave it (False)."""
        try:
            self._client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"lease#endpoint#{endpoint}"}, "sk": {"S": "lease"}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------ deployment callbacks

    def put_deployment_callback(
        self, endpoint: str, task_token: str, target_config: str, previous_config: str | None
    ) -> None:
        """Remember the task token of the deployment waiting on ``endpoint`` (the latest wins)."""
        item: dict[str, Any] = {
            "pk": {"S": f"deployment#{endpoint}"},
            "sk": {"S": "callback"},
            "task_token": {"S": task_token},
            "target_config": {"S": target_config},
            "registered_at": {"S": _now()},
        }
        if previous_config:
            item["previous_config"] = {"S": previous_config}
        self._client.put_item(TableName=self.table_name, Item=item)

    def deployment_waiting(self, endpoint: str) -> bool:
        """Whether a deployment waits on ``endpoint`` (its callback is registered)."""
        response = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"deployment#{endpoint}"}, "sk": {"S": "callback"}},
            ConsistentRead=True,
        )
        return "Item" in response

    def take_deployment_callback(self, endpoint: str) -> dict[str, str] | None:
        """Remove and return the waiting deployment's callback (token, target, previous config)."""
        response = self._client.delete_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"deployment#{endpoint}"}, "sk": {"S": "callback"}},
            ReturnValues="ALL_OLD",
        )
        old = response.get("Attributes")
        if not old:
            return None
        return {key: str(value.get("S", "")) for key, value in old.items() if "S" in value}

    # ------------------------------------------------------------ bakes (managed deployments)

    def put_bake(self, endpoint: str, bake: dict[str, str | int]) -> None:
        """Park the task token of the managed bake running on ``endpoint`` (ADR 24) with what
        identifies that bake (execution, step index, start, candidate); the latest bake wins."""
        item: dict[str, Any] = {"pk": {"S": f"bake#{endpoint}"}, "sk": {"S": "bake"}}
        for key, value in bake.items():
            item[key] = {"N": str(value)} if isinstance(value, int) else {"S": value}
        item["registered_at"] = {"S": _now()}
        self._client.put_item(TableName=self.table_name, Item=item)

    def bake(self, endpoint: str) -> dict[str, str] | None:
        """The last bake parked for ``endpoint`` (it may have ended since: check its execution)."""
        item = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"bake#{endpoint}"}, "sk": {"S": "bake"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return {key: str(value.get("S", value.get("N", ""))) for key, value in item.items()}

    def claim_bake(self, endpoint: str, task_token: str, *, action: str, by: str, reason: str) -> bool:
        """Mark the bake with ``task_token`` as ended by ``action`` (promote / abort); False when it is
        no longer that bake or someone already ended it (one answer per bake)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"bake#{endpoint}"}, "sk": {"S": "bake"}},
                UpdateExpression="SET ended_by = :action, ended_by_identity = :by, end_reason = :reason, ended_at = :now",
                ConditionExpression="task_token = :token AND attribute_not_exists(ended_by)",
                ExpressionAttributeValues={
                    ":action": {"S": action},
                    ":by": {"S": by},
                    ":reason": {"S": reason},
                    ":now": {"S": _now()},
                    ":token": {"S": task_token},
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    # ------------------------------------------------------------ console decisions

    def _decision_update(self, execution: str, expression: str, values: dict[str, Any], **extra: Any) -> Any:
        return self._client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"decision#{execution}"}, "sk": {"S": "decision"}},
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            **extra,
        )

    def await_decision(self, execution: str, task_token: str) -> dict[str, str]:
        """The decision execution waits: keep its task token; the item so far (a verdict may be there)."""
        response = self._decision_update(execution, "SET task_token = :token", {":token": {"S": task_token}})
        return {k: str(v.get("S", "")) for k, v in response["Attributes"].items() if "S" in v}

    def record_verdict(self, execution: str, verdict: str) -> tuple[bool, dict[str, str]]:
        """The verdict on a decision execution, written once (a redelivered event finds it there):
        (written now?, the item: verdict and, if the execution already waits, its task token)."""
        try:
            response = self._decision_update(
                execution,
                "SET verdict = :verdict, decided_at = :at",
                {":verdict": {"S": verdict}, ":at": {"S": _now()}},
                ConditionExpression="attribute_not_exists(verdict)",
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return False, self.decision(execution)
        return True, {k: str(v.get("S", "")) for k, v in response["Attributes"].items() if "S" in v}

    def decision(self, execution: str) -> dict[str, str]:
        """What is known of a decision execution: its verdict and task token, if any yet."""
        item = self._client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"decision#{execution}"}, "sk": {"S": "decision"}},
            ConsistentRead=True,
        ).get("Item", {})
        return {k: str(v.get("S", "")) for k, v in item.items() if "S" in v}

    @staticmethod
    def _approval(item: dict[str, Any]) -> PendingApproval:
        approval = PendingApproval.model_validate_json(item["body"]["S"])
        # The status attribute is authoritative (the workflow's timeout path updates only it).
        return approval.model_copy(update={"status": item["status"]["S"]})
