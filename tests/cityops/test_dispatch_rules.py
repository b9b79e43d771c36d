"""Division dispatch rules (分拨规则): matching order, deadlines, the API's checks, audit and the page.

Every test removes the rules it creates, so other tests keep the category's default routing. The
rules use category SJ03 (无证无照经营, default 市监局 SJJ, 72 hours), which no other test reports.
"""

import json
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from tests.cityops.conftest import bearer, report
from tests.conftest import page_login
from yiwang.cityops import rules, service
from yiwang.cityops.schemas import DispatchRuleCreate
from yiwang.core.errors import Conflict
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.org import service as org_service

CATEGORY = "SJ03"
DEFAULT_DEPARTMENT, DEFAULT_HOURS = "SJJ", 72
CENTRE = "ldz_dispatcher"  # the command centre configures routing
RULES = "/api/cityops/dispatch-rules"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def places(runtime) -> SimpleNamespace:
    """Two demo towns of the city and two communities of the first one (not divisions other tests add)."""
    with runtime.db.unit_of_work() as db:
        divisions = org_service.list_divisions(db)
    city = next(d for d in divisions if d.code == runtime.settings.city_code)
    towns = [d for d in divisions if d.parent_id == city.id]
    town, other_town = towns[0], towns[1]
    communities = [d for d in divisions if d.parent_id == town.id]
    assert len(communities) >= 2
    return SimpleNamespace(
        city=city,
        town=town,
        other_town=other_town,
        community=communities[0],
        sibling=communities[1],
    )


@pytest.fixture(autouse=True)
def no_rules_left_behind(client):
    """Whatever a failing test left (a page form, a failed clean-up), the next test starts without rules."""
    yield
    admin = bearer(client, "admin")
    for rule in client.get(RULES, headers=admin).json():
        client.delete(f"{RULES}/{rule['id']}", headers=admin)


@contextmanager
def dispatch_rule(client, **fields):
    response = client.post(RULES, json={"category_code": CATEGORY} | fields, headers=bearer(client, CENTRE))
    assert response.status_code == 201, response.text
    rule = response.json()
    try:
        yield rule
    finally:
        client.delete(f"{RULES}/{rule['id']}", headers=bearer(client, CENTRE))


def event_in(client, division_code: str) -> dict:
    return report(
        client, "zhangsan", category_code=CATEGORY, division_code=division_code, description="路边有人无证摆摊卖熟食"
    )


def hours_allowed(event: dict) -> float:
    allowed = datetime.fromisoformat(event["deadline"]) - datetime.fromisoformat(event["created_at"])
    return allowed / timedelta(hours=1)


def dispatch_note(client, number: str) -> str:
    steps = client.get(f"/api/cityops/events/{number}/transitions", headers=bearer(client, "zhangsan")).json()
    return next(s["note"] for s in steps if s["action"] == "dispatch")


