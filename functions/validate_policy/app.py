"""AppConfig validator of the policy profile: a version the policy model refuses is never deployed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from mlcp.observability import logger
from mlcp.policy.appconfig import PolicyRefused, validate_deployment_content


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        policy = validate_deployment_content(event)
    except PolicyRefused as exc:
        # Raising is how a Lambda validator refuses: AppConfig reports the message to the caller.
        logger.warning("policy refused", extra={"problems": list(exc.problems)})
        raise
    logger.info("policy accepted", extra={"groups": len(policy.groups), "tiers": len(policy.tiers)})
    return {"valid": True, "groups": len(policy.groups), "tiers": len(policy.tiers)}
