"""identity: the OpenID Connect provider

Revision ID: identity_0001
Revises: 0002
Create Date: 2026-12-07 12:41:17.113183

Clients (relying parties), public halves of the ID-token signing keys, authorization codes and tokens
(stored as hashes), consents, and the applications signed in through each yiwang session.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import yiwang.core.db

revision: str = "identity_0001"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("id_token_alg", sa.String(length=10), nullable=False),
        sa.Column("subject_key_version", sa.Integer(), nullable=False),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("may_introspect", sa.Boolean(), nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(length=500), nullable=True),
        sa.Column("frontchannel_logout_uri", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_client")),
        sa.UniqueConstraint("client_id", name=op.f("uq_identity_client_client_id")),
    )
    with op.batch_alter_table("identity_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_client_department_id"), ["department_id"], unique=False)

    op.create_table(
        "identity_signing_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=10), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("retired_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("drop_after", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_signing_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_identity_signing_key_kid")),
    )
    with op.batch_alter_table("identity_signing_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_signing_key_alg"), ["alg"], unique=False)

    op.create_table(
        "identity_app_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=300), nullable=False),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["identity_client.id"],
            name=op.f("fk_identity_app_session_client_pk_identity_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_app_session")),
        sa.UniqueConstraint("session_id", "client_pk", name=op.f("uq_identity_app_session_session_id")),
    )
    with op.batch_alter_table("identity_app_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_app_session_client_pk"), ["client_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_app_session_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_app_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "identity_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=True),
        sa.Column("auth_time", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["identity_client.id"],
            name=op.f("fk_identity_code_client_pk_identity_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_identity_code_code_hash")),
    )
    with op.batch_alter_table("identity_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_code_client_pk"), ["client_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_code_user_id"), ["user_id"], unique=False)

    op.create_table(
        "identity_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("granted_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["identity_client.id"],
            name=op.f("fk_identity_consent_client_pk_identity_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_consent")),
        sa.UniqueConstraint("user_id", "client_pk", name=op.f("uq_identity_consent_user_id")),
    )
    with op.batch_alter_table("identity_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_consent_client_pk"), ["client_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_consent_user_id"), ["user_id"], unique=False)

    op.create_table(
        "identity_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("access_hash", sa.String(length=128), nullable=False),
        sa.Column("refresh_hash", sa.String(length=128), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("access_expires_at", yiwang.core.db.UTCDateTime(), nullable=False),
        sa.Column("refresh_expires_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("refresh_used_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", yiwang.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["identity_client.id"],
            name=op.f("fk_identity_token_client_pk_identity_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_token")),
        sa.UniqueConstraint("access_hash", name=op.f("uq_identity_token_access_hash")),
        sa.UniqueConstraint("refresh_hash", name=op.f("uq_identity_token_refresh_hash")),
    )
    with op.batch_alter_table("identity_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_token_client_pk"), ["client_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_token_code_id"), ["code_id"], unique=False)
        batch_op.create_index("ix_identity_token_family", ["family"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_token_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_token_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_identity_token_session_id"))
        batch_op.drop_index("ix_identity_token_family")
        batch_op.drop_index(batch_op.f("ix_identity_token_code_id"))
        batch_op.drop_index(batch_op.f("ix_identity_token_client_pk"))

    op.drop_table("identity_token")
    with op.batch_alter_table("identity_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_consent_user_id"))
        batch_op.drop_index(batch_op.f("ix_identity_consent_client_pk"))

    op.drop_table("identity_consent")
    with op.batch_alter_table("identity_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_code_user_id"))
        batch_op.drop_index(batch_op.f("ix_identity_code_client_pk"))

    op.drop_table("identity_code")
    with op.batch_alter_table("identity_app_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_app_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_identity_app_session_session_id"))
        batch_op.drop_index(batch_op.f("ix_identity_app_session_client_pk"))

    op.drop_table("identity_app_session")
    with op.batch_alter_table("identity_signing_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_signing_key_alg"))

    op.drop_table("identity_signing_key")
    with op.batch_alter_table("identity_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_client_department_id"))

    op.drop_table("identity_client")
