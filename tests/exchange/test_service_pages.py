"""Registering services (operation list, OpenAPI document, OpenAPI URL) and the pages of service sharing:
a provider registers and sees calls, a consumer applies, sees its calls and finds the evidence link."""

import json

import httpx
import pytest

from tests.conftest import bearer, csrf_from, page_login, unique
from tests.exchange.conftest import END
from tests.exchange.mediation_helpers import CONSUMER_USER, PROVIDER_USER, grant, register
from tests.exchange.provider import Provider
from tests.exchange.signature_profile import PROFILE
from yiwang.exchange.live_services import template_pattern

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "企业信息", "version": "1"},
    "paths": {
        "/companies/{code}": {"get": {"operationId": "getCompany"}, "delete": {}},
        "/companies": {"post": {"operationId": "addCompany"}},
    },
}


def _code() -> str:
    return unique("svc").lower().replace("_", "-")


def test_path_templates_match_one_segment_per_placeholder():
    pattern = template_pattern("/persons/{id}/cases/{case_no}")
    assert pattern.match("/persons/P1/cases/2026-1")
    assert not pattern.match("/persons/P1/cases") and not pattern.match("/persons/a/b/cases/1")
    assert template_pattern("/a.b").match("/a.b") and not template_pattern("/a.b").match("/axb")


