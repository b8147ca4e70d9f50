"""The portal against its floor, on real parts: the moto server over HTTP, PostgreSQL, Redis,
real Celery worker processes and gunicorn (provisioning, credentials and API reads).

Each function takes the running `World` and returns a JSON-able dict of figures.
"""

import http.client
import json
import os
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.infra import (
    BIN,
    ROOT,
    Emulator,
    Processes,
    free_port,
    http_ready,
    port_open,
    wait_until,
)

TABLE_ARN = "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"


@dataclass
class World:
    procs: Processes
    emulator: Emulator
    env: dict[str, str]
    queue: str
    quick: bool
    web_port: int = 0
    tokens: dict[str, str] = field(default_factory=dict)


def environment(emulator_url: str) -> dict[str, str]:
    """What the bench process and its children run with: the bench settings, the emulator."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "AWS_ENDPOINT_URL": emulator_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "PYTHONUNBUFFERED": "1",
        "PORTAL_LOG_LEVEL": "WARNING",
        # The bench's processes count their metrics apart from `make run`'s.
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get(
            "PROMETHEUS_MULTIPROC_DIR", str(ROOT / "var" / "bench" / "metrics")
        ),
    }


def database_prepare() -> None:
    """Migrate the bench's own database and empty it (only its tables: it is the bench's)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


