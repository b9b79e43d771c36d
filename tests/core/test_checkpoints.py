"""The WAL checkpointer of serve and worker: the writer's own checkpoints off, the log copied and restarted
by a thread of its own, every row still there."""

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from yiwang.core.db import Database


@pytest.fixture
def database(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with db.unit_of_work() as session:
        session.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield db
    db.dispose()


def _autocheckpoint(db: Database) -> int:
    raw = db.engine.raw_connection()
    try:
        return int(raw.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    finally:
        raw.close()


def _write(db: Database, rows: int) -> None:
    for i in range(rows):
        with db.unit_of_work() as session:
            session.execute(text("INSERT INTO note (body) VALUES (:body)"), {"body": f"{i:06d}" * 200})


def _log_pages(path: str) -> int:
    with sqlite3.connect(path) as connection:
        # A PASSIVE checkpoint with nothing left to copy only reports the log's length.
        return int(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_the_writer_stops_checkpointing_while_the_thread_runs_and_resumes_after(database):
    assert _autocheckpoint(database) == 1000
    checkpointer = database.background_checkpoints(interval_seconds=0.05, restart_pages=100)
    assert checkpointer is not None
    checkpointer.start()
    try:
        assert _autocheckpoint(database) == 0
        # A writer connection opened later (after a dispose) is set the same way.
        database.engine.dispose()
        assert _autocheckpoint(database) == 0
    finally:
        checkpointer.stop()
    assert _autocheckpoint(database) == 1000


def test_the_log_is_copied_and_restarted_by_the_thread_and_nothing_is_lost(database):
    path = database.engine.url.database
    checkpointer = database.background_checkpoints(interval_seconds=0.02, restart_pages=100)
    checkpointer.start()
    try:
        _write(database, 400)  # about 400 pages of log: the writer alone would never checkpoint it
        deadline = time.monotonic() + 10
        while checkpointer.restarts == 0 and time.monotonic() < deadline:
            _write(database, 5)
            time.sleep(0.02)
        assert checkpointer.restarts >= 1
    finally:
        checkpointer.stop()
    # The log was restarted, so it is far shorter than everything written since the start.
    assert _log_pages(path) < 400
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM note").fetchone()[0] >= 400


def test_writes_and_reads_keep_going_while_the_thread_restarts_the_log(database):
    checkpointer = database.background_checkpoints(interval_seconds=0.01, restart_pages=100)
    checkpointer.start()
    errors: list[BaseException] = []
    written = [0] * 3

    def writer(slot: int) -> None:
        try:
            for _ in range(150):
                _write(database, 1)
                written[slot] += 1
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(300):
                with database.read_only() as session:
                    session.execute(text("SELECT count(*) FROM note")).scalar_one()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(slot,)) for slot in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        checkpointer.stop()
    assert errors == []
    assert checkpointer.restarts >= 1
    with database.read_only() as session:
        assert session.execute(text("SELECT count(*) FROM note")).scalar_one() == sum(written) == 450


def test_postgresql_and_memory_databases_have_no_checkpointer():
    assert Database("sqlite://").background_checkpoints(interval_seconds=1, restart_pages=100) is None
