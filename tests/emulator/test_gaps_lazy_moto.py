"""Fill al: what moto does at every deploy that a local stack does not use is done on first use:
importing service packages (each behaviour in a fresh interpreter: in a test worker another test
may have imported those packages already, then nothing is deferred, which is also correct) and
a symmetric KMS key's key pair."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from mlcp_cli.emulator.gaps.lazy_moto import CFN_NAMESPACES, LAZY_PACKAGES

_PRELUDE = """
import json, os, sys
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
import boto3
from moto import mock_aws
from mlcp_cli.emulator.gaps import FunctionRegistry, install_gap_fills
from mlcp_cli.emulator.gaps.lazy_moto import LAZY_PACKAGES, is_lazy
from mlcp_cli.emulator.runtime import MOTO_CONFIG

def loaded():
    return sorted(p for p in LAZY_PACKAGES if f"moto.{p}" in sys.modules and not is_lazy(f"moto.{p}")
                  and not is_lazy(f"moto.{p}.models"))

def create_stack(resources):
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="s", TemplateBody=json.dumps({"Resources": resources}))
    return cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"]
"""


def _run(body: str) -> dict[str, object]:
    """Run ``body`` (after the prelude) in a fresh interpreter; it prints one JSON line."""
    code = _PRELUDE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_raw_moto_cloudformation_imports_every_package_with_resource_types() -> None:
    result = _run(
        """
        import moto.cloudformation.parsing
        print(json.dumps({"loaded": loaded(), "instance_types": "moto.ec2.models.instance_types" in sys.modules}))
        """
    )
    assert result == {"loaded": sorted(LAZY_PACKAGES), "instance_types": True}


def test_with_the_fills_a_stack_and_state_machine_load_none_of_them() -> None:
    result = _run(
        """
        with mock_aws(config=MOTO_CONFIG), install_gap_fills(FunctionRegistry()):
            machine = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
            status = create_stack({
                "Queue": {"Type": "AWS::SQS::Queue"},
                "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
                    "DefinitionString": json.dumps(machine),
                    "RoleArn": "arn:aws:iam::123456789012:role/sfn"}},
            })
            sfn = boto3.client("stepfunctions")
            arn = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
            sfn.start_execution(stateMachineArn=arn)
            ssm = boto3.client("ssm")
            ssm.put_parameter(Name="p", Value="v", Type="String")
            print(json.dumps({"status": status, "loaded": loaded()}))
        """
    )
    assert result == {"status": "CREATE_COMPLETE", "loaded": []}


def test_with_the_fills_a_template_with_an_ec2_type_loads_ec2_and_deploys_it() -> None:
    result = _run(
        """
        with mock_aws(config=MOTO_CONFIG), install_gap_fills(FunctionRegistry()):
            status = create_stack({
                "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.7.0.0/16"}},
                "Queue": {"Type": "AWS::SQS::Queue"},
            })
            vpcs = boto3.client("ec2").describe_vpcs()["Vpcs"]
            print(json.dumps({"status": status, "cidrs": sorted(v["CidrBlock"] for v in vpcs),
                              "ec2": "ec2" in loaded(), "autoscaling": "autoscaling" in loaded()}))
        """
    )
    assert result["status"] == "CREATE_COMPLETE"
    assert "10.7.0.0/16" in result["cidrs"]  # type: ignore[operator]
    assert result["ec2"] is True
    assert result["autoscaling"] is False


def test_with_the_fills_a_name_bound_before_the_package_ran_loads_it_when_used() -> None:
    result = _run(
        """
        with mock_aws(config=MOTO_CONFIG), install_gap_fills(FunctionRegistry()):
            import moto.ssm.models as ssm_models
            before = loaded()
            regions = ssm_models.ec2_backends["123456789012"]["us-east-1"].describe_regions()
            print(json.dumps({"before": before, "after": loaded(), "regions": len(regions)}))
        """
    )
    assert result["before"] == []
    assert "ec2" in result["after"]  # type: ignore[operator]
    assert int(result["regions"]) > 10  # type: ignore[call-overload]


def test_the_namespace_map_names_the_package_of_every_resource_type_it_defers() -> None:
    result = _run(
        """
        import moto.cloudformation.parsing as parsing
        by_namespace = {}
        for model in parsing.get_model_list():
            resource_type = model.cloudformation_type()
            if resource_type == "AWS::SERVICE::RESOURCE":  # moto's default: a model without a type
                continue
            namespace = "::".join(resource_type.split("::")[:2])
            by_namespace.setdefault(namespace, set()).add(model.__module__.split(".")[1])
        print(json.dumps({k: sorted(v) for k, v in by_namespace.items()}))
        """
    )
    lazy = set(LAZY_PACKAGES)
    deferred = {namespace: packages for namespace, packages in result.items() if set(packages) & lazy}  # type: ignore[arg-type]
    assert deferred == {namespace: [package] for namespace, package in CFN_NAMESPACES.items()}


def _kms_key(key_id: str) -> object:
    from moto.kms.models import kms_backends

    return kms_backends["123456789012"]["us-east-1"].keys[key_id]


def test_raw_moto_generates_a_key_pair_for_a_symmetric_key(raw_moto: None) -> None:
    import boto3
    from moto.kms.utils import RSAPrivateKey

    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert isinstance(_kms_key(key_id).private_key, RSAPrivateKey)  # type: ignore[attr-defined]


def test_with_the_fills_a_symmetric_key_gets_its_key_pair_on_first_use(fills: object) -> None:
    import boto3
    from moto.kms.utils import ECDSAPrivateKey

    from mlcp_cli.emulator.gaps.kms import KeyPairOnFirstUse

    kms = boto3.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = _kms_key(key_id).private_key  # type: ignore[attr-defined]
    assert isinstance(pair, KeyPairOnFirstUse)
    assert not pair.generated
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"audit")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"audit"
    assert not pair.generated  # encryption never needed it
    assert pair.public_key() is not None
    assert pair.generated
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert isinstance(_kms_key(signing).private_key, ECDSAPrivateKey)  # type: ignore[attr-defined]
