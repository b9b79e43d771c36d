"""Open311 GeoReport v2 through a client library from PyPI (georeport), JSON and XML, and POST with api_key."""

import requests
from georeport import GeoReport

from tests.conftest import run_cli


def _api_key(runtime) -> str:
    result = run_cli(runtime, "apikey", "create", "--username", "lisi", "--label", "open311-test")
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def test_services_with_the_client_in_json_and_xml(live_url):
    for fmt in ("json", "xml"):
        client = GeoReport(f"{live_url}/open311/v2", output_format=fmt)
        services = client.get_service_list()
        codes = {s["service_code"] for s in services}
        assert {"CG01", "ZJ04", "NY01"} <= codes and len(codes) == 34
        definition = client.get_service_definition("CG01")
        assert definition["service_code"] in ("CG01", {"value": "CG01"})


def test_post_then_read_back_with_the_client(live_url, runtime):
    key = _api_key(runtime)
    base = f"{live_url}/open311/v2"
    response = requests.post(
        f"{base}/requests.json",
        data={
            "api_key": key,
            "service_code": "SW04",
            "lat": "31.66",
            "long": "120.74",
            "address_string": "虞山街道书院街 12 号",
            "description": "楼下下水道堵了，污水冒出来",
            "first_name": "四",
            "last_name": "李",
            "phone": "13787654321",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    created = response.json()[0]
    number, token = created["service_request_id"], created["token"]
    client = GeoReport(base)
    one = client.get_service_request(number)
    assert one["service_code"] == "SW04" and one["status"] == "open" and one["lat"] is None
    own = requests.get(f"{base}/requests/{number}.json", params={"api_key": key}, timeout=10).json()[0]
    assert own["lat"] == 31.66 and own["description"] == "楼下下水道堵了，污水冒出来"  # the reporter sees it all
    assert one["agency_responsible"] == "常熟市水务局"
    assert "李" not in str(one) and "13787654321" not in str(one)  # no personal data in public reads
    listed = client.get_service_requests(service_code="SW04", status="open")
    assert number in [r["service_request_id"] for r in listed]
    xml_one = GeoReport(base, output_format="xml").get_service_request(number)
    assert xml_one["service_request_id"] == number and xml_one["status"] == "open"
    token_reply = requests.get(f"{base}/tokens/{token}.json", timeout=10).json()
    assert token_reply == [{"service_request_id": number, "token": token}]
    xml_post = requests.post(
        f"{base}/requests.xml",
        data={
            "api_key": key,
            "service_code": "CG01",
            "lat": "31.6",
            "long": "120.7",
            "description": "垃圾桶满了没人收",
        },
        timeout=10,
    )
    assert xml_post.status_code == 201 and b"<service_request_id>SJ-" in xml_post.content


def test_bad_open311_requests(live_url, runtime):
    base = f"{live_url}/open311/v2"
    key = _api_key(runtime)
    cases = [
        ({"service_code": "CG01", "lat": "31", "long": "120", "description": "垃圾没人收拾"}, 400),  # no api_key
        ({"api_key": "wrong", "service_code": "CG01", "lat": "31", "long": "120", "description": "垃圾没人收拾"}, 403),
        ({"api_key": key, "service_code": "XX99", "lat": "31", "long": "120", "description": "垃圾没人收拾"}, 400),
        ({"api_key": key, "service_code": "CG01", "lat": "north", "long": "120", "description": "垃圾没人收拾"}, 400),
        ({"api_key": key, "service_code": "CG01", "description": "垃圾没人收拾"}, 400),  # no location
        ({"api_key": key, "service_code": "CG01", "lat": "31", "long": "120", "description": "短"}, 400),
    ]
    for data, status in cases:
        response = requests.post(f"{base}/requests.json", data=data, timeout=10)
        assert response.status_code == status, (data, response.text)
        assert response.json()[0]["code"] == status
    assert requests.get(f"{base}/requests/SJ-19990101-000001.json", timeout=10).status_code == 404
    assert requests.get(f"{base}/services.yaml", timeout=10).status_code == 404
    assert requests.get(f"{base}/requests.json?status=maybe", timeout=10).status_code == 400
    assert requests.get(f"{base}/requests.json?start_date=yesterday", timeout=10).status_code == 400
    span = requests.get(
        f"{base}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", timeout=10
    )
    assert span.status_code == 400
    xml_error = requests.get(f"{base}/services/NOPE.xml", timeout=10)
    assert xml_error.status_code == 404 and b"<errors>" in xml_error.content
    # a citizen's key works; a key of an account without the report permission does not
    assert requests.get(f"{base}/tokens/nope.json", timeout=10).status_code == 404
