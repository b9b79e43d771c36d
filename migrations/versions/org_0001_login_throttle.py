"""org: login throttling per account name and client address

Revision ID: org_0001
Revises: 0002
Create Date: 2026-12-07 07:00:00

Replaces the account-wide lock-out (which let anyone lock an account, and told apart known and
unknown names) with back-off per (account name, client address) and an account-wide throttle that
spares the addresses the account has signed in from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "org_0001"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("org",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_login_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_login_throttle")),
        sa.UniqueConstraint("username", "ip", name=op.f("uq_org_login_throttle_username")),
    )
    # Accounts locked by the old rule are released: the new throttle starts from nothing.
    op.execute("UPDATE org_user SET failed_logins = 0, locked_until = NULL")


def downgrade() -> None:
    op.drop_table("org_login_throttle")
