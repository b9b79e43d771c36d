"""A fresh platform in a chosen crypto profile, for the tests that need one besides the session's."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import bearer, make_settings
from yiwang import domains
from yiwang.app import create_app
from yiwang.core.runtime import Runtime


def fresh_platform(
    tmp_path_factory: pytest.TempPathFactory, templates, session_runtime: Runtime, profile: str
) -> Iterator[FastAPI]:
    """A new installation (small demo, SQLite) in `profile`. Event handlers are process-wide and bound
    to the platform that subscribed last, so the session platform's are put back afterwards."""
    data_dir = templates.migrated_data_dir(tmp_path_factory.mktemp(f"fresh-{profile}"))
    app = create_app(make_settings(data_dir, crypto_profile=profile))
    try:
        yield app
    finally:
        app.state.runtime.db.dispose()
        for plugin in domains.plugins():
            if plugin.on_startup:
                plugin.on_startup(session_runtime)


def issue(client: TestClient, headers: dict[str, str], type_code: str, holder: str = "lisi") -> dict:
    body = {"type_code": type_code, "holder_username": holder, "data": {"户号": "0001"}}
    response = client.post("/api/certs/issue", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def type_codes(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    return {t["name"]: t["code"] for t in client.get("/api/certs/types", headers=headers).json()}


def admin(client: TestClient) -> dict[str, str]:
    return bearer(client, "admin")
