"""The only package that talks to AWS: small typed functions over boto3 that return dataclasses.

Credentials come from boto3's default chain (the tooling account) and from the roles named in the
account records; never from settings or the database. `AWS_ENDPOINT_URL` points every client at the
embedded emulator in development; unset, it is real AWS.
"""

from provisioning.aws.core import (
    AssumedRole,
    AwsError,
    Credentials,
    assume_role,
    caller_identity,
    emulator_client,
    role_credentials,
)
from provisioning.aws.iam import (
    RoleState,
    role_delete,
    role_policy_delete,
    role_policy_put,
    role_put,
    role_read,
)

__all__ = [
    "AssumedRole",
    "AwsError",
    "Credentials",
    "RoleState",
    "assume_role",
    "caller_identity",
    "emulator_client",
    "role_credentials",
    "role_delete",
    "role_policy_delete",
    "role_policy_put",
    "role_put",
    "role_read",
]
