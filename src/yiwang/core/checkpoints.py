"""SQLite's WAL checkpoints moved off the request path.

By default SQLite checkpoints inside the commit that grows the write-ahead log past 1,000 pages: that
commit copies the log into the database file and syncs it, holding the one writer connection while
every other writer queues behind it. Under a steady stream of small writes (token exchanges, events)
one commit in a hundred took 10–50 ms that way. Here the serving process turns that off for its writer
and a thread of its own copies the log in PASSIVE checkpoints, which neither take the write lock nor
wait for readers. A PASSIVE checkpoint never restarts the log while writes keep arriving, so once the
log passes `restart_pages` the thread asks for a RESTART: by then nearly every page is already copied
and the writers wait only for the last few and one sync, a few times a minute instead of on every
hundredth commit.
"""

import logging
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 0.5
DEFAULT_RESTART_PAGES = 4000  # 16 MB of log at SQLite's 4 KiB pages
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000
RESTART_WAIT_MS = 2000  # how long a RESTART may wait for writers and readers before it gives up


@dataclass(frozen=True)
class CheckpointResult:
    busy: bool
    log_pages: int
    checkpointed_pages: int


class BackgroundCheckpointer:
    """A daemon thread checkpointing one SQLite file while the writer's own checkpoints are off."""

    def __init__(
        self,
        *,
        writer: Engine,
        path: str,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        restart_pages: int = DEFAULT_RESTART_PAGES,
    ) -> None:
        self._writer = writer
        self._path = path
        self._interval = interval_seconds
        self._restart_pages = restart_pages
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.restarts = 0

    def start(self) -> None:
        event.listen(self._writer, "connect", self._on_connect)  # a writer connection opened later
        _set_autocheckpoint(self._writer, 0)
        self._thread = threading.Thread(target=self._loop, name="yiwang-wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=RESTART_WAIT_MS / 1000 + self._interval + 1)
        # Whatever writes this process still makes checkpoint themselves again.
        if event.contains(self._writer, "connect", self._on_connect):
            event.remove(self._writer, "connect", self._on_connect)
        _set_autocheckpoint(self._writer, SQLITE_DEFAULT_AUTOCHECKPOINT)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

    def _loop(self) -> None:
        connection = sqlite3.connect(self._path, timeout=RESTART_WAIT_MS / 1000, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
            while not self._stop.wait(self._interval):
                try:
                    self.checkpoint(connection)
                except sqlite3.Error:
                    # A locked or briefly unreadable file is tried again at the next interval.
                    log.warning("WAL checkpoint failed; retrying", exc_info=True)
        finally:
            connection.close()

    def checkpoint(self, connection: sqlite3.Connection) -> CheckpointResult:
        """One PASSIVE checkpoint, and a RESTART when the log has grown past the threshold."""
        result = _run(connection, "PASSIVE")
        if result.log_pages >= self._restart_pages:
            result = _run(connection, "RESTART")
            if not result.busy:
                self.restarts += 1
        return result


def _run(connection: sqlite3.Connection, mode: str) -> CheckpointResult:
    busy, log_pages, checkpointed = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return CheckpointResult(busy=bool(busy), log_pages=log_pages, checkpointed_pages=checkpointed)


def _set_autocheckpoint(writer: Engine, pages: int) -> None:
    # On the driver connection itself: through SQLAlchemy the statement would open a write transaction.
    raw = writer.raw_connection()
    try:
        raw.driver_connection.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")  # type: ignore[union-attr]
    finally:
        raw.close()
