"""Extending an active grant: the same documents, a later expiry, through the same approval rules.

Nothing is revoked or written again in between: an approved extension only moves the expiry; a
rejected one leaves the grant running until its original expiry.
"""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from access_requests.models import AccessRequest
from accounts.models import SESSION_SECONDS_MIN
from accounts.rules import eligibility
from accounts.selectors import left_organization_refusal
from audit.services import audit_record
from core.errors import ServiceError
from notifications.services import notify
from provisioning.models import Grant
from provisioning.services import grant_extend

Status = AccessRequest.Status


@transaction.atomic
def grant_extension_request(
    *,
    grant: Grant,
    user: User,
    duration: int,
    justification: str,
    client_address: str | None = None,
) -> AccessRequest:
    """Ask for `duration` more seconds on an active grant. One pending extension at a time."""
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    original = AccessRequest.objects.select_related("target_account", "source_account").get(
        pk=grant.access_request_id
    )
    if original.requester_id != user.pk:
        raise ServiceError("Only the requester can extend a grant.", kind=ServiceError.FORBIDDEN)
    if original.status != Status.ACTIVE:
        raise ServiceError(
            f"This grant is {original.get_status_display().lower()}.", kind=ServiceError.CONFLICT
        )
    for account in (original.target_account, original.source_account):
        if refusal := left_organization_refusal(account):
            raise ServiceError(refusal, kind=ServiceError.CONFLICT)
    if grant.extensions.filter(status=Status.PENDING).exists():
        raise ServiceError(
            "An extension of this grant is already waiting for approval.",
            kind=ServiceError.CONFLICT,
        )
    errors: dict[str, list[str]] = {}
    maximum = original.target_account.max_access_duration
    remaining = int((grant.expiry - timezone.now()).total_seconds())
    if duration < SESSION_SECONDS_MIN:
        errors["duration"] = ["An extension adds at least 15 minutes."]
    elif remaining + duration > maximum:
        errors["duration"] = [
            f"{original.target_account.name} allows access for at most {maximum // 3600} hours "
            f"from now; this grant has {max(remaining, 0) // 60} minutes left."
        ]
    if not errors:
        errors.update(_rule_errors(original, user=user, until_then=remaining + duration))
    if not justification.strip():
        errors["justification"] = ["Say why you need longer."]
    elif len(justification) > 2000:
        errors["justification"] = ["At most 2000 characters."]
    if errors:
        raise ServiceError("The extension has errors.", field_errors=errors)
    extension = AccessRequest.objects.create(
        requester=user,
        source_account=original.source_account,
        target_account=original.target_account,
        source_principal=original.source_principal,
        actions=original.actions,
        resources=original.resources,
        access_via=original.access_via,
        requested_mechanism=original.requested_mechanism,
        mechanism=original.mechanism,
        recommended_mechanism=original.recommended_mechanism,
        recommendation_reasons=original.recommendation_reasons,
        duration=duration,
        justification=justification.strip(),
        ticket=original.ticket,
        third_party=original.third_party,
        external_id=original.external_id,
        documents=original.documents,
        documents_hash=original.documents_hash,
        findings=original.findings,
        privilege_escalation=original.privilege_escalation,
        extends=grant,
    )
    audit_record(
        actor=user,
        verb="extension.submitted",
        obj=extension,
        access_request_id=extension.pk,
        after={"grant": grant.pk, "duration": duration, "extends_request": original.pk},
        client_address=client_address,
    )
    notify(event="extension.submitted", access_request_id=extension.pk)
    return extension


def _rule_errors(original: AccessRequest, *, user: User, until_then: int) -> dict[str, list[str]]:
    """The access rules hold for an extension as for a new request, on the whole time from now
    to the new expiry: the requester must still be allowed these actions there, for that long."""
    found = eligibility(
        user=user,
        account=original.target_account,
        actions=original.actions,
        duration=until_then,
        break_glass=original.break_glass,
    )
    if not found.checked or found.rule is not None:
        return {}
    if found.forbidden:
        raise ServiceError(found.forbidden, kind=ServiceError.FORBIDDEN)
    return {
        "duration" if name == "duration" else "grant": [
            f"Extended, the grant would last {until_then // 3600} h {until_then % 3600 // 60} min "
            f"from now. {message}"
            if name == "duration"
            else message
            for message in messages
        ]
        for name, messages in found.errors.items()
    }


def extension_apply(
    extension: AccessRequest, *, approver: User, client_address: str | None = None
) -> None:
    """The quorum approved an extension (called inside the approval's transaction and lock)."""
    if extension.extends_id is None:
        raise ValueError(f"{extension} extends no grant.")
    grant = grant_extend(
        grant_id=extension.extends_id,
        seconds=extension.duration,
        actor=approver,
        extension_id=extension.pk,
        client_address=client_address,
    )
    extension.status = Status.EXTENDED
    extension.decided_at = timezone.now()
    extension.save(update_fields=["status", "decided_at", "updated_at"])
    audit_record(
        actor=approver,
        verb="extension.applied",
        obj=extension,
        access_request_id=extension.pk,
        before={"status": Status.PENDING},
        after={"status": Status.EXTENDED, "expires_at": grant.expiry.isoformat()},
        client_address=client_address,
    )
    notify(event="extension.applied", access_request_id=extension.pk)
