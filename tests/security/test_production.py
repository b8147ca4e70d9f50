"""Production settings, in subprocesses as a deployment runs them: `check --deploy` is clean, a
missing secret stops the boot, and the demo users (published passwords) stop it too."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.management.commands.seed_demo import demo_database_seed
from tests.support import ROOT

REQUIRED = [
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "PORTAL_BASE_URL",
]


def _production_env(**overrides: str | None) -> dict[str, str]:
    database = settings.DATABASES["default"]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PORTAL_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "portal.example.com",
        # The test database: the demo-user checks look into it.
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "PORTAL_BASE_URL": "https://portal.example.com",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


BOOT = "from django.core.wsgi import get_wsgi_application; get_wsgi_application(); print('booted')"


@pytest.mark.django_db(transaction=True)
def test_check_deploy_is_clean_with_the_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    booted = _run(["-c", BOOT], _production_env())
    assert booted.returncode == 0 and "booted" in booted.stdout, booted.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_each_secret(missing):
    result = _run(["-c", BOOT], _production_env(**{missing: None}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {missing} environment variable" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_production_refuses_to_start_while_demo_users_exist(settings):
    """The seed commits (transactional test): the subprocesses see alice, bob, carol and admin,
    with their passwords hashed as production hashes them (the tests' MD5 hasher is not there)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    demo_database_seed()
    check = _run(["manage.py", "check", "--deploy"], _production_env())
    assert check.returncode != 0
    assert "portal.E001" in check.stderr and "admin, alice, bob, carol" in check.stderr
    boot = _run(["-c", BOOT], _production_env())
    assert boot.returncode != 0
    assert "Refusing to start: demo users with published passwords exist" in boot.stderr
    # With new passwords they are ordinary users, and production starts.
    for user in get_user_model().objects.all():
        user.set_password(secrets.token_urlsafe(20))
        user.save()
    assert _run(["manage.py", "check", "--deploy"], _production_env()).returncode == 0
    assert _run(["-c", BOOT], _production_env()).returncode == 0


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_refused_in_production():
    result = _run(["manage.py", "seed_demo", "--skip-aws"], _production_env())
    assert result.returncode != 0
    assert "PORTAL_DEMO_ALLOWED is false" in result.stderr
    assert not get_user_model().objects.filter(username="alice").exists()


def test_seed_demo_is_refused_wherever_the_demo_is_not_allowed(db, settings):
    settings.PORTAL_DEMO_ALLOWED = False
    with pytest.raises(CommandError, match="published passwords"):
        call_command("seed_demo", "--skip-aws")
    assert not get_user_model().objects.exists()
