"""Every write to grants: provision, verify, revoke, expire, retry.

The worker calls `grant_provision` and `grant_revoke`; they are idempotent (deterministic names,
upserts, deletes that accept "already gone") so a redelivered task redoes its work harmlessly.
No database transaction is held across AWS calls: status moves under a short row lock, so a revoke
that lands while AWS is being written wins, and the provisioning task then cleans up after itself.
"""

import logging
from datetime import timedelta
from functools import partial

from celery import Task
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

import aws
from audit.services import audit_record
from core.errors import ServiceError
from notifications.services import notify
from policy import builders
from provisioning import writers
from provisioning.models import ApprovedRequest, Grant, Lifecycle, Mechanism
from provisioning.selectors import user_may_manage
from provisioning.simulation import simulate_written
from provisioning.writers import writer_for

logger = logging.getLogger(__name__)
Status = Lifecycle


def _lock(grant_id: int) -> tuple[Grant, ApprovedRequest]:
    """The grant and its request, both rows locked, in one statement (`FOR UPDATE OF` the two:
    the accounts and the requester come along unlocked). Grant.DoesNotExist if it is gone."""
    grant = (
        Grant.objects.select_for_update(of=("self", "access_request"))
        .select_related(
            "access_request__source_account",
            "access_request__target_account",
            "access_request__requester",
        )
        .get(pk=grant_id)
    )
    return grant, grant.access_request


