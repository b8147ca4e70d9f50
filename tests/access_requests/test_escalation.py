"""Privilege escalation: the table of actions that can mint or widen permissions, the finding on a
request that asks for one, and the platform admin's approval it needs on top of the account's
quorum, through the services, the pages and the API. The worker's side is in
tests/integration/test_escalation.py."""

import importlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.selectors import access_requests_awaiting
from access_requests.services import (
    access_request_approve,
    access_request_edit,
    access_request_reject,
    grant_extension_request,
)
from access_requests.services.decisions import quorum
from core.errors import ServiceError
from notifications import messages
from notifications.selectors import approvers_of
from policy.catalog import action_lookup, actions_at_level
from policy.escalation import (
    CODE,
    CODE_AS_ROLE_ACTIONS,
    IDENTITY_ACTIONS,
    RESOURCE_POLICY_ACTIONS,
    WITH_PASS_ROLE_ACTIONS,
    privilege_escalations,
)
from provisioning.models import Grant
from tests.api.conftest import api_for
from tests.factories import TABLE_ARN, submitted
from tests.test_pages import client_for

APP_ROLE = "arn:aws:iam::999999999999:role/SomeAppRole"
PASS_ROLE = {"actions": ["iam:PassRole"], "resources": [APP_ROLE]}


def escalation_findings(access_request: AccessRequest) -> list[dict]:
    return [f for f in access_request.findings if f["code"] == CODE]


# --- The table ---------------------------------------------------------------------------------


def test_every_listed_action_is_in_the_catalog_as_spelled():
    """A typo in the table would silently let its action through."""
    for table in (IDENTITY_ACTIONS, CODE_AS_ROLE_ACTIONS, WITH_PASS_ROLE_ACTIONS):
        for action, reason in table.items():
            found = action_lookup(action)
            assert found is not None and found.qualified == action, action
            assert reason
    for action in RESOURCE_POLICY_ACTIONS:
        assert action_lookup(action).qualified == action


@pytest.mark.parametrize(
    "action",
    [
        "iam:PutRolePolicy",
        "iam:PassRole",
        "iam:CreatePolicyVersion",
        "iam:UpdateAssumeRolePolicy",
        "iam:CreateAccessKey",
        "sts:AssumeRole",
        "lambda:UpdateFunctionCode",
        "ssm:SendCommand",
        "s3:PutBucketPolicy",
        "s3:PutObjectAcl",
        "kms:PutKeyPolicy",
        "kms:CreateGrant",
        "sqs:SetQueueAttributes",
        "secretsmanager:PutResourcePolicy",
    ],
)
def test_the_specs_examples_and_the_resource_policy_writers_are_escalations(action):
    [escalation] = privilege_escalations([action])
    assert escalation.action == action
    assert len(escalation.reason) > 20


@pytest.mark.parametrize(
    "action",
    [
        # The catalog calls these Write, yet each hands out permissions: a permission set in an
        # account, a group's assignments, a Kubernetes cluster (its pods' roles), a Studio
        # profile's execution role.
        "sso:CreateAccountAssignment",
        "identitystore:CreateGroupMembership",
        # The same through a Managed Microsoft AD that Identity Center takes its users from;
        # IAM Roles Anywhere's trust anchors and profiles, which mint sessions of roles.
        "ds-data:AddGroupMember",
        "ds:ResetUserPassword",
        "rolesanywhere:UpdateTrustAnchor",
        "rolesanywhere:CreateProfile",
        "eks:CreateAccessEntry",
        "eks:AssociateAccessPolicy",
        "sagemaker:CreatePresignedDomainUrl",
    ],
)
def test_write_level_actions_that_hand_out_permissions_are_escalations(action):
    assert action_lookup(action).access_level == "Write"
    [escalation] = privilege_escalations([action])
    assert escalation.action == action and "Permissions management" not in escalation.reason


def test_every_permissions_management_action_of_the_catalog_counts():
    managed = actions_at_level("Permissions management")
    assert len(managed) > 400 and "iam:CreateRole" in managed
    assert {e.action for e in privilege_escalations(managed)} == set(managed)
    [create_role] = privilege_escalations(["iam:CreateRole"])
    assert "Permissions management" in create_role.reason


