"""The provisioner role's policy allows every AWS call the portal makes with it.

The emulator enforces no IAM, so a call the demo's (and the README's) provisioner policy forgets
would work here and fail on real AWS. This test runs the portal's work in every mechanism against
the emulator, records each call made with a provisioner role's credentials (a botocore
`before-parameter-build` hook on the portal's own clients: the calls still go to the emulator),
and asks our evaluator whether that account's provisioner policy allows the IAM action behind it.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings

import aws
from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from accounts.inventory import inventory_sync
from accounts.models import Account
from aws import core, emulator_client, iam, inventory, resource_policies, s3_acls
from aws.demo_world import provisioner_policy
from policy.boundary import boundary_arn
from policy.evaluation import PolicySet, RequestContext, evaluate
from provisioning import drift, services
from provisioning.models import Grant
from tests.factories import submitted

# Every module of the AWS package that makes calls (each imported client_for by name).
AWS_MODULES = (core, iam, inventory, resource_policies, s3_acls)
DATA = "999999999999"
DEV = "111111111111"
ANALYST = f"arn:aws:iam::{DEV}:role/DataAnalyst"
# Operations whose IAM action is not "<service>:<operation>".
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
ACTION_OF_OPERATION = {
    "s3:ListBuckets": "s3:ListAllMyBuckets",
    "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:ListObjects": "s3:ListBucket",
}
# Calls that need no permission. https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}


@pytest.fixture
def calls(monkeypatch) -> Iterator[list[tuple[str, str, dict, dict]]]:
    """(access key id, "<service>:<operation>", parameters, {"ok": whether AWS did it}) of each
    call of the portal's clients. The calls run one after another, so an answer belongs to the
    last call recorded."""
    recorded: list[tuple[str, str, dict, dict]] = []
    original = core.client_for
    hooks: dict[int, tuple[Any, Callable, Callable]] = {}

    def client_for(service, credentials=None, region=None):
        client = original(service, credentials, region)
        if credentials is not None and id(client) not in hooks:
            prefix = client.meta.service_model.signing_name

            def record(model, params, key=credentials.access_key_id, prefix=prefix, **_):
                recorded.append((key, f"{prefix}:{model.name}", dict(params), {"ok": None}))

            def answered(http_response, **_):
                recorded[-1][3]["ok"] = http_response.status_code < 300

            client.meta.events.register("before-parameter-build", record)
            client.meta.events.register("after-call", answered)
            hooks[id(client)] = (client, record, answered)
        return client

    for module in AWS_MODULES:
        monkeypatch.setattr(module, "client_for", client_for)
    yield recorded
    for client, record, answered in hooks.values():
        client.meta.events.unregister("before-parameter-build", record)
        client.meta.events.unregister("after-call", answered)


def _activate(demo, *, unbounded_role_first: bool = False, **fields) -> Grant:
    """An active grant. `unbounded_role_first`: its role is already there without the boundary
    (written before roles had one), so provisioning converges it."""
    access_request = submitted(
        demo, justification="what the provisioner must be allowed to do", **fields
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    if unbounded_role_first:
        emulator_client("iam", account_id=DATA).create_role(
            RoleName=grant.role_name,
            Path=settings.PORTAL_ROLE_PATH,
            AssumeRolePolicyDocument=json.dumps(
                access_request.documents["trust_policy"]["document"]
            ),
        )
    services.grant_provision(grant_id=grant.pk)
    assert AccessRequest.objects.get(pk=access_request.pk).status == "active", grant.last_error
    return grant


def _resource_of(account_id: str, action: str, params: dict) -> str:
    """The ARN the call acts on, as far as the policy's statements tell resources apart: IAM
    roles by path and name, managed policies (the boundary) by ARN, instance profiles
    (RemoveRoleFromInstanceProfile acts on the profile, not the role); the other statements allow
    "*", so any ARN in the account does."""
    if action == "iam:RemoveRoleFromInstanceProfile":
        return f"arn:aws:iam::{account_id}:instance-profile/{params['InstanceProfileName']}"
    if action.startswith("iam:") and "RoleName" in params:
        name = params["RoleName"]
        path = settings.PORTAL_ROLE_PATH if name.startswith("portal-access-") else "/"
        return f"arn:aws:iam::{account_id}:role{path}{name}"
    if action.startswith("iam:") and "PolicyArn" in params:
        return params["PolicyArn"]
    service = action.split(":", 1)[0]
    return f"arn:aws:{service}:{settings.AWS_REGION}:{account_id}:resource"


def _boundary_context(
    account_id: str, action: str, params: dict, ok: bool, boundaries: dict[tuple[str, str], str]
) -> dict[str, str]:
    """iam:PermissionsBoundary as IAM sets it: the boundary a CreateRole or
    PutRolePermissionsBoundary asks for, else the one the role carries, replayed from the calls
    that AWS carried out before this one (`boundaries`, updated here). Absent for a role without
    one (a role the portal did not create: none)."""
    role = (account_id, params.get("RoleName", ""))
    if action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary"):
        asked = params.get("PermissionsBoundary", "")
        if ok:
            boundaries[role] = asked
        return {"iam:PermissionsBoundary": asked} if asked else {}
    carried = boundaries.get(role, "")
    if action == "iam:DeleteRole" and ok:
        boundaries.pop(role, None)
    return {"iam:PermissionsBoundary": carried} if carried else {}


def test_the_provisioner_policy_allows_every_call_the_portal_makes(aws_demo, emulator, calls):
    data = aws_demo.data
    inventory_sync(account_id=data.pk)
    grants = [
        _activate(aws_demo, actions=["dynamodb:GetItem"], resources=[f"{_table()}"]),
        _activate(
            aws_demo,
            unbounded_role_first=True,
            actions=["dynamodb:Query"],
            resources=[f"{_table()}"],
        ),
        _activate(
            aws_demo,
            access_via="own_identity",
            actions=["s3:GetObject"],
            resources=["arn:aws:s3:::mybucket/*"],
        ),
        _activate(
            aws_demo,
            access_via="own_identity",
            source_principal=ANALYST,
            actions=["s3:GetObject"],
            resources=["arn:aws:s3:::mybucket/incoming/from-dev.csv"],
            mechanism="acl",
        ),
        # One statement in each of the other resource policies the portal writes.
        *(
            _activate(
                aws_demo,
                access_via="own_identity",
                source_principal=ANALYST,
                actions=[action],
                resources=[resource],
            )
            for action, resource in (
                ("sqs:SendMessage", f"arn:aws:sqs:eu-central-1:{DATA}:myqueue"),
                ("sns:Publish", f"arn:aws:sns:eu-central-1:{DATA}:mytopic"),
                ("kms:Decrypt", _key_arn()),
                ("secretsmanager:GetSecretValue", _secret_arn()),
            )
        ),
    ]
    # Someone attached a managed policy to the role and put it in an instance profile: revoke
    # detaches and takes it out before it deletes the role.
    _entangle(grants[0].role_name)
    for grant in grants:
        drift.grant_drift_check(grant_id=grant.pk)
        services.revoke_start(grant_id=grant.pk, user=None, end_status=Grant.EndStatus.REVOKED)
        services.grant_revoke(grant_id=grant.pk)
        assert AccessRequest.objects.get(pk=grant.access_request_id).status == "revoked"

    provisioners = {
        aws.role_credentials(account.provisioner_role_arn).access_key_id: account
        for account in Account.objects.exclude(provisioner_role_arn="")
    }
    checked: set[tuple[str, str, str, str]] = set()
    refused: list[str] = []
    boundaries: dict[tuple[str, str], str] = {}
    for key, operation, params, outcome in calls:
        account = provisioners.get(key)
        if account is None or operation in NO_PERMISSION_NEEDED:
            continue  # a vended session or the broker's: not the provisioner's calls
        action = ACTION_OF_OPERATION.get(operation, operation)
        resource = _resource_of(account.account_id, action, params)
        context = _boundary_context(
            account.account_id, action, params, bool(outcome["ok"]), boundaries
        )
        carried = context.get("iam:PermissionsBoundary", "")
        if (account.account_id, action, resource, carried) in checked:
            continue
        checked.add((account.account_id, action, resource, carried))
        broker = account.broker_role_arn.rsplit("/", 1)[1] if account.broker_role_arn else ""
        policy = provisioner_policy(account.account_id, broker_role=broker)
        principal = f"arn:aws:sts::{account.account_id}:assumed-role/PortalProvisioner/portal"
        verdict = evaluate(
            RequestContext(principal=principal, action=action, resource=resource, context=context),
            PolicySet(identity=[policy]),
        )
        if not verdict.allowed:
            refused.append(f"{account.account_id} {action} on {resource} ({verdict.explanation})")

    # The check has teeth: both accounts' provisioners made IAM writes (with the boundary, and
    # putting it on a role that lacked it), read the boundary back, and made resource-policy
    # writes, ACL writes and inventory reads.
    actions = {action for _, action, _, _ in checked}
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole"} <= actions, actions
    assert {"iam:PutRolePermissionsBoundary", "iam:GetPolicy", "iam:GetPolicyVersion"} <= actions
    bounded = {(action, carried) for _, action, _, carried in checked if carried}
    assert ("iam:CreateRole", boundary_arn(DATA)) in bounded, bounded
    assert ("iam:PutRolePolicy", boundary_arn(DATA)) in bounded, bounded
    assert {"iam:DetachRolePolicy", "iam:RemoveRoleFromInstanceProfile"} <= actions, actions
    assert {"s3:PutBucketPolicy", "s3:PutObjectAcl", "dynamodb:ListTables"} <= actions, actions
    assert {account for account, _, _, _ in checked} == {DATA, DEV}
    assert refused == [], "the provisioner policy does not allow:\n" + "\n".join(refused)


def _entangle(role_name: str) -> None:
    iam = emulator_client("iam", account_id=DATA, region="us-east-1")
    unique = uuid.uuid4().hex[:8]
    policy_arn = iam.create_policy(
        PolicyName=f"Attached-{unique}",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",'
        '"Resource":"*"}]}',
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    iam.create_instance_profile(InstanceProfileName=f"Profile-{unique}")
    iam.add_role_to_instance_profile(InstanceProfileName=f"Profile-{unique}", RoleName=role_name)


def _table() -> str:
    return f"arn:aws:dynamodb:eu-central-1:{DATA}:table/MyTable"


def _key_arn() -> str:
    kms = emulator_client("kms", account_id=DATA, region="eu-central-1")
    return kms.describe_key(KeyId="alias/mykey")["KeyMetadata"]["Arn"]


def _secret_arn() -> str:
    secrets = emulator_client("secretsmanager", account_id=DATA, region="eu-central-1")
    return secrets.describe_secret(SecretId="mysecret")["ARN"]
