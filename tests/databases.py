"""Test databases: migrated once per test run into a template, then copied for each platform a test
builds, and one PostgreSQL database per pytest-xdist worker.

Running Alembic from nothing for every platform costs more than copying its result. The first worker
to need a template builds it under a file lock in the run's shared temporary directory; every later
use copies it (a file for SQLite, `CREATE DATABASE … TEMPLATE` for PostgreSQL). The migrations from
nothing still run once per run and engine, and tests/test_migrations.py checks them on their own."""

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from yiwang.core.db import make_engine
from yiwang.core.migrate import upgrade

# "gw0", "gw1", … under pytest-xdist; "main" in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
SQLITE_FILE = "yiwang.db"  # the file Settings.resolved_database_url names in the data directory


def shared_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary directory that every worker sees (each worker's own is a folder inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


class Templates:
    """Migrated databases of this test run, built once and copied from then on."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def migrated_data_dir(self, data_dir: Path) -> Path:
        """`data_dir` with a migrated, empty SQLite database in it, ready for a new platform."""
        template = self.root / "migrated.db"
        with self._exclusive():
            if not template.exists():
                building = self.root / "migrating.db"
                engine = make_engine(f"sqlite:///{building}")
                upgrade(engine)
                engine.dispose()  # checkpoints the write-ahead log into the file
                building.rename(template)
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, data_dir / SQLITE_FILE)
        return data_dir

    def postgres_database(self, url: str) -> str:
        """A migrated, empty database of this worker's own, named after the one in `url`
        (`test` gives `test_gw0`, `test_gw1`, … and the template `test_template`); its URL."""
        base = make_url(url)
        template = f"{base.database}_template"
        mine = f"{base.database}_{WORKER}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")  # the named database is the one that exists
        try:
            with self._exclusive():
                built = self.root / "postgres-template-built"
                if not built.exists():
                    _recreate(admin, template)
                    engine = make_engine(base.set(database=template).render_as_string(hide_password=False))
                    upgrade(engine)
                    engine.dispose()  # a template cannot be copied while anyone is connected to it
                    built.touch()
                _recreate(admin, mine, template=template)
        finally:
            admin.dispose()
        return base.set(database=mine).render_as_string(hide_password=False)


def _recreate(admin: Engine, name: str, *, template: str | None = None) -> None:
    """Drop (disconnecting whoever is left from an earlier run) and create a database."""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
