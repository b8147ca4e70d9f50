"""Opening the AWS console for a grant: a fresh session from the emulator, exchanged at a local
stand-in for AWS's federation endpoint (which proves the session real with the emulator), and the
sign-in URL to the console of the grant's region; the requester's alone, only while active."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings

from access_requests.services import access_request_approve
from audit.models import AuditEvent
from aws import federation
from provisioning import services
from provisioning.models import CredentialIssue, Grant
from tests.api.conftest import api_cache, api_for  # noqa: F401  (autouse: rate counts of this test alone)
from tests.api.test_auth import rates
from tests.factories import submitted
from tests.federation_standin import FederationStandIn


@pytest.fixture
def federation_standin(emulator):
    server = FederationStandIn(emulator_url=emulator.url)
    with override_settings(PORTAL_FEDERATION_URL=server.url):
        yield server
    server.stop()


@pytest.fixture
def active_grant(aws_demo) -> Grant:
    """alice's MyTable grant (eu-central-1), approved by bob and provisioned in the emulator."""
    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    grant.access_request.refresh_from_db()
    assert grant.access_request.status == "active"
    return grant


def test_the_requester_gets_a_console_url_for_a_session_of_her_own(
    aws_demo, active_grant, federation_standin
):
    response = api_for(aws_demo.alice).post(f"/api/v1/grants/{active_grant.pk}/console/")

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    url = urlsplit(response.json()["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == federation_standin.url
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    (sign_in,) = federation_standin.sign_ins
    assert query == {
        "Action": "login",
        "Issuer": "http://127.0.0.1:8000",
        "Destination": "https://console.aws.amazon.com/console/home?region=eu-central-1",
        "SigninToken": sign_in.token,
    }
    # The federation endpoint received a real session of the grant's role, for alice.
    assert sign_in.caller_arn == (
        f"arn:aws:sts::999999999999:assumed-role/{active_grant.role_name}/alice"
    )
    issue = CredentialIssue.objects.get(grant=active_grant)
    # The console session lasts as long as the session: the one-hour grant's time left.
    assert sign_in.session_duration == str(issue.duration)
    assert 3500 < issue.duration <= 3600
    assert issue.access_key_id == sign_in.session_id
    assert (issue.user, issue.source_identity) == (aws_demo.alice, "alice")
    verbs = set(
        AuditEvent.objects.filter(access_request_id=active_grant.access_request_id).values_list(
            "verb", flat=True
        )
    )
    assert {"credentials.issued", "console.signed_in"} <= verbs
    event = AuditEvent.objects.get(verb="console.signed_in")
    assert event.after["access_key_id"] == issue.access_key_id
    assert event.after["region"] == "eu-central-1"
    assert sign_in.token not in str(event.after)


def test_only_the_requester_and_only_while_active(aws_demo, active_grant, federation_standin):
    path = f"/api/v1/grants/{active_grant.pk}/console/"
    assert api_for(aws_demo.bob).post(path).status_code == 403  # the approver sees it
    assert api_for(aws_demo.dave).post(path).status_code == 404  # dave does not
    assert api_for(aws_demo.alice).post("/api/v1/grants/999999/console/").status_code == 404
    active_grant.access_request.status = "revoked"
    active_grant.access_request.save(update_fields=["status"])
    refused = api_for(aws_demo.alice).post(path)
    assert refused.status_code == 409
    assert "revoked" in refused.json()["detail"]
    assert federation_standin.sign_ins == []
    assert not CredentialIssue.objects.exists()


def test_a_federation_endpoint_that_fails_is_a_502_with_no_url(aws_demo, active_grant):
    # PORTAL_FEDERATION_URL is a closed port in the test settings.
    response = api_for(aws_demo.alice).post(f"/api/v1/grants/{active_grant.pk}/console/")
    assert response.status_code == 502
    assert "console sign-in" in response.json()["detail"]
    assert "url" not in response.json()


def test_console_sign_ins_share_the_credentials_rate_limit(
    aws_demo, active_grant, federation_standin
):
    alice = api_for(aws_demo.alice)
    with rates(credentials="2/min"):
        assert alice.post(f"/api/v1/grants/{active_grant.pk}/credentials/").status_code == 200
        assert alice.post(f"/api/v1/grants/{active_grant.pk}/console/").status_code == 200
        response = alice.post(f"/api/v1/grants/{active_grant.pk}/console/")
    assert response.status_code == 429
    assert len(federation_standin.sign_ins) == 1


def test_the_session_page_opens_the_console(aws_demo, active_grant, federation_standin):
    page = Client()
    page.force_login(aws_demo.alice)
    shown = page.get(f"/grants/{active_grant.pk}/session/")
    assert b"Open the AWS console" in shown.content

    opened = page.post(f"/grants/{active_grant.pk}/console/")

    assert opened.status_code == 200
    assert "no-store" in opened["Cache-Control"]
    (sign_in,) = federation_standin.sign_ins
    text = opened.content.decode()
    assert f"SigninToken={sign_in.token}" in text
    assert 'target="_blank" rel="noopener noreferrer"' in text

    bob = Client()
    bob.force_login(aws_demo.bob)
    assert bob.post(f"/grants/{active_grant.pk}/console/").status_code == 403
    assert len(federation_standin.sign_ins) == 1


@pytest.mark.parametrize(
    ("partition", "region", "endpoint", "destination"),
    [
        (
            "aws",
            "eu-central-1",
            "https://signin.aws.amazon.com/federation",
            "https://console.aws.amazon.com/console/home?region=eu-central-1",
        ),
        (
            "aws-cn",
            "cn-north-1",
            "https://signin.amazonaws.cn/federation",
            "https://console.amazonaws.cn/console/home?region=cn-north-1",
        ),
        (
            "aws-us-gov",
            "us-gov-west-1",
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
        ),
    ],
)
def test_each_partition_has_its_federation_endpoint_and_console(
    partition, region, endpoint, destination
):
    assert federation.federation_endpoint(partition) == endpoint
    assert federation.federation_endpoint(partition, "http://127.0.0.1:1/f") == (
        "http://127.0.0.1:1/f"
    )
    assert federation.console_destination(partition, region) == destination
