import os
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from accounts.management.commands.seed_demo import demo_database_seed
from accounts.models import Account
from tests.support import Emulator, Worker, queue_settled, redis_queue_clear

ORGANIZATIONS_READER_ARN = "arn:aws:iam::100000000000:role/PortalOrganizationsReader"

# The session's one Chromium (`browser`), for the browser tests and the security tests alike.
pytest_plugins = ["tests.chromium"]

# Tests never reach real AWS: the emulator takes any key, and these keep boto3 off ~/.aws.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
)


@pytest.fixture(scope="session")
def emulator():
    """One moto server over HTTP for the session, seeded with the demo world's AWS side."""
    from aws.demo_world import demo_world_seed

    server = Emulator()
    previous = settings.AWS_ENDPOINT_URL
    settings.AWS_ENDPOINT_URL = server.url
    demo_world_seed()
    yield server
    settings.AWS_ENDPOINT_URL = previous
    server.stop()


@pytest.fixture
def demo(db):
    """The demo world's accounts and users in the test database."""
    demo_database_seed()
    users = {user.username: user for user in get_user_model().objects.all()}
    accounts = {account.name: account for account in Account.objects.all()}
    return SimpleNamespace(**users, **accounts)


@pytest.fixture
def aws_demo(emulator, demo):
    return demo


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port; the worker sends its mail here."""
    from tests.notifications.sinks import SmtpSink

    server = SmtpSink()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slack_standin():
    """A local stand-in for Slack's Web API for the session; the worker posts to it."""
    from tests.slack_standin import SlackStandIn

    server = SlackStandIn()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def worker_env(emulator, django_db_setup, smtp_server, slack_standin):
    database = settings.DATABASES["default"]
    redis_queue_clear(settings.CELERY_BROKER_URL, settings.CELERY_TASK_DEFAULT_QUEUE)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "TEST_REDIS_URL": settings.CELERY_BROKER_URL,
        "PORTAL_TASK_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "AWS_ENDPOINT_URL": emulator.url,
        # The demo organization's reader, as `make run` sets it (the accounts sync reads it).
        "PORTAL_ORGANIZATIONS_ROLE_ARN": ORGANIZATIONS_READER_ARN,
        # Short, so a message of a SIGKILLed worker comes back within the test; every retry
        # countdown stays below a quarter of it.
        "PORTAL_BROKER_VISIBILITY_TIMEOUT": "8",
        "PORTAL_BROKER_RESTORE_INTERVAL": "1",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DJANGO_EMAIL_HOST": "127.0.0.1",
        "DJANGO_EMAIL_PORT": str(smtp_server.port),
        # Slack set up, its Web API at the local stand-in (demo accounts name no Slack channel
        # and demo users no Slack id, so only the Slack tests' requests post anything).
        "PORTAL_SLACK_API_URL": slack_standin.url,
        "PORTAL_SLACK_BOT_TOKEN": slack_standin.token,
    }


@pytest.fixture(scope="session")
def celery_worker_process(worker_env):
    """A real Celery worker on the real Redis for the whole session."""
    process = Worker(worker_env).start()
    yield process
    process.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    """Tests with a worker commit their data, so the worker's own connection sees it."""
    if celery_worker_process.process.poll() is not None:
        celery_worker_process.start()
    yield celery_worker_process
    # The test's last tasks finish before its tables are emptied: a TRUNCATE beside a running
    # task deadlocks.
    queue_settled(settings.CELERY_BROKER_URL, settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture(autouse=True)
def lookups_forgotten():
    """Each test starts with the minute-long lookup caches of the request form empty (a bucket's
    owner proven, an account's facts, the policies a simulation read): what an earlier test's
    world proved is no proof here."""
    from access_requests import facts, ownership
    from provisioning import live_policies

    facts._cache.clear()
    ownership._proven.clear()
    live_policies.forget()
