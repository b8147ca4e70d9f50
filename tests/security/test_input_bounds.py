"""Refused input never reaches AWS. The emulator accepts almost anything (oversized policies,
`Principal: "*"`, 99,999-second sessions, malformed ARNs), so every limit lives in the portal:
each case below gets a 400 with a message, from the web form and from the API, nothing is saved,
and the emulator receives no request at all.

The proof of "no AWS call" counts the requests the emulator (the moto server, a separate process)
logged, whoever sent them; a valid request run through the same steps moves that count, so the
count is live and the zero is not vacuous."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from access_requests.models import AccessRequest
from provisioning.models import Grant
from provisioning.sessions import session_name_for
from provisioning.tasks import grant_provision_task
from tests.api.conftest import SUBMIT, api_for
from tests.support import LOG_DIR, wait_until

REQUEST_LINE = re.compile(rb'"(?:GET|POST|PUT|DELETE|HEAD|PATCH) \S+ HTTP/1\.[01]" \d{3}')
TABLE = "arn:aws:dynamodb:eu-central-1:999999999999:table/"
BUCKET_OBJECTS = "arn:aws:s3:::demo-reports/"


def emulator_requests() -> int:
    """How many HTTP requests the emulator has answered so far (werkzeug logs one line each)."""
    return len(REQUEST_LINE.findall((LOG_DIR / "emulator.log").read_bytes()))


def emulator_requests_settled() -> int:
    """The count once the emulator's log has caught up (werkzeug writes a line after answering)."""
    count = emulator_requests()
    while True:
        time.sleep(0.3)
        now = emulator_requests()
        if now == count:
            return count
        count = now


def _provision_everything() -> None:
    """What a worker would do next: provision every approved grant (here, in this process)."""
    for grant in Grant.objects.filter(access_request__status="approved"):
        grant_provision_task.apply(args=[grant.pk])


# id, the API body's changes, the form's changes (None: the same values, lists joined by lines),
# and, for a known defect, why the case is expected to fail until it is fixed.
CASES = [
    ("51 actions", {"actions": ["dynamodb:GetItem"] * 51}, None),
    ("51 resources", {"resources": [f"{TABLE}T{i}" for i in range(51)]}, None),
    ("an ARN of 2,049 characters", {"resources": [TABLE + "T" * 2000]}, None),
    (
        "a permission policy over IAM's 10,240 characters",
        {"resources": [f"{TABLE}{'T' * 240}{i}" for i in range(45)]},
        None,
    ),
    (
        "an S3 resource policy over 20 KB",
        {
            "actions": ["s3:GetObject"],
            "resources": [f"{BUCKET_OBJECTS}{'k' * 600}{i}" for i in range(40)],
            "mechanism": "resource_policy",
            "access_via": "own_identity",
        },
        None,
    ),
    ("Principal *", {"source_principal": "*"}, None),
    ("any account's root", {"source_principal": "arn:aws:iam::*:root"}, None),
    (
        "the public ACL group",
        {"source_principal": "http://acs.amazonaws.com/groups/global/AllUsers"},
        None,
    ),
    (
        "a principal in another account",
        {"source_principal": "arn:aws:iam::222222222222:role/X"},
        None,
    ),  # noqa: E501
    (
        "a role name with spaces",
        {"source_principal": "arn:aws:iam::111111111111:role/bad name!"},
        None,
    ),
    (
        "a role name with a letter IAM does not take",
        {
            "source_principal": "arn:aws:iam::111111111111:role/\u0130x",
            "access_via": "own_identity",
        },
        None,
    ),
    (
        "a role path of digits that are not ASCII",
        {
            "source_principal": "arn:aws:iam::111111111111:role/\u0661\u0662/x",
            "access_via": "own_identity",
        },
        None,
    ),
    (
        "a role name of 65 characters",
        {"source_principal": "arn:aws:iam::111111111111:role/" + "r" * 65},
        None,
    ),
    (
        "a session of 99,999 s on a 1-day account",
        {
            "target_account": "222222222222",
            "resources": ["arn:aws:dynamodb:eu-central-1:222222222222:table/Orders"],
            "duration": 99_999,
        },
        None,
    ),  # noqa: E501
    ("a duration below 900 s", {"duration": 899}, None),
    ("a negative duration", {"duration": -1}, None),
    ("an 11-digit account id", {"source_account": "11111111111"}, None),
    ("letters in an account id", {"target_account": "99999999999a"}, None),
    ("an unknown account", {"target_account": "444444444444"}, None),
    ("a colon instead of a slash", {"resources": [TABLE.rstrip("/") + ":MyTable"]}, None),
    ("not an ARN", {"resources": ["MyTable"]}, None),
    (
        "a resource in another account",
        {"resources": ["arn:aws:dynamodb:eu-central-1:222222222222:table/X"]},
        None,
    ),  # noqa: E501
    ("an empty bucket ARN", {"resources": ["arn:aws:s3:::"]}, None),
    ("an unknown action", {"actions": ["dynamodb:GetItemz"]}, None),
    ("an action with a wildcard service", {"actions": ["*:*"]}, None),
    ("a justification of 2,001 characters", {"justification": "x" * 2001}, None),
    ("a NUL character in the justification", {"justification": "read\x00table"}, None),
    ("a ticket of 129 characters", {"ticket": "T" * 129}, None),
    ("an empty justification", {"justification": "   "}, None),
]


