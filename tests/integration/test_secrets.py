"""No vended secret key or session token reaches the database, the logs, the pages (error pages
included), the audit trail or the Celery task messages; and the ExternalId is shown only to the
people of the grant."""

import json
import logging
import re

import pytest
from celery.signals import before_task_publish
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from tests.factories import submitted
from tests.support import LOG_DIR, wait_until


def _database_text() -> str:
    """Every row of every table of the portal's database, as JSON text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cursor.fetchall()]
        dump = []
        for table in tables:
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')  # noqa: S608 (catalog names)
            dump.extend(row[0] for row in cursor.fetchall())
    return "\n".join(dump)


def _body(response) -> str:
    return (b"".join(response) if response.streaming else response.content).decode(errors="replace")


@pytest.fixture
def published():
    """Every Celery message this process sends (body and headers), as the broker receives it."""
    messages: list[str] = []

    def record(body=None, headers=None, **_):
        messages.append(json.dumps({"body": body, "headers": headers}, default=str))

    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)


@pytest.mark.django_db(transaction=True)
def test_credentials_from_the_session_page_are_nowhere_else(aws_demo, worker, caplog, published):
    caplog.set_level(logging.DEBUG)
    demo = aws_demo
    access_request = submitted(
        demo, justification="secrets scan", third_party=True, generate_external_id=True
    )
    access_request_approve(access_request=access_request, approver=demo.bob)
    wait_until(
        lambda: AccessRequest.objects.get(pk=access_request.pk).status == "active",
        what="activation",
    )
    client = Client()
    client.force_login(demo.alice)
    grant = AccessRequest.objects.get(pk=access_request.pk).grant
    response = client.post(reverse("grant_session", args=[grant.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    key_id = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", page).group(1)
    secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", page).group(1)
    token = re.search(r"AWS_SESSION_TOKEN=(\S+)", page).group(1)
    assert len(secret) >= 20 and len(token) >= 20

    # A second session through the API (credential_process format): its secrets are scanned too.
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=demo.alice).key}")
    vended = api.post(f"/api/v1/grants/{grant.pk}/credentials/")
    assert vended.status_code == 200
    assert "no-store" in vended["Cache-Control"]
    api_secrets = [vended.json()["SecretAccessKey"], vended.json()["SessionToken"]]
    # Revoke, so the worker's revocation (task messages, logs, audit) is in the scan as well.
    revoke = client.post(reverse("grant_revoke", args=[grant.pk]))
    assert revoke.status_code == 302
    wait_until(
        lambda: AccessRequest.objects.get(pk=access_request.pk).status == "revoked",
        what="revocation",
    )

    pages = {}
    for who in (demo.alice, demo.bob, demo.admin):
        browser = Client()
        browser.force_login(who)
        for path in (
            reverse("request_detail", args=[access_request.pk]),
            reverse("grant_session", args=[grant.pk]),
            reverse("dashboard"),
            reverse("request_list") + "?scope=all",
            reverse("audit_list"),
            reverse("audit_export_csv"),
            reverse("audit_export_json"),
            "/api/v1/audit/",
            f"/api/v1/grants/{grant.pk}/",
            f"/api/v1/requests/{access_request.pk}/",
            # Error pages: a session on a revoked grant (409), a missing object (404).
            f"/api/v1/grants/{grant.pk}/credentials/",
            f"/requests/{access_request.pk + 10_000}/",
        ):
            send = browser.post if path.endswith("/credentials/") else browser.get
            response = send(path)
            pages[f"page {path} as {who.username} ({response.status_code})"] = _body(response)
        failed_session = browser.post(reverse("grant_session", args=[grant.pk]))
        assert failed_session.status_code in (403, 409)
        pages[f"refused session page as {who.username}"] = _body(failed_session)

    events = list(AuditEvent.objects.values())
    assert events, "the flow is in the audit trail"
    assert published, "the flow sent Celery tasks from this process"
    places = {
        "database": _database_text(),
        "audit trail": json.dumps(events, default=str),
        "Celery task messages": "\n".join(published),
        "test process log": caplog.text,
        **{f"log {path.name}": path.read_text(errors="replace") for path in LOG_DIR.glob("*.log")},
        **pages,
    }
    assert key_id in places["database"], "the access key id is recorded, as the audit needs"
    assert any(key_id in text for where, text in places.items() if "audit" in where)
    for where, text in places.items():
        for value in (secret, token, *api_secrets):
            assert value not in text, f"a vended secret or session token is in the {where}"


def test_the_external_id_is_shown_only_to_the_people_of_the_grant(demo, django_user_model):
    """Requester and approvers (and platform admins, who see every request) get it, on pages and
    in the API; a developer with no relation and an approver of another account see none of it."""
    from django.contrib.auth.models import Group

    from tests.api.conftest import api_for

    access_request = submitted(
        demo,
        justification="vendor reads MyTable",
        third_party=True,
        generate_external_id=True,
    )
    external_id = access_request.external_id
    assert len(external_id) >= 32
    access_request_approve(access_request=access_request, approver=demo.bob)
    grant = AccessRequest.objects.get(pk=access_request.pk).grant
    assert grant.external_id == external_id
    stranger = demo.dave
    other_approver = django_user_model.objects.create_user("erin", password="erin-test-pw")
    group = Group.objects.create(name="prod-only-approvers")
    other_approver.groups.add(group)
    demo.prod.approver_group = group
    demo.prod.save(update_fields=["approver_group"])

    def everything(user) -> str:
        page = Client()
        page.force_login(user)
        api = api_for(user)
        texts = [
            _body(page.get(path))
            for path in (
                reverse("request_detail", args=[access_request.pk]),
                reverse("dashboard"),
                reverse("request_list") + "?scope=all",
                reverse("inbox"),
                reverse("audit_list"),
                reverse("audit_export_json"),
            )
        ]
        texts += [
            _body(api.get(path))
            for path in (
                f"/api/v1/requests/{access_request.pk}/",
                f"/api/v1/grants/{grant.pk}/",
                "/api/v1/requests/",
                "/api/v1/grants/",
                "/api/v1/audit/",
            )
        ]
        return "\n".join(texts)

    for user in (demo.alice, demo.bob, demo.carol, demo.admin):
        assert external_id in everything(user), user.username
    for user in (stranger, other_approver):
        assert external_id not in everything(user), user.username