def audit_entries(client, action: str, rule_id: int, since: datetime) -> list[dict]:
    """Entries since a moment: ids of deleted rules can come back on SQLite, so the id alone is not enough."""
    wanted = {"action": action, "target_type": "dispatch_rule", "target_id": str(rule_id)}
    response = client.get(
        "/api/audit/entries",
        params=wanted | {"since": since.isoformat()},
        headers=bearer(client, "auditor"),
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


# ---- matching ------------------------------------------------------------------------------------------------


def test_without_rules_the_category_default_applies(client, places):
    event = event_in(client, places.community.code)
    assert event["department_code"] == DEFAULT_DEPARTMENT and hours_allowed(event) == DEFAULT_HOURS
    assert dispatch_note(client, event["number"]) == "智能分拨：按类别派遣"


def test_a_town_rule_overrides_the_category_in_the_town_and_its_communities(client, places):
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        assert rule["division_name"] == places.town.name and rule["department_name"] == "城管局"
        assert rule["sla_hours"] is None and rule["effective_sla_hours"] == DEFAULT_HOURS
        in_town = event_in(client, places.town.code)
        in_community = event_in(client, places.community.code)
        for event in (in_town, in_community):
            assert event["department_code"] == "CGJ"
            assert hours_allowed(event) == DEFAULT_HOURS  # no hours in the rule: the category's deadline
        note = dispatch_note(client, in_community["number"])
        assert note == f"智能分拨：按区划规则派遣至城管局（{places.town.name}）"
        # the rule is for one category: another category in the same town keeps its default
        other = report(client, "zhangsan", category_code="SJ02", division_code=places.town.code)
        assert other["department_code"] == "SJJ"


def test_a_community_rule_beats_the_town_rule(client, places):
    with (
        dispatch_rule(client, division_code=places.town.code, department_code="CGJ"),
        dispatch_rule(client, division_code=places.community.code, department_code="HBJ", sla_hours=6),
    ):
        nearest = event_in(client, places.community.code)
        assert nearest["department_code"] == "HBJ" and hours_allowed(nearest) == 6
        note = dispatch_note(client, nearest["number"])
        assert note == f"智能分拨：按区划规则派遣至生态环境局（{places.community.name}），时限 6 小时"
        sibling = event_in(client, places.sibling.code)  # same town, no rule of its own
        assert sibling["department_code"] == "CGJ" and hours_allowed(sibling) == DEFAULT_HOURS


def test_a_city_rule_applies_where_no_nearer_rule_does(client, places):
    with (
        dispatch_rule(client, division_code=places.city.code, department_code="ZJJ", sla_hours=48),
        dispatch_rule(client, division_code=places.town.code, department_code="CGJ"),
    ):
        elsewhere = event_in(client, places.other_town.code)
        assert elsewhere["department_code"] == "ZJJ" and hours_allowed(elsewhere) == 48
        assert event_in(client, places.community.code)["department_code"] == "CGJ"


def test_a_rule_in_another_division_does_not_apply(client, places):
    with dispatch_rule(client, division_code=places.other_town.code, department_code="CGJ", sla_hours=6):
        event = event_in(client, places.community.code)
        assert event["department_code"] == DEFAULT_DEPARTMENT and hours_allowed(event) == DEFAULT_HOURS
        unplaced = report(client, "zhangsan", category_code=CATEGORY, division_code=None)
        assert unplaced["department_code"] == DEFAULT_DEPARTMENT


def test_sla_hours_set_the_deadline_and_null_falls_back_to_the_category(client, places):
    centre = bearer(client, CENTRE)
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ", sla_hours=8) as rule:
        assert hours_allowed(event_in(client, places.community.code)) == 8
        patched = client.patch(f"{RULES}/{rule['id']}", json={"sla_hours": None}, headers=centre)
        assert patched.status_code == 200, patched.text
        assert patched.json()["sla_hours"] is None and patched.json()["effective_sla_hours"] == DEFAULT_HOURS
        after = event_in(client, places.community.code)
        assert after["department_code"] == "CGJ" and hours_allowed(after) == DEFAULT_HOURS


def test_update_and_delete_take_effect_on_the_next_event(client, places):
    centre = bearer(client, CENTRE)
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        assert event_in(client, places.community.code)["department_code"] == "CGJ"
        change = {"department_code": "HBJ", "sla_hours": 10}
        patched = client.patch(f"{RULES}/{rule['id']}", json=change, headers=centre)
        assert patched.status_code == 200 and patched.json()["department_name"] == "生态环境局"
        moved = event_in(client, places.community.code)
        assert moved["department_code"] == "HBJ" and hours_allowed(moved) == 10
        # a patch that names only the department keeps the hours
        client.patch(f"{RULES}/{rule['id']}", json={"department_code": "ZJJ"}, headers=centre)
        kept = event_in(client, places.community.code)
        assert kept["department_code"] == "ZJJ" and hours_allowed(kept) == 10
        assert client.delete(f"{RULES}/{rule['id']}", headers=centre).status_code == 204
        back = event_in(client, places.community.code)
        assert back["department_code"] == DEFAULT_DEPARTMENT and hours_allowed(back) == DEFAULT_HOURS
        assert client.delete(f"{RULES}/{rule['id']}", headers=centre).status_code == 404


def test_a_dispatcher_dispatching_by_hand_sees_the_rule_in_the_note(client, places):
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ"):
        waiting = report(client, "zhangsan", description="请问一下这个事情该找谁呢谢谢", division_code=places.town.code)
        assert waiting["status"] == "received"
        actions = f"/api/cityops/events/{waiting['number']}/actions"
        centre = bearer(client, CENTRE)
        client.post(actions, json={"action": "register", "category_code": CATEGORY}, headers=centre)
        dispatched = client.post(actions, json={"action": "dispatch", "note": "核实后派遣"}, headers=centre).json()
        assert dispatched["department_code"] == "CGJ"
        assert dispatch_note(client, waiting["number"]) == f"核实后派遣；按区划规则派遣至城管局（{places.town.name}）"


# ---- the API's checks ----------------------------------------------------------------------------------------


def test_listing_filters_and_names(client, places):
    with (
        dispatch_rule(client, division_code=places.town.code, department_code="CGJ", sla_hours=12) as town_rule,
        dispatch_rule(client, division_code=places.other_town.code, department_code="HBJ", category_code="SJ02"),
    ):
        handler = bearer(client, "cgj_handler")  # cityops.event.read is enough to read the routing
        everything = client.get(RULES, headers=handler)
        assert everything.status_code == 200 and len(everything.json()) == 2
        one = client.get(RULES, params={"division_code": places.town.code}, headers=handler).json()
        assert one == [
            {
                "id": town_rule["id"],
                "division_code": places.town.code,
                "division_name": places.town.name,
                "category_code": CATEGORY,
                "category_name": "无证无照经营",
                "department_code": "CGJ",
                "department_name": "城管局",
                "sla_hours": 12,
                "effective_sla_hours": 12,
            }
        ]
        by_category = client.get(RULES, params={"category_code": "SJ02"}, headers=handler).json()
        assert [r["division_code"] for r in by_category] == [places.other_town.code]
        assert client.get(RULES, headers=bearer(client, "zhangsan")).status_code == 403


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"category_code": "ZZ99"}, ["category_code"]),
        ({"department_code": "NOPE"}, ["department_code"]),
        ({"division_code": "320581999"}, ["division_code"]),
        (
            {"category_code": "ZZ99", "department_code": "NOPE", "division_code": "999999"},
            ["category_code", "department_code", "division_code"],
        ),
    ],
)
def test_unknown_references_are_validation_errors(client, places, fields, bad):
    body = {"division_code": places.town.code, "category_code": CATEGORY, "department_code": "CGJ"} | fields
    response = client.post(RULES, json=body, headers=bearer(client, CENTRE))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and error["message"]
    assert [d["loc"][-1] for d in error["details"]] == bad
    assert client.get(RULES, headers=bearer(client, CENTRE)).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"division_code": "320581001", "category_code": CATEGORY},  # no department
        {"division_code": "320581001", "category_code": CATEGORY, "department_code": "CGJ", "sla_hours": 0},
        {"division_code": "320581001", "category_code": CATEGORY, "department_code": "CGJ", "colour": "red"},
    ],
)
def test_malformed_rules_are_refused(client, body):
    response = client.post(RULES, json=body, headers=bearer(client, CENTRE))
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_failed"


