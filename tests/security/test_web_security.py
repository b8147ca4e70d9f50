"""CSRF on every state-changing route, free text rendered inert, the security headers and CSP,
login throttling (django-axes) and session expiry."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from access_requests.models import AccessRequest
from access_requests.services import (
    access_request_approve,
    access_request_reject,
)
from provisioning.models import Grant
from tests.factories import TABLE_ARN, submitted
from tests.security.test_permission_matrix import ROWS, Row, _path
from tests.support import ROOT

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _logged_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


# --- CSRF ----------------------------------------------------------------------------------------

STATE_CHANGING = [row for row in ROWS if row.method in ("POST", "PUT", "PATCH", "DELETE")]
# POST /api/v1/auth/token/ takes no session (it authenticates nothing but the body's username and
# password), so a forged cross-site call gains the attacker nothing: DRF's ObtainAuthToken is the
# same. SCIM (/scim/v2/) reads no session either, only its own bearer token, which a forged
# cross-site call cannot carry. Every other state-changing route needs the CSRF token with a
# browser session. Slack's interactions read no session either: only Slack's signature of the body,
# which a forged cross-site call cannot make.
CSRF_EXEMPT = {
    ("integrations/slack/interactions/", "POST"),
    ("api/v1/auth/token/", "POST"),
    ("scim/v2/Users/<str:pk>", "PATCH"),
    ("scim/v2/Users/<str:pk>", "DELETE"),
}


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(row, id=f"{row.method} /{row.route}")
        for row in STATE_CHANGING
        if (row.route, row.method) not in CSRF_EXEMPT
    ],
)
def test_state_changing_routes_refuse_a_session_call_without_csrf_token(demo, row: Row):
    """Each as the admin (who may reach all of them) with a browser session and no token."""
    pending = submitted(demo)
    approved = submitted(demo, justification="approved")
    access_request_approve(access_request=approved, approver=demo.bob)
    world = {
        "request": pending.pk,
        "grant": Grant.objects.get(access_request=approved).pk,
        "alice": demo.alice.pk,
    }
    client = _logged_in(demo.admin, csrf=True)
    before = (AccessRequest.objects.count(), sorted(AccessRequest.objects.values_list("status")))
    send = getattr(client, row.method.lower())
    if row.api:
        response = send(_path(row, world), row.body or {}, content_type="application/json")
    else:
        response = send(_path(row, world), row.body or {})
    assert response.status_code == 403, (row.method, row.route, response.status_code)
    assert b"CSRF" in response.content
    after = (AccessRequest.objects.count(), sorted(AccessRequest.objects.values_list("status")))
    assert after == before


def test_scim_ignores_the_browser_session(demo, settings):
    """A platform admin's session cookie gives SCIM nothing: without the bearer token, 401, and
    nobody is deactivated."""
    settings.PORTAL_SCIM_TOKEN = "scim-test-token-0d5e8a1f2b7c4936"
    client = _logged_in(demo.admin, csrf=True)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    path = f"/scim/v2/Users/{demo.alice.pk}"
    assert client.patch(path, body, content_type="application/scim+json").status_code == 401
    assert client.delete(path).status_code == 401
    demo.alice.refresh_from_db()
    assert demo.alice.is_active


def test_the_csrf_exempt_token_route_ignores_the_browser_session(demo):
    """A session cookie gives the token endpoint nothing: only a right password gets a token."""
    client = _logged_in(demo.alice, csrf=True)
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()


# --- XSS -----------------------------------------------------------------------------------------

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg onload=alert(3)>"
RAW = ("<script>alert(1)", "<img src=x", "<svg onload", "onerror=alert(2)>")


def _assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{raw!r} unescaped on {where}"


def test_markup_in_every_free_text_field_is_inert_on_every_page(demo):
    access_request = submitted(demo, justification=PAYLOAD, ticket=PAYLOAD[:60])
    rejected = submitted(demo, justification="to be rejected " + PAYLOAD)
    access_request_approve(access_request=access_request, approver=demo.bob, comment=PAYLOAD)
    access_request_reject(access_request=rejected, approver=demo.carol, reason=PAYLOAD)
    grant = Grant.objects.get(access_request=access_request)
    pages = {
        "alice": [
            reverse("request_detail", args=[access_request.pk]),
            reverse("request_detail", args=[rejected.pk]),
            reverse("request_list") + "?scope=all",
            reverse("request_list") + "?q=" + PAYLOAD,
            reverse("dashboard"),
            reverse("audit_list"),
            reverse("grant_session", args=[grant.pk]),
            reverse("grant_extend", args=[grant.pk]),
            reverse("request_new") + "?actions=" + PAYLOAD + "&resources=" + PAYLOAD,
        ],
        "bob": [
            reverse("request_detail", args=[access_request.pk]),
            reverse("inbox"),
            reverse("dashboard"),
            reverse("request_list") + "?scope=all&q=" + PAYLOAD,
        ],
        "admin": [reverse("audit_list"), reverse("request_detail", args=[rejected.pk])],
    }
    seen = 0
    for who, paths in pages.items():
        client = _logged_in(getattr(demo, who))
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 409), (who, path, response.status_code)
            html = response.content.decode()
            _assert_inert(html, f"{path} as {who}")
            seen += "&lt;script&gt;alert(1)" in html
    assert seen >= 8, "the payload should be shown (escaped) on most of these pages"


@pytest.mark.parametrize(
    "field",
    ["justification", "ticket", "source_principal", "actions", "resources", "source_account"],
)
def test_markup_in_a_form_field_is_inert_in_the_error_page(demo, field):
    form = {
        "source_account": "111111111111",
        "target_account": "999999999999",
        "source_principal": "",
        "actions": "dynamodb:GetItem",
        "resources": TABLE_ARN,
        "access_via": "portal",
        "duration": "3600",
        "justification": "Read MyTable",
        "ticket": "",
    } | {field: PAYLOAD}
    client = _logged_in(demo.alice)
    for path in (reverse("request_new"), reverse("request_preview")):
        response = client.post(path, form)
        _assert_inert(response.content.decode(), f"{path} with {field}")


def test_markup_in_decision_comments_and_why_denied_is_inert(demo):
    access_request = submitted(demo)
    bob = _logged_in(demo.bob)
    bob.post(reverse("request_reject", args=[access_request.pk]), {"comment": PAYLOAD})
    assert AccessRequest.objects.get(pk=access_request.pk).status == "rejected"
    html = bob.get(reverse("request_detail", args=[access_request.pk])).content.decode()
    _assert_inert(html, "the detail page with a reject reason")
    assert "&lt;svg onload=alert(3)&gt;" in html
    query = {"principal": PAYLOAD, "action": PAYLOAD, "resource": PAYLOAD}
    response = _logged_in(demo.alice).get(reverse("why_denied"), query)
    _assert_inert(response.content.decode(), "why-denied")


# --- Headers and CSP -----------------------------------------------------------------------------


def test_every_page_sends_the_security_headers(demo):
    client = _logged_in(demo.alice)
    for path in ("/accounts/login/", "/dashboard/", "/requests/new/", "/api/docs/", "/healthz"):
        response = client.get(path)
        assert response["Content-Security-Policy"] == CSP, path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["Referrer-Policy"] == "same-origin", path
        assert response["X-Content-Type-Options"] == "nosniff", path
    anonymous = Client().get("/accounts/login/")
    assert anonymous["Content-Security-Policy"] == CSP


def test_credentials_responses_are_never_cached(demo):
    approved = submitted(demo)
    access_request_approve(access_request=approved, approver=demo.bob)
    grant = Grant.objects.get(access_request=approved)
    page = _logged_in(demo.alice)
    assert "no-store" in page.get(reverse("grant_session", args=[grant.pk]))["Cache-Control"]
    assert "no-store" in page.post(reverse("grant_session", args=[grant.pk]))["Cache-Control"]
    assert "no-store" in page.get(reverse("request_status", args=[approved.pk]))["Cache-Control"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on* event attribute"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "<style> element"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_needs_inline_script_or_style():
    """The CSP allows neither: a template that uses one would break under it."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            found += [f"{path.relative_to(ROOT)}: {what}" for _ in pattern.findall(text)]
    assert found == []


