"""`python bench/worker_profile.py [N]`: what a worker spends its time on, in one process under
cProfile: provisioning N approved assume-role requests (provisioning.services.grant_provision, the
task's body) and delivering their notifications, on the bench's own emulator and database; then
credential vending's service (provisioning.sessions.session_start). Prints the time per grant or
session and the top functions."""

import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    from bench import infra, system

    with infra.Processes() as procs:
        emulator = infra.Emulator(procs)
        os.environ.update(system.environment(emulator.url))
        import django

        django.setup()
        import redis
        from django.conf import settings
        from django.db import transaction

        from access_requests.services import access_request_approve
        from notifications.services import notification_deliver, notification_key
        from provisioning.services import grant_provision

        database = settings.DATABASES["default"]
        infra.database_ensure(
            f"postgresql://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/postgres",
            database["NAME"],
        )
        system.database_prepare()
        world = system.World(
            procs=procs, emulator=emulator, env=dict(os.environ), queue="", quick=False
        )
        system.world_seed(world)
        access_requests = system.requests_submit(count)
        users, _ = system._demo()
        with transaction.atomic():
            for access_request in access_requests:
                access_request_approve(access_request=access_request, approver=users["bob"])
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
        grant_provision(grant_id=access_requests[0].grant.pk)  # warm: sessions, clients
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            grant_provision(grant_id=access_requests[1].grant.pk)
        print(f"SQL statements of one grant_provision: {len(queries.captured_queries)}")
        for query in queries.captured_queries:
            print(f"  {query['time']}s  {query['sql'][:110]}")
        access_requests = access_requests[1:]
        parts = {"grant_provision": 0.0, "notifications (2 per grant)": 0.0}
        profile = cProfile.Profile()
        for access_request in access_requests[1:]:
            profile.enable()
            started = time.perf_counter()
            grant_provision(grant_id=access_request.grant.pk)
            middle = time.perf_counter()
            for event in ("request.approved", "grant.activated"):
                notification_deliver(
                    key=notification_key(), event=event, access_request_id=access_request.pk
                )
            ended = time.perf_counter()
            profile.disable()
            parts["grant_provision"] += middle - started
            parts["notifications (2 per grant)"] += ended - middle
        for part, seconds in parts.items():
            print(f"{part}: {seconds / (count - 1) * 1000:.1f} ms per grant (under cProfile)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)

        # Credential vending's service (what POST /api/v1/grants/{id}/credentials/ runs).
        from provisioning import sessions

        grant = access_requests[1].grant
        grant.refresh_from_db()
        sessions.session_start(grant_id=grant.pk, user=users["alice"])
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(count):
            sessions.session_start(grant_id=grant.pk, user=users["alice"])
        profile.disable()
        elapsed = (time.perf_counter() - started) / count
        print(f"session_start: {elapsed * 1000:.1f} ms per session (under cProfile)")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
