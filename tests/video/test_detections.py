"""Detections from algorithm platforms become city events, de-duplicated per camera and category within
the window, with the picture; two identical detections posted at the same time make one event."""

import base64
import io
import threading
from datetime import UTC, datetime, timedelta

import httpx
from PIL import Image

from tests.conftest import bearer, page_login, token_for
from tests.video.helpers import register_camera


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def _detection(code: str, at: datetime, **extra) -> dict:
    return {
        "camera_code": code,
        "algorithm": "占道识别 v2",
        "category": "占道经营",
        "detected_at": at.isoformat(),
    } | extra


def test_a_detection_becomes_an_event_with_its_picture_and_a_second_one_joins_it(client):
    camera = register_camera(client)
    headers = bearer(client, "cgj_admin")
    at = datetime.now(UTC).replace(microsecond=0)
    picture = _jpeg()
    first = client.post(
        "/api/video/detections",
        json=_detection(camera["code"], at, picture_base64=base64.b64encode(picture).decode(), score=0.92),
        headers=headers,
    )
    assert first.status_code == 201, first.text
    result = first.json()
    assert result["new_event"] and result["category_code"] == "CG02"
    event = client.get(f"/api/cityops/events/{result['event_number']}", headers=bearer(client, "ldz_dispatcher")).json()
    assert event["source"] == "video" and event["category_code"] == "CG02"
    assert event["photos"] == [f"/video/detections/{result['detection_id']}/picture"]
    shown = client.get(event["photos"][0], headers=headers)
    assert shown.status_code == 200 and shown.content == picture and shown.headers["content-type"] == "image/jpeg"
    # multipart, five minutes later: the same event
    second = client.post(
        "/api/video/detections",
        data=_detection(camera["code"], at + timedelta(minutes=5)),
        files={"picture": ("p.jpg", picture, "image/jpeg")},
        headers=headers,
    )
    assert second.status_code == 200, second.text
    assert second.json()["event_number"] == result["event_number"] and second.json()["detections_in_event"] == 2
    # another category, or outside the window: new events
    other = client.post(
        "/api/video/detections", json=_detection(camera["code"], at, category="暴露垃圾"), headers=headers
    ).json()
    assert other["new_event"] and other["category_code"] == "CG01"
    later = client.post(
        "/api/video/detections", json=_detection(camera["code"], at + timedelta(minutes=30)), headers=headers
    ).json()
    assert later["new_event"] and later["event_number"] != result["event_number"]
    page_login(client, "ldz_dispatcher")
    page = client.get(f"/cityops/events/{result['event_number']}")
    assert f"/video/detections/{result['detection_id']}/picture" in page.text


def test_malformed_detections_are_refused_with_4xx(client):
    camera = register_camera(client)
    headers = bearer(client, "cgj_admin")
    at = datetime.now(UTC)
    cases = [
        _detection(camera["code"], at, picture_base64="not base64!"),
        _detection(camera["code"], at, picture_base64=base64.b64encode(b"GIF89a....").decode()),
        _detection(camera["code"], at.replace(tzinfo=None)),
        {"camera_code": camera["code"]},
    ]
    for body in cases:
        response = client.post("/api/video/detections", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["message"]
    unknown = client.post("/api/video/detections", json=_detection("32058100081326999999", at), headers=headers)
    assert unknown.status_code == 404
    broken = client.post("/api/video/detections", content=b"{", headers=headers | {"content-type": "application/json"})
    assert broken.status_code == 400
    citizen = client.post(
        "/api/video/detections", json=_detection(camera["code"], at), headers=bearer(client, "zhangsan")
    )
    assert citizen.status_code == 403


def test_two_identical_detections_at_the_same_time_make_one_event(client, live_url):
    camera = register_camera(client)
    token = token_for(client, "cgj_admin")
    body = _detection(camera["code"], datetime.now(UTC), picture_base64=base64.b64encode(_jpeg()).decode())
    barrier = threading.Barrier(4)
    results: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(base_url=live_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            barrier.wait()
            results.append(http.post("/api/video/detections", json=body))

    def other_traffic() -> None:
        with httpx.Client(base_url=live_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            barrier.wait()
            for _ in range(5):
                assert http.get("/api/video/cameras", params={"q": camera["code"]}).status_code == 200
                assert http.get("/api/cityops/events", params={"size": 5}).status_code == 200

    threads = [threading.Thread(target=post) for _ in range(3)] + [threading.Thread(target=other_traffic)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 200, 201], [r.text for r in results]
    assert len({r.json()["event_number"] for r in results}) == 1
    assert max(r.json()["detections_in_event"] for r in results) == 3
