"""Every write to grants: provision, verify, revoke, expire, retry.

The worker calls `grant_provision` and `grant_revoke`; they are idempotent (deterministic names,
upserts, deletes that accept "already gone") so a redelivered task redoes its work harmlessly.
No database transaction is held across AWS calls: status moves under a short row lock, so a revoke
that lands while AWS is being written wins, and the provisioning task then cleans up after itself.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.selectors import user_approves_for
from audit.services import audit_record
from portal.errors import ServiceError
from provisioning import aws, policies
from provisioning.models import Grant

logger = logging.getLogger(__name__)
Status = AccessRequest.Status

MANAGED_BY_TAG = ("portal:managed-by", "access-portal")
REQUEST_TAG = "portal:request-id"


def _lock(grant_id: int) -> tuple[Grant, AccessRequest]:
    grant = Grant.objects.select_for_update().get(pk=grant_id)
    access_request = (
        AccessRequest.objects.select_for_update()
        .select_related("source_account", "target_account", "requester")
        .get(pk=grant.access_request_id)
    )
    return grant, access_request


def _move(
    access_request: AccessRequest,
    to: str,
    *,
    actor: AbstractBaseUser | None,
    verb: str,
    client_address: str | None = None,
    **after: object,
) -> None:
    before = access_request.status
    access_request.status = to
    access_request.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        verb=verb,
        obj=access_request,
        access_request_id=access_request.pk,
        before={"status": before},
        after={"status": to, **after},
        client_address=client_address,
    )


def _begin_provisioning(grant_id: int) -> bool:
    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        if access_request.status == Status.APPROVED:
            _move(access_request, Status.PROVISIONING, actor=None, verb="grant.provisioning")
        elif access_request.status != Status.PROVISIONING:
            return False
        grant.attempts += 1
        grant.save(update_fields=["attempts"])
        return True


def _document(access_request: AccessRequest, key: str) -> dict:
    return access_request.documents[key]["document"]


def grant_provision(*, grant_id: int) -> None:
    """Write the role, its trust and permission policies and the source-side identity policy,
    read them back, and mark the grant active only if AWS holds exactly what was approved."""
    if not _begin_provisioning(grant_id):
        return
    grant = Grant.objects.select_related(
        "access_request__source_account", "access_request__target_account"
    ).get(pk=grant_id)
    access_request = grant.access_request
    target, source = access_request.target_account, access_request.source_account
    trust = _document(access_request, policies.TRUST_POLICY)
    permission = _document(access_request, policies.PERMISSION_POLICY)
    source_identity = _document(access_request, policies.SOURCE_IDENTITY_POLICY)

    target_credentials = aws.role_credentials(target.provisioner_role_arn)
    role_arn = aws.role_put(
        target_credentials,
        role_name=grant.role_name,
        path=settings.PORTAL_ROLE_PATH,
        trust_policy=policies.document_json(trust),
        max_session_duration=grant.max_session_duration,
        tags={
            MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1],
            REQUEST_TAG: str(access_request.pk),
            "portal:requester": access_request.requester.get_username()[:256],
        },
        description=f"Access portal request {access_request.pk}"[:1000],
    )
    aws.role_policy_put(
        target_credentials,
        role_name=grant.role_name,
        policy_name=grant.permission_policy_name,
        document=policies.document_json(permission),
    )
    source_credentials = None
    if grant.source_policy_name:
        source_credentials = aws.role_credentials(source.provisioner_role_arn)
        aws.role_policy_put(
            source_credentials,
            role_name=grant.source_role_name,
            policy_name=grant.source_policy_name,
            document=policies.document_json(source_identity),
        )

    written, verification = _read_back(grant, target_credentials, source_credentials)
    expected = {
        "trust_policy": trust,
        "permission_policy": permission,
        "max_session_duration": grant.max_session_duration,
    }
    if grant.source_policy_name:
        expected["source_identity_policy"] = source_identity
    mismatched = [key for key, value in expected.items() if written.get(key) != value]
    if mismatched:
        raise aws.AwsError(
            "AWS does not hold what was approved after writing it: " + ", ".join(mismatched)
        )

    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        now = timezone.now()
        grant.role_arn = role_arn
        grant.written = written
        grant.verification = verification
        grant.verified_at = now
        grant.last_error = ""
        if access_request.status != Status.PROVISIONING:
            # A revoke landed while AWS was being written: it may have run before these writes.
            grant.save()
            if access_request.status == Status.REVOKING:
                transaction.on_commit(lambda: _enqueue_revoke(grant_id))
            return
        grant.activated_at = now
        grant.expires_at = now + timedelta(seconds=access_request.duration)
        grant.save()
        _move(
            access_request,
            Status.ACTIVE,
            actor=None,
            verb="grant.activated",
            role_arn=role_arn,
            expires_at=grant.expires_at.isoformat(),
        )


def _read_back(
    grant: Grant, target_credentials: aws.Credentials, source_credentials: aws.Credentials | None
) -> tuple[dict, dict]:
    role = aws.role_read(target_credentials, role_name=grant.role_name)
    if role is None:
        raise aws.AwsError(f"Role {grant.role_name} is missing right after it was written.")
    written = {
        "role_arn": role.arn,
        "trust_policy": role.trust_policy,
        "permission_policy": role.inline_policies.get(grant.permission_policy_name),
        "max_session_duration": role.max_session_duration,
        "tags": role.tags,
    }
    if source_credentials is not None:
        source_role = aws.role_read(source_credentials, role_name=grant.source_role_name)
        written["source_identity_policy"] = (
            source_role.inline_policies.get(grant.source_policy_name) if source_role else None
        )
    verification = {
        "checked": sorted(key for key in written if key.endswith("policy")),
        "extra_inline_policies": sorted(
            name for name in role.inline_policies if name != grant.permission_policy_name
        ),
    }
    return written, verification


def grant_provision_failed(*, grant_id: int, message: str) -> None:
    """Provisioning gave up: the grant shows `failed` with the reason and can be retried."""
    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        grant.last_error = message[:4000]
        grant.save(update_fields=["last_error"])
        if access_request.status in (Status.PROVISIONING, Status.APPROVED):
            _move(access_request, Status.FAILED, actor=None, verb="grant.failed", error=message)


def _may_manage(user: AbstractBaseUser, access_request: AccessRequest) -> bool:
    return (
        user.is_superuser
        or access_request.requester_id == user.pk
        or user_approves_for(user=user, account=access_request.target_account)
    )


def grant_retry(*, grant: Grant, user: AbstractBaseUser, client_address: str | None = None) -> None:
    """Try a failed provisioning again, or a revoke that stopped on an error."""
    with transaction.atomic():
        grant, access_request = _lock(grant.pk)
        if not _may_manage(user, access_request):
            raise ServiceError("You cannot retry this grant.", kind=ServiceError.FORBIDDEN)
        grant_id = grant.pk
        if access_request.status == Status.FAILED:
            _move(
                access_request,
                Status.APPROVED,
                actor=user,
                verb="grant.retried",
                client_address=client_address,
            )
            transaction.on_commit(lambda: _enqueue_provision(grant_id))
        elif access_request.status == Status.REVOKING and grant.last_error:
            audit_record(
                actor=user,
                verb="grant.revoke_retried",
                obj=grant,
                access_request_id=access_request.pk,
                before={"last_error": grant.last_error},
                client_address=client_address,
            )
            transaction.on_commit(lambda: _enqueue_revoke(grant_id))
        else:
            raise ServiceError("There is nothing to retry.", kind=ServiceError.CONFLICT)


def grant_revoke_request(
    *, grant: Grant, user: AbstractBaseUser | None, client_address: str | None = None
) -> None:
    """Revoke now (requester, an approver of the target account, or an admin)."""
    _revoke_start(
        grant_id=grant.pk,
        user=user,
        end_status=Grant.EndStatus.REVOKED,
        client_address=client_address,
    )


def _revoke_start(
    *, grant_id: int, user: AbstractBaseUser | None, end_status: str, client_address=None
) -> bool:
    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        if user is not None and not _may_manage(user, access_request):
            raise ServiceError("You cannot revoke this grant.", kind=ServiceError.FORBIDDEN)
        if access_request.status not in (Status.ACTIVE, Status.PROVISIONING, Status.FAILED):
            if user is None:
                return False
            raise ServiceError(
                f"This grant is {access_request.get_status_display().lower()}.",
                kind=ServiceError.CONFLICT,
            )
        grant.end_status = end_status
        grant.save(update_fields=["end_status"])
        verb = "grant.expiring" if end_status == Grant.EndStatus.EXPIRED else "grant.revoking"
        _move(access_request, Status.REVOKING, actor=user, verb=verb, client_address=client_address)
        transaction.on_commit(lambda: _enqueue_revoke(grant_id))
        return True


def grant_revoke(*, grant_id: int) -> None:
    """Remove exactly what the grant wrote, on both accounts, and nothing else."""
    grant = Grant.objects.select_related(
        "access_request__source_account", "access_request__target_account"
    ).get(pk=grant_id)
    access_request = grant.access_request
    if access_request.status != Status.REVOKING:
        return
    target, source = access_request.target_account, access_request.source_account
    removed = []
    if grant.source_policy_name:
        source_credentials = aws.role_credentials(source.provisioner_role_arn)
        if aws.role_policy_delete(
            source_credentials,
            role_name=grant.source_role_name,
            policy_name=grant.source_policy_name,
        ):
            removed.append(
                f"{source.account_id}:role/{grant.source_role_name}:{grant.source_policy_name}"
            )
    target_credentials = aws.role_credentials(target.provisioner_role_arn)
    role = aws.role_read(target_credentials, role_name=grant.role_name)
    if role is not None:
        if role.tags.get(REQUEST_TAG) != str(access_request.pk):
            raise aws.AwsError(
                f"Role {grant.role_name} is not tagged as written for request {access_request.pk}; "
                "the portal leaves it alone."
            )
        if aws.role_policy_delete(
            target_credentials, role_name=grant.role_name, policy_name=grant.permission_policy_name
        ):
            removed.append(
                f"{target.account_id}:role/{grant.role_name}:{grant.permission_policy_name}"
            )
        if aws.role_delete(target_credentials, role_name=grant.role_name):
            removed.append(role.arn)

    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        if access_request.status != Status.REVOKING:
            return
        grant.ended_at = timezone.now()
        grant.last_error = ""
        grant.save(update_fields=["ended_at", "last_error"])
        final = Status.EXPIRED if grant.end_status == Grant.EndStatus.EXPIRED else Status.REVOKED
        _move(access_request, final, actor=None, verb=f"grant.{final}", removed=removed)


def grant_revoke_failed(*, grant_id: int, message: str) -> None:
    """The revoke could not finish: the grant stays `revoking` with the reason, to retry."""
    Grant.objects.filter(pk=grant_id).update(last_error=message[:4000])


def grants_expire() -> int:
    """Start revoking every active grant past its expiry. Safe to run late or twice."""
    due = Grant.objects.filter(
        access_request__status=Status.ACTIVE, expires_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    return sum(
        _revoke_start(grant_id=grant_id, user=None, end_status=Grant.EndStatus.EXPIRED)
        for grant_id in due
    )


def _enqueue_provision(grant_id: int) -> None:
    from provisioning.tasks import grant_provision_task

    grant_provision_task.delay(grant_id)


def _enqueue_revoke(grant_id: int) -> None:
    from provisioning.tasks import grant_revoke_task

    grant_revoke_task.delay(grant_id)
