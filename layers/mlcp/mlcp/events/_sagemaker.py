"""What the SageMaker event models share: the source, field limits and the approval statuses.
The models themselves live one module per detail-type (``model_package``, ``endpoint``,
``training``, ``pipeline``, ``processing``), so a function loads only the ones it receives."""

from __future__ import annotations

from typing import Literal

SAGEMAKER_SOURCE = "aws.sagemaker"

ARN_MAX = 2048
NAME_MAX = 63

ModelApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]
