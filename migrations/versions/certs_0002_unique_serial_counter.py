"""certs: one serial counter row per type and year

Revision ID: certs_0002
Revises: certs_0001
Create Date: 2026-11-28 10:30:00

Serial numbers are taken with one upsert on (type_id, year), which needs that pair to be unique.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "certs_0002"
down_revision: str | None = "certs_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certs_serial", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_certs_serial_type_id"), ["type_id", "year"])


def downgrade() -> None:
    with op.batch_alter_table("certs_serial", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_certs_serial_type_id"), type_="unique")
