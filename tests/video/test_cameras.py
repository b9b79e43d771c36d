"""The camera registry, sharing through the exchange, playback checked against the grant and audited,
附近的摄像头 on a city event."""

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import bearer, page_login
from tests.video.helpers import grant_cameras, new_code, register_camera
from yiwang.core.audit import AuditEntry
from yiwang.core.timeutil import utcnow
from yiwang.exchange.models import ShareGrant


def test_register_read_search_and_refuse_wrong_codes(client):
    camera = register_camera(client, hls_url="http://gateway.test/live/a/index.m3u8", as_thing=True)
    assert camera["parts"]["type_name"] == "网络摄像机" and camera["department_name"]
    assert camera["thing_id"] is not None and camera["may_play"] and camera["hls_url"]
    headers = bearer(client, "cgj_admin")
    found = client.get("/api/video/cameras", params={"q": camera["name"]}, headers=headers).json()
    assert [c["code"] for c in found["items"]] == [camera["code"]]
    again = client.post("/api/video/cameras", json={**_body(camera), "code": camera["code"]}, headers=headers)
    assert again.status_code == 409
    not_camera = client.post(
        "/api/video/cameras", json={**_body(camera), "code": new_code(type_code="118")}, headers=headers
    )
    assert not_camera.status_code == 422 and "不是摄像机" in not_camera.json()["error"]["message"]
    bad = client.post("/api/video/cameras", json={**_body(camera), "code": "3205810008132900000x"}, headers=headers)
    assert bad.status_code == 422
    # another department sees the registry entry but not the stream addresses
    seen = client.get(f"/api/video/cameras/{camera['code']}", headers=bearer(client, "hbj_admin")).json()
    assert not seen["may_play"] and seen["hls_url"] is None
    # a citizen cannot read the registry at all
    assert client.get("/api/video/cameras", headers=bearer(client, "zhangsan")).status_code == 403
    # the SensorThings Thing is in the one device list
    thing = client.get(f"/sta/v1.1/Things({camera['thing_id']})", headers=headers)
    assert thing.status_code == 200 and thing.json()["name"] == camera["name"]


def _body(camera: dict) -> dict:
    return {"name": camera["name"], "lon": camera["lon"], "lat": camera["lat"]}


def test_grant_then_expiry_decides_playback_and_every_view_is_audited(client, runtime):
    camera = register_camera(client, hls_url="http://gateway.test/live/b/index.m3u8")
    code = camera["code"]
    hbj = bearer(client, "hbj_admin")
    refused = client.post(f"/api/video/cameras/{code}/playback", headers=hbj)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "video_not_granted"
    application = grant_cameras(client, [code])
    played = client.post(f"/api/video/cameras/{code}/playback", headers=hbj)
    assert played.status_code == 200, played.text
    assert played.json()["basis"] == "grant" and played.json()["hls"] == f"/video/stream/{code}/index.m3u8"
    assert client.get(f"/api/video/cameras/{code}", headers=hbj).json()["may_play"]
    own = client.post(f"/api/video/cameras/{code}/playback", headers=bearer(client, "cgj_handler"))
    assert own.status_code == 200 and own.json()["basis"] == "own"
    with runtime.db.unit_of_work() as db:
        db.get(ShareGrant, application["grant_id"]).expires_at = utcnow() - timedelta(seconds=1)
    expired = client.post(f"/api/video/cameras/{code}/playback", headers=hbj)
    assert expired.status_code == 403
    assert expired.json()["error"]["code"] == "video_grant_expired"
    assert "授权已过期" in expired.json()["error"]["message"]
    with runtime.db.unit_of_work() as db:
        rows = db.execute(
            select(AuditEntry.actor_name, AuditEntry.outcome)
            .where(AuditEntry.action == "video.camera.play", AuditEntry.target_id == code)
            .order_by(AuditEntry.seq)
        ).all()
    assert [r.outcome for r in rows] == ["denied", "success", "success", "denied"]
    # the exchange's pages show the video application and grant
    page_login(client, "hbj_admin")
    shown = client.get(f"/exchange/applications/{application['id']}")
    assert shown.status_code == 200 and code in shown.text and "视频监控" in shown.text
    assert client.get(f"/exchange/grants/{application['grant_id']}").status_code == 200


def test_one_application_covers_one_providers_cameras(client):
    mine = register_camera(client, username="hbj_admin")
    theirs = register_camera(client)
    response = client.post(
        "/api/video/applications",
        json={"cameras": [mine["code"], theirs["code"]], "purpose": "联合执法调阅", "period_end": "2099-01-01"},
        headers=bearer(client, "cgj_handler"),
    )
    assert response.status_code == 422


def test_camera_pages_list_player_and_refusal(client, runtime):
    camera = register_camera(client, hls_url="http://gateway.test/live/c/index.m3u8")
    page_login(client, "hbj_admin")
    listing = client.get("/video", params={"q": camera["code"]})
    assert listing.status_code == 200 and camera["name"] in listing.text and "申请共享" in listing.text
    page = client.get(f"/video/cameras/{camera['code']}")
    assert page.status_code == 200 and "没有该摄像头的共享授权" in page.text and "hls.min.js" not in page.text
    apply_page = client.get("/video/apply", params={"camera": camera["code"]})
    assert apply_page.status_code == 200 and camera["code"] in apply_page.text
    application = grant_cameras(client, [camera["code"]])
    page = client.get(f"/video/cameras/{camera['code']}")
    assert "/static/vendor/hls.min.js" in page.text and f"/video/stream/{camera['code']}/index.m3u8" in page.text
    with runtime.db.unit_of_work() as db:
        db.get(ShareGrant, application["grant_id"]).revoked_at = utcnow()
    page = client.get(f"/video/cameras/{camera['code']}")
    assert "共享授权已过期或已被撤销" in page.text and "hls.min.js" not in page.text


def test_cameras_near_an_event_and_in_a_bbox(client):
    camera = register_camera(client, lon=120.9001, lat=31.5001)
    far = register_camera(client, lon=120.95, lat=31.55)
    headers = bearer(client, "cgj_admin")
    near = client.get("/api/video/cameras/near", params={"lon": 120.9, "lat": 31.5}, headers=headers).json()
    assert [c["code"] for c in near] == [camera["code"]] and near[0]["distance_m"] < 20
    event = client.post(
        "/api/cityops/events",
        json={
            "description": "路口井盖缺失存在安全隐患",
            "source": "hotline",
            "lon": 120.9,
            "lat": 31.5,
            "category_code": "CG01",
        },
        headers=bearer(client, "ldz_dispatcher"),
    )
    assert event.status_code == 201, event.text
    page_login(client, "ldz_dispatcher")
    detail = client.get(f"/cityops/events/{event.json()['number']}")
    assert "附近的摄像头" in detail.text and camera["name"] in detail.text and far["name"] not in detail.text
    from yiwang.video import service

    with client.app.state.runtime.db.unit_of_work() as db:
        from yiwang.core.security import Principal

        reader = Principal(
            user_id=None, username="t", display_name="t", kind="staff", permissions=frozenset({"video.camera.read"})
        )
        page = service.cameras_in_bbox(db, actor=reader, bbox=(120.89, 31.49, 120.96, 31.56), limit=1)
        assert page.total >= 2 and len(page.items) == 1
        rest = service.cameras_in_bbox(db, actor=reader, bbox=(120.89, 31.49, 120.96, 31.56), offset=1, limit=10)
        assert {camera["code"], far["code"]} <= {c.code for c in page.items + rest.items}
