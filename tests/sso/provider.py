"""A real OpenID provider for the tests (the npm package oidc-provider, in a node process), and a
person's way through it without a browser.

The browser test (tests/browser/test_sso.py) clicks through the same provider in Chromium; the
tests here drive the portal with Django's test client and the provider with `requests`, which
keeps the provider's cookies as a browser would.
"""

import json
import os
import re
import subprocess
import tempfile
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from tests.support import LOG_DIR, ROOT, free_port, wait_until

SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_ID = "access-portal"
CLIENT_SECRET = "portal-test-secret-3a9f-0c2d7e5b81f4a6"  # noqa: S105 (the test provider's client)
PASSWORD = "any-password"  # noqa: S105 (oidc-provider's development login takes any)
# erin approves for the data account by claim; frank is a platform admin by claim; `admin` is a
# provider account that happens to share its name with the portal's break-glass admin.
ACCOUNTS = {
    "erin": {"email": "erin@example.com", "given_name": "Erin", "groups": ["data-approvers"]},
    "frank": {"email": "frank@example.com", "groups": ["portal-admins"]},
    "admin": {"email": "someone-else@example.com", "groups": ["portal-admins"]},
}


NODE_MAJOR_MIN = 20  # oidc-provider 9 and its jose need Node.js 20 or newer


def node_packages_ensure() -> None:
    """node_modules/ as package-lock.json pins it (npm ci), for a fresh clone's first test run,
    on a Node.js that runs oidc-provider."""
    version = subprocess.run(  # noqa: S603, S607
        ["node", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR_MIN:
        raise RuntimeError(
            f"The SSO tests run oidc-provider, which needs Node.js {NODE_MAJOR_MIN} or newer; "
            f"this machine has {version} (e.g. https://deb.nodesource.com)."
        )
    if not (ROOT / "node_modules" / "oidc-provider" / "package.json").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure-node-deps.sh")], check=True)  # noqa: S603, S607


class OidcProvider:
    """oidc-provider on a free port of 127.0.0.1, the portal registered as a confidential client
    with `redirect_uris`; `accounts_set` rewrites the people and their groups (read again at
    every sign-in)."""

    def __init__(self, *, redirect_uris: list[str], accounts: dict | None = None) -> None:
        node_packages_ensure()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.directory = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
        self.accounts_file = self.directory / "accounts.json"
        self.accounts_set(accounts if accounts is not None else ACCOUNTS)
        config = self.directory / "config.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": redirect_uris,
                    "accounts_file": str(self.accounts_file),
                }
            )
        )
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / "oidc-provider.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                ["node", str(SCRIPT), str(config)],  # noqa: S607 (node from PATH, as npm's)
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, timeout=30, what="the OpenID provider to answer")

    def _answers(self) -> bool:
        assert self.process.poll() is None, f"oidc-provider exited; see {self.log_path}"
        try:
            return requests.get(self.discovery_url, timeout=1).ok
        except requests.ConnectionError:
            return False

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def accounts_set(self, accounts: dict) -> None:
        """Replace the accounts file at once (a reader never sees half of it)."""
        staging = self.accounts_file.with_suffix(".tmp")
        staging.write_text(json.dumps(accounts))
        os.replace(staging, self.accounts_file)

    def groups_set(self, login: str, groups: list[str]) -> None:
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login] = {**accounts[login], "groups": groups}
        self.accounts_set(accounts)

    def settings_apply(self, settings, *, base_url: str, admin_groups: list[str]) -> None:
        """Point the portal's PORTAL_OIDC_* settings (pytest-django's `settings`) at this
        provider, the way an operator sets the environment variables."""
        from sso.discovery import provider_config_forget

        settings.PORTAL_OIDC_ISSUER = self.issuer
        settings.PORTAL_OIDC_CLIENT_ID = CLIENT_ID
        settings.PORTAL_OIDC_CLIENT_SECRET = CLIENT_SECRET
        settings.PORTAL_OIDC_GROUPS_CLAIM = "groups"
        settings.PORTAL_OIDC_ADMIN_GROUPS = admin_groups
        settings.PORTAL_BASE_URL = base_url
        provider_config_forget()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def provider_sign_in(
    provider: OidcProvider, browser: requests.Session, url: str, login: str
) -> str:
    """Follow the portal's redirect `url` through the provider as a person would: its login page
    (when the provider has no session of theirs yet), then its redirects, until it sends them
    back to the portal. Returns that last redirect's URL (the portal's callback)."""
    while True:
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and 'name="login"' in response.text:
            action = unescape(FORM_ACTION.search(response.text)[1])
            response = browser.post(
                urljoin(url, action),
                data={"prompt": "login", "login": login, "password": PASSWORD},
                allow_redirects=False,
                timeout=10,
            )
        assert response.is_redirect, (response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
        if not url.startswith(provider.issuer):
            return url


def sso_sign_in(
    client, provider: OidcProvider, login: str, *, browser=None, start="/oidc/authenticate/"
):
    """`login` signs in to the portal (Django's test `client`) through the real provider: the
    portal's start, the provider's login page, the portal's callback. Returns the callback's
    response. `browser` keeps the provider's cookies between sign-ins of one person."""
    response = client.get(start)
    assert response.status_code == 302, response.status_code
    callback = provider_sign_in(
        provider, browser or requests.Session(), response["Location"], login
    )
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")
