"""`make bench`: throughput of the pure policy code the portal runs on every form submit.

Measures operations per second of policy document generation (provisioning.policies) and of
request validation (provisioning.policy.validation, which parses and matches every ARN against
the IAM catalog's ARN templates). Each case runs in rounds of a fixed duration after a warm-up;
the table shows the median round and the spread, and var/bench/results.json keeps the numbers.
No Django, no AWS, no database: only the CPU-bound code, on this machine. The IAM catalog lookups
are cached after their first call, as they are in a running portal, so this is the steady state.
"""

import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioning import policies  # noqa: E402
from provisioning.policy.arns import arn_matches_template  # noqa: E402
from provisioning.policy.evaluation import PolicySet, RequestContext, evaluate  # noqa: E402
from provisioning.policy.validation import access_validate  # noqa: E402

ROUNDS = 5
ROUND_SECONDS = 0.4
TARGET = "999999999999"
TABLE = f"arn:aws:dynamodb:eu-central-1:{TARGET}:table/MyTable"
BUCKET = "arn:aws:s3:::mybucket"
ACTIONS = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:ListTables", "s3:GetObject"]
RESOURCES = [TABLE, f"{BUCKET}/reports/*"]
# The mistakes the article makes, which validation must explain rather than accept.
WRONG_RESOURCES = [f"arn:aws:dynamodb:eu-central-1:{TARGET}:table:MyTable", "arn:aws:s3:::MyBucket"]


def _permission_policy() -> object:
    return policies.permission_policy(sid="PortalAccess42", actions=ACTIONS, resources=RESOURCES)


def _all_documents() -> str:
    documents = {
        policies.TRUST_POLICY: policies.trust_policy(
            principal="arn:aws:iam::111111111111:role/PortalBroker", external_id="x-123"
        ),
        policies.PERMISSION_POLICY: _permission_policy(),
        policies.SOURCE_IDENTITY_POLICY: policies.source_identity_policy(
            sid="PortalAccess42", role_arn="arn:aws:iam::999999999999:role/portal/portal-access-42"
        ),
    }
    for document in documents.values():
        policies.document_json(document)
    return policies.documents_hash(documents)


def _validate_good() -> object:
    check = access_validate(actions=ACTIONS, resources=RESOURCES, target_account_id=TARGET)
    assert check.ok, check.errors  # noqa: S101 (a benchmark of a failing path would lie)
    return check


def _validate_wrong() -> object:
    check = access_validate(
        actions=ACTIONS[:1] + ACTIONS[-1:], resources=WRONG_RESOURCES, target_account_id=TARGET
    )
    assert not check.ok  # noqa: S101
    return check


def _arn_match() -> bool:
    return arn_matches_template(
        TABLE, "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}"
    )


_CROSS_ACCOUNT = RequestContext(
    principal="arn:aws:sts::111111111111:assumed-role/DataAnalyst/alice",
    action="s3:GetObject",
    resource="arn:aws:s3:::mybucket/reports/2026-11.csv",
    resource_account="999999999999",
    context={"aws:SourceIp": "10.1.2.3"},
)
_POLICIES = PolicySet(
    scps=[
        [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ],
        [
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            },
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"}],
            },
        ],
    ],
    identity=[
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::mybucket/*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ],
        }
    ],
    resource={
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PortalAccess1",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:role/DataAnalyst"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::mybucket/*",
            }
        ],
    },
)


def _evaluate() -> object:
    """The typical cross-account request: identity policy with one condition, bucket policy, two
    SCP levels (issue 6's target: 20,000 per second on one core)."""
    return evaluate(_CROSS_ACCOUNT, _POLICIES)


CASES: list[tuple[str, Callable[[], object]]] = [
    ("permission policy (4 actions, 2 resources)", _permission_policy),
    ("all three documents + JSON + hash", _all_documents),
    ("validate a correct request", _validate_good),
    ("validate a wrong request (explain ARNs)", _validate_wrong),
    ("match one ARN against a template", _arn_match),
    ("evaluate a cross-account request (2 SCP levels)", _evaluate),
]


def measure(function: Callable[[], object]) -> dict[str, float]:
    """Operations per second in ROUNDS rounds of about ROUND_SECONDS each, after a warm-up."""
    function()
    batch, elapsed = 1, 0.0
    while elapsed < ROUND_SECONDS / 10:  # find a batch size worth timing
        batch *= 2
        start = time.perf_counter()
        for _ in range(batch):
            function()
        elapsed = time.perf_counter() - start
    per_round = max(1, int(batch * ROUND_SECONDS / elapsed))
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(per_round):
            function()
        rates.append(per_round / (time.perf_counter() - start))
    return {
        "ops_per_second": statistics.median(rates),
        "min_ops_per_second": min(rates),
        "max_ops_per_second": max(rates),
        "microseconds_per_op": 1e6 / statistics.median(rates),
        "rounds": ROUNDS,
        "ops_per_round": per_round,
    }


def main() -> None:
    results = {name: measure(function) for name, function in CASES}
    width = max(len(name) for name in results)
    print(f"{'case':<{width}}  {'ops/s (median)':>14}  {'µs/op':>9}  {'spread (min-max)':>21}")
    for name, result in results.items():
        spread = f"{result['min_ops_per_second']:,.0f}-{result['max_ops_per_second']:,.0f}"
        print(
            f"{name:<{width}}  {result['ops_per_second']:>14,.0f}  "
            f"{result['microseconds_per_op']:>9.1f}  {spread:>21}"
        )
    out = ROOT / "var" / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "python": platform.python_version(),
                "machine": f"{platform.system()} {platform.machine()}",
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nWritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
