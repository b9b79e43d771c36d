"""governance: a snapshot's checksum names its algorithm

Revision ID: governance_0002
Revises: governance_0001
Create Date: 2026-12-07 13:00:00

Digests are made with the installation's profile (SHA-256 in intl, SM3 in gm), so the algorithm is
stored beside each one; rows written before are SHA-256.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "governance_0002"
down_revision: str | None = "governance_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gov_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("checksum_algorithm", sa.String(length=16), server_default="SHA-256", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("gov_version", schema=None) as batch_op:
        batch_op.drop_column("checksum_algorithm")