@pytest.mark.parametrize(
    "action",
    [
        # What ssm:SendCommand does, by a State Manager association; a state machine's or a
        # notebook's code replaced, which then runs with its role. None needs iam:PassRole.
        "ssm:CreateAssociation",
        "ssm:UpdateAssociation",
        "states:UpdateStateMachine",
        "sagemaker:UpdateNotebookInstanceLifecycleConfig",
    ],
)
def test_running_other_code_as_an_existing_role_is_an_escalation_by_any_door(action):
    [escalation] = privilege_escalations([action])
    assert escalation.action == action and "Permissions management" not in escalation.reason


def test_data_plane_reads_and_writes_are_not_escalations():
    plain = ["dynamodb:GetItem", "dynamodb:PutItem", "s3:GetObject", "sqs:SendMessage"]
    assert privilege_escalations(plain) == []


def test_starting_a_service_with_a_role_counts_only_with_pass_role():
    assert privilege_escalations(["ec2:RunInstances", "lambda:CreateFunction"]) == []
    paired = ["ec2:RunInstances", "iam:PassRole", "lambda:CreateFunction"]
    found = privilege_escalations(paired)
    assert [e.action for e in found] == paired
    assert "with iam:PassRole" in found[0].reason


def test_wildcards_count_when_they_match_a_listed_action():
    """Case-insensitive, `*` and `?` as IAM matches them."""
    [puts] = privilege_escalations(["S3:put*"])
    assert "s3:PutBucketPolicy" in puts.reason
    assert [e.action for e in privilege_escalations(["iam:Pass?ole", "*"])] == [
        "iam:Pass?ole",
        "*",
    ]
    # A wildcard on iam:PassRole pairs with the services it hands roles to.
    assert [e.action for e in privilege_escalations(["iam:*", "ec2:RunInstances"])] == [
        "iam:*",
        "ec2:RunInstances",
    ]
    assert privilege_escalations(["s3:Get*", "dynamodb:*Item"]) == []


# --- The finding and the admin's approval ------------------------------------------------------


def test_a_pass_role_request_carries_the_finding_with_its_reason(demo):
    access_request = submitted(demo, **PASS_ROLE)
    assert access_request.privilege_escalation
    [finding] = escalation_findings(access_request)
    assert finding["severity"] == "warning" and finding["field"] == "actions"
    assert finding["message"].startswith("iam:PassRole: hands a role to a service")
    assert access_request.findings[0] == finding, "listed first: it decides who must approve"


def test_a_plain_request_has_no_such_finding_and_needs_only_bob(demo):
    access_request = submitted(demo)
    assert not access_request.privilege_escalation
    assert escalation_findings(access_request) == []
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "approved"


