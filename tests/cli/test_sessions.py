"""`portal-cli creds` keeps its session (as Granted and Weep do), `console` opens the AWS console,
`request --wait` prints the grant id: each against a stand-in API."""

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from portal_cli.main import main

CREDENTIALS_PATH = "/api/v1/grants/7/credentials/"


def credentials(minutes_left: float, key: str = "ASIAFIRST") -> dict:
    expires = datetime.now(UTC) + timedelta(minutes=minutes_left)
    return {
        "Version": 1,
        "AccessKeyId": key,
        "SecretAccessKey": "s3cr3t",
        "SessionToken": "t0ken",
        "Expiration": expires.isoformat().replace("+00:00", "Z"),
    }


def vends(api, path: str = CREDENTIALS_PATH) -> int:
    return sum(1 for call in api.calls if call.method == "POST" and call.path == path)


def creds(*extra: str) -> int:
    return main(["creds", "--grant", "7", "--format", "process", *extra])


def test_creds_reuses_its_session_until_five_minutes_before_expiry(api, capsys, tmp_path):
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))

    for _ in range(5):
        assert creds() == 0
    outputs = capsys.readouterr().out.splitlines()

    assert vends(api) == 1
    assert len(set(outputs)) == 1 and json.loads(outputs[0])["AccessKeyId"] == "ASIAFIRST"
    # One private file under the cache directory, in a private directory; no secret in its name.
    directory = Path(os.environ["PORTAL_CLI_CACHE_DIR"])
    files = list(directory.glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert "t0ken" not in files[0].name and "grant-7-" in files[0].name


def test_aws_cli_calls_started_at_once_share_the_first_ones_session(api, cli_config):
    """Five `portal-cli creds` started together against a slow portal: the first one vends while
    the others wait on its lock, then take its session from the cache."""
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    api.delay = 1.0
    env = {
        "PATH": "/usr/bin:/bin",
        "PORTAL_URL": api.url,
        "PORTAL_TOKEN": "t0ken",
        "PORTAL_CLI_CONFIG": str(cli_config),
        "PORTAL_CLI_CACHE_DIR": os.environ["PORTAL_CLI_CACHE_DIR"],
    }
    script = str(Path(sys.executable).parent / "portal-cli")
    started = [
        subprocess.Popen(
            [script, "creds", "--grant", "7", "--format", "process"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(5)
    ]
    outputs = [process.communicate(timeout=60) for process in started]
    assert [process.returncode for process in started] == [0] * 5, outputs
    assert len({out for out, _ in outputs}) == 1
    assert [error for _, error in outputs] == [""] * 5  # none fell back to vending uncached
    assert vends(api) == 1


def test_a_session_with_five_minutes_left_is_replaced(api, capsys):
    api.routes[("POST", CREDENTIALS_PATH)] = [
        (200, credentials(4.9, "ASIAOLD")),
        (200, credentials(60, "ASIANEW")),
    ]
    assert creds() == 0
    assert creds() == 0
    assert creds() == 0
    keys = [json.loads(line)["AccessKeyId"] for line in capsys.readouterr().out.splitlines()]
    assert keys == ["ASIAOLD", "ASIANEW", "ASIANEW"]
    assert vends(api) == 2


def test_no_cache_vends_every_time_and_keeps_nothing(api, capsys):
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    assert creds("--no-cache") == 0
    assert creds("--no-cache") == 0
    assert vends(api) == 2
    assert not list(Path(os.environ["PORTAL_CLI_CACHE_DIR"]).glob("*.json"))


def test_the_cache_is_per_grant_and_per_portal_login(api, capsys, monkeypatch):
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    api.routes[("POST", "/api/v1/grants/8/credentials/")] = (200, credentials(60, "ASIAEIGHT"))
    assert creds() == 0
    assert main(["creds", "--grant", "8", "--format", "process"]) == 0
    assert vends(api) == 1 and vends(api, "/api/v1/grants/8/credentials/") == 1
    # Another user's token (another login) never gets this user's session.
    monkeypatch.setenv("PORTAL_TOKEN", "another-users-token")
    assert creds() == 0
    assert vends(api) == 2


def test_a_cache_file_others_can_read_is_not_used(api, capsys):
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    assert creds() == 0
    cached = next(Path(os.environ["PORTAL_CLI_CACHE_DIR"]).glob("*.json"))
    cached.chmod(0o644)
    assert creds() == 0
    assert vends(api) == 2
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600  # written anew, private


def test_a_cache_directory_that_cannot_be_made_still_gives_credentials(api, capsys, monkeypatch):
    """credential_process must not fail for the cache: the session comes, with a warning."""
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    monkeypatch.setenv("PORTAL_CLI_CACHE_DIR", "/dev/null/portal-cli")
    assert creds() == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["AccessKeyId"] == "ASIAFIRST"
    assert captured.err.startswith("warning: session cache not used")


def test_a_refused_session_is_not_cached(api, capsys):
    api.routes[("POST", CREDENTIALS_PATH)] = [
        (409, {"detail": "This grant is not active."}),
        (200, credentials(60)),
    ]
    assert creds() == 1
    assert creds() == 0
    assert vends(api) == 2


def test_logout_removes_the_cached_sessions(api, cli_config, capsys, monkeypatch):
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    api.routes[("DELETE", "/api/v1/auth/token/")] = (204, b"")
    assert creds() == 0
    assert list(Path(os.environ["PORTAL_CLI_CACHE_DIR"]).glob("*.json"))
    assert main(["logout"]) == 0
    assert not list(Path(os.environ["PORTAL_CLI_CACHE_DIR"]).glob("grant-*"))


CONSOLE_PATH = "/api/v1/grants/7/console/"
SIGN_IN = "https://signin.aws.amazon.com/federation?Action=login&SigninToken=abc&Destination=x"


def test_console_print_prints_the_url_and_opens_nothing(api, capsys, monkeypatch):
    api.routes[("POST", CONSOLE_PATH)] = (200, {"url": SIGN_IN})
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)

    assert main(["console", "--grant", "7", "--print"]) == 0

    assert capsys.readouterr().out == SIGN_IN + "\n"
    assert opened == []
    assert vends(api, CONSOLE_PATH) == 1


def test_console_opens_a_browser_on_the_url(api, cli_config, tmp_path):
    """The installed script, with $BROWSER (which Python's webbrowser honours) a script that
    writes down the URL it is given."""
    api.routes[("POST", CONSOLE_PATH)] = (200, {"url": SIGN_IN})
    seen = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf %s "$1" > {seen}\n')
    browser.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "PORTAL_URL": api.url,
        "PORTAL_TOKEN": "t0ken",
        "PORTAL_CLI_CONFIG": str(cli_config),
        "BROWSER": str(browser),
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "portal-cli"), "console", "--grant", "7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == SIGN_IN + "\n"
    assert seen.read_text() == SIGN_IN


def test_console_on_a_portal_without_the_endpoint_says_so(api, capsys):
    api.routes[("POST", CONSOLE_PATH)] = (404, b"<h1>Not Found</h1>")
    assert main(["console", "--grant", "7", "--print"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "404" in captured.err and "no console sign-in" in captured.err


def test_console_for_a_grant_not_yours_is_the_apis_404(api, capsys):
    api.routes[("POST", CONSOLE_PATH)] = (404, {"detail": "Not found."})
    assert main(["console", "--grant", "7", "--print"]) == 1
    err = capsys.readouterr().err
    assert "Not found." in err and "no console sign-in" not in err


def test_console_answer_without_a_url_is_an_error(api, capsys):
    api.routes[("POST", CONSOLE_PATH)] = (200, {"url": "javascript:alert(1)"})
    assert main(["console", "--grant", "7", "--print"]) == 1
    assert capsys.readouterr().out == ""


REQUEST_ARGS = [
    "request",
    "--source",
    "111111111111",
    "--action",
    "dynamodb:GetItem",
    "--resource",
    "arn:aws:dynamodb:eu-central-1:${Account}:table/MyTable",
    "--duration",
    "1h",
    "--justification",
    "Read MyTable",
]


def _request(pk: int, status: str, account: str, grant: int | None = None) -> dict:
    return {
        "id": pk,
        "status": status,
        "target_account": account,
        "grant": {"id": grant} if grant else None,
    }


def test_request_wait_prints_the_grant_id_once_active(api, capsys):
    api.routes[("POST", "/api/v1/requests/")] = (201, _request(12, "pending", "999999999999"))
    api.routes[("GET", "/api/v1/requests/12/")] = [
        (200, _request(12, "approved", "999999999999")),
        (200, _request(12, "active", "999999999999", grant=7)),
    ]
    argv = [*REQUEST_ARGS, "--target", "999999999999", "--wait", "--interval", "0.01"]

    assert main(argv) == 0

    captured = capsys.readouterr()
    assert captured.out == "7\n"
    assert "Request 12: pending" in captured.err and "Request 12: active" in captured.err


def test_request_for_several_targets_sends_target_accounts_and_waits_for_each(api, capsys):
    api.routes[("POST", "/api/v1/requests/")] = (
        201,
        {
            "requests": [
                _request(12, "pending", "999999999999"),
                _request(13, "pending", "222222222222"),
            ]
        },
    )
    api.routes[("GET", "/api/v1/requests/12/")] = (200, _request(12, "active", "999", grant=7))
    api.routes[("GET", "/api/v1/requests/13/")] = (200, _request(13, "rejected", "222"))
    argv = [*REQUEST_ARGS, "--target", "999999999999", "--target", "222222222222", "--wait"]

    assert main([*argv, "--interval", "0.01"]) == 1

    body = next(call.body for call in api.calls if call.method == "POST")
    assert body["target_accounts"] == ["999999999999", "222222222222"]
    assert "target_account" not in body
    captured = capsys.readouterr()
    assert captured.out == "7\n"
    assert "request 13 is rejected, not active" in captured.err


def test_request_wait_gives_up_after_its_timeout(api, capsys):
    api.routes[("POST", "/api/v1/requests/")] = (201, _request(12, "pending", "999999999999"))
    api.routes[("GET", "/api/v1/requests/12/")] = (200, _request(12, "pending", "999999999999"))
    argv = [*REQUEST_ARGS, "--target", "999999999999", "--wait", "--interval", "0.01"]

    assert main([*argv, "--timeout", "0.05"]) == 1
    assert "request 12 is pending, not active" in capsys.readouterr().err


def test_status_names_the_requests_submitted_together(api, capsys):
    api.routes[("GET", "/api/v1/requests/12/")] = (
        200,
        _request(12, "pending", "999999999999")
        | {"siblings": [{"id": 13, "target_account": "222222222222", "status": "approved"}]},
    )
    assert main(["status", "12"]) == 0
    assert "  together   request 13 in 222222222222: approved\n" in capsys.readouterr().out


def test_a_cache_directory_others_can_write_is_not_used(api, capsys, tmp_path, monkeypatch):
    """A shared PORTAL_CLI_CACHE_DIR: whoever else may write it could swap our cache and lock
    files for symlinks. The session comes, with a warning; nothing is kept there."""
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("PORTAL_CLI_CACHE_DIR", str(shared))
    assert creds() == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["AccessKeyId"] == "ASIAFIRST"
    assert captured.err.startswith("warning: session cache not used")
    assert list(shared.iterdir()) == []


def test_the_lock_file_is_never_opened_through_a_symlink(api, capsys, tmp_path):
    api.routes[("POST", CREDENTIALS_PATH)] = (200, credentials(60))
    assert creds() == 0
    directory = Path(os.environ["PORTAL_CLI_CACHE_DIR"])
    (lock,) = directory.glob("*.lock")
    lock.unlink()
    elsewhere = tmp_path / "not-a-lock"
    lock.symlink_to(elsewhere)
    for cached in directory.glob("*.json"):
        cached.unlink()
    capsys.readouterr()
    assert creds() == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["AccessKeyId"] == "ASIAFIRST"
    assert captured.err.startswith("warning: session cache not used")
    assert not elsewhere.exists()
