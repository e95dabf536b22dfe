"""The deploy guide (docs/deploy.md) documents every template parameter, and samconfig.toml sets only
parameters the template has."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # CloudFormation intrinsics


def _template_parameters() -> dict[str, Any]:
    template = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    return dict(template["Parameters"])


def _deploy_guide() -> str:
    return (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_the_deploy_guide_lists_every_template_parameter_with_its_default() -> None:
    guide = _deploy_guide()
    rows = dict(re.findall(r"^\| `(\w+)` \| `?([^|`]*)`? \|", guide, flags=re.MULTILINE))
    parameters = _template_parameters()
    assert set(parameters) <= set(rows), (
        f"not in docs/deploy.md's parameter table: {set(parameters) - set(rows)}"
    )
    for name, spec in parameters.items():
        documented = "" if rows[name] == "(empty)" else rows[name]
        assert documented == str(spec.get("Default", "")), name


def test_the_deploy_guide_covers_the_steps() -> None:
    guide = _deploy_guide()
    for needle in (
        "## Prerequisites",
        "sam deploy --guided",
        "--config-env dev",
        "mlcp policy publish",
        "(pipeline-contract.md)",
        "## Tear down",
        "ControlPlaneKey",
    ):
        assert needle in guide, needle


def test_samconfig_overrides_only_template_parameters() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    parameters = set(_template_parameters())
    for env, section in config.items():
        if not isinstance(section, dict):
            continue
        overrides = (section.get("deploy") or {}).get("parameters", {}).get("parameter_overrides", "")
        names = {pair.split("=", 1)[0] for pair in overrides.split()}
        assert names <= parameters, f"{env}: {names - parameters}"


def test_the_guide_subscribes_people_and_names_their_policies() -> None:
    guide = _deploy_guide()
    for needle in ("aws sns subscribe", "<ApprovalsTopicArn>", "<IncidentsTopicArn>", "<ApproverPolicyArn>",
                   "<OperatorPolicyArn>", "mlcp doctor"):  # fmt: skip
        assert needle in guide, needle
    template = yaml.load((ROOT / "template.yaml").read_text(encoding="utf-8"), Loader=_Loader)
    for output in ("ApprovalsTopicArn", "IncidentsTopicArn", "ApproverPolicyArn", "OperatorPolicyArn"):
        assert output in template["Outputs"], output


def test_the_guided_first_deploy_saves_the_environment_the_guide_continues_with() -> None:
    guide = _deploy_guide()
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    guided = re.findall(r"^sam deploy --guided(.*?)(?:#|$)", guide, flags=re.MULTILINE)
    continued = set(re.findall(r"^sam deploy --config-env (\w+)", guide, flags=re.MULTILINE))
    assert guided
    assert continued
    for options in guided:
        env = re.search(r"--config-env (\w+)", options)
        assert env is not None, "a guided deploy without --config-env saves to [default]"
        assert env.group(1) in continued
    for env in continued:
        assert "deploy" in config[env], env
    assert "deploy" not in config["default"]  # nobody deploys the default environment by accident
