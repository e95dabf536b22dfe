"""Principals in local mode: ``LocalControlPlane.session_for`` / ``client(..., principal=)`` and the
scenario runner's ``as:`` steps, on the fixture template."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcp_cli.emulator.runtime import LocalControlPlane
from mlcp_cli.scenario import Scenario, ScenarioError, ScenarioRunner, load_scenario

from .helpers import FIXTURE_DIR, FIXTURE_TEMPLATE

USER = "arn:aws:iam::123456789012:user/"


@pytest.fixture(scope="module")
def cp() -> Iterator[LocalControlPlane]:
    with LocalControlPlane(FIXTURE_TEMPLATE, parameters={"Stage": "principals"}) as plane:
        yield plane


def run(cp: LocalControlPlane, steps: list[dict[str, Any]]) -> tuple[ScenarioRunner, str]:
    timeline = io.StringIO()
    runner = ScenarioRunner(cp, root=FIXTURE_DIR, timeline=timeline)
    runner.run(Scenario.model_validate({"name": "principals", "steps": steps}))
    return runner, timeline.getvalue()


def caller(cp: LocalControlPlane, principal: str | None) -> str:
    return str(cp.client("sts", principal=principal).get_caller_identity()["Arn"])


# -- runtime ---------------------------------------------------------------------------------------


def test_default_client_signs_as_moto_default_identity(cp: LocalControlPlane) -> None:
    assert caller(cp, None) == "arn:aws:sts::123456789012:user/moto"
    assert cp.session_for(None) is cp.session_for(None)


def test_a_user_name_principal_is_created_once_with_its_own_key(cp: LocalControlPlane) -> None:
    assert caller(cp, "auditor") == USER + "auditor"
    assert cp.session_for("auditor") is cp.session_for("auditor")
    keys = cp.client("iam").list_access_keys(UserName="auditor")["AccessKeyMetadata"]
    assert len(keys) == 1


def test_user_and_role_arn_principals(cp: LocalControlPlane) -> None:
    assert caller(cp, USER + "team/lead") == USER + "team/lead"
    role = "arn:aws:iam::123456789012:role/Approver"
    assert caller(cp, role) == "arn:aws:sts::123456789012:assumed-role/Approver/mlcp-local"
    assert cp.client("iam").get_role(RoleName="Approver")["Role"]["Arn"] == role


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ("not a name", "expected an IAM user name"),
        ("arn:aws:iam::999999999999:user/x", "not in the local account"),
        ("arn:aws:sts::123456789012:assumed-role/R/s", "expected an IAM user name"),
    ],
)
def test_malformed_principals_are_refused(cp: LocalControlPlane, principal: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cp.session_for(principal)


def test_an_arn_naming_an_existing_user_under_another_path_is_refused(cp: LocalControlPlane) -> None:
    cp.session_for("clash")
    with pytest.raises(ValueError, match=f"already exists as {USER}clash"):
        cp.session_for(USER + "other/clash")


# -- scenario `as:` ---------------------------------------------------------------------------------


def test_engineer_registers_reviewer_approves(cp: LocalControlPlane) -> None:
    runner, timeline = run(
        cp,
        [
            {
                "title": "ML engineer registers",
                "as": "ml-engineer",
                "register_model_package": {"group": "fraud"},
            },
            {
                "title": "Reviewer approves",
                "as": "reviewer",
                "approve_model_package": {"group": "fraud", "version": 1},
            },
            {
                "expect": {
                    "model_package": {
                        "group": "fraud",
                        "version": 1,
                        "created_by": "ml-engineer",
                        "last_modified_by": USER + "reviewer",
                    }
                }
            },
        ],
    )

    assert runner.result.ok, runner.result.failures
    # the principal on its own line under the step's title, so a long title never wraps mid-ARN
    assert f"step 1: ML engineer registers\n           as {USER}ml-engineer\n" in timeline
    assert f"step 2: Reviewer approves\n           as {USER}reviewer\n" in timeline
    assert "step 3: expect\n           expectations held" in timeline  # no `as`: no principal shown
    sagemaker = cp.client("sagemaker")
    [package] = sagemaker.list_model_packages(ModelPackageGroupName="fraud")["ModelPackageSummaryList"]
    described = sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["CreatedBy"]["IamIdentity"]["Arn"] == USER + "ml-engineer"
    assert described["LastModifiedBy"]["IamIdentity"]["Arn"] == USER + "reviewer"


def test_a_self_approval_fails_a_separation_expectation(cp: LocalControlPlane) -> None:
    runner, _ = run(
        cp,
        [
            {"as": "solo", "register_model_package": {"group": "solo"}},
            {"as": "solo", "approve_model_package": {"group": "solo", "version": 1}},
            {"expect": {"model_package": {"group": "solo", "version": 1, "last_modified_by": "reviewer"}}},
        ],
    )
    assert runner.result.failures == [
        f"model package arn:aws:sagemaker:us-east-1:123456789012:model-package/solo/1: "
        f"LastModifiedBy expected {USER}reviewer, found {USER}solo"
    ]


def test_steps_without_as_and_calls_as_a_role(cp: LocalControlPlane) -> None:
    role = "arn:aws:iam::123456789012:role/Pipeline"
    runner, timeline = run(
        cp,
        [
            {"register_model_package": {"group": "plain"}},
            {
                "as": role,
                "call": {
                    "service": "sagemaker",
                    "operation": "update_model_package",
                    "params": {
                        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/plain/1",
                        "ApprovalDescription": "checked",
                    },
                },
            },
            {
                "expect": {
                    "model_package": {
                        "group": "plain",
                        "version": 1,
                        "created_by": "arn:aws:sts::123456789012:user/moto",
                        "last_modified_by": role,
                    }
                }
            },
        ],
    )
    assert runner.result.ok, runner.result.failures
    assert "as arn:aws:sts::123456789012:assumed-role/Pipeline/mlcp-local" in timeline


def test_as_is_validated_and_a_bad_principal_names_the_step(cp: LocalControlPlane, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nsteps:\n  - as: ''\n    put_object: {bucket: b, key: k}\n")
    with pytest.raises(ScenarioError, match="as"):
        load_scenario(path)
    path.write_text("name: bad\nsteps:\n  - as_: x\n    put_object: {bucket: b, key: k}\n")
    with pytest.raises(ScenarioError, match="as_"):
        load_scenario(path)
    path.write_text("name: ok\nsteps:\n  - as: not a name\n    register_model_package: {group: g}\n")
    with pytest.raises(ScenarioError, match=r"step 1 \(register_model_package\): ValueError: principal"):
        ScenarioRunner(cp, root=FIXTURE_DIR, timeline=None).run(load_scenario(path))
