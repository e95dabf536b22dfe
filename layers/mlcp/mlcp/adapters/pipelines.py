"""SageMaker Pipelines: ``mlcp.ports.PipelineStarter`` on StartPipelineExecution."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from mlcp.adapters import clients
from mlcp.adapters.dynamo import error_code
from mlcp.errors import PipelineStartFailed
from mlcp.ports import MAX_DESCRIPTION, MAX_PARAMETER_VALUE, TOKEN_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9-]{32,128}$")


def start_pipeline(
    sagemaker_client: SageMakerClient,
    pipeline: str,
    parameters: Mapping[str, str],
    description: str,
    client_request_token: str,
) -> str:
    """StartPipelineExecution with ``parameters`` (names as given, values as strings) and the
    idempotency token; returns the execution ARN. The same token starts nothing new at SageMaker."""
    if not _TOKEN_RE.match(client_request_token):
        raise ValueError("ClientRequestToken: 32..128 characters, letters, digits and '-'")
    for name, value in parameters.items():
        if len(value) > MAX_PARAMETER_VALUE:
            raise ValueError(f"pipeline parameter {name!r} is longer than {MAX_PARAMETER_VALUE} characters")
    response = sagemaker_client.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineParameters=[{"Name": name, "Value": str(value)} for name, value in parameters.items()],
        PipelineExecutionDescription=description[:MAX_DESCRIPTION],
        PipelineExecutionDisplayName=f"mlcp-{client_request_token.removeprefix(TOKEN_PREFIX)[:40]}",
        ClientRequestToken=client_request_token,
    )
    return response["PipelineExecutionArn"]


class SageMakerPipelines:
    """Starts a pipeline (client from ``mlcp.adapters.clients`` unless given); SageMaker's refusal
    is ``PipelineStartFailed`` with its error code."""

    def __init__(self, client: SageMakerClient | None = None) -> None:
        self._client = client or clients.sagemaker()

    def start(
        self, pipeline: str, parameters: Mapping[str, str], description: str, client_request_token: str
    ) -> str:
        """StartPipelineExecution (see :func:`start_pipeline`); returns the execution ARN."""
        try:
            return start_pipeline(self._client, pipeline, parameters, description, client_request_token)
        except ClientError as exc:
            raise PipelineStartFailed(error_code(exc), str(exc)) from exc
