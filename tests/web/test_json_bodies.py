"""Every JSON body the platform parses: a body that is not one acceptable JSON value is the caller's 400,
never a 500 — huge integers, NaN, invalid UTF-8, GBK, 100,000-deep nesting, empty, wrong top-level type.
"""

import re

import pytest

from tests.web.test_route_guard import _api_routes
from yiwang.core.jsonbody import MAX_DEPTH, MalformedJson, parse_json

DEEP = 100_000
BAD_BODIES = {
    "5001-digit integer": b'{"value": ' + b"7" * 5001 + b"}",
    "bare 5001-digit integer": b"7" * 5001,
    "NaN": b'{"value": NaN}',
    "Infinity": b"[Infinity, -Infinity]",
    "number beyond double range": b'{"value": 1e400}',
    "invalid UTF-8": b'{"name": "\xff\xfe\xfa"}',
    "GBK": '{"name": "常熟市虞山街道"}'.encode("gbk"),
    "lone surrogate": b'{"name": "\\ud800"}',
    "100k-deep arrays": b"[" * DEEP + b"]" * DEEP,
    "100k-deep objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "unclosed": b'{"name": ',
}
WRONG_TOP_LEVEL = {"string": b'"text"', "number": b"42", "null": b"null", "array": b"[1, 2]"}
EMPTY = {"empty": b"", "blank": b"  \n"}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_the_parser_refuses_bad_bodies_as_malformed_json(name):
    with pytest.raises(MalformedJson) as caught:
        parse_json(BAD_BODIES[name])
    assert caught.value.status_code == 400 and caught.value.code == "malformed_json"


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_the_parser_refuses_an_empty_body(name):
    with pytest.raises(MalformedJson):
        parse_json(EMPTY[name])


def test_the_parser_checks_the_top_level_type():
    for raw in WRONG_TOP_LEVEL.values():
        if raw != b"[1, 2]":
            with pytest.raises(MalformedJson):
                parse_json(raw, expect=(dict, list))
    with pytest.raises(MalformedJson, match="对象"):
        parse_json(b"[1, 2]", expect=dict)


def test_the_parser_reads_what_is_valid():
    assert parse_json(b'{"a": [1, 2.5, "\xe5\xb8\xb8\xe7\x86\x9f"]}') == {"a": [1, 2.5, "常熟"]}
    big = "9" * 400
    assert parse_json(f'{{"n": {big}}}'.encode()) == {"n": int(big)}  # beyond a double, within the digit limit
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json(nested) is not None
    with pytest.raises(MalformedJson):
        parse_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


# ---- every POST/PUT/PATCH route of the app -----------------------------------------------------

# Writes that would change the shared test accounts' credentials are left out, as in test_api_fuzz;
# so are mediated calls (`/x/…`), whose bodies belong to the provider's protocol and pass through
# unparsed (tests/exchange).
EXCLUDED = re.compile(r"^/api/auth/(password|revoke)$|^/logout$|^/x/")
PATH_PARAMETER = re.compile(r"{([^}:]+)(:[^}]+)?}")
SAMPLE_PATH_VALUES = {"fmt": "json", "action": "package_search", "path": "Observations"}


def _concrete(path: str) -> str:
    """A path with every parameter filled with a value that names no record (so nothing is changed)."""
    return PATH_PARAMETER.sub(lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "999999"), path)


def _write_routes(app) -> list[tuple[str, str]]:
    found = set()
    for route in _api_routes(app):
        for method in route.methods & {"POST", "PUT", "PATCH"}:
            if not EXCLUDED.match(route.path):
                found.add((method, _concrete(route.path)))
    return sorted(found)


def test_the_walk_sees_the_json_interfaces(app):
    paths = {path for _, path in _write_routes(app)}
    assert {"/api/org/users", "/sta/v1.1/Observations", "/api/3/action/package_search"} <= paths
    assert "/open311/v2/requests.json" in paths and len(paths) > 60


def test_no_bad_body_makes_any_write_route_fail_with_a_server_error(client, admin_headers):
    bodies = BAD_BODIES | WRONG_TOP_LEVEL | EMPTY
    failures = []
    for method, path in _write_routes(client.app):
        for name, raw in bodies.items():
            response = client.request(
                method, path, content=raw, headers={**admin_headers, "content-type": "application/json"}
            )
            if response.status_code >= 500:
                failures.append(f"{method} {path} [{name}] -> {response.status_code}: {response.text[:200]}")
            elif name in BAD_BODIES and response.status_code != 400:
                failures.append(f"{method} {path} [{name}] -> {response.status_code}, expected 400")
    assert failures == [], "\n".join(failures[:40])


def test_a_malformed_body_gets_the_platform_error_shape(client, admin_headers):
    response = client.post(
        "/api/org/users", content=BAD_BODIES["NaN"], headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert response.json()["error"]["message"]


def test_sensorthings_refuses_a_5000_digit_integer_with_400(client):
    """The reported case: `sta_api._json` caught only JSONDecodeError and the big integer gave a 500."""
    from tests.conftest import bearer

    headers = {**bearer(client, "hbj_steward"), "content-type": "application/json"}
    body = b'{"Datastream": {"@iot.id": 1}, "result": ' + b"1" * 5000 + b"}"
    response = client.post("/sta/v1.1/Observations", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"


def test_sensorthings_refuses_nan_in_a_data_array_with_400(client):
    """NaN is not JSON: the whole body is refused, not stored as a value or judged row by row."""
    from tests.conftest import bearer

    headers = {**bearer(client, "hbj_steward"), "content-type": "application/json"}
    body = b'[{"Datastream": {"@iot.id": 1}, "components": ["phenomenonTime", "result"], "dataArray": '
    body += b'[["2026-03-03T00:00:00Z", NaN]]}]'
    response = client.post("/sta/v1.1/CreateObservations", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"


def test_open311_takes_a_json_object_and_refuses_bad_json_in_its_own_shape(client, runtime):
    from tests.conftest import run_cli

    result = run_cli(runtime, "apikey", "create", "--username", "lisi", "--label", "open311-json")
    key = result.stdout.strip().splitlines()[0]
    report = {"api_key": key, "service_code": "CG01", "lat": "31.65", "long": "120.75", "description": "垃圾桶满了"}
    accepted = client.post("/open311/v2/requests.json", json=report)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()[0]["service_request_id"]
    for raw in (BAD_BODIES["100k-deep objects"], BAD_BODIES["GBK"], b"[1, 2]"):
        refused = client.post("/open311/v2/requests.json", content=raw, headers={"content-type": "application/json"})
        assert refused.status_code == 400
        assert refused.json()[0]["code"] == 400  # Open311's error list, as its clients expect


def test_a_form_field_holding_json_is_parsed_the_same_way(client):
    deep = "[" * 2000 + "]" * 2000  # as deep as a query string can carry
    response = client.get("/api/3/action/package_search", params={"facet.field": deep})
    assert response.status_code == 409
    assert response.json()["success"] is False
