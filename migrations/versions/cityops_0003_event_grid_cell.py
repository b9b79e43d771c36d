"""cityops: events located to a grid cell (网格), and a longitude index for map queries

Revision ID: cityops_0003
Revises: cityops_0002
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cityops_0003"
down_revision: str | None = "cityops_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cityops_event", sa.Column("grid_code", sa.String(length=20), nullable=True))
    op.create_index(op.f("ix_cityops_event_grid_code"), "cityops_event", ["grid_code"], unique=False)
    op.create_index(op.f("ix_cityops_event_lon"), "cityops_event", ["lon"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cityops_event_lon"), table_name="cityops_event")
    op.drop_index(op.f("ix_cityops_event_grid_code"), table_name="cityops_event")
    with op.batch_alter_table("cityops_event", schema=None) as batch_op:
        batch_op.drop_column("grid_code")
