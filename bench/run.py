"""`make bench`: the benchmarks side by side in one table, each against its floor.

1. Provisioning: N approved assume-role requests drained by real Celery worker processes (1, 2 and
   4), from the approval's commit until every grant is active, against the same AWS calls made
   straight from boto3 in a loop (bench/system.py).
2. Credential vending: POST /api/v1/grants/{id}/credentials/ through gunicorn against a direct
   sts:AssumeRole on the same role.
3. API reads: GET /api/v1/requests/ with 100 and 10,000 requests in PostgreSQL against a minimal
   Django JSON view on the same gunicorn (bench/urls.py).
4. The policy evaluator and the other pure policy code, below.
5. Scale-out: the provisioning with 4 worker processes.

The bench starts its own emulator, workers and web server on free ports, uses its own database
(bench/settings.py), and stops everything it started, also on errors. `--quick` runs a tiny
version (the smoke test's). Figures go to var/bench/*.json.

The pure policy code: operations per second of policy document generation (policy.builders)
and of request validation (policy.validation, which parses and matches every ARN
against the IAM catalog's ARN templates). Each case runs in rounds of a fixed duration after a
warm-up; the table shows the median round and the spread, and var/bench/results.json keeps the
numbers. No Django, no AWS, no database: only the CPU-bound code. The IAM catalog lookups are
cached after their first call, as they are in a running portal, so this is the steady state.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from policy import builders  # noqa: E402
from policy.arns import arn_matches_template  # noqa: E402
from policy.evaluation import PolicySet, RequestContext, evaluate  # noqa: E402
from policy.validation import access_validate  # noqa: E402

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
    return builders.permission_policy(sid="PortalAccess42", actions=ACTIONS, resources=RESOURCES)


def _all_documents() -> str:
    documents = {
        builders.TRUST_POLICY: builders.trust_policy(
            principal="arn:aws:iam::111111111111:role/PortalBroker", external_id="x-123"
        ),
        builders.PERMISSION_POLICY: _permission_policy(),
        builders.SOURCE_IDENTITY_POLICY: builders.source_identity_policy(
            sid="PortalAccess42", role_arn="arn:aws:iam::999999999999:role/portal/portal-access-42"
        ),
    }
    for document in documents.values():
        builders.document_json(document)
    return builders.documents_hash(
        documents,
        terms={
            "duration": 3600,
            "source_principal": "arn:aws:iam::111111111111:root",
            "access_via": "portal",
            "mechanism": "assume_role",
            "third_party": False,
            "source_account": "111111111111",
            "target_account": "999999999999",
        },
    )


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
    SCP levels (target: 20,000 per second on one core)."""
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


def micro(rounds: int, round_seconds: float) -> dict[str, dict[str, float]]:
    global ROUNDS, ROUND_SECONDS
    ROUNDS, ROUND_SECONDS = rounds, round_seconds
    return {name: measure(function) for name, function in CASES}


def micro_print(results: dict[str, dict[str, float]]) -> None:
    width = max(len(name) for name in results)
    print(f"{'case':<{width}}  {'ops/s (median)':>14}  {'µs/op':>9}  {'spread (min-max)':>21}")
    for name, result in results.items():
        spread = f"{result['min_ops_per_second']:,.0f}-{result['max_ops_per_second']:,.0f}"
        print(
            f"{name:<{width}}  {result['ops_per_second']:>14,.0f}  "
            f"{result['microseconds_per_op']:>9.1f}  {spread:>21}"
        )


def machine() -> dict[str, object]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def system_benchmarks(config: dict[str, object], out: Path) -> dict[str, dict]:
    """Benchmarks 1, 2, 3 and 5 on their own emulator, workers, gunicorn and database."""
    from bench import infra, system

    with infra.Processes(out / "log") as procs:
        emulator = infra.Emulator(procs)
        env = system.environment(emulator.url)
        os.environ.update(env)
        import django

        django.setup()
        import redis
        from django.conf import settings

        database = settings.DATABASES["default"]
        infra.database_ensure(
            f"postgresql://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/postgres",
            database["NAME"],
        )
        system.database_prepare()
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
        world = system.World(
            procs=procs,
            emulator=emulator,
            env=env,
            queue=settings.CELERY_TASK_DEFAULT_QUEUE,
            quick=bool(config["quick"]),
        )
        system.world_seed(world)
        system.web_start(world)
        results = {}
        only = config.get("only") or SYSTEM_CASES

        if "api_reads" in only:
            print("API reads ...", flush=True)
            results["api_reads"] = system.api_reads(
                world, config["rows"], config["load_seconds"], config["load_threads"]
            )
            system.write_json(out / "api_reads.json", results["api_reads"])

        if "provisioning" in only:
            print("provisioning ...", flush=True)
            results["provisioning"] = system.provisioning(
                world, config["grants"], config["workers"]
            )
            system.write_json(out / "provisioning.json", results["provisioning"])
        elif "credentials" in only:
            print("a few grants to take sessions for ...", flush=True)
            system.provisioning(world, 2, [1])

        if "credentials" in only:
            print("credential vending ...", flush=True)
            results["credentials"] = system.credentials(world, config["credential_seconds"])
            system.write_json(out / "credentials.json", results["credentials"])

        if "scale" in only:
            from bench.scale import scale

            print("scale: the portal after years of use ...", flush=True)
            results["scale"] = scale(
                world,
                accounts=config["scale_accounts"],
                grants=config["scale_grants"],
                sizes=tuple(config["scale_sizes"]),
                seconds=config["load_seconds"],
                threads=config["load_threads"],
            )
            system.write_json(out / "scale.json", results["scale"])
    return results


