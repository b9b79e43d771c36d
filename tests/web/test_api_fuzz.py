"""Schemathesis generates requests from the OpenAPI schema: none may end in a server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import token_for

# Writes that would change the shared test accounts' roles or credentials are left out.
EXCLUDED = r"^/api/(auth/(password|revoke)|org/roles/.*/permissions)$"
FUZZED = r"^/api/"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def operations(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    selected = schema.include(path_regex=FUZZED).exclude(path_regex=EXCLUDED)
    return [result.ok() for result in selected.get_all_operations()]


def test_the_fuzzed_schema_covers_the_api(operations):
    labels = {op.label for op in operations}
    assert {"POST /api/org/users", "GET /api/audit/entries", "POST /api/auth/token"} <= labels


def test_generated_requests_never_cause_a_server_error(client, operations):
    token = token_for(client, "admin")
    for operation in operations:

        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            detail = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.content[:300]!r}"
            assert response.status_code < 500, detail
            if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                assert "error" in response.json(), detail

        call()
