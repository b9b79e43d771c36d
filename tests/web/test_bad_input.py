"""Malformed input is a 4xx in the error shape, never a 500."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_malformed_json(client, admin_headers):
    response = client.post(
        "/api/org/users", headers={**admin_headers, "content-type": "application/json"}, content=b'{"username": "x",'
    )
    _assert_error_shape(response, 400, "malformed_json")


def test_wrong_types(client, admin_headers):
    response = client.post("/api/org/users", headers=admin_headers, json={"username": ["x"], "display_name": 5})
    error = _assert_error_shape(response, 422, "validation_failed")
    assert {tuple(d["loc"][-1:]) for d in error["details"]} >= {("username",), ("display_name",)}


def test_unknown_fields_are_refused(client, admin_headers):
    response = client.post(
        "/api/org/departments",
        headers=admin_headers,
        json={"code": "X_Y", "short_name": "x", "full_name": "x", "colour": "red"},
    )
    error = _assert_error_shape(response, 422, "validation_failed")
    assert any(d["type"] == "extra_forbidden" and d["loc"][-1] == "colour" for d in error["details"])


def test_oversized_json_body(client, admin_headers, runtime):
    limit = runtime.settings.max_json_bytes
    response = client.post(
        "/api/org/users",
        headers={**admin_headers, "content-type": "application/json"},
        content=b'{"username": "' + b"x" * (limit + 10) + b'"}',
    )
    _assert_error_shape(response, 413, "payload_too_large")


def test_oversized_body_without_content_length(client, admin_headers, runtime):
    limit = runtime.settings.max_json_bytes

    def chunks():
        yield b'{"username": "'
        for _ in range(limit // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    response = client.post(
        "/api/org/users", headers={**admin_headers, "content-type": "application/json"}, content=chunks()
    )
    _assert_error_shape(response, 413, "payload_too_large")


def test_bad_query_parameters(client, admin_headers):
    _assert_error_shape(client.get("/api/org/users", headers=admin_headers, params={"page": "zero"}), 422)
    _assert_error_shape(client.get("/api/org/users", headers=admin_headers, params={"size": 100000}), 422)
    _assert_error_shape(client.get("/api/org/users/not-a-number", headers=admin_headers), 422)


def test_unknown_route_and_method(client, admin_headers):
    _assert_error_shape(client.get("/api/nothing-here", headers=admin_headers), 404, "not_found")
    _assert_error_shape(client.delete("/api/auth/token"), 405, "method_not_allowed")


def test_bad_bearer_and_basic_headers(client):
    _assert_error_shape(client.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"}), 401, "invalid_token")
    _assert_error_shape(client.get("/api/auth/me", headers={"Authorization": "Basic !!!"}), 401)


@pytest.mark.parametrize("path", ["/api/org/users", "/api/org/departments", "/api/org/divisions"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    payload=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=8,
    )
)
def test_random_json_never_causes_a_server_error(client, admin_headers, path, payload):
    response = client.post(path, headers=admin_headers, json=payload)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


def test_error_pages_for_people_are_readable(client):
    response = client.get("/no/such/page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "页面不存在" in response.text and "<html" in response.text