def _form(body: dict) -> dict:
    form = {
        "source_principal": "",
        "access_via": "portal",
        "ticket": "",
    } | {key: value for key, value in body.items()}
    for key in ("actions", "resources"):
        form[key] = "\n".join(form[key])
    form["duration"] = str(form["duration"])
    return form


@pytest.fixture
def counted(aws_demo):
    """The emulator's request count before the test; the test asserts it did not move."""
    return emulator_requests()


def test_the_count_moves_for_a_valid_request(aws_demo, counted):
    """The same steps as the refused cases, with valid input: the emulator gets requests."""
    response = api_for(aws_demo.alice).post("/api/v1/requests/", SUBMIT, format="json")
    assert response.status_code == 201, response.content
    assert (
        api_for(aws_demo.bob).post(f"/api/v1/requests/{response.json()['id']}/approve/").status_code
        == 200
    )  # noqa: E501
    _provision_everything()
    assert AccessRequest.objects.get(pk=response.json()["id"]).status == "active"
    wait_until(lambda: emulator_requests() > counted, timeout=10, what="the emulator's log")


def _param(name, overrides, form_overrides, defect=""):
    marks = [pytest.mark.xfail(strict=True, reason=defect)] if defect else []
    return pytest.param(overrides, form_overrides, id=name, marks=marks)


@pytest.mark.parametrize(("overrides", "form_overrides"), [_param(*case) for case in CASES])
def test_refused_input_reaches_no_aws(aws_demo, counted, overrides, form_overrides):
    body = SUBMIT | overrides
    page = Client()
    page.force_login(aws_demo.alice)
    form = _form(body | (form_overrides or {}))
    # The live preview shows the documents' problems (not every field's) and saves nothing. Of
    # valid documents (the defect is elsewhere, a ticket too long) it simulates the request, which
    # reads the resource's own policy in AWS; of refused documents it reads nothing.
    preview = page.post(reverse("request_preview"), form)
    assert preview.status_code == 200
    if preview.context["draft"].errors:
        assert emulator_requests_settled() == counted, "the refused preview reached the emulator"
    counted = emulator_requests_settled()
    api = api_for(aws_demo.alice).post("/api/v1/requests/", body, format="json")
    assert api.status_code == 400, api.content
    problems = api.json()
    assert problems and all(problems.values()), problems
    submitted = page.post(reverse("request_new"), form)
    assert submitted.status_code == 400
    assert submitted.context["form"].errors, "the form says what is wrong"
    assert AccessRequest.objects.count() == 0
    _provision_everything()
    assert emulator_requests() == counted, "refused input reached the emulator"


def test_extensions_and_decisions_are_bounded_too(aws_demo):
    # A valid request is simulated at submit (reading the table's own policy in AWS); what follows
    # is refused and reaches no AWS.
    response = api_for(aws_demo.alice).post("/api/v1/requests/", SUBMIT, format="json")
    pk = response.json()["id"]
    counted = emulator_requests_settled()
    bob = api_for(aws_demo.bob)
    too_long = bob.post(f"/api/v1/requests/{pk}/reject/", {"reason": "x" * 2001}, format="json")
    assert too_long.status_code == 400
    assert AccessRequest.objects.get(pk=pk).status == "pending"
    assert emulator_requests_settled() == counted
    assert bob.post(f"/api/v1/requests/{pk}/approve/").status_code == 200
    counted = emulator_requests_settled()
    grant = Grant.objects.get(access_request_id=pk)
    alice = api_for(aws_demo.alice)
    for duration in (899, 99_999_999):
        extend = alice.post(
            f"/api/v1/grants/{grant.pk}/extend/",
            {"duration": duration, "justification": "more"},
            format="json",
        )
        assert extend.status_code == 400, extend.content
    assert emulator_requests() == counted


@pytest.mark.parametrize("username", ["zoë", "al ice", "a", "x" * 150, "名前"])
def test_session_names_follow_sts_rules_for_any_username(db, django_user_model, username):
    """RoleSessionName: 2 to 64 of [A-Za-z0-9_+=,.@-] (AWS's \\w is ASCII). Django allows
    unicode letters in usernames, so the portal must map them."""
    user = django_user_model.objects.create_user(username)
    assert re.fullmatch(r"[A-Za-z0-9_+=,.@-]{2,64}", session_name_for(user))


def test_usernames_that_map_alike_get_distinct_session_names(db, django_user_model):
    names = {
        session_name_for(django_user_model.objects.create_user(username))
        for username in ("zoë", "zoé", "zo-")
    }
    assert len(names) == 3
    assert session_name_for(django_user_model.objects.create_user("alice")) == "alice"
