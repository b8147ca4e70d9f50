"""The only package that talks to AWS: small typed functions over boto3 that return dataclasses.

Credentials come from boto3's default chain (the tooling account) and from the roles named in the
account records; never from settings or the database. `AWS_ENDPOINT_URL` points every client at the
embedded emulator in development; unset, it is real AWS.
"""

from aws.core import (
    AssumedRole,
    AwsError,
    Credentials,
    assume_role,
    caller_identity,
    emulator_client,
    role_credentials,
)
from aws.iam import (
    RoleAttachments,
    RolePermissions,
    RoleState,
    managed_policy_read,
    role_answers,
    role_attachments,
    role_delete,
    role_instance_profile_remove,
    role_permissions,
    role_policy_delete,
    role_policy_detach,
    role_policy_put,
    role_put,
    role_read,
)
from aws.iam_accounts import AccountRoles, account_roles_read
from aws.inventory import InventoryItem, account_inventory
from aws.organizations import (
    OrganizationAccount,
    OrganizationScp,
    OrganizationSnapshot,
    organization_snapshot,
)
from aws.resource_policies import (
    PolicyHolder,
    policy_delete,
    policy_read,
    policy_write,
    resource_exists,
)
from aws.s3_acls import (
    AclState,
    acl_read,
    acl_write,
    bucket_owner_account,
    canonical_user_id,
    object_owner,
    object_owner_account,
    object_ownership,
)

__all__ = [
    "InventoryItem",
    "account_inventory",
    "OrganizationAccount",
    "OrganizationScp",
    "OrganizationSnapshot",
    "organization_snapshot",
    "AssumedRole",
    "AwsError",
    "Credentials",
    "RoleAttachments",
    "RolePermissions",
    "RoleState",
    "AccountRoles",
    "account_roles_read",
    "assume_role",
    "caller_identity",
    "emulator_client",
    "managed_policy_read",
    "role_credentials",
    "role_answers",
    "role_attachments",
    "role_delete",
    "role_instance_profile_remove",
    "role_policy_delete",
    "role_policy_detach",
    "role_policy_put",
    "role_permissions",
    "role_put",
    "role_read",
    "AclState",
    "acl_read",
    "acl_write",
    "bucket_owner_account",
    "canonical_user_id",
    "object_owner",
    "object_owner_account",
    "object_ownership",
    "PolicyHolder",
    "policy_delete",
    "policy_read",
    "policy_write",
    "resource_exists",
]
