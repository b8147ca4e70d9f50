"""Portal groups and platform admins from the provider's groups claim, at every SSO sign-in:
through the real provider first, then the claim's shapes against the service."""

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from core.errors import ServiceError
from sso.models import SsoIdentity
from sso.services import sso_sign_in
from tests.sso.provider import sso_sign_in as provider_sign_in


def _groups(username: str) -> list[str]:
    user = get_user_model().objects.get(username=username)
    return sorted(user.groups.values_list("name", flat=True))


def _synced(username: str) -> list[tuple[dict, dict]]:
    user = get_user_model().objects.get(username=username)
    events = AuditEvent.objects.filter(verb="user.groups_synced", object_id=str(user.pk))
    return [(event.before, event.after) for event in events.order_by("id")]


def test_groups_are_added_and_left_as_the_claim_says(sso, demo, client):
    erin_at_provider = requests.Session()  # her browser: the provider's session stays
    provider_sign_in(client, sso, "erin", browser=erin_at_provider)
    assert _groups("erin") == ["data-approvers"]

    sso.groups_set("erin", ["prod-approvers", "not-a-portal-group"])
    client.post("/accounts/logout/")
    provider_sign_in(client, sso, "erin", browser=erin_at_provider)

    assert _groups("erin") == ["prod-approvers"]
    assert not Group.objects.filter(name="not-a-portal-group").exists()
    assert _synced("erin") == [
        (
            {"groups": [], "platform_admin": False},
            {"groups": ["data-approvers"], "platform_admin": False},
        ),
        (
            {"groups": ["data-approvers"], "platform_admin": False},
            {"groups": ["prod-approvers"], "platform_admin": False},
        ),
    ]

    client.post("/accounts/logout/")
    provider_sign_in(client, sso, "erin", browser=erin_at_provider)
    assert len(_synced("erin")) == 2  # nothing changed: nothing recorded


def test_the_admin_group_makes_a_platform_admin_and_leaving_it_unmakes_one(sso, demo, client):
    provider_sign_in(client, sso, "frank")
    frank = get_user_model().objects.get(username="frank")
    assert frank.is_superuser and frank.is_staff
    assert client.get("/admin/").status_code == 200

    sso.groups_set("frank", [])
    client.post("/accounts/logout/")
    provider_sign_in(client, sso, "frank")

    frank.refresh_from_db()
    assert not frank.is_superuser and not frank.is_staff
    assert client.get("/admin/").status_code == 302
    assert _synced("frank")[-1] == (
        {"groups": [], "platform_admin": True},
        {"groups": [], "platform_admin": False},
    )


# --- The claim's shapes, on the service ----------------------------------------------------------

ISSUER = "https://idp.example.com"


def _claims(**changes) -> dict:
    claims = {"sub": "s-1", "preferred_username": "erin", "groups": ["data-approvers"]}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


@pytest.fixture
def claims_settings(settings, demo):
    settings.PORTAL_OIDC_GROUPS_CLAIM = "groups"
    settings.PORTAL_OIDC_ADMIN_GROUPS = ["portal-admins"]
    return settings


def test_a_missing_claim_means_no_groups(claims_settings):
    """Okta leaves the claim out when none of the person's groups matches its filter."""
    sso_sign_in(issuer=ISSUER, claims=_claims())
    assert _groups("erin") == ["data-approvers"]

    sso_sign_in(issuer=ISSUER, claims=_claims(groups=None))

    assert _groups("erin") == []


def test_a_single_group_may_come_as_a_string(claims_settings):
    sso_sign_in(issuer=ISSUER, claims=_claims(groups="prod-approvers"))
    assert _groups("erin") == ["prod-approvers"]


@pytest.mark.parametrize("value", [{"data-approvers": True}, [1, 2], 7])
def test_a_claim_that_is_not_a_list_of_names_is_refused(claims_settings, value):
    with pytest.raises(ServiceError, match="groups claim is not a list"):
        sso_sign_in(issuer=ISSUER, claims=_claims(groups=value))
    assert not get_user_model().objects.filter(username="erin").exists()


