"""exchange: a data call's body digest names its algorithm

Revision ID: exchange_0003
Revises: exchange_0002
Create Date: 2026-12-07 13:00:00

Digests are made with the installation's profile (SHA-256 in intl, SM3 in gm), so the algorithm is
stored beside each one; rows written before are SHA-256.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "exchange_0003"
down_revision: str | None = "exchange_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exch_call", schema=None) as batch_op:
        batch_op.alter_column("body_sha256", new_column_name="body_digest", existing_type=sa.String(length=64))
        batch_op.add_column(
            sa.Column("body_digest_algorithm", sa.String(length=16), server_default="SHA-256", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("exch_call", schema=None) as batch_op:
        batch_op.drop_column("body_digest_algorithm")
        batch_op.alter_column("body_digest", new_column_name="body_sha256", existing_type=sa.String(length=64))
