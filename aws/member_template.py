"""The CloudFormation template every member account runs (a service-managed StackSet over the
organization): the boundary, the provisioner role and, in source accounts, the broker role.

Built from the very documents the demo world seeds and the provisioner-permission test
(tests/provisioning/test_provisioner_permissions.py) holds to every call the portal makes
(aws.demo_world.policies.provisioner_policy and policy.boundary.boundary_policy), so the
template cannot drift from the code. The account id and partition become CloudFormation's pseudo
parameters: the documents are built for the account id `${AWS::AccountId}` and every `arn:aws:`
becomes `arn:${AWS::Partition}:`, inside `Fn::Sub`.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html

Written in the long form of the intrinsic functions (`Fn::Sub`, `Fn::Equals`, `Ref`, a
resource's `Condition`; no YAML tags), which every YAML parser reads, the emulator's
CloudFormation included (it misreads the short form `!Condition`). Permissions go in
`AWS::IAM::Policy` resources, not a Role's `Policies` (the emulator reads those back as a Python
repr) nor `AWS::IAM::RolePolicy` (which it skips).
"""

from typing import Any

import yaml
from django.conf import settings

from aws.demo_world.policies import (
    BROKER_ROLE,
    PROVISIONER_POLICY,
    PROVISIONER_ROLE,
    provisioner_policy,
    tooling_trust_policy,
)
from policy.boundary import BOUNDARY_NAME, boundary_policy

ACCOUNT = "${AWS::AccountId}"
SOURCE_CONDITION = "IsSourceAccount"
# Role chaining caps the broker's sessions' sessions at an hour anyway (SPEC 2.1).
BROKER_SESSION_SECONDS = 3600


def _substituted(value: Any) -> Any:
    """The document with the partition as a pseudo parameter, and every string that names one
    (`${...}`) wrapped in Fn::Sub; other strings stay plain."""
    if isinstance(value, dict):
        return {key: _substituted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item) for item in value]
    if isinstance(value, str):
        text = value.replace("arn:aws:", "arn:${AWS::Partition}:")
        return {"Fn::Sub": text} if "${" in text else text
    return value


def _source_only_statements() -> list[dict[str, Any]]:
    """The statements a source account's provisioner has beyond a target's: the difference of the
    two documents provisioner_policy() builds, so nothing is listed twice by hand."""
    target = provisioner_policy(ACCOUNT)["Statement"]
    source = provisioner_policy(ACCOUNT, broker_role=BROKER_ROLE)["Statement"]
    return [statement for statement in source if statement not in target]


def _policy_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def member_template() -> dict[str, Any]:
    """The template as a mapping (dumped by member_template_yaml)."""
    path = settings.PORTAL_ROLE_PATH
    trust = tooling_trust_policy("arn:${AWS::Partition}:iam::${ToolingAccountId}:root")
    trust_document = {
        **trust,
        "Statement": [
            {**statement, "Principal": {"AWS": {"Fn::Sub": statement["Principal"]["AWS"]}}}
            for statement in trust["Statement"]
        ],
    }
    resources: dict[str, Any] = {
        "PortalGrantBoundary": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": BOUNDARY_NAME,
                "Path": path,
                "Description": "Access portal: the permissions boundary of every role it creates",
                "PolicyDocument": _substituted(boundary_policy(path=path)),
            },
        },
        "PortalProvisioner": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": PROVISIONER_ROLE,
                "Description": "Access portal: writes cross-account roles and their policies",
                "AssumeRolePolicyDocument": trust_document,
            },
        },
        "PortalProvisionerPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": PROVISIONER_POLICY,
                "Roles": [{"Ref": "PortalProvisioner"}],
                "PolicyDocument": _substituted(provisioner_policy(ACCOUNT)),
            },
        },
        "PortalProvisionerSourcePolicy": {
            "Type": "AWS::IAM::Policy",
            "Condition": SOURCE_CONDITION,
            "Properties": {
                "PolicyName": f"{PROVISIONER_POLICY}-source",
                "Roles": [{"Ref": "PortalProvisioner"}],
                "PolicyDocument": _substituted(_policy_document(_source_only_statements())),
            },
        },
        "PortalBroker": {
            "Type": "AWS::IAM::Role",
            "Condition": SOURCE_CONDITION,
            "Properties": {
                "RoleName": BROKER_ROLE,
                "Description": "Access portal: vends sessions to developers (role chaining)",
                "MaxSessionDuration": BROKER_SESSION_SECONDS,
                "AssumeRolePolicyDocument": trust_document,
            },
        },
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Access portal: its roles and permissions boundary in a member account "
        "(deploy as a service-managed StackSet over the organization).",
        "Parameters": {
            "ToolingAccountId": {
                "Type": "String",
                "AllowedPattern": r"^\d{12}$",
                "Description": "The account whose credentials the portal runs with.",
            },
            "SourceAccount": {
                "Type": "String",
                "AllowedValues": ["true", "false"],
                "Default": "false",
                "Description": '"true" where engineers come from: adds the broker role.',
            },
        },
        "Conditions": {SOURCE_CONDITION: {"Fn::Equals": [{"Ref": "SourceAccount"}, "true"]}},
        "Resources": resources,
        "Outputs": {
            "ProvisionerRoleArn": {"Value": {"Fn::GetAtt": ["PortalProvisioner", "Arn"]}},
            "BoundaryPolicyArn": {"Value": {"Ref": "PortalGrantBoundary"}},
        },
    }


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a repeated object out again instead of as a YAML alias: CloudFormation rejects
    aliases (cfn-lint W1101)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def member_template_yaml() -> str:
    """The template as YAML, in the order it is written above."""
    return yaml.dump(member_template(), Dumper=_NoAliasDumper, sort_keys=False, width=100)
