"""The demo world inside the embedded emulator: the portal's own roles in every
managed account, and the article's resources to grant access to.

Only for the emulator (`AWS_ENDPOINT_URL`): it writes through moto's `x-moto-account-id` header,
which real AWS does not have. The emulator keeps nothing across restarts, so this runs at every
start; every step is create-if-absent and never duplicates or overwrites data.
"""

from aws.demo_world.client import DemoWorldError
from aws.demo_world.organization import (
    MANAGEMENT_ACCOUNT,
    ORGANIZATIONS_READER_ROLE,
    organization_root_id,
)
from aws.demo_world.policies import (
    BROKER_ROLE,
    DEMO_REGION,
    PROVISIONER_ROLE,
    provisioner_policy,
)
from aws.demo_world.resources import AUDITORS_STATEMENT, FOREIGN_OBJECT
from aws.demo_world.seed import demo_world_seed

__all__ = [
    "AUDITORS_STATEMENT",
    "BROKER_ROLE",
    "DEMO_REGION",
    "FOREIGN_OBJECT",
    "MANAGEMENT_ACCOUNT",
    "ORGANIZATIONS_READER_ROLE",
    "PROVISIONER_ROLE",
    "DemoWorldError",
    "demo_world_seed",
    "organization_root_id",
    "provisioner_policy",
]