def test_a_duplicate_rule_is_a_conflict(client, places):
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        again = client.post(
            RULES,
            json={"division_code": places.town.code, "category_code": CATEGORY, "department_code": "HBJ"},
            headers=bearer(client, CENTRE),
        )
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "dispatch_rule_exists"
        assert again.json()["error"]["details"]["id"] == rule["id"]
        assert [r["department_code"] for r in client.get(RULES, headers=bearer(client, CENTRE)).json()] == ["CGJ"]


def test_a_duplicate_added_at_the_same_moment_is_a_conflict_too(client, runtime, places, monkeypatch):
    """Two writers may both pass the duplicate check; the unique key refuses the second, still as a 409."""
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ"):
        monkeypatch.setattr(rules, "_find_rule", lambda db, **key: None)  # the check ran before the other commit
        centre = Principal(user_id=None, username="test:centre", display_name="测试中心", kind="staff")
        data = DispatchRuleCreate(division_code=places.town.code, category_code=CATEGORY, department_code="HBJ")
        with runtime.db.unit_of_work() as db:
            with pytest.raises(Conflict) as refused:
                service.add_dispatch_rule(db, actor=centre, data=data)
            assert refused.value.code == "dispatch_rule_exists"
            # the transaction survives the refused insert: the caller can go on reading
            assert [r.department_code for r in service.list_dispatch_rules(db)] == ["CGJ"]


