"""The HTML pages: who sees what, errors next to fields, CSRF, and the health endpoint."""

import pytest
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest
from tests import factories
from tests.factories import TABLE_ARN

FORM = {
    "source_account": "111111111111",
    "target_account": "999999999999",
    "source_principal": "",
    "actions": "dynamodb:GetItem",
    "resources": TABLE_ARN,
    "access_via": "portal",
    "duration": "3600",
    "justification": "Read MyTable",
    "ticket": "OPS-1",
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submitted(demo) -> AccessRequest:
    """A request whose justification is HTML a page must escape."""
    return factories.submitted(demo, justification="<b>bold</b> & <script>alert(1)</script>")


@pytest.mark.parametrize("name", ["request_list", "request_new", "audit_list"])
def test_pages_need_a_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_is_djangos(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_submitting_the_form_creates_the_request(demo):
    response = client_for(demo.alice).post(reverse("request_new"), FORM)
    access_request = AccessRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("request_detail", args=[access_request.pk])
    assert access_request.ticket == "OPS-1"


def test_bad_fields_get_messages_next_to_them_and_nothing_is_saved(demo):
    form = FORM | {
        "actions": "dynamodb:GetItemz",
        "resources": "arn:aws:dynamodb:eu-central-1:999999999999:table:MyTable",
        "duration": "99999",
    }
    response = client_for(demo.alice).post(reverse("request_new"), form)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "is not an action of dynamodb" in errors["actions"][0]
    assert "duration" in errors
    assert AccessRequest.objects.count() == 0


def test_preview_shows_the_documents_without_saving(demo):
    response = client_for(demo.alice).post(reverse("request_preview"), FORM)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Trust policy" in html and "Permission policy" in html
    assert "sts:AssumeRole" in html and TABLE_ARN in html
    assert AccessRequest.objects.count() == 0


def test_request_is_visible_to_requester_approvers_and_admin_only(demo, django_user_model):
    access_request = submitted(demo)
    url = reverse("request_detail", args=[access_request.pk])
    for user in (demo.alice, demo.bob, demo.carol, demo.admin):
        assert client_for(user).get(url).status_code == 200
    stranger = django_user_model.objects.create_user("mallory", password="mallory-pass-1")
    assert client_for(stranger).get(url).status_code == 404
    assert (
        client_for(stranger).get(reverse("request_status", args=[access_request.pk])).status_code
        == 404
    )
    assert (
        client_for(stranger).post(reverse("request_approve", args=[access_request.pk])).status_code
        == 404
    )


def test_free_text_is_rendered_inert(demo):
    access_request = submitted(demo)
    html = client_for(demo.bob).get(reverse("request_detail", args=[access_request.pk])).content
    assert b"<script>alert(1)</script>" not in html
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_approve_needs_a_csrf_token(demo):
    access_request = submitted(demo)
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo.bob)
    response = client.post(reverse("request_approve", args=[access_request.pk]), {"comment": ""})
    assert response.status_code == 403
    access_request.refresh_from_db()
    assert access_request.status == "pending"


def test_self_approval_through_the_page_is_refused_with_a_message(demo):
    demo.alice.groups.add(demo.data.approver_group)
    access_request = submitted(demo)
    response = client_for(demo.alice).post(
        reverse("request_approve", args=[access_request.pk]), follow=True
    )
    assert b"You cannot decide on your own request." in response.content
    access_request.refresh_from_db()
    assert access_request.status == "pending"


def test_awaiting_list_shows_what_bob_can_decide(demo, django_assert_max_num_queries):
    for _ in range(5):
        submitted(demo)
    client = client_for(demo.bob)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("request_list") + "?scope=awaiting")
    assert len(response.context["page"].object_list) == 5


def test_list_queries_do_not_grow_with_rows(demo, django_assert_max_num_queries):
    client = client_for(demo.alice)
    submitted(demo)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("request_list"))
    for _ in range(20):
        submitted(demo)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("request_list"))
    assert len(response.context["page"].object_list) == 21


def test_session_page_is_never_cached(demo):
    from access_requests.services import access_request_approve
    from provisioning.models import Grant

    access_request = submitted(demo)
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    response = client_for(demo.alice).get(reverse("grant_session", args=[grant.pk]))
    assert "no-store" in response["Cache-Control"]
    assert response.status_code == 409  # not active yet: said on the page
    assert b"This grant is approved." in response.content
    assert client_for(demo.carol).get(reverse("grant_session", args=[grant.pk])).status_code == 403


def test_healthz_reports_each_dependency(client, db, emulator):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "aws": "ok"}


def test_healthz_is_503_when_the_broker_is_down(client, db, emulator, settings):
    from portal.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("down")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/account/",
        "/admin/accounts/account/{data}/change/",
        "/admin/auth/group/",
        "/admin/auth/group/{group}/change/",
        "/admin/audit/auditevent/",
    ],
)
def test_admin_pages_for_accounts_and_approver_groups(demo, url):
    url = url.format(data=demo.data.pk, group=demo.data.approver_group_id)
    response = client_for(demo.admin).get(url)
    assert response.status_code == 200
    if "group" in url and "change" in url:
        assert b"bob" in response.content and b"999999999999" in response.content


def test_inbox_shows_waiting_requests_with_their_documents(demo, django_assert_max_num_queries):
    for _ in range(3):
        submitted(demo)
    client = client_for(demo.bob)
    with django_assert_max_num_queries(10) as few:
        response = client.get(reverse("inbox"))
    html = response.content.decode()
    assert html.count('class="card inbox-item"') == 3
    assert "Trust policy" in html and "Approve #" in html
    for _ in range(7):
        submitted(demo)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("inbox"))
    assert response.content.decode().count('class="card inbox-item"') == 10
    assert client_for(demo.alice).get(reverse("inbox")).content.decode().count("inbox-item") == 0


@pytest.mark.parametrize(
    "url",
    [
        "/requests/?q=%00",
        "/requests/?scope=all&q=read%00",
        "/inbox/?q=%00",
        "/audit/?actor=%00",
        "/audit/?verb=request%00",
        "/requests/wizard/resources/?account=999999999999&q=%00",
        "/requests/wizard/actions/?source=%00&target=%00",
    ],
)
def test_a_nul_in_a_search_or_filter_is_an_answer_not_a_server_error(demo, url):
    """PostgreSQL's text holds no NUL, so no row matches one: the page says so (or lists
    nothing) rather than passing it to the database."""
    client = Client(raise_request_exception=False)
    client.force_login(demo.admin)
    factories.submitted(demo)
    response = client.get(url)
    assert response.status_code in (200, 400)
    if response.context is not None and "page" in response.context:
        assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize("url", ["/audit/export.csv?actor=%00", "/audit/export.json?verb=%00"])
def test_a_nul_in_the_audit_exports_filters_is_a_400(demo, url):
    response = client_for(demo.admin).get(url)
    assert response.status_code == 400
    assert b"no NUL" in response.content
