"""Alembic environment: runs on the connection yiwang hands over, or on YIWANG_DATABASE_URL."""

from alembic import context
from sqlalchemy import create_engine

from yiwang.config import get_settings
from yiwang.domains import metadata

target_metadata = metadata()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(get_settings().resolved_database_url)
    with engine.begin() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
