"""Working-day arithmetic on the official Chinese calendar (chinese-calendar), make-up days included.

Overrides (a table the administrators keep) win over the package; for years the package does not
cover, days without an override fall back to Monday–Friday.
"""

from collections.abc import Mapping
from datetime import date, timedelta

import chinese_calendar


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
