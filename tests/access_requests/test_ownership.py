"""Every resource of a request belongs to its target account, proven.

The hole this closes: S3 ARNs name no account, so the check that a resource belongs to the target
account was skipped. alice asked for s3:GetObject on arn:aws:s3:::prod-reports/* (a prod bucket:
two approvals, 24 h at most) with target 999999999999 (data: one approval, 7 days), bob alone
approved, and the portal wrote the statement into prod's bucket policy with data's provisioner.
"""

import pytest
from django.utils import timezone

from access_requests.services import access_request_edit
from accounts.models import Resource
from core.errors import ServiceError
from tests.factories import submitted

PROD_REPORTS = "arn:aws:s3:::prod-reports/*"


def _inventoried(account, bucket: str) -> None:
    """The bucket in the account's inventory, as a sync of its bucket list leaves it."""
    Resource.objects.create(
        account=account,
        kind=Resource.Kind.S3_BUCKET,
        arn=f"arn:aws:s3:::{bucket}",
        name=bucket,
        seen_at=timezone.now(),
    )


def _read(demo, resource: str, **overrides):
    return submitted(
        demo,
        access_via="own_identity",
        actions=["s3:GetObject"],
        resources=[resource],
        **overrides,
    )


def test_another_accounts_bucket_known_to_the_inventory_is_refused_with_no_aws_call(demo):
    """The inventory (as a sync of prod's bucket list leaves it) names the owner; AWS is not
    reachable in this test, so the refusal can only come from there."""
    _inventoried(demo.prod, "prod-reports")
    with pytest.raises(ServiceError) as refused:
        _read(demo, PROD_REPORTS)
    [message] = refused.value.field_errors["resources"]
    assert "prod-reports belongs to account 222222222222, not to 999999999999" in message

    # With the right target it goes on to the usual checks.
    with_prod = _read(demo, PROD_REPORTS, target_account=demo.prod, duration=3600)
    assert with_prod.target_account == demo.prod


def test_a_bucket_the_inventory_has_not_seen_is_proven_from_the_targets_own_bucket_list(aws_demo):
    assert not Resource.objects.exists()
    with pytest.raises(ServiceError) as refused:
        _read(aws_demo, PROD_REPORTS)
    [message] = refused.value.field_errors["resources"]
    assert "prod-reports is not one of data's (999999999999) buckets" in message

    mine = _read(aws_demo, "arn:aws:s3:::mybucket/*")
    assert mine.mechanism == "resource_policy"


def test_an_edit_cannot_move_a_request_onto_another_accounts_bucket(demo):
    _inventoried(demo.prod, "prod-reports")
    _inventoried(demo.data, "mybucket")
    access_request = _read(demo, "arn:aws:s3:::mybucket/*")
    with pytest.raises(ServiceError) as refused:
        access_request_edit(
            access_request=access_request,
            user=demo.alice,
            access_via="own_identity",
            actions=["s3:GetObject"],
            resources=[PROD_REPORTS],
            duration=3600,
            justification="moved",
        )
    assert "belongs to account 222222222222" in refused.value.field_errors["resources"][0]
