"""wapiti3 scans the running portal, signed in as alice with demo data, for reflected and stored
cross-site scripting, SQL injection and open redirects: it finds none.

wapiti lives in its own venv (var/tools/wapiti, pinned by requirements-wapiti.txt): its pins clash
with the project's. scripts/ensure-wapiti.sh installs it on a fresh clone (`make test` runs it
too; here it is a no-op when the pins are unchanged)."""

import json
import secrets
import subprocess

import pytest
from django.test import Client

from access_requests.services import access_request_approve, access_request_reject
from tests.factories import submitted
from tests.support import LOG_DIR, ROOT

WAPITI = ROOT / "var" / "tools" / "wapiti" / "bin" / "wapiti"
MODULES = "xss,permanentxss,sql,redirect"
# The report's categories for those modules (wapiti names them in words).
CATEGORIES = (
    "Reflected Cross Site Scripting",
    "Stored Cross Site Scripting",
    "HTML Injection",
    "Stored HTML Injection",
    "SQL Injection",
    "Blind SQL Injection",
    "Open Redirect",
)
SCAN_SECONDS = 150


@pytest.fixture(scope="session")
def wapiti() -> str:
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-wapiti.sh")], check=True, timeout=900)
    return str(WAPITI)


@pytest.mark.django_db(transaction=True)
def test_wapiti_finds_no_xss_sql_injection_or_open_redirect(wapiti, demo, live_server, tmp_path):
    # Demo data on every page alice reaches: requests of hers in each state, with free text.
    pending = submitted(demo, justification="pending, with <b>markup</b>", ticket="OPS-1")
    approved = submitted(demo, justification="approved")
    access_request_approve(access_request=approved, approver=demo.bob, comment="fine")
    rejected = submitted(demo, justification="rejected")
    access_request_reject(access_request=rejected, approver=demo.bob, reason="<i>no</i>")
    browser = Client()
    browser.force_login(demo.alice)
    session = browser.cookies["sessionid"].value
    csrf = secrets.token_hex(16)  # Django takes a 32-character cookie as the CSRF secret
    base = live_server.url
    report = LOG_DIR / "wapiti.json"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    command = [
        wapiti,
        "--url", f"{base}/",
        "--scope", "folder",
        "--module", MODULES,
        "--cookie-value", f"sessionid={session}; csrftoken={csrf}",
        "--drop-set-cookie",  # stay signed in as alice whatever the pages answer
        *("--start", f"{base}/dashboard/"),
        *("--start", f"{base}/requests/?scope=all&q=x&status=pending"),
        *("--start", f"{base}/requests/new/"),
        *("--start", f"{base}/requests/{pending.pk}/"),
        *("--start", f"{base}/requests/{approved.pk}/"),
        *("--start", f"{base}/requests/{rejected.pk}/"),
        *("--start", f"{base}/why-denied/"),
        *("--start", f"{base}/audit/?q=x"),
        *("--start", f"{base}/accounts/login/?next=/dashboard/"),
        # Signing out would end the scan's session; the admin and the API are not alice's pages.
        *("--exclude", f"{base}/accounts/logout/*"),
        *("--exclude", f"{base}/admin/*"),
        *("--exclude", f"{base}/api/*"),
        "--depth", "4",
        "--max-links-per-page", "40",
        "--max-scan-time", str(SCAN_SECONDS),
        "--max-attack-time", "40",
        "--tasks", "4",
        "--timeout", "20",
        "--flush-session",
        "--store-session", str(tmp_path / "session"),
        "--store-config", str(tmp_path / "config"),
        "--no-bugreport",
        "--verbose", "0",
        "--format", "json",
        "--output", str(report),
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=SCAN_SECONDS + 240, check=False
    )
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    findings = json.loads(report.read_text())
    vulnerabilities = findings["vulnerabilities"]
    for category in CATEGORIES:
        assert category in vulnerabilities, f"wapiti's report has no {category!r} section"
    found = {category: vulnerabilities[category] for category in CATEGORIES}
    assert all(not items for items in found.values()), json.dumps(found, indent=1)[:4000]
    # Nor did any attack make the portal fail (an unhandled error is a 500 "anomaly").
    assert findings["anomalies"]["Internal Server Error"] == []
    # Not a vacuous pass: the crawl reached alice's pages and their forms.
    crawled = findings["infos"].get("crawled_pages_nbr", 0)
    print(f"wapiti: {crawled} pages crawled, modules {MODULES}: 0 vulnerabilities")
    assert crawled >= 8, findings["infos"]
