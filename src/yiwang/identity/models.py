"""Tables of the identity domain (OpenID Connect provider); internal to it.

Every opaque secret (client secrets, codes, access and refresh tokens) is stored only as its hash
through `yiwang.core.crypto`; private signing keys live in files, only their public halves here."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class OidcClient(Base):
    """A relying party (接入应用) registered by the platform administrator."""

    __tablename__ = "identity_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    redirect_uris: Mapped[str] = mapped_column(Text)  # one per line, matched exactly
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text, default="")
    scopes: Mapped[str] = mapped_column(Text)  # space-separated scopes the client may ask for
    id_token_alg: Mapped[str] = mapped_column(String(10), default="RS256")
    # The pseudonym key version its citizens' pairwise subjects are made with: fixed at registration,
    # so a key rotation or a crypto profile switch never changes the subjects an application knows.
    subject_key_version: Mapped[int] = mapped_column(Integer, default=1)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    may_introspect: Mapped[bool] = mapped_column(Boolean, default=False)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SigningKey(Base):
    """The public half of an ID-token signing key; the private half is a file named by its kid."""

    __tablename__ = "identity_signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(10), index=True)
    public_jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # no longer signs
    drop_after: Mapped[datetime | None] = mapped_column(UTCDateTime())  # leaves the JWKS after this


class AuthorizationCode(Base):
    """A single-use code bound to client, redirect URI, PKCE challenge, nonce and the browser session."""

    __tablename__ = "identity_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("identity_client.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime())
    session_id: Mapped[int | None] = mapped_column(Integer)  # the yiwang (org) session that signed in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IssuedToken(Base):
    """An access token and its refresh token. Refreshing rotates: the row's refresh token is spent and
    a new row of the same family is issued; presenting a spent one again revokes the whole family."""

    __tablename__ = "identity_token"
    __table_args__ = (Index("ix_identity_token_family", "family"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("identity_client.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    family: Mapped[str] = mapped_column(String(64))
    code_id: Mapped[int | None] = mapped_column(Integer, index=True)
    session_id: Mapped[int | None] = mapped_column(Integer, index=True)
    access_hash: Mapped[str] = mapped_column(String(128), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refresh_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Consent(Base):
    """What a person allowed an application to receive (授权同意); withdrawn consents are kept."""

    __tablename__ = "identity_consent"
    __table_args__ = (UniqueConstraint("user_id", "client_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("identity_client.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AppSession(Base):
    """An application signed in through one yiwang session (已登录的应用): what logout must reach."""

    __tablename__ = "identity_app_session"
    __table_args__ = (UniqueConstraint("session_id", "client_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(Integer, index=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("identity_client.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    sid: Mapped[str] = mapped_column(String(64))
    # What the application knows the person and the provider by, kept for logout tokens.
    subject: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
