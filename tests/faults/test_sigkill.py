"""SIGKILL the worker 20 times at random points while it provisions, then while it revokes, 20
grants of every mechanism: each ends active (then revoked) exactly once, and AWS holds no
duplicate role, inline policy, statement or ACL entry, and nothing half-written."""

import json
import os
import random
import signal
import time
from collections import Counter

import pytest
from django.db.models import Sum

from access_requests.models import AccessRequest
from access_requests.services import access_request_approve
from audit.models import AuditEvent
from provisioning.models import Grant
from provisioning.services import grant_revoke_request
from tests.factories import submitted
from tests.faults.conftest import ANALYST, iam, s3
from tests.support import SlowProxy, wait_until

KILLS = 20
GRANTS = 20
SEED = 20261129
ACL_PREFIX = "faults/acl"


def _submit(demo, index: int) -> AccessRequest:
    """A bucket-policy statement every fourth request, an object ACL every fourth, else a role."""
    fields: dict[str, object] = {"justification": f"SIGKILL test {index}"}
    if index % 4 == 2:
        fields |= {
            "access_via": "own_identity",
            "source_principal": ANALYST,
            "actions": ["s3:GetObject"],
            "resources": [f"arn:aws:s3:::mybucket/faults/res-{index}/*"],
        }
    elif index % 4 == 3:
        fields |= {
            "access_via": "own_identity",
            "source_principal": ANALYST,
            "mechanism": "acl",
            "actions": ["s3:GetObject"],
            "resources": [f"arn:aws:s3:::mybucket/{ACL_PREFIX}-{index}.csv"],
        }
    else:
        fields |= {"actions": ["dynamodb:GetItem", "dynamodb:Query"]}
    return submitted(demo, **fields)


def _bucket_statements() -> list[dict]:
    return json.loads(s3().get_bucket_policy(Bucket="mybucket")["Policy"])["Statement"]


def _acl(index: int) -> list[str]:
    grants = s3().get_object_acl(Bucket="mybucket", Key=f"{ACL_PREFIX}-{index}.csv")["Grants"]
    return sorted(json.dumps(g, sort_keys=True) for g in grants)


def _aws_state(requests: list[AccessRequest]) -> dict:
    """What AWS holds of these requests: names and Sids with how often each appears."""
    target, source = iam("999999999999"), iam("111111111111")
    roles = Counter(r["RoleName"] for r in target.list_roles(PathPrefix="/portal/")["Roles"])
    return {
        "roles": roles,
        "role_policies": {
            name: target.list_role_policies(RoleName=name)["PolicyNames"] for name in roles
        },
        "broker": Counter(source.list_role_policies(RoleName="PortalBroker")["PolicyNames"]),
        "analyst": Counter(source.list_role_policies(RoleName="DataAnalyst")["PolicyNames"]),
        "sids": Counter(s.get("Sid") for s in _bucket_statements()),
        "acls": {r.pk: _acl(i) for i, r in enumerate(requests) if i % 4 == 3},
    }


def _kill_at_random_points(victim, proxy, rng: random.Random, done) -> tuple[int, int, int]:
    """Up to KILLS kills, each at a random delay after the worker was seen talking to AWS.
    Returns (kills, of which whole-worker kills, of which landed while an AWS call was held)."""
    kills = whole = mid_call = 0
    while kills < KILLS and not done():
        seen = proxy.chunks
        try:
            wait_until(lambda s=seen: proxy.chunks > s or done(), timeout=30, what="AWS calls")
        except TimeoutError:
            break
        if done():
            break
        time.sleep(rng.uniform(0.0, 0.5))
        mid_call += time.monotonic() - proxy.last_chunk < proxy.delay
        if rng.random() < 0.15:
            victim.kill()  # the whole worker: its message comes back after the visibility timeout
            victim.start()
            whole += 1
        else:
            for pid in victim.children():  # the pool process: the message is rejected back at once
                os.kill(pid, signal.SIGKILL)
        kills += 1
    return kills, whole, mid_call


def _final(requests: list[AccessRequest], wanted: str) -> bool:
    ids = [r.pk for r in requests]
    return AccessRequest.objects.filter(pk__in=ids, status=wanted).count() == len(ids)


