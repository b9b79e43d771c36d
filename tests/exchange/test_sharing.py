"""Sharing flows: unconditional, conditional (provider then bureau), refusals, 不予共享, working-day
deadlines, grants with masking, revocation and expiry, and the data API with its log and headers."""

from datetime import date, timedelta

import pytest

from tests.catalog.helpers import VALID_ID
from tests.conftest import bearer, token_for, unique
from tests.exchange.conftest import END, ROWS, apply_for, client_token
from yiwang.core.crypto import suite_for_hash
from yiwang.core.timeutil import local_today
from yiwang.demo.loader import DEMO_CLIENT_SECRET


def test_unconditional_sharing_is_granted_at_once_and_the_client_reads_exactly_the_granted_fields_masked(
    client, mounted
):
    code = mounted()
    application = apply_for(client, code, ["person_id", "name", "id_number"])
    assert application.status_code == 201, application.text
    assert application.json()["status"] == "granted" and application.json()["provider_due"] is None
    grant_id = application.json()["grant_id"]
    headers = client_token(client)
    response = client.get(f"/api/exchange/data/{grant_id}", params={"page": 1, "size": 100}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 250 and len(body["rows"]) == 100
    assert body["fields"] == ["person_id", "name", "id_number"]
    for row in body["rows"]:
        assert set(row) == {"person_id", "name", "id_number"}
        assert row["id_number"] == "110105********002X"
        assert row["name"].startswith("张") and set(row["name"][1:]) == {"*"}
    assert response.headers["x-request-id"]
    algorithm, _, digest = response.headers["x-content-digest"].partition("=")
    assert digest == suite_for_hash(algorithm).hexdigest(response.content)
    last = client.get(f"/api/exchange/data/{grant_id}", params={"page": 3, "size": 100}, headers=headers).json()
    assert len(last["rows"]) == 50 and last["rows"][0]["person_id"] == "P201"
    calls = client.get(f"/api/exchange/grants/{grant_id}/calls", headers=bearer(client, "hbj_steward")).json()
    assert [c["rows"] for c in calls[:2]] == [50, 100]
    assert calls[1]["body_digest"] == digest and calls[1]["body_digest_algorithm"] == algorithm
    assert (
        calls[1]["request_id"] == response.headers["x-request-id"] and calls[1]["caller_name"] == "demo-exchange-client"
    )
    assert calls[1]["query"] == f"grant={grant_id}&page=1&size=100" and calls[1]["duration_ms"] >= 0
    usage = {u["grant_id"]: u for u in client.get("/api/exchange/usage", headers=bearer(client, "admin")).json()}
    assert usage[grant_id]["calls"] == 2 and usage[grant_id]["rows"] == 150


@pytest.mark.parametrize(
    "fields", [["person_id", "mobile"], ["birth_date", "score"], ["name", "town", "mobile", "id_number"]]
)
def test_a_consumer_never_receives_an_ungranted_or_unmasked_field(client, mounted, fields):
    code = mounted()
    grant_id = apply_for(client, code, fields).json()["grant_id"]
    body = client.get(f"/api/exchange/data/{grant_id}", params={"size": 250}, headers=client_token(client)).json()
    raw = {
        r[0]: dict(zip(["person_id", "name", "id_number", "mobile", "birth_date", "town", "score"], r, strict=True))
        for r in ROWS
    }
    for row in body["rows"]:
        assert set(row) == set(fields)
        original = raw[row.get("person_id")] if "person_id" in row else None
        if "mobile" in row:
            assert "****" in row["mobile"] and row["mobile"][:3] == "138"
        if "id_number" in row:
            assert row["id_number"] != VALID_ID
        if "name" in row:
            assert "*" in row["name"]
        if "birth_date" in row:
            assert row["birth_date"] == "1949"  # generalised to the year, as the catalog says
        if original and "mobile" in row:
            assert row["mobile"] != original["mobile"]


def test_conditional_sharing_goes_to_the_provider_then_the_bureau(client, mounted):
    code = mounted(sharing_type="有条件共享")
    application = apply_for(client, code, ["person_id", "mobile"], user="cgj_admin").json()
    assert application["status"] == "pending_provider" and application["grant_id"] is None
    due = date.fromisoformat(application["provider_due"])
    assert due > local_today() + timedelta(days=10)  # ten working days span at least two weekends
    app_id = application["id"]
    cgj = bearer(client, "cgj_admin")
    assert (
        client.post(
            f"/api/exchange/applications/{app_id}/provider-decision", json={"approve": True}, headers=cgj
        ).status_code
        == 403
    )
    provider = bearer(client, "hbj_admin")
    answered = client.post(
        f"/api/exchange/applications/{app_id}/provider-decision",
        json={"approve": True, "reason": "同意"},
        headers=provider,
    )
    assert answered.json()["status"] == "pending_bureau"
    not_bureau = client.post(
        f"/api/exchange/applications/{app_id}/bureau-decision", json={"approve": True}, headers=provider
    )
    assert not_bureau.status_code == 403
    granted = client.post(
        f"/api/exchange/applications/{app_id}/bureau-decision",
        json={"approve": True, "masking": {"mobile": "pseudonym"}},
        headers=bearer(client, "admin"),
    )
    assert granted.json()["status"] == "granted"
    grants = {g["id"]: g for g in client.get("/api/exchange/grants", headers=provider).json()}
    assert grants[granted.json()["grant_id"]]["masking"] == {"person_id": "none", "mobile": "pseudonym"}


def test_refusals_carry_reasons(client, mounted):
    code = mounted(sharing_type="有条件共享")
    app_id = apply_for(client, code, ["name"], user="cgj_admin").json()["id"]
    provider = bearer(client, "hbj_steward")
    no_reason = client.post(
        f"/api/exchange/applications/{app_id}/provider-decision", json={"approve": False}, headers=provider
    )
    assert no_reason.status_code == 422
    refused = client.post(
        f"/api/exchange/applications/{app_id}/provider-decision",
        json={"approve": False, "reason": "超出法定职责范围"},
        headers=provider,
    ).json()
    assert refused["status"] == "refused" and refused["refusal_reason"] == "提供部门：超出法定职责范围"
    second = apply_for(client, code, ["name"], user="cgj_admin").json()["id"]
    client.post(f"/api/exchange/applications/{second}/provider-decision", json={"approve": True}, headers=provider)
    bureau = client.post(
        f"/api/exchange/applications/{second}/bureau-decision",
        json={"approve": False, "reason": "已有替代数据"},
        headers=bearer(client, "dsj_steward"),
    ).json()
    assert bureau["status"] == "refused" and "已有替代数据" in bureau["refusal_reason"]


def test_not_shared_resources_cannot_be_applied_for_and_fields_must_exist(client, mounted):
    code = mounted(sharing_type="不予共享")
    refused = apply_for(client, code, ["name"])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "not_shareable"
    other = mounted()
    assert apply_for(client, other, ["name", "salary"]).status_code == 422
    assert apply_for(client, other, ["name"], period_end=local_today().isoformat()).status_code == 422


def test_revoked_and_expired_grants_are_refused_and_the_refusals_logged(client, mounted, runtime):
    from yiwang.core.timeutil import utcnow
    from yiwang.exchange.models import ShareGrant

    code = mounted()
    headers = client_token(client)
    revoked_id = apply_for(client, code, ["person_id"]).json()["grant_id"]
    assert client.get(f"/api/exchange/data/{revoked_id}", headers=headers).status_code == 200
    revoke = client.post(
        f"/api/exchange/grants/{revoked_id}/revoke", json={"reason": "项目结束"}, headers=bearer(client, "hbj_admin")
    )
    assert revoke.status_code == 200 and not revoke.json()["active"]
    denied = client.get(f"/api/exchange/data/{revoked_id}", headers=headers)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "grant_inactive"
    expired_id = apply_for(client, code, ["person_id"]).json()["grant_id"]
    with runtime.db.unit_of_work() as db:
        db.get(ShareGrant, expired_id).expires_at = utcnow() - timedelta(seconds=1)
    assert client.get(f"/api/exchange/data/{expired_id}", headers=headers).status_code == 403
    calls = client.get(f"/api/exchange/grants/{revoked_id}/calls", headers=bearer(client, "admin")).json()
    assert [c["status_code"] for c in calls] == [403, 200]


def test_only_the_consumer_departments_client_reads_a_grant(client, mounted, runtime):
    from yiwang.catalog.demo import demo_actor
    from yiwang.org import service as org_service
    from yiwang.org.schemas import UserCreate

    code = mounted()
    grant_id = apply_for(client, code, ["person_id"]).json()["grant_id"]  # DSJ is the consumer
    client_id, secret = unique("cgj-client-"), "cgj-secret-" + unique()
    with runtime.db.unit_of_work() as db:
        org_service.create_account(
            db,
            actor=demo_actor(),
            cipher=runtime.cipher,
            enforce_password_policy=False,
            data=UserCreate(
                username=client_id,
                kind="system",
                display_name="城管系统",
                password=secret,
                department_code="CGJ",
                scopes=["org.department.read", "exchange.data.read"],
            ),
        )
    other = client.get(f"/api/exchange/data/{grant_id}", headers=client_token(client, client_id, secret))
    assert other.status_code == 403 and other.json()["error"]["code"] == "grant_not_yours"
    assert client.get(f"/api/exchange/data/{grant_id}").status_code == 401
    bad_page = client.get(f"/api/exchange/data/{grant_id}", params={"size": 0}, headers=client_token(client))
    assert bad_page.status_code == 422


def test_the_provider_deadline_honours_a_calendar_override(client, mounted, runtime, admin_headers):
    from sqlalchemy import delete

    from yiwang.core.workdays import CalendarOverride, add_working_days

    code = mounted(sharing_type="有条件共享")
    today = local_today()
    next_working_day = add_working_days(today, 1)
    declared = client.put(
        "/api/onestop/calendar",
        headers=admin_headers,
        json={"day": next_working_day.isoformat(), "workday": False, "note": "测试调休"},
    )
    assert declared.status_code == 204
    try:
        application = apply_for(client, code, ["person_id"], user="cgj_admin").json()
        due = date.fromisoformat(application["provider_due"])
        assert due == add_working_days(today, 10, {next_working_day: False})
        assert due > add_working_days(today, 10)
    finally:
        with runtime.db.unit_of_work() as db:
            db.execute(delete(CalendarOverride).where(CalendarOverride.day == next_working_day))


def test_working_days_follow_the_official_calendar():
    from yiwang.core.workdays import add_working_days
    from yiwang.core.workdays import is_workday as is_working_day

    assert not is_working_day(date(2026, 10, 1))  # National Day
    assert is_working_day(date(2026, 11, 30))
    # From 2026-09-30, ten working days skip the National Day holiday week.
    assert add_working_days(date(2026, 9, 30), 10) > date(2026, 10, 14)
    assert add_working_days(date(2027, 3, 5), 1) == date(2027, 3, 8)  # beyond the calendar: Monday to Friday


def test_exchange_pages_render(client, mounted):
    from tests.conftest import page_login

    code = mounted(sharing_type="有条件共享")
    app_id = apply_for(client, code, ["name"], user="cgj_admin").json()["id"]
    page_login(client, "hbj_admin")
    html = {"accept": "text/html"}
    overview = client.get("/exchange", headers=html)
    assert overview.status_code == 200 and "待我处理" in overview.text
    assert f"/exchange/applications/{app_id}" in overview.text
    detail = client.get(f"/exchange/applications/{app_id}", headers=html)
    assert "提供部门答复" in detail.text and "10个工作日" in detail.text


def test_the_apply_page_takes_a_row_filter(client, mounted):
    from tests.conftest import csrf_from, page_login

    code = mounted(sharing_type="有条件共享")
    page_login(client, "cgj_admin")
    html = {"accept": "text/html"}
    form = client.get(f"/exchange/apply/{code}", headers=html)
    assert form.status_code == 200 and 'name="filter_field"' in form.text
    base = {
        "csrf_token": csrf_from(form.text),
        "fields": ["name", "town"],
        "purpose": "按镇街核对名单",
        "period_end": END,
    }

    def submit(filter_field: list[str], filter_values: list[str]):
        data = base | {"filter_field": filter_field, "filter_values": filter_values}
        return client.post(f"/exchange/apply/{code}", data=data, headers=html, follow_redirects=False)

    made = submit(["town", "score", ""], ["虞山街道", "1，2、3", ""])
    assert made.status_code == 303, made.text
    detail = client.get(made.headers["location"], headers=html)
    assert "town = 虞山街道；score = 1、2、3" in detail.text
    application_id = made.headers["location"].split("?")[0].rsplit("/", 1)[1]
    application = client.get(f"/api/exchange/applications/{application_id}", headers=bearer(client, "cgj_admin")).json()
    assert application["row_filter"] == {"town": "虞山街道", "score": ["1", "2", "3"]}
    no_values = submit(["town"], ["  "])
    assert no_values.status_code == 422 and "须填写取值" in no_values.text
    unknown = submit(["no_such_field"], ["x"])
    assert unknown.status_code == 422 and "行筛选字段" in unknown.text


def _narrowed_token(client, grant_type: str, scope: str) -> dict[str, str]:
    if grant_type == "password":
        token = token_for(client, "dsj_steward", scope=scope)
    else:
        response = client.post(
            "/api/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "demo-exchange-client",
                "client_secret": DEMO_CLIENT_SECRET,
                "scope": scope,
            },
        )
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("grant_type", ["password", "client_credentials"])
def test_a_token_narrowed_to_another_scope_cannot_read_granted_data(client, mounted, grant_type):
    """A consumer-department token asked for with scope=org.division.read is refused by the data API."""
    code = mounted()
    grant_id = apply_for(client, code, ["person_id", "name", "id_number"]).json()["grant_id"]  # DSJ consumes
    narrowed = _narrowed_token(client, grant_type, "org.division.read")
    response = client.get(f"/api/exchange/data/{grant_id}", params={"size": 250}, headers=narrowed)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "permission_denied"
    assert response.json()["error"]["details"] == {"missing": ["exchange.data.read"]}
    assert "rows" not in response.json()
    calls = client.get(f"/api/exchange/grants/{grant_id}/calls", headers=bearer(client, "admin")).json()
    assert [(c["status_code"], c["rows"]) for c in calls] == [(403, 0)]  # the refusal is logged
    allowed = _narrowed_token(client, grant_type, "exchange.data.read")
    assert client.get(f"/api/exchange/data/{grant_id}", headers=allowed).status_code == 200


def test_an_account_without_the_data_read_permission_cannot_read_granted_data(client, mounted, runtime):
    """Being in the consumer department is not enough: the account must hold exchange.data.read."""
    from yiwang.catalog.demo import demo_actor
    from yiwang.org import service as org_service
    from yiwang.org.schemas import UserCreate

    code = mounted()
    grant_id = apply_for(client, code, ["person_id"]).json()["grant_id"]
    client_id, secret = unique("dsj-portal-"), "dsj-secret-" + unique()
    with runtime.db.unit_of_work() as db:
        org_service.create_account(
            db,
            actor=demo_actor(),
            cipher=runtime.cipher,
            enforce_password_policy=False,
            data=UserCreate(
                username=client_id,
                kind="system",
                display_name="大数据局门户",
                password=secret,
                department_code="DSJ",
                scopes=["org.department.read", "org.division.read"],
            ),
        )
    response = client.get(f"/api/exchange/data/{grant_id}", headers=client_token(client, client_id, secret))
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    leader = client.get(f"/api/exchange/data/{grant_id}", headers=bearer(client, "leader"))
    assert leader.status_code == 403
