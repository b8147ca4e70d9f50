"""`portal-cli`: argument parsing and one function per command.

Exit codes: 0 done; 1 the API refused or failed, or could not be reached; 2 bad usage or
configuration; 130 interrupted. Errors go to stderr, never as a traceback.
"""

import argparse
import getpass
import os
import re
import sys
import time
import urllib.parse

from portal_cli import __version__
from portal_cli.cache import cache_clear
from portal_cli.client import ApiError, Client, base_url_check
from portal_cli.config import (
    ConfigError,
    config_path,
    config_remove,
    config_write,
    settings_load,
)
from portal_cli.render import (
    FormatError,
    an_object,
    grants_table,
    out,
    pretty,
    request_summary,
)
from portal_cli.sessions import command_console, command_creds
from portal_cli.waiting import SETTLED, request_polled, wait_for_grants

API = "/api/v1"
DURATION = re.compile(r"(\d+)([smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class UsageError(Exception):
    pass


def duration_seconds(text: str) -> int:
    """Seconds, or a number with s/m/h/d: `3600`, `90m`, `8h`, `7d`."""
    match = DURATION.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 3600, 90m, 8h)")
    return int(match[1]) * UNITS[match[2]]


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def client() -> Client:
    settings = settings_load()
    return Client(settings.url, settings.token)


