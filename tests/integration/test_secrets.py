"""No vended secret key or session token reaches the database, the logs or the audit trail."""

import logging
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve, access_request_submit
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


@pytest.mark.django_db(transaction=True)
def test_credentials_from_the_session_page_are_nowhere_else(aws_demo, worker, caplog):
    caplog.set_level(logging.DEBUG)
    demo = aws_demo
    access_request = access_request_submit(
        requester=demo.alice,
        source_account=demo.dev,
        target_account=demo.data,
        actions=["dynamodb:GetItem"],
        resources=["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"],
        duration=3600,
        justification="secrets scan",
        third_party=True,
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

    places = {
        "database": _database_text(),
        "test process log": caplog.text,
        **{f"log {path.name}": path.read_text(errors="replace") for path in LOG_DIR.glob("*.log")},
    }
    assert key_id in places["database"], "the access key id is recorded, as the audit needs"
    for where, text in places.items():
        assert secret not in text, f"the secret access key is in the {where}"
        assert token not in text, f"the session token is in the {where}"
