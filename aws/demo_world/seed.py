"""Bring the emulator to the demo world, one step at a time, with a line per step."""

from collections.abc import Callable
from typing import Any

from django.conf import settings

from aws import AwsError
from aws.demo_world.client import DemoWorldError, demo_client
from aws.demo_world.organization import (
    MANAGEMENT_ACCOUNT,
    ORGANIZATIONS_READER_ROLE,
    organization_ensure,
    organizations_reader_ensure,
)
from aws.demo_world.policies import (
    ANALYST_ROLE,
    BROKER_ROLE,
    DEMO_ACCOUNTS,
    PROVISIONER_POLICY,
    PROVISIONER_ROLE,
    own_account_trust_policy,
    provisioner_policy,
    tooling_trust_policy,
)
from aws.demo_world.resources import (
    AUDITORS_STATEMENT,
    FOREIGN_OBJECT,
    bucket_ensure,
    bucket_statement_ensure,
    foreign_object_ensure,
    key_ensure,
    managed_policy_ensure,
    queue_ensure,
    role_ensure,
    secret_ensure,
    table_ensure,
    topic_ensure,
)
from policy.boundary import BOUNDARY_NAME, boundary_policy


def _run(label: str, step: Callable[..., str], *args: Any, **kwargs: Any) -> str:
    """One seeding step as a summary line; a failure names the step."""
    try:
        return f"{label}: {step(*args, **kwargs)}"
    except DemoWorldError:
        raise
    except AwsError as error:
        raise DemoWorldError(f"{label}: {error}") from error
    except Exception as error:  # the emulator is down or answered something unexpected
        raise DemoWorldError(f"{label}: {type(error).__name__}: {error}") from error


def demo_world_seed() -> list[str]:
    """Bring the emulator to the demo world; one summary line per thing seeded."""
    if not settings.AWS_ENDPOINT_URL:
        raise DemoWorldError("AWS_ENDPOINT_URL is unset: the demo world is only for the emulator.")
    demo_client.cache_clear()
    trust = tooling_trust_policy()
    lines: list[str] = []
    path = settings.PORTAL_ROLE_PATH
    for account in DEMO_ACCOUNTS:
        acct = account.account_id
        broker = BROKER_ROLE if account.broker else ""
        policies = {PROVISIONER_POLICY: provisioner_policy(acct, broker_role=broker)}
        lines.append(
            _run(
                f"{acct} policy {path}{BOUNDARY_NAME}",
                managed_policy_ensure,
                acct,
                name=BOUNDARY_NAME,
                path=path,
                document=boundary_policy(path=path),
                description="Access portal: the permissions boundary of every role it creates",
            )
        )
        lines.append(
            _run(
                f"{acct} role {PROVISIONER_ROLE}",
                role_ensure,
                acct,
                role_name=PROVISIONER_ROLE,
                trust_policy=trust,
                description="Access portal: writes cross-account roles and their policies",
                inline_policies=policies,
            )
        )
        if broker:
            lines.append(
                _run(
                    f"{acct} role {broker}",
                    role_ensure,
                    acct,
                    role_name=broker,
                    trust_policy=trust,
                    description="Access portal: vends sessions to developers (role chaining)",
                    max_session_duration=3600,
                )
            )
            lines.append(
                _run(
                    f"{acct} role {ANALYST_ROLE}",
                    role_ensure,
                    acct,
                    role_name=ANALYST_ROLE,
                    trust_policy=own_account_trust_policy(acct),
                    description="Engineers' own role in the source account (own identity)",
                )
            )
        for name, items in account.tables.items():
            lines.append(_run(f"{acct} table {name}", table_ensure, acct, name=name, items=items))
        for name, objects in account.buckets.items():
            lines.append(
                _run(f"{acct} bucket {name}", bucket_ensure, acct, name=name, objects=objects)
            )
        for name in account.queues:
            lines.append(_run(f"{acct} queue {name}", queue_ensure, acct, name=name))
        for name in account.topics:
            lines.append(_run(f"{acct} topic {name}", topic_ensure, acct, name=name))
        for alias in account.key_aliases:
            lines.append(_run(f"{acct} key {alias}", key_ensure, acct, alias=alias))
        for name, value in account.secrets.items():
            lines.append(_run(f"{acct} secret {name}", secret_ensure, acct, name=name, value=value))
    lines.append(_run(f"{MANAGEMENT_ACCOUNT} organization", organization_ensure))
    lines.append(
        _run(
            f"{MANAGEMENT_ACCOUNT} role {ORGANIZATIONS_READER_ROLE}",
            organizations_reader_ensure,
        )
    )
    label = "{uploader} object s3://{bucket}/{key}".format(**FOREIGN_OBJECT)
    lines.append(_run(label, foreign_object_ensure, **FOREIGN_OBJECT))
    lines.append(
        _run(
            "999999999999 bucket policy mybucket",
            bucket_statement_ensure,
            "999999999999",
            bucket="mybucket",
            statement=AUDITORS_STATEMENT,
        )
    )
    return lines