def command_login(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("PORTAL_URL", "")
    if not url:
        raise UsageError("give the portal's address: --url URL (or set PORTAL_URL)")
    url = base_url_check(url)
    host = urllib.parse.urlsplit(url).hostname or ""
    if url.startswith("http://") and host not in ("localhost", "127.0.0.1", "::1"):
        # Before the password or token is asked for and sent: time to stop, not an apology after.
        print(
            f"warning: {url} is plain http; the password and token travel unencrypted",
            file=sys.stderr,
        )
    if args.token or args.token_stdin:
        username, token = token_login(url, args)
    else:
        username, token = password_login(url, args)
    path = config_path()
    config_write(path, {"url": url, "username": username, "token": token})
    out(f"Logged in to {url} as {username}; token stored in {path}")
    return 0


def token_login(url: str, args: argparse.Namespace) -> tuple[str, str]:
    """A token made on the portal's API token page (people who sign in with SSO have no portal
    password): asked for, or read from stdin; never an argument, which `ps` and shell history
    would show. The API says whose it is, which also proves it works."""
    if args.username or args.password_stdin:
        raise UsageError("--token takes no --username or --password-stdin: the token says who")
    if args.token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = getpass.getpass("API token (from the portal's API token page): ").strip()
    if not token:
        raise UsageError("an API token is needed")
    answer = Client(url, token).get(f"{API}/auth/token/")
    username = answer.get("username") if isinstance(answer, dict) else None
    if not isinstance(username, str) or not username:
        raise ApiError("the API's answer names no user")
    return username, token


def password_login(url: str, args: argparse.Namespace) -> tuple[str, str]:
    """A token from the API for a username and password (POST /auth/token/)."""
    username = args.username
    if not username:
        if args.password_stdin:
            raise UsageError("--password-stdin needs --username")
        username = input("Username: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {username}: ")
    if not username or not password:
        raise UsageError("a username and a password are needed")
    body = {"username": username, "password": password}
    if args.otp:  # approvers and admins, where the portal requires a second factor
        body["otp"] = args.otp
    answer = Client(url).post(f"{API}/auth/token/", body)
    token = answer.get("token") if isinstance(answer, dict) else None
    if not token:
        raise ApiError("the API's answer has no token")
    return username, token


def command_logout(args: argparse.Namespace) -> int:
    path = config_path()
    try:
        api = client()
    except ConfigError:
        if config_remove(path):
            out(f"Removed {path}.")
            return 0
        raise
    try:
        api.delete(f"{API}/auth/token/")
    except ApiError as error:
        if error.status != 401:  # a token the server no longer knows is as good as revoked
            config_remove(path)
            raise ApiError(f"{error} (removed {path}; the token may still be valid)") from None
    removed = config_remove(path)
    cache_clear()  # the sessions it vended: they were this login's
    out("Logged out; token revoked" + (f" and {path} removed." if removed else "."))
    return 0


def command_request(args: argparse.Namespace) -> int:
    body = {
        "source_account": args.source,
        "actions": args.actions,
        "resources": args.resources,
        "duration": args.duration,
        "justification": args.justification,
        "access_via": args.access_via,
        "mechanism": args.mechanism,
        "third_party": args.third_party,
    }
    # Several --target: one request per account, "${Account}" in an ARN standing for each.
    if len(args.targets) > 1:
        body["target_accounts"] = args.targets
    else:
        body["target_account"] = args.targets[0]
    if args.principal:
        body["source_principal"] = args.principal
    if args.ticket:
        body["ticket"] = args.ticket
    if args.external_id:
        body["external_id"] = args.external_id
    if args.generate_external_id:
        body["generate_external_id"] = True
    api = client()
    answer = an_object(api.post(f"{API}/requests/", body))
    requests = answer.get("requests") if "requests" in answer else [answer]
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise FormatError("the API's answer has no requests")
    if not args.wait:
        out(pretty(answer) if args.json else "\n\n".join(request_summary(r) for r in requests))
        return 0
    return wait_for_grants(api, requests, args)


def command_status(args: argparse.Namespace) -> int:
    api = client()
    answer = an_object(api.get(f"{API}/requests/{args.id}/"))
    if args.wait:
        deadline = time.monotonic() + args.timeout
        answer = request_polled(api, answer, SETTLED | {args.wait}, deadline, args.interval)
    out(pretty(answer) if args.json else request_summary(answer))
    if args.wait and answer.get("status") != args.wait:
        print(
            f"error: request {args.id} is {answer.get('status')}, not {args.wait}", file=sys.stderr
        )
        return 1
    return 0


def command_approve(args: argparse.Namespace) -> int:
    answer = client().post(f"{API}/requests/{args.id}/approve/", {"comment": args.comment})
    out(_decided("Approved", args.id, answer))
    return 0


def command_reject(args: argparse.Namespace) -> int:
    answer = client().post(f"{API}/requests/{args.id}/reject/", {"reason": args.reason})
    out(_decided("Rejected", args.id, answer))
    return 0


def _decided(verb: str, request_id: int, answer: object) -> str:
    status = answer.get("status") if isinstance(answer, dict) else None
    return f"{verb} request {request_id}" + (f"; it is now {status}." if status else ".")


def command_grants(args: argparse.Namespace) -> int:
    grants = client().get_all(f"{API}/grants/")
    out(pretty(grants) if args.json else grants_table(grants))
    return 0


def parser_build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal-cli",
        description="The cross-account access portal from the command line. PORTAL_URL and "
        "PORTAL_TOKEN override the stored login; PORTAL_CLI_CONFIG moves the config file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="get an API token and store it (mode 0600)")
    login.add_argument("--url", help="the portal, e.g. http://127.0.0.1:8000 (or PORTAL_URL)")
    login.add_argument("--username", "-u")
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    login.add_argument(
        "--token",
        action="store_true",
        help="use an API token made on the portal's API token page (SSO users): asked for",
    )
    login.add_argument(
        "--token-stdin", action="store_true", help="like --token, read from standard input"
    )
    login.add_argument("--otp", help="the code of your authenticator app, if the portal asks")
    login.set_defaults(handler=command_login)

    logout = commands.add_parser("logout", help="revoke the token and remove the config file")
    logout.set_defaults(handler=command_logout)

    request = commands.add_parser("request", help="ask for cross-account access")
    request.add_argument("--source", required=True, metavar="ACCOUNT", help="source account id")
    request.add_argument(
        "--target",
        dest="targets",
        action="append",
        required=True,
        metavar="ACCOUNT",
        help="target account id; repeat for several (one request each; ${Account} in an ARN "
        "stands for each account's id)",
    )
    request.add_argument(
        "--action",
        dest="actions",
        action="append",
        required=True,
        metavar="ACTION",
        help="e.g. dynamodb:GetItem; repeat for more",
    )
    request.add_argument(
        "--resource",
        dest="resources",
        action="append",
        required=True,
        metavar="ARN",
        help="a resource ARN; repeat for more",
    )
    request.add_argument(
        "--duration", required=True, type=duration_seconds, help="seconds, or 90m, 8h, 7d"
    )
    request.add_argument("--justification", required=True)
    request.add_argument("--principal", metavar="ARN", help="source principal (default: root)")
    request.add_argument("--access-via", choices=["portal", "own_identity"], default="portal")
    request.add_argument(
        "--mechanism", choices=["auto", "assume_role", "resource_policy", "acl"], default="auto"
    )
    request.add_argument("--ticket")
    request.add_argument("--third-party", action="store_true")
    request.add_argument(
        "--external-id", metavar="ID", help="third parties: the ExternalId the third party gave"
    )
    request.add_argument(
        "--generate-external-id",
        action="store_true",
        help="third parties without an ExternalId yet: the portal makes one",
    )
    request.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    request.add_argument(
        "--wait",
        action="store_true",
        help="wait until the request is decided and provisioned; print its grant id",
    )
    request.add_argument("--timeout", type=float, default=3600, help="for --wait, seconds")
    request.add_argument("--interval", type=float, default=3, help=argparse.SUPPRESS)
    request.set_defaults(handler=command_request)

    status = commands.add_parser("status", help="a request's status, approvals and grant")
    status.add_argument("id", type=positive_int, metavar="ID")
    status.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    status.add_argument("--wait", metavar="STATUS", help="poll until the request is STATUS")
    status.add_argument("--timeout", type=float, default=300, help="for --wait, seconds")
    status.add_argument("--interval", type=float, default=2, help=argparse.SUPPRESS)
    status.set_defaults(handler=command_status)

    approve = commands.add_parser("approve", help="approve a request")
    approve.add_argument("id", type=positive_int, metavar="ID")
    approve.add_argument("--comment", default="")
    approve.set_defaults(handler=command_approve)

    reject = commands.add_parser("reject", help="reject a request")
    reject.add_argument("id", type=positive_int, metavar="ID")
    reject.add_argument("--reason", required=True)
    reject.set_defaults(handler=command_reject)

    grants = commands.add_parser("grants", help="the grants you can see")
    grants.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    grants.set_defaults(handler=command_grants)

    creds = commands.add_parser("creds", help="short-lived AWS credentials for a grant")
    creds.add_argument("--grant", required=True, type=positive_int, metavar="N")
    creds.add_argument("--format", choices=["env", "json", "process"], default="env")
    creds.add_argument(
        "--no-cache",
        action="store_true",
        help="always a new session: do not use or keep the cached one (kept 0600 under "
        "~/.cache/portal-cli until five minutes before it expires)",
    )
    creds.set_defaults(handler=command_creds)

    console = commands.add_parser(
        "console", help="open the AWS console signed in with a grant's session"
    )
    console.add_argument("--grant", required=True, type=positive_int, metavar="N")
    console.add_argument(
        "--print", dest="print_only", action="store_true", help="print the URL, open no browser"
    )
    console.set_defaults(handler=command_console)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser_build().parse_args(argv)
    try:
        return args.handler(args)
    except ApiError as error:
        for line in ["error: " + error.lines()[0], *error.lines()[1:]]:
            print(line, file=sys.stderr)
        return 1
    except FormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ConfigError, UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the config file or directory
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, EOFError):
        print("", file=sys.stderr)
        return 130
