"""One emulator client per service and account for a seeding run, and its error type."""

from functools import cache
from typing import Any

from aws import emulator_client
from aws.demo_world.policies import DEMO_REGION


class DemoWorldError(Exception):
    """The emulator cannot be brought to the demo world (e.g. a name taken by another account)."""


@cache
def demo_client(service: str, account_id: str) -> Any:
    """One client per service and account for the whole seeding run (each costs ~100 ms)."""
    return emulator_client(service, account_id=account_id, region=DEMO_REGION)


def error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")
