"""In one installation: a peer's signed messages through the receiving route, the federation pages,
and a data objection answered by the entry's steward and queued back to the peer."""

import json
import uuid

from tests.conftest import bearer, page_login
from tests.federation.conftest import send_signed
from yiwang.federation import outbox
from yiwang.federation.models import OutgoingMessage


def test_an_objection_reaches_the_steward_who_answers_it_back(client, runtime, upper):
    key, identity, peer = upper
    entries = client.get("/api/catalog/entries", params={"department": "HBJ"}, headers=bearer(client, "admin"))
    code = entries.json()["items"][0]["code"]
    objection = {
        "reference": uuid.uuid4().hex,
        "entry_code": code,
        "description": "字段口径与上级标准不一致",
        "raised_by": "苏州审核员",
    }
    sent, _ = send_signed(client, runtime, key, identity, "objection.raise", objection)
    assert sent.status_code == 200 and sent.json()["status"] == "accepted", sent.text
    steward = bearer(client, "hbj_steward")
    listed = client.get("/api/federation/objections", headers=steward).json()
    mine = next(o for o in listed if o["reference"] == objection["reference"])
    assert mine["status"] == "open" and mine["direction"] == "incoming"
    others = client.get("/api/federation/objections", headers=bearer(client, "cgj_admin")).json()
    assert all(o["reference"] != objection["reference"] for o in others)  # another department's entry
    csrf = page_login(client, "hbj_steward")
    workbench = client.get("/workbench", headers={"accept": "text/html"})
    assert f"/federation/objections/{mine['id']}" in workbench.text  # on the steward's workbench
    page = client.get(f"/federation/objections/{mine['id']}")
    assert page.status_code == 200 and "字段口径与上级标准不一致" in page.text
    empty = client.post(f"/federation/objections/{mine['id']}/answer", data={"csrf_token": csrf, "answer": ""})
    assert empty.status_code == 422 and "请填写答复" in empty.text
    answered = client.post(
        f"/federation/objections/{mine['id']}/answer",
        data={"csrf_token": csrf, "answer": "已按上级标准修订口径"},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    with runtime.db.unit_of_work() as db:
        queued = db.query(OutgoingMessage).filter_by(peer_id=peer.id, kind="objection.answer").all()
    assert len(queued) == 1 and json.loads(queued[0].body)["reference"] == objection["reference"]
    again = client.post(f"/federation/objections/{mine['id']}/answer", data={"csrf_token": csrf, "answer": "再答一次"})
    assert again.status_code == 409


def test_federation_pages_show_peers_catalog_and_history(client, runtime, upper):
    key, identity, peer = upper
    entry = {
        "code": "SZ-00001",
        "name": "苏州市级法人库",
        "version": 1,
        "change": "new",
        "department_name": "苏州市市场监管局",
        "summary": "上级法人基础信息",
        "sharing_type": "有条件共享",
        "items": [{"name": "credit_code", "label": "统一社会信用代码"}],
        "dcat": {"@type": "dcat:Dataset"},
    }
    assert send_signed(client, runtime, key, identity, "catalog.entry", entry)[0].status_code == 200
    page_login(client, "admin")
    overview = client.get("/federation")
    assert overview.status_code == 200 and identity.fingerprint in overview.text and identity.name in overview.text
    catalog = client.get("/federation/catalog", params={"q": "法人库"})
    assert "苏州市级法人库" in catalog.text and "上级目录" in catalog.text
    beside = client.get("/catalog", params={"q": "法人库"})  # the city's own catalog search lists it too
    assert "对接目录中的匹配" in beside.text and "苏州市级法人库" in beside.text
    assert "目录同步（新增或变更）" in client.get("/federation/sync").text
    form = client.get(f"/federation/apply/{peer.id}/SZ-00001")
    assert form.status_code == 200 and "统一社会信用代码" in form.text
    assert client.get("/federation/applications").status_code == 200


def test_the_backoff_grows_with_jitter_and_a_cap():
    policy = outbox.RetryPolicy(base_seconds=2, max_seconds=30)
    for attempts, ceiling in ((1, 2), (2, 4), (3, 8), (5, 30), (20, 30)):
        delays = {policy.delay(attempts).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