def world_seed(world: World) -> None:
    """The demo world in the database and in a fresh emulator; an API token per demo user."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from accounts.management.commands.seed_demo import demo_database_seed
    from aws import core
    from aws.demo_world import demo_world_seed

    world.emulator.reset()
    # The cached provisioner sessions belong to the emulator's previous life.
    core._role_sessions.clear()
    core._clients.clear()
    demo_world_seed()
    demo_database_seed()
    world.tokens = {
        user.username: Token.objects.get_or_create(user=user)[0].key
        for user in get_user_model().objects.all()
    }


def _demo():
    from django.contrib.auth import get_user_model

    from accounts.models import Account

    users = {user.username: user for user in get_user_model().objects.all()}
    accounts = {account.name: account for account in Account.objects.all()}
    return users, accounts


def requests_submit(count: int) -> list:
    """`count` assume-role requests of alice for MyTable, through the submission service (each
    validated, simulated, with its own documents), pending."""
    from access_requests.services import access_request_submit

    users, accounts = _demo()
    return [
        access_request_submit(
            requester=users["alice"],
            source_account=accounts["dev"],
            target_account=accounts["data"],
            actions=["dynamodb:GetItem", "dynamodb:Query"],
            resources=[TABLE_ARN],
            duration=8 * 3600,
            justification=f"Benchmark request {i}",
        )
        for i in range(count)
    ]


# --- 1 and 5: provisioning ------------------------------------------------------------------------


class EmulatorCalls:
    """AWS calls the emulator answered, counted from its request log (one line per call)."""

    LINE = re.compile(rb'"(?:GET|POST|PUT|DELETE|HEAD) [^"]*" \d{3}')

    def __init__(self, procs: Processes) -> None:
        self.path = procs.log_path("emulator")
        self.offset = self.path.stat().st_size

    def count(self) -> int:
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            return len(self.LINE.findall(log.read()))


def queue_clear(world: World) -> None:
    import redis
    from django.conf import settings

    # The queue's list and its lower-priority lists (kombu's "<queue>\x06\x16<priority>"),
    # where the notifications wait.
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
        world.queue, *(f"{world.queue}\x06\x16{priority}" for priority in (3, 6, 9))
    )


def worker_start(world: World, concurrency: int, name: str):
    argv = [
        str(BIN / "celery"),
        "-A",
        "portal",
        "worker",
        "-l",
        "info",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "-Q",
        world.queue,
    ]
    path = world.procs.log_path(name)
    offset = path.stat().st_size if path.exists() else 0
    process = world.procs.start(name, argv, env=world.env)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited:\n{world.procs.tail(name)}")
        with open(path, "rb") as log:
            log.seek(offset)
            return b"ready." in log.read()

    wait_until(ready, timeout=60, what="the Celery worker")
    return process


def direct_provision(access_requests: list) -> dict[str, Any]:
    """What the portal's writers send to AWS for each grant, straight from boto3 in a loop (one
    process, one thread): provisioning.writers.role.write and writers.source.write call for call,
    with the provisioner sessions taken once, as the portal caches them."""
    import boto3
    from botocore.config import Config
    from django.conf import settings

    from policy import builders
    from provisioning.writers.role import MANAGED_BY_TAG, REQUEST_TAG, grant_boundary_arn

    first = access_requests[0]
    target, source = first.target_account, first.source_account
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    endpoint = settings.AWS_ENDPOINT_URL
    region = settings.AWS_REGION

    def iam_as(role_arn: str):
        sts = boto3.client("sts", endpoint_url=endpoint, region_name=region, config=config)
        raw = sts.assume_role(RoleArn=role_arn, RoleSessionName="bench-direct")["Credentials"]
        return boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name=region,
            config=config,
            aws_access_key_id=raw["AccessKeyId"],
            aws_secret_access_key=raw["SecretAccessKey"],
            aws_session_token=raw["SessionToken"],
        )

    iam_target = iam_as(target.provisioner_role_arn)
    iam_source = iam_as(source.provisioner_role_arn)
    calls = {"count": 0}

    def counted(**_):
        calls["count"] += 1

    for client in (iam_target, iam_source):
        client.meta.events.register("before-send.*.*", counted)

    boundary = grant_boundary_arn(target)
    started = time.perf_counter()
    for access_request in access_requests:
        names = builders.names_for(access_request.pk)
        documents = access_request.documents
        trust = documents[builders.TRUST_POLICY]["document"]
        permission = documents[builders.PERMISSION_POLICY]["document"]
        source_document = documents[builders.SOURCE_IDENTITY_POLICY]
        # writers.role.write: role_put (with the boundary), role_policy_put, role_read and the
        # boundary's document read back
        iam_target.create_role(
            RoleName=names.role_name,
            Path=settings.PORTAL_ROLE_PATH,
            AssumeRolePolicyDocument=builders.document_json(trust),
            MaxSessionDuration=target.max_session_duration,
            Description=f"Access portal request {access_request.pk}"[:1000],
            Tags=[
                {"Key": MANAGED_BY_TAG[0], "Value": MANAGED_BY_TAG[1]},
                {"Key": REQUEST_TAG, "Value": str(access_request.pk)},
                {"Key": "portal:requester", "Value": access_request.requester.username[:256]},
            ],
            PermissionsBoundary=boundary,
        )
        iam_target.put_role_policy(
            RoleName=names.role_name,
            PolicyName=names.policy_name,
            PolicyDocument=builders.document_json(permission),
        )
        iam_target.get_role(RoleName=names.role_name)
        for name in iam_target.list_role_policies(RoleName=names.role_name)["PolicyNames"]:
            iam_target.get_role_policy(RoleName=names.role_name, PolicyName=name)
        version = iam_target.get_policy(PolicyArn=boundary)["Policy"]["DefaultVersionId"]
        iam_target.get_policy_version(PolicyArn=boundary, VersionId=version)
        # writers.source.write: role_policy_put, then the read-back of that one policy
        iam_source.put_role_policy(
            RoleName=source_document["role_name"],
            PolicyName=names.policy_name,
            PolicyDocument=builders.document_json(source_document["document"]),
        )
        iam_source.get_role_policy(
            RoleName=source_document["role_name"], PolicyName=names.policy_name
        )
    seconds = time.perf_counter() - started
    return {
        "grants": len(access_requests),
        "seconds": seconds,
        "grants_per_second": len(access_requests) / seconds,
        "aws_calls_per_grant": calls["count"] / len(access_requests),
    }


def portal_provision(world: World, access_requests: list, workers: int) -> dict[str, Any]:
    """Approve every request in one commit (so all provisioning tasks are queued at once), and
    time from that commit until the last grant is active, with `workers` Celery processes."""
    from django.db import transaction

    from access_requests.models import AccessRequest
    from access_requests.services import access_request_approve
    from notifications.models import Notification
    from provisioning.models import Grant

    users, _accounts = _demo()
    queue_clear(world)  # what an earlier case left (its last notifications): not this case's work
    process = worker_start(world, workers, f"worker-c{workers}")
    calls = EmulatorCalls(world.procs)
    try:
        committed = {}
        ids = [access_request.pk for access_request in access_requests]
        with transaction.atomic():
            for access_request in access_requests:
                access_request_approve(access_request=access_request, approver=users["bob"])
            # Runs first among the commit's callbacks, before any task is published.
            transaction.on_commit(lambda: committed.setdefault("at", time.time()))
            # (on_commit callbacks run in registration order: move ours to the front)
            connection_callbacks = transaction.get_connection().run_on_commit
            connection_callbacks.insert(0, connection_callbacks.pop())

        def done() -> bool:
            statuses = AccessRequest.objects.filter(pk__in=ids).values_list("status", flat=True)
            unfinished = [status for status in statuses if status != "active"]
            if "failed" in unfinished:
                error = Grant.objects.filter(access_request__status="failed").first().last_error
                raise RuntimeError(f"a grant failed to provision: {error}")
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{world.procs.tail(f'worker-c{workers}')}")
            return not unfinished

        wait_until(done, timeout=600, interval=0.05, what="every grant to be active")
        last = max(Grant.objects.filter(access_request_id__in=ids).values_list("activated_at"))[0]
        aws_calls = calls.count()
        # Then the notifications ("approved", "active": one email each to the requester), which
        # the same workers send after the grants: the whole drain, not just the grants.
        sent = Notification.objects.filter(access_request_id__in=ids, sent_at__isnull=False)
        wait_until(
            lambda: sent.count() >= 2 * len(ids), timeout=600, interval=0.1, what="the emails"
        )
        notified = max(sent.values_list("sent_at", flat=True))
    finally:
        world.procs.stop(process)
    seconds = last.timestamp() - committed["at"]
    return {
        "workers": workers,
        "grants": len(ids),
        "seconds": seconds,
        "with_notifications_seconds": notified.timestamp() - committed["at"],
        "grants_per_second": len(ids) / seconds,
        "aws_calls_per_grant": aws_calls / len(ids),
    }


def provisioning(world: World, count: int, worker_counts: list[int]) -> dict[str, Any]:
    """For each worker count: `count` fresh requests, written first directly, then (on a reset
    emulator) by the portal. Each portal figure has its own direct run just before it, so a
    change in the machine's load between cases skews both sides alike."""
    from django.core.management import call_command

    results: dict[str, Any] = {"grants": count, "portal": {}, "direct_runs": {}}
    for workers in worker_counts:
        call_command("flush", verbosity=0, interactive=False)
        world_seed(world)
        started = time.perf_counter()
        access_requests = requests_submit(count)
        results.setdefault("submit_seconds", []).append(time.perf_counter() - started)
        calls = EmulatorCalls(world.procs)
        direct = direct_provision(access_requests)
        direct["emulator_calls_per_grant"] = calls.count() / count
        results["direct_runs"][str(workers)] = direct
        world_seed(world)  # the roles the direct run wrote are gone; the requests stay pending
        portal = portal_provision(world, access_requests, workers)
        portal["direct_seconds"] = direct["seconds"]
        portal["ratio_to_direct"] = portal["seconds"] / direct["seconds"]
        results["portal"][str(workers)] = portal
    runs = sorted(results["direct_runs"].values(), key=lambda run: run["seconds"])
    results["direct"] = runs[len(runs) // 2]  # the median run, for the summary
    return results


# --- 2 and 3: HTTP -------------------------------------------------------------------------------


def web_start(world: World, workers: int = 2) -> None:
    world.web_port = free_port()
    argv = [
        str(BIN / "gunicorn"),
        "portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{world.web_port}",
        "--workers",
        str(workers),
        "--timeout",
        "60",
        "--no-control-socket",
        "--error-logfile",
        "-",
    ]
    process = world.procs.start("web", argv, env=world.env)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{world.procs.tail('web')}")
        return port_open(world.web_port) and http_ready(
            f"http://127.0.0.1:{world.web_port}/bench/floor/"
        )

    wait_until(ready, timeout=60, what="gunicorn")


class Client:
    """One HTTP/1.1 connection to the web server, opened again when the server closes it
    (gunicorn's sync workers close after every response)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        return self.answer(method, path, headers)[:2]

    def answer(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request(method, path, headers={**self.headers, **(headers or {})})
                response = self.connection.getresponse()
                body = response.read()
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.connection.close()
                self.connection = None
            return response.status, body, response
        raise AssertionError("unreachable")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def load(
    port: int,
    token: str,
    path: str,
    *,
    seconds: float,
    threads: int,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    """`threads` clients calling GET `path` (with `headers`) back to back for `seconds`: requests
    per second and latency percentiles (after one warm-up call per client). Every answer must
    have the status `expect`."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_line = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def run() -> None:
        client = Client(port, token)
        client.call("GET", path, headers)  # warm-up: the connection, the worker's first request
        mine: list[float] = []
        start_line.wait()
        while True:
            started = time.perf_counter()
            if started >= stop_at[0]:
                break
            status, body = client.call("GET", path, headers)
            mine.append(time.perf_counter() - started)
            if status != expect:
                errors.append(f"{status} {body[:200]!r}")
                break
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    stop_at[0] = time.perf_counter() + 3600
    start_line.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"GET {path} answered {errors[0]}")
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "requests_per_second": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "threads": threads,
    }


