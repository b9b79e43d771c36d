"""certs e-certificates and transparency log

Revision ID: certs_0001
Revises: 0001
Create Date: 2026-11-28 07:00:21.645840
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "certs_0001"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("certs",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certs_issuer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=20), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("key_file", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_issuer_key")),
        sa.UniqueConstraint("name", name=op.f("uq_certs_issuer_key_name")),
    )
    with op.batch_alter_table("certs_issuer_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certs_issuer_key_department_code"), ["department_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_issuer_key_department_id"), ["department_id"], unique=False)
    op.create_table(
        "certs_log_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_log_checkpoint")),
    )
    with op.batch_alter_table("certs_log_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certs_log_checkpoint_tree_size"), ["tree_size"], unique=False)
    head = op.create_table(
        "certs_log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_log_head")),
    )
    # The single head row appenders lock: the empty tree, root SHA-256("").
    op.bulk_insert(head, [{"id": 1, "tree_size": 0, "root_hash": hashlib.sha256(b"").digest()}])
    op.create_table(
        "certs_log_leaf",
        sa.Column("idx", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("leaf_input", sa.LargeBinary(), nullable=False),
        sa.Column("appended_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_certs_log_leaf")),
    )
    op.create_table(
        "certs_log_node",
        sa.Column("key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_certs_log_node")),
    )
    op.create_table(
        "certs_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=21), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("ministry", sa.String(length=60), nullable=False),
        sa.Column("holder_kind", sa.String(length=20), nullable=False),
        sa.Column("validity_years", sa.Integer(), nullable=True),
        sa.Column("high_frequency", sa.Boolean(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_type")),
        sa.UniqueConstraint("code", name=op.f("uq_certs_type_code")),
    )
    op.create_table(
        "certs_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("holder_user_id", sa.Integer(), nullable=True),
        sa.Column("holder_name", sa.String(length=100), nullable=False),
        sa.Column("holder_code_masked", sa.String(length=40), nullable=True),
        sa.Column("issuer_key_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("issued_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.Column("log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("revocation_log_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_key_id"], ["certs_issuer_key.id"], name=op.f("fk_certs_certificate_issuer_key_id_certs_issuer_key")
        ),
        sa.ForeignKeyConstraint(["type_id"], ["certs_type.id"], name=op.f("fk_certs_certificate_type_id_certs_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_certificate")),
        sa.UniqueConstraint("identifier", name=op.f("uq_certs_certificate_identifier")),
    )
    with op.batch_alter_table("certs_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certs_certificate_holder_user_id"), ["holder_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_certificate_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_certificate_issuer_key_id"), ["issuer_key_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_certificate_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_certificate_type_id"), ["type_id"], unique=False)
    op.create_table(
        "certs_serial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["type_id"], ["certs_type.id"], name=op.f("fk_certs_serial_type_id_certs_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_serial")),
    )
    with op.batch_alter_table("certs_serial", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certs_serial_type_id"), ["type_id"], unique=False)
    op.create_table(
        "certs_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("holder_user_id", sa.Integer(), nullable=True),
        sa.Column("used_by", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=True),
        sa.Column("consent_reference", sa.String(length=60), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("used_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certs_certificate.id"], name=op.f("fk_certs_use_certificate_id_certs_certificate")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certs_use")),
    )
    with op.batch_alter_table("certs_use", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certs_use_certificate_id"), ["certificate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_use_holder_user_id"), ["holder_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_use_reference"), ["reference"], unique=False)
        batch_op.create_index(batch_op.f("ix_certs_use_used_at"), ["used_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certs_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certs_use_used_at"))
        batch_op.drop_index(batch_op.f("ix_certs_use_reference"))
        batch_op.drop_index(batch_op.f("ix_certs_use_holder_user_id"))
        batch_op.drop_index(batch_op.f("ix_certs_use_certificate_id"))
    op.drop_table("certs_use")
    with op.batch_alter_table("certs_serial", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certs_serial_type_id"))
    op.drop_table("certs_serial")
    with op.batch_alter_table("certs_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certs_certificate_type_id"))
        batch_op.drop_index(batch_op.f("ix_certs_certificate_status"))
        batch_op.drop_index(batch_op.f("ix_certs_certificate_issuer_key_id"))
        batch_op.drop_index(batch_op.f("ix_certs_certificate_issued_at"))
        batch_op.drop_index(batch_op.f("ix_certs_certificate_holder_user_id"))
    op.drop_table("certs_certificate")
    op.drop_table("certs_type")
    op.drop_table("certs_log_node")
    op.drop_table("certs_log_leaf")
    op.drop_table("certs_log_head")
    with op.batch_alter_table("certs_log_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certs_log_checkpoint_tree_size"))
    op.drop_table("certs_log_checkpoint")
    with op.batch_alter_table("certs_issuer_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certs_issuer_key_department_id"))
        batch_op.drop_index(batch_op.f("ix_certs_issuer_key_department_code"))
    op.drop_table("certs_issuer_key")
