"""onestop: an upload's digest names its algorithm

Revision ID: onestop_0003
Revises: onestop_0002
Create Date: 2026-12-07 13:00:00

Digests are made with the installation's profile (SHA-256 in intl, SM3 in gm), so the algorithm is
stored beside each one; rows written before are SHA-256.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "onestop_0003"
down_revision: str | None = "onestop_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("onestop_attachment", schema=None) as batch_op:
        batch_op.alter_column("sha256", new_column_name="digest", existing_type=sa.String(length=64))
        batch_op.add_column(
            sa.Column("digest_algorithm", sa.String(length=16), server_default="SHA-256", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("onestop_attachment", schema=None) as batch_op:
        batch_op.drop_column("digest_algorithm")
        batch_op.alter_column("digest", new_column_name="sha256", existing_type=sa.String(length=64))
