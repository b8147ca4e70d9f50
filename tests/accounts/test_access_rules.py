"""Access rules (SPEC 10.2) without AWS: which rule a request goes under, the checks of a rule
set (a bad set is refused whole), the API's read and replace, and the YAML file round trip."""

import threading
from io import StringIO

import pytest
import yaml
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from accounts.access_rules import AccessRule
from accounts.management.commands.seed_demo import DEMO_RULES
from accounts.rule_changes import access_rules_list, access_rules_replace
from accounts.rules import eligibility
from audit.models import AuditEvent
from core.errors import ServiceError
from tests.api.conftest import api_for
from tests.support import wait_until

HOUR = 3600
READ = "dynamodb:GetItem"
WRITE = "dynamodb:PutItem"


def _rule(**fields) -> dict:
    return {
        "name": "r",
        "accounts": ["555555555555"],
        "requester_groups": ["developers"],
        "max_duration": 4 * HOUR,
        "approval": "account",
        "break_glass": False,
    } | fields


def _eligible(demo, actions, *, duration=HOUR, user=None, account=None, break_glass=False):
    return eligibility(
        user=user or demo.alice,
        account=account or demo.sandbox,
        actions=actions,
        duration=duration,
        break_glass=break_glass,
    )


def test_the_demo_rules_are_seeded(demo):
    seeded = {rule["name"]: rule for rule in access_rules_list()}
    assert seeded == {
        rule["name"]: {"services": [], "access_levels": [], **rule} for rule in DEMO_RULES
    }
    assert seeded["sandbox-read"]["access_levels"] == ["Read", "List"]


def test_the_least_approval_wins_only_if_its_rule_covers_every_action(demo):
    access_rules_replace(
        [
            _rule(name="read-auto", access_levels=["Read"], approval="auto"),
            _rule(name="any-quorum", max_duration=7 * 24 * HOUR),
        ],
        actor=demo.admin,
    )
    assert _eligible(demo, [READ]).rule.name == "read-auto"
    assert _eligible(demo, [READ, WRITE]).rule.name == "any-quorum"
    # Longer than the auto rule allows: the quorum rule takes it.
    assert _eligible(demo, [READ], duration=8 * HOUR).rule.name == "any-quorum"


def test_services_and_access_levels_both_narrow_a_rule(demo):
    access_rules_replace(
        [_rule(services=["s3"], access_levels=["Read", "List"], approval="auto")],
        actor=demo.admin,
    )
    assert _eligible(demo, ["s3:GetObject", "s3:ListBucket"]).eligible
    assert "dynamodb:GetItem" in _eligible(demo, [READ]).errors["actions"][0]
    assert "s3:PutObject" in _eligible(demo, ["s3:PutObject"]).errors["actions"][0]
    # A wildcard is covered when every action it names is.
    assert _eligible(demo, ["s3:GetObjectT*"]).eligible
    assert not _eligible(demo, ["s3:Put*"]).eligible


def test_an_ou_in_a_rule_covers_the_accounts_under_it(demo):
    access_rules_replace([_rule(accounts=["ou-workloads"])], actor=demo.admin)
    assert _eligible(demo, [READ]).eligible
    assert _eligible(demo, [READ], account=demo.data).eligible
    assert _eligible(demo, [READ], account=demo.vendor).forbidden  # outside the organization


def test_an_ou_rule_no_longer_covers_an_account_that_left_the_organization(demo):
    """The sync keeps a leaver's last OU path (its grants stay until revoked), but it is under
    that OU no more: a rule for the OU, an auto one above all, does not speak for it."""
    from django.utils import timezone

    access_rules_replace([_rule(accounts=["ou-sandbox"], approval="auto")], actor=demo.admin)
    assert _eligible(demo, [READ]).rule.name == "r"
    demo.sandbox.left_organization_at = timezone.now()
    demo.sandbox.save(update_fields=["left_organization_at"])
    assert _eligible(demo, [READ]).forbidden
    access_rules_replace([_rule(accounts=["555555555555"])], actor=demo.admin)
    assert _eligible(demo, [READ]).eligible  # named by its id, it still is


def test_rules_look_at_the_groups_not_at_superuser(demo):
    found = _eligible(demo, [READ], user=demo.admin)
    assert found.forbidden.startswith("No access rule lets admin (in platform-admins)")


