"""The OpenID Connect provider on Authlib's generic authorization server.

Authlib does the protocol: request validation, client authentication, PKCE, the authorization code
and refresh token grants, ID tokens (joserfc), introspection, revocation and RP-initiated logout.
This module gives it yiwang's storage and rules: clients, single-use codes and tokens stored as
hashes, refresh-token rotation with reuse detection, pairwise subjects, and the signing keys.

A `Provider` is built per request around that request's database session; requests reach Authlib as
`OAuth2Request`s made from the Starlette request, answers come back as Starlette responses.

The token and userinfo endpoints read through a read-only session and write in short transactions of
their own (claiming a code, storing a token, auditing a released phone number). On SQLite every write
transaction holds the one write lock: an exchange that held it while Authlib validated the request and
signed the ID token made every other writer of the platform queue behind an RSA signature."""

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, InvalidGrantError, InvalidRequestError, TokenMixin, grants
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, Headers, QueryParams
from starlette.responses import JSONResponse, Response

from yiwang.config import Settings
from yiwang.core import audit
from yiwang.core.crypto import FieldCipher, new_secret_token, token_digest, token_digests
from yiwang.core.db import Database
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.identity import claims, clients, keys, signins
from yiwang.identity.models import AuthorizationCode, IssuedToken, OidcClient
from yiwang.identity.schemas import SCOPES

NONCE_MAX = 255  # identity_code.nonce
_SYSTEM = Principal(user_id=None, username="system:identity", display_name="统一身份认证", kind="system")


# ---- what Authlib sees -------------------------------------------------------------------------


class ClientModel(ClientMixin):
    def __init__(self, row: OidcClient, db: Session) -> None:
        self.row, self.db = row, db
        self.client_id = row.client_id
        self.id_token_signed_response_alg = row.id_token_alg
        self.client_metadata = {"post_logout_redirect_uris": row.post_logout_redirect_uris.split()}

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # a request names its redirect URI; it must match one registered exactly

    def get_allowed_scope(self, scope: str | None) -> str | None:
        wanted = (scope or "").split()
        allowed = set(self.row.scopes.split())
        if not wanted or not set(wanted) <= allowed:
            return None
        return " ".join(dict.fromkeys(wanted))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris.splitlines()

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.secret_matches(self.db, self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if not self.row.active and endpoint != "token":  # at the token endpoint: unauthorized_client
            return False
        if self.row.public:
            return method == "none" and endpoint in ("token", "revocation")
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return self.row.active and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return self.row.active and grant_type in ("authorization_code", "refresh_token")


class CodeModel(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())


class TokenModel(TokenMixin):
    def __init__(self, row: IssuedToken, client: OidcClient, kind: str) -> None:
        self.row, self.client, self.kind = row, client, kind
        self.scope = row.scope

    def check_client(self, client: ClientModel) -> bool:
        return self.row.client_pk == client.row.id

    def get_scope(self) -> str:
        return self.row.scope

    def expires_at(self) -> datetime:
        if self.kind == "refresh_token" and self.row.refresh_expires_at is not None:
            return self.row.refresh_expires_at
        return self.row.access_expires_at

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at() - utcnow()).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at() <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None or (
            self.kind == "refresh_token" and self.row.refresh_used_at is not None
        )


class _Payload(OAuth2Payload):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: dict[str, list[str]] = {}
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist.setdefault(key, []).append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class HttpRequest(OAuth2Request):
    """A Starlette request as Authlib reads it: the query, or the form of a POST, as its parameters."""

    def __init__(self, method: str, uri: str, headers: Headers, query: QueryParams, form: FormData | None) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = dict(query)
        self._form = {k: v for k, v in (form or FormData()).items() if isinstance(v, str)}
        pairs = [(k, v) for k, v in query.multi_items()]
        if form is not None:
            pairs += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        self.payload = _Payload(pairs)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


# ---- the provider -----------------------------------------------------------------------------


