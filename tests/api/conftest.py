import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import TABLE_ARN

SUBMIT = {
    "source_account": "111111111111",
    "target_account": "999999999999",
    "actions": ["dynamodb:GetItem"],
    "resources": [TABLE_ARN],
    "duration": 3600,
    "justification": "Read MyTable for the report",
}


@pytest.fixture(autouse=True)
def api_cache():
    """The rate limits count in Redis (the test database of it), under a key prefix of this test
    alone: one test's requests never use up another's allowance, and nothing is flushed."""
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"portal-test-{uuid.uuid4().hex}",
        }
    }
    with override_settings(CACHES=caches):
        yield


def api_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def stranger(demo):
    """The demo's dave: an engineer in no group, who approves nothing and has asked for
    nothing."""
    return demo.dave


@pytest.fixture
def vendor_approver(demo):
    """An approver of another account (the vendor's), not of 999999999999."""
    user = get_user_model().objects.create_user("erin", password="erin-test-pw")
    group = Group.objects.create(name="vendor-approvers")
    user.groups.add(group)
    demo.vendor.approver_group = group
    demo.vendor.save(update_fields=["approver_group"])
    return user
