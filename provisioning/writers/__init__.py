"""What each mechanism writes into AWS and how it is removed again, one module per mechanism.

Every writer has `write(grant, access_request) -> dict` (writes, reads back, and raises AwsError
unless AWS holds exactly what was approved; the dict is what was read back) and
`remove(grant, access_request) -> Removal` (removes what the grant wrote, says what, and what it
found there that the portal did not write). Both are idempotent: a task that runs again after a
crash redoes them harmlessly.
"""

from types import ModuleType

from provisioning.models import ApprovedRequest, Grant, Mechanism
from provisioning.writers import acl, resource_policy, role, source
from provisioning.writers.removal import Removal


def writer_for(mechanism: str) -> ModuleType:
    writers: dict[str, ModuleType] = {
        Mechanism.ASSUME_ROLE: role,
        Mechanism.RESOURCE_POLICY: resource_policy,
        Mechanism.ACL: acl,
    }
    return writers[mechanism]


def written_remove(grant: Grant, access_request: ApprovedRequest) -> Removal:
    """Remove what the grant wrote, on both accounts; say what, and what was found beyond it (the
    revoke and the rollback of a failed grant alike)."""
    removal = source.remove(grant, access_request)
    return removal + writer_for(access_request.mechanism).remove(grant, access_request)


__all__ = ["Removal", "source", "writer_for", "written_remove"]