@dataclass
class Context:
    """What one request's provider works with."""

    db: Session
    settings: Settings
    cipher: FieldCipher
    session_id: int | None = None  # the browser's yiwang session, at the authorization endpoint
    auth_time: datetime | None = None
    clients: dict[str, ClientModel | None] = field(default_factory=dict)
    # Set when `db` is a read-only session: writes then go through a short transaction of their own.
    database: Database | None = None

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """Where this request writes: the request's own session, or a transaction committed at once."""
        if self.database is None:
            yield self.db
            self.db.flush()
            return
        # End the read transaction first: a request waiting for the writer must not hold a reader too.
        self.db.commit()
        with self.database.unit_of_work() as session:
            yield session


class Provider(AuthorizationServer):
    def __init__(self, ctx: Context) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.ctx = ctx
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [S256Challenge(required=True), IdToken(ctx)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Introspection)
        self.register_endpoint(Revocation)
        self.register_endpoint(EndSession)

    # storage
    def query_client(self, client_id: str) -> ClientModel | None:
        if client_id not in self.ctx.clients:
            row = clients.find_row(self.ctx.db, client_id)
            self.ctx.clients[client_id] = ClientModel(row, self.ctx.db) if row is not None else None
        return self.ctx.clients[client_id]

    def _generate_token(
        self,
        grant_type: str,
        client: ClientModel,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": new_secret_token("ywa"),
            "expires_in": self.ctx.settings.oidc_access_token_minutes * 60,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret_token("ywr")
        return token

    def save_token(self, token: dict[str, Any], request: HttpRequest) -> None:
        now = utcnow()
        settings = self.ctx.settings
        code = request.authorization_code
        previous: TokenModel | None = request.refresh_token
        refresh = token.get("refresh_token")
        values = {
            "client_pk": request.client.row.id,
            "user_id": request.user.user_id,
            "family": previous.row.family if previous else secrets.token_hex(16),
            "code_id": code.row.id if code else (previous.row.code_id if previous else None),
            "session_id": code.row.session_id if code else (previous.row.session_id if previous else None),
            "access_hash": token_digest(self.ctx.db, token["access_token"]),
            "refresh_hash": token_digest(self.ctx.db, refresh) if refresh else None,
            "scope": token["scope"],
            "issued_at": now,
            "access_expires_at": now + timedelta(seconds=token["expires_in"]),
            "refresh_expires_at": now + timedelta(days=settings.oidc_refresh_token_days) if refresh else None,
        }
        # The code is spent in the transaction that stores its token: one short write per exchange, and
        # of two exchanges racing with one code exactly one stores a token.
        with self.ctx.writing() as db:
            spent = code is None or _spend_code(db, code.row, request.client.client_id)
            if spent:
                db.execute(_INSERT_TOKEN, values)
        if not spent:
            raise InvalidGrantError("Authorization code was already used.")

    def create_oauth2_request(self, request: HttpRequest) -> HttpRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        header_map = dict(headers)
        if isinstance(body, dict):
            header_map.pop("Content-Type", None)
            return JSONResponse(body, status_code=status, headers=header_map)
        return Response(body or b"", status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # helpers the grants share
    def end_user(self, user_id: int, client: OidcClient) -> claims.EndUser | None:
        return claims.end_user(
            self.ctx.db,
            self.ctx.cipher,
            user_id=user_id,
            sector=client.client_id,
            key_version=client.subject_key_version,
        )

    def find_token(self, secret: str, hint: str | None) -> TokenModel | None:
        digests = token_digests(self.ctx.db, secret)
        kinds = [hint] if hint in ("access_token", "refresh_token") else ["access_token", "refresh_token"]
        for kind in kinds:
            column = IssuedToken.access_hash if kind == "access_token" else IssuedToken.refresh_hash
            found = self.ctx.db.execute(
                select(IssuedToken, OidcClient)
                .join(OidcClient, OidcClient.id == IssuedToken.client_pk)
                .where(column.in_(digests))
            ).one_or_none()
            if found is not None:
                return TokenModel(found[0], found[1], kind)
        return None

    def revoke_family(self, family: str, *, reason: str, client_id: str, user_id: int) -> None:
        with self.ctx.writing() as db:
            revoke_family(db, family, reason=reason, client_id=client_id, user_id=user_id)


def revoke_family(db: Session, family: str, *, reason: str, client_id: str, user_id: int) -> None:
    """Revoke every token of a grant's family, audited with why."""
    db.execute(
        update(IssuedToken)
        .where(IssuedToken.family == family, IssuedToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    audit.record(
        db,
        actor=_SYSTEM,
        action=f"identity.token.{reason}",
        target_type="oidc_client",
        target_id=client_id,
        outcome=audit.OUTCOME_DENIED if reason == "reuse_detected" else audit.OUTCOME_SUCCESS,
        details={"user_id": user_id, "family": family[:8]},
    )


# ---- grants and endpoints ------------------------------------------------------------------------


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012
    server: Provider

    def save_authorization_code(self, code: str, request: HttpRequest) -> None:
        ctx = self.server.ctx
        now = utcnow()
        client: OidcClient = request.client.row
        data = request.payload.data
        row = AuthorizationCode(
            code_hash=token_digest(ctx.db, code),
            client_pk=client.id,
            user_id=request.user.user_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method", "S256") if data.get("code_challenge") else None,
            auth_time=ctx.auth_time or now,
            session_id=ctx.session_id,
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.oidc_code_seconds),
        )
        ctx.db.add(row)
        if ctx.session_id is not None:
            sid = signins.session_sid(ctx.cipher, ctx.session_id)
            signins.record_signin(
                ctx.db,
                session_id=ctx.session_id,
                client=client,
                user_id=row.user_id,
                sid=sid,
                subject=request.user.sub,
                issuer=ctx.settings.issuer,
            )
        ctx.db.flush()

    def query_authorization_code(self, code: str, client: ClientModel) -> CodeModel | None:
        """The code, if it is unspent and live. It is spent with the token it buys (`save_token`); a code
        presented again revokes whatever its first exchange issued (RFC 6749 §4.1.2)."""
        db = self.server.ctx.db
        row = db.execute(
            select(AuthorizationCode).where(
                AuthorizationCode.code_hash.in_(token_digests(db, code)),
                AuthorizationCode.client_pk == client.row.id,
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.used_at is not None:
            with self.server.ctx.writing() as write:
                _revoke_what_code_bought(write, row, client.client_id)
            raise InvalidGrantError("Authorization code was already used.")
        if row.expires_at <= utcnow():
            raise InvalidGrantError("Authorization code has expired.")
        return CodeModel(row)

    def delete_authorization_code(self, authorization_code: CodeModel) -> None:
        return None  # spent when claimed; kept for replay detection until purged

    def authenticate_user(self, authorization_code: CodeModel) -> claims.EndUser | None:
        return self.server.end_user(authorization_code.row.user_id, self.request.client.row)


# Built once with bound parameters: a statement made per call with its values inlined costs SQLAlchemy
# a cache-key walk over every value, which was most of the time an exchange spent writing.
_INSERT_TOKEN = insert(IssuedToken.__table__)
_SPEND_CODE = (
    update(AuthorizationCode.__table__)
    .where(AuthorizationCode.__table__.c.id == bindparam("code_id"), AuthorizationCode.__table__.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
    .returning(AuthorizationCode.__table__.c.id)
)


def _spend_code(db: Session, row: AuthorizationCode, client_id: str) -> bool:
    """Mark the code used; False (and its tokens revoked) when another exchange spent it first."""
    spent = db.execute(_SPEND_CODE, {"code_id": row.id, "now": utcnow()}).all()
    if not spent:
        _revoke_what_code_bought(db, row, client_id)
    return bool(spent)


def _revoke_what_code_bought(db: Session, row: AuthorizationCode, client_id: str) -> None:
    families = db.execute(select(IssuedToken.family).where(IssuedToken.code_id == row.id).distinct()).scalars()
    for family in list(families):
        revoke_family(db, family, reason="code_replayed", client_id=client_id, user_id=row.user_id)


class S256Challenge(CodeChallenge):
    """PKCE with S256 only; public clients must use it."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if data.get("code_challenge") and data.get("code_challenge_method", "plain") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.", redirect_uri=redirect_uri)
        if grant.request.client.row.public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must send a PKCE S256 code_challenge.", redirect_uri=redirect_uri)
        super().validate_code_challenge(grant, redirect_uri)


class IdToken(OpenIDCode):
    """ID tokens: signed RS256 or ES256 (the client's id_token_signed_response_alg) with the active key."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(require_nonce=False)
        self.ctx = ctx
        self._key: keys.SigningPrivateKey | None = None

    def validate_openid_authorization_request(self, grant: CodeGrant, redirect_uri: str) -> None:
        nonce = grant.request.payload.data.get("nonce") or ""
        if len(nonce) > NONCE_MAX:
            raise InvalidRequestError(f"The nonce may be at most {NONCE_MAX} characters.", redirect_uri=redirect_uri)
        super().validate_openid_authorization_request(grant, redirect_uri)

    def exists_nonce(self, nonce: str, request: HttpRequest) -> bool:
        return False  # codes are bound to their nonce; the relying party checks it in the ID token

    def resolve_client_private_key(self, client: ClientModel) -> keys.SigningPrivateKey:
        if self._key is None:  # asked twice per token (header, then signature): one answer
            self._key = keys.signing_key(
                self.ctx.db, key_dir=self.ctx.settings.key_dir, alg=client.row.id_token_alg, writing=self.ctx.writing
            )
        return self._key

    def get_encode_header(self, client: ClientModel) -> dict[str, Any]:
        return {"alg": client.row.id_token_alg, "kid": self.resolve_client_private_key(client).kid, "typ": "JWT"}

    def get_client_claims(self, client: ClientModel) -> dict[str, Any]:
        ctx = self.ctx
        now = int(time.time())
        return {
            "iss": ctx.settings.issuer,
            "aud": client.row.client_id,
            "iat": now,
            "exp": now + ctx.settings.oidc_id_token_minutes * 60,
        }

    def get_authorization_code_claims(self, authorization_code: CodeModel) -> dict[str, Any]:
        found: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        session_id = authorization_code.row.session_id
        if session_id is not None:
            found["sid"] = signins.session_sid(self.ctx.cipher, session_id)
        return found

    def generate_user_info(self, user: claims.EndUser, scope: str) -> dict[str, Any]:
        return claims.id_token_claims(user, scope)


class RefreshGrant(grants.RefreshTokenGrant):
    """Rotation: every refresh spends the token and issues a new one of the same family. A spent
    token presented again means it leaked: the whole family is revoked (OAuth 2.0 Security BCP)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: Provider

    def authenticate_refresh_token(self, refresh_token: str) -> TokenModel | None:
        token = self.server.find_token(refresh_token, "refresh_token")
        client: ClientModel = self.request.client
        if token is None or not token.check_client(client):
            return None
        row = token.row
        if row.revoked_at is not None or row.refresh_expires_at is None or row.refresh_expires_at <= utcnow():
            return None
        with self.server.ctx.writing() as write:
            claimed = write.execute(
                update(IssuedToken)
                .where(
                    IssuedToken.id == row.id, IssuedToken.refresh_used_at.is_(None), IssuedToken.revoked_at.is_(None)
                )
                .values(refresh_used_at=utcnow())
                .returning(IssuedToken.id)
            ).all()
        if not claimed:
            self.server.revoke_family(
                row.family, reason="reuse_detected", client_id=client.client_id, user_id=row.user_id
            )
            raise InvalidGrantError("Refresh token was already used: every token of its grant is now revoked.")
        return token

    def authenticate_user(self, refresh_token: TokenModel) -> claims.EndUser | None:
        return self.server.end_user(refresh_token.row.user_id, refresh_token.client)

    def revoke_old_credential(self, refresh_token: TokenModel) -> None:
        return None  # spent when claimed (authenticate_refresh_token)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012
    server: Provider

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenModel | None:
        return self.server.find_token(token_string, token_type_hint)

    def check_permission(self, token: TokenModel, client: ClientModel, request: HttpRequest) -> bool:
        return token.check_client(client) or client.row.may_introspect

    def introspect_token(self, token: TokenModel) -> dict[str, Any]:
        user = self.server.end_user(token.row.user_id, token.client)
        if user is None:
            return {"active": False}
        found = {
            "active": True,
            "client_id": token.client.client_id,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "scope": token.row.scope,
            "sub": user.sub,
            "aud": token.client.client_id,
            "iss": self.server.ctx.settings.issuer,
            "iat": int(token.row.issued_at.timestamp()),
            "exp": int(token.expires_at().timestamp()),
        }
        if user.account.kind == "staff":
            found["username"] = user.account.username
        return found


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012
    server: Provider

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenModel | None:
        return self.server.find_token(token_string, token_type_hint)

    def revoke_token(self, token: TokenModel, request: HttpRequest) -> None:
        if token.kind == "refresh_token":
            self.server.revoke_family(
                token.row.family, reason="revoked", client_id=token.client.client_id, user_id=token.row.user_id
            )
        elif token.row.revoked_at is None:
            with self.server.ctx.writing() as db:
                db.execute(
                    update(IssuedToken)
                    .where(IssuedToken.id == token.row.id, IssuedToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )


class EndSession(EndSessionEndpoint):
    server: Provider

    def get_server_jwks(self) -> dict[str, Any]:
        return keys.jwks(self.server.ctx.db)

    def end_session(self, end_session_request: Any) -> None:
        return None  # the page ends the browser's yiwang session itself (org), after this validation


def access_token_owner(provider: Provider, secret: str) -> tuple[TokenModel, claims.EndUser] | None:
    """The live access token presented at the userinfo endpoint, with its person; None if not live."""
    token = provider.find_token(secret, "access_token")
    if token is None or token.is_expired() or token.is_revoked() or not token.client.active:
        return None
    user = provider.end_user(token.row.user_id, token.client)
    return (token, user) if user is not None else None


def discovery(settings: Settings) -> dict[str, Any]:
    """OpenID Provider Metadata (OpenID Connect Discovery 1.0 §3)."""
    issuer = settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oidc/authorize",
        "token_endpoint": f"{issuer}/api/oidc/token",
        "userinfo_endpoint": f"{issuer}/api/oidc/userinfo",
        "jwks_uri": f"{issuer}/api/oidc/jwks",
        "end_session_endpoint": f"{issuer}/oidc/logout",
        "introspection_endpoint": f"{issuer}/api/oidc/introspect",
        "revocation_endpoint": f"{issuer}/api/oidc/revoke",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": list(keys.ALGORITHMS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "name",
            "preferred_username",
            "account_kind",
            "phone_number",
            "department",
            "department_name",
            "roles",
            "credit_code",
        ],
        "prompt_values_supported": ["none", "login", "consent"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "ui_locales_supported": ["zh-CN"],
    }


def json_error(error: str, description: str, status_code: int = 400, **headers: str) -> Response:
    """An OAuth error answered as JSON (RFC 6749 §5.2) — for requests with nowhere to redirect."""
    return Response(
        json.dumps({"error": error, "error_description": description}),
        status_code=status_code,
        media_type="application/json",
        headers={"Cache-Control": "no-store", **headers},
    )