def test_operations_come_from_an_uploaded_or_fetched_openapi_document(client):
    provider = bearer(client, PROVIDER_USER)
    uploaded = client.post(
        "/api/exchange/services",
        json={"code": _code(), "name": "企业信息", "base_url": "http://127.0.0.1:9/v1", "openapi": OPENAPI},
        headers=provider,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert {(o["id"], o["method"], o["path"]) for o in uploaded.json()["operations"]} == {
        ("getCompany", "GET", "/companies/{code}"),
        ("DELETE /companies/{code}", "DELETE", "/companies/{code}"),
        ("addCompany", "POST", "/companies"),
    }
    served = Provider()
    served_app = served.app()

    async def openapi(request):
        from starlette.responses import JSONResponse

        return JSONResponse(OPENAPI)

    served_app.add_route("/openapi.json", openapi)
    served.app = lambda: served_app
    served.start()
    try:
        fetched = client.post(
            "/api/exchange/services",
            json={
                "code": _code(),
                "name": "企业信息",
                "base_url": served.url,
                "openapi_url": f"{served.url}/openapi.json",
            },
            headers=provider,
        )
        assert fetched.status_code == 201 and len(fetched.json()["operations"]) == 3
        assert fetched.json()["openapi_source"] == f"{served.url}/openapi.json"
        missing = client.post(
            "/api/exchange/services",
            json={"code": _code(), "name": "企业信息", "base_url": served.url, "openapi_url": f"{served.url}/nothing"},
            headers=provider,
        )
        assert missing.status_code == 422 and missing.json()["error"]["code"] == "openapi_unreachable"
    finally:
        served.stop()
    empty = client.post(
        "/api/exchange/services",
        json={"code": _code(), "name": "空服务", "base_url": "http://127.0.0.1:9"},
        headers=provider,
    )
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "no_operations"
    not_allowed = client.post(
        "/api/exchange/services",
        json={"code": _code(), "name": "越权", "base_url": "http://127.0.0.1:9", "openapi": OPENAPI},
        headers=bearer(client, "cgj_handler"),
    )
    assert not_allowed.status_code == 403


@pytest.mark.parametrize("source", ["lines", "yaml"])
def test_a_provider_registers_a_service_on_the_page(client, source):
    csrf = page_login(client, PROVIDER_USER)
    code = _code()
    form = {"csrf_token": csrf, "code": code, "name": "空气质量实时查询", "base_url": "http://127.0.0.1:9/aq"}
    if source == "lines":
        form["operations"] = "GET /stations/{id} getStation\nPOST /reports"
    else:
        form["openapi_text"] = "openapi: 3.0.0\npaths:\n  /stations/{id}:\n    get:\n      operationId: getStation\n"
    created = client.post("/exchange/services/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    page = client.get(f"/exchange/services/{code}")
    assert page.status_code == 200 and "空气质量实时查询" in page.text and "getStation" in page.text
    assert "本服务被调用记录" in page.text and "http://127.0.0.1:9/aq" in page.text


def test_a_refused_registration_keeps_the_input_and_names_the_field(client):
    csrf = page_login(client, PROVIDER_USER)
    refused = client.post(
        "/exchange/services/new",
        data={"csrf_token": csrf, "code": "Bad Code", "name": "测试服务", "base_url": "http://x", "operations": "GET"},
    )
    assert refused.status_code == 422
    assert "测试服务" in refused.text and "每行一个操作" in refused.text


def test_a_consumer_applies_on_the_page_and_finds_its_calls_with_evidence(client, live_url):
    provider = Provider().start()
    provider.load_keys(live_url)
    try:
        code = register(client, f"{provider.url}/v1")
        csrf = page_login(client, CONSUMER_USER)
        form = client.get(f"/exchange/services/{code}/apply")
        assert form.status_code == 200 and "申请的操作" in form.text
        fields = {
            "csrf_token": csrf_from(form.text) or csrf,
            "operations": ["getPerson"],
            "purpose": "核验人员信息",
            "period_end": "2099-01-01",
            "rate_per_second": "5",
            "daily_quota": "100",
        }
        refused = client.post(f"/exchange/services/{code}/apply", data=fields, follow_redirects=False)
        assert refused.status_code == 422 and "使用期限最长三年" in refused.text and "核验人员信息" in refused.text
        applied = client.post(
            f"/exchange/services/{code}/apply", data=fields | {"period_end": END}, follow_redirects=False
        )
        assert applied.status_code == 303, applied.text
        shown = client.get(applied.headers["location"])
        assert "待提供部门答复" in shown.text and "getPerson" in shown.text and "每秒 5 次" in shown.text
        grant(client, code, operations=("getPerson",))
        token = bearer(client, CONSUMER_USER)
        with httpx.Client(base_url=live_url, timeout=30) as http:
            call_id = http.get(f"/x/{code}/persons/7", headers=token).headers["x-yiwang-call"]
        calls = client.get("/exchange/calls")
        assert calls.status_code == 200 and f"/api/exchange/messages/{call_id}/evidence" in calls.text
        assert "下载存证" in calls.text and "已应答 200" in calls.text
        evidence = client.get(f"/api/exchange/messages/{call_id}/evidence")
        assert evidence.status_code == 200 and json.loads(evidence.content)["message"]["call_id"] == call_id
        listing = client.get("/exchange/services")
        assert listing.status_code == 200 and code in listing.text
    finally:
        provider.stop()
    page_login(client, PROVIDER_USER)
    provided = client.get("/exchange/calls", params={"side": "provider"})
    assert provided.status_code == 200 and call_id in provided.text


def test_the_message_key_is_a_keyring_purpose_whose_old_versions_keep_verifying(runtime, anon):
    from yiwang.core.crypto import ED25519, SM2, Profile
    from yiwang.exchange.message_keys import PURPOSE, MessageKeys

    # The installation's own profile, and the other one a rotation may be asked for.
    own, other_profile, other = (ED25519, Profile.GM, SM2) if PROFILE == "intl" else (SM2, Profile.INTL, ED25519)
    names = {ED25519: "ed25519", SM2: "sm2-sm3"}
    keys = MessageKeys(runtime.keyring)
    first_id, first = keys.current()
    assert first_id.startswith(f"{PURPOSE}/v") and first.algorithm == own
    signature = first.sign(b"signed before the switch")
    with runtime.db.unit_of_work() as db:
        switched = runtime.keyring.rotate(db, PURPOSE, profile=other_profile)
    assert keys.current()[1].algorithm == other and keys.current()[0] == switched.key_id
    published = {k["key_id"]: k["alg"] for k in anon.get("/api/exchange/message-keys").json()}
    assert published[first_id] == names[own] and published[switched.key_id] == names[other]
    with runtime.db.unit_of_work() as db:  # start-up makes a version of the installation's profile again
        back = MessageKeys(runtime.keyring).ensure(db)
    assert back not in (first_id, switched.key_id) and keys.current()[1].algorithm == own
    assert keys.verifier(first_id).verify(signature, b"signed before the switch")
    assert keys.verifier(f"{PURPOSE}/v999") is None and keys.verifier("other/v1") is None
