"""`scale.json` (SPEC 10.7): the portal after years of use, 10,000 active grants over 100 accounts
among 100,000 requests, bulk-inserted with the AWS side of every grant in the emulator.

Measured: one expiry sweep of every grant (all made due at once), one drift sweep of every grant
(seconds, and AWS calls a grant: the sweep's own count and the process's botocore count), and the
p95 of the request list and of a request's detail through gunicorn at 1,000 and at 100,000
requests (as the admin, who sees every request).
"""

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from bench.system import World, load, requests_submit, world_seed

TARGET_BASE = 300_000_000_000
SOURCE = "111111111111"
BROKER = "PortalBroker"


def _aws_calls_so_far() -> float:
    """Every AWS call this process made (the botocore hook's counter, this process's own)."""
    from core import metrics

    return sum(
        sample.value
        for family in metrics.AWS_CALLS.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def _accounts(count: int) -> list:
    from accounts.models import Account

    data = Account.objects.get(account_id="999999999999")
    made = []
    for i in range(count):
        account = copy.copy(data)
        account.pk = None
        account.account_id = str(TARGET_BASE + i)
        account.name = f"scale-{i:03d}"
        account.provisioner_role_arn = f"arn:aws:iam::{account.account_id}:role/PortalProvisioner"
        made.append(account)
    return Account.objects.bulk_create(made)


def _documents(template: dict, *, request_id: int, account_id: str) -> dict:
    """The three documents of an assume-role request for table T<request id> in `account_id`,
    shaped as the submission stores them."""
    from policy import builders

    names = builders.names_for(request_id)
    role_arn = f"arn:aws:iam::{account_id}:role/portal/{names.role_name}"
    documents = copy.deepcopy(template)
    documents[builders.TRUST_POLICY]["document"] = builders.trust_policy(
        principal=f"arn:aws:iam::{SOURCE}:role/{BROKER}", source_identity="alice"
    )
    documents[builders.PERMISSION_POLICY]["document"] = builders.permission_policy(
        sid=names.sid,
        actions=["dynamodb:GetItem"],
        resources=[f"arn:aws:dynamodb:eu-central-1:{account_id}:table/T{request_id}"],
    )
    documents[builders.SOURCE_IDENTITY_POLICY]["document"] = builders.source_identity_policy(
        sid=names.sid, role_arn=role_arn
    )
    return documents


def copy_insert(objects: list) -> None:
    """INSERT by PostgreSQL's COPY, with each field's value as Django prepares it for the
    database (bulk_create's array parameters are slow to encode for JSON columns). A value the
    row shares with the row before (the copies of one template) is prepared once."""
    import json

    from django.db import connection, models

    if not objects:
        return
    model = type(objects[0])
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and objects[0].pk is None)  # the sequence numbers them
    ]
    for obj in objects:
        for field in fields:
            if getattr(field, "auto_now_add", False) and getattr(obj, field.attname) is None:
                field.pre_save(obj, add=True)

    def prepared(field, value):
        if isinstance(field, models.JSONField):
            return json.dumps(value, cls=field.encoder)  # COPY's text: PostgreSQL parses it
        return field.get_db_prep_save(value, connection)

    last: dict[str, tuple[object, object]] = {}
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                row = []
                for field in fields:
                    value = getattr(obj, field.attname)
                    seen = last.get(field.attname)
                    if seen is None or seen[0] is not value:
                        seen = (value, prepared(field, value))
                        last[field.attname] = seen
                    row.append(seen[1])
                copy.write_row(row)


