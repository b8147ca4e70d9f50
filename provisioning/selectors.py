"""Reads of grants that need a rule."""

from django.contrib.auth.models import User
from django.db.models import F, QuerySet

from accounts.selectors import user_approves_for
from provisioning.models import ApprovedRequest, Grant, Lifecycle


def user_may_manage(*, user: User, access_request: ApprovedRequest) -> bool:
    """Who may revoke, retry or re-apply a request's grant, or cancel the request: the requester,
    an approver of the target account, or a platform admin."""
    return (
        user.is_superuser
        or access_request.requester_id == user.pk
        or user_approves_for(user=user, account=access_request.target_account)
    )


def grants_active_of(*, user: User) -> QuerySet[Grant]:
    """The grants of `user`'s own requests that are live in AWS now, the soonest to expire first.

    Status, not the clock, decides "live": a grant past its expiry stays active until the expiry
    task has removed its policies, and the page should say so rather than hide it."""
    return (
        Grant.objects.select_related(
            "access_request__source_account", "access_request__target_account"
        )
        .filter(access_request__requester=user, access_request__status=Lifecycle.ACTIVE)
        .order_by(F("expires_at").asc(nulls_last=True), "id")
    )
