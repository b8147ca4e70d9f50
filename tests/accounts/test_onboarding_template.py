"""The member accounts' CloudFormation template: lint-clean, the same documents as the code, and
deployed by the emulator's CloudFormation into a fresh account whose roles provision a grant."""

import json
import random
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from accounts.models import Account
from aws import emulator_client
from aws.demo_world import provisioner_policy
from aws.member_template import member_template, member_template_yaml
from policy.arns import role_arn
from policy.boundary import boundary_arn, boundary_policy
from provisioning import services
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import developers_may_ask, submitted

CFN_LINT = Path(sys.executable).with_name("cfn-lint")


def _resolved(value: Any, account_id: str) -> Any:
    """The template's document as CloudFormation resolves it in `account_id` (partition aws)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"].replace("${AWS::Partition}", "aws")
        return text.replace("${AWS::AccountId}", account_id)
    if isinstance(value, dict):
        return {key: _resolved(item, account_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, account_id) for item in value]
    return value


def test_the_template_passes_cfn_lint(tmp_path):
    path = tmp_path / "member.yaml"
    path.write_text(member_template_yaml())
    result = subprocess.run(  # noqa: S603 (our own venv's cfn-lint on our own file)
        [str(CFN_LINT), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational; none at all.
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_template_holds_the_documents_the_code_and_its_tests_use(db):
    account = "444455556666"
    resources = yaml.safe_load(member_template_yaml())["Resources"]
    boundary = resources["PortalGrantBoundary"]["Properties"]
    assert (boundary["ManagedPolicyName"], boundary["Path"]) == ("PortalGrantBoundary", "/portal/")
    assert _resolved(boundary["PolicyDocument"], account) == boundary_policy()
    target = _resolved(resources["PortalProvisionerPolicy"]["Properties"], account)
    assert target["PolicyDocument"] == provisioner_policy(account)
    source = _resolved(resources["PortalProvisionerSourcePolicy"]["Properties"], account)
    both = target["PolicyDocument"]["Statement"] + source["PolicyDocument"]["Statement"]
    assert both == provisioner_policy(account, broker_role="PortalBroker")["Statement"]
    assert resources["PortalBroker"]["Condition"] == "IsSourceAccount"
    assert resources["PortalProvisionerSourcePolicy"]["Condition"] == "IsSourceAccount"
    assert resources["PortalProvisioner"]["Properties"]["RoleName"] == "PortalProvisioner"
    assert "Condition" not in resources["PortalProvisioner"]
    # No `arn:aws:` written for a partition nobody looked up: CloudFormation fills it in.
    assert "arn:aws:" not in member_template_yaml()


def test_the_command_and_the_api_give_the_same_template(demo):
    out = StringIO()
    call_command("onboarding_template", stdout=out)
    assert out.getvalue() == member_template_yaml()
    response = api_for(demo.admin).get("/api/v1/onboarding/member-template/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response.content.decode() == member_template_yaml()
    assert api_for(demo.alice).get("/api/v1/onboarding/member-template/").status_code == 403


def _stack_create(account_id: str, *, source: bool) -> dict[str, str]:
    """Deploy the template as a StackSet instance would, in `account_id`; its outputs."""
    cloudformation = emulator_client("cloudformation", account_id=account_id)
    cloudformation.create_stack(
        StackName="StackSet-access-portal-member",
        TemplateBody=member_template_yaml(),
        Parameters=[
            {"ParameterKey": "ToolingAccountId", "ParameterValue": "123456789012"},
            {"ParameterKey": "SourceAccount", "ParameterValue": "true" if source else "false"},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    deadline = time.monotonic() + 60
    while True:
        stack = cloudformation.describe_stacks(StackName="StackSet-access-portal-member")
        status = stack["Stacks"][0]["StackStatus"]
        if status != "CREATE_IN_PROGRESS" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}


def fresh_account_id() -> str:
    """An account id nobody used in this emulator yet (moto makes an account on first use)."""
    return str(random.randint(400_000_000_000, 899_999_999_999))  # noqa: S311 (not a secret)


@pytest.mark.django_db(transaction=True)
def test_the_emulator_deploys_the_template_and_its_roles_provision_a_grant(aws_demo):
    account_id = fresh_account_id()
    outputs = _stack_create(account_id, source=False)
    assert outputs["BoundaryPolicyArn"] == boundary_arn(account_id)
    iam = emulator_client("iam", account_id=account_id)
    provisioner = iam.get_role(RoleName="PortalProvisioner")["Role"]
    trust = provisioner["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam::123456789012:root"
    written = iam.get_role_policy(RoleName="PortalProvisioner", PolicyName="portal-provisioner")
    assert written["PolicyDocument"] == provisioner_policy(account_id)
    assert iam.list_role_policies(RoleName="PortalProvisioner")["PolicyNames"] == [
        "portal-provisioner"
    ]
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="PortalBroker")  # not a source account
    # A grant into the new account, provisioned through the role the stack made.
    table = emulator_client("dynamodb", account_id=account_id)
    table.create_table(
        TableName="Onboarded",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    target = Account.objects.create(
        account_id=account_id,
        name="onboarded",
        provisioner_role_arn=role_arn(account_id=account_id, role_name="PortalProvisioner"),
        approver_group=aws_demo.data.approver_group,
    )
    developers_may_ask(account_id)
    access_request = submitted(
        aws_demo,
        target_account=target,
        resources=[f"arn:aws:dynamodb:{settings.AWS_REGION}:{account_id}:table/Onboarded"],
    )
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    assert AccessRequest.objects.get(pk=access_request.pk).status == "active", grant.last_error
    grant.refresh_from_db()
    role = iam.get_role(RoleName=grant.role_name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary_arn(account_id)


@pytest.mark.django_db(transaction=True)
def test_a_source_account_gets_the_broker_and_the_source_statements(emulator):
    account_id = fresh_account_id()
    _stack_create(account_id, source=True)
    iam = emulator_client("iam", account_id=account_id)
    broker = iam.get_role(RoleName="PortalBroker")["Role"]
    assert broker["MaxSessionDuration"] == 3600
    names = iam.list_role_policies(RoleName="PortalProvisioner")["PolicyNames"]
    assert sorted(names) == ["portal-provisioner", "portal-provisioner-source"]
    source = iam.get_role_policy(RoleName="PortalProvisioner", PolicyName=names[1])
    full = provisioner_policy(account_id, broker_role="PortalBroker")["Statement"]
    # The source account's own statements: its roles' identity policies, reading its roles'
    # managed policies (for "Will this work?"), and never the provisioner itself.
    assert source["PolicyDocument"]["Statement"] == full[len(full) - 3 :]


def test_member_template_is_a_mapping_of_the_resources_named_in_the_spec(settings):
    settings.PORTAL_ROLE_PATH = "/portal/"
    resources = member_template()["Resources"]
    assert set(resources) == {
        "PortalGrantBoundary",
        "PortalProvisioner",
        "PortalProvisionerPolicy",
        "PortalProvisionerSourcePolicy",
        "PortalBroker",
    }
