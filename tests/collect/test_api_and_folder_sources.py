"""Collection from a REST/JSON API served by a real HTTP server on loopback (page, offset and next-link
paging; bearer and key auth; incremental with a watermark parameter) and from a watched folder."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.catalog.helpers import VALID_ID, person_csv
from tests.collect.helpers import create_source, person_entry, run_now, versions
from tests.conftest import bearer
from yiwang.governance import service as governance

TOKEN = "api-token-Zx81"
RECORDS = [
    {"person_id": f"A{n}", "name": f"接口{n}", "mobile": "13812345678", "town": "梅李镇", "score": n, "ts": n}
    for n in range(1, 8)
]


class _Department(BaseHTTPRequestHandler):
    """A department's API: /people?page=&size= or ?offset=&size=, /linked (next links), bearer or key."""

    records: ClassVar[list[dict]] = RECORDS
    seen: ClassVar[list[str]] = []

    def log_message(self, *_args) -> None:  # keep the test output clean
        return

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).seen.append(self.path)
        allowed = self.headers.get("Authorization") == f"Bearer {TOKEN}" or self.headers.get("X-Key") == TOKEN
        if not allowed:
            return self._send(401, {"error": "unauthorised"})
        rows = [r for r in type(self).records if r["ts"] > int(query.get("since", 0))]
        if url.path == "/people":
            size = int(query.get("size", 100))
            start = int(query["offset"]) if "offset" in query else (int(query.get("page", 1)) - 1) * size
            return self._send(200, {"data": {"items": rows[start : start + size]}})
        if url.path == "/linked":
            start = int(query.get("cursor", 0))
            following = f"/linked?cursor={start + 3}" if start + 3 < len(rows) else None
            return self._send(200, {"results": rows[start : start + 3], "links": {"next": following}})
        return self._send(404, {"error": "no such path"})


@pytest.fixture
def department_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Department)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Department.records = list(RECORDS)
    _Department.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


MAPPING = {"person_id": "person_id", "name": "name", "mobile": "mobile", "town": "town", "score": "score"}


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/people", {"paging": "page", "records": "data.items", "page_size": 3, "auth": "bearer"}),
        (
            "/people",
            {"paging": "offset", "records": "data.items", "page_size": 2, "auth": "key", "key_header": "X-Key"},
        ),
        ("/linked", {"paging": "next", "records": "results", "next_link": "links.next", "auth": "bearer"}),
    ],
)
def test_a_paged_api_is_read_page_by_page_with_its_credential(client, runtime, department_api, path, api):
    entry = person_entry(client)
    source = create_source(
        client, entry_code=entry, kind="api", location=department_api + path, api=api, mapping=MAPPING, secret=TOKEN
    )
    run = run_now(client, source["code"])
    assert run["status"] == "succeeded" and run["rows_read"] == 7 and run["rows_loaded"] == 7, run
    assert len(_Department.seen) >= 3  # several pages, not one
    with runtime.db.read_only() as db:
        frame = governance.current_rows(db, data_dir=runtime.settings.data_dir, entry_code=entry)
    assert frame is not None and sorted(frame["person_id"]) == [f"A{n}" for n in range(1, 8)]


def test_an_incremental_api_sends_its_watermark_and_a_refusal_keeps_the_version(client, department_api):
    entry = person_entry(client)
    api = {"paging": "page", "records": "data.items", "page_size": 100, "auth": "bearer", "watermark_param": "since"}
    source = create_source(
        client,
        entry_code=entry,
        kind="api",
        location=department_api + "/people",
        api=api,
        mapping=MAPPING,
        secret=TOKEN,
        mode="incremental",
        watermark_column="ts",
    )
    assert run_now(client, source["code"])["rows_read"] == 7
    _Department.records = [*RECORDS, {"person_id": "A1", "name": "改名", "town": "海虞镇", "score": 1, "ts": 9}]
    second = run_now(client, source["code"])
    assert second["rows_read"] == 1 and second["rows_loaded"] == 7 and second["version"] == 2, second["error"]
    assert any("since=7" in p for p in _Department.seen)
    headers = bearer(client, "hbj_steward")
    changed = client.put(
        f"/api/collect/sources/{source['code']}",
        json={k: v for k, v in source.items() if k in _UPDATABLE} | {"secret": "wrong-token", "mode": "incremental"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    refused = run_now(client, source["code"])
    assert refused["status"] == "failed" and "HTTP 401" in refused["error"]
    assert [v["version"] for v in versions(client, entry) if v["current"]] == [2]


_UPDATABLE = {
    "name", "entry_code", "kind", "location", "table_name", "query", "api", "mapping", "mode",
    "watermark_column", "key_check_every", "schedule", "enabled",
}  # fmt: skip


def test_a_watched_folder_takes_each_dropped_file_once(client, runtime):
    entry = person_entry(client)
    folder = runtime.settings.data_dir / "collect_inbox" / "hbj" / entry
    folder.mkdir(parents=True)
    source = create_source(client, entry_code=entry, kind="folder", location=f"hbj/{entry}")
    rows = [
        ("F1", "文件一", VALID_ID, "13812345678", "1949-12-31", "虞山街道", "90"),
        ("F2", "文件二", "", "", "", "", ""),
    ]
    (folder / "people.csv").write_bytes(person_csv(rows).encode("gbk"))  # a Chinese Excel export
    run = run_now(client, source["code"])
    assert run["status"] == "succeeded" and run["rows_loaded"] == 2, run
    assert not (folder / "people.csv").exists() and len(list((folder / "done").iterdir())) == 1
    again = run_now(client, source["code"])
    assert again["status"] == "unchanged" and again["version"] is None
    assert [v["encoding"] for v in versions(client, entry)] == ["collect:" + source["code"]]


def test_a_folder_outside_the_collection_root_is_refused(client):
    entry = person_entry(client)
    response = client.post(
        "/api/collect/sources",
        json={"code": "BAD-FOLDER", "name": "越界", "entry_code": entry, "kind": "folder", "location": "../../etc"},
        headers=bearer(client, "hbj_steward"),
    )
    assert response.status_code == 422 and "相对路径" in response.json()["error"]["message"]
