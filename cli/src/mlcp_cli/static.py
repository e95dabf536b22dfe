"""The translated CloudFormation template the static security checks read (checkov, template assertions).

``python -m mlcp_cli.static template.yaml OUT.json`` writes it. It is what ``sam deploy`` hands to
CloudFormation: the SAM template translated offline by aws-sam-translator, with each local code or
layer directory named by a placeholder S3 URI (nothing is uploaded) and each local ASL file inlined.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from mlcp_cli.emulator.stack import translate
from mlcp_cli.template import load_template

PLACEHOLDER_BUCKET = "mlcp-static-check"
#: aws-sam-translator resolves pseudo parameters from a boto3 session: it needs some region.
DEFAULT_REGION = "us-east-1"


def translated_template(path: str | Path, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation template ``path`` becomes once packaged and translated."""
    path = Path(path).resolve()
    template = copy.deepcopy(load_template(path))
    globals_fn = template.get("Globals", {}).get("Function", {})
    if isinstance(globals_fn.get("CodeUri"), str):
        globals_fn["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/{globals_fn['CodeUri']}"
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            value = props.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                props[key] = f"s3://{PLACEHOLDER_BUCKET}/{value.strip('/')}"
        definition_uri = props.get("DefinitionUri")
        if isinstance(definition_uri, str) and not definition_uri.startswith("s3://"):
            props["Definition"] = json.loads((path.parent / definition_uri).read_text(encoding="utf-8"))
            del props["DefinitionUri"]
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)
    try:
        return translate(template, dict(parameters or {}))
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m mlcp_cli.static TEMPLATE OUT.json", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(translated_template(argv[0]), indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
