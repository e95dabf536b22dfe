"""Fill aj: DescribeStacks reads a list parameter back as AWS does, a comma-separated string."""

from __future__ import annotations

import json

import boto3

from mlcp_cli.emulator.gaps import GapFills

TEMPLATE = {
    "Parameters": {
        "Accounts": {"Type": "CommaDelimitedList", "Default": ""},
        "Name": {"Type": "String", "Default": "x"},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


def _parameters(name: str) -> dict[str, str]:
    cfn = boto3.client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[
            {"ParameterKey": "Accounts", "ParameterValue": "222222222222,333333333333"},
            {"ParameterKey": "Name", "ParameterValue": "plain"},
        ],
    )
    [stack] = cfn.describe_stacks(StackName=name)["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def test_raw_moto_renders_a_list_parameter_as_a_python_list(raw_moto: None) -> None:
    assert _parameters("raw")["Accounts"] == "['222222222222', '333333333333']"


def test_a_list_parameter_reads_back_comma_separated(fills: GapFills) -> None:
    assert _parameters("filled") == {"Accounts": "222222222222,333333333333", "Name": "plain"}
