"""The approval workflow: parallel department tasks, refusal, supplements pausing the clock, scope, ratings."""

from datetime import timedelta

import pytest

from tests.conftest import bearer
from tests.onestop.conftest import ShopBundle, apply_bundle
from yiwang.core import workdays
from yiwang.onestop import clock


def tasks_by_department(application):
    return {t["department_code"]: t for t in application["tasks"]}


def act(client, headers, task_id, action, json=None):
    response = client.post(f"/api/onestop/tasks/{task_id}/{action}", headers=headers, json=json)
    assert response.status_code == 200, response.text
    return response.json()


def finish(client, headers, task_id, decision="approved", reason=None):
    act(client, headers, task_id, "accept")
    act(client, headers, task_id, "review")
    act(client, headers, task_id, "decide", {"decision": decision, "reason": reason})
    return act(client, headers, task_id, "complete")


@pytest.fixture
def application(client, bundle: ShopBundle):
    _, response = apply_bundle(client, bundle)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_bundle_fans_out_into_parallel_department_tasks(application):
    tasks = tasks_by_department(application)
    assert set(tasks) == {"SPJ", "CGJ"}
    assert all(t["stage"] == "received" for t in tasks.values())
    start = tasks["SPJ"]["start_date"]
    assert tasks["SPJ"]["due_date"] == workdays.add_working_days(_d(start), 3).isoformat()
    assert tasks["CGJ"]["due_date"] == workdays.add_working_days(_d(start), 5).isoformat()


def _d(text):
    from datetime import date

    return date.fromisoformat(text)


def test_bundle_completes_only_when_all_complete_and_a_refusal_is_visible_to_all(client, application):
    zhang = bearer(client, "zhangsan")
    spj, cgj = bearer(client, "spj_handler"), bearer(client, "cgj_handler")
    tasks = tasks_by_department(application)
    done = finish(client, spj, tasks["SPJ"]["id"])
    assert done["stage"] == "done" and len(done["certificates"]) == 1  # the shop licence
    state = client.get(f"/api/onestop/applications/{application['number']}", headers=zhang).json()
    assert state["status"] == "processing"  # CGJ still working
    wallet = client.get("/api/certs/wallet", headers=zhang).json()
    assert done["certificates"][0] in {c["identifier"] for c in wallet}
    act(client, cgj, tasks["CGJ"]["id"], "accept")
    act(client, cgj, tasks["CGJ"]["id"], "review")
    refused = act(client, cgj, tasks["CGJ"]["id"], "decide", {"decision": "refused", "reason": "店招尺寸超出街区导则"})
    assert refused["decision"] == "refused"
    sibling = client.get(f"/api/onestop/tasks/{tasks['SPJ']['id']}", headers=spj).json()
    assert any(e["action"] == "联办部门不予许可" and "店招尺寸超出街区导则" in e["note"] for e in sibling["events"])
    seen = client.get(f"/api/onestop/applications/{application['number']}", headers=zhang).json()
    assert tasks_by_department(seen)["CGJ"]["decision_reason"] == "店招尺寸超出街区导则"
    notes = client.get("/api/onestop/notifications", headers=zhang).json()
    assert any("不予许可" in n["title"] for n in notes)
    act(client, cgj, tasks["CGJ"]["id"], "complete")
    final = client.get(f"/api/onestop/applications/{application['number']}", headers=zhang).json()
    assert final["status"] == "completed" and final["outcome"] == "partly_refused" and final["can_rate"]


def test_refusal_needs_reasons_and_steps_keep_their_order(client, application):
    cgj = bearer(client, "cgj_handler")
    task = tasks_by_department(application)["CGJ"]["id"]
    wrong = client.post(f"/api/onestop/tasks/{task}/decide", headers=cgj, json={"decision": "approved"})
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "wrong_stage"
    act(client, cgj, task, "accept")
    act(client, cgj, task, "review")
    no_reason = client.post(f"/api/onestop/tasks/{task}/decide", headers=cgj, json={"decision": "refused"})
    assert no_reason.status_code == 422


