"""ACL grants: revoke removes every grant entry the portal wrote, in-process against the emulator.

The hole this closes: a grant whose ACL entry was already on the object when it was first written
(someone else's, left alone at revoke) kept that mark after the entry went away and the portal
wrote it itself (a re-apply of the drifted grant): the revoke then skipped the entry the portal had
written, and the source account kept the access after the grant ended.
"""

import pytest

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from aws import emulator_client
from policy.acls import AclGrant, grant_headers
from provisioning import drift, services
from provisioning.models import Grant
from tests.factories import submitted

DATA = "999999999999"
ANALYST = "arn:aws:iam::111111111111:role/DataAnalyst"
KEY = "incoming/from-dev.csv"


def _s3():
    return emulator_client("s3", account_id=DATA, region="eu-central-1")


def _status(grant: Grant) -> str:
    return AccessRequest.objects.get(pk=grant.access_request_id).status


def _object_acl() -> dict:
    answer = _s3().get_object_acl(Bucket="mybucket", Key=KEY)
    return {"Owner": answer["Owner"], "Grants": answer["Grants"]}


def _reads(acl: dict, canonical: str) -> bool:
    return any(
        g["Permission"] == "READ" and g["Grantee"].get("ID") == canonical for g in acl["Grants"]
    )


def _acl_put(acl: dict) -> None:
    """The emulator ignores an AccessControlPolicy body: the grants go in the x-amz-grant-*
    headers, as the portal writes them."""
    grants = [
        AclGrant("CanonicalUser", grant["Grantee"]["ID"], grant["Permission"])
        for grant in acl["Grants"]
    ]
    _s3().put_object_acl(Bucket="mybucket", Key=KEY, **grant_headers(grants))


@pytest.fixture
def object_acl_restored(aws_demo):
    before = _object_acl()
    yield before
    _acl_put(before)


def test_an_acl_entry_the_portal_wrote_on_re_apply_is_removed_at_revoke(
    aws_demo, object_acl_restored
):
    canonical = emulator_client("s3", account_id="111111111111").list_buckets()["Owner"]["ID"]
    before = object_acl_restored
    # The bucket owner's own READ grant to the source account, there before the request.
    theirs = {"Grantee": {"Type": "CanonicalUser", "ID": canonical}, "Permission": "READ"}
    _acl_put({**before, "Grants": [*before["Grants"], theirs]})
    access_request = submitted(
        aws_demo,
        access_via="own_identity",
        source_principal=ANALYST,
        actions=["s3:GetObject"],
        resources=[f"arn:aws:s3:::mybucket/{KEY}"],
        mechanism="acl",
        justification="ACL revocation",
    )
    access_request_approve(access_request=access_request, approver=aws_demo.bob)
    grant = Grant.objects.get(access_request=access_request)
    services.grant_provision(grant_id=grant.pk)
    assert _status(grant) == "active", grant.last_error
    grant.refresh_from_db()
    assert grant.acl_grants[0]["already_present"] is True

    # The owner withdraws their grant; the portal's grant has drifted, and is re-applied: now the
    # entry on the object is the portal's.
    _acl_put(before)
    assert drift.grant_drift_check(grant_id=grant.pk)
    drift.grant_reapply(grant_id=grant.pk)
    assert _reads(_object_acl(), canonical)

    services.grant_revoke_request(grant=grant, user=aws_demo.alice)
    services.grant_revoke(grant_id=grant.pk)
    assert _status(grant) == "revoked"
    assert not _reads(_object_acl(), canonical)
