"""Applies the SAM transform to a template offline and writes the CloudFormation JSON.

Usage: python infra/tools/sam_transform.py OUTPUT.json [TEMPLATE.yaml]
(TEMPLATE defaults to infra/template.yaml.) Run with .tools/venv/bin/python, which has the
pinned aws-sam-translator. infra/lint then runs cfn-lint on OUTPUT, which sees what only
exists after the transform: the API's routes, integrations and permissions, the functions'
roles, and so dependency cycles between the HttpApi and the functions (E3004).

Offline: the region is fixed (no AWS config lookup), local CodeUris become placeholder S3
locations (as `sam build` and `sam package` would make them), and managed policy names are
resolved from the map bundled with samtranslator only; a name missing from it would need an
IAM call, so it fails the transform instead (use the policy's ARN).
"""

import json
import os
import sys
from pathlib import Path

REGION = "ca-central-1"
PLACEHOLDER_BUCKET = "sam-transform-placeholder"

# Pin the region before boto3 (imported by samtranslator) resolves one: samtranslator reads
# it from a boto3 session for AWS::Region and the partition. No credentials are needed.
os.environ["AWS_DEFAULT_REGION"] = REGION
os.environ["AWS_REGION"] = REGION
os.environ.pop("AWS_PROFILE", None)

from samtranslator.model.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.arn_generator import ArnGenerator  # noqa: E402
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

# The local artifact property of each packaged SAM resource type.
LOCAL_ARTIFACTS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}
GLOBALS_SECTION = {"AWS::Serverless::Function": "Function"}


class ManagedPolicyLookupNeeded(Exception):
    pass


class OfflineManagedPolicyLoader(ManagedPolicyLoader):
    """Called by samtranslator only for a policy name that is neither an ARN nor in its
    bundled map of AWS managed policies: resolving it would need iam:ListPolicies."""

    def __init__(self) -> None:  # no IAM client
        pass

    def load(self) -> dict[str, str]:
        raise ManagedPolicyLookupNeeded(
            "a Policies entry names a managed policy that samtranslator's bundled map does "
            "not know; resolving it needs IAM. Give the policy's ARN instead."
        )


def is_local(uri: object) -> bool:
    # Strings other than s3:// URIs are local paths; dicts ({Bucket, Key}) and intrinsics
    # are already S3 locations.
    return isinstance(uri, str) and not uri.startswith("s3://")


def use_placeholder_artifacts(template: dict) -> None:
    """Replace local CodeUri/ContentUri (the resource's own or inherited from Globals) with
    an S3 location, as `sam package` does with the uploaded zip."""
    globals_ = template.get("Globals") or {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        prop = LOCAL_ARTIFACTS.get(kind)
        if prop is None:
            continue
        props = resource.setdefault("Properties", {})
        if props.get("InlineCode") is not None or props.get("PackageType") == "Image":
            continue
        inherited = (globals_.get(GLOBALS_SECTION.get(kind, "")) or {}).get(prop)
        uri = props.get(prop, inherited)
        if is_local(uri):
            props[prop] = {"Bucket": PLACEHOLDER_BUCKET, "Key": f"{logical_id}.zip"}
    for section in set(GLOBALS_SECTION.values()):
        section_globals = globals_.get(section)
        if isinstance(section_globals, dict):
            for prop in LOCAL_ARTIFACTS.values():
                if is_local(section_globals.get(prop)):
                    del section_globals[prop]


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    output = Path(argv[1])
    source = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parents[1] / "template.yaml"

    try:
        template = yaml_parse(source.read_text(encoding="utf-8"))
    except Exception as error:  # yaml errors carry the line and column
        print(f"sam_transform: cannot load {source}: {error}", file=sys.stderr)
        return 1
    if not isinstance(template, dict):
        print(f"sam_transform: {source} is not a template (no top-level mapping)", file=sys.stderr)
        return 1
    use_placeholder_artifacts(template)

    ArnGenerator.BOTO_SESSION_REGION_NAME = REGION
    try:
        transformed = transform(template, {}, OfflineManagedPolicyLoader())
    except InvalidDocumentException as error:
        print(f"sam_transform: SAM transform of {source} failed:", file=sys.stderr)
        for cause in error.causes:
            print(f"  - {cause.message}", file=sys.stderr)
        return 1
    except ManagedPolicyLookupNeeded as error:
        print(f"sam_transform: SAM transform of {source} failed: {error}", file=sys.stderr)
        return 1

    output.write_text(json.dumps(transformed, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"sam_transform: {source} -> {output} ({len(transformed.get('Resources', {}))} resources, {REGION})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
