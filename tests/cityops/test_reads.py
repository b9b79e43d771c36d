"""The read model other domains use: figures computed in SQL over a controlled window of events, the
closed events behind indicator 11, the map, and categories — typed shapes, never event rows."""

import secrets
from datetime import timedelta

from tests.cityops.conftest import bearer, report
from yiwang.cityops import service
from yiwang.cityops.schemas import CategoryRead, ClosedEvent, EventAction, EventCreate, EventFigures
from yiwang.core.permissions import registry
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow

CENTRE = Principal(
    user_id=None,
    username="test:centre",
    display_name="测试中心",
    kind="staff",
    permissions=frozenset(registry.permissions),
)


def _events_in_a_window_of_their_own(runtime) -> tuple[object, object, list[str]]:
    """Three school-fee events (JY01, 120 h) in 虞山街道 over a quiet hour long ago: closed on time and
    rated 5, closed late and rated 3, and one left open past its deadline."""
    start = utcnow() - timedelta(days=500, minutes=secrets.randbelow(100_000))
    numbers = []
    with runtime.db.unit_of_work() as db:
        for i, (outcome, rating) in enumerate((("on_time", 5), ("late", 3), ("open", None))):
            t = start + timedelta(minutes=i)
            event = service.create_event(
                db,
                actor=CENTRE,
                cipher=runtime.cipher,
                now=t,
                data=EventCreate(
                    description="学校乱收费", category_code="JY01", source="hotline", division_code="320581001"
                ),
            )
            numbers.append(event.number)
            service.act(db, actor=CENTRE, number=event.number, data=EventAction(action="sign"), now=t)
            if outcome == "open":
                continue
            done = event.deadline + timedelta(hours=1) if outcome == "late" else t + timedelta(hours=1)
            service.act(
                db, actor=CENTRE, number=event.number, data=EventAction(action="reply", note="已处理"), now=done
            )
            for action in ("verify", "close"):
                service.act(db, actor=CENTRE, number=event.number, data=EventAction(action=action), now=done)
            event.rating = rating
    return start, start + timedelta(hours=1), numbers


def test_figures_of_a_window_by_city_department_category_and_town(runtime):
    since, until, _ = _events_in_a_window_of_their_own(runtime)
    expected = {"total": 3, "closed": 2, "on_time": 1, "rated": 2, "satisfied": 1, "overdue_open": 1}
    with runtime.db.read_only() as db:
        city = service.city_event_figures(db, since=since, until=until)
        by = {
            grouping: service.event_figures(db, by=grouping, since=since, until=until)
            for grouping in ("department", "category", "division")
        }
        later = service.city_event_figures(db, since=until, until=until + timedelta(hours=1))
    assert isinstance(city, EventFigures) and (city.key, city.name) == ("ALL", "全市")
    assert {k: getattr(city, k) for k in expected} == expected
    assert city.on_time_rate == 0.5 and city.satisfaction == 0.5
    assert [(f.key, f.name) for f in by["department"]] == [("JYJ", "教育局")]
    assert [(f.key, f.name) for f in by["category"]] == [("JY01", "校外培训/教育收费")]
    assert [(f.key, f.name) for f in by["division"]] == [("320581001", "虞山街道")]
    assert all({k: getattr(f, k) for k in expected} == expected for rows in by.values() for f in rows)
    assert later.total == 0 and later.on_time_rate is None and later.satisfaction is None


def test_figures_agree_with_the_figures_page(runtime):
    with runtime.db.read_only() as db:
        page = {r.key: r for r in service.figures(db, by="department")}
        rows = [service.city_event_figures(db), *service.event_figures(db, by="department")]
    assert sorted(r.key for r in rows) == sorted(page)
    for row in rows:
        shown = page[row.key]
        assert (row.total, row.closed, row.on_time, row.rated, row.overdue_open) == (
            shown.total,
            shown.closed,
            shown.on_time,
            shown.rated,
            shown.overdue_open,
        )
        assert (row.on_time_rate, row.satisfaction) == (shown.on_time_rate, shown.satisfaction)


def test_closed_events_say_whether_they_were_on_time(runtime):
    since, _, numbers = _events_in_a_window_of_their_own(runtime)
    with runtime.db.read_only() as db:
        closed = {e.number: e for e in service.closed_events(db, since=since)}
    assert all(isinstance(e, ClosedEvent) for e in closed.values())
    assert closed[numbers[0]].on_time and not closed[numbers[1]].on_time and numbers[2] not in closed
    assert closed[numbers[0]].department_code == "JYJ" and closed[numbers[0]].title


def test_late_open_events_are_what_supervision_chases(runtime):
    _events_in_a_window_of_their_own(runtime)
    with runtime.db.read_only() as db:
        assert service.late_open_events(db) == service.supervision(db)["total_late"] >= 1


def test_the_map_shows_new_events_and_counts_every_event_per_town(client, runtime):
    number = report(client, "zhangsan", category_code="CG01", division_code="320581002001", lon=120.77, lat=31.64)[
        "number"
    ]
    with runtime.db.read_only() as db:
        points = service.event_map(db, days=1)
        newest = service.event_map(db, days=1, limit=1)
        towns = {f.key: f.total for f in service.event_figures(db, by="division")}
    assert points.points[0].number == number and (points.points[0].lon, points.points[0].lat) == (120.77, 31.64)
    assert [p.number for p in newest.points] == [number]
    town = next(d for d in points.divisions if d.code == "320581002")
    assert town.name == "常福街道" and town.count >= towns["320581002"]  # voided and undispatched ones too
    listed = client.get("/api/cityops/map", headers=bearer(client, "ldz_dispatcher")).json()
    assert {d["code"]: d["count"] for d in listed["divisions"]} == {d.code: d.count for d in points.divisions}


def test_categories_are_typed_and_ordered(runtime):
    with runtime.db.read_only() as db:
        categories = service.event_categories(db)
    assert all(isinstance(c, CategoryRead) for c in categories)
    assert [c.code for c in categories] == sorted(c.code for c in categories)
    school = next(c for c in categories if c.code == "JY01")
    assert (school.department_code, school.sla_hours) == ("JYJ", 120)
