"""exchange: sharing applications, grants, data API call log

Revision ID: exchange_0001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "exchange_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("exchange",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exch_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("entry_code", sa.String(length=30), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=False),
        sa.Column("applicant_name", sa.String(length=100), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider_due", sa.Date(), nullable=True),
        sa.Column("provider_by", sa.String(length=100), nullable=True),
        sa.Column("provider_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("provider_opinion", sa.String(length=500), nullable=False),
        sa.Column("bureau_by", sa.String(length=100), nullable=True),
        sa.Column("bureau_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("bureau_opinion", sa.String(length=500), nullable=False),
        sa.Column("refusal_reason", sa.String(length=500), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exch_application")),
        sa.UniqueConstraint("number", name=op.f("uq_exch_application_number")),
    )
    with op.batch_alter_table("exch_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exch_application_consumer_department_id"), ["consumer_department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exch_application_entry_code"), ["entry_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exch_application_provider_department_id"), ["provider_department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exch_application_status"), ["status"], unique=False)
    op.create_table(
        "exch_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=True),
        sa.Column("caller_name", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("query", sa.String(length=500), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exch_call")),
    )
    with op.batch_alter_table("exch_call", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exch_call_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exch_call_occurred_at"), ["occurred_at"], unique=False)
    op.create_table(
        "exch_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("entry_code", sa.String(length=30), nullable=False),
        sa.Column("provider_department_id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.JSON(), nullable=False),
        sa.Column("masking", sa.JSON(), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["exch_application.id"], name=op.f("fk_exch_grant_application_id_exch_application")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exch_grant")),
    )
    with op.batch_alter_table("exch_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exch_grant_application_id"), ["application_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exch_grant_consumer_department_id"), ["consumer_department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exch_grant_entry_code"), ["entry_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_exch_grant_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exch_grant_provider_department_id"), ["provider_department_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("exch_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_exch_grant_application_id")
        batch_op.drop_index("ix_exch_grant_consumer_department_id")
        batch_op.drop_index("ix_exch_grant_entry_code")
        batch_op.drop_index("ix_exch_grant_expires_at")
        batch_op.drop_index("ix_exch_grant_provider_department_id")

    op.drop_table("exch_grant")
    with op.batch_alter_table("exch_call", schema=None) as batch_op:
        batch_op.drop_index("ix_exch_call_grant_id")
        batch_op.drop_index("ix_exch_call_occurred_at")

    op.drop_table("exch_call")
    with op.batch_alter_table("exch_application", schema=None) as batch_op:
        batch_op.drop_index("ix_exch_application_consumer_department_id")
        batch_op.drop_index("ix_exch_application_entry_code")
        batch_op.drop_index("ix_exch_application_provider_department_id")
        batch_op.drop_index("ix_exch_application_status")

    op.drop_table("exch_application")
