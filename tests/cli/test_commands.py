"""Each command against a stand-in API: what it sends, what it prints, how it fails."""

import io
import json
import stat
import subprocess
import sys
from pathlib import Path

from portal_cli.main import main
from tests.cli.stub import stub_start
from tests.support import free_port

CREDENTIALS = {
    "Version": 1,
    "AccessKeyId": "ASIAEXAMPLE",
    "SecretAccessKey": "s3cr3t/with+chars",
    "SessionToken": "token=;$(rm -rf)",
    "Expiration": "2030-01-01T12:00:00Z",
    "assumed_role_arn": "arn:aws:sts::999999999999:assumed-role/portal-access-12/alice",
}
REQUEST = {
    "id": 12,
    "status": "active",
    "mechanism": "assume_role",
    "recommended_mechanism": "assume_role",
    "recommendation_reasons": ["access_via=portal: only a role can be assumed"],
    "source_account": "111111111111",
    "source_principal": "arn:aws:iam::111111111111:root",
    "target_account": "999999999999",
    "actions": ["dynamodb:GetItem"],
    "resources": ["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"],
    "duration": 3600,
    "documents": {},
    "findings": [],
    "simulation": {"decision": "Allowed"},
    "approvals": [
        {"approver": "bob", "decision": "approve", "comment": "ok", "created_at": "2030-01-01"}
    ],
    "grant": {"id": 7, "expires_at": "2030-01-01T13:00:00Z", "role_arn": "arn:aws:iam::9:role/r"},
}


def run(*argv: str) -> int:
    return main(list(argv))


def test_creds_process_prints_exactly_the_credential_process_json(api, capsys):
    api.routes[("POST", "/api/v1/grants/7/credentials/")] = (200, CREDENTIALS)

    assert run("creds", "--grant", "7", "--format", "process") == 0

    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "s3cr3t/with+chars",
        "SessionToken": "token=;$(rm -rf)",
        "Expiration": "2030-01-01T12:00:00Z",
    }
    assert captured.out.count("\n") == 1
    assert captured.err == ""
    call = api.calls[-1]
    assert call.headers["Authorization"] == "Token t0ken"
    assert call.headers["Content-Type"] == "application/json"