def test_updates_are_checked(client, places):
    centre = bearer(client, CENTRE)
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        url = f"{RULES}/{rule['id']}"
        unknown = client.patch(url, json={"department_code": "NOPE"}, headers=centre)
        assert unknown.status_code == 422
        assert unknown.json()["error"]["details"][0]["loc"] == ["body", "department_code"]
        assert client.patch(url, json={"department_code": None}, headers=centre).status_code == 422
        assert client.patch(url, json={"division_code": places.other_town.code}, headers=centre).status_code == 422
        assert client.patch(url, json={"sla_hours": 721}, headers=centre).status_code == 422
        assert client.get(RULES, headers=centre).json()[0]["department_code"] == "CGJ"  # nothing changed
    assert client.patch(f"{RULES}/{rule['id']}", json={"sla_hours": 5}, headers=centre).status_code == 404
    assert client.patch(f"{RULES}/2147483647", json={"sla_hours": 5}, headers=centre).status_code == 404
    assert client.delete(f"{RULES}/0", headers=centre).status_code == 422


def test_writes_need_the_config_permission(client, places):
    handler = bearer(client, "cgj_handler")
    body = {"division_code": places.town.code, "category_code": CATEGORY, "department_code": "CGJ"}
    response = client.post(RULES, json=body, headers=handler)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        assert client.patch(f"{RULES}/{rule['id']}", json={"sla_hours": 5}, headers=handler).status_code == 403
        assert client.delete(f"{RULES}/{rule['id']}", headers=handler).status_code == 403
        assert client.get(RULES, headers=handler).json()[0]["sla_hours"] is None
    assert client.post(RULES, json=body).status_code == 401


def test_writes_are_audited(client, places):
    centre = bearer(client, CENTRE)
    since = utcnow()
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        client.patch(f"{RULES}/{rule['id']}", json={"department_code": "HBJ", "sla_hours": 6}, headers=centre)
    created = audit_entries(client, "cityops.dispatch_rule.create", rule["id"], since)
    updated = audit_entries(client, "cityops.dispatch_rule.update", rule["id"], since)
    deleted = audit_entries(client, "cityops.dispatch_rule.delete", rule["id"], since)
    assert [len(created), len(updated), len(deleted)] == [1, 1, 1]
    assert {e["actor_name"] for e in created + updated + deleted} == {CENTRE}
    change = json.loads(updated[0]["details"])
    assert change["before"]["department_code"] == "CGJ" and change["before"]["sla_hours"] is None
    assert change["after"]["department_code"] == "HBJ" and change["after"]["sla_hours"] == 6
    assert json.loads(deleted[0]["details"])["division_code"] == places.town.code
    refused = client.post(
        RULES,
        json={"division_code": places.town.code, "category_code": "ZZ99", "department_code": "CGJ"},
        headers=centre,
    )
    assert refused.status_code == 422  # a refused write leaves no rule and no entry claiming one
    listed = client.get(
        "/api/audit/entries",
        params={"action": "cityops.dispatch_rule.create", "since": since.isoformat()},
        headers=bearer(client, "auditor"),
    ).json()["items"]
    assert all("ZZ99" not in e["details"] for e in listed)


# ---- the page ------------------------------------------------------------------------------------------------


def _page_rules(client) -> list[dict]:
    return client.get(RULES, headers=bearer(client, CENTRE)).json()


