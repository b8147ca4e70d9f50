"""Deactivating a leaver through each way in: the admin's "Active" box, the API, and SCIM as
identity providers send it (what the real worker then does: tests/integration/test_leavers.py).

No worker runs here: a revoke shows as the grant moving to *revoking*, the queueing after the
commit is the worker's side."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from rest_framework.authtoken.models import Token

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from tests.api.conftest import api_for
from tests.audit.test_admin_changes import form_of, save
from tests.factories import submitted

SCIM_TOKEN = "scim-test-token-3b9f2c7d1e6a4f08"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def status_of(access_request: AccessRequest) -> str:
    return AccessRequest.objects.get(pk=access_request.pk).status


@pytest.fixture
def leaver(demo):
    """alice with an approved grant (not yet provisioned), a pending request, a token and a
    browser session."""
    granted = submitted(demo, justification="granted")
    access_request_approve(access_request=granted, approver=demo.bob)
    pending = submitted(demo, justification="pending")
    api = api_for(demo.alice)
    browser = Client()
    browser.force_login(demo.alice)
    return granted, pending, api, browser


def assert_cut_off(demo, leaver) -> None:
    granted, pending, api, browser = leaver
    assert not User.objects.get(pk=demo.alice.pk).is_active
    assert status_of(granted) == "revoking"
    assert status_of(pending) == "cancelled"
    assert api.get("/api/v1/requests/").status_code == 401
    assert not Token.objects.filter(user=demo.alice).exists()
    assert browser.get("/requests/").status_code == 302


# --- /admin/ ---------------------------------------------------------------------------------


def test_unticking_active_in_the_admin_deactivates_fully(demo, leaver):
    """The hole: the admin's "Active" box only set the flag; grants and requests went on."""
    admin = Client()
    admin.force_login(demo.admin)
    url = f"/admin/auth/user/{demo.alice.pk}/change/"
    data = form_of(admin, url)
    data.pop("is_active")
    save(admin, url, data)
    assert_cut_off(demo, leaver)
    event = AuditEvent.objects.get(verb="user.deactivated")
    assert event.actor == demo.admin
    assert event.before == {"is_active": True}
    assert event.after["via"] == "admin" and event.after["sessions_ended"] == 1


