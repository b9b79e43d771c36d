"""sensing: when a datastream was added

Revision ID: sensing_0003
Revises: sensing_0002
Create Date: 2026-11-28 11:30:00

A no-data rule counts the silence of a datastream that has never reported from the moment it was
added, instead of flagging it at once. Datastreams added before this revision have no time and are
treated as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "sensing_0003"
down_revision: str | None = "sensing_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sensing_datastream", sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sensing_datastream", schema=None) as batch_op:
        batch_op.drop_column("created_at")
