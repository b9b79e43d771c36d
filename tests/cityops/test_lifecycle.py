"""The event lifecycle (standards.md §7): every transition, the refused ones, deadlines with a controlled clock."""

from datetime import timedelta

import pytest

from tests.cityops.conftest import act, bearer, report
from tests.conftest import page_login
from yiwang.cityops import service
from yiwang.cityops.schemas import EventAction, EventCreate
from yiwang.core.permissions import registry
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow


def test_happy_path_every_step_recorded(client):
    event = report(client, "zhangsan", category_code="CG01", reporter_name="张三", reporter_phone="13912345678")
    number = event["number"]
    assert event["status"] == "dispatched" and event["department_code"] == "CGJ"
    assert event["deadline"] is not None and event["reporter"] == "张三 13912345678"  # the reporter sees it clear
    staff_view = client.get(f"/api/cityops/events/{number}", headers=bearer(client, "ldz_dispatcher")).json()
    assert staff_view["reporter"] == "张* 139****5678"
    assert act(client, "cgj_handler", number, "sign").json()["status"] == "handling"
    assert act(client, "cgj_handler", number, "reply", note="已清运").json()["status"] == "replied"
    assert act(client, "ldz_dispatcher", number, "verify").json()["status"] == "verified"
    assert act(client, "ldz_dispatcher", number, "close").json()["status"] == "closed"
    rated = client.post(f"/api/cityops/events/{number}/rating", json={"rating": 5}, headers=bearer(client, "zhangsan"))
    assert rated.json()["status"] == "rated" and rated.json()["rating"] == 5
    steps = client.get(f"/api/cityops/events/{number}/transitions", headers=bearer(client, "zhangsan")).json()
    assert [s["action"] for s in steps] == [
        "create",
        "register",
        "dispatch",
        "sign",
        "reply",
        "verify",
        "close",
        "rate",
    ]
    assert [s["actor_name"] for s in steps][3:] == [
        "cgj_handler",
        "cgj_handler",
        "ldz_dispatcher",
        "ldz_dispatcher",
        "zhangsan",
    ]
    assert all(s["at"] for s in steps)


def test_refused_transitions_and_roles(client):
    number = report(client, "zhangsan", category_code="CG02")["number"]
    response = act(client, "ldz_dispatcher", number, "close")
    assert response.status_code == 409 and response.json()["error"]["code"] == "illegal_transition"
    assert act(client, "ldz_dispatcher", number, "verify").status_code == 409
    assert act(client, "ldz_dispatcher", number, "void", note="重复").status_code == 409  # already dispatched
    assert act(client, "hbj_admin", number, "sign").status_code == 403  # another department
    assert act(client, "zhangsan", number, "dispatch").status_code == 403
    assert act(client, "ldz_dispatcher", number, "sign").status_code == 403  # only the lead department signs
    assert act(client, "cgj_handler", number, "sign").status_code == 200
    assert act(client, "cgj_handler", number, "sign").status_code == 409
    assert act(client, "cgj_handler", number, "reply").status_code == 422  # a reply needs its result
    assert act(client, "cgj_handler", number, "teleport").status_code == 422
    response = client.post(f"/api/cityops/events/{number}/rating", json={"rating": 5}, headers=bearer(client, "lisi"))
    assert response.status_code == 403
    assert act(client, "cgj_handler", "SJ-19990101-000001", "sign").status_code == 404


def test_send_back_and_redispatch(client):
    number = report(client, "zhangsan", category_code="CG03", description="有人在楼顶私自搭建彩钢房")["number"]
    assert act(client, "cgj_handler", number, "send_back").status_code == 422  # reason required
    sent = act(client, "cgj_handler", number, "send_back", note="属于住建局职责").json()
    assert sent["status"] == "registered" and sent["department_code"] is None and sent["sent_back_count"] == 1
    again = act(client, "ldz_dispatcher", number, "dispatch", department_code="ZJJ", note="改派住建局").json()
    assert again["status"] == "dispatched" and again["department_code"] == "ZJJ"
    assert act(client, "cgj_handler", number, "sign").status_code == 403  # no longer CGJ's


