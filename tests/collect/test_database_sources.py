"""Collection from real PostgreSQL and MariaDB databases: full loads, incremental loads on a watermark,
deletions found by the periodic key comparison, bad rows quarantined, and a failing source that leaves
the current version and alerts the entry's stewards."""

from datetime import datetime

import pytest

from tests.catalog.helpers import VALID_ID
from tests.collect.helpers import (
    create_source,
    execute,
    insert,
    last_run,
    needs_mariadb,
    needs_postgres,
    people_table,
    person_entry,
    run_now,
    source_url,
    versions,
)
from tests.conftest import bearer, page_login
from yiwang.governance import service as governance

HTML = {"accept": "text/html"}
KINDS = [pytest.param("postgresql", marks=needs_postgres), pytest.param("mariadb", marks=needs_mariadb)]
T0 = datetime(2026, 1, 1, 8, 0, 0)  # noqa: DTZ001  (a department's local time, as its database keeps it)


def _at(minute: int) -> datetime:
    return T0.replace(minute=minute)


ROWS = [
    ("P1", "张三丰", VALID_ID, "13812345678", "1949-12-31", "虞山街道", 90, _at(1)),
    ("P2", "李四", None, "13912345678", "1995-11-22", "梅李镇", 75.5, _at(2)),
    ("P3", "王五", None, None, "2001-01-01", "海虞镇", 60, _at(3)),
]


def _current(runtime, entry: str) -> dict[str, dict]:
    with runtime.db.read_only() as db:
        frame = governance.current_rows(db, data_dir=runtime.settings.data_dir, entry_code=entry)
    assert frame is not None
    return {row["person_id"]: row for row in frame.iter_rows(named=True)}


PERSON_COLUMNS = "person_id, name, id_number, mobile, birth_date, town, score"


@pytest.mark.parametrize("kind", KINDS)
def test_full_load_makes_a_version_and_quarantines_a_bad_row_with_its_reason(client, runtime, kind):
    entry = person_entry(client)
    bad = ("P4", "赵六", None, "123", "2000-01-01", "梅李镇", 50, _at(4))
    table = people_table(kind, [*ROWS, bad])
    source = create_source(
        client,
        entry_code=entry,
        kind="database",
        location=source_url(kind),
        query=f"SELECT {PERSON_COLUMNS} FROM {table}",  # noqa: S608
    )
    run = run_now(client, source["code"])
    assert run["status"] == "succeeded", run
    assert (run["rows_read"], run["rows_loaded"], run["rows_quarantined"], run["version"]) == (4, 3, 1, 1)
    assert run["duration_ms"] is not None and run["finished_at"]
    rows = _current(runtime, entry)
    assert sorted(rows) == ["P1", "P2", "P3"] and rows["P2"]["score"] == 75.5
    assert str(rows["P1"]["birth_date"]) == "1949-12-31"
    version = versions(client, entry)[0]
    assert version["source"] == "collect" and version["created_by"] == f"collect:{source['code']}"
    quarantine = client.get(
        f"/api/governance/resources/{entry}/versions/1/quarantine.csv", headers=bearer(client, "hbj_steward")
    )
    assert "P4" in quarantine.text and "手机号码" in quarantine.text


@pytest.mark.parametrize("kind", KINDS)
def test_incremental_loads_add_changes_and_the_key_comparison_removes_deleted_rows(client, runtime, kind):
    entry = person_entry(client)
    table = people_table(kind, ROWS)
    source = create_source(
        client,
        entry_code=entry,
        kind="database",
        location=source_url(kind),
        table_name=table,
        mode="incremental",
        watermark_column="updated_at",
        key_check_every=2,
    )
    first = run_now(client, source["code"])
    assert first["status"] == "succeeded" and first["rows_read"] == 3 and first["version"] == 1, first
    stored = client.get(f"/api/collect/sources/{source['code']}", headers=bearer(client, "hbj_steward")).json()
    assert stored["watermark"].startswith("2026-01-01T08:03")

    nothing = run_now(client, source["code"])
    assert nothing["status"] == "unchanged" and nothing["rows_read"] == 0 and nothing["version"] is None

    execute(kind, f"UPDATE {table} SET town = '梅李镇', updated_at = :at WHERE person_id = 'P1'", at=_at(10))  # noqa: S608
    insert(kind, table, [("P5", "钱七", None, "13712345678", "1988-08-08", "海虞镇", 88, _at(11))])
    execute(kind, f"DELETE FROM {table} WHERE person_id = 'P3'")  # noqa: S608
    changed = run_now(client, source["code"])
    # the second incremental run is the key comparison's turn: P3's deletion is found with the changes
    assert changed["status"] == "succeeded", changed
    assert (changed["rows_read"], changed["rows_deleted"], changed["key_check"], changed["version"]) == (2, 1, True, 2)
    rows = _current(runtime, entry)
    assert sorted(rows) == ["P1", "P2", "P5"]
    assert rows["P1"]["town"] == "梅李镇" and rows["P2"]["name"] == "李四"
    assert [v["version"] for v in versions(client, entry)] == [2, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_source_keeps_the_current_version_and_alerts_the_stewards(client, anon, kind):
    entry = person_entry(client)
    table = people_table(kind, ROWS)
    source = create_source(
        client,
        entry_code=entry,
        kind="database",
        location=source_url(kind),
        query=f"SELECT {PERSON_COLUMNS} FROM {table}",  # noqa: S608
    )
    assert run_now(client, source["code"])["version"] == 1
    execute(kind, f"DROP TABLE {table}")
    failed = run_now(client, source["code"])
    assert failed["status"] == "failed" and "读取数据库失败" in failed["error"], failed
    assert [v["version"] for v in versions(client, entry) if v["current"]] == [1]
    page_login(client, "hbj_steward")
    assert f"归集失败：测试归集源（{source['code']}）" in client.get("/workbench", headers=HTML).text
    page_login(anon, "cgj_admin")
    assert source["code"] not in anon.get("/workbench", headers=HTML).text  # not another department's steward
    shown = client.get(f"/api/collect/sources/{source['code']}", headers=bearer(client, "hbj_steward")).json()
    assert shown["alert_open"] and shown["last_status"] == "failed"


@needs_mariadb
def test_wrong_credentials_fail_without_showing_them(client):
    entry = person_entry(client)
    source = create_source(
        client,
        entry_code=entry,
        kind="database",
        location=source_url("mariadb").replace("root@", "nobody_here@"),
        table_name="people",
        secret="s3cret-Passw0rd",
    )
    assert source["secret_set"] is True and "secret" not in source
    run = run_now(client, source["code"])
    assert run["status"] == "failed" and "无法连接数据库" in run["error"]
    assert "s3cret-Passw0rd" not in run["error"]
    assert last_run(client, source["code"])["id"] == run["id"]
