"""core: keyrings with versioned keys, the installation's crypto profile, re-encryption cursors

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-07 13:00:00

`core_crypto_state` records the profile (intl | gm) chosen at first start; `core_crypto_key` holds
every version of every purpose's key (symmetric keys wrapped under the master key, public keys of
signing keys); `core_reencrypt_cursor` is how far `yiwang keys reencrypt` got in each table. The audit
chain's head names the hash of its next entry, and each signed head its algorithm and key version
(SM2 public keys are longer than Ed25519's). Rows written before are SHA-256 and Ed25519 version 1.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "core_0002"
down_revision: str | None = "core_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "core_crypto_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(length=8), nullable=False),
        sa.Column("initial_profile", sa.String(length=8), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("changed_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_crypto_state")),
    )
    op.create_table(
        "core_crypto_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=24), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=True),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("retired_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_crypto_key")),
        sa.UniqueConstraint("purpose", "version", name=op.f("uq_core_crypto_key_purpose")),
    )
    op.create_index(op.f("ix_core_crypto_key_purpose"), "core_crypto_key", ["purpose"], unique=False)
    op.create_table(
        "core_reencrypt_cursor",
        sa.Column("table_name", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("last_key", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rows_rewritten", sa.Integer(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_core_reencrypt_cursor")),
    )
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_algorithm", sa.String(length=16), server_default="SHA-256", nullable=False))
    with op.batch_alter_table("audit_signature", schema=None) as batch_op:
        batch_op.alter_column("public_key", existing_type=sa.String(length=64), type_=sa.String(length=128))
        batch_op.add_column(sa.Column("algorithm", sa.String(length=16), server_default="Ed25519", nullable=False))
        batch_op.add_column(sa.Column("key_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_signature", schema=None) as batch_op:
        batch_op.drop_column("key_version")
        batch_op.drop_column("algorithm")
        batch_op.alter_column("public_key", existing_type=sa.String(length=128), type_=sa.String(length=64))
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_column("hash_algorithm")
    op.drop_table("core_reencrypt_cursor")
    op.drop_index(op.f("ix_core_crypto_key_purpose"), table_name="core_crypto_key")
    op.drop_table("core_crypto_key")
    op.drop_table("core_crypto_state")