def test_extension_requested_and_approved_or_rejected(client):
    number = report(client, "zhangsan", category_code="CG01")["number"]
    act(client, "cgj_handler", number, "sign")
    assert act(client, "ldz_dispatcher", number, "approve_extension").status_code == 409  # nothing requested
    before = client.get(f"/api/cityops/events/{number}", headers=bearer(client, "cgj_handler")).json()["deadline"]
    assert act(client, "cgj_handler", number, "request_extension", note="需要协调环卫车").status_code == 422  # hours
    assert act(client, "cgj_handler", number, "request_extension", note="需要协调环卫车", hours=24).status_code == 200
    assert act(client, "cgj_handler", number, "request_extension", note="再延", hours=24).status_code == 409
    approved = act(client, "ldz_dispatcher", number, "approve_extension").json()
    from datetime import datetime

    gained = datetime.fromisoformat(approved["deadline"]) - datetime.fromisoformat(before)
    assert gained == timedelta(hours=24)
    act(client, "cgj_handler", number, "request_extension", note="还要延", hours=12)
    rejected = act(client, "ldz_dispatcher", number, "reject_extension", note="不予延期").json()
    assert rejected["deadline"] == approved["deadline"]


def test_low_confidence_goes_to_a_dispatcher_and_void(client):
    event = report(client, "zhangsan", description="请问一下这个事情该找谁呢谢谢")
    assert event["status"] == "received" and event["needs_dispatcher"] is True
    waiting = client.get("/api/cityops/events?needs_dispatcher=true&size=200", headers=bearer(client, "ldz_dispatcher"))
    assert event["number"] in [e["number"] for e in waiting.json()["items"]]
    assert act(client, "ldz_dispatcher", event["number"], "void").status_code == 422  # reason required
    voided = act(client, "ldz_dispatcher", event["number"], "void", note="咨询类，非城市事件").json()
    assert voided["status"] == "voided"
    other = report(client, "zhangsan", description="请问一下这个事情该找谁呢谢谢")
    assert act(client, "ldz_dispatcher", other["number"], "register").status_code == 422  # needs a category
    registered = act(client, "ldz_dispatcher", other["number"], "register", category_code="SW02").json()
    assert registered["status"] == "registered"
    dispatched = act(client, "ldz_dispatcher", other["number"], "dispatch").json()
    assert dispatched["department_code"] == "SWJ"


def test_joint_handling(client):
    number = report(client, "zhangsan", category_code="HB04", description="河里有人偷排污水，水都黑了")["number"]
    assert act(client, "hbj_admin", number, "assist_done").status_code == 403  # the lead is not an assistant
    assert act(client, "ldz_dispatcher", number, "add_assist", department_code="SWJ").status_code == 200
    assert act(client, "ldz_dispatcher", number, "add_assist", department_code="SWJ").status_code == 409
    assert act(client, "ldz_dispatcher", number, "add_assist", department_code="HBJ").status_code == 409  # the lead
    act(client, "hbj_admin", number, "sign")
    event = client.get(f"/api/cityops/events/{number}", headers=bearer(client, "hbj_admin")).json()
    assert event["department_code"] == "HBJ" and event["assisting"] == ["SWJ"]


def test_bad_rating_reopens(client):
    number = report(client, "lisi", category_code="CG04", description="楼道里贴满了小广告")["number"]
    for user, action, note in (
        ("cgj_handler", "sign", None),
        ("cgj_handler", "reply", "已清除"),
        ("ldz_dispatcher", "verify", None),
        ("ldz_dispatcher", "close", None),
    ):
        assert act(client, user, number, action, note=note).status_code == 200
    assert (
        client.post(
            f"/api/cityops/events/{number}/rating", json={"rating": 9}, headers=bearer(client, "lisi")
        ).status_code
        == 422
    )
    reopened = client.post(
        f"/api/cityops/events/{number}/rating",
        json={"rating": 1, "comment": "根本没清"},
        headers=bearer(client, "lisi"),
    ).json()
    assert reopened["status"] == "handling" and reopened["reopen_count"] == 1 and reopened["rating"] == 1
    steps = client.get(f"/api/cityops/events/{number}/transitions", headers=bearer(client, "lisi")).json()
    assert [s["action"] for s in steps][-2:] == ["rate", "reopen"]
    assert act(client, "cgj_handler", number, "reply", note="已再次清除").status_code == 200


