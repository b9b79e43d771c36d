"""Schema migrations with Alembic: upgrade on start, and a readiness check against the head."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def migrations_dir() -> Path:
    """The Alembic scripts: packaged inside the wheel, or at the top of a source checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    return config


# The master key, for data migrations that encrypt personal fields, when the caller has it.
MASTER_KEY = "master_key"


def upgrade(engine: Engine, revision: str = "heads", *, master_key: bytes | None = None) -> None:
    """Bring the database to the given revision; "heads" applies every domain's branch.

    `master_key` is handed to migrations that encrypt existing rows (they predate keyrings and use
    version 1 of the intl keys, `FieldCipher.legacy`); without it they load it from the settings."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if master_key is not None:
            config.attributes[MASTER_KEY] = master_key
        command.upgrade(config, revision)


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_matches_head(connection: Connection) -> bool:
    current = set(MigrationContext.configure(connection).get_current_heads())
    return current == head_revisions()
