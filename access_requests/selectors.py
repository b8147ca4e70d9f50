"""Every read of requests that needs a rule: who may see and who may decide."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from access_requests.models import AccessRequest
from accounts.models import Account


def access_requests_visible_to(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
    """Admins see all; others their own requests and those on accounts they approve for."""
    requests = AccessRequest.objects.select_related(
        "requester", "source_account", "target_account", "grant"
    )
    if user.is_superuser:
        return requests
    return requests.filter(
        Q(requester=user) | Q(target_account__approver_group__in=user.groups.all())
    ).distinct()


def access_requests_awaiting(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
    """Pending requests this user may decide and has not voted on yet."""
    return (
        access_requests_visible_to(user=user)
        .filter(
            status=AccessRequest.Status.PENDING,
            target_account__approver_group__in=user.groups.all(),
        )
        .exclude(requester=user)
        .exclude(approvals__approver=user)
    )


def user_approves_for(*, user: AbstractBaseUser, account: Account) -> bool:
    return (
        account.approver_group_id is not None
        and user.groups.filter(pk=account.approver_group_id).exists()
    )


def access_request_may_decide(*, user: AbstractBaseUser, access_request: AccessRequest) -> bool:
    return (
        access_request.is_pending
        and access_request.requester_id != user.pk
        and user_approves_for(user=user, account=access_request.target_account)
    )


def accounts_selectable() -> QuerySet[Account]:
    return Account.objects.all()
