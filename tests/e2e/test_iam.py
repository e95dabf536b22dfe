"""IAM in local mode end to end: the shipped template needs every grant the default scenario
uses, and a denial is in the timeline and fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcp_cli.commands.local import run_local

from .conftest import ROOT, TEMPLATE

DEFAULT = ROOT / "scenarios" / "default.yaml"
#: ModelPackageStatusFunction's managed policies; it reads the package it decides on through
#: GateEvidencePolicy.
POLICIES = (
    "        - !Ref GateEvidencePolicy\n        - !Ref ControlPlaneStatePolicy\n"
    "        - !Ref AuditWriterPolicy\n        - !Ref IdempotencyPolicy\n"
)
WITHOUT_GATE_EVIDENCE = POLICIES.replace("        - !Ref GateEvidencePolicy\n", "", 1)


def _copy_without(tmp_path: Path, needle: str, replacement: str) -> Path:
    """template.yaml with one edit, next to links to the code it packages."""
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count(needle) == 1, needle
    for directory in ("functions", "layers", "statemachines"):
        (tmp_path / directory).symlink_to(ROOT / directory)
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(needle, replacement), encoding="utf-8")
    return copy


def test_removing_one_policy_from_one_function_fails_the_default_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = _copy_without(tmp_path, POLICIES, WITHOUT_GATE_EVIDENCE)
    assert run_local(DEFAULT, template=template, root=ROOT, as_json=False) == 1
    out = capsys.readouterr().out
    # the timeline wraps at 120 columns: the resource is on the next line
    assert "!! IAM AccessDenied: ModelPackageStatusFunction sagemaker:DescribeModelPackage on\n" in out
    assert (
        "AccessDenied: ModelPackageStatusFunction sagemaker:DescribeModelPackage" in out.split("== IAM ==")[1]
    )


def test_without_iam_the_same_template_passes_which_is_what_aws_would_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = _copy_without(tmp_path, POLICIES, WITHOUT_GATE_EVIDENCE)
    assert run_local(DEFAULT, template=template, root=ROOT, as_json=False, iam=False) == 0
    assert "IAM: not enforced (--no-iam)" in capsys.readouterr().out