def test_break_glass_needs_a_break_glass_rule_and_ordinary_requests_another(demo):
    prod_read = {"account": demo.prod, "actions": [READ]}
    assert _eligible(demo, **prod_read, break_glass=True).rule.name == "prod-breakglass"
    assert _eligible(demo, **prod_read).rule.name == "prod"
    demo.alice.groups.remove(Group.objects.get(name="developers"))
    assert _eligible(demo, **prod_read).forbidden  # oncall alone gives break-glass only


def test_without_rules_the_check_is_off_as_before(demo):
    AccessRule.objects.all().delete()
    found = _eligible(demo, [WRITE], user=demo.dave, duration=7 * 24 * HOUR)
    assert not found.checked and found.eligible


BAD = {
    "unknown-account": ({"accounts": ["444444444444"]}, "accounts", "Unknown to the portal"),
    "not-an-account": ({"accounts": ["prod"]}, "accounts", "Neither an account id"),
    "unknown-group": ({"requester_groups": ["wizards"]}, "requester_groups", "Unknown group"),
    "unknown-service": ({"services": ["dynamodbx"]}, "services", "Unknown service"),
    "unknown-level": ({"access_levels": ["Admin"]}, "access_levels", "Unknown access level"),
    "too-short": ({"max_duration": 60}, "max_duration", "At least 900"),
    "too-long": ({"max_duration": 400 * 24 * HOUR}, "max_duration", "At most"),
    "not-a-number": ({"max_duration": "4h"}, "max_duration", "A number of seconds"),
    "approval": ({"approval": "nobody"}, "approval", '"auto" or "account"'),
    "auto-break-glass": ({"approval": "auto", "break_glass": True}, "approval", "break-glass"),
    "bad-name": ({"name": "Has Spaces"}, "name", "Lower-case"),
    "extra-field": ({"owner": "me"}, "rule", "Unknown field: owner"),
}


@pytest.mark.parametrize(("change", "field", "message"), BAD.values(), ids=BAD)
def test_a_bad_rule_set_is_refused_whole_with_a_message_per_field(demo, change, field, message):
    before = access_rules_list()
    events = AuditEvent.objects.count()
    rules = [_rule(name="good"), _rule(name="bad") | change]
    response = api_for(demo.admin).put("/api/v1/access-rules/", {"rules": rules}, format="json")
    assert response.status_code == 400, response.content
    assert any(message in text for text in response.json()[f"rules[1].{field}"])
    assert "rules[0].name" not in response.json()
    assert access_rules_list() == before  # not even the good rule
    assert AuditEvent.objects.count() == events


def test_two_rules_of_one_name_are_refused(demo):
    with pytest.raises(ServiceError) as refused:
        access_rules_replace([_rule(), _rule()], actor=demo.admin)
    assert refused.value.field_errors == {"rules[1].name": ["Two rules are named r."]}


def test_everyone_signed_in_reads_the_rules_and_only_admins_replace_them(demo):
    for user in (demo.alice, demo.dave, demo.bob):
        response = api_for(user).get("/api/v1/access-rules/")
        assert response.status_code == 200
        assert [rule["name"] for rule in response.json()["rules"]] == [
            "data",
            "prod",
            "prod-breakglass",
            "sandbox-read",
        ]
    open_all = {"rules": [_rule(name="everything", accounts=["*"], approval="auto")]}
    for user in (demo.alice, demo.bob):  # a developer, an approver
        response = api_for(user).put("/api/v1/access-rules/", open_all, format="json")
        assert response.status_code == 403
    assert "everything" not in [rule["name"] for rule in access_rules_list()]
    assert not AuditEvent.objects.filter(verb="access_rules.replaced").exists()


def test_an_admins_change_is_audited_with_the_diff(demo):
    rules = [dict(rule) for rule in DEMO_RULES]
    rules[0] = rules[0] | {"max_duration": 2 * HOUR}  # sandbox-read: 4 h -> 2 h
    rules = rules[:3]  # prod-breakglass removed
    response = api_for(demo.admin).put("/api/v1/access-rules/", {"rules": rules}, format="json")
    assert response.status_code == 200, response.content
    [event] = AuditEvent.objects.filter(verb="access_rules.replaced")
    assert event.actor == demo.admin
    assert sorted(event.before["rules"]) == ["prod-breakglass", "sandbox-read"]
    assert event.before["rules"]["sandbox-read"]["max_duration"] == 4 * HOUR
    assert event.after["rules"] == {
        "prod-breakglass": None,
        "sandbox-read": event.after["rules"]["sandbox-read"],
    }
    assert event.after["rules"]["sandbox-read"]["max_duration"] == 2 * HOUR


