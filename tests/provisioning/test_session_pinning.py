"""A portal session's role is for its requester alone, proven with the portal's evaluator on the
documents a request stores: its trust policy names the source account's broker role, not the
account root, and requires sts:SourceIdentity to be the requester's name, which the broker sets
and nobody can change later in the session.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
"""

from django.contrib.auth.models import User

from policy import builders
from policy.evaluation import ALLOWED, PolicySet, RequestContext, evaluate
from provisioning.sessions import session_name_for
from tests.factories import submitted

DEV = "111111111111"
BROKER_SESSION = f"arn:aws:sts::{DEV}:assumed-role/PortalBroker/access-portal-broker"
ADMIN_SESSION = f"arn:aws:sts::{DEV}:assumed-role/Administrator/mallory"
# A source-account administrator: sts:AssumeRole (and the session attributes) on everything.
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "Resource": "*",
        }
    ],
}


def _assume(documents, *, principal, identity, action="sts:AssumeRole", **context):
    """`principal` calling `action` on the granted role: its identity policy on the source side,
    the role's trust policy as the resource policy on the target side."""
    role_arn = documents["source_identity_policy"]["document"]["Statement"][0]["Resource"]
    return evaluate(
        RequestContext(
            principal=principal,
            action=action,
            resource=role_arn,
            resource_account=role_arn.split(":")[4],
            context=context,
        ),
        PolicySet(identity=[identity], resource=documents["trust_policy"]["document"]),
    )


def test_a_source_account_admin_can_no_longer_assume_a_session_role(demo):
    documents = submitted(demo).documents
    # The hole: the trust policy used to name the source account root.
    old = dict(documents)
    old["trust_policy"] = {
        "document": builders.trust_policy(principal=f"arn:aws:iam::{DEV}:root"),
    }
    assert _assume(old, principal=ADMIN_SESSION, identity=ADMIN_POLICY).decision == ALLOWED

    for context in ({}, {"sts:SourceIdentity": "alice"}, {"sts:SourceIdentity": "mallory"}):
        verdict = _assume(documents, principal=ADMIN_SESSION, identity=ADMIN_POLICY, **context)
        assert verdict.decision != ALLOWED, context
        assert verdict.layer("resource").verdict != ALLOWED


def test_the_broker_assumes_it_for_the_requester_only(demo):
    documents = submitted(demo).documents
    broker_policy = documents["source_identity_policy"]["document"]
    for action in ("sts:AssumeRole", "sts:SetSourceIdentity"):
        alice = _assume(
            documents,
            principal=BROKER_SESSION,
            identity=broker_policy,
            action=action,
            **{"sts:SourceIdentity": "alice"},
        )
        assert alice.decision == ALLOWED, alice.explanation
        mallory = _assume(
            documents,
            principal=BROKER_SESSION,
            identity=broker_policy,
            action=action,
            **{"sts:SourceIdentity": "mallory"},
        )
        assert mallory.decision != ALLOWED
    # Without a source identity at all: refused too.
    assert _assume(documents, principal=BROKER_SESSION, identity=broker_policy).decision != ALLOWED


def test_the_trust_policy_requires_exactly_the_name_the_broker_sets(demo):
    """The condition's value is session_name_for(requester), what session_start passes as
    SourceIdentity, also for a name STS would not take as it is."""
    zoe = User.objects.create_user("zoë o'brien", password="-")
    zoe.groups.add(*demo.alice.groups.all())
    documents = submitted(demo, requester=zoe).documents
    condition = documents["trust_policy"]["document"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"sts:SourceIdentity": session_name_for(zoe)}}
    assert session_name_for(zoe) == f"zo--o-brien-{zoe.pk}"
    allowed = _assume(
        documents,
        principal=BROKER_SESSION,
        identity=documents["source_identity_policy"]["document"],
        **{"sts:SourceIdentity": session_name_for(zoe)},
    )
    assert allowed.decision == ALLOWED


def test_own_identity_grants_keep_trusting_the_source_principal(demo):
    analyst = f"arn:aws:iam::{DEV}:role/DataAnalyst"
    access_request = submitted(
        demo,
        access_via="own_identity",
        source_principal=analyst,
        mechanism="assume_role",
    )
    trust = access_request.documents["trust_policy"]["document"]
    assert trust["Statement"][0]["Principal"] == {"AWS": analyst}
    assert "Condition" not in trust["Statement"][0]
    assert trust["Statement"][1]["Action"] == ["sts:SetSourceIdentity", "sts:TagSession"]


def test_own_identity_sessions_take_no_session_tags_but_the_portals(demo):
    """A session's tags are its principal tags, and a session tag overrides the role's tag of the
    same key: with sts:TagSession open, the source principal could give the grant's sessions any
    aws:PrincipalTag, which attribute-based policies in the target account allow on (the role
    writer refuses any tag on the role but the portal's for that very reason). Only the portal's
    requester key may be passed; SetSourceIdentity and a plain AssumeRole still work."""
    analyst = f"arn:aws:iam::{DEV}:role/DataAnalyst"
    analyst_session = f"arn:aws:sts::{DEV}:assumed-role/DataAnalyst/mallory"
    documents = submitted(
        demo, access_via="own_identity", source_principal=analyst, mechanism="assume_role"
    ).documents
    for tags in ({"team": "platform"}, {"portal:requester": "bob", "team": "platform"}):
        verdict = _assume(
            documents,
            principal=analyst_session,
            identity=ADMIN_POLICY,
            action="sts:TagSession",
            **{"aws:TagKeys": list(tags), **{f"aws:RequestTag/{k}": v for k, v in tags.items()}},
        )
        assert verdict.decision != ALLOWED, tags
    requester_tag = _assume(
        documents,
        principal=analyst_session,
        identity=ADMIN_POLICY,
        action="sts:TagSession",
        **{"aws:TagKeys": ["portal:requester"], "aws:RequestTag/portal:requester": "alice"},
    )
    assert requester_tag.decision == ALLOWED, requester_tag.explanation
    for action in ("sts:AssumeRole", "sts:SetSourceIdentity"):
        verdict = _assume(
            documents, principal=analyst_session, identity=ADMIN_POLICY, action=action
        )
        assert verdict.decision == ALLOWED, verdict.explanation