def test_handlers_see_and_touch_only_their_departments_tasks(client, application):
    spj, cgj = bearer(client, "spj_handler"), bearer(client, "cgj_handler")
    tasks = tasks_by_department(application)
    assert client.get(f"/api/onestop/tasks/{tasks['SPJ']['id']}", headers=cgj).status_code == 403
    assert client.post(f"/api/onestop/tasks/{tasks['CGJ']['id']}/accept", headers=spj).status_code == 403
    cgj_queue = client.get("/api/onestop/tasks", headers=cgj).json()
    assert {t["department_code"] for t in cgj_queue} <= {"CGJ", "CGJ_ZFDD"}
    assert tasks["CGJ"]["id"] in {t["id"] for t in cgj_queue}
    assert tasks["SPJ"]["id"] in {t["id"] for t in client.get("/api/onestop/tasks", headers=spj).json()}
    assert client.get("/api/onestop/tasks", headers=bearer(client, "zhangsan")).status_code == 403
    # another citizen cannot read the application
    assert (
        client.get(f"/api/onestop/applications/{application['number']}", headers=bearer(client, "lisi")).status_code
        == 403
    )


def test_a_supplement_request_lists_everything_once_and_pauses_the_clock(client, application, monkeypatch):
    spj, zhang = bearer(client, "spj_handler"), bearer(client, "zhangsan")
    task = tasks_by_department(application)["SPJ"]
    before_due = _d(task["due_date"])
    paused = act(
        client,
        spj,
        task["id"],
        "supplement",
        {"items": [{"name": "平面图", "reason": "缺少比例尺"}, {"name": "店名", "reason": "与名称申报不一致"}]},
    )
    assert paused["stage"] == "supplement" and paused["paused"] and len(paused["supplement_list"]) == 2
    twice = client.post(
        f"/api/onestop/tasks/{task['id']}/supplement", headers=spj, json={"items": [{"name": "x", "reason": "y"}]}
    )
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "supplement_once"
    state = client.get(f"/api/onestop/applications/{application['number']}", headers=zhang).json()
    assert state["status"] == "supplement"
    # twelve calendar days pass while the applicant gathers the documents: none of them count
    later = clock.today() + timedelta(days=12)
    monkeypatch.setattr(clock, "today", lambda: later)
    paused_days = workdays.working_days_between(later - timedelta(days=12), later)
    queued = {t["id"]: t for t in client.get("/api/onestop/tasks", headers=spj, params={"stage": "supplement"}).json()}
    assert queued[task["id"]]["overdue"] is False  # the clock is stopped
    response = client.post(
        f"/api/onestop/applications/{application['number']}/supplement",
        headers=zhang,
        json={"note": "已按要求补正", "form": {"shop_name": "虞山面馆（补正）"}},
    )
    assert response.status_code == 200, response.text
    resumed = tasks_by_department(response.json())["SPJ"]
    assert resumed["stage"] == "received" and resumed["paused_days"] == paused_days
    assert _d(resumed["due_date"]) == workdays.add_working_days(before_due, paused_days)
    assert response.json()["status"] == "processing"


def test_overdue_tasks_are_marked(client, application, monkeypatch):
    spj = bearer(client, "spj_handler")
    task = tasks_by_department(application)["SPJ"]
    later = _d(task["due_date"]) + timedelta(days=3)
    monkeypatch.setattr(clock, "today", lambda: later)
    queued = {t["id"]: t for t in client.get("/api/onestop/tasks", headers=spj, params={"overdue": True}).json()}
    assert queued[task["id"]]["overdue"] is True and queued[task["id"]]["remaining_days"] < 0


