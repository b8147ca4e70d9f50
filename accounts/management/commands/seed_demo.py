"""`manage.py seed_demo`: the demo world, in the portal's database and in the emulator.

Run by `make run` at every start: everything converges to the seed (update_or_create, passwords
set again), so reruns neither fail nor duplicate. Refused where PORTAL_DEMO_ALLOWED is false
(production settings), because the demo users have published passwords.
"""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Account, OrganizationDefaults, ServiceControlPolicy
from accounts.rule_changes import access_rules_write
from aws.demo_world import (
    BROKER_ROLE,
    PROVISIONER_ROLE,
    DemoWorldError,
    demo_world_seed,
    organization_root_id,
)
from policy.arns import role_arn

DAY = 24 * 3600
DATA_APPROVERS = "data-approvers"
PROD_APPROVERS = "prod-approvers"
DEVELOPERS = "developers"
ONCALL = "oncall"
PLATFORM_ADMINS = "platform-admins"
HOUR = 3600


def _provisioner(account_id: str) -> str:
    return role_arn(account_id=account_id, role_name=PROVISIONER_ROLE)


# account_id -> fields; approver groups by name.
DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "111111111111": {
        "name": "dev",
        "environment": Account.Environment.NON_PROD,
        "managed": True,
        "third_party": False,
        "provisioner_role_arn": _provisioner("111111111111"),
        "broker_role_arn": role_arn(account_id="111111111111", role_name=BROKER_ROLE),
        "approver_group": None,
        "approvals_required": 1,
        "max_session_duration": 3600,
        "max_access_duration": 7 * DAY,
        "organization_path": "r-demo/ou-workloads/ou-dev",
        "organization_id": "o-demo",
    },
    "999999999999": {
        "name": "data",
        "environment": Account.Environment.NON_PROD,
        "managed": True,
        "third_party": False,
        "provisioner_role_arn": _provisioner("999999999999"),
        "broker_role_arn": "",
        "approver_group": DATA_APPROVERS,
        "approvals_required": 1,
        "max_session_duration": 3600,
        "max_access_duration": 7 * DAY,
        "organization_path": "r-demo/ou-workloads/ou-data",
        "organization_id": "o-demo",
    },
    "222222222222": {
        "name": "prod",
        "environment": Account.Environment.PROD,
        "managed": True,
        "third_party": False,
        "provisioner_role_arn": _provisioner("222222222222"),
        "broker_role_arn": "",
        "approver_group": PROD_APPROVERS,
        "approvals_required": 2,
        "max_session_duration": 3600,
        "max_access_duration": 1 * DAY,
        "organization_path": "r-demo/ou-workloads/ou-prod",
        "organization_id": "o-demo",
    },
    "555555555555": {
        "name": "sandbox",
        "environment": Account.Environment.NON_PROD,
        "managed": True,
        "third_party": False,
        "provisioner_role_arn": _provisioner("555555555555"),
        "broker_role_arn": "",
        "approver_group": DATA_APPROVERS,
        "approvals_required": 1,
        "max_session_duration": 3600,
        "max_access_duration": 7 * DAY,
        "organization_path": "r-demo/ou-workloads/ou-sandbox",
        "organization_id": "o-demo",
    },
    "333333333333": {
        "name": "vendor",
        "environment": Account.Environment.NON_PROD,
        "managed": False,
        "third_party": True,
        "provisioner_role_arn": "",
        "broker_role_arn": "",
        "approver_group": None,
        "approvals_required": 1,
        "max_session_duration": 3600,
        "max_access_duration": 7 * DAY,
        "organization_path": "",
    },
}

# username -> (password, groups, superuser). The passwords are published in the README and on the
# login page of the demo; that is why the command refuses to run outside the demo.
DEMO_USERS: dict[str, tuple[str, list[str], bool]] = {
    "alice": ("alice-demo", [DEVELOPERS, ONCALL], False),
    "bob": ("bob-demo", [DATA_APPROVERS, PROD_APPROVERS], False),
    "carol": ("carol-demo", [DATA_APPROVERS, PROD_APPROVERS], False),
    "admin": ("admin-demo", [PLATFORM_ADMINS], True),
    "dave": ("dave-demo", [], False),
}

# The demo's access rules (SPEC 10.2), also the example file of docs/access-rules.md.
DEMO_RULES: list[dict[str, Any]] = [
    {
        "name": "sandbox-read",
        "accounts": ["555555555555"],
        "requester_groups": [DEVELOPERS],
        "access_levels": ["Read", "List"],
        "max_duration": 4 * HOUR,
        "approval": "auto",
        "break_glass": False,
    },
    {
        "name": "data",
        "accounts": ["999999999999"],
        "requester_groups": [DEVELOPERS],
        "max_duration": 7 * DAY,
        "approval": "account",
        "break_glass": False,
    },
    {
        "name": "prod",
        "accounts": ["222222222222"],
        "requester_groups": [DEVELOPERS],
        "max_duration": 12 * HOUR,
        "approval": "account",
        "break_glass": False,
    },
    {
        "name": "prod-breakglass",
        "accounts": ["222222222222"],
        "requester_groups": [ONCALL],
        "max_duration": 1 * HOUR,
        "approval": "account",
        "break_glass": True,
    },
]


