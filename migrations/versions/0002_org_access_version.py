"""org: access version counter kept by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:00:00

Authenticating a request needs the caller's roles, permissions and department subtree. Processes
cache them keyed on `org_access_version.value`, which triggers on the tables they come from raise in
the same transaction as the change, so every process sees a change on its next request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ("org_role", "org_role_permission", "org_user_role", "org_department")
BUMP = "UPDATE org_access_version SET value = value + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "org_access_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_access_version")),
    )
    op.execute("INSERT INTO org_access_version (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_access_{event.lower()} AFTER {event} ON {table} BEGIN {BUMP}; END")
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION org_access_bump() RETURNS trigger AS $$ BEGIN {BUMP}; RETURN NULL; END; $$ "
        "LANGUAGE plpgsql"
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_access AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION org_access_bump()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_access_{event}")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_access ON {table}")
        op.execute("DROP FUNCTION IF EXISTS org_access_bump()")
    op.drop_table("org_access_version")
