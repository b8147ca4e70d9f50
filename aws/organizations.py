"""AWS Organizations, read through a management-account role: the SCPs and RCPs and where they
attach, and the accounts with their place in the organization."""

import json
from dataclasses import dataclass, field
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
    # resource control policies, as scps (AWS's own RCPFullAWSAccess left out: it is implied)
    rcps: list[OrganizationScp] = field(default_factory=list)
    organization_id: str = ""  # o-…


def _policies(organizations: Any, policy_type: str) -> list[OrganizationScp]:
    found = []
    for summary in pages(organizations, "list_policies", "Policies", Filter=policy_type):
        policy = organizations.describe_policy(PolicyId=summary["Id"])["Policy"]
        targets = pages(organizations, "list_targets_for_policy", "Targets", PolicyId=summary["Id"])
        found.append(
            OrganizationScp(
                name=summary["Name"],
                description=summary.get("Description", ""),
                document=json.loads(policy["Content"]),
                targets=tuple(target["TargetId"] for target in targets),
            )
        )
    return found


# The RCP AWS attaches everywhere while RCPs are enabled; the evaluator implies it.
RCP_FULL_ACCESS = "RCPFullAWSAccess"


def organization_snapshot(credentials: Credentials) -> OrganizationSnapshot:
    organizations = client_for("organizations", credentials, region="us-east-1")
    try:
        organization_id = organizations.describe_organization()["Organization"]["Id"]
        scps = _policies(organizations, "SERVICE_CONTROL_POLICY")
        rcps = [
            rcp
            for rcp in _policies(organizations, "RESOURCE_CONTROL_POLICY")
            if rcp.name != RCP_FULL_ACCESS
        ]
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
    return OrganizationSnapshot(
        scps=scps,
        paths=paths,
        accounts=tuple(members),
        rcps=rcps,
        organization_id=organization_id,
    )
