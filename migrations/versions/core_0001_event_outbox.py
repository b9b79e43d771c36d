"""core: event outbox

Revision ID: core_0001
Revises: 0002
Create Date: 2026-12-07 07:00:00

Events between domains are written to `core_event_outbox` in the transaction of the change that
raises them and delivered after it commits, by the publishing process at once and by the
`events.deliver` job for anything left over (a crash, a failing handler).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0001"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_event_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("handlers_done", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("available_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_event_outbox")),
    )
    op.create_index("ix_core_event_outbox_due", "core_event_outbox", ["status", "available_at"], unique=False)
    op.create_index(op.f("ix_core_event_outbox_name"), "core_event_outbox", ["name"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_core_event_outbox_name"), table_name="core_event_outbox")
    op.drop_index("ix_core_event_outbox_due", table_name="core_event_outbox")
    op.drop_table("core_event_outbox")
