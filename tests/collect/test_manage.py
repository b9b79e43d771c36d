"""Managing sources: department scope, validation, credentials never shown again, the pages and their
forms, the command line, and the lease that keeps two runs of one source apart."""

import threading

from sqlalchemy import select

from tests.collect.helpers import create_source, needs_postgres, people_table, person_entry, source_url
from tests.conftest import bearer, page_login, run_cli
from yiwang.collect import loads, runs
from yiwang.collect.models import CollectSource
from yiwang.collect.service import secret_context

HTML = {"accept": "text/html"}


def test_only_the_entrys_department_and_the_bureau_manage_its_sources(client):
    entry = person_entry(client)
    body = {"code": "SCOPE-1", "name": "范围", "entry_code": entry, "kind": "api", "location": "http://127.0.0.1:9/x"}
    other = client.post("/api/collect/sources", json=body, headers=bearer(client, "cgj_admin"))
    assert other.status_code == 403 and other.json()["error"]["code"] == "department_scope"
    handler = client.post("/api/collect/sources", json=body, headers=bearer(client, "cgj_handler"))
    assert handler.status_code == 403
    assert client.post("/api/collect/sources", json=body, headers=bearer(client, "dsj_steward")).status_code == 201
    assert client.get("/api/collect/sources/SCOPE-1", headers=bearer(client, "cgj_admin")).status_code == 403
    assert client.post("/api/collect/sources/SCOPE-1/run", headers=bearer(client, "cgj_admin")).status_code == 403
    mine = client.get("/api/collect/sources", params={"entry": entry}, headers=bearer(client, "hbj_steward")).json()
    assert [s["code"] for s in mine["items"]] == ["SCOPE-1"] and mine["total"] == 1
    theirs = client.get("/api/collect/sources", params={"entry": entry}, headers=bearer(client, "cgj_admin")).json()
    assert theirs["items"] == [] and theirs["total"] == 0


def test_what_a_source_says_is_checked(client):
    entry = person_entry(client)
    base = {"code": "CHECK-1", "name": "校验", "entry_code": entry, "kind": "database", "table_name": "people"}
    cases = {
        "postgresql+psycopg://u:pw@127.0.0.1/db": "不能写密码",
        "sqlite:///tmp/x.db": "不支持的数据库驱动",
        "not a url": "格式不正确",
        "mysql+mysqldb://root@127.0.0.1:3306/": "数据库名",
    }
    headers = bearer(client, "hbj_steward")
    for location, message in cases.items():
        response = client.post("/api/collect/sources", json=base | {"location": location}, headers=headers)
        assert response.status_code == 422 and message in response.json()["error"]["message"], (location, response.text)
    good = base | {"location": "postgresql://u@127.0.0.1/db"}
    for extra, message in (
        ({"schedule": "every day"}, "cron"),
        ({"mapping": {"col": "no_such_item"}}, "信息项"),
        ({"table_name": "people; drop table x"}, "表名"),
        ({"table_name": "", "query": "DELETE FROM people"}, "SELECT"),
        ({"mode": "incremental"}, "水位线"),
    ):
        response = client.post("/api/collect/sources", json=good | extra, headers=headers)
        assert response.status_code == 422 and message in response.text, (extra, response.text)
    created = client.post("/api/collect/sources", json=good, headers=headers).json()
    assert created["location"] == "postgresql+psycopg://u@127.0.0.1/db"  # the driver spelled out