def table(results: dict[str, dict], evaluator: dict[str, float]) -> list[dict[str, object]]:
    """One row per figure: benchmark, portal, floor or direct, ratio, target, met."""
    rows = []
    provisioning = results.get("provisioning", {"portal": {}})
    for workers, figures in provisioning["portal"].items():
        direct_run = provisioning["direct_runs"][workers]
        label = "scale-out: " if workers == "4" else ""
        target = "<= 1.5" if workers == "2" else "note"
        rows.append(
            {
                "benchmark": f"{label}provision {figures['grants']} grants, {workers} worker(s)",
                "portal": f"{figures['seconds']:.2f} s ({figures['grants_per_second']:.1f}/s)",
                "floor": f"{direct_run['seconds']:.2f} s ({direct_run['grants_per_second']:.1f}/s)",
                "ratio": figures["ratio_to_direct"],
                "target": target,
                "met": figures["ratio_to_direct"] <= 1.5 if workers == "2" else None,
            }
        )
    credentials = results.get("credentials")
    for which in ("median", "p95") if credentials else ():
        ratio = credentials[f"ratio_{which}"]
        rows.append(
            {
                "benchmark": f"credentials POST, {which}",
                "portal": f"{credentials['portal'][f'{which}_ms']:.1f} ms",
                "floor": f"{credentials['direct'][f'{which}_ms']:.1f} ms (sts:AssumeRole)",
                "ratio": ratio,
                "target": "<= 2",
                "met": ratio <= 2,
            }
        )
    cases = results.get("api_reads", {"cases": {}})["cases"]
    for rows_in_db, case in cases.items():
        api, floor = case["api"], case["floor"]
        rows.append(
            {
                "benchmark": f"GET /api/v1/requests/, {int(rows_in_db):,} rows",
                "portal": f"{api['requests_per_second']:.0f}/s, p95 {api['p95_ms']:.1f} ms",
                "floor": f"{floor['requests_per_second']:.0f}/s, p95 {floor['p95_ms']:.1f} ms",
                "ratio": case["ratio_to_floor"],
                "target": ">= 0.5",
                "met": case["ratio_to_floor"] >= 0.5,
            }
        )
        if "conditional" in case:  # the same page asked again with its ETag: 304
            conditional = case["conditional"]
            rows.append(
                {
                    "benchmark": "  same, If-None-Match (304)",
                    "portal": f"{conditional['requests_per_second']:.0f}/s, "
                    f"p95 {conditional['p95_ms']:.1f} ms",
                    "floor": f"{floor['requests_per_second']:.0f}/s",
                    "ratio": case["conditional_ratio_to_floor"],
                    "target": ">= 0.5",
                    "met": case["conditional_ratio_to_floor"] >= 0.5,
                }
            )
    counts = list(cases)
    if len(counts) >= 2:
        small, large = cases[counts[0]]["api"], cases[counts[-1]]["api"]
        flat = large["requests_per_second"] / small["requests_per_second"]
        rows.append(
            {
                "benchmark": f"API reads flat, {int(counts[-1]):,} vs {int(counts[0]):,} rows",
                "portal": f"{large['requests_per_second']:.0f}/s",
                "floor": f"{small['requests_per_second']:.0f}/s",
                "ratio": flat,
                "target": ">= 0.8",
                "met": flat >= 0.8,
            }
        )
    rows += scale_rows(results.get("scale"))
    rows.append(
        {
            "benchmark": "evaluator (2 SCP levels, 1 condition), 1 core",
            "portal": f"{evaluator['ops_per_second']:,.0f}/s",
            "floor": "",
            "ratio": None,
            "target": ">= 20,000/s",
            "met": evaluator["ops_per_second"] >= 20_000,
        }
    )
    return rows


