"""Demo city events for 一网统管: a spread of realistic reports in every state, and the simulator's trickle."""

import csv
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from yiwang.cityops import classifier, service
from yiwang.cityops import models as m
from yiwang.cityops.schemas import EventAction, EventCreate, Rating
from yiwang.core.permissions import registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.demo.people import mobile, person_name
from yiwang.org import service as org_service


def _texts() -> list[tuple[str, str]]:
    with (classifier.DATA / "heldout.tsv").open(encoding="utf-8") as handle:
        return [(r[0], r[1]) for r in csv.reader(handle, delimiter="\t")]


def _actor(db: Any, username: str) -> Principal | None:
    account = org_service.find_account(db, username=username)
    if account is None:
        return None
    return Principal(
        user_id=account.id,
        username=account.username,
        display_name=account.display_name,
        kind=account.kind,
        department_id=account.department_id,
        department_code=account.department_code,
        scope_department_ids=frozenset({account.department_id}) if account.department_id else frozenset(),
        permissions=frozenset(registry.permissions),
    )


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    """Categories, and (once) demo events spread over the last weeks in every state."""
    small = runtime.settings.demo_size == "small"
    with runtime.db.unit_of_work() as db:
        added = service.ensure_categories(db)
        # Once: sensor alarms of the sensing demo may have opened events already; they do not count.
        reports = select(func.count(m.Event.id)).where(m.Event.source != "sensor")
        if db.execute(reports).scalar_one():
            return {"categories": added, "events": 0}
        divisions = [d for d in org_service.list_divisions(db) if d.level in ("town", "subdistrict")]
        citizen = _actor(db, "zhangsan")
        centre = _actor(db, "ldz_dispatcher")
    rng = random.Random(311)
    texts = _texts()
    count = 12 if small else 160
    made = 0
    for i in range(count):
        _label, text = texts[i % len(texts)]
        division = divisions[i % len(divisions)]
        start = utcnow() - timedelta(hours=rng.randint(2, 24 * 20))
        with runtime.db.unit_of_work() as db:
            reporter = citizen if i % 3 == 0 and citizen else service.SYSTEM
            event = service.create_event(
                db,
                actor=reporter or service.SYSTEM,
                cipher=runtime.cipher,
                now=start,
                data=EventCreate(
                    description=text,
                    division_code=division.code,
                    lon=round((division.lon or 120.75) + rng.uniform(-0.01, 0.01), 5),
                    lat=round((division.lat or 31.65) + rng.uniform(-0.01, 0.01), 5),
                    address=f"{division.name}（演示地址）",
                    source="citizen" if reporter is citizen else "hotline",
                    reporter_name=person_name(rng),
                    reporter_phone=mobile(rng),
                ),
            )
            made += 1
            if event.status != "dispatched" or event.deadline is None or centre is None:
                continue
            handler = Principal(**{**centre.__dict__, "scope_department_ids": frozenset({event.department_id})})
            stage = rng.random()
            t = start + timedelta(hours=rng.uniform(0.2, 2))
            if stage < 0.2:
                continue
            service.act(db, actor=handler, number=event.number, data=EventAction(action="sign"), now=t)
            if stage < 0.35:
                continue
            late = rng.random() < 0.06
            t = event.deadline + timedelta(hours=2) if late else t + timedelta(hours=rng.uniform(0.5, 6))
            if t > utcnow():
                continue
            service.act(
                db, actor=handler, number=event.number, data=EventAction(action="reply", note="已现场处置完毕"), now=t
            )
            service.act(db, actor=centre, number=event.number, data=EventAction(action="verify"), now=t)
            service.act(db, actor=centre, number=event.number, data=EventAction(action="close"), now=t)
            if event.reporter_user_id and reporter and rng.random() < 0.8:
                service.rate(
                    db,
                    actor=reporter,
                    number=event.number,
                    now=t,
                    data=Rating(rating=rng.choice([5, 5, 5, 4, 4, 3, 2])),
                )
    with runtime.db.unit_of_work() as db:
        service.check_deadlines(db)
    return {"categories": added, "events": made}


def random_report(runtime: Runtime, rng: random.Random) -> None:
    """One citizen report, as the simulator's trickle."""
    texts = _texts()
    with runtime.db.unit_of_work() as db:
        divisions = [d for d in org_service.list_divisions(db) if d.level in ("town", "subdistrict")]
        division = rng.choice(divisions)
        service.create_event(
            db,
            actor=service.SYSTEM,
            cipher=runtime.cipher,
            data=EventCreate(
                description=rng.choice(texts)[1],
                division_code=division.code,
                source="citizen",
                lon=division.lon,
                lat=division.lat,
                address=f"{division.name}（模拟上报）",
            ),
        )