def test_a_bad_rating_opens_a_follow_up_due_in_15_working_days(client, application):
    zhang, spj, cgj = bearer(client, "zhangsan"), bearer(client, "spj_handler"), bearer(client, "cgj_handler")
    number = application["number"]
    early = client.post(f"/api/onestop/applications/{number}/rating", headers=zhang, json={"score": 1})
    assert early.status_code == 409  # only after completion
    tasks = tasks_by_department(application)
    finish(client, spj, tasks["SPJ"]["id"])
    finish(client, cgj, tasks["CGJ"]["id"])
    rated = client.post(
        f"/api/onestop/applications/{number}/rating", headers=zhang, json={"score": 2, "comment": "等待太久"}
    )
    assert rated.status_code == 201 and rated.json()["followup_id"]
    followups = {f["id"]: f for f in client.get("/api/onestop/followups", headers=spj).json()}
    followup = followups[rated.json()["followup_id"]]
    assert followup["due_date"] == workdays.add_working_days(clock.today(), 15).isoformat()
    assert followup["department_code"] == "SPJ"  # the bundle's lead department
    assert rated.json()["followup_id"] not in {
        f["id"] for f in client.get("/api/onestop/followups", headers=cgj).json()
    }
    again = client.post(f"/api/onestop/applications/{number}/rating", headers=zhang, json={"score": 5})
    assert again.status_code == 409
    closed = client.post(
        f"/api/onestop/followups/{followup['id']}/close", headers=spj, json={"resolution": "已优化窗口排班并电话回访"}
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_a_good_rating_opens_nothing(client, application):
    zhang = bearer(client, "zhangsan")
    tasks = tasks_by_department(application)
    finish(client, bearer(client, "spj_handler"), tasks["SPJ"]["id"])
    finish(client, bearer(client, "cgj_handler"), tasks["CGJ"]["id"])
    rated = client.post(f"/api/onestop/applications/{application['number']}/rating", headers=zhang, json={"score": 5})
    assert rated.status_code == 201 and rated.json()["followup_id"] is None


def test_rating_scores_are_bounded(client, application):
    response = client.post(
        f"/api/onestop/applications/{application['number']}/rating",
        headers=bearer(client, "zhangsan"),
        json={"score": 6},
    )
    assert response.status_code == 422


def test_handlers_see_their_tasks_on_the_workbench_and_pages(client, application):
    from tests.conftest import page_login

    page_login(client, "spj_handler")
    workbench = client.get("/workbench", headers={"accept": "text/html"})
    assert application["number"] in workbench.text and "一网通办" in workbench.text
    task = tasks_by_department(application)["SPJ"]["id"]
    page = client.get(f"/onestop/tasks/{task}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "受理" in page.text and "联办部门" in page.text
    queue = client.get("/onestop/tasks", headers={"accept": "text/html"})
    assert application["number"] in queue.text


def test_indicator_figures_come_from_the_records(client, admin_headers):
    leader = bearer(client, "leader")
    before = client.get("/api/onestop/indicators", headers=leader).json()
    assert before["bundle_count"] >= 6 and 0 < before["online_rate"] <= 100
    assert before["exempt_material_items"] >= 1 and before["entry_point_services"] >= 1
    code = "FIG-" + __import__("secrets").token_hex(3).upper()
    client.post(
        "/api/onestop/items",
        headers=admin_headers,
        json={
            "code": code,
            "basic_code": code,
            "department_code": "SPJ",
            "name": "指标测试事项",
            "online": False,
            "entry_point": True,
            "materials": [{"key": "hh", "name": "户籍", "source": "database", "database": "population"}],
        },
    )
    after = client.get("/api/onestop/indicators", headers=leader).json()
    assert after["active_items"] == before["active_items"] + 1
    assert after["online_items"] == before["online_items"]
    assert after["exempt_material_items"] == before["exempt_material_items"] + 1
    # indicator 6 counts waivers that happened: an item no one has applied for yet is not among them
    assert after["waived_material_items"] == before["waived_material_items"]
    assert after["entry_point_services"] == before["entry_point_services"] + 1
    assert client.get("/api/onestop/indicators", headers=bearer(client, "zhangsan")).status_code == 403
    page = client.get("/onestop/figures", headers={**leader, "accept": "text/html"})
    assert page.status_code == 200 and "可网办率" in page.text


def test_completion_issues_certificates_as_the_types_department_not_as_the_approver(client, bundle, types, runtime):
    """An item of CGJ made to produce a 居民身份证 cannot get CGJ's handler to sign one on completion."""
    from sqlalchemy import text

    with runtime.db.engine.begin() as conn:  # configured before the catalog checked producers
        conn.execute(
            text("UPDATE onestop_item SET produces_type_code = :t WHERE code = :c"),
            {"t": types["居民身份证"], "c": bundle.sign_item},
        )
    zhang, response = apply_bundle(client, bundle)
    assert response.status_code == 201, response.text
    task = tasks_by_department(response.json())["CGJ"]
    cgj = bearer(client, "cgj_handler")
    act(client, cgj, task["id"], "accept")
    act(client, cgj, task["id"], "review")
    act(client, cgj, task["id"], "decide", {"decision": "approved"})
    refused = client.post(f"/api/onestop/tasks/{task['id']}/complete", headers=cgj)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["details"] == {"issuer": "GAJ"}
    assert client.get(f"/api/onestop/tasks/{task['id']}", headers=cgj).json()["stage"] == "decided"
    wallet = client.get("/api/certs/wallet", headers=zhang).json()
    assert not [c for c in wallet if c["source"] == response.json()["number"]]


def test_an_item_may_only_produce_certificates_its_department_issues(client, admin_headers, types):
    item = {
        "code": "T-CGJ-ID",
        "basic_code": "T-CGJ-ID",
        "department_code": "CGJ",
        "name": "测试：城管事项产生身份证",
        "produces_type_code": types["居民身份证"],
    }
    response = client.post("/api/onestop/items", headers=admin_headers, json=item)
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_type_issuer"
    assert "GAJ" in response.json()["error"]["message"]
