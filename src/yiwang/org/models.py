"""Tables of the org domain; internal to it (other domains go through org.service)."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yiwang.core.db import Base, UTCDateTime


class Division(Base):
    """Administrative division (行政区划): city → town/subdistrict → village/community."""

    __tablename__ = "org_division"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    level: Mapped[str] = mapped_column(String(20))  # city | subdistrict | town | community | village
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_division.id"), index=True)
    lon: Mapped[float | None]
    lat: Mapped[float | None]


class Department(Base):
    """Department or sub-unit (部门), a tree under the city government."""

    __tablename__ = "org_department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    short_name: Mapped[str] = mapped_column(String(40))
    full_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # government | platform | department | command_center | unit
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Role(Base):
    __tablename__ = "org_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Holders must log in with a second factor (双因素认证); set by the security administrator.
    requires_second_factor: Mapped[bool] = mapped_column(Boolean, default=False)


class RolePermission(Base):
    __tablename__ = "org_role_permission"
    __table_args__ = (UniqueConstraint("role_id", "permission"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("org_role.id", ondelete="CASCADE"), index=True)
    permission: Mapped[str] = mapped_column(String(80))


class User(Base):
    """An account: staff, citizen, enterprise or system client."""

    __tablename__ = "org_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("org_department.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Personal fields: AES-GCM ciphertext plus a keyed hash for exact lookup; never stored in clear.
    # One account per ID number and per credit code: the unique indexes hold it even when two
    # registrations of the same number arrive at once.
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True, unique=True)  # public register data
    # Enterprise accounts: the legal representative (法定代表人, public register data) and the person
    # who operates the account (经办人), whose mobile is the account's phone.
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    operator_name: Mapped[str | None] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(Text, default="")  # system clients: space-separated permissions
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class UserRole(Base):
    __tablename__ = "org_user_role"
    __table_args__ = (UniqueConstraint("user_id", "role_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("org_user.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("org_role.id", ondelete="CASCADE"), index=True)

    role: Mapped[Role] = relationship(lazy="joined")


class Credential(Base):
    """A bearer secret, stored only as its MAC under the token key: access token, API key or web session."""

    __tablename__ = "org_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # access_token | api_key | session
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("org_user.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[str] = mapped_column(Text, default="")  # empty: the account's own permissions
    label: Mapped[str] = mapped_column(String(100), default="")
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))  # sessions: the browser, for the sessions list


class AccessVersion(Base):
    """One counter that database triggers raise whenever roles, role permissions, role assignments or
    the department tree change; processes key their cache of who-may-do-what on it."""

    __tablename__ = "org_access_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class LoginThrottle(Base):
    """Failed password logins of one account name from one client address.

    Keyed on the name as typed (lower case), whether or not such an account exists, so the answers
    for unknown and known accounts are the same. Each pair backs off on its own; the account-wide sum
    throttles only addresses the account has never signed in from, so nobody can lock the holder
    out of their usual address."""

    __tablename__ = "org_login_throttle"
    __table_args__ = (UniqueConstraint("username", "ip"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VerificationCode(Base):
    """One request for a one-time SMS code (短信验证码), bound to a purpose and a mobile number.

    Only a keyed hash of the code is kept. A request for a number that must not be told apart (a
    password reset for a number no account holds) is stored like any other, with a code nobody
    receives, so it counts against the same limits and is refused the same way."""

    __tablename__ = "org_verification_code"
    __table_args__ = (
        Index("ix_org_verification_code_number", "phone_hash", "created_at"),
        Index("ix_org_verification_code_address", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # register | reset | phone_change
    phone_hash: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    delivered: Mapped[bool] = mapped_column(Boolean, default=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CodeSender(Base):
    """One row per mobile number and per client address asking for codes, locked while a request is
    counted, so two requests at once are counted one after the other (PostgreSQL; SQLite has one writer)."""

    __tablename__ = "org_code_sender"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)


class Message(Base):
    """A text message (短信) to a mobile number, through the message gateway (消息网关).

    With the embedded outbox gateway it stays here for the system administrator to read; with an HTTP
    gateway a domain event carries it to the gateway after commit and retries until it is accepted.
    The number and the parameters (a code, a username) are encrypted; the parameters are erased once
    an HTTP gateway has taken the message."""

    __tablename__ = "org_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    template: Mapped[str] = mapped_column(String(40))
    to_enc: Mapped[str] = mapped_column(Text)
    to_masked: Mapped[str] = mapped_column(String(20))
    params_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # outbox | pending | sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class TotpFactor(Base):
    """An account's TOTP second factor (RFC 6238). The secret is AES-GCM ciphertext bound to this
    column; until the first code confirms it the factor is only an enrolment in progress.
    `last_step` is the last time step accepted, so a code is never accepted twice."""

    __tablename__ = "org_totp_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("org_user.id", ondelete="CASCADE"), unique=True)
    secret_enc: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    """A one-time recovery code, stored only as its keyed hash; used once, then marked."""

    __tablename__ = "org_recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("org_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