def _centre() -> Principal:
    return Principal(
        user_id=None,
        username="test:centre",
        display_name="测试中心",
        kind="staff",
        permissions=frozenset(registry.permissions),
    )


def test_deadlines_warning_escalation_with_a_controlled_clock(runtime):
    start = utcnow() - timedelta(days=400)  # far in the past so the real clock never interferes
    with runtime.db.unit_of_work() as db:
        event = service.create_event(
            db,
            actor=_centre(),
            cipher=runtime.cipher,
            now=start,
            data=EventCreate(
                description="路口红绿灯坏了", category_code="GA01", source="hotline", division_code="320581001"
            ),
        )
        number, deadline = event.number, event.deadline
    assert deadline == start + timedelta(hours=12)
    with runtime.db.unit_of_work() as db:
        service.check_deadlines(db, now=start + timedelta(hours=8))
        assert not service.get_event_row(db, actor=_centre(), number=number).warned
        with pytest.raises(Exception, match="超期"):
            service.act(
                db, actor=_centre(), number=number, data=EventAction(action="supervise"), now=start + timedelta(hours=8)
            )
    with runtime.db.unit_of_work() as db:
        result = service.check_deadlines(db, now=start + timedelta(hours=10))  # less than a fifth left
        assert result["warned"] >= 1
        assert service.get_event_row(db, actor=_centre(), number=number).warned
    with runtime.db.unit_of_work() as db:
        service.check_deadlines(db, now=start + timedelta(hours=13))
        event = service.get_event_row(db, actor=_centre(), number=number)
        assert event.escalated and event.supervised
        actions = [t.action for t in service.transitions(db, event_id=event.id)]
        assert actions.count("warn") == 1 and actions.count("escalate") == 1
    with runtime.db.unit_of_work() as db:
        service.check_deadlines(db, now=start + timedelta(hours=20))  # idempotent
        event = service.get_event_row(db, actor=_centre(), number=number)
        assert [t.action for t in service.transitions(db, event_id=event.id)].count("escalate") == 1
        service.act(
            db,
            actor=_centre(),
            number=number,
            data=EventAction(action="supervise", note="请速办"),
            now=start + timedelta(hours=20),
        )
        late = service.supervision(db, now=start + timedelta(hours=20))
        assert any(e.number == number for events in late["late"].values() for e in events)
        assert "公安局" in late["late"]


def test_on_time_rate_and_figures(runtime, client):
    since = utcnow() - timedelta(seconds=1)
    centre = _centre()
    base = utcnow() - timedelta(days=3)
    numbers = []
    with runtime.db.unit_of_work() as db:
        for i, late in enumerate((False, False, False, True)):
            t = base + timedelta(minutes=i)
            e = service.create_event(
                db,
                actor=centre,
                cipher=runtime.cipher,
                now=t,
                data=EventCreate(description="学校乱收费", category_code="JY01", source="hotline"),
            )
            numbers.append(e.number)
            e.created_at = since + timedelta(milliseconds=1)
            done = e.deadline + timedelta(hours=1) if late else t + timedelta(hours=1)
            service.act(db, actor=centre, number=e.number, data=EventAction(action="sign"), now=t)
            service.act(db, actor=centre, number=e.number, data=EventAction(action="reply", note="已处理"), now=done)
            service.act(db, actor=centre, number=e.number, data=EventAction(action="verify"), now=done)
            service.act(db, actor=centre, number=e.number, data=EventAction(action="close"), now=done)
    with runtime.db.unit_of_work() as db:
        rows = {r.key: r for r in service.figures(db, by="category", since=since)}
    assert rows["JY01"].closed == 4 and rows["JY01"].on_time == 3 and rows["JY01"].on_time_rate == 0.75
    assert rows["ALL"].name == "全市"
    api = client.get("/api/cityops/figures?by=department", headers=bearer(client, "leader")).json()
    assert api[0]["key"] == "ALL" and {"on_time_rate", "satisfaction", "sent_back_rate", "reopen_rate"} <= set(api[0])
    assert client.get("/api/cityops/figures?by=colour", headers=bearer(client, "leader")).status_code == 422
    assert client.get("/api/cityops/figures", headers=bearer(client, "zhangsan")).status_code == 403


