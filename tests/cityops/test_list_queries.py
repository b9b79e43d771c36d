"""Event lists read a fixed number of queries however many events they show (no query per event)."""

from contextlib import contextmanager

from sqlalchemy import event, select

from tests.cityops.conftest import act, bearer, report
from tests.conftest import page_login
from yiwang.cityops import service
from yiwang.core.security import Principal


@contextmanager
def counted(engine):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _queries(client, engine, path: str, **kwargs) -> int:
    with counted(engine) as statements:
        response = client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    return len(statements)


def test_my_reports_page_reads_the_same_queries_for_more_reports(client, runtime):
    page_login(client, "zhangsan")
    html = {"accept": "text/html"}
    report(client, "zhangsan")
    client.get("/cityops/mine", headers=html)  # warm the per-process caches
    few = _queries(client, runtime.db.engine, "/cityops/mine", headers=html)
    for _ in range(4):
        report(client, "zhangsan")
    more = _queries(client, runtime.db.engine, "/cityops/mine", headers=html)
    assert more == few


def test_event_list_page_and_api_read_the_same_queries_for_longer_pages(client, runtime):
    for _ in range(6):
        report(client, "zhangsan")
    headers = bearer(client, "ldz_dispatcher")
    engine = runtime.db.engine
    client.get("/api/cityops/events", params={"size": 1}, headers=headers)
    one = _queries(client, engine, "/api/cityops/events", params={"size": 1}, headers=headers)
    six = _queries(client, engine, "/api/cityops/events", params={"size": 6}, headers=headers)
    assert six == one

    page_login(client, "ldz_dispatcher")
    html = {"accept": "text/html"}
    client.get("/cityops", headers=html)
    page = _queries(client, engine, "/cityops", headers=html)
    filtered = _queries(client, engine, "/cityops", params={"status": "voided"}, headers=html)  # few or none
    assert page <= filtered + 1  # the category list the filter adds is read either way


def test_reading_many_events_at_once_gives_what_reading_each_gives(client, runtime):
    from yiwang.cityops import models

    number = report(client, "zhangsan", category_code="CG01", reporter_name="张三", reporter_phone="13912345678")[
        "number"
    ]
    for department in ("SWJ", "HBJ"):
        assert act(client, "ldz_dispatcher", number, "add_assist", department_code=department).status_code == 200

    dispatcher = Principal(
        user_id=None,
        username="test:cityops",
        display_name="测试",
        kind="system",
        permissions=frozenset({"cityops.event.read", "cityops.event.dispatch"}),
    )
    with runtime.db.unit_of_work() as db:
        events = list(db.execute(select(models.Event).order_by(models.Event.id.desc()).limit(60)).scalars())
        together = service.to_reads(db, events, actor=dispatcher, cipher=runtime.cipher)
        one_by_one = [service.to_read(db, e, actor=dispatcher, cipher=runtime.cipher) for e in events]
    assert [r.model_dump() for r in together] == [r.model_dump() for r in one_by_one]
    assert sorted(next(r for r in together if r.number == number).assisting) == ["HBJ", "SWJ"]
