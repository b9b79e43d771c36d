"""org_0002 maps an installation's administrators onto the three: each platform administrator keeps
the system administrator role without the role and audit rights, nobody is given the other two, and
the database refuses two of them on one account from then on. On SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.onestop.test_personal_migration import old_database  # noqa: F401  (the fixture)
from yiwang.core.migrate import upgrade

# What a platform administrator held before the separation (org's default grants of that time).
OLD_GRANTS = (
    "org.user.read",
    "org.role.read",
    "org.department.read",
    "org.division.read",
    "org.user.write",
    "org.role.write",
    "org.department.write",
    "org.division.write",
    "org.client.write",
    "org.workbench.view",
    "org.role.grant_any",
    "org.user.create_public",
    "core.audit.read",
    "core.events.manage",
    "core.scope.all",
    "core.personal.read_clear",
)


def _old_installation(engine) -> None:
    """The rows an installation at org_0001 has: the platform administrator role and its holder."""
    upgrade(engine, "org_0001")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org_department (id, code, short_name, full_name, kind, parent_id, active) "
                "VALUES (1, 'DSJ', '大数据局', '常熟市大数据管理局', 'platform', NULL, true)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO org_role (id, code, name, description) VALUES "
                "(1, 'platform_admin', '平台管理员', '平台运维与账号、权限、审计管理'), (2, 'leader', '领导', '')"
            )
        )
        for number, permission in enumerate(OLD_GRANTS, start=1):
            conn.execute(
                text("INSERT INTO org_role_permission (id, role_id, permission) VALUES (:id, 1, :p)"),
                {"id": number, "p": permission},
            )
        for user_id, username in ((1, "ops"), (2, "ops2")):
            conn.execute(
                text(
                    "INSERT INTO org_user (id, username, kind, display_name, department_id, active, scopes,"
                    " failed_logins, must_change_password, created_at) VALUES (:id, :name, 'staff', '运维', 1,"
                    " true, '', 0, false, :now)"
                ),
                {"id": user_id, "name": username, "now": now},
            )
            conn.execute(text("INSERT INTO org_user_role (id, user_id, role_id) VALUES (:id, :id, 1)"), {"id": user_id})


def test_existing_platform_administrators_become_system_administrators(old_database):  # noqa: F811
    _old_installation(old_database)
    upgrade(old_database)
    with old_database.connect() as conn:
        role = conn.execute(
            text("SELECT name, requires_second_factor FROM org_role WHERE code = 'platform_admin'")
        ).one()
        granted = set(conn.execute(text("SELECT permission FROM org_role_permission WHERE role_id = 1")).scalars())
        holders = (
            conn.execute(
                text("SELECT u.username FROM org_user u JOIN org_user_role ur ON ur.user_id = u.id ORDER BY u.username")
            )
            .scalars()
            .all()
        )
        roles = set(conn.execute(text("SELECT code FROM org_role")).scalars())
        leader_flag = conn.execute(text("SELECT requires_second_factor FROM org_role WHERE code = 'leader'")).scalar()
    assert role.name == "系统管理员" and bool(role.requires_second_factor) is True
    assert granted == set(OLD_GRANTS) - {"org.role.write", "core.audit.read"}
    assert holders == ["ops", "ops2"]  # each keeps the system administrator role, and only that
    assert roles == {"platform_admin", "leader"}  # the migration makes no role and no account up
    assert bool(leader_flag) is False
    # From now on an account cannot hold a second of the three.
    with old_database.begin() as conn:
        conn.execute(text("INSERT INTO org_role (id, code, name, description) VALUES (3, 'audit_admin', '审计', '')"))
    with pytest.raises((IntegrityError, DBAPIError)), old_database.begin() as conn:
        conn.execute(text("INSERT INTO org_user_role (id, user_id, role_id) VALUES (10, 1, 3)"))
    with old_database.begin() as conn:  # a business role beside it is fine, and the third account may audit
        conn.execute(text("INSERT INTO org_user_role (id, user_id, role_id) VALUES (11, 1, 2)"))


def test_an_account_already_holding_two_stops_the_upgrade_by_name(old_database):  # noqa: F811
    _old_installation(old_database)
    with old_database.begin() as conn:
        conn.execute(text("INSERT INTO org_role (id, code, name, description) VALUES (3, 'audit_admin', '审计', '')"))
        conn.execute(text("INSERT INTO org_user_role (id, user_id, role_id) VALUES (10, 2, 3)"))
    with pytest.raises(RuntimeError, match="ops2"):
        upgrade(old_database)
