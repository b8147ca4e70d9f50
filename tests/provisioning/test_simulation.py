"""Policy intelligence wired into the portal: simulation before approval and after provisioning,
SCPs first in the decision tree, and the "why is this denied?" page and API."""

import pytest
from django.test import Client
from django.urls import reverse

from access_requests.services import access_request_approve
from core.errors import ServiceError
from provisioning import failure, services
from provisioning.models import Grant
from tests.factories import submitted

TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"
ORDERS = "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"


def test_the_articles_role_is_simulated_allowed_before_approval(demo):
    access_request = submitted(demo)
    simulation = access_request.simulation
    assert simulation["decision"] == "Allowed"
    checked = [(c["action"], c["resource"]) for c in simulation["checks"]]
    assert checked[0][0] == "sts:AssumeRole"
    assert ("dynamodb:GetItem", TABLE) in checked
    assert access_request.findings == []


def test_a_bucket_policy_grant_is_simulated_cross_account(aws_demo):
    access_request = submitted(
        aws_demo,
        access_via="own_identity",
        source_principal="arn:aws:iam::111111111111:role/DataAnalyst",
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/*"],
    )
    assert access_request.mechanism == "resource_policy"
    assert access_request.simulation["decision"] == "Allowed"
    layers = {layer["layer"] for layer in access_request.simulation["checks"][0]["layers"]}
    assert {"identity", "resource"} <= layers


def test_an_scp_denial_blocks_every_mechanism_and_names_the_scp(demo):
    with pytest.raises(ServiceError) as refused:
        submitted(demo, target_account=demo.prod, actions=["dynamodb:Scan"], resources=[ORDERS])
    message = " ".join(refused.value.field_errors["actions"])
    assert "DenyProdTableScans (ou-prod) denies dynamodb:Scan in prod" in message


def test_after_provisioning_the_read_back_documents_are_simulated(aws_demo):
    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    assert grant.verification["simulation"]["decision"] == "Allowed"


def test_why_denied_explains_from_the_grants_the_user_can_see(aws_demo):
    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    session = f"arn:aws:sts::999999999999:assumed-role/portal-access-{access_request.pk}/alice"
    client = Client()
    client.force_login(aws_demo.alice)
    allowed = client.get(
        reverse("why_denied"),
        {"principal": session, "action": "dynamodb:GetItem", "resource": TABLE},
    )
    assert allowed.context["result"].evaluation.decision == "Allowed"
    denied = client.get(
        reverse("why_denied"),
        {"principal": session, "action": "dynamodb:PutItem", "resource": TABLE},
    )
    assert denied.context["result"].evaluation.decision == "ImplicitlyDenied"
    considered = " ".join(denied.context["result"].considered)
    assert f"policies of role portal-access-{access_request.pk}" in considered
    assert "as AWS holds them now" in considered
    assert any("request access" in fix for fix in denied.context["result"].fixes)

    # The page reads AWS live: a policy removed outside the portal is seen at once.
    from aws import emulator_client

    emulator_client("iam", account_id="999999999999", region="us-east-1").delete_role_policy(
        RoleName=grant.role_name, PolicyName=grant.permission_policy_name
    )
    gone = client.get(
        reverse("why_denied"),
        {"principal": session, "action": "dynamodb:GetItem", "resource": TABLE},
    )
    assert gone.context["result"].evaluation.decision == "ImplicitlyDenied"


def test_the_simulate_api(demo):
    client = Client()
    client.force_login(demo.alice)
    body = {
        "request": {
            "principal": "arn:aws:sts::111111111111:assumed-role/Dev/alice",
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::mybucket/a.txt",
            "resource_account": "999999999999",
        },
        "identity_policies": [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ],
        "resource_policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Dev",
                    "Effect": "Allow",
                    "Principal": {"AWS": "111111111111"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::mybucket/*",
                }
            ],
        },
    }
    response = client.post(reverse("api_simulate"), body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["decision"] == "Allowed"
    body["resource_policy"] = None
    response = client.post(reverse("api_simulate"), body, content_type="application/json")
    assert response.json()["decision"] == "ImplicitlyDenied"
    bad = client.post(reverse("api_simulate"), {"request": {}}, content_type="application/json")
    assert bad.status_code == 400


def _active(demo, **overrides):
    access_request = submitted(demo, **overrides)
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    grant.refresh_from_db()
    return access_request, grant


def _asked(user, **query):
    client = Client()
    client.force_login(user)
    return client.get(reverse("why_denied"), query)


def _why(user, **query):
    response = _asked(user, **query)
    assert response.status_code == 200
    return response.context["result"]


def test_why_denied_names_an_scp_denial(demo):
    result = _why(
        demo.bob,
        principal="arn:aws:sts::222222222222:assumed-role/Analyst/alice",
        action="dynamodb:Scan",
        resource=ORDERS,
    )
    assert result.evaluation.decision == "ExplicitlyDenied"
    scp = result.evaluation.layer("scp")
    assert scp.verdict == "ExplicitlyDenied"
    assert any("NoFullTableScans" in statement for statement in scp.statements)


def test_why_denied_names_a_missing_resource_policy_side(aws_demo):
    access_request, _ = _active(
        aws_demo,
        access_via="own_identity",
        source_principal="arn:aws:iam::111111111111:role/DataAnalyst",
        actions=["s3:GetObject"],
        resources=["arn:aws:s3:::mybucket/*"],
    )
    allowed = _why(
        aws_demo.alice,
        principal="arn:aws:sts::111111111111:assumed-role/DataAnalyst/alice",
        action="s3:GetObject",
        resource="arn:aws:s3:::mybucket/README.txt",
    )
    assert allowed.evaluation.decision == "Allowed"
    # Another account's bucket she never asked for: its policy is not hers to read.
    elsewhere = _asked(
        aws_demo.alice,
        principal="arn:aws:sts::111111111111:assumed-role/DataAnalyst/alice",
        action="s3:GetObject",
        resource="arn:aws:s3:::prod-reports/reports/2026-11.csv",
    )
    assert elsewhere.status_code == 403
    services.grant_revoke_request(grant=access_request.grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=access_request.grant.pk)


def test_why_denied_names_a_missing_trust_and_a_wrong_external_id(aws_demo):
    _, grant = _active(aws_demo, third_party=True, external_id="vendor-given:7f3a")
    broker = "arn:aws:sts::111111111111:assumed-role/PortalBroker/access-portal-broker"
    right = _why(
        aws_demo.alice,
        principal=broker,
        action="sts:AssumeRole",
        resource=grant.role_arn,
        # The broker sets alice's name as the source identity; the trust policy requires it.
        context=f'{{"sts:ExternalId": "{grant.external_id}", "sts:SourceIdentity": "alice"}}',
    )
    assert right.evaluation.decision == "Allowed"
    # Of the broker role, every grant's identity policy sits on, only her own grant's is read.
    assert any(
        f"your grant's inline policy {grant.source_policy_name}" in c for c in right.considered
    )
    wrong = _why(
        aws_demo.alice,
        principal=broker,
        action="sts:AssumeRole",
        resource=grant.role_arn,
        context='{"sts:ExternalId": "guessed", "sts:SourceIdentity": "alice"}',
    )
    assert wrong.evaluation.decision == "ImplicitlyDenied"
    assert wrong.evaluation.layer("resource").verdict == "ImplicitlyDenied"
    # Someone else's role in another account is not hers to read, even against her own role.
    stranger = _asked(
        aws_demo.alice,
        principal="arn:aws:sts::222222222222:assumed-role/Someone/x",
        action="sts:AssumeRole",
        resource=grant.role_arn,
        context=f'{{"sts:ExternalId": "{grant.external_id}"}}',
    )
    assert stranger.status_code == 403
    # Her admin sees the whole picture: the trust policy does not name that principal.
    admin = _why(
        aws_demo.admin,
        principal="arn:aws:sts::222222222222:assumed-role/Someone/x",
        action="sts:AssumeRole",
        resource=grant.role_arn,
        context=f'{{"sts:ExternalId": "{grant.external_id}"}}',
    )
    assert admin.evaluation.decision == "ImplicitlyDenied"
    assert "trust policy" in " ".join(admin.considered)


def test_a_grant_that_would_not_work_is_never_verified(aws_demo):
    """An SCP added between approval and provisioning: the read-back simulation says no, and the
    grant fails with the reason instead of showing as verified."""
    from accounts.models import ServiceControlPolicy
    from aws import AwsError

    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    ServiceControlPolicy.objects.create(
        name="DenyReadsForNow",
        target="ou-data",
        document={
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Freeze", "Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": "*"}
            ],
        },
    )
    with pytest.raises(AwsError, match="would not work") as refused:
        services.grant_provision(grant_id=grant.pk)
    failure.grant_provision_failed(grant_id=grant.pk, message=str(refused.value))
    grant.refresh_from_db()
    assert grant.verified_at is None
    assert grant.access_request.status == "failed"
    assert "Freeze" in grant.last_error or "denied" in grant.last_error.lower()


def test_why_denied_is_not_a_window_into_everyones_policies(demo, django_user_model):
    stranger = django_user_model.objects.create_user("zed", password="zed-pass-12345")
    client = Client()
    client.force_login(stranger)
    response = client.get(
        reverse("why_denied"),
        {
            "principal": "arn:aws:iam::111111111111:role/PortalBroker",
            "action": "sts:AssumeRole",
            "resource": "arn:aws:iam::999999999999:role/portal/portal-access-1",
        },
    )
    assert response.status_code == 403


def test_why_denied_reads_only_what_the_asker_may_see(aws_demo):
    """alice has a live grant on MyTable. She may ask about it; not about a topic policy she never
    requested, another grant's role of the same name pattern, the shared broker role at large, or a
    request that was cancelled."""
    access_request, grant = _active(aws_demo)
    session = f"arn:aws:sts::999999999999:assumed-role/{grant.role_name}/alice"
    mine = _asked(aws_demo.alice, principal=session, action="dynamodb:GetItem", resource=TABLE)
    assert mine.status_code == 200

    topic = "arn:aws:sns:eu-central-1:999999999999:mytopic"
    assert (
        _asked(aws_demo.alice, principal=session, action="sns:Publish", resource=topic).status_code
        == 403
    )
    other_role = "arn:aws:iam::999999999999:role/portal/portal-access-999999"
    assert (
        _asked(
            aws_demo.alice, principal=other_role, action="dynamodb:GetItem", resource=TABLE
        ).status_code
        == 403
    )
    broker = "arn:aws:iam::111111111111:role/PortalBroker"
    other_grant = "arn:aws:iam::999999999999:role/portal/portal-access-999999"
    assert (
        _asked(
            aws_demo.alice, principal=broker, action="sts:AssumeRole", resource=other_grant
        ).status_code
        == 403
    )

    cancelled = submitted(
        aws_demo,
        resources=["arn:aws:sqs:eu-central-1:999999999999:myqueue"],
        actions=["sqs:SendMessage"],
    )
    services_cancel(cancelled, aws_demo.alice)
    assert (
        _asked(
            aws_demo.alice,
            principal=session,
            action="sqs:SendMessage",
            resource="arn:aws:sqs:eu-central-1:999999999999:myqueue",
        ).status_code
        == 403
    )

    # An approver asks about the accounts they approve for, and only those.
    assert (
        _asked(aws_demo.bob, principal=session, action="sns:Publish", resource=topic).status_code
        == 200
    )
    dev_role = "arn:aws:iam::111111111111:role/DataAnalyst"
    assert (
        _asked(aws_demo.bob, principal=dev_role, action="sns:Publish", resource=topic).status_code
        == 403
    )
    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)


def services_cancel(access_request, user):
    from access_requests.services import access_request_cancel

    access_request_cancel(access_request=access_request, user=user)
