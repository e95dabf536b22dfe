"""The lazy event registry (docs/adr/0030): its data agrees with the models, and a function loads
only the model module of the detail-type it receives."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

import mlcp.events
from mlcp.events import EVENT_KINDS, MODELS_BY_DETAIL_TYPE, SLUG_BY_DETAIL_TYPE, SOURCE_BY_DETAIL_TYPE
from mlcp.events._base import AwsEvent

from .conftest import EVENTS, load

EVENT_MODEL_MODULES = sorted({kind.module for kind in EVENT_KINDS.values()} | {"mlcp.events.sagemaker"})


def _literal(model: type[AwsEvent], field: str) -> object:
    (value,) = typing.get_args(model.model_fields[field].annotation)
    return value


@pytest.mark.parametrize("detail_type", sorted(EVENT_KINDS))
def test_registry_entry_matches_its_models_literals(detail_type: str) -> None:
    model = MODELS_BY_DETAIL_TYPE[detail_type]
    assert issubclass(model, AwsEvent)
    assert _literal(model, "detail_type") == detail_type
    assert _literal(model, "source") == SOURCE_BY_DETAIL_TYPE[detail_type]
    assert (EVENTS / SLUG_BY_DETAIL_TYPE[detail_type]).is_dir()
    assert getattr(mlcp.events, model.__name__) is model


def test_the_registry_and_the_union_name_the_same_models() -> None:
    union = typing.get_args(mlcp.events.ControlPlaneEvent.__value__)
    assert sorted(m.__name__ for m in union) == sorted(k.model for k in EVENT_KINDS.values())
    assert len(MODELS_BY_DETAIL_TYPE) == len(EVENT_KINDS) == len(set(MODELS_BY_DETAIL_TYPE))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchEvent"):
        _ = mlcp.events.NoSuchEvent


def _modules_loaded_by(code: str) -> set[str]:
    program = (
        f"import sys\n{code}\nprint(' '.join(sorted(m for m in sys.modules if m.startswith('mlcp.events'))))"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_parsing_an_s3_event_loads_only_the_s3_models() -> None:
    sample = (EVENTS / "s3-object-created").glob("*.json").__next__()
    loaded = _modules_loaded_by(
        f"from mlcp.events import parse_event\nparse_event(open({str(sample)!r}).read())"
    )
    assert loaded & set(EVENT_MODEL_MODULES) == {"mlcp.events.s3"}
    assert "aws_lambda_powertools.utilities.parser" not in _modules_loaded_by(
        "import mlcp.events.s3, sys\nassert 'aws_lambda_powertools.utilities.parser' not in sys.modules"
    )


def test_importing_one_model_by_name_loads_its_module_only() -> None:
    loaded = _modules_loaded_by("from mlcp.events import EndpointStateChangeEvent")
    assert loaded & set(EVENT_MODEL_MODULES) == {"mlcp.events.endpoint"}


def test_the_sagemaker_module_still_exports_every_sagemaker_model() -> None:
    from mlcp.events import sagemaker

    for kind in EVENT_KINDS.values():
        if kind.source == "aws.sagemaker":
            assert getattr(sagemaker, kind.model) is MODELS_BY_DETAIL_TYPE[_detail_type_of(kind.model)]
    sample = load(next((EVENTS / "model-package-state-change").glob("*.json")))
    assert sagemaker.ModelPackageStateChangeEvent.model_validate(sample).detail_type == sample["detail-type"]


def _detail_type_of(model: str) -> str:
    return next(detail_type for detail_type, kind in EVENT_KINDS.items() if kind.model == model)


def test_detail_types_names_models_without_loading_them() -> None:
    loaded = _modules_loaded_by(
        "from mlcp.events import detail_types\n"
        "assert detail_types('AlarmStateChangeEvent', 'S3ObjectCreatedEvent') == "
        "{'CloudWatch Alarm State Change', 'Object Created'}"
    )
    assert loaded & set(EVENT_MODEL_MODULES) == set()
    with pytest.raises(ValueError, match=r"not event models of mlcp\.events: Nope"):
        mlcp.events.detail_types("S3ObjectCreatedEvent", "Nope")


def test_the_event_intake_handler_loads_the_model_of_the_event_it_receives_only() -> None:
    # It takes eight detail-types (ADR 32): its init imports none of their models, its first alarm
    # loads the CloudWatch one, and the audit stream is still the alarm's.
    import os

    from mlcp.usecases.event_intake import stream_and_subject
    from mlcp_cli.bench import handler_environment
    from mlcp_cli.template import load_template

    root = EVENTS.parent
    environment = handler_environment(load_template(root / "template.yaml"), "EventIntakeFunction")
    sample = next((EVENTS / "alarm-state-change").glob("*.json"))
    program = (
        f"import sys\nsys.path.insert(0, {str(root / 'functions' / 'event_intake')!r})\nimport app\n"
        "assert not [m for m in sys.modules if m.startswith('mlcp.events.')], 'a model loaded at init'\n"
        f"event = app.runtime.parse_any_or_reject(open({str(sample)!r}).read(), app.ACCEPTED)\n"
        "from mlcp.usecases.event_intake import stream_and_subject\n"
        "stream_and_subject(event)\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('mlcp.events'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(out.split()) & set(EVENT_MODEL_MODULES) == {"mlcp.events.cloudwatch"}
    alarm = mlcp.events.parse_event(sample.read_text())
    assert stream_and_subject(alarm)[1] == f"alarm/{alarm.alarm_name}"