def requests_fill(total: int) -> int:
    """Bring the number of requests in the database to `total`: copies of a submitted one,
    inserted in bulk (the list endpoint reads them; it does not care how they were made)."""
    from django.db import connection

    from access_requests.models import AccessRequest

    have = AccessRequest.objects.count()
    if have == 0:
        requests_submit(1)
        have = 1
    model = AccessRequest.objects.order_by("pk").first()
    fields = [f.attname for f in AccessRequest._meta.concrete_fields if f.attname != "id"]
    copies = []
    for i in range(total - have):
        copy = AccessRequest(**{name: getattr(model, name) for name in fields})
        copy.justification = f"Bulk request {have + i}"
        copies.append(copy)
    AccessRequest.objects.bulk_create(copies, batch_size=1000)
    # What autovacuum does after a bulk insert (PostgreSQL 13+ vacuums on inserts too): fresh
    # planner statistics, and the visibility map that lets the list's COUNT(*) scan an index
    # alone instead of every row of the table.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {AccessRequest._meta.db_table}")  # noqa: S608 (our table)
    return AccessRequest.objects.count()


def api_reads(world: World, row_counts: list[int], seconds: float, threads: int) -> dict[str, Any]:
    """GET /api/v1/requests/ as the admin (who sees every request) against the floor view, with
    `row_counts` requests in PostgreSQL."""
    from django.core.management import call_command

    call_command("flush", verbosity=0, interactive=False)
    world_seed(world)
    token = world.tokens["admin"]
    results: dict[str, Any] = {"threads": threads, "seconds_per_case": seconds, "cases": {}}
    for rows in row_counts:
        requests_fill(rows)
        floor = load(world.web_port, token, "/bench/floor/", seconds=seconds, threads=threads)
        api = load(world.web_port, token, "/api/v1/requests/", seconds=seconds, threads=threads)
        # What a client that keeps the page does (a dashboard, `portal-cli`, a poller): ask
        # again with the page's ETag, and get 304 while nothing it could see has changed.
        _status, _body, answer = Client(world.web_port, token).answer("GET", "/api/v1/requests/")
        etag = answer.getheader("ETag")
        if not etag:
            raise RuntimeError("GET /api/v1/requests/ answered no ETag")
        conditional = load(
            world.web_port,
            token,
            "/api/v1/requests/",
            seconds=seconds,
            threads=threads,
            headers={"If-None-Match": etag},
            expect=304,
        )
        results["cases"][str(rows)] = {
            "rows": rows,
            "api": api,
            "floor": floor,
            "ratio_to_floor": api["requests_per_second"] / floor["requests_per_second"],
            "conditional": conditional,
            "conditional_ratio_to_floor": (
                conditional["requests_per_second"] / floor["requests_per_second"]
            ),
        }
    return results


