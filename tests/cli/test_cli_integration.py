"""The article's first scenario through the installed `portal-cli` and the real AWS CLI.

Everything is real: the portal on pytest-django's live server, a Celery worker on Redis, the
emulator over HTTP, `portal-cli` and `aws` as subprocesses, and the AWS CLI taking its
credentials from `portal-cli creds --format process` through a credential_process profile.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from access_requests.models import AccessRequest
from audit.models import AuditEvent
from provisioning.models import CredentialIssue, Grant
from tests.factories import TABLE_ARN
from tests.support import wait_until

BIN = Path(sys.executable).parent
PORTAL_CLI = BIN / "portal-cli"
AWS = BIN / "aws"

pytestmark = pytest.mark.django_db(transaction=True)


def _clean_env() -> dict[str, str]:
    """The test process's environment without any AWS credentials or portal login."""
    drop = ("AWS_", "PORTAL_URL", "PORTAL_TOKEN", "PORTAL_CLI_")
    return {name: value for name, value in os.environ.items() if not name.startswith(drop)}


class Cli:
    """One user's `portal-cli`: their own config file, the live server's URL."""

    def __init__(self, url: str, config: Path) -> None:
        self.config = config
        self.env = {
            **_clean_env(),
            "PORTAL_URL": url,
            "PORTAL_CLI_CONFIG": str(config),
            "PORTAL_CLI_CACHE_DIR": str(config.parent / "cache"),
        }

    def __call__(self, *args: str, stdin: str | None = None, ok: bool = True):
        result = subprocess.run(
            [str(PORTAL_CLI), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=180,
            check=False,
        )
        assert "Traceback" not in result.stderr, result.stderr
        if ok:
            assert result.returncode == 0, f"portal-cli {' '.join(args)}: {result.stderr}"
        return result

    def login(self, username: str, password: str) -> None:
        self("login", "--username", username, "--password-stdin", stdin=f"{password}\n")
        assert stat.S_IMODE(self.config.stat().st_mode) == 0o600
        assert json.loads(self.config.read_text())["token"]


@pytest.fixture
def cli_as(live_server, tmp_path):
    def login(username: str, password: str) -> Cli:
        cli = Cli(live_server.url, tmp_path / username / "portal-cli.json")
        cli.login(username, password)
        return cli

    return login


def test_request_approve_and_use_credentials_from_the_aws_cli(
    aws_demo, worker, emulator, cli_as, tmp_path
):
    alice = cli_as("alice", "alice-demo")
    bob = cli_as("bob", "bob-demo")

    submitted = alice(
        *["request", "--source", "111111111111", "--target", "999999999999"],
        *["--action", "dynamodb:GetItem", "--resource", TABLE_ARN, "--duration", "3600"],
        *["--justification", "Read MyTable for the report", "--json"],
    )
    request = json.loads(submitted.stdout)
    assert request["status"] == "pending"
    assert request["mechanism"] == "assume_role"

    # Nobody approves their own request, through the CLI either.
    refused = alice("approve", str(request["id"]), ok=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: POST /api/v1/requests/")

    approved = bob("approve", str(request["id"]), "--comment", "ok for the report")
    assert f"Approved request {request['id']}" in approved.stdout

    waited = alice(
        *["status", str(request["id"]), "--wait", "active", "--timeout", "60", "--interval", "1"]
    )
    assert waited.stdout.startswith(f"Request {request['id']}: active\n")
    assert "bob approved" in waited.stdout
    active = json.loads(alice("status", str(request["id"]), "--json").stdout)
    grant_id = active["grant"]["id"]
    assert str(grant_id) in alice("grants").stdout.split()

    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        "[profile portal]\n"
        f"credential_process = {PORTAL_CLI} creds --grant {grant_id} --format process\n"
        "region = eu-central-1\n"
    )
    aws_env = {
        **alice.env,
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_ENDPOINT_URL": emulator.url,
        # Were credential_process to fail, never fall back to the instance metadata address.
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    def aws(*args: str) -> dict:
        result = subprocess.run(
            [str(AWS), *args, "--profile", "portal", "--output", "json"],
            capture_output=True,
            text=True,
            env=aws_env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    identity = aws("sts", "get-caller-identity")
    assert identity["Account"] == "999999999999"
    assert identity["Arn"].startswith("arn:aws:sts::999999999999:assumed-role/")
    assert identity["Arn"].endswith("/alice")

    item = aws(
        *["dynamodb", "get-item", "--table-name", "MyTable"],
        *["--key", '{"id": {"S": "1"}}'],
    )
    assert item["Item"]["name"] == {"S": "first item"}


def test_thirty_aws_cli_calls_through_credential_process_vend_one_session(
    aws_demo, worker, emulator, cli_as, tmp_path
):
    """Every AWS CLI call starts `portal-cli creds` anew; its cache makes them share one session
    (one `credentials.issued` audit event), where each used to vend its own and meet the
    portal's rate limit on sessions. `request --wait` waits for bob and prints the grant id."""
    alice = cli_as("alice", "alice-demo")
    bob = cli_as("bob", "bob-demo")
    waiting = subprocess.Popen(
        [
            str(PORTAL_CLI),
            *["request", "--source", "111111111111", "--target", "999999999999"],
            *["--action", "dynamodb:GetItem"],
            *["--resource", TABLE_ARN, "--duration", "3600"],
            *["--justification", "Read MyTable in a loop", "--wait", "--timeout", "120"],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=alice.env,
    )
    try:
        pending = wait_until(
            lambda: AccessRequest.objects.filter(status="pending").first(),
            timeout=60,
            what="alice's request",
        )
        bob("approve", str(pending.pk))
        out, err = waiting.communicate(timeout=150)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, err
    grant = Grant.objects.get(access_request=pending)
    assert out == f"{grant.pk}\n"

    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        "[profile portal]\n"
        f"credential_process = {PORTAL_CLI} creds --grant {grant.pk} --format process\n"
        "region = eu-central-1\n"
    )
    aws_env = {
        **alice.env,
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    for _ in range(30):
        result = subprocess.run(
            [str(AWS), "sts", "get-caller-identity", "--profile", "portal", "--output", "json"],
            capture_output=True,
            text=True,
            env=aws_env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["Arn"].endswith("/alice")

    issued = AuditEvent.objects.filter(verb="credentials.issued", access_request=pending)
    assert issued.count() == 1
    assert CredentialIssue.objects.filter(grant=grant).count() == 1
    cached = list((alice.config.parent / "cache").glob("*.json"))
    assert len(cached) == 1 and stat.S_IMODE(cached[0].stat().st_mode) == 0o600

    # --no-cache: a new session, and the cached one stays for the next calls.
    alice("creds", "--grant", str(grant.pk), "--format", "process", "--no-cache")
    assert issued.count() == 2


def test_bob_cannot_take_credentials_for_alices_grant_and_logout_revokes(aws_demo, worker, cli_as):
    alice = cli_as("alice", "alice-demo")
    bob = cli_as("bob", "bob-demo")
    submitted = alice(
        *["request", "--source", "111111111111", "--target", "999999999999"],
        *["--action", "dynamodb:GetItem", "--resource", TABLE_ARN, "--duration", "3600"],
        *["--justification", "Read MyTable", "--json"],
    )
    request_id = str(json.loads(submitted.stdout)["id"])
    bob("approve", request_id)
    alice("status", request_id, "--wait", "active", "--timeout", "60", "--interval", "1")
    grant_id = str(json.loads(alice("status", request_id, "--json").stdout)["grant"]["id"])

    stolen = bob("creds", "--grant", grant_id, "--format", "process", ok=False)
    assert stolen.returncode == 1
    assert stolen.stdout == ""
    assert "error:" in stolen.stderr

    token = json.loads(alice.config.read_text())["token"]
    alice("logout")
    assert not alice.config.exists()
    reused = subprocess.run(
        [str(PORTAL_CLI), "grants"],
        capture_output=True,
        text=True,
        env={**alice.env, "PORTAL_TOKEN": token},
        timeout=60,
        check=False,
    )
    assert reused.returncode == 1
    assert "401" in reused.stderr or "403" in reused.stderr


def test_an_sso_user_logs_in_with_a_token_from_the_token_page(demo, live_server, tmp_path, client):
    """erin has no portal password (SSO): she makes a token on the API token page and gives it
    to `portal-cli login --token`; the CLI then works as her, until she revokes it."""
    from sso.services import sso_sign_in

    erin = sso_sign_in(
        issuer="https://idp.example.com", claims={"sub": "e-1", "preferred_username": "erin"}
    )
    assert not erin.has_usable_password()
    client.force_login(erin)
    page = client.post("/account/tokens/").content.decode()
    key = page.split('<pre id="token-key" tabindex="0">')[1].split("</pre>")[0]
    cli = Cli(live_server.url, tmp_path / "erin" / "portal-cli.json")

    logged_in = cli("login", "--token-stdin", stdin=f"{key}\n")

    assert f"as erin; token stored in {cli.config}" in logged_in.stdout
    assert json.loads(cli.config.read_text())["token"] == key
    assert cli("grants").stdout == "No grants.\n"
    client.post("/account/tokens/revoke/")
    refused = cli("grants", ok=False)
    assert refused.returncode == 1 and "401" in refused.stderr


def test_an_approver_logs_in_with_the_code_of_their_app(demo, live_server, tmp_path, settings):
    """Where the portal requires a second factor, `portal-cli login --otp` sends the code; the
    password alone gets no token."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.PORTAL_REQUIRE_MFA = True
    device = TOTPDevice.objects.create(user=demo.bob, name="app", confirmed=True)
    bob = Cli(live_server.url, tmp_path / "bob" / "portal-cli.json")
    refused = bob("login", "--username", "bob", "--password-stdin", stdin="bob-demo\n", ok=False)
    assert refused.returncode == 1 and "otp" in refused.stderr
    assert not bob.config.exists()
    code = f"{totp(device.bin_key):06d}"
    bob("login", "--username", "bob", "--password-stdin", "--otp", code, stdin="bob-demo\n")
    assert json.loads(bob.config.read_text())["token"]
    assert bob("grants").returncode == 0
