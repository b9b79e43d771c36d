"""catalog: resource catalog entries, info items, published versions

Revision ID: catalog_0001
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "catalog_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("catalog",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=60), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("sharing_type", sa.String(length=10), nullable=False),
        sa.Column("sharing_condition", sa.String(length=500), nullable=False),
        sa.Column("sharing_method", sa.String(length=10), nullable=False),
        sa.Column("open_type", sa.String(length=10), nullable=False),
        sa.Column("update_cycle", sa.String(length=10), nullable=False),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("related_codes", sa.JSON(), nullable=False),
        sa.Column("data_grade", sa.String(length=4), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("licence", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("review_note", sa.String(length=500), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("published_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["org_department.id"], name=op.f("fk_catalog_entry_department_id_org_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entry")),
        sa.UniqueConstraint("code", name=op.f("uq_catalog_entry_code")),
    )
    with op.batch_alter_table("catalog_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_entry_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_department_code"), ["department_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_open_type"), ["open_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_sharing_type"), ["sharing_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_entry_updated_at"), ["updated_at"], unique=False)
    op.create_table(
        "catalog_entry_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["catalog_entry.id"],
            name=op.f("fk_catalog_entry_version_entry_id_catalog_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entry_version")),
        sa.UniqueConstraint("entry_id", "version", name=op.f("uq_catalog_entry_version_entry_id")),
    )
    with op.batch_alter_table("catalog_entry_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_entry_version_entry_id"), ["entry_id"], unique=False)
    op.create_table(
        "catalog_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("data_type", sa.String(length=10), nullable=False),
        sa.Column("length", sa.Integer(), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("validator", sa.String(length=20), nullable=False),
        sa.Column("validator_arg", sa.String(length=500), nullable=False),
        sa.Column("sensitivity", sa.Integer(), nullable=False),
        sa.Column("masking", sa.String(length=12), nullable=False),
        sa.Column("is_key", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["catalog_entry.id"], name=op.f("fk_catalog_item_entry_id_catalog_entry"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_item")),
        sa.UniqueConstraint("entry_id", "name", name=op.f("uq_catalog_item_entry_id")),
    )
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_item_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_item_entry_id")

    op.drop_table("catalog_item")
    with op.batch_alter_table("catalog_entry_version", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_entry_version_entry_id")

    op.drop_table("catalog_entry_version")
    with op.batch_alter_table("catalog_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_entry_category")
        batch_op.drop_index("ix_catalog_entry_department_code")
        batch_op.drop_index("ix_catalog_entry_department_id")
        batch_op.drop_index("ix_catalog_entry_open_type")
        batch_op.drop_index("ix_catalog_entry_sharing_type")
        batch_op.drop_index("ix_catalog_entry_updated_at")
        batch_op.drop_index("ix_catalog_entry_status")

    op.drop_table("catalog_entry")
