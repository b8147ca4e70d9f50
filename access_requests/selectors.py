"""Every read of requests that needs a rule: who may see and who may decide."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from access_requests.models import AccessRequest, Approval
from accounts.models import Account


def access_requests_visible_to(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
    """Admins see all; others their own requests and those on accounts they approve for."""
    requests = AccessRequest.objects.select_related(
        "requester", "source_account", "target_account", "grant"
    )
    if user.is_superuser:
        return requests
    groups = user.groups.all()
    return requests.filter(
        Q(requester=user)
        | Q(target_account__approver_group__in=groups)
        | Q(
            source_account__source_approval_required=True, source_account__approver_group__in=groups
        )
    ).distinct()


def access_requests_awaiting(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
    """Pending requests this user may decide and has not voted on yet."""
    groups = user.groups.all()
    return (
        access_requests_visible_to(user=user)
        .filter(status=AccessRequest.Status.PENDING)
        .filter(
            Q(target_account__approver_group__in=groups)
            | Q(
                source_account__source_approval_required=True,
                source_account__approver_group__in=groups,
            )
        )
        .exclude(requester=user)
        .exclude(
            Exists(
                Approval.objects.filter(
                    access_request=OuterRef("pk"),
                    approver=user,
                    documents_hash=OuterRef("documents_hash"),
                )
            )
        )
    )


def user_approves_for(*, user: AbstractBaseUser, account: Account) -> bool:
    return (
        account.approver_group_id is not None
        and user.groups.filter(pk=account.approver_group_id).exists()
    )


def user_may_decide_for(*, user: AbstractBaseUser, access_request: AccessRequest) -> bool:
    """An approver of the target account, or of the source account when it asks for two-party
    approval."""
    if user_approves_for(user=user, account=access_request.target_account):
        return True
    source = access_request.source_account
    return source.source_approval_required and user_approves_for(user=user, account=source)


def access_request_may_decide(*, user: AbstractBaseUser, access_request: AccessRequest) -> bool:
    return (
        access_request.is_pending
        and access_request.requester_id != user.pk
        and user_may_decide_for(user=user, access_request=access_request)
        and not access_request.approvals.filter(
            approver=user, documents_hash=access_request.documents_hash
        ).exists()
    )


def accounts_selectable() -> QuerySet[Account]:
    return Account.objects.all()
