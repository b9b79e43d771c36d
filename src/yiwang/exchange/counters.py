"""Rate and quota counters of service grants (调用计数), counted in memory and kept in the database.

Admission decides from the process's own figures, without a database write per call: a window's
count is what the database held when this process first met the window (read once; a day's quota
survives a restart), plus the calls this process admitted since. The admitted calls are added to
`exch_service_counter` in the message log's group commit, in the transaction that records the calls,
and the totals that commit reads back replace this process's figures — so several processes see each
other's calls within one commit (a few milliseconds under load). Refused calls use no quota.
"""

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from yiwang.core.db import changed_rows, dialect_insert
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.exchange.models import ServiceCounter

Window = tuple[int, str]  # (grant id, "s<unix second>" or "d<YYYYMMDD> in Asia/Shanghai")
_TABLE = ServiceCounter.__table__


def second_window(grant_id: int, now: datetime) -> Window:
    return grant_id, f"s{int(now.timestamp())}"


def day_window(grant_id: int, now: datetime) -> Window:
    return grant_id, f"d{now.astimezone(SHANGHAI):%Y%m%d}"


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[Window, int] = {}  # the figure admission compares with the limit
        self._unsaved: dict[Window, int] = {}  # calls admitted here, not yet in the database

    def unknown(self, windows: Iterable[Window]) -> list[Window]:
        """Day windows this process has not read yet (a second's window starts from nothing)."""
        return [w for w in windows if w[1].startswith("d") and w not in self._known]

    def load(self, db: Session, windows: list[Window]) -> None:
        """Read the stored figures of windows met for the first time."""
        if not windows:
            return
        rows = db.execute(
            select(_TABLE.c.grant_id, _TABLE.c.window, _TABLE.c.calls).where(
                tuple_(_TABLE.c.grant_id, _TABLE.c.window).in_(windows)
            )
        ).all()
        stored = {(r.grant_id, r.window): int(r.calls) for r in rows}
        with self._lock:
            for window in windows:
                self._known.setdefault(window, stored.get(window, 0))

    def take(self, limits: list[tuple[Window, int]]) -> Window | None:
        """Count one call in each window unless one of them is at its limit; that window, if any."""
        with self._lock:
            for window, limit in limits:
                if self._known.get(window, 0) >= limit:
                    return window
            for window, _ in limits:
                self._known[window] = self._known.get(window, 0) + 1
                self._unsaved[window] = self._unsaved.get(window, 0) + 1
        return None

    def drain(self) -> dict[Window, int]:
        """The calls admitted since the last save, handed to the group commit."""
        with self._lock:
            taken, self._unsaved = self._unsaved, {}
        return taken

    def give_back(self, taken: dict[Window, int]) -> None:
        """A save that failed: its calls wait for the next one."""
        with self._lock:
            for window, calls in taken.items():
                self._unsaved[window] = self._unsaved.get(window, 0) + calls

    def settle(self, totals: dict[Window, int]) -> None:
        """The stored totals after a save, which include other processes' calls."""
        with self._lock:
            for window, total in totals.items():
                self._known[window] = total + self._unsaved.get(window, 0)
            self._forget_old()

    def _forget_old(self) -> None:
        if len(self._known) < 10_000:
            return
        now = utcnow()
        keep_second = f"s{int(now.timestamp()) - 5}"
        keep_day = f"d{now.astimezone(SHANGHAI) - timedelta(days=1):%Y%m%d}"
        for window in list(self._known):
            kind = window[1][0]
            if (kind == "s" and window[1] < keep_second) or (kind == "d" and window[1] < keep_day):
                del self._known[window]


def save(db: Session, taken: dict[Window, int]) -> dict[Window, int]:
    """Add the admitted calls to the stored counters; the totals after the addition."""
    totals: dict[Window, int] = {}
    insert = dialect_insert(db)
    for (grant_id, window), calls in sorted(taken.items()):  # one order: no deadlock between processes
        stmt = insert(_TABLE).values(grant_id=grant_id, window=window, calls=calls)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_TABLE.c.grant_id, _TABLE.c.window], set_={"calls": _TABLE.c.calls + stmt.excluded.calls}
        ).returning(_TABLE.c.calls)
        totals[(grant_id, window)] = int(db.execute(stmt).scalar_one())
    return totals


def purge(db: Session, *, now: datetime | None = None) -> int:
    """Drop rate windows older than a minute and quota days older than a week (job)."""
    now = now or utcnow()
    old_second = f"s{int(now.timestamp()) - 60}"
    old_day = f"d{(now.astimezone(SHANGHAI) - timedelta(days=7)):%Y%m%d}"
    removed = changed_rows(db, delete(_TABLE).where(_TABLE.c.window.like("s%"), _TABLE.c.window < old_second))
    return removed + changed_rows(db, delete(_TABLE).where(_TABLE.c.window.like("d%"), _TABLE.c.window < old_day))