def fill(total: int, *, grants_every: int, accounts: list, state: dict[str, Any]) -> None:
    """Insert requests (and the grants of every `grants_every`-th, active) up to `total`,
    continuing from `state`, then refresh the planner's statistics as autovacuum would."""
    from django.db import connection
    from django.utils import timezone

    from access_requests.models import AccessRequest
    from policy import builders
    from provisioning.models import Grant

    template = state["template"]
    fields = [f.attname for f in AccessRequest._meta.concrete_fields if f.attname != "id"]
    ended = ["expired", "revoked", "rejected", "cancelled", "pending"]
    now = timezone.now()
    while state["made"] < total:
        requests, grants = [], []
        for _ in range(min(5000, total - state["made"])):
            i = state["made"]
            state["made"] += 1
            request = AccessRequest(**{name: getattr(template, name) for name in fields})
            request.id = state["next_id"]
            state["next_id"] += 1
            request.justification = f"Scale request {i}"
            # Row 0 is the template (a pending request): the grants are rows 1, 11, 21, ...
            if (i - 1) % grants_every == 0:
                account = accounts[(i // grants_every) % len(accounts)]
                request.target_account_id = account.pk
                request.status = AccessRequest.Status.ACTIVE
                request.documents = _documents(
                    template.documents, request_id=request.id, account_id=account.account_id
                )
                names = builders.names_for(request.id)
                grants.append(
                    Grant(
                        access_request_id=request.id,
                        role_name=names.role_name,
                        permission_policy_name=names.policy_name,
                        source_role_name=BROKER,
                        source_policy_name=names.policy_name,
                        max_session_duration=account.max_session_duration,
                        role_arn=f"arn:aws:iam::{account.account_id}:role/portal/{names.role_name}",
                        activated_at=now,
                        verified_at=now,
                        expires_at=now + timedelta(hours=8),
                    )
                )
                state["grants"].append((request.id, account.account_id, request.documents))
            else:
                request.status = ended[i % len(ended)]
            requests.append(request)
        copy_insert(requests)
        copy_insert(grants)
    table = AccessRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"  # noqa: S608
        )
        for name in (table, Grant._meta.db_table):
            cursor.execute(f"VACUUM ANALYZE {name}")


def aws_side(grants: list[tuple[int, str, dict]]) -> float:
    """Each grant's role (trust policy, boundary, tags, session length, permission policy) in its
    target account and its identity policy on the source account's broker role, as provisioning
    writes them; ten threads (a boto3 client keeps ten connections) on the emulator. Returns
    the seconds it took."""
    import json

    from aws import emulator_client
    from policy import builders
    from provisioning.writers.role import portal_tags

    started = time.perf_counter()
    clients: dict[str, Any] = {}

    def client(account_id: str):
        if account_id not in clients:
            clients[account_id] = emulator_client("iam", account_id=account_id, region="us-east-1")
        return clients[account_id]

    for account_id in {SOURCE} | {account for _, account, _ in grants}:
        client(account_id)

    class _Requester:
        def get_username(self) -> str:
            return "alice"

    class _Approved:
        def __init__(self, pk: int) -> None:
            self.pk = pk
            self.requester = _Requester()

    def one(grant: tuple[int, str, dict]) -> None:
        request_id, account_id, documents = grant
        names = builders.names_for(request_id)
        iam = client(account_id)
        tags = portal_tags(_Approved(request_id))  # type: ignore[arg-type]
        iam.create_role(
            RoleName=names.role_name,
            Path="/portal/",
            AssumeRolePolicyDocument=json.dumps(documents[builders.TRUST_POLICY]["document"]),
            MaxSessionDuration=3600,
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
            PermissionsBoundary=f"arn:aws:iam::{account_id}:policy/portal/PortalGrantBoundary",
        )
        iam.put_role_policy(
            RoleName=names.role_name,
            PolicyName=names.policy_name,
            PolicyDocument=json.dumps(documents[builders.PERMISSION_POLICY]["document"]),
        )
        client(SOURCE).put_role_policy(
            RoleName=BROKER,
            PolicyName=names.policy_name,
            PolicyDocument=json.dumps(documents[builders.SOURCE_IDENTITY_POLICY]["document"]),
        )

    # Many at once: the emulator answers one connection's calls about 40 ms apart (its HTTP
    # server and delayed ACKs), and many connections' calls in a few milliseconds each.
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(one, grants))
    return time.perf_counter() - started


