"""What the evaluator's table tests share: the verdicts' short names, the article's accounts and
principals, and small builders of policy documents."""

from policy.evaluation import ALLOWED, EXPLICITLY_DENIED, IMPLICITLY_DENIED

A = ALLOWED
E = EXPLICITLY_DENIED
I = IMPLICITLY_DENIED  # noqa: E741
V = "2012-10-17"

SOURCE = "111111111111"
TARGET = "999999999999"
ALICE = f"arn:aws:sts::{SOURCE}:assumed-role/Dev/alice"
DEV_ROLE = f"arn:aws:iam::{SOURCE}:role/Dev"
BOB = f"arn:aws:iam::{SOURCE}:user/bob"


def stmt(effect="Allow", action="s3:GetObject", resource="*", **extra):
    """A statement; `action` or `resource` None leaves the element out (for NotAction and the
    like, given in `extra`)."""
    out = {"Effect": effect}
    if action is not None:
        out["Action"] = action
    if resource is not None:
        out["Resource"] = resource
    out.update(extra)
    return out


def pol(*statements, version=V):
    return {"Version": version, "Statement": list(statements)}


ALLOW_ALL = pol(stmt(action="*", resource="*"))
