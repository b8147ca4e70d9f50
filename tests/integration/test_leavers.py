"""Leavers, for real: a deactivation (SCIM from an identity provider, or the admin's action) cuts
the person's API token and web session at once, cancels their pending request and revokes their
live grant through the normal revocation task on the real worker, so the role is gone from the
emulator. Reactivating them afterwards brings none of it back.

The hole this closes: deactivating a user in /admin/ only set the flag. Their grants stayed live
in AWS until they expired, their pending requests could still be approved into new grants, and
their token and session came back the moment anyone reactivated the account.
"""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import emulator_client
from tests.api.conftest import api_for
from tests.factories import submitted
from tests.support import wait_until

SCIM_TOKEN = "scim-test-token-7c1d0f5e9a8b4c2d"
OKTA_DEACTIVATE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}
ENTRA_REACTIVATE = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "Replace", "path": "active", "value": "True"}],
}


def status_of(access_request: AccessRequest) -> str:
    return AccessRequest.objects.get(pk=access_request.pk).status


def portal_roles(emulator) -> list[str]:
    iam = emulator_client("iam", account_id="999999999999", region="us-east-1")
    return [role["RoleName"] for role in iam.list_roles(PathPrefix="/portal/")["Roles"]]


class Alice:
    """alice holds an active grant (its role in the emulator), a pending request, an API token
    that works and a signed-in browser session; bob is signed in too."""

    def __init__(self, demo, emulator) -> None:
        self.demo, self.emulator = demo, emulator
        self.granted = submitted(demo, justification="the live grant")
        access_request_approve(access_request=self.granted, approver=demo.bob)
        wait_until(lambda: status_of(self.granted) == "active", what="activation")
        assert f"portal-access-{self.granted.pk}" in portal_roles(emulator)
        self.pending = submitted(demo, justification="still pending")
        self.browser = Client()
        signed_in = self.browser.post(
            "/accounts/login/", {"username": "alice", "password": "alice-demo"}
        )
        assert signed_in.status_code == 302
        assert self.browser.get("/requests/").status_code == 200
        self.api = api_for(demo.alice)
        assert self.api.get("/api/v1/requests/").status_code == 200
        self.onlooker = Client()
        self.onlooker.force_login(demo.bob)

    def signed_out(self) -> bool:
        """Her browser's next request is sent to the sign-in page."""
        response = self.browser.get("/requests/")
        return response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def assert_cut_off(self) -> None:
        """Everything of alice's has ended; bob's session is untouched."""
        assert status_of(self.pending) == "cancelled"
        assert not Token.objects.filter(user=self.demo.alice).exists()
        assert self.api.get("/api/v1/requests/").status_code == 401
        assert self.signed_out()
        assert self.onlooker.get("/requests/").status_code == 200
        wait_until(lambda: status_of(self.granted) == "revoked", what="the revoke on the worker")
        assert f"portal-access-{self.granted.pk}" not in portal_roles(self.emulator)


@pytest.mark.django_db(transaction=True)
def test_scim_deactivation_cuts_everything_and_reactivation_brings_none_back(
    aws_demo, worker, emulator, settings
):
    demo = aws_demo
    settings.PORTAL_SCIM_TOKEN = SCIM_TOKEN
    alice = Alice(demo, emulator)
    scim = Client(headers={"Authorization": f"Bearer {SCIM_TOKEN}"})

    found = scim.get("/scim/v2/Users", {"filter": 'userName eq "Alice"'}).json()
    assert found["totalResults"] == 1
    user_id = found["Resources"][0]["id"]
    assert user_id == str(demo.alice.pk)

    response = scim.patch(
        f"/scim/v2/Users/{user_id}", OKTA_DEACTIVATE, content_type="application/scim+json"
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/scim+json"
    assert response.json()["active"] is False
    alice.assert_cut_off()

    event = AuditEvent.objects.get(verb="user.deactivated")
    assert event.actor is None
    assert event.after["via"] == "scim"
    assert event.after["tokens_deleted"] == 1
    assert event.after["sessions_ended"] == 1
    assert event.after["grants_revoked"] == [alice.granted.grant.pk]
    assert event.after["requests_cancelled"] == [alice.pending.pk]

    # The identity provider re-enables her: she may sign in again, but nothing old comes back.
    response = scim.patch(
        f"/scim/v2/Users/{user_id}", ENTRA_REACTIVATE, content_type="application/scim+json"
    )
    assert response.status_code == 200 and response.json()["active"] is True
    assert User.objects.get(pk=demo.alice.pk).is_active
    assert alice.signed_out()
    assert alice.api.get("/api/v1/requests/").status_code == 401
    assert status_of(alice.granted) == "revoked" and status_of(alice.pending) == "cancelled"
    assert AuditEvent.objects.filter(verb="user.reactivated", actor=None).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_admin_action_deactivates_the_same_way(aws_demo, worker, emulator):
    demo = aws_demo
    alice = Alice(demo, emulator)
    admin = Client()
    admin.force_login(demo.admin)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "deactivate", "index": "0", "_selected_action": [str(demo.alice.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Deactivated alice: 1 API token(s) deleted, 1 session(s) ended" in response.content
    assert not User.objects.get(pk=demo.alice.pk).is_active
    alice.assert_cut_off()
    event = AuditEvent.objects.get(verb="user.deactivated")
    assert event.actor == demo.admin and event.after["via"] == "admin"
    revoking = AuditEvent.objects.get(verb="grant.revoking", access_request=alice.granted)
    assert revoking.actor == demo.admin