def test_only_platform_admins_deactivate_in_the_admin(demo, leaver):
    """A staff member who may edit users sees "Active" read-only and no Deactivate action."""
    staff = User.objects.create_user("stan", password="stan-test-pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client = Client()
    client.force_login(staff)
    changelist = client.get("/admin/auth/user/").content.decode()
    assert 'value="deactivate"' not in changelist
    form = form_of(client, f"/admin/auth/user/{demo.alice.pk}/change/")
    assert "is_active" not in form
    response = client.post(
        "/admin/auth/user/",
        {"action": "deactivate", "index": "0", "_selected_action": [str(demo.alice.pk)]},
    )
    assert response.status_code in (200, 302)
    assert User.objects.get(pk=demo.alice.pk).is_active


# --- POST /api/v1/users/{username}/deactivate/ ---------------------------------------------------


def test_the_api_deactivates_for_platform_admins_only(demo, leaver):
    for user in (demo.alice, demo.bob):
        response = api_for(user).post("/api/v1/users/carol/deactivate/")
        assert response.status_code == 403
        assert api_for(user).post("/api/v1/users/nobody/deactivate/").status_code == 403
    assert User.objects.get(username="carol").is_active
    admin = api_for(demo.admin)
    assert admin.post("/api/v1/users/nobody/deactivate/").status_code == 404
    assert admin.post("/api/v1/users/no%00body/deactivate/").status_code == 404  # not a 500
    response = admin.post("/api/v1/users/alice/deactivate/")
    assert response.status_code == 200
    granted, pending, _, _ = leaver
    assert response.json() == {
        "username": "alice",
        "was_active": True,
        "tokens_deleted": 1,
        "sessions_ended": 1,
        "requests_cancelled": [pending.pk],
        "grants_revoked": [granted.grant.pk],
    }
    assert_cut_off(demo, leaver)


def test_the_api_deactivation_is_idempotent(demo, leaver):
    admin = api_for(demo.admin)
    assert admin.post("/api/v1/users/alice/deactivate/").status_code == 200
    again = admin.post("/api/v1/users/alice/deactivate/")
    assert again.status_code == 200
    assert again.json() == {
        "username": "alice",
        "was_active": False,
        "tokens_deleted": 0,
        "sessions_ended": 0,
        "requests_cancelled": [],
        "grants_revoked": [],
    }
    assert_cut_off(demo, leaver)


def test_an_admin_cannot_deactivate_themselves(demo):
    response = api_for(demo.admin).post("/api/v1/users/admin/deactivate/")
    assert response.status_code == 403
    assert User.objects.get(username="admin").is_active


def test_only_the_leavers_sessions_end(demo):
    """Every session of the leaver (two browsers), none of anyone else's; gone for good, not just
    refused while she is inactive."""
    hers = [Client(), Client()]
    for client in hers:
        client.force_login(demo.alice)
    his = Client()
    his.force_login(demo.bob)
    response = api_for(demo.admin).post("/api/v1/users/alice/deactivate/")
    assert response.json()["sessions_ended"] == 2
    assert [client.get("/requests/").status_code for client in hers] == [302, 302]
    assert his.get("/requests/").status_code == 200
    # Reactivated, she signs in afresh: the old sessions do not come back with her.
    User.objects.filter(pk=demo.alice.pk).update(is_active=True)
    assert [client.get("/requests/").status_code for client in hers] == [302, 302]


# --- SCIM --------------------------------------------------------------------------------------


@pytest.fixture
def scim(settings):
    settings.PORTAL_SCIM_TOKEN = SCIM_TOKEN
    return Client(headers={"Authorization": f"Bearer {SCIM_TOKEN}"})


def patch(client: Client, user_id, body) -> object:
    return client.patch(f"/scim/v2/Users/{user_id}", body, content_type="application/scim+json")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {SCIM_TOKEN}", f"Bearer {SCIM_TOKEN}x", "Bearer "],
)
def test_scim_needs_the_bearer_token(demo, scim, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    client = Client(headers=headers)
    for response in (
        client.get("/scim/v2/Users"),
        client.get(f"/scim/v2/Users/{demo.alice.pk}"),
        patch(client, demo.alice.pk, {"schemas": [PATCH_OP], "Operations": []}),
        client.delete(f"/scim/v2/Users/{demo.alice.pk}"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="scim"'
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == "401"
    assert User.objects.get(pk=demo.alice.pk).is_active


def test_scim_is_off_without_a_token_set(demo, settings):
    settings.PORTAL_SCIM_TOKEN = ""
    for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
        assert Client(headers=header).get("/scim/v2/Users").status_code == 401


def test_scim_finds_a_user_by_username(demo, scim):
    found = scim.get("/scim/v2/Users", {"filter": 'userName eq "ALICE"'})
    assert found.status_code == 200
    assert found["Content-Type"] == "application/scim+json"
    body = found.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 1 and body["itemsPerPage"] == 1 and body["startIndex"] == 1
    user = body["Resources"][0]
    assert user["id"] == str(demo.alice.pk)
    assert user["userName"] == "alice" and user["active"] is True
    assert user["emails"] == [{"value": "alice@example.com", "type": "work", "primary": True}]
    assert user["meta"]["location"].endswith(f"/scim/v2/Users/{demo.alice.pk}")
    assert scim.get(user["meta"]["location"].split("8000", 1)[-1]).json() == user
    # Entra ID's connection test looks for a name that does not exist: an empty list, not a 404.
    none = scim.get("/scim/v2/Users", {"filter": 'userName eq "9f1c-not-a-user"'}).json()
    assert none["totalResults"] == 0 and none["Resources"] == []


def test_scim_lists_in_pages(demo, scim):
    everyone = scim.get("/scim/v2/Users").json()
    assert everyone["totalResults"] == User.objects.count() >= 4
    page = scim.get("/scim/v2/Users", {"startIndex": 2, "count": 2}).json()
    assert page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [u["id"] for u in page["Resources"]] == [u["id"] for u in everyone["Resources"][1:3]]
    far = scim.get("/scim/v2/Users", {"startIndex": "9" * 30, "count": "-5"}).json()
    assert far["Resources"] == [] and far["itemsPerPage"] == 0
    assert scim.get("/scim/v2/Users", {"count": "ten"}).status_code == 400


@pytest.mark.parametrize(
    "expression",
    [
        'displayName eq "alice"',
        'userName co "al"',
        "userName eq alice",
        "",
        # Names no database text holds: a 400, not a 500.
        'userName eq "al\\u0000ice"',
        'userName eq "al\x00ice"',
        'userName eq "\\ud800"',
    ],
)
def test_scim_refuses_filters_it_does_not_answer(demo, scim, expression):
    response = scim.get("/scim/v2/Users", {"filter": expression})
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_scim_unknown_users_are_404(demo, scim):
    for user_id in ("999999", "abc", "-1", "99999999999999999999999", "²", "１"):
        assert scim.get(f"/scim/v2/Users/{user_id}").status_code == 404
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        }
        assert patch(scim, user_id, body).status_code == 404


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "value": {"active": False}}],  # Okta
        [{"op": "Replace", "path": "active", "value": "False"}],  # Entra ID
        [{"op": "replace", "path": "active", "value": False}],
        [{"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:active": "false"}}],
        [
            {"op": "Replace", "path": "displayName", "value": "Alice Leaver"},
            {"op": "Replace", "path": "active", "value": "False"},
        ],
    ],
)
def test_scim_patch_active_false_deactivates(demo, leaver, scim, operations):
    response = patch(scim, demo.alice.pk, {"schemas": [PATCH_OP], "Operations": operations})
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert response.json()["displayName"] == "Alice"  # names come from sign-in, not SCIM
    assert_cut_off(demo, leaver)
    event = AuditEvent.objects.get(verb="user.deactivated")
    assert event.actor is None and event.after["via"] == "scim"
    assert event.client_address == "127.0.0.1"


