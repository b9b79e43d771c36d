"""Working days on the official Chinese calendar (chinese-calendar), make-up days included, and the
one table of overrides the administrators keep, which every deadline in the platform honours.

Overrides win over the package; for years the package does not cover, days without an override
fall back to Monday–Friday.
"""

from collections.abc import Mapping
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import Boolean, Date, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from yiwang.core.db import Base


class CalendarOverride(Base):
    """A day that is (or is not) a working day regardless of the holiday package."""

    # Named for the domain that first kept it; the name stays so existing databases need no change.
    __tablename__ = "onestop_calendar_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(100), default="")


_OVERRIDES_KEY = "calendar_overrides"


def calendar_overrides(db: Session) -> dict[date, bool]:
    """The override table, read once per unit of work."""
    if _OVERRIDES_KEY not in db.info:
        db.info[_OVERRIDES_KEY] = {row.day: row.workday for row in db.execute(select(CalendarOverride)).scalars()}
    overrides: dict[date, bool] = db.info[_OVERRIDES_KEY]
    return overrides


def set_override(db: Session, *, day: date, workday: bool, note: str) -> None:
    """Declare a day a working day or not, for every deadline computed from now on."""
    row = db.get(CalendarOverride, day)
    if row is None:
        db.add(CalendarOverride(day=day, workday=workday, note=note))
    else:
        row.workday, row.note = workday, note
    db.flush()
    db.info.pop(_OVERRIDES_KEY, None)


def working_day_after(db: Session, *, start: date, days: int) -> date:
    """The `days`-th working day after `start` on the official calendar with its overrides."""
    return add_working_days(start, days, calendar_overrides(db))


def is_workday(day: date, overrides: Mapping[date, bool] | None = None) -> bool:
    if overrides and day in overrides:
        return overrides[day]
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the package does not know yet
        return day.weekday() < 5


def add_working_days(start: date, days: int, overrides: Mapping[date, bool] | None = None) -> date:
    """The date of the `days`-th working day after `start` (start itself not counted)."""
    current, remaining = start, days
    while remaining > 0:
        current += timedelta(days=1)
        if is_workday(current, overrides):
            remaining -= 1
    return current


def working_days_between(start: date, end: date, overrides: Mapping[date, bool] | None = None) -> int:
    """Working days in (start, end]; 0 when end ≤ start."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current, overrides):
            count += 1
    return count
