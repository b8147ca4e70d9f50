"""Schemathesis against the live API with a token: every operation, valid and invalid input, no 5xx
and every answer as the schema says."""

import contextlib
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api.conftest import api_for
from tests.factories import submitted

STATUSES = []
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}


@pytest.mark.django_db(transaction=True)
def test_the_live_api_has_no_server_errors_and_matches_its_schema(live_server, demo):
    access_request = submitted(demo)
    api_for(demo.bob).post(f"/api/v1/requests/{access_request.pk}/approve/")
    submitted(demo)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    problems: list[str] = []
    calls = 0
    statuses: Counter[int] = Counter()

    def exercise(operation, mode: GenerationMode, examples: int) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            nonlocal calls
            calls += 1
            # A fresh token when a generated call revoked the last one, so calls stay authenticated.
            token, _ = Token.objects.get_or_create(user=demo.alice)
            headers = {"Authorization": f"Token {token.key}"}
            response = case.call(base_url=live_server.url, headers=headers)
            statuses[response.status_code] += 1
            try:
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
            except Exception as failure:  # noqa: BLE001 - collected and reported below
                problems.append(
                    f"{operation.label} ({mode.value}): {response.status_code} "
                    f"{response.text[:300]!r}: {str(failure)[:600]}"
                )

        # Unsatisfiable: no invalid input exists for an operation without parameters or body.
        with contextlib.suppress(Unsatisfiable):
            run()

    for operation in [result.ok() for result in schema.get_all_operations()]:
        for mode, examples in EXAMPLES.items():
            exercise(operation, mode, examples)

    import collections

    print(collections.Counter(STATUSES))
    assert calls > 100
    # The generated calls reach the views, not only the authentication and routing in front.
    assert statuses[200] + statuses[201] > 20 and statuses[400] > 20, statuses
    assert problems == [], "\n".join(problems[:20])
