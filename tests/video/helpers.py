"""Helpers of the video tests: cameras with unique codes, the sharing flow through the exchange."""

import secrets
from datetime import timedelta

from tests.conftest import bearer
from yiwang.core.timeutil import local_today


def new_code(*, type_code: str = "132", network: str = "6") -> str:
    return f"3205810008{type_code}{network}{secrets.randbelow(1_000_000):06d}"


def register_camera(client, *, username: str = "cgj_admin", **fields) -> dict:
    body = {
        "code": new_code(),
        "name": "测试摄像头" + secrets.token_hex(2),
        "lon": 120.7538,
        "lat": 31.6534,
        "address": "虞山街道测试路口",
    } | fields
    response = client.post("/api/video/cameras", json=body, headers=bearer(client, username))
    assert response.status_code == 201, response.text
    return response.json()


def grant_cameras(client, codes: list[str], *, consumer: str = "hbj_admin", days: int = 30) -> dict:
    """hbj applies for CGJ's cameras, CGJ agrees, the bureau grants: the granted application."""
    period_end = (local_today() + timedelta(days=days)).isoformat()
    applied = client.post(
        "/api/video/applications",
        json={"cameras": codes, "purpose": "环境执法取证需要调阅", "period_end": period_end},
        headers=bearer(client, consumer),
    )
    assert applied.status_code == 201, applied.text
    application = applied.json()
    assert application["kind"] == "video" and application["status"] == "pending_provider"
    answered = client.post(
        f"/api/exchange/applications/{application['id']}/provider-decision",
        json={"approve": True, "reason": "同意"},
        headers=bearer(client, "cgj_admin"),
    )
    assert answered.status_code == 200, answered.text
    granted = client.post(
        f"/api/exchange/applications/{application['id']}/bureau-decision",
        json={"approve": True, "reason": "同意"},
        headers=bearer(client, "dsj_steward"),
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["status"] == "granted"
    return granted.json()
