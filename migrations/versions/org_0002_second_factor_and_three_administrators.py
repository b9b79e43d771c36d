"""org: second factors, and the separation of the three administrators

Revision ID: org_0002
Revises: org_0001
Create Date: 2026-12-07 13:00:00

Two-factor login (双因素认证): TOTP factors with their secrets encrypted at rest, one-time recovery
codes stored as keyed hashes, and a per-role "requires a second factor" flag.

Separation of the three administrators (三员分立): the all-powerful platform administrator becomes the
system administrator (系统管理员, code `platform_admin` kept). Its role-management and audit
permissions move to the new security administrator (安全管理员, `security_admin`) and audit
administrator (审计管理员, `audit_admin`), which the next start creates with their grants. This
migration creates no account: an installation names its security and audit administrators itself
(docs/operations.md, "Upgrading to the three administrators"). Every existing system administrator
must log in with a second factor from now on and is led to enrolment at the next login.

A trigger refuses any account holding two of the three roles. An account that already held two
(possible only with roles of these codes made by hand) stops the migration with their names, so an
operator decides which role each keeps; nothing is taken away silently.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "org_0002"
down_revision: str | None = "org_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the platform administrator held that now belongs to the security and the audit administrator.
MOVED_AWAY = ("org.role.write", "core.audit.read")
MESSAGE = "separation of duties: an account cannot hold two of platform_admin, security_admin, audit_admin"

_OTHER_SEPARATED_ROLE = (
    "SELECT 1 FROM org_user_role ur JOIN org_role r ON r.id = ur.role_id "
    "WHERE ur.user_id = NEW.user_id AND ur.role_id <> NEW.role_id "
    "AND r.code IN ('platform_admin', 'security_admin', 'audit_admin')"
)
_NEW_IS_SEPARATED = (
    "(SELECT code FROM org_role WHERE id = NEW.role_id) IN ('platform_admin', 'security_admin', 'audit_admin')"
)


def upgrade() -> None:
    op.add_column(
        "org_role", sa.Column("requires_second_factor", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "org_totp_factor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("confirmed_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["org_user.id"], name=op.f("fk_org_totp_factor_user_id_org_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_totp_factor")),
        sa.UniqueConstraint("user_id", name=op.f("uq_org_totp_factor_user_id")),
    )
    op.create_table(
        "org_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["org_user.id"], name=op.f("fk_org_recovery_code_user_id_org_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_recovery_code")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_org_recovery_code_user_id")),
    )
    op.create_index(op.f("ix_org_recovery_code_user_id"), "org_recovery_code", ["user_id"], unique=False)

    bind = op.get_bind()
    doubled = (
        bind.execute(
            sa.text(
                "SELECT u.username FROM org_user u JOIN org_user_role ur ON ur.user_id = u.id "
                "JOIN org_role r ON r.id = ur.role_id WHERE r.code IN ('platform_admin', 'security_admin', 'audit_admin') "
                "GROUP BY u.username HAVING COUNT(*) > 1 ORDER BY u.username"
            )
        )
        .scalars()
        .all()
    )
    if doubled:
        raise RuntimeError(
            "三员分立：以下账号同时持有系统管理员、安全管理员、审计管理员中的两个角色，请先撤销多余的角色再升级："
            + ", ".join(doubled)
        )
    bind.execute(
        sa.text(
            "UPDATE org_role SET name = :name, description = :description, requires_second_factor = :required "
            "WHERE code = 'platform_admin'"
        ),
        {
            "name": "系统管理员",
            "description": "账号、部门、行政区划、接入客户端与平台运维（三员之一）",
            "required": True,
        },
    )
    bind.execute(
        sa.text(
            "DELETE FROM org_role_permission WHERE permission IN :moved "
            "AND role_id IN (SELECT id FROM org_role WHERE code = 'platform_admin')"
        ).bindparams(sa.bindparam("moved", expanding=True)),
        {"moved": list(MOVED_AWAY)},
    )
    _create_guard(bind.dialect.name)


def _create_guard(dialect: str) -> None:
    if dialect == "sqlite":
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER org_user_role_separation_{event.lower()} BEFORE {event} ON org_user_role "
                f"WHEN {_NEW_IS_SEPARATED} AND EXISTS ({_OTHER_SEPARATED_ROLE}) "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        return
    # The account's row is locked first, so two transactions adding different administrator roles to
    # one account at once are checked one after the other.
    op.execute(
        "CREATE OR REPLACE FUNCTION org_user_role_separation() RETURNS trigger AS $$ BEGIN "
        f"IF {_NEW_IS_SEPARATED} THEN "
        "PERFORM 1 FROM org_user WHERE id = NEW.user_id FOR UPDATE; "
        f"IF EXISTS ({_OTHER_SEPARATED_ROLE}) THEN "
        f"RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'check_violation'; "
        "END IF; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER org_user_role_separation BEFORE INSERT OR UPDATE ON org_user_role "
        "FOR EACH ROW EXECUTE FUNCTION org_user_role_separation()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS org_user_role_separation_insert")
        op.execute("DROP TRIGGER IF EXISTS org_user_role_separation_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS org_user_role_separation ON org_user_role")
        op.execute("DROP FUNCTION IF EXISTS org_user_role_separation()")
    op.drop_index(op.f("ix_org_recovery_code_user_id"), table_name="org_recovery_code")
    op.drop_table("org_recovery_code")
    op.drop_table("org_totp_factor")
    with op.batch_alter_table("org_role", schema=None) as batch_op:
        batch_op.drop_column("requires_second_factor")