FULL_AWS_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# AWS attaches FullAWSAccess to the root, every OU and every account; the demo adds two denials.
DEMO_SCPS: list[tuple[str, str, dict[str, Any], str]] = [
    *[
        ("FullAWSAccess", target, FULL_AWS_ACCESS, "AWS's default: every level must allow")
        for target in (
            "r-demo",
            "ou-workloads",
            "ou-dev",
            "ou-data",
            "ou-prod",
            "ou-sandbox",
            "111111111111",
            "999999999999",
            "222222222222",
            "555555555555",
        )
    ],
    (
        "DenyLeavingTheOrganization",
        "r-demo",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyLeave",
                    "Effect": "Deny",
                    "Action": "organizations:LeaveOrganization",
                    "Resource": "*",
                }
            ],
        },
        "No account leaves the organization",
    ),
    (
        "DenyProdTableScans",
        "ou-prod",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NoFullTableScans",
                    "Effect": "Deny",
                    "Action": "dynamodb:Scan",
                    "Resource": "*",
                }
            ],
        },
        "Production tables are queried, never scanned",
    ),
]


@transaction.atomic
def demo_database_seed() -> list[str]:
    """Accounts, approver groups and users; returns one summary line per record."""
    lines = []
    groups = {
        name: Group.objects.get_or_create(name=name)[0]
        for name in (DATA_APPROVERS, PROD_APPROVERS, DEVELOPERS, ONCALL, PLATFORM_ADMINS)
    }
    for account_id, fields in DEMO_ACCOUNTS.items():
        defaults = dict(fields, approver_group=groups.get(fields["approver_group"] or ""))
        account, created = Account.objects.update_or_create(
            account_id=account_id, defaults=defaults
        )
        account.full_clean()
        lines.append(f"account {account}: {'created' if created else 'updated'}")
    user_model = get_user_model()
    for username, (password, group_names, superuser) in DEMO_USERS.items():
        user, created = user_model.objects.update_or_create(
            username=username,
            defaults={
                "email": f"{username}@example.com",
                "first_name": username.capitalize(),
                "is_active": True,
                "is_staff": superuser,
                "is_superuser": superuser,
            },
        )
        # Only when it differs: a new password ends the user's API token (api/services.py), and
        # `make run` seeds at every start.
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.set([groups[name] for name in group_names])
        lines.append(f"user {username}: {'created' if created else 'updated'}")
    for name, target, document, description in DEMO_SCPS:
        ServiceControlPolicy.objects.update_or_create(
            name=name, target=target, defaults={"document": document, "description": description}
        )
    lines.append(f"service control policies: {len(DEMO_SCPS)}")
    access_rules_write(DEMO_RULES)
    lines.append(f"access rules: {len(DEMO_RULES)}")
    return lines


# The demo organization's root (SPEC 10.4): accounts the sync adds anywhere in it get these.
ROOT_DEFAULTS = {
    "name": "demo organization root",
    "approvals_required": 1,
    "max_access_duration": 12 * 3600,
}


def demo_organization_defaults_seed(root_id: str) -> str:
    """The root's defaults, for the emulator's organization whose root id is random (so it is
    looked up at each start, after the emulator is seeded)."""
    group, _ = Group.objects.get_or_create(name=DATA_APPROVERS)
    # The emulator keeps nothing across restarts: the last start's root is gone.
    OrganizationDefaults.objects.filter(name=ROOT_DEFAULTS["name"]).exclude(target=root_id).delete()
    _, created = OrganizationDefaults.objects.update_or_create(
        target=root_id, defaults=dict(ROOT_DEFAULTS, approver_group=group)
    )
    return f"organization defaults of {root_id}: {'created' if created else 'updated'}"


class Command(BaseCommand):
    help = "Seed the demo world : accounts, users and, in the emulator, roles and data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-aws",
            action="store_true",
            help="Seed only the portal's database, not the emulator.",
        )

    def handle(self, *args: Any, skip_aws: bool = False, **options: Any) -> None:
        if not settings.PORTAL_DEMO_ALLOWED:
            raise CommandError(
                "The demo world has users with published passwords; it is refused here "
                "(PORTAL_DEMO_ALLOWED is false)."
            )
        if not skip_aws and not settings.AWS_ENDPOINT_URL:
            raise CommandError(
                "AWS_ENDPOINT_URL is unset, so this would be real AWS: seed_demo only seeds the "
                "embedded emulator. Set AWS_ENDPOINT_URL, or pass --skip-aws."
            )
        lines = demo_database_seed()
        if not skip_aws:
            # One "Found credentials in environment variables" line per client is noise here.
            logging.getLogger("botocore.credentials").setLevel(logging.WARNING)
            try:
                lines += demo_world_seed()
                lines.append(demo_organization_defaults_seed(organization_root_id()))
            except DemoWorldError as error:
                raise CommandError(
                    f"Seeding the emulator at {settings.AWS_ENDPOINT_URL}: {error}"
                ) from error
        for line in lines:
            self.stdout.write(f"  {line}")
        where = "" if skip_aws else f" and the emulator at {settings.AWS_ENDPOINT_URL}"
        self.stdout.write(self.style.SUCCESS(f"Demo world seeded in the database{where}."))