def test_groups_sent_by_reference_are_refused(claims_settings):
    """Entra ID's overage: over 200 groups, `_claim_names` points at Graph instead."""
    claims = _claims(groups=None, _claim_names={"groups": "src1"})
    with pytest.raises(ServiceError, match="by reference"):
        sso_sign_in(issuer=ISSUER, claims=claims)


def test_with_no_groups_claim_configured_groups_and_admins_are_left_alone(claims_settings):
    claims_settings.PORTAL_OIDC_GROUPS_CLAIM = ""
    user = sso_sign_in(issuer=ISSUER, claims=_claims(groups=["portal-admins"]))
    user.groups.add(Group.objects.get(name="prod-approvers"))  # set by hand in /admin/

    sso_sign_in(issuer=ISSUER, claims=_claims(groups=[]))

    user.refresh_from_db()
    assert _groups("erin") == ["prod-approvers"] and not user.is_superuser


def test_with_no_admin_groups_configured_the_admin_flag_is_left_alone(claims_settings):
    claims_settings.PORTAL_OIDC_ADMIN_GROUPS = []
    user = sso_sign_in(issuer=ISSUER, claims=_claims())
    get_user_model().objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)

    sso_sign_in(issuer=ISSUER, claims=_claims(groups=["portal-admins"]))
    sso_sign_in(issuer=ISSUER, claims=_claims(groups=[]))

    user.refresh_from_db()
    assert user.is_superuser and user.is_staff


def test_the_username_is_the_email_without_preferred_username(claims_settings):
    user = sso_sign_in(
        issuer=ISSUER,
        claims=_claims(preferred_username=None, email="erin.r@example.com", email_verified=True),
    )
    assert user.username == "erin.r@example.com"


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_unverified_email_names_no_one(claims_settings, verified):
    """Someone who typed a colleague's address into their provider profile gets neither the
    account an admin made ahead for the colleague nor a new one under the colleague's name."""
    ahead = get_user_model().objects.create_user("bob.b@example.com")  # no password: linkable
    for email in ("bob.b@example.com", "carl@example.com"):
        claims = _claims(preferred_username=None, email=email, email_verified=verified)
        with pytest.raises(ServiceError, match="not verified the e-mail address"):
            sso_sign_in(issuer=ISSUER, claims=claims)
    assert not SsoIdentity.objects.exists()
    assert not get_user_model().objects.filter(username="carl@example.com").exists()
    ahead.refresh_from_db()
    assert not ahead.groups.exists()


@pytest.mark.parametrize("username", ["", "erin smith", "x" * 151, None])
def test_an_unusable_username_is_refused(claims_settings, username):
    with pytest.raises(ServiceError, match="no usable username"):
        sso_sign_in(issuer=ISSUER, claims=_claims(preferred_username=username))


def test_the_subject_not_the_name_finds_the_user_again(claims_settings):
    """A person renamed at the provider stays the same portal user; another person given the
    old name later is not let into that account."""
    erin = sso_sign_in(issuer=ISSUER, claims=_claims())

    assert sso_sign_in(issuer=ISSUER, claims=_claims(preferred_username="erin.r")) == erin
    with pytest.raises(ServiceError, match="already exists"):
        sso_sign_in(issuer=ISSUER, claims=_claims(sub="s-2"))


def test_names_the_database_cannot_hold_are_dropped_not_a_500(claims_settings):
    """People edit their own names at many providers: a NUL or a lone surrogate in one (JSON
    carries both) is left out, not a failed sign-in."""
    user = sso_sign_in(
        issuer=ISSUER,
        claims=_claims(
            given_name="Er\x00in",
            family_name="\ud800",
            email="erin@example.com\x00",
            groups=["data-approvers", "x\x00y"],
        ),
    )
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("", "", "")
    assert _groups("erin") == ["data-approvers"]
