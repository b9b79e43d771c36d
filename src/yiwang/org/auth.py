"""Authentication: password and client logins with throttling, bearer credentials, sessions, principals."""

import base64
import binascii
import secrets
from datetime import timedelta

from fastapi import Request
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, lazyload

from yiwang.config import Settings
from yiwang.core import audit
from yiwang.core.crypto import new_secret_token, token_digest, token_digests
from yiwang.core.errors import AppError, NotAuthenticated, ValidationFailed
from yiwang.core.passwords import hash_password, needs_rehash, policy_problems, verify_password
from yiwang.core.security import MACHINE_APIS, Principal, client_ip
from yiwang.core.timeutil import utcnow
from yiwang.org import access, mfa, service, sessions, throttle
from yiwang.org.models import Credential, User

ACCESS_TOKEN = "access_token"  # noqa: S105  (a credential kind, not a secret)
API_KEY = "api_key"
SESSION = "session"
# After the password, an account whose role requires a second factor it lacks gets an enrolment
# session (nothing open but enrolment); one with a factor gets a short pending login that only the
# second step can turn into a session.
ENROLMENT = "enrolment"
MFA_PENDING = "mfa_pending"
_PREFIX = {ACCESS_TOKEN: "ywt", API_KEY: "ywk", SESSION: "yws", ENROLMENT: "ywe", MFA_PENDING: "ywp"}
SESSION_COOKIE = "yiwang_session"
PENDING_COOKIE = "yiwang_mfa_pending"
PENDING_LIFETIME = timedelta(minutes=5)
ENROLMENT_LIFETIME = timedelta(minutes=15)
LAST_USED_GRANULARITY = timedelta(minutes=1)


class LoginFailed(AppError):
    status_code = 401
    code = "invalid_grant"
    message = "用户名或密码错误"


def _anonymous_actor(username: str, ip: str | None) -> Principal:
    return Principal(user_id=None, username=username[:100], display_name=username[:100], kind="anonymous", ip=ip)


def login_with_password(
    db: Session, *, username: str, password: str, ip: str | None, settings: Settings, kinds: set[str] | None = None
) -> User:
    """Check a username and password, throttled per (name, address); audit every attempt.

    Unknown names, wrong passwords, inactive accounts and the wrong kind of account all get the
    same answer after the same Argon2 work, and are throttled alike."""
    now = utcnow()
    actor = _anonymous_actor(username, ip)
    wait = throttle.wait_seconds(db, username=username, ip=ip, settings=settings, now=now)
    if wait is not None:
        audit.record(
            db,
            actor=actor,
            action="auth.login",
            target_type="user",
            target_id=None,
            outcome=audit.OUTCOME_DENIED,
            details={"reason": "throttled", "retry_after_seconds": wait},
        )
        raise throttle.LoginThrottled(details={"retry_after_seconds": wait}, commit=True)
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active or (kinds is not None and user.kind not in kinds):
        if not ok:
            throttle.record_failure(db, username=username, ip=ip, settings=settings, now=now)
        audit.record(
            db,
            actor=actor,
            action="auth.login",
            target_type="user",
            target_id=user.id if user else None,
            outcome=audit.OUTCOME_FAILURE,
            details={"reason": "bad_credentials" if not ok else "inactive_or_wrong_kind"},
        )
        raise LoginFailed(commit=True)
    throttle.record_success(db, username=username, ip=ip, now=now)
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.flush()
    audit.record(
        db,
        actor=build_principal(db, user=user, via="password", ip=ip),
        action="auth.login",
        target_type="user",
        target_id=user.id,
        # The password was right; "verify" and "enrol" mean the login goes on to a second step,
        # recorded as auth.second_factor.* (or is held at enrolment).
        details={"second_factor": mfa.requirement(db, user=user).value},
    )
    return user


