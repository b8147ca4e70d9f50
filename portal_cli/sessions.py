"""`portal-cli creds` (cached, as Granted and Weep do) and `portal-cli console`."""

import argparse
import sys
import webbrowser

from portal_cli.cache import cache_lock, cache_path, cache_read, cache_unlock, cache_write
from portal_cli.client import ApiError, Client
from portal_cli.config import settings_load
from portal_cli.render import (
    FormatError,
    an_object,
    credential_process,
    out,
    pretty,
    shell_exports,
)

API = "/api/v1"


def _vend(api: Client, grant: int) -> dict:
    answer = an_object(api.post(f"{API}/grants/{grant}/credentials/"))
    credential_process(answer)  # complete, or FormatError before anything is cached
    return answer


def session_for(grant: int, *, use_cache: bool) -> dict:
    """A session for the grant: the cached one while it has more than five minutes left, else a
    new one from the API, cached (portal_cli/cache.py). `use_cache` False neither reads nor
    writes the cache."""
    settings = settings_load()
    api = Client(settings.url, settings.token)
    if not use_cache:
        return _vend(api, grant)
    path = cache_path(url=api.url, token=settings.token, grant=grant)
    try:
        lock = cache_lock(path)
    except OSError as error:  # a cache that cannot be used never stops the AWS CLI
        _warn(f"session cache not used: {error}")
        return _vend(api, grant)
    try:
        cached = cache_read(path)
        if cached is not None:
            return cached
        answer = _vend(api, grant)
        try:
            cache_write(path, answer)
        except OSError as error:
            _warn(f"session not cached: {error}")
        return answer
    finally:
        cache_unlock(lock)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def command_creds(args: argparse.Namespace) -> int:
    answer = session_for(args.grant, use_cache=not args.no_cache)
    if args.format == "process":
        text = credential_process(answer)
    elif args.format == "env":
        text = shell_exports(answer)
    else:
        text = pretty(answer)
    out(text)
    return 0


def command_console(args: argparse.Namespace) -> int:
    """The AWS console signed in with a fresh session of the grant (POST .../console/): the URL
    on stdout, and a browser opened on it unless --print."""
    settings = settings_load()
    api = Client(settings.url, settings.token)
    try:
        answer = an_object(api.post(f"{API}/grants/{args.grant}/console/"))
    except ApiError as error:
        if error.status == 404 and not error.details:
            # DRF says "Not found." for a grant the caller cannot see; a bare 404 is a portal
            # that has no console sign-in yet.
            error.details.append(
                "this portal has no console sign-in (POST /api/v1/grants/{id}/console/); "
                "ask its operators to upgrade it"
            )
        raise
    url = answer.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise FormatError("the API's answer has no console URL")
    out(url)
    sys.stdout.flush()
    if not args.print_only and not webbrowser.open(url):
        print("warning: no browser could be opened; open the URL above", file=sys.stderr)
    return 0
