"""A session's grant read by one plain statement: every field the session path reads is what the
ORM reads, the instances are linked as select_related links them (nothing more to query), a field
left out is still read on access, and the credentials call runs exactly its three statements."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from core.errors import ServiceError
from provisioning import console, services, sessions
from provisioning.models import CredentialIssue, Grant
from provisioning.session_reads import (
    ACCOUNT_COLUMNS,
    GRANT_COLUMNS,
    REQUEST_COLUMNS,
    session_grant,
)
from tests.api.conftest import api_cache, api_for  # noqa: F401  (autouse: rate counts of this test alone)
from tests.factories import TABLE_ARN, submitted

EU_TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"


def _varied_grants(demo) -> list[Grant]:
    """An active grant (an external id, resources in a region, just activated, in the China
    partition); one approved and never active (no activation, no expiry); one revoked."""
    now = timezone.now()
    active = submitted(demo, third_party=True, external_id="vendor-given-id")
    approved = submitted(demo)
    revoked = submitted(demo)
    statuses = {active: "active", approved: "approved", revoked: "revoked"}
    for access_request, status in statuses.items():
        AccessRequest.objects.filter(pk=access_request.pk).update(status=status)
    AccessRequest.objects.filter(pk=active.pk).update(resources=[TABLE_ARN, EU_TABLE])
    demo.data.provisioner_role_arn = "arn:aws-cn:iam::999999999999:role/portal-provisioner"
    demo.data.save(update_fields=["provisioner_role_arn"])
    return [
        Grant.objects.create(
            access_request=active,
            role_arn="arn:aws-cn:iam::999999999999:role/portal/portal-access-1",
            role_name="portal-access-1",
            external_id="vendor-given-id",
            max_session_duration=7200,
            activated_at=now - timedelta(seconds=5),
            expires_at=now + timedelta(hours=2),
        ),
        Grant.objects.create(access_request=approved),
        Grant.objects.create(
            access_request=revoked,
            role_arn="arn:aws:iam::999999999999:role/portal/portal-access-3",
            activated_at=now - timedelta(days=1),
            expires_at=now - timedelta(hours=1),
        ),
    ]


def _outcome(call):
    try:
        return ("answer", call())
    except (ServiceError, ValueError) as error:
        return ("refused", type(error), str(error))


def _derived(grant: Grant, demo) -> list:
    """What the session path and the console make of a grant, refusals included."""
    calls = [
        lambda: sessions.session_may_start(grant=grant, user=demo.alice),
        lambda: sessions.session_may_start(grant=grant, user=demo.bob),
        lambda: sessions.session_duration(grant=grant, role_chained=True),
        lambda: sessions._settle_for(grant),
        lambda: console.grant_region(grant),
        lambda: grant.access_request.get_status_display(),
        lambda: grant.access_request.target_account.partition,
        lambda: grant.access_request.source_account.partition,
    ]
    return [_outcome(call) for call in calls]


def test_every_field_the_session_path_reads_is_the_orms(demo):
    grants = _varied_grants(demo)
    for stored in grants:
        with CaptureQueriesContext(connection) as read:
            fast = session_grant(stored.pk)
        assert len(read.captured_queries) == 1
        orm = Grant.objects.select_related(
            "access_request__source_account", "access_request__target_account"
        ).get(pk=stored.pk)
        with CaptureQueriesContext(connection) as compared:
            pairs = [
                (fast, orm, GRANT_COLUMNS),
                (fast.access_request, orm.access_request, REQUEST_COLUMNS),
                (
                    fast.access_request.source_account,
                    orm.access_request.source_account,
                    ACCOUNT_COLUMNS,
                ),
                (
                    fast.access_request.target_account,
                    orm.access_request.target_account,
                    ACCOUNT_COLUMNS,
                ),
            ]
            for mine, theirs, columns in pairs:
                assert type(mine) is type(theirs)
                assert not mine._state.adding and mine._state.db == theirs._state.db
                for column in columns:
                    assert getattr(mine, column) == getattr(theirs, column), column
                    assert type(getattr(mine, column)) is type(getattr(theirs, column)), column
            # What the session path and the console derive from them.
            assert fast.access_request.grant is fast
            assert _derived(fast, demo) == _derived(orm, demo)
        assert compared.captured_queries == []
        # A field left out is deferred, as .only() defers it: read on access, one query each.
        with CaptureQueriesContext(connection) as deferred:
            assert fast.role_name == orm.role_name
            assert fast.access_request.justification == orm.access_request.justification
            target = fast.access_request.target_account
            assert target.account_id == orm.access_request.target_account.account_id
        assert len(deferred.captured_queries) == 3
    active = session_grant(grants[0].pk)
    assert active.access_request.resources == [TABLE_ARN, EU_TABLE]
    assert console.grant_region(active) == "eu-central-1"
    assert active.access_request.target_account.partition == "aws-cn"


def test_an_absent_grant_is_does_not_exist_as_the_orm_says_it(demo):
    with pytest.raises(Grant.DoesNotExist) as orm:
        Grant.objects.get(pk=987654)
    with pytest.raises(Grant.DoesNotExist) as fast:
        session_grant(987654)
    assert str(fast.value) == str(orm.value)


def test_the_credentials_call_runs_three_statements(aws_demo):
    """The token, the grant, the issue with its audit event: nothing compiled, nothing more."""
    access_request = submitted(aws_demo)
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    client = api_for(aws_demo.alice)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/api/v1/grants/{grant.pk}/credentials/")
    assert response.status_code == 200, response.content
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == 3, statements
    token, grant_read, issue = statements
    assert '"authtoken_token"' in token and 'WHERE t."key" = ' in token
    assert grant_read.startswith("SELECT g.") and 'FROM "provisioning_grant" g' in grant_read
    assert issue.startswith('WITH subject AS (INSERT INTO "provisioning_credentialissue"')
    stored = CredentialIssue.objects.get()
    assert stored.access_key_id == response.json()["AccessKeyId"]
    assert AuditEvent.objects.get(verb="credentials.issued").object_id == str(stored.pk)
