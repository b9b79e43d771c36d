"""The cascade between two live installations: peering after a fingerprint check, the catalog going up
and down, a cross-level application end to end with both sides stopped and restarted in the middle,
and the indicator it feeds."""

import pytest

from tests.catalog.helpers import PERSON_ITEMS, person_csv, publish_entry
from tests.conftest import bearer
from tests.exchange.conftest import END, ROWS
from tests.federation.conftest import ensure_peered, unpeer, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("federation")]


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
        found = client.get("/api/catalog/entries", params={"size": 100}, headers=installation.as_user("admin")).json()
    assert found["total"] <= 100
    return {e["code"] for e in found["items"]}


def test_the_two_installations_run_on_their_own_databases_one_sqlite_one_postgresql(pair):
    city, suzhou = pair
    assert city.settings.resolved_database_url.startswith("sqlite")
    if not suzhou.settings.resolved_database_url.startswith("postgresql"):  # CI fails in the fixture instead
        pytest.skip("no PostgreSQL server for the upper level on this machine")
    with suzhou.http() as client, city.http() as other:
        assert (
            client.get("/api/federation/identity").json()["key_id"]
            != other.get("/api/federation/identity").json()["key_id"]
        )


def test_a_peer_is_pinned_only_after_its_fingerprint_is_confirmed(pair):
    city, suzhou = pair
    unpeer(city, suzhou)  # from scratch, whatever ran before on this worker
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
    active = [(p["url"], p["fingerprint"], p["role"]) for p in peers if p["status"] == "active"]
    assert active == [(suzhou.url, upper["fingerprint"], "upper")]


def test_catalogs_flow_up_and_down_and_changes_follow(pair):
    city, suzhou = pair
    ensure_peered(city, suzhou)
    city_codes, suzhou_codes = _published(city), _published(suzhou)
    assert city_codes and suzhou_codes
    wait_for(
        lambda: {e["code"] for e in _remote(suzhou, role="lower")} == city_codes,
        timeout=180,
        what="city catalog upward",
    )
    wait_for(
        lambda: {e["code"] for e in _remote(city, role="upper")} == suzhou_codes,
        timeout=180,
        what="suzhou catalog downward",
    )
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


def _application(installation, user: str, application_id: int) -> dict:
    with installation.http() as client:
        response = client.get(f"/api/federation/applications/{application_id}", headers=installation.as_user(user))
    assert response.status_code == 200, response.text
    return response.json()


def _incoming(installation, reference: str) -> list[dict]:
    with installation.http() as client:
        listed = client.get("/api/federation/applications", headers=installation.as_user("admin")).json()
    return [a for a in listed if a["reference"] == reference and a["direction"] == "incoming"]


def _peer(installation, peer_id: int) -> dict:
    with installation.http() as client:
        return client.get(f"/api/federation/peers/{peer_id}", headers=installation.as_user("admin")).json()


