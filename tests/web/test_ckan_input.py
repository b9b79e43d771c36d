"""CKAN Action API on bad input: errors in CKAN's shape that the ckanapi client understands, never a
500; and status_show names the configured public address, not whatever Host header was sent."""

import ckanapi
import pytest
import requests

DEEP = 100_000


@pytest.fixture(scope="module")
def ckan(live_url):
    return ckanapi.RemoteCKAN(live_url, user_agent="yiwang-tests/1.0 (ckanapi)")


@pytest.mark.parametrize("sort", [" ", ",", " , ", "name sideways", "name asc extra"])
def test_a_bad_sort_is_a_validation_error(ckan, sort):
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(sort=sort)


@pytest.mark.parametrize("sort", [" ", ","])
def test_a_bad_sort_in_the_query_string_is_409_in_ckan_shape(live_url, sort):
    response = requests.get(f"{live_url}/api/3/action/package_search", params={"sort": sort}, timeout=10)
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False and body["error"]["__type"] == "Validation Error"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"q":' * DEEP + b'"x"' + b"}" * DEEP,
        b'{"rows": ' + b"9" * 5001 + b"}",
        b'{"rows": NaN}',
        '{"q": "空气"}'.encode("gbk"),
        b'"just a string"',
        b"[1, 2, 3]",
    ],
    ids=["deep-array", "deep-object", "huge-int", "nan", "gbk", "string", "array"],
)
def test_a_bad_json_body_is_a_400_ckan_error(live_url, raw):
    for path in ("/api/3/action/package_search", "/api/action/package_search"):
        response = requests.post(
            f"{live_url}{path}", data=raw, headers={"Content-Type": "application/json"}, timeout=20
        )
        assert response.status_code == 400, response.text[:200]
        body = response.json()
        assert body["success"] is False and body["error"]["__type"] == "Validation Error"
        assert body["error"]["message"]


def test_ckanapi_gets_a_validation_error_for_a_deeply_nested_parameter(ckan):
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ckanapi.ValidationError):
        ckan.call_action("package_search", {"facet.field": deep})


def test_integers_beyond_any_range_are_a_validation_error(ckan):
    with pytest.raises(ckanapi.ValidationError):
        ckan.call_action("package_search", {"rows": 10**400})
    with pytest.raises(ckanapi.ValidationError):
        ckan.call_action("package_search", {"rows": 1e400})


def test_status_show_names_the_configured_address_not_the_host_header(live_url, runtime):
    forged = requests.get(
        f"{live_url}/api/3/action/status_show", headers={"Host": "evil.example.com"}, timeout=10
    ).json()
    assert forged["result"]["site_url"] == runtime.settings.public_url.rstrip("/")
    assert "evil.example.com" not in forged["result"]["site_url"]


def test_form_encoded_posts_still_work(live_url):
    response = requests.post(f"{live_url}/api/3/action/package_search", data={"q": "空气", "rows": "1"}, timeout=10)
    assert response.status_code == 200 and response.json()["result"]["count"] >= 1