def issue_credential(
    db: Session,
    *,
    user: User,
    kind: str,
    lifetime: timedelta,
    ip: str | None,
    scopes: str = "",
    label: str = "",
    user_agent: str | None = None,
) -> tuple[str, Credential]:
    """Create a bearer secret of the given kind; only its MAC under the current token key is stored."""
    secret = new_secret_token(_PREFIX[kind])
    credential = Credential(
        kind=kind,
        secret_hash=token_digest(db, secret),
        user_id=user.id,
        scopes=scopes,
        label=label,
        csrf_token=secrets.token_urlsafe(24) if kind in (SESSION, ENROLMENT) else None,
        created_at=utcnow(),
        expires_at=utcnow() + lifetime,
        created_ip=ip,
        user_agent=user_agent[:300] if user_agent else None,
    )
    db.add(credential)
    db.flush()
    return secret, credential


def grantable_scopes(db: Session, *, user: User, requested: str) -> str:
    """OAuth2 scope: requested permissions narrowed to what the account holds; empty means all."""
    if not requested.strip():
        return ""
    held = principal_permissions(db, user=user)
    wanted = set(requested.split())
    if not wanted <= held:
        raise AppError(
            "申请的权限范围超出账号权限",
            code="invalid_scope",
            status_code=400,
            details={"not_held": sorted(wanted - held)},
        )
    return " ".join(sorted(wanted))


def derived_scopes(actor: Principal, requested: str) -> str:
    """The scope of a credential minted by this caller: what it asks for, never beyond what the
    calling credential itself may do; nothing asked keeps a narrowed caller's own scope."""
    wanted = set(requested.split())
    if wanted:
        beyond = wanted - actor.permissions
        if beyond:
            raise AppError(
                "申请的权限范围超出当前凭证的权限",
                code="invalid_scope",
                status_code=400,
                details={"not_held": sorted(beyond)},
            )
        return " ".join(sorted(wanted))
    if actor.token_scopes is not None:
        return " ".join(sorted(actor.token_scopes))
    return ""


def issue_api_key(
    db: Session, *, actor: Principal, user: User, settings: Settings, label: str = "", scope: str = ""
) -> tuple[str, Credential]:
    """A long-lived key for the account; its permissions are the account's, narrowed to the calling
    credential's scope (a key never outlives the limits of the token that made it)."""
    scopes = derived_scopes(actor, scope)
    secret, credential = issue_credential(
        db,
        user=user,
        kind=API_KEY,
        lifetime=timedelta(days=settings.api_key_days),
        ip=actor.ip,
        scopes=scopes,
        label=label or "API key",
    )
    audit.record(
        db,
        actor=actor,
        action="auth.api_key.create",
        target_type="user",
        target_id=user.id,
        details={"credential_id": credential.id, "label": credential.label, "scope": scopes or "account"},
    )
    return secret, credential


def _live(credential: Credential | None, kinds: tuple[str, ...], idle: timedelta | None = None) -> Credential | None:
    """The credential if it is of an accepted kind, not expired, not revoked and (a session) not idle
    past the limit; marks it used."""
    if credential is None or credential.kind not in kinds:
        return None
    now = utcnow()
    if not sessions.is_live(credential, now=now, idle=idle):
        return None
    if credential.last_used_at is None or now - credential.last_used_at > LAST_USED_GRANULARITY:
        credential.last_used_at = now
    return credential


def find_credential(db: Session, *, secret: str, kinds: tuple[str, ...]) -> Credential | None:
    """The live (not expired, not revoked) credential for a secret, or None."""
    credential = db.execute(
        select(Credential).where(Credential.secret_hash.in_(token_digests(db, secret)))
    ).scalar_one_or_none()
    return _live(credential, kinds)


# Built once: constructing the statement costs more than running it on the hot path.
_CREDENTIAL_WITH_ACCOUNT = (
    select(Credential, User, access.version_expression())
    .join(User, User.id == Credential.user_id)
    .where(Credential.secret_hash.in_(bindparam("secret_hashes", expanding=True)))
    .options(lazyload(User.roles))
)


def _find_for_request(
    db: Session, *, secret: str, kinds: tuple[str, ...], idle: timedelta | None = None
) -> tuple[Credential, User, int] | None:
    """A live credential with its account and the access version, in one query (the hot path)."""
    row = db.execute(_CREDENTIAL_WITH_ACCOUNT, {"secret_hashes": token_digests(db, secret)}).one_or_none()
    if row is None or _live(row[0], kinds, idle) is None:
        return None
    return row[0], row[1], row[2]


