"""The list pages run the same number of SQL queries for 10 requests as for 1,000 (no N+1)."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access_requests.models import AccessRequest, Approval
from audit.models import AuditEvent
from provisioning.models import Grant
from tests.factories import submitted

FEW, MANY = 10, 1000


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def template_request(demo) -> AccessRequest:
    """One request made by the service: the bulk-created ones copy its documents."""
    return submitted(demo, justification="Read MyTable for the report")


def requests_add(demo, template: AccessRequest, count: int) -> None:
    """`count` more requests of alice's (bulk_create, for speed): most pending, every fifth active
    with its grant, a vote from carol on every third, as a busy portal has them."""
    fields = {
        f.name: getattr(template, f.name)
        for f in AccessRequest._meta.concrete_fields
        if f.name not in ("id", "created_at", "updated_at", "status", "extends")
    }
    made = AccessRequest.objects.bulk_create(
        [
            AccessRequest(
                **{**fields, "justification": f"Bulk request {n}"},
                status="active" if n % 5 == 0 else "pending",
            )
            for n in range(count)
        ]
    )
    Grant.objects.bulk_create(
        [Grant(access_request=r, role_name=f"portal-access-{r.pk}") for r in made[::5]]
    )
    Approval.objects.bulk_create(
        [
            Approval(
                access_request=r, approver=demo.carol, decision="approve", documents_hash="old"
            )
            for r in made[1::3]
        ]
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=demo.alice,
                verb="request.submitted",
                object_type="access_requests.accessrequest",
                object_id=str(r.pk),
                access_request=r,
                after={"status": "pending"},
            )
            for r in made
        ]
    )


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(captured.captured_queries)


PAGES: list[tuple[str, str, Callable[[], str]]] = [
    ("alice", "request list (mine)", lambda: reverse("request_list")),
    ("alice", "request list searched", lambda: reverse("request_list") + "?q=bulk&status=pending"),
    ("bob", "bob's approver inbox", lambda: reverse("inbox")),
    ("bob", "bob's inbox searched", lambda: reverse("inbox") + "?q=bulk"),
    ("bob", "bob's awaiting list", lambda: reverse("request_list") + "?scope=awaiting"),
    ("bob", "request list (all bob sees)", lambda: reverse("request_list") + "?scope=all"),
    ("alice", "dashboard", lambda: reverse("dashboard")),
    ("bob", "dashboard", lambda: reverse("dashboard")),
    ("admin", "audit list", lambda: reverse("audit_list")),
    ("admin", "inbox of an admin", lambda: reverse("inbox")),
]


@pytest.mark.parametrize(("who", "what", "url"), PAGES, ids=[page[1] for page in PAGES])
def test_list_pages_run_as_many_queries_for_1000_requests_as_for_10(
    demo, template_request, who, what, url
):
    client = client_for(getattr(demo, who))
    requests_add(demo, template_request, FEW - 1)
    client.get(url())  # the session and the like, once
    few = queries(client, url())
    requests_add(demo, template_request, MANY - FEW)
    assert AccessRequest.objects.count() == MANY
    many = queries(client, url())
    assert many == few, f"{what}: {few} queries for {FEW} requests, {many} for {MANY}"


def test_inbox_shows_a_full_page_of_1000_waiting_requests(demo, template_request):
    requests_add(demo, template_request, MANY - 1)
    response = client_for(demo.bob).get(reverse("inbox"))
    html = response.content.decode()
    assert html.count('class="card inbox-item"') == 10
    assert "Page 1 of" in html


def test_the_request_page_timeline_takes_as_many_queries_for_1000_events_as_for_10(
    demo, template_request
):
    client = client_for(demo.alice)
    url = reverse("request_detail", args=[template_request.pk])

    def events_add(count: int) -> None:
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=demo.bob if n % 2 else None,
                    verb="credentials.issued" if n % 2 else "grant.expiring",
                    object_type="access_requests.accessrequest",
                    object_id=str(template_request.pk),
                    access_request=template_request,
                    after={"expires_at": "2030-01-01T00:00:00+00:00"},
                )
                for n in range(count)
            ]
        )

    client.get(url)
    events_add(FEW)
    few = queries(client, url)
    events_add(MANY - FEW)
    many = queries(client, url)
    assert many == few, f"{few} queries for {FEW} events, {many} for {MANY}"
    assert client.get(url).content.decode().count("Session started") == MANY // 2


def test_the_inbox_searches_by_number_requester_and_reason(demo, template_request):
    requests_add(demo, template_request, 30)
    client = client_for(demo.bob)
    html = client.get(reverse("inbox") + "?q=Bulk+request+7").content.decode()
    assert html.count('class="card inbox-item"') == 1
    assert "Bulk request 7" in html
    html = client.get(reverse("inbox") + f"?q=%23{template_request.pk}").content.decode()
    assert html.count('class="card inbox-item"') == 1
    html = client.get(reverse("inbox") + "?q=nothing-like-this").content.decode()
    assert "No waiting request matches" in html and "25 requests wait for you" in html
