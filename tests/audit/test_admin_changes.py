"""Changes made in /admin/ land in the audit trail with the fields before and after.

The hole this closes: accounts, approver groups and their members, quorum and SCPs went through
/admin/ into Django's mutable LogEntry only, and the two-party setting and the webhook URL could
not be set there at all. Each test drives the real admin pages as a platform admin.
"""

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group

from accounts.models import ServiceControlPolicy
from audit.models import AuditEvent

SECRET_WEBHOOK = "https://hooks.slack.com/services/T0000/B0000/s3cr3t-token-value"


class _Form(HTMLParser):
    """The values a browser would post from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.setdefault(name, []).append(attrs.get("value") or "on")
                return
            if attrs.get("type") in ("submit", "button"):
                return
            self.data.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:
                self.data[self._textarea][0] = self.data[self._textarea][0].lstrip("\n")
            self._textarea = None


def form_of(client, url: str) -> dict[str, list[str]]:
    parser = _Form()
    parser.feed(client.get(url).content.decode())
    return parser.data


def save(client, url: str, data: dict[str, list[str]]) -> None:
    response = client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture
def admin_client(client, demo):
    client.force_login(demo.admin)
    return client


def test_a_quorum_change_is_in_the_audit_trail(demo, admin_client):
    url = f"/admin/accounts/account/{demo.data.pk}/change/"
    data = form_of(admin_client, url)
    assert data["approvals_required"] == ["1"]
    data["approvals_required"] = ["2"]
    save(admin_client, url, data)

    event = AuditEvent.objects.get(verb="admin.account.changed")
    assert (event.actor, event.object_id) == (demo.admin, str(demo.data.pk))
    assert event.before == {"approvals_required": 1}
    assert event.after == {"approvals_required": 2}


def test_two_party_approval_and_the_webhook_are_set_in_the_admin_and_audited(demo, admin_client):
    url = f"/admin/accounts/account/{demo.dev.pk}/change/"
    data = form_of(admin_client, url)
    assert "source_approval_required" not in data  # an unticked box
    assert data["notification_webhook_url"] == [""]
    data["source_approval_required"] = ["on"]
    data["notification_webhook_url"] = [SECRET_WEBHOOK]
    save(admin_client, url, data)

    demo.dev.refresh_from_db()
    assert demo.dev.source_approval_required
    assert demo.dev.notification_webhook_url == SECRET_WEBHOOK
    event = AuditEvent.objects.get(verb="admin.account.changed")
    assert event.after == {
        "source_approval_required": True,
        "notification_webhook_url": "hooks.slack.com (path not recorded)",
    }
    assert not AuditEvent.objects.filter(after__icontains="s3cr3t").exists()
    assert "s3cr3t" not in str(list(AuditEvent.objects.values("before", "after")))


def test_approver_group_members_are_in_the_audit_trail(demo, admin_client, django_user_model):
    stranger = demo.dave  # in no group yet
    group = Group.objects.get(pk=demo.data.approver_group_id)
    url = f"/admin/auth/group/{group.pk}/change/"
    data = form_of(admin_client, url)
    prefix = next(
        name.removesuffix("-TOTAL_FORMS")
        for name in data
        if name.endswith("-TOTAL_FORMS") and f"{name.removesuffix('-TOTAL_FORMS')}-0-user" in data
    )
    row = int(data[f"{prefix}-TOTAL_FORMS"][0])
    data[f"{prefix}-TOTAL_FORMS"] = [str(row + 1)]
    data[f"{prefix}-{row}-user"] = [str(stranger.pk)]
    data[f"{prefix}-{row}-group"] = [str(group.pk)]
    members = sorted(group.user_set.values_list("username", flat=True))
    save(admin_client, url, data)

    event = AuditEvent.objects.get(verb="admin.group.user_set_changed")
    assert event.before == {"user_set": members}
    assert event.after == {"user_set": sorted([*members, stranger.username])}


def test_making_someone_a_platform_admin_is_in_the_audit_trail(demo, admin_client):
    url = f"/admin/auth/user/{demo.alice.pk}/change/"
    data = form_of(admin_client, url)
    data["is_superuser"] = ["on"]
    save(admin_client, url, data)

    event = AuditEvent.objects.get(verb="admin.user.changed")
    assert (event.before, event.after) == ({"is_superuser": False}, {"is_superuser": True})
    assert "pbkdf2" not in str(event.after) and "md5" not in str(event.after)


def test_an_scp_edit_and_delete_are_in_the_audit_trail(demo, admin_client):
    scp = ServiceControlPolicy.objects.order_by("pk").first()
    url = f"/admin/accounts/servicecontrolpolicy/{scp.pk}/change/"
    data = form_of(admin_client, url)
    data["description"] = ["Reviewed by security"]
    save(admin_client, url, data)
    changed = AuditEvent.objects.get(verb="admin.servicecontrolpolicy.changed")
    assert changed.after == {"description": "Reviewed by security"}

    response = admin_client.post(
        f"/admin/accounts/servicecontrolpolicy/{scp.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    deleted = AuditEvent.objects.get(verb="admin.servicecontrolpolicy.deleted")
    assert deleted.before["name"] == scp.name
    assert deleted.before["document"] == scp.document