def revoke_secret(db: Session, *, actor: Principal, secret: str) -> bool:
    """RFC 7009: revoke a token the caller owns (or any, for account admins); unknown tokens are fine."""
    credential = db.execute(
        select(Credential).where(Credential.secret_hash.in_(token_digests(db, secret)))
    ).scalar_one_or_none()
    if credential is None or credential.revoked_at is not None:
        return False
    if credential.user_id != actor.user_id:
        owner = db.get(User, credential.user_id)
        if owner is None or not actor.has("org.user.write") or not actor.can_reach_department(owner.department_id):
            return False
    credential.revoked_at = utcnow()
    if credential.kind == SESSION:
        sessions.announce_ended(db, user_id=credential.user_id, session_ids=[credential.id], reason="logout")
    audit.record(
        db, actor=actor, action=f"auth.{credential.kind}.revoke", target_type="credential", target_id=credential.id
    )
    return True


def pending_login(db: Session, *, secret: str) -> tuple[Credential, User] | None:
    """A live login waiting for its second step, with its account (None when expired or used)."""
    credential = find_credential(db, secret=secret, kinds=(MFA_PENDING,))
    if credential is None:
        return None
    user = db.get(User, credential.user_id)
    if user is None or not user.active:
        return None
    return credential, user


def end_pending_login(db: Session, *, credential: Credential) -> None:
    """A pending login is used once: the second step that completes it ends it."""
    credential.revoked_at = utcnow()
    db.flush()


def account_of(db: Session, *, principal: Principal) -> User:
    user = db.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise NotAuthenticated()
    return user


def revoke_user_credentials(
    db: Session, *, user_id: int, keep_id: int | None = None, kinds: tuple[str, ...] = (ACCESS_TOKEN, SESSION)
) -> None:
    stmt = update(Credential).where(
        Credential.user_id == user_id, Credential.revoked_at.is_(None), Credential.kind.in_(kinds)
    )
    if keep_id is not None:
        stmt = stmt.where(Credential.id != keep_id)
    revoked = db.execute(stmt.values(revoked_at=utcnow()).returning(Credential.id, Credential.kind)).all()
    ended = [credential_id for credential_id, kind in revoked if kind == SESSION]
    sessions.announce_ended(db, user_id=user_id, session_ids=ended, reason="credentials_revoked")


def change_password(db: Session, *, actor: Principal, current_password: str, new_password: str) -> None:
    """Change the caller's own password; other sessions, access tokens and API keys are revoked."""
    user = db.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotAuthenticated()
    if not verify_password(user.password_hash, current_password):
        audit.record(
            db,
            actor=actor,
            action="auth.password.change",
            target_type="user",
            target_id=user.id,
            outcome=audit.OUTCOME_FAILURE,
            details={"reason": "bad_current_password"},
        )
        raise ValidationFailed("当前密码错误", code="bad_current_password", commit=True)
    problems = policy_problems(new_password, username=user.username)
    if new_password == current_password:
        problems.append("新密码不能与当前密码相同")
    if problems:
        raise ValidationFailed("；".join(problems), details={"password": problems})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    # A changed password ends every other way in, API keys included: a key made by whoever knew
    # the old password must not outlive it.
    revoke_user_credentials(db, user_id=user.id, keep_id=actor.session_id, kinds=(ACCESS_TOKEN, SESSION, API_KEY))
    db.flush()
    audit.record(db, actor=actor, action="auth.password.change", target_type="user", target_id=user.id)


def principal_permissions(db: Session, *, user: User) -> set[str]:
    if user.kind == "system":
        return set(user.scopes.split())
    return service.role_permissions(db, role_codes=[ur.role.code for ur in user.roles])


