"""Interfaces for programs: the provider's endpoints (discovery, JWKS, token, userinfo, introspection,
revocation) and the administrator's JSON API for clients and keys.

The provider's endpoints are public in the platform's sense — they authenticate their callers
themselves, the OAuth way (client credentials, PKCE, bearer tokens) — and answer every failure as an
OAuth error (`error`, `error_description`), never a 5xx."""

from collections.abc import Callable
from contextlib import nullcontext
from typing import Annotated, Any

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from yiwang.core.db import DbSession, ReadDbSession
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import Principal, public, require
from yiwang.identity import claims, clients, keys, server
from yiwang.identity import permissions as perm
from yiwang.identity.schemas import ClientCreate, ClientCreated, ClientRead, ClientUpdate, SigningKeyRead
from yiwang.web.forms import PageForm

discovery_router = APIRouter(tags=["统一身份认证 OpenID Connect"])
oidc_router = APIRouter(prefix="/api/oidc", tags=["统一身份认证 OpenID Connect"])
router = APIRouter(prefix="/api/identity", tags=["统一身份认证 OpenID Connect"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_request(request: Request, settings: SettingsDep, form: Any = None) -> server.HttpRequest:
    """The request as Authlib reads it, addressed at the issuer (the public https address)."""
    uri = f"{settings.issuer}{request.url.path}"
    if request.url.query:
        uri += f"?{request.url.query}"
    return server.HttpRequest(request.method, uri, request.headers, request.query_params, form)


def provider_for(request: Request, db: ReadDbSession, settings: SettingsDep, cipher: CipherDep) -> server.Provider:
    """The provider of the programs' endpoints: it reads through a read-only session and writes in short
    transactions of its own, so an exchange never holds SQLite's write lock while it signs."""
    return server.Provider(server.Context(db=db, settings=settings, cipher=cipher, database=request.app.state.db))


Provider = Annotated[server.Provider, Depends(provider_for)]


def answer(make: Callable[[], Response]) -> Response:
    """Run an Authlib endpoint; the failures it does not put in OAuth terms itself become OAuth errors.

    Authlib quotes parameters into its error descriptions and refuses to build one holding a quote or
    a backslash (ValueError): such a request is malformed, and says so."""
    try:
        response = make()
    except InsecureTransportError:
        return server.json_error("invalid_request", "The provider must be reached over https.")
    except ValueError:
        return server.json_error("invalid_request", "A parameter holds characters it may not.")
    response.headers.update(_NO_STORE)
    return response


@discovery_router.get("/.well-known/openid-configuration")
@public
def openid_configuration(settings: SettingsDep) -> JSONResponse:
    """OpenID Provider Metadata (Discovery 1.0)."""
    return JSONResponse(server.discovery(settings), headers={"Cache-Control": "public, max-age=300"})


@oidc_router.get("/jwks")
@public
def jwks(db: ReadDbSession) -> JSONResponse:
    """The public keys ID tokens and logout tokens are signed with (JWK Set, RFC 7517)."""
    return JSONResponse(keys.jwks(db), headers={"Cache-Control": "public, max-age=300"})


@oidc_router.post("/token")
@public
def token(request: Request, settings: SettingsDep, provider: Provider, form: PageForm) -> Response:
    """Token endpoint: authorization_code (with PKCE) and refresh_token grants."""
    return answer(lambda: provider.create_token_response(oauth_request(request, settings, form)))


@oidc_router.post("/introspect")
@public
def introspect(request: Request, settings: SettingsDep, provider: Provider, form: PageForm) -> Response:
    """Token introspection (RFC 7662) for resource servers, authenticated as confidential clients."""
    return answer(lambda: provider.create_endpoint_response("introspection", oauth_request(request, settings, form)))


@oidc_router.post("/revoke")
@public
def revoke(request: Request, settings: SettingsDep, provider: Provider, form: PageForm) -> Response:
    """Token revocation (RFC 7009): a refresh token takes its whole family with it."""
    return answer(lambda: provider.create_endpoint_response("revocation", oauth_request(request, settings, form)))


def _userinfo(request: Request, provider: server.Provider) -> Response:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return server.json_error(
            "invalid_request", "Send the access token as Authorization: Bearer.", 401, **{"WWW-Authenticate": "Bearer"}
        )
    found = server.access_token_owner(provider, secret.strip())
    if found is None:
        challenge = 'Bearer error="invalid_token", error_description="The access token is not active."'
        return server.json_error(
            "invalid_token", "The access token is not active.", 401, **{"WWW-Authenticate": challenge}
        )
    token, user = found
    if "openid" not in token.row.scope.split():
        challenge = 'Bearer error="insufficient_scope", scope="openid"'
        return server.json_error(
            "insufficient_scope", "The token lacks the openid scope.", 403, **{"WWW-Authenticate": challenge}
        )
    # A clear phone number is released with an audit entry: only then does userinfo write.
    with provider.ctx.writing() if "phone" in token.row.scope.split() else nullcontext(provider.ctx.db) as db:
        body = claims.userinfo_claims(
            db,
            provider.ctx.cipher,
            user=user,
            scope=token.row.scope,
            client_id=token.client.client_id,
            client_name=token.client.name,
        )
    return JSONResponse(body, headers=_NO_STORE)


@oidc_router.get("/userinfo")
@public
def userinfo(request: Request, provider: Provider) -> Response:
    """UserInfo endpoint (OpenID Connect Core §5.3): the claims the access token's scopes release."""
    return _userinfo(request, provider)


@oidc_router.post("/userinfo")
@public
def userinfo_post(request: Request, provider: Provider) -> Response:
    return _userinfo(request, provider)


# ---- administration --------------------------------------------------------------------------


@router.get("/clients", response_model=list[ClientRead])
def list_clients(db: DbSession, _: Annotated[Principal, Depends(require(perm.CLIENT_READ))]) -> list[ClientRead]:
    return clients.list_clients(db)


@router.post("/clients", response_model=ClientCreated, status_code=201)
def create_client(
    db: DbSession,
    data: ClientCreate,
    actor: Annotated[Principal, Depends(require(perm.CLIENT_WRITE))],
) -> ClientCreated:
    """Register a relying party; a confidential client's secret is in this answer and nowhere else."""
    return clients.create_client(db, actor=actor, data=data)


@router.get("/clients/{client}", response_model=ClientRead)
def get_client(db: DbSession, client: str, _: Annotated[Principal, Depends(require(perm.CLIENT_READ))]) -> ClientRead:
    return clients.get_client(db, client_id=client)


@router.patch("/clients/{client}", response_model=ClientRead)
def update_client(
    db: DbSession,
    client: str,
    data: ClientUpdate,
    actor: Annotated[Principal, Depends(require(perm.CLIENT_WRITE))],
) -> ClientRead:
    """Change a registration; `"active": false` disables the client at once."""
    return clients.update_client(db, actor=actor, client_id=client, data=data)


@router.post("/clients/{client}/secret", response_model=ClientCreated)
def rotate_client_secret(
    db: DbSession,
    client: str,
    actor: Annotated[Principal, Depends(require(perm.CLIENT_WRITE))],
) -> ClientCreated:
    """A new secret for a confidential client (shown once); the old one stops working."""
    return clients.rotate_secret(db, actor=actor, client_id=client)


@router.get("/keys", response_model=list[SigningKeyRead])
def list_keys(db: DbSession, _: Annotated[Principal, Depends(require(perm.CLIENT_READ))]) -> list[SigningKeyRead]:
    """Signing keys, active and retired (public halves only)."""
    return keys.list_keys(db)