def test_creds_env_prints_quoted_exports(api, capsys):
    api.routes[("POST", "/api/v1/grants/7/credentials/")] = (200, CREDENTIALS)

    assert run("creds", "--grant", "7", "--format", "env") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE",
        "export AWS_SECRET_ACCESS_KEY=s3cr3t/with+chars",
        "export AWS_SESSION_TOKEN='token=;$(rm -rf)'",
        "export AWS_CREDENTIAL_EXPIRATION=2030-01-01T12:00:00Z",
    ]
    shell = subprocess.run(
        ["bash", "-c", "\n".join(lines) + '\nprintf %s "$AWS_SESSION_TOKEN"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == "token=;$(rm -rf)"


def test_creds_json_is_pretty(api, capsys):
    api.routes[("POST", "/api/v1/grants/7/credentials/")] = (200, CREDENTIALS)

    assert run("creds", "--grant", "7", "--format", "json") == 0

    out = capsys.readouterr().out
    assert json.loads(out) == CREDENTIALS
    assert '\n  "AccessKeyId": "ASIAEXAMPLE",\n' in out


def test_creds_without_a_secret_prints_nothing_on_stdout(api, capsys):
    api.routes[("POST", "/api/v1/grants/7/credentials/")] = (200, {"AccessKeyId": "ASIA"})

    assert run("creds", "--grant", "7", "--format", "process") == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "SecretAccessKey" in captured.err


def test_creds_refused_prints_the_apis_message(api, capsys):
    api.routes[("POST", "/api/v1/grants/7/credentials/")] = (
        409,
        {"detail": "This grant is not active."},
    )

    assert run("creds", "--grant", "7", "--format", "process") == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "409" in captured.err
    assert "This grant is not active." in captured.err


def test_login_stores_the_token_privately(api, cli_config, monkeypatch, capsys):
    monkeypatch.delenv("PORTAL_TOKEN")
    monkeypatch.setattr("sys.stdin", io.StringIO("alice-demo\n"))
    api.routes[("POST", "/api/v1/auth/token/")] = (200, {"token": "abc123"})

    assert run("login", "--url", api.url + "/", "--username", "alice", "--password-stdin") == 0

    assert api.calls[-1].body == {"username": "alice", "password": "alice-demo"}
    assert "Authorization" not in api.calls[-1].headers
    assert json.loads(cli_config.read_text()) == {
        "url": api.url,
        "username": "alice",
        "token": "abc123",
    }
    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    assert "Logged in" in capsys.readouterr().out


def test_login_with_a_wrong_password_writes_nothing(api, cli_config, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))
    api.routes[("POST", "/api/v1/auth/token/")] = (
        400,
        {"non_field_errors": ["Unable to log in with provided credentials."]},
    )

    assert run("login", "--username", "alice", "--password-stdin") == 1

    err = capsys.readouterr().err
    assert "400" in err
    assert "Unable to log in with provided credentials." in err
    assert not cli_config.exists()


def test_login_over_plain_http_warns_before_the_password_is_sent(cli_config, monkeypatch, capsys):
    """The warning comes before the password leaves (here: a portal that does not answer), not
    after the password and the token have already crossed the network in clear."""
    monkeypatch.delenv("PORTAL_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("alice-demo\n"))
    url = f"http://127.0.0.2:{free_port()}"

    assert run("login", "--url", url, "--username", "alice", "--password-stdin") == 1

    err = capsys.readouterr().err
    assert f"warning: {url} is plain http" in err
    assert err.index("warning:") < err.index("cannot reach")
    assert not cli_config.exists()


def test_login_with_a_token_checks_it_and_stores_it(api, cli_config, monkeypatch, capsys):
    """An SSO user's token from the API token page: read from stdin, checked with the API, which
    also says whose it is; no password is sent anywhere."""
    monkeypatch.delenv("PORTAL_TOKEN")
    monkeypatch.setattr("sys.stdin", io.StringIO("t0k3n-from-the-page\n"))
    api.routes[("GET", "/api/v1/auth/token/")] = (
        200,
        {"username": "erin", "prefix": "t0k3n-", "created": "2030-01-01T00:00:00Z"},
    )

    assert run("login", "--url", api.url, "--token-stdin") == 0

    [call] = api.calls
    assert (call.method, call.headers["Authorization"]) == ("GET", "Token t0k3n-from-the-page")
    assert json.loads(cli_config.read_text()) == {
        "url": api.url,
        "username": "erin",
        "token": "t0k3n-from-the-page",
    }
    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    assert "Logged in to" in capsys.readouterr().out


def test_login_with_a_revoked_token_writes_nothing(api, cli_config, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("revoked\n"))
    api.routes[("GET", "/api/v1/auth/token/")] = (401, {"detail": "Invalid token."})

    assert run("login", "--token-stdin") == 1

    assert "Invalid token." in capsys.readouterr().err
    assert not cli_config.exists()


def test_login_with_a_token_takes_no_username(api, cli_config, capsys):
    assert run("login", "--token", "--username", "erin") == 2
    assert "the token says who" in capsys.readouterr().err
    assert api.calls == [] and not cli_config.exists()


def test_logout_revokes_and_removes_the_file(api, cli_config, monkeypatch, capsys):
    from portal_cli.config import config_write

    monkeypatch.delenv("PORTAL_TOKEN")
    config_write(cli_config, {"url": api.url, "token": "abc123"})
    api.routes[("DELETE", "/api/v1/auth/token/")] = (204, b"")

    assert run("logout") == 0

    assert api.calls[-1].method == "DELETE"
    assert api.calls[-1].headers["Authorization"] == "Token abc123"
    assert not cli_config.exists()


def test_request_sends_the_spec_fields(api, capsys):
    api.routes[("POST", "/api/v1/requests/")] = (201, {**REQUEST, "status": "pending"})

    code = run(
        "request",
        "--source",
        "111111111111",
        "--target",
        "999999999999",
        "--action",
        "dynamodb:GetItem",
        "--resource",
        "arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable",
        "--duration",
        "1h",
        "--justification",
        "Read MyTable <b>now</b> ü",
        "--ticket",
        "OPS-1",
        "--third-party",
        "--external-id",
        "acme:4711",
    )

    assert code == 0
    assert api.calls[-1].body == {
        "source_account": "111111111111",
        "target_account": "999999999999",
        "actions": ["dynamodb:GetItem"],
        "resources": ["arn:aws:dynamodb:eu-central-1:999999999999:table/MyTable"],
        "duration": 3600,
        "justification": "Read MyTable <b>now</b> ü",
        "access_via": "portal",
        "mechanism": "auto",
        "third_party": True,
        "ticket": "OPS-1",
        "external_id": "acme:4711",
    }
    assert capsys.readouterr().out.startswith("Request 12: pending\n")


def test_request_with_bad_fields_prints_a_message_per_field(api, capsys):
    api.routes[("POST", "/api/v1/requests/")] = (
        400,
        {
            "resources": ["arn:aws:s3:eu-central-1:999999999999:MyBucket/* is not an S3 ARN"],
            "duration": ["Ensure this value is less than or equal to 43200."],
        },
    )

    code = run(
        *["request", "--source", "111111111111", "--target", "999999999999"],
        *["--action", "s3:GetObject"],
        *["--resource", "arn:aws:s3:eu-central-1:999999999999:MyBucket/*", "--duration", "99h"],
        *["--justification", "x"],
    )

    assert code == 1
    err = capsys.readouterr().err
    assert "error: POST /api/v1/requests/ failed: 400 Bad Request" in err
    assert "resources: arn:aws:s3:eu-central-1:999999999999:MyBucket/* is not an S3 ARN" in err
    assert "duration: Ensure this value is less than or equal to 43200." in err
    assert "Traceback" not in err


def test_status_shows_status_mechanism_approvals_and_grant(api, capsys):
    api.routes[("GET", "/api/v1/requests/12/")] = (200, REQUEST)

    assert run("status", "12") == 0

    out = capsys.readouterr().out
    assert out.startswith("Request 12: active\n")
    assert "mechanism  assume_role" in out
    assert "bob approved at 2030-01-01: ok" in out
    assert "grant      id 7, expires 2030-01-01T13:00:00Z" in out


def test_status_wait_polls_until_active(api, capsys):
    api.routes[("GET", "/api/v1/requests/12/")] = [
        (200, {**REQUEST, "status": "approved", "grant": None}),
        (200, {**REQUEST, "status": "provisioning", "grant": None}),
        (200, REQUEST),
    ]

    assert run("status", "12", "--wait", "active", "--interval", "0.01", "--json") == 0

    assert json.loads(capsys.readouterr().out)["grant"]["id"] == 7
    assert len(api.calls) == 3


def test_status_wait_stops_at_a_final_status(api, capsys):
    api.routes[("GET", "/api/v1/requests/12/")] = (200, {**REQUEST, "status": "rejected"})

    assert run("status", "12", "--wait", "active", "--interval", "0.01") == 1
    assert "is rejected, not active" in capsys.readouterr().err


def test_status_of_an_unknown_request(api, capsys):
    assert run("status", "404") == 1
    assert "404" in capsys.readouterr().err


def test_approve_and_reject_send_comment_and_reason(api, capsys):
    api.routes[("POST", "/api/v1/requests/12/approve/")] = (200, {"status": "approved"})
    api.routes[("POST", "/api/v1/requests/13/reject/")] = (200, {"status": "rejected"})

    assert run("approve", "12", "--comment", "fine") == 0
    assert run("reject", "13", "--reason", "too broad") == 0

    assert api.calls[0].body == {"comment": "fine"}
    assert api.calls[1].body == {"reason": "too broad"}
    assert capsys.readouterr().out.splitlines() == [
        "Approved request 12; it is now approved.",
        "Rejected request 13; it is now rejected.",
    ]


def test_approving_a_decided_request_is_a_conflict(api, capsys):
    api.routes[("POST", "/api/v1/requests/12/approve/")] = (
        409,
        {"detail": "This request is no longer pending."},
    )

    assert run("approve", "12") == 1
    assert "409 Conflict\n  This request is no longer pending." in capsys.readouterr().err


def test_grants_table_follows_pages(api, capsys):
    api.routes[("GET", "/api/v1/grants/")] = (
        200,
        {
            "count": 2,
            "next": f"{api.url}/api/v1/grants/?page=2",
            "results": [{"id": 7, "access_request": 12, "status": "active", "role_arn": "arn:r"}],
        },
    )
    api.routes[("GET", "/api/v1/grants/?page=2")] = (
        200,
        {"count": 2, "next": None, "results": [{"id": 8, "access_request": {"id": 13}}]},
    )

    assert run("grants") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "REQUEST", "STATUS", "MECHANISM", "TARGET", "EXPIRES", "ROLE"]
    assert lines[1].split() == ["7", "12", "active", "arn:r"]
    assert lines[2].split() == ["8", "13"]


def test_a_next_link_elsewhere_is_read_from_the_configured_portal(api, capsys):
    """The token goes only where it was configured to go: a `next` link naming another host or
    scheme (a proxy that does not say the caller came over https: http://) is followed on the
    portal's own address, not sent there in clear."""
    elsewhere = f"http://127.0.0.2:{free_port()}"
    api.routes[("GET", "/api/v1/grants/")] = (
        200,
        {"count": 2, "next": f"{elsewhere}/api/v1/grants/?page=2", "results": [{"id": 7}]},
    )
    api.routes[("GET", "/api/v1/grants/?page=2")] = (200, {"count": 2, "results": [{"id": 8}]})

    assert run("grants") == 0

    assert [call.path for call in api.calls] == ["/api/v1/grants/", "/api/v1/grants/?page=2"]
    assert all(call.headers["Authorization"].startswith("Token ") for call in api.calls)
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["7", "8"]


def test_a_redirect_to_another_origin_carries_no_token(api, capsys):
    """urllib resends every header on a redirect, Authorization too, to any host: the token
    follows a redirect only on the portal's own scheme and host."""
    other, server = stub_start()
    try:
        other.routes[("GET", "/elsewhere/")] = (200, [])
        api.routes[("GET", "/api/v1/grants/")] = (302, {"location": "/api/v1/grants/?moved=1"})
        api.routes[("GET", "/api/v1/grants/?moved=1")] = (
            302,
            {"location": f"{other.url}/elsewhere/"},
        )

        assert run("grants") == 0

        # On the portal itself a redirect keeps it; elsewhere it is not sent.
        assert [call.headers.get("Authorization") for call in api.calls] == [
            "Token t0ken",
            "Token t0ken",
        ]
        assert [call.path for call in other.calls] == ["/elsewhere/"]
        assert "Authorization" not in other.calls[0].headers
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_error_page_is_reported_without_a_traceback(api, capsys):
    api.routes[("GET", "/api/v1/grants/")] = (500, b"<html>Server Error</html>")

    assert run("grants") == 1
    err = capsys.readouterr().err
    assert "500 Internal Server Error" in err
    assert "Traceback" not in err


def test_an_expired_token_says_to_log_in_again(api, capsys):
    api.routes[("GET", "/api/v1/grants/")] = (401, {"detail": "Invalid token."})

    assert run("grants") == 1
    err = capsys.readouterr().err
    assert "Invalid token." in err
    assert "portal-cli login" in err


def test_an_unreachable_portal(cli_config, monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("PORTAL_TOKEN", "t")

    assert run("creds", "--grant", "1", "--format", "process") == 1

    captured = capsys.readouterr()
    assert "cannot reach http://127.0.0.1:" in captured.err
    assert captured.out == ""


def test_a_non_http_url_is_refused(cli_config, monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_URL", "file:///etc/passwd")
    monkeypatch.setenv("PORTAL_TOKEN", "t")

    assert run("grants") == 1
    assert "not an http(s) URL" in capsys.readouterr().err


def test_the_installed_script_fails_cleanly(cli_config):
    """The console script the venv installs, as a shell or the AWS CLI would start it."""
    script = Path(sys.executable).parent / "portal-cli"
    env = {"PORTAL_URL": f"http://127.0.0.1:{free_port()}", "PORTAL_TOKEN": "t", "PATH": "/usr/bin"}

    result = subprocess.run(
        [str(script), "creds", "--grant", "1", "--format", "process"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: cannot reach")
    assert "Traceback" not in result.stderr


def test_status_shows_findings_with_their_corrections(api, capsys):
    finding = {
        "severity": "error",
        "code": "arn-shape",
        "field": "Resource",
        "message": "S3 ARNs have no region or account",
        "correction": "arn:aws:s3:::mybucket/*",
    }
    api.routes[("GET", "/api/v1/requests/12/")] = (
        200,
        {**REQUEST, "status": "pending", "grant": None, "findings": [finding]},
    )

    assert run("status", "12") == 0

    out = capsys.readouterr().out
    assert "grant      none" in out
    assert (
        "findings   [error] S3 ARNs have no region or account "
        "(did you mean arn:aws:s3:::mybucket/*?)" in out
    )
