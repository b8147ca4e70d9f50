"""The ExternalId of a third-party request, as the article says: the third party makes it.

AWS's confused-deputy guidance: the third party (the source) generates a unique ExternalId per
customer and gives it to the customer, whose role's trust policy then requires it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html). So
the requester enters the ExternalId the third party gave; the portal makes one only when asked; and
one ExternalId serves a third party and a target account for every request between them, so a
second request reuses the first's and cannot bring a different one.
"""

import re
import secrets

from accounts.models import EXTERNAL_ID_RE, Account, ExternalId
from core.errors import ServiceError

_VALID = re.compile(EXTERNAL_ID_RE)
# What the preview puts in the trust policy while the portal has not made the ExternalId yet.
TO_BE_GENERATED = "<generated on submit>"


def external_id_error(value: str) -> str | None:
    """What is wrong with an entered ExternalId by STS's rules, or None."""
    if _VALID.match(value):
        return None
    return (
        "An ExternalId is 2 to 1,224 characters of letters, digits and _+=,.@:/- "
        "(STS's rule); enter it exactly as the third party gave it."
    )


def external_id_resolve(
    *, source_account: Account, target_account: Account, entered: str, generate: bool
) -> str | None:
    """The ExternalId a third-party request's trust policy requires: the pair's (reused), or the
    one entered; None when the portal is to make one on submit (asked to, and the pair has none).
    ServiceError (400 on `external_id`) when none is given, or one that differs from the pair's."""
    existing = ExternalId.objects.filter(
        source_account=source_account, target_account=target_account
    ).first()
    if existing is not None:
        if entered and entered != existing.value:
            raise _refused(
                f"{source_account.name} already uses another ExternalId with "
                f"{target_account.name}; requests between them share it. Leave the field empty "
                "to use it, or ask a platform admin to change it."
            )
        return existing.value
    if entered:
        return entered
    if generate:
        return None
    raise _refused(
        f"{source_account.name} is a third party: enter the ExternalId it gave you for "
        f"{target_account.name}, or ask the portal to generate one."
    )


def external_id_generate() -> str:
    """A new ExternalId: 128 random bits, in hex."""
    return secrets.token_hex(16)


def external_id_remember(
    *, source_account: Account, target_account: Account, value: str, generated: bool
) -> None:
    """Keep a submitted request's ExternalId as the pair's, if the pair has none yet. Call it in
    the submit's transaction: two first requests at once store one (the other's insert waits on
    the unique constraint and then finds the row)."""
    ExternalId.objects.get_or_create(
        source_account=source_account,
        target_account=target_account,
        defaults={"value": value, "generated": generated},
    )


def _refused(message: str) -> ServiceError:
    return ServiceError("The request has errors.", field_errors={"external_id": [message]})