def test_a_cross_level_application_survives_both_sides_stopping_and_is_applied_once_and_feeds_indicator_17(pair):
    city, suzhou = pair
    ensure_peered(city, suzhou)
    with suzhou.http() as client:  # an upper-level resource with data, answered by its provider then bureau
        entry = publish_entry(client, name="苏州市级人员测试资源", sharing_type="有条件共享")
        mounted = client.post(
            f"/api/governance/resources/{entry['code']}/upload",
            files={"file": ("p.csv", person_csv(ROWS).encode())},
            headers=bearer(client, "hbj_steward"),
        )
        assert mounted.status_code == 201, mounted.text
    wait_for(lambda: _remote(city, q="苏州市级人员测试资源"), what="the resource downward")
    upper_id = _peer_id(city, suzhou.name)

    suzhou.kill()  # the upper level is down when the city applies
    body = {"peer_id": upper_id, "entry_code": entry["code"], "fields": ["person_id", "name", "mobile"]}
    with city.http() as client:
        created = client.post(
            "/api/federation/applications",
            json=body | {"purpose": "跨级核验人员信息", "period_end": END},
            headers=city.as_user("hbj_steward"),
        )
    assert created.status_code == 201, created.text
    application = created.json()
    wait_for(lambda: _peer(city, upper_id)["last_error"], what="a failed delivery")
    assert _peer(city, upper_id)["backlog"] >= 1
    city.kill()  # and the city dies with the application still in its outbox
    city.start()
    assert _peer(city, upper_id)["backlog"] >= 1
    suzhou.start()
    incoming = wait_for(lambda: _incoming(suzhou, application["reference"]), what="the application upward")
    assert len(incoming) == 1 and incoming[0]["exchange_application_id"]
    exchange_id = incoming[0]["exchange_application_id"]

    city.kill()  # the city is down while the upper level decides
    with suzhou.http() as client:
        provider = client.post(
            f"/api/exchange/applications/{exchange_id}/provider-decision",
            json={"approve": True, "reason": "同意跨级共享"},
            headers=bearer(client, "hbj_admin"),
        )
        assert provider.status_code == 200, provider.text
        bureau = client.post(
            f"/api/exchange/applications/{exchange_id}/bureau-decision",
            json={"approve": True, "reason": "准予共享"},
            headers=bearer(client, "admin"),
        )
        assert bureau.status_code == 200 and bureau.json()["status"] == "granted", bureau.text
    city_peer = _peer_id(suzhou, city.name)
    wait_for(
        lambda: _peer(suzhou, city_peer)["backlog"] >= 2 and _peer(suzhou, city_peer)["last_error"], what="backlog"
    )
    city.start()
    returned = wait_for(
        lambda: (a := _application(city, "hbj_steward", application["id"]))["status"] == "returned" and a,
        timeout=90,
        what="the data back",
    )
    assert returned["rows_total"] == len(ROWS) and returned["answered_on_time"] is True
    with city.http() as client:
        data = client.get(f"/api/federation/applications/{application['id']}/data", headers=city.as_user("hbj_steward"))
        assert data.status_code == 200, data.text
        other = client.get(f"/api/federation/applications/{application['id']}/data", headers=city.as_user("cgj_admin"))
        assert other.status_code in (403, 404)
    rows = data.json()["rows"]
    assert len(rows) == len(ROWS) and len({r["person_id"] for r in rows}) == len(ROWS)
    assert all(set(r) == {"person_id", "name", "mobile"} and "****" in r["mobile"] for r in rows)
    wait_for(lambda: _peer(suzhou, city_peer)["backlog"] == 0, what="the upper level's outbox drained")
    with city.http() as client:
        received = client.get(
            "/api/federation/messages", params={"peer_id": upper_id}, headers=city.as_user("admin")
        ).json()
    ids = [m["message_id"] for m in received if m["direction"] == "received"]
    assert len(ids) == len(set(ids))
    answers = [m for m in received if m["direction"] == "received" and m["kind"] == "application.answer"]
    assert len(answers) == 1
    with suzhou.http() as client:
        calls = client.get("/api/exchange/usage", headers=bearer(client, "admin")).json()
    assert any(u["entry_code"] == entry["code"] and u["rows"] == len(ROWS) for u in calls)
    assert_indicator_17_is_computed_from_the_exchanges(city)


def test_the_upper_level_applies_for_city_data_and_the_city_decides(pair):
    city, suzhou = pair
    ensure_peered(city, suzhou)
    with city.http() as client:  # a city resource with data, synchronised upward
        entry = publish_entry(client, name="常熟市人员反向测试资源", sharing_type="有条件共享")
        mounted = client.post(
            f"/api/governance/resources/{entry['code']}/upload",
            files={"file": ("p.csv", person_csv(ROWS).encode())},
            headers=bearer(client, "hbj_steward"),
        )
        assert mounted.status_code == 201, mounted.text
    wait_for(lambda: _remote(suzhou, q="常熟市人员反向测试资源"), what="the resource upward")
    lower_id = _peer_id(suzhou, city.name)
    body = {"peer_id": lower_id, "entry_code": entry["code"], "fields": ["person_id", "town"]}
    with suzhou.http() as client:
        created = client.post(
            "/api/federation/applications",
            json=body | {"purpose": "上级统筹分析", "period_end": END},
            headers=suzhou.as_user("hbj_steward"),
        )
    assert created.status_code == 201, created.text
    application = created.json()
    incoming = wait_for(lambda: _incoming(city, application["reference"]), what="the application downward")
    exchange_id = wait_for(
        lambda: _incoming(city, application["reference"])[0]["exchange_application_id"], what="in the city's flow"
    )
    assert len(incoming) == 1
    with city.http() as client:
        refused_early = client.post(
            f"/api/exchange/applications/{exchange_id}/bureau-decision",
            json={"approve": True, "reason": "越过提供方"},
            headers=bearer(client, "admin"),
        )
        assert refused_early.status_code in (409, 422), refused_early.text  # the provider decides first
        provider = client.post(
            f"/api/exchange/applications/{exchange_id}/provider-decision",
            json={"approve": True, "reason": "同意向上级共享"},
            headers=bearer(client, "hbj_admin"),
        )
        assert provider.status_code == 200, provider.text
        bureau = client.post(
            f"/api/exchange/applications/{exchange_id}/bureau-decision",
            json={"approve": True, "reason": "准予共享"},
            headers=bearer(client, "admin"),
        )
        assert bureau.status_code == 200 and bureau.json()["status"] == "granted", bureau.text
    returned = wait_for(
        lambda: (a := _application(suzhou, "hbj_steward", application["id"]))["status"] == "returned" and a,
        timeout=90,
        what="the city's data back upward",
    )
    assert returned["rows_total"] == len(ROWS)
    with suzhou.http() as client:
        data = client.get(
            f"/api/federation/applications/{application['id']}/data", headers=suzhou.as_user("hbj_steward")
        )
    assert data.status_code == 200, data.text
    rows = data.json()["rows"]
    assert len(rows) == len(ROWS) and all(set(r) == {"person_id", "town"} for r in rows)


