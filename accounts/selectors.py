"""Reads about accounts that need a rule."""

from django.conf import settings
from django.contrib.auth.models import User

from accounts.models import Account
from policy.arns import arn_parse
from policy.reserved import Reserved, reserved_patterns

# The names docs/real-aws.md gives the portal's roles in every member account: reserved under these
# names everywhere, as well as under whatever each account's row says.
PORTAL_ROLE_NAMES = ("PortalProvisioner", "PortalBroker", "PortalOrganizationsReader")


def user_approves_for(*, user: User, account: Account) -> bool:
    """A member of the account's approver group."""
    return (
        account.approver_group_id is not None
        and user.groups.filter(pk=account.approver_group_id).exists()
    )


def left_organization_refusal(account: Account) -> str:
    """Why no new access goes into or out of an account that left the organization ("" while it
    is in it, or was never synced from one). Its grants stay until revoked (SPEC 10.4), but nothing
    new: the account is no longer the organization's, its guardrails (SCPs, RCPs) no longer bind
    it, and whoever owns it now is not who the approvers approved for."""
    if account.left_organization_at is None:
        return ""
    return (
        f"{account} left the organization: the portal gives no new access into or out of it "
        "(its grants stay until revoked)."
    )


def portal_reserved() -> list[Reserved]:
    """The portal's own resources, which no request may name (policy/reserved.py): its role path,
    and the provisioner, broker and organizations-reader roles of every account. One query."""
    roles = {f"role/{name}" for name in PORTAL_ROLE_NAMES}
    arns = [settings.PORTAL_ORGANIZATIONS_ROLE_ARN]
    for provisioner, broker in Account.objects.values_list(
        "provisioner_role_arn", "broker_role_arn"
    ):
        arns += [provisioner, broker]
    for arn in arns:
        parsed = arn_parse(arn) if arn else None
        if parsed is not None:
            roles.add(parsed.resource)
    return reserved_patterns(role_path=settings.PORTAL_ROLE_PATH, roles=roles)


def user_by_slack_id(slack_user_id: str) -> User | None:
    """The active portal user whose profile names this Slack member id, if any."""
    if not slack_user_id:
        return None
    return (
        User.objects.filter(profile__slack_user_id=slack_user_id, is_active=True)
        .select_related("profile")
        .first()
    )
