"""org: the browser of each session, for the sessions list

Revision ID: org_0003
Revises: org_0002
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "org_0003"
down_revision: str | None = "org_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("org_credential") as batch_op:
        batch_op.add_column(sa.Column("user_agent", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("org_credential") as batch_op:
        batch_op.drop_column("user_agent")
