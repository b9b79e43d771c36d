"""Body limits whatever the declared content type, a readable 413 on a real socket, and a clear 503
database_busy (with Retry-After) instead of a 30-second wait when no database connection can be had."""

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, make_settings
from yiwang.app import create_app


def _json_error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


# ---- the JSON limit cannot be dodged with another content type ----------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "", "application/x-www-form-urlencoded"]
)
def test_the_json_limit_applies_whatever_the_content_type(client, admin_headers, runtime, content_type):
    over = runtime.settings.max_json_bytes + 10
    headers = {**admin_headers, "content-type": content_type} if content_type else admin_headers
    for path in ("/api/org/users", "/sta/v1.1/Observations", "/api/3/action/package_search"):
        response = client.post(path, content=b"x" * over, headers=headers)
        assert response.status_code == 413, f"{content_type} {path}: {response.status_code}"
        assert _json_error(response)["code"] == "payload_too_large"


def test_uploads_keep_the_larger_upload_limit(client, admin_headers, runtime):
    size = runtime.settings.max_json_bytes + 10
    response = client.post("/api/catalog/import", files={"file": ("big.xlsx", b"x" * size)}, headers=admin_headers)
    assert response.status_code != 413  # refused as a bad workbook, not for its size


# ---- a 413 the client can read ------------------------------------------------------------------


def _raw_post(live_url: str, path: str, headers: dict[str, str], body_size: int) -> bytes:
    """Send headers and a whole body on a plain socket, then read what the server answered."""
    url = urlsplit(live_url)
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {body_size}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        chunk = b"x" * 65536
        sent = 0
        while sent < body_size:
            sock.sendall(chunk[: body_size - sent])
            sent += len(chunk)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


@pytest.mark.parametrize("connection", ["close", "keep-alive"])
def test_a_413_is_read_by_a_client_that_sends_the_whole_body(live_url, runtime, connection):
    """Answering before the body is read, then closing, would reset the connection under a client still
    sending (the kernel drops a socket with unread data with a reset): the client never saw the 413."""
    size = runtime.settings.max_json_bytes * 8
    headers = {"Content-Type": "application/json", "Connection": connection}
    answer = _raw_post(live_url, "/api/org/users", headers, size)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_urllib_reads_the_413_of_a_large_body(live_url, runtime, content_type):
    """urllib (the standard library's client) sends `Connection: close` and the whole body."""
    size = runtime.settings.max_json_bytes * 8
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL)
        f"{live_url}/api/org/users", data=b"x" * size, headers={"Content-Type": content_type}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=20)  # noqa: S310
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["error"]["code"] == "payload_too_large"


def test_a_413_for_a_body_without_content_length_is_read_too(live_url, runtime):
    size = runtime.settings.max_json_bytes * 3

    def chunks() -> Iterator[bytes]:
        for _ in range(size // 65536):
            yield b"x" * 65536

    with httpx.Client(base_url=live_url, timeout=20) as http:
        response = http.post("/sta/v1.1/Observations", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


# ---- database_busy ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_pool_app(settings):
    """The platform with one pooled connection and a half-second wait for it."""
    small = make_settings(
        settings.data_dir,
        settings.database_url,
        db_pool_wait_seconds=0.5,
        db_pool_size=1,
        db_pool_overflow=0,
        db_busy_retry_after_seconds=3,
    )
    app = create_app(small)
    yield app
    app.state.db.dispose()


def _hold_the_writer(app):
    connection = app.state.db.engine.connect()
    connection.exec_driver_sql("SELECT 1")  # checked out and in a transaction until closed
    return connection


def test_no_connection_in_time_is_a_503_database_busy_with_retry_after(small_pool_app):
    with TestClient(small_pool_app) as client:
        headers = bearer(client, "admin")
        held = _hold_the_writer(small_pool_app)
        try:
            started = time.monotonic()
            response = client.get("/api/org/users", headers=headers)
            waited = time.monotonic() - started
            page = client.get("/admin/users", headers={**headers, "accept": "text/html"})
        finally:
            held.close()
        assert response.status_code == 503
        assert response.headers["retry-after"] == "3"
        error = _json_error(response)
        assert error["code"] == "database_busy" and "稍后重试" in error["message"]
        assert waited < 3, f"waited {waited:.1f} s"
        assert page.status_code == 503 and "数据库暂时无法响应" in page.text
        assert page.headers["retry-after"] == "3"
        assert client.get("/api/org/users", headers=headers).status_code == 200  # and it recovers


def test_reads_answer_while_a_write_holds_the_writer(small_pool_app):
    """CKAN reads use read-only connections (SQLite) and do not queue behind the writer."""
    if not small_pool_app.state.db.is_sqlite:
        pytest.skip("PostgreSQL serves readers and writers from one pool of many connections")
    with TestClient(small_pool_app) as client:
        held = _hold_the_writer(small_pool_app)
        try:
            started = time.monotonic()
            response = client.get("/api/3/action/package_list")
            waited = time.monotonic() - started
        finally:
            held.close()
    assert response.status_code == 200 and response.json()["success"] is True
    assert waited < 0.5, f"waited {waited:.2f} s"


def test_read_only_connections_refuse_writes(runtime):
    """A read-only endpoint that tried to write would fail loudly instead of writing past the writer."""
    if not runtime.db.is_sqlite:
        pytest.skip("SQLite only")
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    with runtime.db.read_only() as session, pytest.raises(OperationalError, match="readonly"):
        session.execute(text("CREATE TABLE should_not_exist (id INTEGER)"))


def test_a_busy_database_never_stalls_other_requests(small_pool_app):
    """While the only connection is held, requests fail fast one after another, not all at 30 s."""
    with TestClient(small_pool_app) as client:
        headers = bearer(client, "admin")
        held = _hold_the_writer(small_pool_app)
        results: list[tuple[int, float]] = []

        def call() -> None:
            started = time.monotonic()
            status = client.get("/api/org/users", headers=headers).status_code
            results.append((status, time.monotonic() - started))

        try:
            threads = [threading.Thread(target=call) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=20)
        finally:
            held.close()
    assert [status for status, _ in results] == [503] * 4
    assert max(seconds for _, seconds in results) < 3
