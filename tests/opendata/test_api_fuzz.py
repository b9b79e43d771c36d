"""Schemathesis generates requests for the data-foundation APIs from the OpenAPI schema: none may end
in a server error (writes that publish, ingest or change limits are exercised by the other tests)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import token_for

FUZZED = r"^/api/(catalog|governance|exchange|opendata|3/action)/"
EXCLUDED = r"(/upload|/jobs$|/import$|/rows$|/limits/)"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    selected = schema.include(path_regex=FUZZED).exclude(path_regex=EXCLUDED)
    return [result.ok() for result in selected.get_all_operations()]


def test_generated_requests_never_cause_a_server_error(client, operations):
    assert len(operations) > 20
    token = token_for(client, "admin")
    for operation in operations:

        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                body = response.content[:300].decode("utf-8", "replace")
                raise AssertionError(f"{case.method} {case.formatted_path} -> {response.status_code}: {body}")

        call()
