"""moto's request path without repeated work (ADR 40): the same answers as moto's own code."""

from __future__ import annotations

import inspect

import pytest
from moto.core.utils import method_names_from_class
from moto.dynamodb.responses import DynamoHandler
from moto.s3.responses import S3Response
from moto.sagemaker.responses import SageMakerResponse
from moto.stepfunctions.responses import StepFunctionResponse

from mlcp_cli.emulator.gaps.moto_dispatch import ActionMethods, fill_moto_action_methods


@pytest.mark.parametrize("cls", [DynamoHandler, S3Response, SageMakerResponse, StepFunctionResponse])
def test_action_methods_answer_what_method_names_from_class_lists(cls: type) -> None:
    listed = method_names_from_class(cls)
    methods = fill_moto_action_methods(cls)
    names = set(dir(cls)) | {"not_an_action", "__init__", "dispatch", "_get_action", "setup_class"}
    assert listed  # moto's list is not empty, so the comparison below can fail
    for name in names:
        assert (name in methods) == (name in listed), name
    assert sorted(methods) == sorted(listed)
    assert 42 not in methods


def test_action_methods_see_a_method_added_or_removed_later() -> None:
    class Response(DynamoHandler):
        pass

    methods = ActionMethods(Response)
    assert "made_up_action" not in methods
    Response.made_up_action = lambda self: None  # type: ignore[attr-defined]
    assert "made_up_action" in methods
    assert "made_up_action" in method_names_from_class(Response)
    del Response.made_up_action  # type: ignore[attr-defined]
    assert "made_up_action" not in methods
    Response.label = "a string, not a method"  # type: ignore[attr-defined]
    assert "label" not in methods
    assert not inspect.isfunction(Response.label)  # type: ignore[attr-defined]


def test_the_fill_is_what_call_action_uses_while_installed(fills: object) -> None:
    import moto.core.responses

    assert moto.core.responses.method_names_from_class is fill_moto_action_methods