def test_the_api_docs_page_loads_its_script_as_a_file(db):
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts), scripts
    assert "<style" not in html
    init = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(init)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_render_in_chromium_under_the_csp(live_server, browser):
    """Real Chromium: Swagger UI draws the operations and reports no CSP violation."""
    violations: list[str] = []
    page = browser.new_page()
    try:
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock", timeout=15_000)
        assert page.locator(".opblock").count() > 10
    finally:
        page.close()
    assert violations == []


@pytest.mark.django_db(transaction=True)
def test_the_pages_run_in_chromium_without_a_csp_violation(live_server, demo, browser):
    """portal.js and the forms work under the policy: no page logs a violation."""
    access_request = submitted(demo, justification="csp check")
    browser_client = Client()
    browser_client.force_login(demo.alice)
    session = browser_client.cookies[settings.SESSION_COOKIE_NAME].value
    violations: list[str] = []
    context = browser.new_context(base_url=live_server.url)
    try:
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        for path in (
            "/dashboard/",
            "/requests/new/?target_account=999999999999",
            f"/requests/{access_request.pk}/",
            "/requests/?scope=all",
            "/why-denied/",
            "/audit/",
        ):
            page.goto(path)
            page.wait_for_load_state("networkidle")
        assert page.url.endswith("/audit/")
    finally:
        context.close()
    assert violations == []


