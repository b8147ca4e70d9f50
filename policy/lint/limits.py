"""The size limits of each document type: IAM counts characters without white space (an SCP's,
with it); S3 counts a bucket policy's bytes.

Quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

import json
import re
from typing import Any

from policy.lint.findings import ERROR, Lint, strings

# Characters without white space (IAM's count) or bytes, by policy type.
SIZE_LIMITS = {
    "trust": (2048, "role trust policy", "characters without white space"),
    "identity": (10240, "inline role policy", "characters without white space"),
    "session": (2048, "session policy", "characters without white space"),
    "scp": (5120, "service control policy", "characters"),
}
BUCKET_POLICY_BYTES = 20 * 1024


def size(lint: Lint, policy: dict[str, Any]) -> None:
    text = json.dumps(policy, separators=(",", ":"), ensure_ascii=False)
    if lint.policy_type == "resource":
        if len(text.encode()) > BUCKET_POLICY_BYTES and _is_bucket_policy(policy):
            lint.add(
                ERROR,
                "size",
                None,
                "",
                f"The bucket policy is {len(text.encode()):,} "
                f"bytes; S3 allows {BUCKET_POLICY_BYTES:,}.",
            )
        return
    limit, name, unit = SIZE_LIMITS[lint.policy_type]
    count = len(re.sub(r"\s", "", text)) if "white" in unit else len(text)
    if count > limit:
        lint.add(ERROR, "size", None, "", f"The {name} is {count:,} {unit}; IAM allows {limit:,}.")


def _is_bucket_policy(policy: dict[str, Any]) -> bool:
    statements = policy.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements or []
    for statement in statements:
        if isinstance(statement, dict):
            for value in strings(statement.get("Resource")) or []:
                if value.startswith("arn:aws:s3:::"):
                    return True
    return False