def test_the_credential_is_encrypted_and_never_shown_again(client, runtime):
    entry = person_entry(client)
    secret = "Pa55-word-never-shown"
    source = create_source(
        client, entry_code=entry, kind="api", location="http://127.0.0.1:9/people", secret=secret, schedule="0 2 * * *"
    )
    assert source["secret_set"] and source["next_run_at"]
    with runtime.db.read_only() as db:
        stored = db.execute(select(CollectSource.secret_enc).where(CollectSource.code == source["code"])).scalar_one()
    assert stored and secret not in stored
    csrf = page_login(client, "hbj_steward")
    page = client.get(f"/collect/sources/{source['code']}", headers=HTML)
    assert page.status_code == 200 and "已设置" in page.text and secret not in page.text
    form = client.get(f"/collect/sources/{source['code']}/edit", headers=HTML)
    assert secret not in form.text and "已设置" in form.text
    body = {
        "csrf_token": csrf,
        "name": "改过的名字",
        "entry_code": entry,
        "kind": "api",
        "location": "http://127.0.0.1:9/people",
        "api_paging": "page",
        "mode": "full",
        "schedule": "0 3 * * *",
        "enabled": "on",
    }
    saved = client.post(f"/collect/sources/{source['code']}/edit", data=body, headers=HTML, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with runtime.db.read_only() as db:
        kept = db.execute(select(CollectSource).where(CollectSource.code == source["code"])).scalar_one()
        assert kept.secret_enc == stored and kept.name == "改过的名字" and kept.options["paging"] == "page"
        assert runtime.cipher.decrypt(kept.secret_enc, context=secret_context(source["code"])) == secret
    audit = client.get(
        "/api/audit/entries", params={"action": "collect.source.create"}, headers=bearer(client, "auditor")
    )
    assert audit.status_code == 200 and source["code"] in audit.text and secret not in audit.text


def test_the_form_refuses_with_messages_and_keeps_what_was_typed(client):
    entry = person_entry(client)
    csrf = page_login(client, "hbj_steward")
    assert "新建归集源" in client.get("/collect", headers=HTML).text
    form = {
        "csrf_token": csrf,
        "code": "FORM-SRC-1",
        "name": "表单源",
        "entry_code": entry,
        "kind": "database",
        "location": "mysql://collector@10.0.0.8:3306/hr",
        "table_name": "people",
        "mapping": "xm=name\nbad line",
        "mode": "full",
    }
    refused = client.post("/collect/new", data=form, headers=HTML)
    assert refused.status_code == 422 and "第 2 行应为" in refused.text and 'value="FORM-SRC-1"' in refused.text
    wrong_driver = client.post("/collect/new", data=form | {"mapping": "", "location": "sqlite:///x"}, headers=HTML)
    assert wrong_driver.status_code == 422 and "不支持的数据库驱动" in wrong_driver.text
    created = client.post("/collect/new", data=form | {"mapping": "xm=name"}, headers=HTML, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"].startswith("/collect/sources/FORM-SRC-1")
    page = client.get("/collect/sources/FORM-SRC-1", headers=HTML)
    assert "mysql+mysqldb://collector@10.0.0.8:3306/hr" in page.text and "未设置" in page.text
    listing = client.get("/collect", headers=HTML)
    assert "FORM-SRC-1" in listing.text and "关系数据库" in listing.text


@needs_postgres
def test_the_command_line_runs_a_source_and_lists_them(client, runtime):
    entry = person_entry(client)
    table = people_table("postgresql", [("C1", "命令行", None, None, None, "梅李镇", 1, None)])
    source = create_source(
        client,
        entry_code=entry,
        kind="database",
        location=source_url("postgresql"),
        query=f"SELECT person_id, name, town, score FROM {table}",  # noqa: S608
    )
    result = run_cli(runtime, "source", "run", source["code"])
    assert result.exit_code == 0, result.output
    assert "入库 1 行" in result.output and "第 1 版" in result.output
    listing = run_cli(runtime, "source", "list")
    assert listing.exit_code == 0 and source["code"] in listing.output
    missing = run_cli(runtime, "source", "run", "NO-SUCH-SOURCE")
    assert missing.exit_code == 2 and "不存在" in missing.output


def test_a_source_has_one_run_at_a_time(client, runtime):
    entry = person_entry(client)
    source = create_source(client, entry_code=entry, kind="api", location="http://127.0.0.1:9/people")
    claims: list[object] = []
    barrier = threading.Barrier(4)

    def take() -> None:
        barrier.wait()
        with runtime.db.unit_of_work() as db:
            claims.append(runs.claim(db, source_id=source["id"], trigger="manual", lease_seconds=60))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [c for c in claims if c is not None]
    assert len(won) == 1, claims
    assert loads.run_source(runtime, source_id=source["id"]) is None  # the lease is held: nothing runs
    shown = client.get(f"/api/collect/sources/{source['code']}", headers=bearer(client, "hbj_steward")).json()
    assert shown["running"] is True
    busy = client.delete(f"/api/collect/sources/{source['code']}", headers=bearer(client, "hbj_steward"))
    assert busy.status_code == 409
