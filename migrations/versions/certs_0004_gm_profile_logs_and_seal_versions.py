"""certs: several transparency logs (one per crypto profile era), versioned seal keys with algorithms

Revision ID: certs_0004
Revises: certs_0003
Create Date: 2026-12-07 13:00:00

A log cannot change its hash: an installation that switches from intl to gm freezes its log and
starts a new one, so every log row (leaf, node, checkpoint) now names its log, and the head row
becomes the log's record (origin, hash, signature algorithm, key file, state, links). Existing rows
belong to log 1, an intl log; its origin is filled in by the platform at first use, from the
settings. Seal keys get a version and an algorithm (existing ones: version 1, Ed25519) and a
retirement time; public keys grow to hold SM2's 65-byte point.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "certs_0004"
down_revision: str | None = "certs_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _log_id_in_primary_key(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_id", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column("log_id", server_default=None)
        batch_op.drop_constraint(f"pk_{table}", type_="primary")
        batch_op.create_primary_key(f"pk_{table}", ["log_id", column])


def upgrade() -> None:
    _log_id_in_primary_key("certs_log_leaf", "idx")
    _log_id_in_primary_key("certs_log_node", "key")
    with op.batch_alter_table("certs_log_checkpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_id", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index(batch_op.f("ix_certs_log_checkpoint_log_id"), ["log_id"], unique=False)
    with op.batch_alter_table("certs_log_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("hash_name", sa.String(length=10), server_default="SHA-256", nullable=False))
        batch_op.add_column(
            sa.Column("signature_algorithm", sa.String(length=10), server_default="Ed25519", nullable=False)
        )
        batch_op.add_column(
            sa.Column("key_file", sa.String(length=200), server_default="transparency_log_ed25519.pem", nullable=False)
        )
        batch_op.add_column(sa.Column("state", sa.String(length=10), server_default="active", nullable=False))
        batch_op.add_column(sa.Column("predecessor_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("successor_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("frozen_at", yiwang.core.db.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_certs_log_head_origin"), ["origin"])
    with op.batch_alter_table("certs_certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("log_id", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("revocation_log_id", sa.Integer(), nullable=True))
    op.execute("UPDATE certs_certificate SET revocation_log_id = 1 WHERE revocation_log_index IS NOT NULL")
    # Only columns and an index: certificates reference this table, and rebuilding it on SQLite would
    # trip their foreign keys.
    op.add_column("certs_issuer_key", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "certs_issuer_key", sa.Column("algorithm", sa.String(length=10), server_default="Ed25519", nullable=False)
    )
    op.add_column("certs_issuer_key", sa.Column("retired_at", yiwang.core.db.UTCDateTime(), nullable=True))
    _widen_public_key(64, 120)
    op.create_index(
        "ux_certs_issuer_key_department_version", "certs_issuer_key", ["department_code", "version"], unique=True
    )


def _widen_public_key(old: int, new: int) -> None:
    """SM2's 65-byte point needs 88 base64 characters. SQLite changes a column's declared type only by
    rebuilding the table, so there the column is replaced in place (SQLite ≥ 3.35 drops columns)."""
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "certs_issuer_key", "public_key", existing_type=sa.String(length=old), type_=sa.String(length=new)
        )
        return
    # SQLite adds a NOT NULL column only with a default; every row gets its value just below
    op.add_column(
        "certs_issuer_key",
        sa.Column("public_key_resized", sa.String(length=new), nullable=False, server_default=""),
    )
    op.execute("UPDATE certs_issuer_key SET public_key_resized = public_key")
    op.execute("ALTER TABLE certs_issuer_key DROP COLUMN public_key")
    op.execute("ALTER TABLE certs_issuer_key RENAME COLUMN public_key_resized TO public_key")


def downgrade() -> None:
    op.drop_index("ux_certs_issuer_key_department_version", table_name="certs_issuer_key")
    _widen_public_key(120, 64)
    for column in ("retired_at", "algorithm", "version"):
        op.drop_column("certs_issuer_key", column)
    with op.batch_alter_table("certs_certificate", schema=None) as batch_op:
        batch_op.drop_column("revocation_log_id")
        batch_op.drop_column("log_id")
    with op.batch_alter_table("certs_log_head", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_certs_log_head_origin"), type_="unique")
        for column in (
            "frozen_at",
            "created_at",
            "successor_id",
            "predecessor_id",
            "state",
            "key_file",
            "signature_algorithm",
            "hash_name",
            "origin",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("certs_log_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certs_log_checkpoint_log_id"))
        batch_op.drop_column("log_id")
    for table, column in (("certs_log_node", "key"), ("certs_log_leaf", "idx")):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"pk_{table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", [column])
            batch_op.drop_column("log_id")
