"""`portal-cli request --wait`: poll the requests just submitted until each settles."""

import argparse
import sys
import time

from portal_cli.client import Client
from portal_cli.render import an_object, out, pretty

API = "/api/v1"
# A request in one of these will not move again by itself; `status --wait` stops there.
SETTLED = {"active", "rejected", "cancelled", "failed", "expired", "revoked"}


def request_polled(
    api: Client, request: dict, stop: set[str], deadline: float, interval: float
) -> dict:
    """The request, read again every `interval` seconds until its status is in `stop` or the
    deadline (monotonic) passes."""
    while request.get("status") not in stop and time.monotonic() < deadline:
        time.sleep(interval)
        request = an_object(api.get(f"{API}/requests/{request.get('id')}/"))
    return request


def wait_for_grants(api: Client, requests: list[dict], args: argparse.Namespace) -> int:
    """`request --wait`: poll each request until it settles; print the grant id of each that is
    active (one a line, so `GRANT=$(portal-cli request ... --wait)` works), progress on stderr."""
    deadline = time.monotonic() + args.timeout
    for request in requests:
        print(f"Request {request.get('id')}: {request.get('status')}", file=sys.stderr)
    settled: list[dict] = []
    for request in requests:
        request = request_polled(api, request, SETTLED, deadline, args.interval)
        print(f"Request {request.get('id')}: {request.get('status')}", file=sys.stderr)
        settled.append(request)
    if args.json:
        out(pretty(settled if len(settled) > 1 else settled[0]))
    failed = 0
    for request in settled:
        grant = request.get("grant")
        if request.get("status") == "active" and isinstance(grant, dict):
            if not args.json:
                out(str(grant.get("id")))
        else:
            failed += 1
            print(
                f"error: request {request.get('id')} is {request.get('status')}, not active",
                file=sys.stderr,
            )
    return 1 if failed else 0