def test_scim_patch_without_active_changes_nothing(demo, leaver, scim):
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    response = patch(scim, demo.alice.pk, body)
    assert response.status_code == 200 and response.json()["active"] is True
    granted, pending, api, _ = leaver
    assert status_of(pending) == "pending" and api.get("/api/v1/requests/").status_code == 200
    assert not AuditEvent.objects.filter(verb="user.deactivated").exists()


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "replace", "value": {"active": False}}]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "active"}]},
            "invalidSyntax",
        ),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": 0}],
            },
            "invalidValue",
        ),
        (
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": "no"}],
            },
            "invalidValue",
        ),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "active"}]}, "mutability"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": "x"}]}, "invalidValue"),
        ([1, 2], "invalidSyntax"),
    ],
)
def test_scim_refuses_patches_it_cannot_read(demo, scim, body, scim_type):
    response = patch(scim, demo.alice.pk, body)
    assert response.status_code == 400
    assert response.json()["scimType"] == scim_type
    assert User.objects.get(pk=demo.alice.pk).is_active


def test_scim_patch_with_a_body_that_is_not_json_is_400(demo, scim):
    response = scim.patch(
        f"/scim/v2/Users/{demo.alice.pk}", b"{not json", content_type="application/scim+json"
    )
    assert response.status_code == 400
    assert User.objects.get(pk=demo.alice.pk).is_active


def test_scim_delete_deactivates_and_keeps_the_user(demo, leaver, scim):
    response = scim.delete(f"/scim/v2/Users/{demo.alice.pk}")
    assert response.status_code == 204
    assert_cut_off(demo, leaver)
    assert scim.get(f"/scim/v2/Users/{demo.alice.pk}").json()["active"] is False


def test_scim_create_and_replace_are_not_offered(demo, scim):
    assert scim.post("/scim/v2/Users", {}, content_type="application/scim+json").status_code == 405
    response = scim.put(f"/scim/v2/Users/{demo.alice.pk}", {}, content_type="application/json")
    assert response.status_code == 405
    assert "PATCH" in response["Allow"]


def test_a_leavers_vote_no_longer_counts_toward_a_quorum(demo):
    """prod needs bob and carol. bob approves, then leaves: carol's approval alone approves
    nothing."""
    from api.leavers import user_deactivate

    access_request = submitted(
        demo,
        target_account=demo.prod,
        resources=["arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"],
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    user_deactivate(user=demo.bob, actor=demo.admin, via="admin")
    access_request_approve(access_request=access_request, approver=demo.carol)
    assert status_of(access_request) == "pending"
