"""Reads about accounts that need a rule."""

from django.contrib.auth.models import User

from accounts.models import Account


def user_approves_for(*, user: User, account: Account) -> bool:
    """A member of the account's approver group."""
    return (
        account.approver_group_id is not None
        and user.groups.filter(pk=account.approver_group_id).exists()
    )
