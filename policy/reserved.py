"""The portal's own resources: no request may name them, in any account, whatever the action.

A grant on the portal's machinery is a grant on every grant: `iam:PutRolePolicy` on another
grant's role rewrites what that role may do, `iam:UpdateAssumeRolePolicy` on the broker lets
anyone in, a new version of the boundary lifts it. So a resource is refused when it names, or as a
pattern could match, one of them:

- roles and policies under the portal's path (`role/portal/...`, `policy/portal/...`: the grant
  roles and `PortalGrantBoundary`);
- the provisioner, broker and organizations-reader roles (every account's, and the default names
  the member-account template creates), in every account.

Matching is pattern against pattern: `arn:aws:iam::999999999999:role/*` could match a grant role,
so it is refused like the role itself. IAM names are unique regardless of case, so they are
compared regardless of case as well.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reserved:
    """One kind of resource the portal keeps to itself: an IAM resource pattern (the part of the
    ARN after the account: `role/portal/*`), in every account and partition, and why."""

    resource: str
    what: str


def reserved_patterns(*, role_path: str, roles: Iterable[str]) -> list[Reserved]:
    """The portal's resources: every role and policy under `role_path` (e.g. "/portal/"), and
    `roles` (the provisioner, broker and organizations-reader roles, as the resource part of their
    ARNs, path included: "role/PortalBroker")."""
    path = role_path.strip("/")
    reserved = [
        Reserved(f"role/{path}/*", f"the portal's grant roles (path /{path}/)"),
        Reserved(f"policy/{path}/*", f"the portal's policies (path /{path}/)"),
    ]
    for role in sorted({r for r in roles if r}):
        reserved.append(Reserved(role, f"the portal's role {role.rsplit('/', 1)[-1]}"))
    return reserved


def reserved_match(resource: str, reserved: Iterable[Reserved]) -> Reserved | None:
    """The first of `reserved` that `resource` (an ARN, or an ARN pattern) names or could match,
    field by field: an ARN's `*` stays within its field."""
    fields = resource.split(":", 5)
    if len(fields) != 6 or not patterns_overlap(fields[2], "iam"):
        return None
    for entry in reserved:
        if patterns_overlap(fields[5].lower(), entry.resource.lower()):
            return entry
    return None


def patterns_overlap(a: str, b: str) -> bool:
    """Whether some string matches both IAM-style patterns (`*`: any run of characters, `/`
    included; `?`: any one character). meet[i][j]: the rests a[i:] and b[j:] share a string."""
    meet = [[False] * (len(b) + 1) for _ in range(len(a) + 1)]
    meet[len(a)][len(b)] = True
    for i in range(len(a), -1, -1):
        for j in range(len(b), -1, -1):
            if i == len(a) and j == len(b):
                continue
            if i < len(a) and a[i] == "*":
                # a's star matches nothing more, or takes the next character b stands for.
                meet[i][j] = meet[i + 1][j] or (j < len(b) and meet[i][j + 1])
            elif j < len(b) and b[j] == "*":
                meet[i][j] = meet[i][j + 1] or (i < len(a) and meet[i + 1][j])
            elif i < len(a) and j < len(b):
                same = a[i] == b[j] or "?" in (a[i], b[j])
                meet[i][j] = same and meet[i + 1][j + 1]
    return meet[0][0]
