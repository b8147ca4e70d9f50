"""AWS Organizations, read through a management-account role: the SCPs and where they attach."""

import json
from dataclasses import dataclass
from typing import Any

from aws.core import Credentials, client_for, pages, translate_error


@dataclass(frozen=True)
class OrganizationScp:
    name: str
    description: str
    document: dict[str, Any]
    targets: tuple[str, ...]  # root, OU and account ids


@dataclass(frozen=True)
class OrganizationAccount:
    account_id: str
    name: str
    status: str  # ACTIVE, SUSPENDED or PENDING_CLOSURE
    # arn:PARTITION:organizations::MANAGEMENT:account/o-.../ID: where its partition is read
    arn: str = ""


@dataclass(frozen=True)
class OrganizationSnapshot:
    scps: list[OrganizationScp]
    # account id -> "r-xxxx/ou-xxxx-yyyyyyyy/..." from the root down to its parent
    paths: dict[str, str]
    # every account of the organization, the management account included
    accounts: tuple[OrganizationAccount, ...] = ()


def organization_snapshot(credentials: Credentials) -> OrganizationSnapshot:
    organizations = client_for("organizations", credentials, region="us-east-1")
    try:
        scps = []
        for summary in pages(
            organizations, "list_policies", "Policies", Filter="SERVICE_CONTROL_POLICY"
        ):
            policy = organizations.describe_policy(PolicyId=summary["Id"])["Policy"]
            targets = pages(
                organizations, "list_targets_for_policy", "Targets", PolicyId=summary["Id"]
            )
            scps.append(
                OrganizationScp(
                    name=summary["Name"],
                    description=summary.get("Description", ""),
                    document=json.loads(policy["Content"]),
                    targets=tuple(target["TargetId"] for target in targets),
                )
            )
        paths = {}
        members = []
        for account in pages(organizations, "list_accounts", "Accounts"):
            members.append(
                OrganizationAccount(
                    account_id=account["Id"],
                    name=account.get("Name", ""),
                    status=account.get("Status", "ACTIVE"),
                    arn=account.get("Arn", ""),
                )
            )
            chain, child = [], account["Id"]
            while True:
                parent = organizations.list_parents(ChildId=child)["Parents"][0]
                chain.append(parent["Id"])
                if parent["Type"] == "ROOT":
                    break
                child = parent["Id"]
            paths[account["Id"]] = "/".join(reversed(chain))
    except Exception as error:
        raise translate_error(error, "reading AWS Organizations") from error
    return OrganizationSnapshot(scps=scps, paths=paths, accounts=tuple(members))
