"""The dashboard: what a signed-in user sees first, for a requester and for an approver."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from provisioning.models import Grant
from tests.factories import submitted

URL = reverse("dashboard")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def activated(demo, access_request: AccessRequest, *, left: timedelta) -> Grant:
    """Approve, then mark the grant live as the worker would (no AWS in these tests)."""
    access_request_approve(access_request=access_request, approver=demo.bob)
    now = timezone.now()
    AccessRequest.objects.filter(pk=access_request.pk).update(status=AccessRequest.Status.ACTIVE)
    Grant.objects.filter(access_request=access_request).update(
        activated_at=now, expires_at=now + left
    )
    return Grant.objects.get(access_request=access_request)


def section(html: str, heading_id: str) -> str:
    """The HTML of one <section> of the page, by its heading's id."""
    start = html.index(f'aria-labelledby="{heading_id}"')
    return html[start : html.index("</section>", start)]


def test_the_dashboard_needs_a_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_alice_sees_her_requests_her_live_grant_with_its_countdown_and_her_events(demo):
    pending = submitted(demo, justification="still pending")
    live = submitted(demo, justification="live one")
    grant = activated(demo, live, left=timedelta(hours=2))

    response = client_for(demo.alice).get(URL)
    assert response.status_code == 200
    html = response.content.decode()

    grants = section(html, "h-grants")
    assert f"#{live.pk}" in grants and f"#{pending.pk}" not in grants
    expires = timezone.localtime(grant.expires_at).isoformat()
    assert f'<span class="countdown" data-expires="{expires}">' in grants
    assert "1\xa0hour, 59\xa0minutes" in grants or "2\xa0hours" in grants
    assert reverse("grant_session", args=[grant.pk]) in grants

    mine = section(html, "h-mine")
    assert f"#{pending.pk}" in mine and "Pending approval" in mine
    assert f"#{live.pk}" in mine and "Active" in mine

    # Alice approves for no account: no approvals section at all.
    assert 'aria-labelledby="h-awaiting"' not in html

    events = section(html, "h-events")
    assert "request.submitted" in events
    assert "request.approved" not in events  # bob's doing, not hers


def test_bob_sees_what_waits_for_his_approval(demo):
    waiting = submitted(demo)
    decided = submitted(demo)
    access_request_approve(access_request=decided, approver=demo.carol)

    html = client_for(demo.bob).get(URL).content.decode()

    awaiting = section(html, "h-awaiting")
    assert f"#{waiting.pk}" in awaiting and "alice" in awaiting
    assert f"#{decided.pk}" not in awaiting
    assert '<span class="count">1</span>' in awaiting
    # Bob has asked for nothing and holds nothing.
    assert "No requests yet" in section(html, "h-mine")
    assert "No live grants" in section(html, "h-grants")
    assert "Nothing yet" in section(html, "h-events")


def test_an_approver_with_nothing_to_decide_gets_an_empty_state(demo):
    html = client_for(demo.carol).get(URL).content.decode()
    assert "Nothing waits for you" in section(html, "h-awaiting")


def test_a_grant_past_its_expiry_says_it_is_expiring(demo):
    activated(demo, submitted(demo), left=timedelta(seconds=-5))
    grants = section(client_for(demo.alice).get(URL).content.decode(), "h-grants")
    assert "Expiring now" in grants
    assert "countdown" not in grants


def _queries(user) -> int:
    client = client_for(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["alice", "bob", "admin"])
def test_query_count_does_not_grow_with_the_requests(demo, django_assert_max_num_queries, who):
    def add(count: int) -> None:
        for n in range(count):
            access_request = submitted(demo, justification=f"request {n}")
            if n % 3 == 0:
                activated(demo, access_request, left=timedelta(hours=1 + n))

    user = getattr(demo, who)
    add(3)
    baseline = _queries(user)
    add(27)
    client = client_for(user)
    with django_assert_max_num_queries(baseline):
        response = client.get(URL)
    assert response.status_code == 200