def _check(phase: str, requests, before, before_statements, acls_before) -> int:
    """Assert AWS holds each grant exactly once (or nothing of it); return the duplicates seen."""
    names = {f"portal-access-{r.pk}" for r in requests}
    roles = {f"portal-access-{r.pk}" for i, r in enumerate(requests) if i % 4 in (0, 1)}
    analyst = names - roles
    sids = {f"PortalAccess{r.pk}" for i, r in enumerate(requests) if i % 4 == 2}
    after = _aws_state(requests)
    # Nothing else was touched.
    assert after["roles"] - Counter(roles) == before["roles"]
    assert after["broker"] - Counter(roles) == before["broker"]
    assert after["analyst"] - Counter(analyst) == before["analyst"]
    assert [s for s in _bucket_statements() if s.get("Sid") not in sids] == before_statements
    verb = "grant.activated" if phase == "provisioning" else "grant.revoked"
    events = Counter(
        AuditEvent.objects.filter(access_request__in=requests, verb=verb).values_list(
            "access_request_id", flat=True
        )
    )
    assert events == Counter({r.pk: 1 for r in requests})
    if phase == "provisioning":
        # Every grant whole: its role with exactly its permission policy, its identity policy,
        # its statement, its ACL entry; each once.
        assert {n: after["roles"][n] for n in roles} == dict.fromkeys(roles, 1)
        assert all(after["role_policies"][n] == [n] for n in roles)
        assert {n: after["broker"][n] for n in roles} == dict.fromkeys(roles, 1)
        assert {n: after["analyst"][n] for n in analyst} == dict.fromkeys(analyst, 1)
        assert {s: after["sids"][s] for s in sids} == dict.fromkeys(sids, 1)
        for access_request_id, grants in after["acls"].items():
            added = Counter(grants) - Counter(acls_before[access_request_id])
            assert len(added) == 1 and max(added.values()) == 1, grants
    else:
        # Nothing left behind: no role, identity policy, statement or ACL entry.
        assert not roles & set(after["roles"])
        assert not names & (set(after["broker"]) | set(after["analyst"]))
        assert not sids & set(after["sids"])
        assert after["acls"] == acls_before
    assert max(after["sids"].values()) == 1
    return sum(
        count - 1
        for counter in (after["roles"], after["broker"], after["analyst"], after["sids"])
        for count in counter.values()
    ) + sum(len(g) - len(set(g)) for g in after["acls"].values())


@pytest.mark.django_db(transaction=True)
def test_sigkill_at_random_points_while_provisioning_then_revoking(
    aws_demo, workers, emulator, capsys
):
    rng = random.Random(SEED)
    acl_keys = [f"{ACL_PREFIX}-{index}.csv" for index in range(3, GRANTS, 4)]
    for key in acl_keys:
        s3("111111111111").put_object(Bucket="mybucket", Key=key, Body=b"id,value\n1,2\n")
    before = _aws_state([])
    bucket_policy = s3().get_bucket_policy(Bucket="mybucket")["Policy"]
    before_statements = _bucket_statements()
    requests = [_submit(aws_demo, index) for index in range(GRANTS)]
    acls_before = {r.pk: _acl(i) for i, r in enumerate(requests) if i % 4 == 3}
    proxy = SlowProxy(emulator.port, delay=0.05)
    figures = []
    try:
        victim = workers("faults-kill", AWS_ENDPOINT_URL=proxy.url)
        for access_request in requests:
            access_request_approve(access_request=access_request, approver=aws_demo.bob)
        kills = _kill_at_random_points(victim, proxy, rng, lambda: _final(requests, "active"))
        wait_until(lambda: _final(requests, "active"), timeout=120, what="every grant active")
        duplicates = _check("provisioning", requests, before, before_statements, acls_before)
        attempts = Grant.objects.filter(access_request__in=requests).aggregate(n=Sum("attempts"))
        figures.append(("provisioning", "active", kills, duplicates, attempts["n"] - GRANTS))

        for access_request in requests:
            grant_revoke_request(grant=access_request.grant, user=aws_demo.alice)
        kills = _kill_at_random_points(victim, proxy, rng, lambda: _final(requests, "revoked"))
        wait_until(lambda: _final(requests, "revoked"), timeout=120, what="every revoke")
        duplicates = _check("revocation", requests, before, before_statements, acls_before)
        figures.append(("revocation", "revoked", kills, duplicates, None))
    finally:
        proxy.stop()
        # The emulator is shared with later tests: leave mybucket as it was, even on a failure.
        s3().put_bucket_policy(Bucket="mybucket", Policy=bucket_policy)
        for key in acl_keys:
            s3().delete_object(Bucket="mybucket", Key=key)
        with capsys.disabled():
            for phase, end, (killed, whole, mid_call), duplicates, reruns in figures:
                print(
                    f"\nSIGKILL during {phase}: {killed}/{KILLS} kills ({whole} whole worker, "
                    f"{killed - whole} pool process; {mid_call} while an AWS call was held), "
                    f"{GRANTS}/{GRANTS} grants {end} exactly once, 0 lost, {duplicates} "
                    "duplicates, nothing half-written"
                    + (f" ({reruns} provisioning re-runs)" if reruns is not None else "")
                )
    assert [f[2][0] for f in figures] == [KILLS, KILLS]
