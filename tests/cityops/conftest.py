"""Helpers for the cityops tests."""

from tests.conftest import bearer as _bearer

_tokens: dict[tuple[int, str], dict[str, str]] = {}


def bearer(client, username: str) -> dict[str, str]:
    """A cached bearer header per app and user (logging in costs an Argon2 hash each time)."""
    key = (id(client.app), username)
    if key not in _tokens:
        _tokens[key] = _bearer(client, username)
    return _tokens[key]


def report(client, username: str, **fields) -> dict:
    body = {
        "description": "小区门口垃圾桶满了好几天没人收，臭气熏天",
        "division_code": "320581001",
        "address": "测试地址",
    } | fields
    response = client.post("/api/cityops/events", json=body, headers=bearer(client, username))
    assert response.status_code == 201, response.text
    return response.json()


def act(client, username: str, number: str, action: str, **fields):
    return client.post(
        f"/api/cityops/events/{number}/actions", json={"action": action, **fields}, headers=bearer(client, username)
    )
