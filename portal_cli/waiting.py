"""`portal-cli request --wait`: poll the requests just submitted until each settles."""

import argparse
import sys
import time

from portal_cli.client import Client
from portal_cli.render import FormatError, pretty

API = "/api/v1"
# A request in one of these will not move again by itself; `status --wait` stops there.
SETTLED = {"active", "rejected", "cancelled", "failed", "expired", "revoked"}


def _object(answer: object) -> dict:
    if not isinstance(answer, dict):
        raise FormatError("the API's answer is not a JSON object")
    return answer


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def wait_for_grants(api: Client, requests: list[dict], args: argparse.Namespace) -> int:
    """`request --wait`: poll each request until it settles; print the grant id of each that is
    active (one a line, so `GRANT=$(portal-cli request ... --wait)` works), progress on stderr."""
    deadline = time.monotonic() + args.timeout
    for request in requests:
        print(f"Request {request.get('id')}: {request.get('status')}", file=sys.stderr)
    settled: list[dict] = []
    for request in requests:
        while request.get("status") not in SETTLED and time.monotonic() < deadline:
            time.sleep(args.interval)
            request = _object(api.get(f"{API}/requests/{request.get('id')}/"))
        print(f"Request {request.get('id')}: {request.get('status')}", file=sys.stderr)
        settled.append(request)
    if args.json:
        _out(pretty(settled if len(settled) > 1 else settled[0]))
    failed = 0
    for request in settled:
        grant = request.get("grant")
        if request.get("status") == "active" and isinstance(grant, dict):
            if not args.json:
                _out(str(grant.get("id")))
        else:
            failed += 1
            print(
                f"error: request {request.get('id')} is {request.get('status')}, not active",
                file=sys.stderr,
            )
    return 1 if failed else 0