def test_the_rules_page_for_the_command_centre(client, places):
    csrf = page_login(client, CENTRE)
    assert 'href="/cityops/rules"' in client.get("/", headers=HTML).text  # the nav entry
    assert 'href="/cityops/rules"' in client.get("/cityops/supervision", headers=HTML).text
    page = client.get("/cityops/rules", headers=HTML)
    assert page.status_code == 200
    for text in ("分拨规则", "添加规则", "类别默认分拨", "无证无照经营", f'value="{places.community.code}"'):
        assert text in page.text, text
    form = {
        "division_code": places.community.code,
        "category_code": CATEGORY,
        "department_code": "CGJ",
        "sla_hours": "6",
    }
    refused = client.post("/cityops/rules", data=form, headers=HTML)  # no CSRF token
    assert refused.status_code == 403 and _page_rules(client) == []
    added = client.post("/cityops/rules", data=form | {"csrf_token": csrf}, headers=HTML, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/cityops/rules?notice=created"
    [rule] = _page_rules(client)
    assert (rule["division_code"], rule["department_code"], rule["sla_hours"]) == (places.community.code, "CGJ", 6)
    listed = client.get("/cityops/rules", headers=HTML).text
    assert places.community.name in listed and f'action="/cityops/rules/{rule["id"]}/delete"' in listed
    assert event_in(client, places.community.code)["department_code"] == "CGJ"

    duplicate = client.post("/cityops/rules", data=form | {"csrf_token": csrf}, headers=HTML)
    assert duplicate.status_code == 409 and 'role="alert"' in duplicate.text
    assert f"{places.community.name}已有“无证无照经营”的分拨规则" in duplicate.text

    delete = f"/cityops/rules/{rule['id']}/delete"
    assert client.post(delete, data={}, headers=HTML).status_code == 403  # no CSRF token
    assert len(_page_rules(client)) == 1
    deleted = client.post(delete, data={"csrf_token": csrf}, headers=HTML, follow_redirects=False)
    assert deleted.status_code == 303 and _page_rules(client) == []
    gone = client.post(delete, data={"csrf_token": csrf}, headers=HTML)
    assert gone.status_code == 404 and "分拨规则不存在" in gone.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"category_code": ""}, "请选择事件类别"),
        ({"sla_hours": "两天"}, "时限须为 1 到 720 之间的整数小时"),
        ({"sla_hours": "0"}, "时限须为 1 到 720 之间的整数小时"),
        ({"department_code": "NOPE"}, "部门 NOPE 不存在"),
        ({"division_code": "320581999"}, "行政区划或网格 320581999 不存在"),
    ],
)
def test_bad_form_input_shows_a_message_on_the_page(client, places, fields, message):
    csrf = page_login(client, CENTRE)
    form = {"division_code": places.town.code, "category_code": CATEGORY, "department_code": "CGJ", "sla_hours": ""}
    response = client.post("/cityops/rules", data=form | fields | {"csrf_token": csrf}, headers=HTML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text and "添加规则" in response.text
    assert _page_rules(client) == []


def test_staff_without_the_config_permission_read_the_page_but_cannot_change_it(client, places):
    with dispatch_rule(client, division_code=places.town.code, department_code="CGJ") as rule:
        csrf = page_login(client, "cgj_handler")
        page = client.get("/cityops/rules", headers=HTML)
        assert page.status_code == 200 and places.town.name in page.text
        assert "添加规则" not in page.text and "/delete" not in page.text
        assert 'href="/cityops/rules"' not in client.get("/", headers=HTML).text  # no nav entry for them
        form = {"division_code": places.town.code, "category_code": "SJ02", "department_code": "CGJ"}
        assert client.post("/cityops/rules", data=form | {"csrf_token": csrf}, headers=HTML).status_code == 403
        delete = f"/cityops/rules/{rule['id']}/delete"
        assert client.post(delete, data={"csrf_token": csrf}, headers=HTML).status_code == 403
        assert len(_page_rules(client)) == 1
    page_login(client, "zhangsan")
    assert client.get("/cityops/rules", headers=HTML).status_code == 403
