"""Migrations build the whole schema from nothing, and the models never drift from them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from yiwang.core.db import make_engine
from yiwang.core.migrate import head_revisions, upgrade
from yiwang.domains import metadata


def test_models_match_the_migrations(runtime):
    with runtime.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata())
    assert diff == [], "models and migrations differ; add a migration:\n" + "\n".join(map(str, diff))


def test_an_empty_sqlite_database_upgrades_to_every_head(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    with engine.connect() as conn:
        assert set(MigrationContext.configure(conn).get_current_heads()) == head_revisions()
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert journal == "wal" and foreign_keys == 1
    engine.dispose()
