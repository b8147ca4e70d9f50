"""The portal's own resources are off limits: refused at submit, in every account, whatever the
action, with nothing saved and no AWS call.

The hole this closes: alice asked for iam:PutRolePolicy and iam:PassRole on
arn:aws:iam::999999999999:role/portal/portal-access-1 (another grant's role, in the portal's own
namespace); one approver's click let her rewrite any portal role, i.e. any permission in the
account.
"""

import pytest

from access_requests.models import AccessRequest
from policy.reserved import patterns_overlap, reserved_match, reserved_patterns
from tests.api.conftest import SUBMIT, api_for
from tests.security.test_input_bounds import emulator_requests

DATA = "999999999999"

REFUSED = {
    "another grant's role": (
        ["iam:PutRolePolicy", "iam:PassRole"],
        f"arn:aws:iam::{DATA}:role/portal/portal-access-1",
        "the portal's grant roles",
    ),
    "the provisioner": (
        ["iam:UpdateAssumeRolePolicy"],
        f"arn:aws:iam::{DATA}:role/PortalProvisioner",
        "the portal's role PortalProvisioner",
    ),
    "the broker's name in the target account": (
        ["sts:AssumeRole"],
        f"arn:aws:iam::{DATA}:role/PortalBroker",
        "the portal's role PortalBroker",
    ),
    "the boundary": (
        ["iam:CreatePolicyVersion"],
        f"arn:aws:iam::{DATA}:policy/portal/PortalGrantBoundary",
        "the portal's policies",
    ),
    "every role, as a pattern": (
        ["iam:PassRole"],
        f"arn:aws:iam::{DATA}:role/*",
        "the portal's grant roles",
    ),
    "only a read": (
        ["iam:GetRole"],
        f"arn:aws:iam::{DATA}:role/portal/portal-access-7",
        "the portal's grant roles",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_request_naming_the_portals_own_resources_is_refused_with_no_aws_call(aws_demo, case):
    actions, resource, what = REFUSED[case]
    before = emulator_requests()
    body = SUBMIT | {"actions": actions, "resources": [resource]}
    response = api_for(aws_demo.alice).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400, response.content
    [message] = response.json()["resources"]
    assert resource in message and what in message
    assert AccessRequest.objects.count() == 0
    assert emulator_requests() == before


def test_an_ordinary_role_in_the_target_account_may_still_be_asked_for(aws_demo):
    body = SUBMIT | {
        "actions": ["iam:GetRole"],
        "resources": [f"arn:aws:iam::{DATA}:role/AppRole", f"arn:aws:iam::{DATA}:role/ops/App"],
    }
    response = api_for(aws_demo.alice).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 201, response.content


def test_an_accounts_own_provisioner_name_is_reserved_in_every_account(demo):
    """A renamed provisioner (its row says so) is reserved under its own name too."""
    demo.prod.provisioner_role_arn = "arn:aws:iam::222222222222:role/ops/AccessProvisioner"
    demo.prod.save()
    body = SUBMIT | {
        "actions": ["iam:PutRolePolicy"],
        "resources": [f"arn:aws:iam::{DATA}:role/ops/AccessProvisioner"],
    }
    response = api_for(demo.alice).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400, response.content
    assert "AccessProvisioner" in response.json()["resources"][0]


RESERVED = reserved_patterns(role_path="/portal/", roles=["role/PortalBroker"])


@pytest.mark.parametrize(
    ("resource", "reserved"),
    [
        ("arn:aws:iam::1:role/portal/portal-access-1", True),
        ("arn:aws:iam::1:role/PORTAL/x", True),  # IAM names ignore case
        ("arn:aws:iam::1:role/P?rtalBroker", True),
        ("arn:aws:iam::*:role/Portal*", True),
        ("arn:aws:iam::1:*", True),
        ("arn:aws:*:*:1:role/portal/x", True),
        ("arn:aws-cn:iam::1:role/PortalBroker", True),
        ("arn:aws:iam::1:role/PortalBrokers", False),
        ("arn:aws:iam::1:role/team/PortalBroker", False),  # another path: another role
        ("arn:aws:iam::1:role/app-*", False),
        ("arn:aws:s3:::portal/*", False),  # not IAM: a field's star stays in its field
        ("arn:aws:dynamodb:eu-central-1:1:table/portal", False),
    ],
)
def test_reserved_matching_is_pattern_against_pattern(resource, reserved):
    assert (reserved_match(resource, RESERVED) is not None) is reserved


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("abc", "abc", True),
        ("a*", "*c", True),
        ("a*b", "*c", False),
        ("a?c", "a*", True),
        ("role/x*", "role/portal/*", False),
        ("*", "", True),
        ("?", "", False),
        ("a*b*c", "*x*", True),
        ("a" * 3000, "a*", True),  # long ARNs: no recursion limit
    ],
)
def test_patterns_overlap(a, b, overlap):
    assert patterns_overlap(a, b) is overlap
    assert patterns_overlap(b, a) is overlap
