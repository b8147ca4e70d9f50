"""The drift sweep reads each account's roles in a few calls, however many grants it holds, finds
what the single check finds, and paces its calls to each account."""

import json
import time

import pytest

from audit.models import AuditEvent
from aws import emulator_client
from provisioning import drift, drift_sweep
from provisioning.models import Grant
from tests.provisioning.test_lifecycle import provisioned

WIDENED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
}


def iam(account_id: str):
    return emulator_client("iam", account_id=account_id, region="us-east-1")


def test_one_sweep_finds_each_grants_drift_in_four_calls(aws_demo, emulator):
    clean, widened, cut = (provisioned(aws_demo) for _ in range(3))
    target, source = iam("999999999999"), iam("111111111111")
    target.put_role_policy(
        RoleName=widened.role_name,
        PolicyName=widened.permission_policy_name,
        PolicyDocument=json.dumps(WIDENED),
    )
    target.tag_role(RoleName=widened.role_name, Tags=[{"Key": "portal:requester", "Value": "eve"}])
    source.delete_role_policy(RoleName=cut.source_role_name, PolicyName=cut.source_policy_name)

    result = drift_sweep.assume_role_grants_sweep()

    # ListRoles and GetAccountAuthorizationDetails in the target and the source account: the
    # same four calls for three grants as for three thousand (a page holds 1,000 roles).
    assert (result.grants, result.accounts, result.aws_calls, result.drifted) == (3, 2, 4, 2)
    found = {
        grant.pk: grant for grant in Grant.objects.filter(pk__in=[clean.pk, widened.pk, cut.pk])
    }
    assert found[clean.pk].drift == [] and found[clean.pk].drifted_at is None
    assert found[clean.pk].drift_checked_at is not None
    assert {d["what"] for d in found[widened.pk].drift} == {
        "permission policy",
        "tag portal:requester changed",
    }
    assert [d["what"] for d in found[cut.pk].drift] == ["source-side identity policy"]
    assert set(
        AuditEvent.objects.filter(verb="grant.drifted").values_list("object_id", flat=True)
    ) == {str(widened.pk), str(cut.pk)}

    # The single check (six calls a grant) sees the same.
    for grant in (clean, widened, cut):
        assert drift.grant_drift_check(grant_id=grant.pk) == found[grant.pk].drift

    # A second sweep records nothing new: the drift is already known.
    drift_sweep.assume_role_grants_sweep()
    assert AuditEvent.objects.filter(verb="grant.drifted").count() == 2


def test_a_repaired_grant_is_cleared_by_the_sweep(aws_demo, emulator):
    grant = provisioned(aws_demo)
    iam("999999999999").put_role_policy(
        RoleName=grant.role_name, PolicyName="added-by-hand", PolicyDocument=json.dumps(WIDENED)
    )
    drift_sweep.assume_role_grants_sweep()
    grant.refresh_from_db()
    assert grant.drifted_at is not None
    iam("999999999999").delete_role_policy(RoleName=grant.role_name, PolicyName="added-by-hand")
    drift_sweep.assume_role_grants_sweep()
    grant.refresh_from_db()
    assert grant.drifted_at is None and grant.drift == []
    assert AuditEvent.objects.filter(verb="grant.drift_cleared").count() == 1


def test_a_deleted_role_is_drift(aws_demo, emulator):
    grant = provisioned(aws_demo)
    target = iam("999999999999")
    target.delete_role_policy(RoleName=grant.role_name, PolicyName=grant.permission_policy_name)
    target.delete_role(RoleName=grant.role_name)
    drift_sweep.assume_role_grants_sweep()
    grant.refresh_from_db()
    assert grant.drift[0] == {
        "what": f"role {grant.role_name}",
        "expected": "present",
        "found": None,
    }


@pytest.mark.django_db
def test_calls_to_one_account_are_paced_and_other_accounts_do_not_wait():
    pace = drift_sweep.AccountPace(per_second=20)
    started = time.monotonic()
    for _ in range(5):
        pace.wait("999999999999")
    assert time.monotonic() - started >= 4 / 20
    other = time.monotonic()
    pace.wait("222222222222")
    assert pace.next_call["222222222222"] - other <= 1 / 20 + 0.05
