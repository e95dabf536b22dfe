"""CloudFormation: fills c (state machines with DefinitionSubstitutions), d (resource types moto
skips: CloudWatch alarms, Lambda EventInvokeConfig), u (a JSON body read as JSON) and aj (list
parameters read back as strings)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from mlcp_cli.emulator.gaps.state import _call_original, _original


def fill_cfn_state_machine(
    cls: Any,
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """CloudFormation creates ``AWS::StepFunctions::StateMachine`` with its substitutions applied.

    AWS: replaces each ``${key}`` of the definition by its ``DefinitionSubstitutions`` value; the
    machine executes. moto: ignores ``DefinitionSubstitutions`` and ``Definition`` and creates the
    machine in the non-executing backend, invisible when ``execute_state_machine`` is on.
    Fill: build the definition (``DefinitionString`` or ``Definition``), substitute, and create it
    in the backend the Step Functions API uses (the executing one in local mode).
    """
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    properties = cloudformation_json["Properties"]
    definition = properties.get("DefinitionString") or json.dumps(properties.get("Definition", {}))
    definition = substitute_definition(definition, properties.get("DefinitionSubstitutions") or {})
    return get_backend(account_id, region_name).create_state_machine(
        properties.get("StateMachineName", resource_name),
        definition,
        properties.get("RoleArn", ""),
        tags=cfn_to_api_tags(properties.get("Tags", [])),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def substitute_definition(definition: str, substitutions: dict[str, Any]) -> str:
    """Replace each ``${key}`` with its value, as CloudFormation does for DefinitionSubstitutions."""
    for key, value in substitutions.items():
        text = value if isinstance(value, str) else json.dumps(value)
        definition = definition.replace("${" + key + "}", text)
    return definition


def fill_cfn_state_machine_delete(
    cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    """Stack deletion removes the machine from the backend the fill created it in."""
    from moto.stepfunctions.responses import get_backend

    get_backend(account_id, region_name).delete_state_machine(resource_name)


class _FilledResource:
    """What moto's ResourceMap needs of a created resource: a physical id and GetAtt."""

    def __init__(self, physical_id: str, attributes: dict[str, str]) -> None:
        self.physical_resource_id = physical_id
        self._attributes = attributes

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, name: str) -> str:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if name in self._attributes:
            return self._attributes[name]
        raise UnformattedGetAttTemplateException()


class CfnCloudWatchAlarm:
    """``AWS::CloudWatch::Alarm`` for moto's CloudFormation (put_metric_alarm with the properties)."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return attr == "Arn"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _FilledResource:
        from moto.cloudwatch.models import cloudwatch_backends

        p = cloudformation_json["Properties"]
        name = p.get("AlarmName", resource_name)
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=int(p.get("EvaluationPeriods", 1)),
            period=int(p["Period"]) if "Period" in p else None,  # type: ignore[arg-type]
            threshold=float(p["Threshold"]) if "Threshold" in p else None,  # type: ignore[arg-type]
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=list(p.get("AlarmActions", [])),
            metric_data_queries=None,
            datapoints_to_alarm=int(p["DatapointsToAlarm"]) if "DatapointsToAlarm" in p else None,
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=list(p.get("OKActions", [])),
            insufficient_data_actions=list(p.get("InsufficientDataActions", [])),
            unit=p.get("Unit"),
            actions_enabled=bool(p.get("ActionsEnabled", True)),
            treat_missing_data=p.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=p.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=p.get("ThresholdMetricId"),
        )
        return _FilledResource(name, {"Arn": alarm.alarm_arn})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


class _WithoutAttributes:
    """A filled resource type with no ``Fn::GetAtt`` attribute."""

    @staticmethod
    def has_cfn_attr(attr: str) -> bool:
        return False


class CfnLambdaEventInvokeConfig(_WithoutAttributes):
    """``AWS::Lambda::EventInvokeConfig`` for moto's CloudFormation (PutFunctionEventInvokeConfig)."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _FilledResource:
        from moto.awslambda.utils import get_backend

        p = cloudformation_json["Properties"]
        config = {
            k: p[k]
            for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if k in p
        }
        get_backend(account_id, region_name).put_function_event_invoke_config(p["FunctionName"], config)
        return _FilledResource(f"{p['FunctionName']}:{p.get('Qualifier', '$LATEST')}", {})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.awslambda.utils import get_backend

        function_name = resource_name.split(":", 1)[0]
        with contextlib.suppress(Exception):
            get_backend(account_id, region_name).delete_function_event_invoke_config(function_name)