def _move(
    access_request: ApprovedRequest,
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


def _begin_provisioning(grant_id: int) -> tuple[Grant, ApprovedRequest] | None:
    """Move the request to provisioning and count the attempt; the locked rows, to write from,
    or None when there is nothing to provision (any more)."""
    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        if access_request.status == Status.APPROVED:
            _move(access_request, Status.PROVISIONING, actor=None, verb="grant.provisioning")
        elif access_request.status != Status.PROVISIONING:
            return None
        grant.attempts += 1
        grant.save(update_fields=["attempts"])
        return grant, access_request


# What provisioning records on the grant once AWS holds what was approved.
_VERIFIED_FIELDS = ["role_arn", "written", "verification", "verified_at", "last_error"]


def grant_provision(*, grant_id: int) -> None:
    """Write what the mechanism needs and the source-side identity policy, read it back, and mark
    the grant active only if AWS holds exactly what was approved. Grant.DoesNotExist when there
    is no such grant."""
    begun = _begin_provisioning(grant_id)
    if begun is None:
        return
    # The rows as locked and updated a moment ago: reading them again would find the same.
    grant, access_request = begun
    written = writer_for(access_request.mechanism).write(grant, access_request)
    source_written = writers.source.write(grant, access_request)
    if source_written is not None:
        written[builders.SOURCE_IDENTITY_POLICY] = source_written
    verdict = simulate_written(access_request=access_request, written=written)
    if verdict["decision"] != "Allowed":
        raise aws.AwsError(
            "Read back from AWS, the grant would not work: "
            + "; ".join(c["explanation"] for c in verdict["checks"] if c["decision"] != "Allowed")
        )

    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        now = timezone.now()
        grant.role_arn = written.get("role_arn", "")
        grant.written = written
        grant.verification = {
            "checked": sorted(k for k in written if "policy" in k or ":" in k),
            "simulation": verdict,
        }
        grant.verified_at = now
        grant.last_error = ""
        if access_request.status != Status.PROVISIONING:
            # A revoke landed while AWS was being written: it may have run before these writes.
            grant.save(update_fields=_VERIFIED_FIELDS)
            if access_request.status == Status.REVOKING:
                transaction.on_commit(lambda: _enqueue_revoke(grant_id))
            return
        grant.activated_at = now
        grant.expires_at = now + timedelta(seconds=access_request.duration)
        grant.save(update_fields=[*_VERIFIED_FIELDS, "activated_at", "expires_at"])
        _move(
            access_request,
            Status.ACTIVE,
            actor=None,
            verb="grant.activated",
            expires_at=grant.expires_at.isoformat(),
        )
        notify(event="grant.activated", access_request_id=access_request.pk)


def grant_create(*, access_request: ApprovedRequest) -> Grant:
    """The grant of an approved request, recording the names of everything it will write before
    anything is written; its provisioning is queued after the commit (call it inside the
    approval's transaction)."""
    names = builders.names_for(access_request.pk)
    documents = access_request.documents
    source_document = documents[builders.SOURCE_IDENTITY_POLICY]
    grant = Grant(
        access_request=access_request,
        source_role_name=source_document.get("role_name", ""),
        source_policy_name=names.policy_name if source_document["written_by_portal"] else "",
        external_id=access_request.external_id,
        max_session_duration=access_request.target_account.max_session_duration,
    )
    if access_request.mechanism == Mechanism.ASSUME_ROLE:
        grant.role_name = names.role_name
        grant.permission_policy_name = names.policy_name
    elif access_request.mechanism == Mechanism.RESOURCE_POLICY:
        grant.resource_statements = [
            {"holder": entry["holder"], "sid": entry["document"]["Sid"], "created_policy": None}
            for key, entry in documents.items()
            if key.startswith(builders.RESOURCE_POLICY_PREFIX)
        ]
    else:
        grant.acl_grants = [
            {
                "bucket": entry["bucket"],
                "key": entry["key"],
                "grantee": entry["document"]["Grantee"]["ID"],
                "permission": permission,
                "writer_account": "",
            }
            for key, entry in documents.items()
            if key.startswith(builders.ACL_PREFIX)
            for permission in entry["document"]["Permissions"]
        ]
    grant.save()
    transaction.on_commit(partial(grant_provision_enqueue, grant.pk))
    return grant


def grant_provision_failed(*, grant_id: int, message: str) -> None:
    """Provisioning gave up: the grant shows `failed` with the reason and can be retried."""
    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        grant.last_error = message[:4000]
        grant.save(update_fields=["last_error"])
        if access_request.status in (Status.PROVISIONING, Status.APPROVED):
            _move(access_request, Status.FAILED, actor=None, verb="grant.failed", error=message)
            notify(event="grant.failed", access_request_id=access_request.pk)


def grant_retry(*, grant: Grant, user: AbstractBaseUser, client_address: str | None = None) -> None:
    """Try a failed provisioning again, or a revoke that stopped on an error."""
    with transaction.atomic():
        grant, access_request = _lock(grant.pk)
        if not user_may_manage(user=user, access_request=access_request):
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
            transaction.on_commit(lambda: grant_provision_enqueue(grant_id))
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
    revoke_start(
        grant_id=grant.pk,
        user=user,
        end_status=Grant.EndStatus.REVOKED,
        client_address=client_address,
    )


def revoke_start(
    *, grant_id: int, user: AbstractBaseUser | None, end_status: str, client_address=None
) -> bool:
    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        if user is not None and not user_may_manage(user=user, access_request=access_request):
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
        verb = "grant.expiry_started" if end_status == Grant.EndStatus.EXPIRED else "grant.revoking"
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
    removed = writers.source.remove(grant, access_request)
    removed += writer_for(access_request.mechanism).remove(grant, access_request)

    with transaction.atomic():
        grant, access_request = _lock(grant_id)
        if access_request.status != Status.REVOKING:
            return
        grant.ended_at = timezone.now()
        grant.last_error = ""
        grant.save(update_fields=["ended_at", "last_error"])
        final = Status.EXPIRED if grant.end_status == Grant.EndStatus.EXPIRED else Status.REVOKED
        _move(access_request, final, actor=None, verb=f"grant.{final}", removed=removed)
        notify(event=f"grant.{final}", access_request_id=access_request.pk)


def grant_error_record(*, grant_id: int, message: str) -> None:
    """A revoke or re-apply could not finish: the grant keeps its status and shows the reason."""
    Grant.objects.filter(pk=grant_id).update(last_error=message[:4000])


# Marks a grant whose task the broker did not take; the requeue sweep queues it again.
QUEUE_ERROR = "The task queue did not take the task"


def _enqueue(task: Task, grant_id: int) -> None:
    """Queue one grant task. Runs after the commit, so the change stands whatever happens here: a
    broker that does not answer (down, or frozen: its socket_timeout bounds the wait) is recorded on
    the grant, and `grants_requeue_stalled` queues the work again, instead of losing it."""
    try:
        task.delay(grant_id)
    except Exception as error:
        logger.error("%s for grant %s not queued: %s", task.name, grant_id, error)
        Grant.objects.filter(pk=grant_id).update(
            last_error=f"{QUEUE_ERROR} ({type(error).__name__}); it is queued again automatically."
        )


def grant_provision_enqueue(grant_id: int) -> None:
    """Queue provisioning now; call it from `transaction.on_commit`. Never raises."""
    from provisioning.tasks import grant_provision_task  # the tasks module imports this one

    _enqueue(grant_provision_task, grant_id)


def _enqueue_revoke(grant_id: int) -> None:
    from provisioning.tasks import grant_revoke_task

    _enqueue(grant_revoke_task, grant_id)


def grants_requeue_stalled(*, older_than: timedelta) -> int:
    """Queue again the provisioning or revoke of grants that have not moved for `older_than`:
    their task was lost (the broker refused it, or a Redis without persistence restarted) or is
    long overdue. The tasks are idempotent, so a second copy of a live task does no harm; a grant
    stopped on a recorded AWS error waits for a person's retry instead. `older_than` stays above
    the longest retry chain, so a grant that is merely retrying is left alone."""
    now = timezone.now()
    stalled = (
        Grant.objects.filter(
            access_request__status__in=[Status.APPROVED, Status.PROVISIONING, Status.REVOKING],
            access_request__updated_at__lt=now - older_than,
        )
        .filter(Q(last_error="") | Q(last_error__startswith=QUEUE_ERROR))
        .values_list("pk", "access_request__status")
    )
    requeued = 0
    for grant_id, status in stalled:
        with transaction.atomic():
            try:
                _grant, access_request = _lock(grant_id)
            except Grant.DoesNotExist:
                continue
            if access_request.status != status:
                continue  # it moved meanwhile
            # Touched, so the next sweep waits another `older_than` before queueing it again.
            access_request.save(update_fields=["updated_at"])
        logger.warning(
            "grant %s has been %s since before %s; queueing it again",
            grant_id,
            status,
            now - older_than,
        )
        if status == Status.REVOKING:
            _enqueue_revoke(grant_id)
        else:
            grant_provision_enqueue(grant_id)
        requeued += 1
    return requeued


def grants_revoke_all(
    *,
    admin: AbstractBaseUser,
    requester: AbstractBaseUser | None = None,
    account_id: str = "",
    client_address: str | None = None,
) -> list[int]:
    """Emergency revoke: every live grant of one user, or every grant into or out of one account,
    across mechanisms. Admins only. Returns the grants now being revoked."""
    if not admin.is_superuser:
        raise ServiceError("Only platform admins revoke in bulk.", kind=ServiceError.FORBIDDEN)
    if (requester is None) == (not account_id):
        raise ServiceError("Name either a user or an account.")
    grants = Grant.objects.filter(
        access_request__status__in=[Status.ACTIVE, Status.PROVISIONING, Status.FAILED]
    )
    if requester is not None:
        grants = grants.filter(access_request__requester=requester)
    else:
        grants = grants.filter(
            Q(access_request__target_account__account_id=account_id)
            | Q(access_request__source_account__account_id=account_id)
        )
    started = []
    for grant_id in grants.order_by("pk").values_list("pk", flat=True):
        try:
            revoke_start(
                grant_id=grant_id,
                user=admin,
                end_status=Grant.EndStatus.REVOKED,
                client_address=client_address,
            )
        except ServiceError:
            continue  # ended meanwhile
        started.append(grant_id)
    with transaction.atomic():
        audit_record(
            actor=admin,
            verb="grants.emergency_revoked",
            obj=requester if requester is not None else admin,
            after={
                "account": account_id,
                "user": getattr(requester, "username", ""),
                "grants": started,
            },
            client_address=client_address,
        )
    return started
