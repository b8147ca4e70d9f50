"""Who gets a notification's email."""

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from notifications.messages import (
    APPROVERS,
    APPROVERS_AND_ADMINS,
    REQUESTER,
    REQUESTER_AND_APPROVERS,
)

logger = logging.getLogger(__name__)


def approvers_of(*, access_request: Any):
    """The active users who may decide on this request: the target account's approver group,
    the source account's when it asks for two-party approval, and the platform admins when it
    is a privilege escalation (it needs one of them). Never the requester."""
    groups = [access_request.target_account.approver_group_id]
    if access_request.source_account.source_approval_required:
        groups.append(access_request.source_account.approver_group_id)
    deciders = Q(groups__in=[g for g in groups if g is not None])
    if access_request.privilege_escalation:
        deciders |= Q(is_superuser=True)
    return (
        get_user_model()
        .objects.filter(deciders, is_active=True)
        .exclude(pk=access_request.requester_id)
        .distinct()
        .order_by("pk")
    )


def recipient_emails(*, audience: str, access_request: Any) -> list[str]:
    """The addresses of the event's audience, once each; users without a (valid) email are
    skipped."""
    users = []
    if audience in (REQUESTER, REQUESTER_AND_APPROVERS) and access_request.requester.is_active:
        users.append(access_request.requester)
    if audience in (APPROVERS, REQUESTER_AND_APPROVERS, APPROVERS_AND_ADMINS):
        users.extend(approvers_of(access_request=access_request))
    if audience == APPROVERS_AND_ADMINS:
        users.extend(get_user_model().objects.filter(is_superuser=True, is_active=True))
    addresses: dict[str, str] = {}
    for user in users:
        address = (user.email or "").strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            logger.warning("user %s has an invalid email address; not notified", user.pk)
            continue
        addresses.setdefault(address.lower(), address)
    return list(addresses.values())


def slack_destinations(*, access_request: Any) -> list[str]:
    """Where an approval message goes: the approvers' Slack channel of the target account (and of
    the source account when it asks for two-party approval); without one, each approver with a
    Slack member id, in their direct messages with the app."""
    accounts = [access_request.target_account]
    if access_request.source_account.source_approval_required:
        accounts.append(access_request.source_account)
    channels = [account.slack_channel_id for account in accounts if account.slack_channel_id]
    if channels:
        return list(dict.fromkeys(channels))
    return list(
        approvers_of(access_request=access_request)
        .filter(profile__slack_user_id__isnull=False)
        .values_list("profile__slack_user_id", flat=True)
    )
