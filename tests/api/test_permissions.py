"""The same rules as the pages: no self-approval, quorum conflicts, others' objects are 404."""

import pytest
from django.test import Client

from provisioning.models import Grant
from tests.api.conftest import SUBMIT, api_for
from tests.factories import submitted


def test_alice_cannot_approve_her_own_request(demo):
    access_request = submitted(demo)
    response = api_for(demo.alice).post(f"/api/v1/requests/{access_request.pk}/approve/")
    assert response.status_code == 403
    assert response.json() == {"detail": "You cannot decide on your own request."}


def test_carol_after_bob_on_a_one_approval_request_is_a_conflict(demo):
    access_request = submitted(demo)
    assert api_for(demo.bob).post(f"/api/v1/requests/{access_request.pk}/approve/").status_code == (
        200
    )
    response = api_for(demo.carol).post(
        f"/api/v1/requests/{access_request.pk}/reject/", {"reason": "late"}, format="json"
    )
    assert response.status_code == 409
    assert "already approved" in response.json()["detail"]
    assert api_for(demo.carol).post(
        f"/api/v1/requests/{access_request.pk}/approve/"
    ).status_code == (409)


def test_a_stranger_sees_nothing_of_others(demo, stranger):
    access_request = submitted(demo)
    api_for(demo.bob).post(f"/api/v1/requests/{access_request.pk}/approve/")
    grant = Grant.objects.get()
    client = api_for(stranger)
    for method, path in [
        ("get", f"/api/v1/requests/{access_request.pk}/"),
        ("post", f"/api/v1/requests/{access_request.pk}/approve/"),
        ("post", f"/api/v1/requests/{access_request.pk}/cancel/"),
        ("get", f"/api/v1/grants/{grant.pk}/"),
        ("post", f"/api/v1/grants/{grant.pk}/credentials/"),
        ("post", f"/api/v1/grants/{grant.pk}/revoke/"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, (method, path, response.content)
    assert client.get("/api/v1/requests/").json()["count"] == 0
    assert client.get("/api/v1/grants/").json()["count"] == 0
    # A request id that cannot exist is a 404 too, not a database error.
    assert client.get(f"/api/v1/requests/{2**70}/").status_code == 404


@pytest.mark.parametrize(
    ("who", "sees_request", "may_approve"),
    [
        ("alice", True, 403),  # the requester
        ("bob", True, 200),  # an approver of the target account
        ("erin", False, 404),  # an approver of another account
        ("admin", True, 403),  # a platform admin who is no approver of the account
        ("dave", False, 404),  # a developer with nothing to do with it
    ],
)
def test_permission_matrix(demo, stranger, vendor_approver, who, sees_request, may_approve):
    access_request = submitted(demo)
    users = {"alice": demo.alice, "bob": demo.bob, "erin": vendor_approver, "admin": demo.admin}
    client = api_for(users.get(who, stranger))
    detail = client.get(f"/api/v1/requests/{access_request.pk}/")
    assert detail.status_code == (200 if sees_request else 404)
    listed = [r["id"] for r in client.get("/api/v1/requests/").json()["results"]]
    assert (access_request.pk in listed) == sees_request
    audit = client.get("/api/v1/audit/", {"request": access_request.pk}).json()["results"]
    assert bool(audit) == (who in ("alice", "admin"))
    assert client.post(f"/api/v1/requests/{access_request.pk}/approve/").status_code == (
        may_approve
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/requests/",
        "/api/v1/grants/",
        "/api/v1/accounts/",
        "/api/v1/audit/",
        "/api/v1/auth/tokens/",
        "/api/v1/requests/1/",
        "/api/v1/grants/1/",
    ],
)
def test_anonymous_callers_get_401(db, path):
    response = Client().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_session_authentication_enforces_csrf(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.alice)
    assert client.get("/api/v1/requests/").status_code == 200
    response = client.post("/api/v1/requests/", SUBMIT, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