def test_department_scope_on_events(client):
    cg = report(client, "zhangsan", category_code="CG05")["number"]
    hb = report(client, "zhangsan", category_code="HB02", description="工厂机器晚上很吵")["number"]
    cgj = bearer(client, "cgj_handler")
    assert client.get(f"/api/cityops/events/{cg}", headers=cgj).status_code == 200
    response = client.get(f"/api/cityops/events/{hb}", headers=cgj)
    assert response.status_code == 403 and response.json()["error"]["code"] == "department_scope"
    listed = [e["number"] for e in client.get("/api/cityops/events?size=200", headers=cgj).json()["items"]]
    assert cg in listed and hb not in listed
    assert all(
        e["department_code"] in ("CGJ", "CGJ_ZFDD")
        for e in client.get("/api/cityops/events?size=200", headers=cgj).json()["items"]
    )
    # a sub-unit handler sees its own unit's events only; the centre and leaders see everything
    assert client.get(f"/api/cityops/events/{hb}", headers=bearer(client, "ldz_dispatcher")).status_code == 200
    assert client.get(f"/api/cityops/events/{hb}", headers=bearer(client, "lisi")).status_code == 403
    mine = client.get("/api/cityops/events?mine=true", headers=bearer(client, "zhangsan")).json()["items"]
    assert {cg, hb} <= {e["number"] for e in mine}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"description": "短"}, 422),
        ({"description": "正常的描述文字", "colour": 1}, 422),
        ({"description": "正常的描述文字", "category_code": "ZZ99"}, 422),
        ({"description": "正常的描述文字", "division_code": "999"}, 422),
        ({"description": "正常的描述文字", "lon": 500}, 422),
        ({"description": "正常的描述文字", "reporter_phone": "123"}, 422),
        ({"description": "正常的描述文字", "source": "hotline"}, 403),
        ({"description": ["x"]}, 422),
    ],
)
def test_bad_event_payloads(client, body, status):
    response = client.post("/api/cityops/events", json=body, headers=bearer(client, "zhangsan"))
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_pages_and_workbench(client):
    number = report(client, "zhangsan", category_code="CG06", description="路灯坏了一个星期")["number"]
    page_login(client, "cgj_handler")
    html = {"accept": "text/html"}
    assert number in client.get("/workbench", headers=html).text
    for path in ("/cityops", f"/cityops/events/{number}", "/cityops/report", "/cityops/figures"):
        assert client.get(path, headers=html).status_code == 200, path
    assert client.get("/cityops/supervision", headers=html).status_code == 403
    page_login(client, "ldz_dispatcher")
    assert client.get("/cityops/supervision", headers=html).status_code == 200


def test_citizen_report_form_and_progress(client):
    csrf = page_login(client, "lisi")
    html = {"accept": "text/html"}
    response = client.post(
        "/cityops/report",
        data={"description": "河面上漂了好多垃圾没人捞", "division_code": "320581101", "csrf_token": csrf},
        headers=html,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/cityops/mine")
    mine = client.get("/cityops/mine", headers=html)
    assert "河面上漂了好多垃圾" in mine.text
    bad = client.post("/cityops/report", data={"description": "x", "csrf_token": csrf}, headers=html)
    assert bad.status_code == 422
    no_csrf = client.post("/cityops/report", data={"description": "河面上漂了好多垃圾"}, headers=html)
    assert no_csrf.status_code == 403