def build_principal(
    db: Session,
    *,
    user: User,
    via: str,
    ip: str | None,
    credential: Credential | None = None,
    access_version: int | None = None,
) -> Principal:
    """The caller as the rest of the platform sees it: roles, permissions, department scope.

    `access_version`, read with the credential at the start of a request, lets the per-process cache
    answer; without it everything is read afresh."""
    if access_version is None:  # not at the start of a request: this transaction may have changed access
        grants = access.load_grants(db, user.id)
        scope = access.load_scope(db, user.department_id) if user.department_id else None
    else:
        cache = access.cache_for(db)
        grants = cache.grants(db, version=access_version, user_id=user.id)
        scope = (
            cache.scope(db, version=access_version, department_id=user.department_id) if user.department_id else None
        )
    permissions = set(user.scopes.split()) if user.kind == "system" else set(grants.permissions)
    if credential is not None and credential.scopes:
        permissions &= set(credential.scopes.split())
    enrolling = credential is not None and credential.kind == ENROLMENT
    if enrolling:  # the password alone: none of the account's rights until a second factor is enrolled
        permissions = set()
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        kind=user.kind,
        department_id=user.department_id if scope else None,
        department_code=scope.department_code if scope else None,
        scope_department_ids=scope.department_ids if scope else frozenset(),
        roles=frozenset() if enrolling else grants.roles,
        permissions=frozenset(permissions),
        ip=ip,
        via=via,
        session_id=credential.id if credential is not None else None,
        csrf_token=credential.csrf_token if credential is not None else None,
        must_change_password=user.must_change_password,
        must_enrol_second_factor=enrolling,
        token_scopes=frozenset(credential.scopes.split()) if credential is not None and credential.scopes else None,
    )


class InvalidCredential(AppError):
    status_code = 401
    code = "invalid_token"
    message = "凭证无效、已过期或已被撤销"


def _bearer(db: Session, secret: str, kinds: tuple[str, ...], ip: str | None) -> Principal:
    found = _find_for_request(db, secret=secret, kinds=kinds)
    if found is None or not found[1].active:
        raise InvalidCredential()
    credential, user, version = found
    via = "token" if credential.kind == ACCESS_TOKEN else "api_key"
    return build_principal(db, user=user, via=via, ip=ip, credential=credential, access_version=version)


def _basic(db: Session, header_value: str, ip: str | None, settings: Settings) -> Principal:
    try:
        decoded = base64.b64decode(header_value, validate=True).decode()
        username, _, password = decoded.partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCredential("Basic 认证头格式错误") from exc
    user = login_with_password(db, username=username, password=password, ip=ip, settings=settings)
    needs = mfa.requirement(db, user=user)
    if needs is mfa.Requirement.VERIFY:  # HTTP Basic has nowhere to carry a code
        raise mfa.SecondFactorRequired("该账号已启用双因素认证，不能使用 HTTP Basic；请用令牌接口并提供 otp")
    if needs is mfa.Requirement.ENROL:
        raise mfa.EnrolmentRequired()
    return build_principal(db, user=user, via="basic", ip=ip)


def authenticate_request(request: Request, db: Session) -> Principal:
    """Resolve the caller from a bearer token, an API key, HTTP Basic, or the session cookie."""
    ip = client_ip(request)
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value:
        return _bearer(db, value.strip(), (ACCESS_TOKEN, API_KEY), ip)
    if scheme.lower() == "basic" and value:
        return _basic(db, value.strip(), ip, request.app.state.settings)
    api_key = request.headers.get("x-api-key")
    if api_key:
        return _bearer(db, api_key.strip(), (API_KEY,), ip)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
        found = _find_for_request(db, secret=cookie, kinds=(SESSION, ENROLMENT), idle=idle)
        if found is not None and found[1].active:
            credential, user, version = found
            _check_api_csrf(request, credential)
            return build_principal(db, user=user, via="session", ip=ip, credential=credential, access_version=version)
    return Principal.anonymous(ip)


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _check_api_csrf(request: Request, credential: Credential) -> None:
    """A browser's cookie rides along on cross-site requests, so cookie-authenticated API writes must
    also show the session's CSRF token in a header (pages send it through htmx's hx-headers)."""
    if request.method in _SAFE_METHODS or not request.url.path.startswith(MACHINE_APIS):
        return
    if not csrf_matches(credential.csrf_token, request.headers.get("x-csrf-token")):
        raise AppError("缺少或错误的 CSRF 令牌（X-CSRF-Token）", code="csrf_failed", status_code=403)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and secrets.compare_digest(expected, given))
