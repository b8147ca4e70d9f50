"""Reads of grants that need a rule."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, QuerySet

from access_requests.models import AccessRequest
from provisioning.models import Grant


def grants_active_of(*, user: AbstractBaseUser) -> QuerySet[Grant]:
    """The grants of `user`'s own requests that are live in AWS now, the soonest to expire first.

    Status, not the clock, decides "live": a grant past its expiry stays active until the expiry
    task has removed its policies, and the page should say so rather than hide it."""
    return (
        Grant.objects.select_related(
            "access_request__source_account", "access_request__target_account"
        )
        .filter(access_request__requester=user, access_request__status=AccessRequest.Status.ACTIVE)
        .order_by(F("expires_at").asc(nulls_last=True), "id")
    )
