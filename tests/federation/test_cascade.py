"""The cascade between two live installations: peering after a fingerprint check, the catalog going up
and down, a cross-level application end to end with both sides stopped and restarted in the middle,
and the indicator it feeds."""

import pytest

from tests.catalog.helpers import PERSON_ITEMS, person_csv, publish_entry
from tests.exchange.conftest import ROWS, END
from tests.federation.conftest import wait_for

pytestmark = [pytest.mark.slow]


def _identity(installation) -> dict:
    with installation.http() as client:
        return client.get("/api/federation/identity").json()


def _peer_id(installation, name: str) -> int:
    with installation.http() as client:
        peers = client.get("/api/federation/peers", headers=installation.as_user("admin")).json()
    return next(p["id"] for p in peers if p["name"] == name and p["status"] == "active")


def _remote(installation, q: str = "", role: str | None = None) -> list[dict]:
    params = {"q": q} | ({"role": role} if role else {})
    with installation.http() as client:
        response = client.get("/api/federation/catalog", params=params, headers=installation.as_user("hbj_steward"))
    assert response.status_code == 200, response.text
    return response.json()


def _published(installation) -> set[str]:
    with installation.http() as client:
        found = client.get(
            "/api/catalog/entries", params={"size": 100}, headers=installation.as_user("admin")
        ).json()
    assert found["total"] <= 100
    return {e["code"] for e in found["items"]}


def test_a_peer_is_pinned_only_after_its_fingerprint_is_confirmed(pair):
    city, suzhou = pair
    upper, lower = _identity(suzhou), _identity(city)
    refused = city.cli("peer", "add", suzhou.url, "--role", "upper", stdin="n\n")
    assert refused.returncode == 1 and upper["fingerprint"] in refused.stdout and "未添加" in refused.stdout
    added = city.cli("peer", "add", suzhou.url, "--role", "upper", stdin="y\n")
    assert added.returncode == 0, added.stdout + added.stderr
    assert f"yiwang peer add {city.url} --fingerprint {lower['fingerprint']}" in added.stdout
    admin = suzhou.as_user("admin")
    body = {"url": city.url, "role": "lower", "fingerprint": upper["fingerprint"]}
    with suzhou.http() as client:
        wrong = client.post("/api/federation/peers", json=body, headers=admin)
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "fingerprint_mismatch"
        right = client.post("/api/federation/peers", json=body | {"fingerprint": lower["fingerprint"]}, headers=admin)
        assert right.status_code == 201, right.text
        assert right.json()["fingerprint"] == lower["fingerprint"] and right.json()["role"] == "lower"
        again = client.post("/api/federation/peers", json=body | {"fingerprint": lower["fingerprint"]}, headers=admin)
        assert again.status_code == 409
        steward = client.post("/api/federation/peers", json=body, headers=suzhou.as_user("hbj_steward"))
        assert steward.status_code == 403
    with city.http() as client:
        peers = client.get("/api/federation/peers", headers=city.as_user("admin")).json()
    assert [(p["url"], p["fingerprint"], p["role"]) for p in peers] == [(suzhou.url, upper["fingerprint"], "upper")]


def test_catalogs_flow_up_and_down_and_changes_follow(pair):
    city, suzhou = pair
    city_codes, suzhou_codes = _published(city), _published(suzhou)
    assert city_codes and suzhou_codes
    wait_for(lambda: {e["code"] for e in _remote(suzhou, role="lower")} == city_codes, what="city catalog upward")
    wait_for(lambda: {e["code"] for e in _remote(city, role="upper")} == suzhou_codes, what="suzhou catalog downward")
    assert {e["label"] for e in _remote(city)} == {"上级目录"}
    assert {e["label"] for e in _remote(suzhou)} == {"下级目录"}
    with city.http() as client:
        entry = publish_entry(client, name="跨级同步测试资源")
    found = wait_for(lambda: _remote(suzhou, q="跨级同步测试资源"), what="new entry upward")
    assert found[0]["code"] == entry["code"] and {i["name"] for i in found[0]["items"]} == {
        i["name"] for i in PERSON_ITEMS
    }
    with city.http() as client:
        retired = client.post(
            f"/api/catalog/entries/{entry['code']}/retire", params={"reason": "测试撤销"}, headers=city.as_user("admin")
        )
    assert retired.status_code == 200, retired.text
    wait_for(lambda: not _remote(suzhou, q="跨级同步测试资源"), what="retirement upward")
    with suzhou.http() as client:
        sync = client.get("/api/federation/messages", headers=suzhou.as_user("admin")).json()
    kinds = {(m["direction"], m["kind"]) for m in sync}
    assert {("received", "catalog.entry"), ("received", "catalog.retire"), ("sent", "catalog.entry")} <= kinds
