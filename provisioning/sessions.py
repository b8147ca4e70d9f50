"""Credential vending: short-lived STS sessions for an active role grant (the session page).

Secrets are returned to the caller and never stored or logged; the CredentialIssue and the audit
event hold the access key id only.
"""

from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

import aws
from accounts.models import ROLE_CHAINING_SECONDS_MAX, SESSION_SECONDS_MIN
from audit.services import audit_record, audit_record_with_insert
from core.errors import ServiceError
from policy import builders
from provisioning.models import (
    AccessVia,
    CredentialIssue,
    Grant,
    Lifecycle,
    Mechanism,
)
from provisioning.session_reads import session_grant


def session_name_for(user: User) -> str:
    """The username as STS accepts it, for RoleSessionName and SourceIdentity: the value a portal
    session's trust policy requires (policy.builders.source_identity_for, shared with the
    documents)."""
    return builders.source_identity_for(user.get_username(), user.pk)


def session_duration(*, grant: Grant, role_chained: bool) -> tuple[int, str]:
    """The longest session allowed, and what capped it, in words for the page."""
    remaining = int((grant.expiry - timezone.now()).total_seconds())
    limits = [(grant.max_session_duration, "the role's maximum session duration")]
    limits.append((remaining, "the time left on the grant"))
    if role_chained:
        limits.append(
            (
                ROLE_CHAINING_SECONDS_MAX,
                "role chaining: the portal assumes the role from its broker role session, "
                "and AWS caps a chained session at one hour",
            )
        )
    seconds, reason = min(limits)
    if seconds < SESSION_SECONDS_MIN:
        # STS takes no less than 15 minutes. Revoking at expiry removes the role's policies, which
        # cuts this session off too, because AWS evaluates policies on every call.
        return (
            SESSION_SECONDS_MIN,
            "the 15-minute minimum of STS (revocation still ends it on time)",
        )
    return seconds, reason


def credential_process_document(credentials: aws.Credentials) -> dict:
    """The AWS CLI's credential_process format.
    https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html"""
    return {
        "Version": 1,
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token,
        "Expiration": credentials.expiration.isoformat(),
    }


def session_may_start(*, grant: Grant, user: User) -> None:
    access_request = grant.access_request
    if access_request.requester_id != user.pk:
        raise ServiceError(
            "Only the requester can take sessions for this grant.", kind=ServiceError.FORBIDDEN
        )
    if access_request.mechanism != Mechanism.ASSUME_ROLE:
        raise ServiceError("Sessions exist only for role grants.", kind=ServiceError.CONFLICT)
    if access_request.access_via != AccessVia.PORTAL:
        raise ServiceError(
            "This grant is used with the source principal's own identity.",
            kind=ServiceError.CONFLICT,
        )
    if access_request.status != Lifecycle.ACTIVE or grant.expiry <= timezone.now():
        raise ServiceError(
            f"This grant is {access_request.get_status_display().lower()}.",
            kind=ServiceError.CONFLICT,
        )


def _settle_for(grant: Grant) -> float:
    """How long a refusal may be IAM still spreading the grant's new role and the broker's new
    policy (eventually consistent): only in the first minute after the grant went active, so a
    role changed by hand later is refused at once."""
    activated = grant.activated_at
    if activated is None or timezone.now() - activated > timedelta(seconds=60):
        return 0.0
    return float(settings.PORTAL_IAM_SETTLE_SECONDS)


def session_start(
    *, grant_id: int, user: User, client_address: str | None = None
) -> tuple[aws.AssumedRole, CredentialIssue, str]:
    """Assume the granted role for the requester, through the source account's broker role.

    The grant is read here, as it is now (Grant.DoesNotExist when there is none), and refused
    (ServiceError) before any AWS call unless `user` may start a session on it; AWS's refusal is
    a ServiceError of kind UNAVAILABLE. RoleSessionName
    and SourceIdentity carry the requester, so CloudTrail in the target account names the person.
    Returns the session, its record, and what capped its duration."""
    grant = session_grant(grant_id)
    session_may_start(grant=grant, user=user)
    source = grant.access_request.source_account
    duration, capped_by = session_duration(grant=grant, role_chained=True)
    name = session_name_for(user)
    try:
        broker = aws.role_credentials(source.broker_role_arn, session_name="access-portal-broker")
        assumed = aws.assume_role(
            role_arn=grant.role_arn,
            session_name=name,
            via=broker,
            duration=duration,
            external_id=grant.external_id,
            source_identity=name,
            settle=_settle_for(grant),
        )
    except aws.AwsError as error:
        raise ServiceError(
            f"AWS refused the session: {error}", kind=ServiceError.UNAVAILABLE
        ) from error
    issue = credential_issue_record(
        grant=grant,
        user=user,
        name=name,
        assumed=assumed,
        duration=duration,
        client_address=client_address,
    )
    return assumed, issue, capped_by


_ISSUE_COLUMNS = (
    "grant_id",
    "user_id",
    "session_name",
    "source_identity",
    "access_key_id",
    "assumed_role_arn",
    "duration",
    "role_chained",
    "client_address",
    "issued_at",
    "expires_at",
)


@cache
def _issue_insert(vendor: str) -> str:
    """The credential issue's INSERT, written once per process (`vendor` keys the cache)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in _ISSUE_COLUMNS)
    values = ", ".join(
        "%s::inet" if column == "client_address" else "%s" for column in _ISSUE_COLUMNS
    )
    table = quote(CredentialIssue._meta.db_table)
    # Names from the model; every value a bound parameter.
    return f"INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING id"  # noqa: S608  # nosec B608


def credential_issue_record(
    *,
    grant: Grant,
    user: User,
    name: str,
    assumed: aws.AssumedRole,
    duration: int,
    client_address: str | None,
) -> CredentialIssue:
    """The CredentialIssue of a session and its `credentials.issued` audit event, both or neither:
    on PostgreSQL in one statement (one round trip, on the path of every session vended)."""
    now = timezone.now()
    issue = CredentialIssue(
        grant=grant,
        user=user,
        session_name=name,
        source_identity=name,
        access_key_id=assumed.credentials.access_key_id,
        assumed_role_arn=assumed.assumed_role_arn,
        duration=duration,
        role_chained=True,
        client_address=client_address,
        issued_at=now,
        expires_at=now + timedelta(seconds=duration),
    )
    after = {
        "access_key_id": issue.access_key_id,
        "assumed_role_arn": issue.assumed_role_arn,
        "duration": duration,
    }
    if connection.vendor != "postgresql":
        with transaction.atomic():
            issue.save()
            audit_record(
                actor=user,
                verb="credentials.issued",
                obj=issue,
                access_request_id=grant.access_request_id,
                after=after,
                client_address=client_address,
            )
        return issue
    issue.pk = audit_record_with_insert(
        insert=_issue_insert(connection.vendor),
        params=[getattr(issue, column) for column in _ISSUE_COLUMNS],
        actor=user,
        verb="credentials.issued",
        object_type=CredentialIssue._meta.label_lower,
        access_request_id=grant.access_request_id,
        after=after,
        client_address=client_address,
        at=now,
    )
    issue._state.adding = False
    return issue