def scale_rows(scale: dict | None) -> list[dict[str, object]]:
    """The scale targets: an expiry sweep within 5 s, a drift sweep of at most 3 AWS calls a
    grant, list and detail p95 at the large size within 2x of the small."""
    if not scale:
        return []
    world = scale["world"]
    rows: list[dict[str, object]] = [
        {
            "benchmark": f"expiry sweep, {world['grants_expired_by_the_sweep']:,} grants",
            "portal": f"{scale['expiry_sweep_seconds']:.2f} s",
            "floor": "",
            "ratio": None,
            "target": "<= 5 s",
            "met": scale["expiry_sweep_seconds"] <= 5,
        },
        {
            "benchmark": f"drift sweep, {world['grants_checked_by_the_drift_sweep']:,} grants, "
            f"{world['drift_accounts_read']} accounts",
            "portal": f"{scale['drift_sweep_seconds']:.2f} s, "
            f"{scale['drift_aws_calls_per_grant']:.3f} AWS calls/grant",
            "floor": "",
            "ratio": None,
            "target": "<= 3 calls/grant",
            "met": scale["drift_aws_calls_per_grant"] <= 3,
        },
    ]
    for which in ("list", "detail"):
        figures = scale[f"{which}_p95_ms"]
        small, large = list(figures)
        ratio = figures[large] / figures[small]
        rows.append(
            {
                "benchmark": f"request {which} p95, {int(large):,} vs {int(small):,} requests",
                "portal": f"{figures[large]:.1f} ms",
                "floor": f"{figures[small]:.1f} ms",
                "ratio": ratio,
                "target": "<= 2",
                "met": ratio <= 2,
            }
        )
    return rows


def table_print(rows: list[dict[str, object]], about: dict[str, object]) -> None:
    def cell(row: dict[str, object], key: str) -> str:
        value = row[key]
        if key == "ratio":
            return "" if value is None else f"{value:.2f}"
        if key == "met":
            return {True: "yes", False: "NO", None: "-"}[value]
        return str(value)

    keys = ["benchmark", "portal", "floor", "ratio", "target", "met"]
    heads = ["benchmark", "portal", "floor / direct", "ratio", "target", "met?"]
    widths = [
        max(len(h), *(len(cell(r, k)) for r in rows)) for h, k in zip(heads, keys, strict=True)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))
    print("\n" + line + "\n" + "-" * len(line))
    for row in rows:
        print("  ".join(cell(row, k).ljust(w) for k, w in zip(keys, widths, strict=True)))
    print(
        f"\nMachine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, "
        f"load average at start {about['load_average_at_start']} (shared machines make noisy "
        "figures: run again to compare)."
    )


SYSTEM_CASES = ("api_reads", "provisioning", "credentials", "scale")
QUICK = {
    "quick": True,
    "grants": 5,
    "workers": [2],
    "rows": [20, 100],
    "load_seconds": 0.5,
    "load_threads": 2,
    "credential_seconds": 0.5,
    "scale_accounts": 4,
    "scale_grants": 40,
    "scale_sizes": [100, 400],
    "rounds": 2,
    "round_seconds": 0.1,
}
FULL = {
    "quick": False,
    "grants": 200,
    "workers": [1, 2, 4],
    "rows": [100, 10_000],
    "load_seconds": 4.0,
    "load_threads": 4,
    "credential_seconds": 4.0,
    "scale_accounts": 100,
    "scale_grants": 10_000,
    "scale_sizes": [1_000, 100_000],
    "rounds": ROUNDS,
    "round_seconds": ROUND_SECONDS,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (N=5, 0.5 s a case)")
    parser.add_argument(
        "--micro-only", action="store_true", help="only the pure policy code: no processes"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=SYSTEM_CASES,
        help="run only this system benchmark (repeatable; default: all)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench", help="JSON folder")
    args = parser.parse_args(argv)
    config = {**(QUICK if args.quick else FULL), "only": args.only}
    out: Path = args.out
    about = machine()
    started = datetime.now(UTC)

    evaluations = micro(config["rounds"], config["round_seconds"])
    micro_print(evaluations)
    evaluator = evaluations["evaluate a cross-account request (2 SCP levels)"]
    common = {"measured_at": started.isoformat(), "machine": about, "config": config}
    write_json(out / "results.json", {**common, "results": evaluations})
    write_json(out / "evaluator.json", {**common, **evaluator})
    if args.micro_only:
        return 0

    results = system_benchmarks(config, out)
    rows = table(results, evaluator)
    table_print(rows, about)
    write_json(
        out / "summary.json",
        {**common, "seconds": (datetime.now(UTC) - started).total_seconds(), "table": rows},
    )
    print(f"\nWritten to {out}/: summary.json and one file per benchmark; logs in {out}/log/")
    return 0


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