# --- Login throttling ----------------------------------------------------------------------------


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_the_sign_in_page_locks_a_username_at_an_address_out_after_five_failures(demo):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "alice", "wrong").status_code == 200
    locked = _login(client, "alice", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert locked["Content-Security-Policy"] == CSP
    # Now even the right password is refused from there...
    assert _login(Client(), "alice", "alice-demo").status_code == 429
    # ...but not from another address, and other users at the same address are not locked out.
    assert _login(Client(), "alice", "alice-demo", address="10.0.0.2").status_code == 302
    assert _login(Client(), "bob", "bob-demo").status_code == 302


def test_the_token_endpoint_is_throttled_by_the_same_lockout(demo):
    client = APIClient()
    body = {"username": "bob", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/api/v1/auth/token/", body, format="json", REMOTE_ADDR="10.0.0.3")
        assert response.status_code == 400
    locked = client.post("/api/v1/auth/token/", body, format="json", REMOTE_ADDR="10.0.0.3")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"]
    right = {"username": "bob", "password": "bob-demo"}
    assert (
        client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="10.0.0.3").status_code
        == 429
    )  # noqa: E501
    # The sign-in page shares the count: bob is locked out there too, from that address.
    assert _login(Client(), "bob", "bob-demo", address="10.0.0.3").status_code == 429
    other = client.post("/api/v1/auth/token/", right, format="json", REMOTE_ADDR="10.0.0.4")
    assert other.status_code == 200 and other.json()["token"]


def test_a_success_before_the_limit_resets_the_count(demo):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "carol", "wrong")
    assert _login(Client(), "carol", "carol-demo").status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(Client(), "carol", "wrong").status_code == 200


# --- Sessions ------------------------------------------------------------------------------------


def test_sessions_expire_after_eight_hours(demo):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    client = Client()
    assert _login(client, "alice", "alice-demo").status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == 8 * 3600
    assert cookie["httponly"]
    session = Session.objects.get(session_key=cookie.value)
    remaining = session.expire_date - timezone.now()
    assert timedelta(hours=7, minutes=59) < remaining <= timedelta(hours=8)
    assert client.get("/dashboard/").status_code == 200
    # Eight hours later the same cookie is worth nothing.
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("weak", ["password", "password1", "qwertyuiop", "1234567890"])
def test_a_common_or_numeric_password_is_refused_on_change(demo, weak):
    """The sign-in throttle slows guessing one person's password; a password on every list of
    common ones is guessed before it bites."""
    client = Client()
    client.force_login(demo.alice)
    answer = client.post(
        "/accounts/password_change/",
        {"old_password": "alice-demo", "new_password1": weak, "new_password2": weak},
    )
    assert answer.status_code == 200  # the form again, with its error
    demo.alice.refresh_from_db()
    assert demo.alice.check_password("alice-demo")
