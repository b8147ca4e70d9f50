"""Keep the portal's copy of the organization's SCPs, and the accounts' places in it, in step with
AWS Organizations (when a management-account role is configured)."""

from django.conf import settings
from django.db import transaction

import aws
from accounts.models import Account, ServiceControlPolicy
from audit.services import audit_record


def scps_sync() -> int | None:
    """Replace the synced SCPs with what Organizations holds now. None when not configured."""
    if not settings.PORTAL_ORGANIZATIONS_ROLE_ARN:
        return None
    snapshot = aws.organization_snapshot(
        aws.role_credentials(settings.PORTAL_ORGANIZATIONS_ROLE_ARN)
    )
    with transaction.atomic():
        ServiceControlPolicy.objects.filter(synced=True).delete()
        rows = [
            ServiceControlPolicy(
                name=scp.name,
                target=target,
                document=scp.document,
                description=scp.description[:512],
                synced=True,
            )
            for scp in snapshot.scps
            for target in scp.targets
        ]
        ServiceControlPolicy.objects.bulk_create(rows)
        for account in Account.objects.filter(account_id__in=snapshot.paths):
            path = snapshot.paths[account.account_id]
            if account.organization_path != path:
                account.organization_path = path
                account.save(update_fields=["organization_path"])
        if rows:
            audit_record(
                actor=None,
                verb="scps.synced",
                obj=rows[0],
                after={"attachments": len(rows), "accounts": len(snapshot.paths)},
            )
    return len(rows)
