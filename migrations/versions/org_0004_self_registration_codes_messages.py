"""org: self-registration, one-time SMS codes and the message gateway

Revision ID: org_0004
Revises: org_0003
Create Date: 2026-12-07 12:40:00

One account per ID number and per credit code becomes a unique index on `org_user.id_number_hash`
and `org_user.credit_code`. Account creation already refused a second account for an ID number; an
installation that holds two accounts with one credit code (or ID number) stops here with the list of
numbers to resolve (merge or clear one of them), rather than losing either account.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "org_0004"
down_revision: str | None = "org_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _refuse_duplicates() -> None:
    connection = op.get_bind()
    for column, what in (("id_number_hash", "ID number (keyed hash)"), ("credit_code", "credit code")):
        rows = connection.execute(
            sa.text(
                f"SELECT {column}, COUNT(*) FROM org_user WHERE {column} IS NOT NULL "  # noqa: S608 (fixed names)
                f"GROUP BY {column} HAVING COUNT(*) > 1"
            )
        ).all()
        if rows:
            listed = ", ".join(str(row[0]) for row in rows[:20])
            raise RuntimeError(
                f"org_user holds {len(rows)} {what}s shared by several accounts ({listed}); "
                "give each number one account before upgrading (docs/registration.md)"
            )


def upgrade() -> None:
    _refuse_duplicates()
    op.create_table(
        "org_code_sender",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_code_sender")),
        sa.UniqueConstraint("key", name=op.f("uq_org_code_sender_key")),
    )
    op.create_table(
        "org_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("to_enc", sa.Text(), nullable=False),
        sa.Column("to_masked", sa.String(length=20), nullable=False),
        sa.Column("params_enc", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_message")),
        sa.UniqueConstraint("request_id", name=op.f("uq_org_message_request_id")),
    )
    op.create_index(op.f("ix_org_message_created_at"), "org_message", ["created_at"], unique=False)
    op.create_index(op.f("ix_org_message_status"), "org_message", ["status"], unique=False)
    op.create_table(
        "org_verification_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_verification_code")),
    )
    op.create_index("ix_org_verification_code_address", "org_verification_code", ["ip", "created_at"], unique=False)
    op.create_index(
        "ix_org_verification_code_number", "org_verification_code", ["phone_hash", "created_at"], unique=False
    )
    # Plain ADD COLUMN and index changes: SQLite needs no table rebuild for these.
    op.add_column("org_user", sa.Column("legal_representative", sa.String(length=100), nullable=True))
    op.add_column("org_user", sa.Column("operator_name", sa.String(length=100), nullable=True))
    op.drop_index(op.f("ix_org_user_credit_code"), table_name="org_user")
    op.create_index(op.f("ix_org_user_credit_code"), "org_user", ["credit_code"], unique=True)
    op.drop_index(op.f("ix_org_user_id_number_hash"), table_name="org_user")
    op.create_index(op.f("ix_org_user_id_number_hash"), "org_user", ["id_number_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_org_user_id_number_hash"), table_name="org_user")
    op.create_index(op.f("ix_org_user_id_number_hash"), "org_user", ["id_number_hash"], unique=False)
    op.drop_index(op.f("ix_org_user_credit_code"), table_name="org_user")
    op.create_index(op.f("ix_org_user_credit_code"), "org_user", ["credit_code"], unique=False)
    with op.batch_alter_table("org_user") as batch_op:
        batch_op.drop_column("operator_name")
        batch_op.drop_column("legal_representative")
    op.drop_table("org_verification_code")
    op.drop_table("org_message")
    op.drop_table("org_code_sender")
