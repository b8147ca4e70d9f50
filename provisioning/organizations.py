"""Keep the portal's accounts and its copy of the organization's SCPs and RCPs in step with AWS
Organizations (when a management-account role is configured), and check that each account's
provisioner role answers."""

from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import aws
from accounts.models import (
    Account,
    OrganizationDefaults,
    ResourceControlPolicy,
    ServiceControlPolicy,
)
from audit.services import audit_record
from policy.arns import partition_of_arn, role_arn

# The name the member template gives the provisioner role in every account (SPEC 10.4).
PROVISIONER_ROLE_NAME = "PortalProvisioner"


def scps_sync() -> int | None:
    """Replace the synced SCPs with what Organizations holds now. None when not configured."""
    if not settings.PORTAL_ORGANIZATIONS_ROLE_ARN:
        return None
    return _scps_store(_snapshot())


def _snapshot() -> aws.OrganizationSnapshot:
    return aws.organization_snapshot(aws.role_credentials(settings.PORTAL_ORGANIZATIONS_ROLE_ARN))


_Policy = TypeVar("_Policy", ServiceControlPolicy, ResourceControlPolicy)


def _synced_replace(model: type[_Policy], policies: list[aws.OrganizationScp]) -> list[_Policy]:
    """The synced rows of `model` replaced by one per policy and target it is attached to."""
    model.objects.filter(synced=True).delete()
    return model.objects.bulk_create(
        model(
            name=policy.name,
            target=target,
            document=policy.document,
            description=policy.description[:512],
            synced=True,
        )
        for policy in policies
        for target in policy.targets
    )


def _scps_store(snapshot: aws.OrganizationSnapshot) -> int:
    """The synced SCPs and RCPs replaced by the snapshot's, and the accounts' paths brought up to
    date. How many SCP attachments."""
    with transaction.atomic():
        rcps = _synced_replace(ResourceControlPolicy, snapshot.rcps)
        rows = _synced_replace(ServiceControlPolicy, snapshot.scps)
        for account in Account.objects.filter(account_id__in=snapshot.paths):
            path = snapshot.paths[account.account_id]
            if (account.organization_path, account.organization_id) != (
                path,
                snapshot.organization_id,
            ):
                account.organization_path = path
                account.organization_id = snapshot.organization_id
                account.save(update_fields=["organization_path", "organization_id"])
        if rows:
            audit_record(
                actor=None,
                verb="scps.synced",
                obj=rows[0],
                after={
                    "attachments": len(rows),
                    "rcp_attachments": len(rcps),
                    "accounts": len(snapshot.paths),
                },
            )
    return len(rows)


def _defaults_for(path: str, defaults: dict[str, OrganizationDefaults]) -> dict[str, Any]:
    """The fields a new account takes from the nearest root or OU on its path with defaults."""
    for level in reversed(path.split("/") if path else []):
        found = defaults.get(level)
        if found is not None:
            return {
                "approver_group": found.approver_group,
                "approvals_required": found.approvals_required,
                "max_access_duration": found.max_access_duration,
            }
    return {}


def _member_upsert(
    member: aws.OrganizationAccount, path: str, defaults: dict[str, OrganizationDefaults]
) -> str:
    """Add an account the organization has and the portal does not, or bring a synced one's name
    and place up to date; one kept by hand is left as it is. What happened, for the audit."""
    account = Account.objects.filter(account_id=member.account_id).first()
    if account is None:
        account = Account(
            account_id=member.account_id,
            name=(member.name or member.account_id)[:64],
            organization_path=path,
            # In the partition Organizations names (aws, aws-cn, aws-us-gov), never assumed.
            provisioner_role_arn=role_arn(
                account_id=member.account_id,
                role_name=PROVISIONER_ROLE_NAME,
                partition=partition_of_arn(member.arn),
            ),
            organization_synced=True,
            **_defaults_for(path, defaults),
        )
        account.full_clean()
        account.save()
        audit_record(actor=None, verb="account.synced", obj=account, after={"added": path})
        return "added"
    if not account.organization_synced:
        return "kept"
    changed = {
        "name": (member.name or account.name)[:64],
        "organization_path": path,
        "left_organization_at": None,
    }
    before = {field: getattr(account, field) for field in changed}
    if before == changed:
        return "unchanged"
    for field, value in changed.items():
        setattr(account, field, value)
    account.save(update_fields=list(changed))
    audit_record(
        actor=None,
        verb="account.synced",
        obj=account,
        before={k: str(v) for k, v in before.items()},
        after={k: str(v) for k, v in changed.items()},
    )
    return "updated"


def _leavers_mark(present: set[str]) -> int:
    """Synced accounts the organization no longer has: marked, not deleted (their grants stay
    until revoked, and the audit trail keeps pointing at them)."""
    gone = Account.objects.filter(organization_synced=True, left_organization_at__isnull=True)
    marked = 0
    for account in gone.exclude(account_id__in=present):
        account.left_organization_at = timezone.now()
        account.save(update_fields=["left_organization_at"])
        audit_record(actor=None, verb="account.left_organization", obj=account)
        marked += 1
    return marked


def accounts_sync() -> dict[str, int] | None:
    """Bring the portal's accounts in step with AWS Organizations: every account of the
    organization, with its name, OU path, provisioner role and its OU's defaults. None when no
    management-account role is configured (accounts are then kept by hand in /admin/)."""
    if not settings.PORTAL_ORGANIZATIONS_ROLE_ARN:
        return None
    snapshot = _snapshot()
    defaults = {row.target: row for row in OrganizationDefaults.objects.select_related()}
    counts: dict[str, int] = {"added": 0, "updated": 0, "unchanged": 0, "kept": 0}
    with transaction.atomic():
        for member in snapshot.accounts:
            path = snapshot.paths.get(member.account_id, "")
            counts[_member_upsert(member, path, defaults)] += 1
        counts["left"] = _leavers_mark({member.account_id for member in snapshot.accounts})
        # The SCPs of the same snapshot: an account placed in an OU is evaluated against that
        # OU's SCPs, so both land together (no SCP at a level is an implicit deny).
        counts["scp_attachments"] = _scps_store(snapshot)
    return counts


def account_readiness_check(*, account_id: int) -> bool:
    """Whether the account's provisioner role answers through a session of its own; recorded on
    the account with the reason when it does not."""
    account = Account.objects.get(pk=account_id)
    if not account.provisioner_role_arn:
        reason = "No provisioner role: the portal cannot write here."
    elif account.left_organization_at is not None:
        reason = "It left the organization."
    else:
        reason = aws.role_answers(account.provisioner_role_arn)
    Account.objects.filter(pk=account_id).update(
        ready=not reason, ready_reason=reason[:1000], ready_checked_at=timezone.now()
    )
    return not reason


def accounts_readiness_check() -> int:
    """Check every managed account (synced or kept by hand); how many are ready."""
    ids = Account.objects.filter(managed=True).values_list("pk", flat=True)
    return sum(account_readiness_check(account_id=pk) for pk in ids)


def organization_sync_request(*, user: Any) -> None:
    """An admin asks for a sync now: recorded, and queued after the commit (the worker does it)."""
    from provisioning.tasks import organization_sync_task  # the tasks import the services

    audit_record(actor=user, verb="accounts.sync_requested", obj=user)
    transaction.on_commit(organization_sync_task.delay)