def credentials(world: World, seconds: float) -> dict[str, Any]:
    """POST /api/v1/grants/{id}/credentials/ through gunicorn, one call at a time, against
    sts:AssumeRole on the same role from boto3 with the broker's session (what the portal
    does)."""
    import boto3
    from botocore.config import Config
    from django.conf import settings

    from access_requests.models import AccessRequest
    from provisioning.models import Grant

    grant = (
        Grant.objects.filter(access_request__status=AccessRequest.Status.ACTIVE)
        .select_related("access_request__source_account")
        .order_by("pk")
        .first()
    )
    if grant is None:
        raise RuntimeError("no active grant to take sessions for (run the provisioning first)")
    client = Client(world.web_port, world.tokens["alice"])
    path = f"/api/v1/grants/{grant.pk}/credentials/"

    def portal_call() -> None:
        status, body = client.call("POST", path)
        if status != 200 or b"SessionToken" not in body:
            raise RuntimeError(f"POST {path} answered {status}: {body[:300]!r}")

    config = Config(retries={"mode": "standard", "max_attempts": 3})
    tooling = boto3.client(
        "sts", endpoint_url=settings.AWS_ENDPOINT_URL, region_name=settings.AWS_REGION
    )
    raw = tooling.assume_role(
        RoleArn=grant.access_request.source_account.broker_role_arn,
        RoleSessionName="access-portal-broker",
    )["Credentials"]
    sts = boto3.client(
        "sts",
        endpoint_url=settings.AWS_ENDPOINT_URL,
        region_name=settings.AWS_REGION,
        config=config,
        aws_access_key_id=raw["AccessKeyId"],
        aws_secret_access_key=raw["SecretAccessKey"],
        aws_session_token=raw["SessionToken"],
    )
    params = {
        "RoleArn": grant.role_arn,
        "RoleSessionName": "alice",
        "DurationSeconds": 3600,
        "SourceIdentity": "alice",
    }
    if grant.external_id:
        params["ExternalId"] = grant.external_id

    def direct_call() -> None:
        sts.assume_role(**params)["Credentials"]["SessionToken"]  # noqa: B018

    # Warm both up (each gunicorn worker's connection prepares its statements after 5 runs), then
    # alternate the two calls, so both sample the same moments of a shared machine.
    calls = {"direct": direct_call, "portal": portal_call}
    for call in calls.values():
        for _ in range(20):
            call()
    latencies: dict[str, list[float]] = {name: [] for name in calls}
    stop_at = time.perf_counter() + 2 * seconds
    while time.perf_counter() < stop_at or len(latencies["portal"]) < 5:
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            latencies[name].append(time.perf_counter() - started)
    results: dict[str, Any] = {"grant": grant.pk}
    for name, measured in latencies.items():
        results[name] = {
            "calls": len(measured),
            "median_ms": statistics.median(measured) * 1000,
            "p95_ms": percentile(measured, 0.95) * 1000,
        }
    results["ratio_median"] = results["portal"]["median_ms"] / results["direct"]["median_ms"]
    results["ratio_p95"] = results["portal"]["p95_ms"] / results["direct"]["p95_ms"]
    return results


def write_json(path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