def test_bob_alone_leaves_an_escalation_pending_and_the_admin_completes_it(demo):
    access_request = submitted(demo, **PASS_ROLE)
    assert quorum(access_request) == (
        False,
        "1 more approval of data and an approval of a platform admin (privilege escalation)",
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "pending"
    assert not Grant.objects.filter(access_request=access_request).exists()
    assert quorum(access_request) == (
        False,
        "an approval of a platform admin (privilege escalation)",
    )
    access_request_approve(access_request=access_request, approver=demo.admin)
    assert access_request.status == "approved"
    assert Grant.objects.filter(access_request=access_request).count() == 1


def test_the_admin_alone_is_not_the_accounts_quorum(demo):
    access_request = submitted(demo, **PASS_ROLE)
    access_request_approve(access_request=access_request, approver=demo.admin)
    assert access_request.status == "pending"
    assert quorum(access_request)[1] == "1 more approval of data"
    access_request_approve(access_request=access_request, approver=demo.carol)
    assert access_request.status == "approved"


def test_an_admin_who_also_approves_for_the_account_counts_once(demo):
    """On top of the quorum: the admin's approval is not also one of the account's N."""
    demo.admin.groups.add(demo.data.approver_group)
    access_request = submitted(demo, **PASS_ROLE)
    access_request_approve(access_request=access_request, approver=demo.admin)
    assert access_request.status == "pending"
    assert quorum(access_request)[1] == (
        "1 more approval of data (one person's approval counts once)"
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "approved"


def test_escalation_with_two_party_approval_needs_three_people(demo, django_user_model):
    group = Group.objects.create(name="dev-approvers")
    demo.dev.approver_group, demo.dev.source_approval_required = group, True
    demo.dev.save()
    dana = django_user_model.objects.create_user("dana", password="dana-pass-123")
    dana.groups.add(group)
    access_request = submitted(demo, **PASS_ROLE)
    assert quorum(access_request)[1] == (
        "1 more approval of data, an approval of dev (two-party approval) and an approval of a "
        "platform admin (privilege escalation)"
    )
    for approver in (demo.bob, dana):
        access_request_approve(access_request=access_request, approver=approver)
        assert access_request.status == "pending"
    access_request_approve(access_request=access_request, approver=demo.admin)
    assert access_request.status == "approved"


def test_an_admin_cannot_approve_their_own_escalation(demo):
    # An admin who is also a developer may ask under the `data` rule, as any developer.
    demo.admin.groups.add(Group.objects.get(name="developers"))
    access_request = submitted(demo, requester=demo.admin, **PASS_ROLE)
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=access_request, approver=demo.admin)
    assert refused.value.kind == "forbidden"
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "pending", "another admin must approve"
    assert not access_request.approvals.filter(approver=demo.admin).exists()


def test_an_admin_outside_the_approver_group_decides_only_escalations(demo):
    plain = submitted(demo)
    with pytest.raises(ServiceError) as refused:
        access_request_approve(access_request=plain, approver=demo.admin)
    assert refused.value.kind == "forbidden"
    escalation = submitted(demo, **PASS_ROLE)
    access_request_reject(access_request=escalation, approver=demo.admin, reason="Too broad")
    assert escalation.status == "rejected"


def test_an_admins_approval_counts_only_for_the_documents_it_saw(demo):
    access_request = submitted(demo, **PASS_ROLE)
    access_request_approve(access_request=access_request, approver=demo.admin)
    fields = {"resources": [APP_ROLE.replace("SomeAppRole", "OtherRole")], "duration": 3600}
    access_request_edit(
        access_request=access_request,
        user=demo.alice,
        actions=["iam:PassRole"],
        justification="another role",
        **fields,
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "pending", "the admin approved the earlier documents"


def test_an_edit_to_plain_actions_drops_the_finding_and_the_admin(demo):
    access_request = submitted(demo, **PASS_ROLE)
    access_request_edit(
        access_request=access_request,
        user=demo.alice,
        actions=["dynamodb:GetItem"],
        resources=[TABLE_ARN],
        duration=3600,
        justification="only reads after all",
    )
    access_request.refresh_from_db()
    assert not access_request.privilege_escalation and escalation_findings(access_request) == []
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "approved"


def test_extending_an_escalation_needs_an_admin_again(demo):
    access_request = submitted(demo, **PASS_ROLE)
    for approver in (demo.bob, demo.admin):
        access_request_approve(access_request=access_request, approver=approver)
    grant = Grant.objects.get(access_request=access_request)
    grant.expires_at = timezone.now() + timedelta(hours=1)
    grant.save()
    AccessRequest.objects.filter(pk=access_request.pk).update(status="active")
    extension = grant_extension_request(
        grant=grant, user=demo.alice, duration=3600, justification="the deploy runs late"
    )
    assert extension.privilege_escalation and escalation_findings(extension)
    access_request_approve(access_request=extension, approver=demo.bob)
    assert extension.status == "pending"
    access_request_approve(access_request=extension, approver=demo.admin)
    assert extension.status == "extended"


def test_requests_stored_before_the_check_are_marked_by_the_migration(demo):
    """A pending escalation submitted before this check still waits for an admin."""
    from django.apps import apps

    backfill = importlib.import_module(
        "access_requests.migrations.0007_privilege_escalation"
    ).requests_marked
    old, plain = submitted(demo, **PASS_ROLE), submitted(demo)
    lint = [f for f in old.findings if f["code"] != CODE]
    AccessRequest.objects.filter(pk=old.pk).update(privilege_escalation=False, findings=lint)
    backfill(apps, None)
    old.refresh_from_db()
    assert old.privilege_escalation and [f["code"] for f in old.findings][0] == CODE
    assert len(escalation_findings(old)) == 1
    backfill(apps, None)  # run again: nothing doubles
    old.refresh_from_db()
    assert len(escalation_findings(old)) == 1
    plain.refresh_from_db()
    assert not plain.privilege_escalation
    access_request_approve(access_request=old, approver=demo.bob)
    assert old.status == "pending"


def test_admins_are_asked_and_find_escalations_in_their_inbox(demo):
    plain, escalation = submitted(demo), submitted(demo, **PASS_ROLE)
    assert list(access_requests_awaiting(user=demo.admin)) == [escalation]
    assert set(access_requests_awaiting(user=demo.bob)) == {plain, escalation}
    assert demo.admin in approvers_of(access_request=escalation)
    assert demo.admin not in approvers_of(access_request=plain)
    access_request_approve(access_request=escalation, approver=demo.admin)
    assert list(access_requests_awaiting(user=demo.admin)) == []


def test_the_deciders_email_warns_and_names_each_action_with_its_reason(demo):
    escalation = submitted(demo, **PASS_ROLE)
    facts = messages.facts_from(escalation)
    asked = messages.email("request.submitted", facts, base_url="https://portal.example")
    assert "Privilege escalation: these actions can mint or widen permissions" in asked.body
    assert "  - iam:PassRole: hands a role to a service" in asked.body
    approved = messages.email("request.approved", facts, base_url="https://portal.example")
    assert "Privilege escalation" not in approved.body
    payload = messages.webhook_payload("request.submitted", facts, base_url="https://x")
    assert "privilege escalation: a platform admin must approve" in payload["text"]
    plain = messages.email("request.submitted", messages.facts_from(submitted(demo)), base_url="x")
    assert "Privilege escalation" not in plain.body


# --- What approvers see ------------------------------------------------------------------------


def test_the_request_page_shows_the_finding_and_what_is_still_needed(demo):
    access_request = submitted(demo, **PASS_ROLE)
    access_request_approve(access_request=access_request, approver=demo.bob)
    html = client_for(demo.admin).get(reverse("request_detail", args=[access_request.pk]))
    html = html.content.decode()
    assert 'aria-label="Privilege escalation"' in html
    assert "iam:PassRole: hands a role to a service" in html
    assert "Waiting for an approval of a platform admin (privilege escalation)." in html
    assert "and one of a platform admin besides (privilege escalation)" in html
    assert f'action="/requests/{access_request.pk}/approve/"' in html
    plain = client_for(demo.bob).get(reverse("request_detail", args=[submitted(demo).pk]))
    assert "Privilege escalation" not in plain.content.decode()


def test_the_inbox_and_the_list_flag_the_escalation(demo):
    escalation, plain = submitted(demo, **PASS_ROLE), submitted(demo)
    inbox = client_for(demo.bob).get(reverse("inbox")).content.decode()
    assert inbox.count("privilege escalation</span>") == 1
    assert inbox.count('aria-label="Privilege escalation"') == 1
    assert "iam:PassRole: hands a role to a service" in inbox
    listing = client_for(demo.alice).get(reverse("request_list")).content.decode()
    assert listing.count("privilege escalation</span>") == 1
    assert f"#{escalation.pk}" in listing and f"#{plain.pk}" in listing


def test_the_preview_warns_before_submit(demo):
    form = {
        "source_account": "111111111111",
        "target_account": "999999999999",
        "actions": "iam:PassRole",
        "resources": APP_ROLE,
        "access_via": "portal",
        "duration": "3600",
        "justification": "deploy",
    }
    html = client_for(demo.alice).post(reverse("request_preview"), form).content.decode()
    assert "A platform admin must approve too" in html
    assert "iam:PassRole: hands a role to a service" in html
    # Said as soon as the actions are known, whatever else is still missing.
    unfinished = form | {"justification": "", "duration": ""}
    html = client_for(demo.alice).post(reverse("request_preview"), unfinished).content.decode()
    assert "Say why you need this access." in html
    assert "A platform admin must approve too" in html


def test_the_api_body_carries_the_finding_and_the_admin_approves_through_it(demo):
    access_request = submitted(demo, **PASS_ROLE)
    url = f"/api/v1/requests/{access_request.pk}/"
    body = api_for(demo.bob).get(url).json()
    [finding] = [f for f in body["findings"] if f["code"] == "privilege-escalation"]
    assert finding["message"].startswith("iam:PassRole:")
    assert api_for(demo.bob).post(url + "approve/", {}, format="json").status_code == 200
    assert api_for(demo.bob).get(url).json()["status"] == "pending"
    approved = api_for(demo.admin).post(
        url + "approve/", {"documents_hash": body["documents_hash"]}, format="json"
    )
    assert approved.status_code == 200
    assert api_for(demo.admin).get(url).json()["status"] == "approved"
    plain = api_for(demo.bob).get(f"/api/v1/requests/{submitted(demo).pk}/").json()
    assert [f for f in plain["findings"] if f["code"] == "privilege-escalation"] == []