def test_an_objection_from_the_upper_level_reaches_the_citys_steward_and_the_answer_goes_back(pair):
    city, suzhou = pair
    ensure_peered(city, suzhou)
    with city.http() as client:
        entry = publish_entry(client, name="常熟市异议测试资源")
    wait_for(lambda: _remote(suzhou, q="常熟市异议测试资源"), what="the entry upward")
    lower_id = _peer_id(suzhou, city.name)
    with suzhou.http() as client:
        raised = client.post(
            "/api/federation/objections",
            json={"peer_id": lower_id, "entry_code": entry["code"], "description": "手机号码字段与上级标准口径不一致"},
            headers=suzhou.as_user("admin"),
        )
    assert raised.status_code == 201, raised.text
    reference = raised.json()["reference"]

    def at_city(user: str) -> list[dict]:
        with city.http() as client:
            found = client.get("/api/federation/objections", headers=city.as_user(user)).json()
        return [o for o in found if o["reference"] == reference]

    incoming = wait_for(lambda: at_city("hbj_steward"), what="the objection at the steward")
    assert incoming[0]["status"] == "open" and incoming[0]["entry_code"] == entry["code"]
    assert at_city("cgj_admin") == []  # another department's steward does not see it
    with city.http() as client:
        answered = client.post(
            f"/api/federation/objections/{incoming[0]['id']}/answer",
            json={"answer": "已按上级标准修订口径"},
            headers=city.as_user("hbj_steward"),
        )
    assert answered.status_code == 200, answered.text

    def at_suzhou() -> dict | None:
        with suzhou.http() as client:
            found = client.get("/api/federation/objections", headers=suzhou.as_user("admin")).json()
        mine = [o for o in found if o["reference"] == reference]
        return mine[0] if mine and mine[0]["status"] == "answered" else None

    back = wait_for(at_suzhou, what="the answer upward")
    assert back["answer"] == "已按上级标准修订口径"
    with suzhou.http() as client:
        trail = client.get(
            "/api/audit/entries",
            params={"action": "federation.objection.raise", "size": 100},
            headers=bearer(client, "auditor"),
        )
    assert trail.status_code == 200 and any(e["target_id"] == reference for e in trail.json()["items"]), trail.text


def _indicators(city) -> dict[int, dict]:
    with city.http() as client:
        found = client.get("/api/brain/indicators", params={"live": "true"}, headers=city.as_user("admin")).json()
    return {i["no"]: i for i in found}


def assert_indicator_17_is_computed_from_the_exchanges(city) -> None:
    """The upper level is a sharing platform: catalog sync, an application sent, an answer received."""
    by_no = wait_for(lambda: (b := _indicators(city))[17]["value"] == 100.0 and b, what="indicator 17 complete")
    assert {by_no[n]["source"] for n in (17, 18, 19, 20)} == {"computed"}
    assert by_no[17]["denominator"] == 3, by_no[17]
    assert by_no[18]["value"] is None  # no security-management platform registered as a peer
    assert "向上对接" in by_no[17]["method"]
    with city.http() as client:
        drill = client.get("/api/brain/indicators/17/records", headers=city.as_user("admin")).json()
    assert sorted(r["name"] for r in drill["records"]) == ["application.answer", "application.submit", "catalog.entry"]
