"""What each mechanism writes into AWS and how it is removed again, one module per mechanism.

Every writer has `write(grant, access_request) -> dict` (writes, reads back, and raises AwsError
unless AWS holds exactly what was approved; the dict is what was read back) and
`remove(grant, access_request) -> list[str]` (removes exactly what the grant recorded, says what).
Both are idempotent: a task that runs again after a crash redoes them harmlessly.
"""

from types import ModuleType

from provisioning.models import ApprovedRequest, Grant, Mechanism
from provisioning.writers import acl, resource_policy, role, source


def writer_for(mechanism: str) -> ModuleType:
    writers: dict[str, ModuleType] = {
        Mechanism.ASSUME_ROLE: role,
        Mechanism.RESOURCE_POLICY: resource_policy,
        Mechanism.ACL: acl,
    }
    return writers[mechanism]


def written_remove(grant: Grant, access_request: ApprovedRequest) -> list[str]:
    """Remove exactly what the grant wrote, on both accounts, and nothing else; say what (the
    revoke and the rollback of a failed grant alike)."""
    removed = source.remove(grant, access_request)
    return removed + writer_for(access_request.mechanism).remove(grant, access_request)


__all__ = ["source", "writer_for", "written_remove"]