class CfnEventBusPolicy(_WithoutAttributes):
    """``AWS::Events::EventBusPolicy`` for moto's CloudFormation (fill aa): PutPermission on the bus.

    AWS: CloudFormation adds the statement (``Statement`` with the ``StatementId`` as its Sid, or the
    legacy ``Action``/``Principal``/``Condition`` form) to the bus's resource policy. moto: "No Moto
    CloudFormation support", the bus keeps no policy. Fill: put the statement on the bus.
    """

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _FilledResource:
        from moto.events.models import events_backends

        p = cloudformation_json["Properties"]
        bus = str(p.get("EventBusName") or "default").rsplit("/", 1)[-1]
        sid = str(p["StatementId"])
        backend = events_backends[account_id][region_name]
        if "Statement" in p:
            statement = {**p["Statement"], "Sid": sid}
            backend.put_permission(bus, "", "", sid, {}, json.dumps({"Statement": [statement]}))
        else:
            backend.put_permission(bus, p["Action"], p["Principal"], sid, p.get("Condition") or {}, "")
        return _FilledResource(f"{bus}|{sid}", {})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.events.models import events_backends

        bus, sid = resource_name.split("|", 1)
        with contextlib.suppress(Exception):
            events_backends[account_id][region_name].remove_permission(bus, sid, False)


_FILLED_CFN_TYPES: dict[str, Any] = {
    "AWS::Events::EventBusPolicy": CfnEventBusPolicy,
    "AWS::CloudWatch::Alarm": CfnCloudWatchAlarm,
    "AWS::Lambda::EventInvokeConfig": CfnLambdaEventInvokeConfig,
}


def fill_cfn_resource_class_from_type(resource_type: str) -> Any:
    """CloudFormation creates CloudWatch alarms, Lambda EventInvokeConfigs, event bus policies (fill
    aa) and AppConfig
    applications, environments, configuration profiles and deployment strategies (fill t).

    AWS: both are ordinary resources. moto: "No Moto CloudFormation support" — skipped with a
    warning, so the stack has no alarms and functions keep the default async config.
    Fill: resolve those two types to small models that call put_metric_alarm and
    put_function_event_invoke_config with the template's properties.
    """
    import moto.cloudformation.parsing as cfn_parsing

    from mlcp_cli.emulator.gaps.appconfig import APPCONFIG_CFN_TYPES
    from mlcp_cli.emulator.gaps.lazy_moto import load_for_resource_type

    if resource_type in APPCONFIG_CFN_TYPES:
        return APPCONFIG_CFN_TYPES[resource_type]
    if resource_type in _FILLED_CFN_TYPES:
        return _FILLED_CFN_TYPES[resource_type]
    load_for_resource_type(resource_type)  # fill al: a type of a package not imported yet
    return _call_original(cfn_parsing, "resource_class_from_type", resource_type)


def fill_cfn_parse_template_json_first(template: str) -> Any:
    """A JSON template body is parsed as JSON (fill u).

    AWS: CreateStack takes a JSON or a YAML body. moto 5.2.5: parses every body with PyYAML's
    pure-Python loader first (JSON is YAML too), about 0.5 s of CPU for the control plane's 100 KB
    translated template on every local deploy. Fill: a body that is JSON is read with ``json``;
    anything else takes moto's own YAML path. The result is the same: a JSON document means the
    same thing read as YAML.
    """
    from moto.cloudformation.models import Stack

    try:
        return json.loads(template)
    except ValueError:
        return _call_original(Stack, "parse_template", template)


def fill_cfn_stack_parameter_list(stack: Any) -> list[dict[str, Any]]:
    """DescribeStacks' ``Parameters``: a list-typed parameter's value as the comma-separated string
    it was given (fill aj).

    AWS: ``ParameterValue`` is a string; a ``CommaDelimitedList`` / ``List<...>`` parameter reads
    back as ``a,b``. moto 5.2.5: renders the resolved Python list, so the CLI read
    ``['222222222222', '333333333333']`` for ``MemberAccountIds`` (its ``--account`` check).
    Fill: lists are joined with commas; anything else is moto's value. ``NoEcho`` stays as moto has it.
    """
    from moto.cloudformation.models import Stack

    return [
        {
            "ParameterKey": item["ParameterKey"],
            "ParameterValue": ",".join(str(v) for v in item["ParameterValue"])
            if isinstance(item["ParameterValue"], list)
            else item["ParameterValue"],
        }
        for item in _original(Stack, "parameter_list").fget(stack)
    ]