def explain(detail_id: int) -> dict[str, str]:
    """PostgreSQL's plans, at the large size, of what the list and the detail read: the list's
    page (the admin's: every request, newest first), its count, and the detail's request."""
    from django.db import connection

    from access_requests.models import AccessRequest
    from api.serializers.requests import LIST_VALUES

    page = AccessRequest.objects.order_by("-created_at", "-id").values(*LIST_VALUES)[:25]
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN ANALYZE SELECT COUNT(*) FROM {AccessRequest._meta.db_table}"  # noqa: S608
        )
        count = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "list_page": page.explain(analyze=True),
        "list_count": count,
        "detail": AccessRequest.objects.filter(pk=detail_id).explain(analyze=True),
    }


def _reads(world: World, detail_id: int, seconds: float, threads: int) -> dict[str, Any]:
    token = world.tokens["admin"]
    listed = load(world.web_port, token, "/api/v1/requests/", seconds=seconds, threads=threads)
    detail = load(
        world.web_port, token, f"/api/v1/requests/{detail_id}/", seconds=seconds, threads=threads
    )
    return {"list": listed, "detail": detail}


def scale(
    world: World,
    *,
    accounts: int,
    grants: int,
    sizes: tuple[int, int],
    seconds: float,
    threads: int,
) -> dict[str, Any]:
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from provisioning import drift_sweep, expiry
    from provisioning.models import Grant

    small, large = sizes
    call_command("flush", verbosity=0, interactive=False)
    world_seed(world)
    template = requests_submit(1)[0]
    made_accounts = _accounts(accounts)
    state: dict[str, Any] = {
        "template": template,
        "made": 1,
        "next_id": template.pk + 1,
        "grants": [],
    }
    grants_every = large // grants
    timings: dict[str, Any] = {}
    reads: dict[str, Any] = {}

    started = time.perf_counter()
    fill(small, grants_every=grants_every, accounts=made_accounts, state=state)
    timings["insert_small_seconds"] = time.perf_counter() - started
    middle = state["grants"][len(state["grants"]) // 2][0]
    reads[str(small)] = _reads(world, middle, seconds, threads)

    started = time.perf_counter()
    fill(large, grants_every=grants_every, accounts=made_accounts, state=state)
    timings["insert_large_seconds"] = time.perf_counter() - started
    reads[str(large)] = _reads(world, middle, seconds, threads)

    plans = explain(middle)
    timings["aws_side_seconds"] = aws_side(state["grants"])

    # The provisioner sessions are taken afresh, as by a worker that just started.
    from aws import core

    core._role_sessions.clear()
    calls_before = _aws_calls_so_far()
    started = time.perf_counter()
    swept = drift_sweep.assume_role_grants_sweep()
    drift_seconds = time.perf_counter() - started
    calls = _aws_calls_so_far() - calls_before

    Grant.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    started = time.perf_counter()
    expired = expiry.grants_expire()
    expiry_seconds = time.perf_counter() - started
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)

    return {
        "expiry_sweep_seconds": round(expiry_seconds, 3),
        "drift_sweep_seconds": round(drift_seconds, 3),
        "drift_aws_calls_per_grant": round(calls / max(1, swept.grants), 4),
        "list_p95_ms": {size: round(r["list"]["p95_ms"], 2) for size, r in reads.items()},
        "detail_p95_ms": {size: round(r["detail"]["p95_ms"], 2) for size, r in reads.items()},
        "world": {
            "requests": state["made"],
            "active_grants": len(state["grants"]),
            "accounts": accounts,
            "grants_expired_by_the_sweep": expired,
            "grants_checked_by_the_drift_sweep": swept.grants,
            "drifted_found": swept.drifted,
            "drift_accounts_read": swept.accounts,
            "drift_calls_counted_by_the_sweep": swept.aws_calls,
            "drift_calls_counted_by_botocore": calls,
            "drift_account_calls_per_second": settings.PORTAL_DRIFT_ACCOUNT_CALLS_PER_SECOND,
        },
        "reads": reads,
        "explain": plans,
        "build": {key: round(value, 2) for key, value in timings.items()},
    }
