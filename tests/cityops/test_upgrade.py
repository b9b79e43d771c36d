"""Upgrading a database made before dispatchers configured dispatch rules gives them the permission."""

from alembic import command
from sqlalchemy import text

from yiwang.core.migrate import alembic_config, upgrade

GRANTED = """SELECT COUNT(*) FROM org_role_permission p JOIN org_role r ON r.id = p.role_id
             WHERE r.code = 'dispatcher' AND p.permission = 'cityops.config.write'"""


def test_the_upgrade_grants_the_dispatcher_the_config_permission_once(runtime):
    engine = runtime.db.engine
    with engine.begin() as conn:
        assert conn.execute(text(GRANTED)).scalar_one() == 1  # a new database has it from the role definitions
        conn.execute(
            text(
                "DELETE FROM org_role_permission WHERE permission = 'cityops.config.write' AND role_id = "
                "(SELECT id FROM org_role WHERE code = 'dispatcher')"
            )
        )
    config = alembic_config()
    with engine.begin() as conn:  # the database as it was before this revision
        config.attributes["connection"] = conn
        command.stamp(config, "cityops_0001")
    upgrade(engine, "cityops_0002")
    upgrade(engine, "cityops_0002")  # again: nothing more
    with engine.begin() as conn:
        assert conn.execute(text(GRANTED)).scalar_one() == 1
        # the later revisions of the branch are already in this database's tables: mark them so
        config.attributes["connection"] = conn
        command.stamp(config, "cityops_0003")
    upgrade(engine)