def test_yaml_export_then_apply_round_trips(demo, tmp_path):
    exported = tmp_path / "rules.yaml"
    call_command("access_rules", "export", str(exported), stdout=StringIO())
    text = exported.read_text()
    assert yaml.safe_load(text)["rules"] == access_rules_list()
    before = access_rules_list()
    access_rules_replace([_rule(name="other")], actor=demo.admin)
    call_command("access_rules", "apply", str(exported), stdout=StringIO())
    assert access_rules_list() == before
    again = tmp_path / "again.yaml"
    call_command("access_rules", "export", str(again), stdout=StringIO())
    assert again.read_text() == text


def test_a_bad_yaml_file_changes_nothing_and_names_each_field(demo, tmp_path):
    before = access_rules_list()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump({"rules": [_rule(name="ok"), _rule(name="x", requester_groups=["nope"])]})
    )
    with pytest.raises(CommandError) as refused:
        call_command("access_rules", "apply", str(bad), stdout=StringIO())
    assert "rules[1].requester_groups: Unknown group: nope." in str(refused.value)
    assert access_rules_list() == before


def test_the_admin_form_checks_what_the_api_checks(demo, admin_client):
    response = admin_client.post(
        "/admin/accounts/accessrule/add/",
        {
            "name": "sneaky",
            "accounts": '["444444444444"]',
            "requester_groups": '["developers"]',
            "services": "[]",
            "access_levels": "[]",
            "max_duration": "3600",
            "approval": "auto",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Unknown to the portal: 444444444444" in response.content.decode()
    assert not AccessRule.objects.filter(name="sneaky").exists()


def test_a_rule_added_in_the_admin_is_audited(demo, admin_client):
    response = admin_client.post(
        "/admin/accounts/accessrule/add/",
        {
            "name": "sandbox-tags",
            "accounts": '["555555555555"]',
            "requester_groups": '["developers"]',
            "services": "[]",
            "access_levels": '["Tagging"]',
            "max_duration": "3600",
            "approval": "account",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = AuditEvent.objects.filter(verb="admin.accessrule.created")
    assert event.after["access_levels"] == ["Tagging"]


def test_a_privilege_escalation_never_goes_through_an_auto_rule(demo):
    from tests.factories import submitted

    access_rules_replace(
        [_rule(name="sandbox-anything", approval="auto", max_duration=8 * HOUR)],
        actor=demo.admin,
    )
    plain = submitted(
        demo,
        target_account=demo.sandbox,
        resources=["arn:aws:dynamodb:eu-central-1:555555555555:table/Scratch"],
    )
    assert plain.status == "approved" and plain.approved_by_rule == "sandbox-anything"
    escalation = submitted(
        demo,
        target_account=demo.sandbox,
        actions=["iam:PassRole"],
        resources=["arn:aws:iam::555555555555:role/SomeAppRole"],
    )
    assert escalation.status == "pending" and escalation.approved_by_rule == ""
    assert not AuditEvent.objects.filter(
        access_request_id=escalation.pk, verb="request.auto_approved"
    ).exists()


def test_an_auto_rule_does_not_skip_the_source_accounts_two_party_approval(demo):
    """An auto rule speaks for the target account: a source account that asks for two-party
    approval still gets its approver's vote before its identities get the access (no rule looks
    at the source account)."""
    from access_requests.services import access_request_approve
    from tests.factories import submitted

    group = Group.objects.create(name="dev-approvers")
    dana = demo.dave
    dana.groups.add(group)
    demo.dev.approver_group, demo.dev.source_approval_required = group, True
    demo.dev.save(update_fields=["approver_group", "source_approval_required"])
    access_request = submitted(
        demo,
        target_account=demo.sandbox,
        resources=["arn:aws:dynamodb:eu-central-1:555555555555:table/Scratch"],
    )
    assert access_request.status == "pending" and access_request.approved_by_rule == ""
    assert not AuditEvent.objects.filter(
        access_request_id=access_request.pk, verb="request.auto_approved"
    ).exists()
    # As for a privilege escalation, the request waits for the account's quorum as well.
    access_request_approve(access_request=access_request, approver=dana)
    assert access_request.status == "pending"
    access_request_approve(access_request=access_request, approver=demo.bob)
    assert access_request.status == "approved"


def test_the_wizard_preview_names_the_rule_or_what_no_rule_allows(demo, client):
    form = {
        "source_account": "111111111111",
        "target_account": "555555555555",
        "actions": "dynamodb:GetItem",
        "resources": "arn:aws:dynamodb:eu-central-1:555555555555:table/Scratch",
        "access_via": "portal",
        "duration": "3600",
        "justification": "try",
    }
    client.force_login(demo.alice)
    shown = client.post("/requests/preview/", form).content.decode()
    assert "sandbox-read (Read, List, up to 4 h, approved by rule)" in shown
    assert "approved by rule at submit, without a human" in shown
    shown = client.post("/requests/preview/", form | {"actions": "dynamodb:PutItem"}).content
    assert "No rule lets you ask for dynamodb:PutItem in sandbox" in shown.decode()
    client.force_login(demo.dave)
    shown = client.post("/requests/preview/", form).content.decode()
    assert "No access rule lets dave (in no requester group)" in shown


def test_the_wizard_submits_break_glass_and_says_so(demo, client):
    client.force_login(demo.alice)
    response = client.post(
        "/requests/new/",
        {
            "source_account": "111111111111",
            "target_account": "222222222222",
            "actions": "dynamodb:GetItem",
            "resources": "arn:aws:dynamodb:eu-central-1:222222222222:table/Orders",
            "access_via": "portal",
            "duration": "3600",
            "justification": "INC-7",
            "break_glass": "on",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "break-glass under the rule prod-breakglass" in page
    assert "waiting for a review by the account's approvers" in page
    [made] = demo.alice.access_requests.all()
    assert made.break_glass and made.review_status == "pending_review"
    assert made.status == "approved" and made.approved_by_rule == "prod-breakglass"


def _backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_replacements_at_once_leave_one_set_not_both(demo):
    """Each replacement is of the whole set: one that starts while another is not committed yet
    waits for it, then replaces what it wrote (not the union of both sets, which neither admin
    wrote), and its audit event's "before" is that set."""
    first, second = [_rule(name="first")], [_rule(name="second", max_duration=HOUR)]
    written, release = threading.Event(), threading.Event()
    problems: list[Exception] = []

    def replace(rules, *, hold: bool) -> None:
        try:
            with transaction.atomic():
                access_rules_replace(rules, actor=demo.admin)
                if hold:
                    written.set()
                    release.wait(10)
        except Exception as error:  # reported by the assertion below
            problems.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=replace, args=(first,), kwargs={"hold": True})
    holder.start()
    assert written.wait(10), problems
    other = threading.Thread(target=replace, args=(second,), kwargs={"hold": False})
    other.start()
    # The second replacement is under way while the first is not committed: it waits on a lock
    # (or, were nothing locked, has already written).
    wait_until(
        lambda: not other.is_alive() or _backends_waiting_on_a_lock(),
        timeout=10,
        what="the second replacement to wait on the first",
    )
    release.set()
    holder.join(10)
    other.join(10)
    assert not problems, problems
    assert [rule["name"] for rule in access_rules_list()] == ["second"]
    last = AuditEvent.objects.filter(verb="access_rules.replaced").order_by("pk").last()
    assert set(last.before["rules"]) == {"first", "second"}
    assert last.before["rules"]["first"] is not None and last.after["rules"]["first"] is None


def test_an_admin_token_from_before_the_second_factor_changes_no_rule(demo, settings):
    """As for decisions (tests/api/test_auth_mfa.py): a platform admin's token got with the
    password alone, before PORTAL_REQUIRE_MFA, replaces no rule until a second factor is
    enrolled. Reading them stays open."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.PORTAL_REQUIRE_MFA = False
    api = api_for(demo.admin)
    settings.PORTAL_REQUIRE_MFA = True
    before = access_rules_list()
    wide = {"rules": [_rule(name="everything", accounts=["*"], approval="auto")]}
    refused = api.put("/api/v1/access-rules/", wide, format="json")
    assert refused.status_code == 403
    assert "two-factor authentication" in refused.json()["detail"]
    assert access_rules_list() == before
    assert api.get("/api/v1/access-rules/").status_code == 200
    TOTPDevice.objects.create(user=demo.admin, name="app", confirmed=True)
    assert api.put("/api/v1/access-rules/", wide, format="json").status_code == 200


def test_the_service_itself_lets_only_platform_admins_replace_the_rules(demo):
    """The rule lives in access_rules_replace, for every caller of it; the operator's
    `manage.py access_rules apply` passes no actor."""
    before = access_rules_list()
    with pytest.raises(ServiceError) as refused:
        access_rules_replace([_rule(name="mine", approval="auto")], actor=demo.bob)
    assert refused.value.kind == ServiceError.FORBIDDEN
    assert access_rules_list() == before
    access_rules_replace([_rule(name="operators")], actor=None)
    assert [rule["name"] for rule in access_rules_list()] == ["operators"]
