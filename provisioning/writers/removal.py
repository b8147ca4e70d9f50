"""What removing a grant did, as the revoke and the rollback record it."""

from dataclasses import dataclass, field


@dataclass
class Removal:
    """`removed`: what the removal took out of AWS, one line each. `found`: what it found there
    beyond what the portal wrote (policies attached or added to the portal's role, its tags
    changed, statements others added to a resource policy during the grant): recorded with the
    revoke and reported to the target account's approvers, since someone changed what they
    approved."""

    removed: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)

    def __add__(self, other: "Removal") -> "Removal":
        return Removal(self.removed + other.removed, self.found + other.found)
