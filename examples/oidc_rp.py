"""A department's small web application signing its users in through yiwang (统一身份认证).

The worked example of docs/identity.md: an OpenID Connect relying party in about 200 lines, using
only libraries from PyPI — requests-oauthlib (authorization code flow with PKCE S256), joserfc (ID
token and logout token signatures checked against yiwang's JWKS) and Starlette (the web part).

Run it against a yiwang you can reach (register it first, see docs/identity.md):

    YIWANG_ISSUER=https://yiwang.example.gov.cn RP_CLIENT_ID=… RP_CLIENT_SECRET=… \\
    RP_BASE_URL=http://127.0.0.1:8400 python examples/oidc_rp.py

It keeps its sessions in memory: enough to show the protocol, not a production session store.
"""

import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from requests_oauthlib import OAuth2Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class RelyingParty:
    """The application's registration at yiwang and what it learnt from discovery."""

    issuer: str
    client_id: str
    client_secret: str | None
    base_url: str
    scope: str = "openid profile"
    metadata: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # cookie → sign-in state or user
    logouts: list[dict[str, Any]] = field(default_factory=list)  # logout tokens received (for the record)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cookie(self) -> str:
        """Cookies do not tell ports apart: each application on one host names its own."""
        return f"rp_{self.client_id}"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/cb"

    def discover(self) -> dict[str, Any]:
        if not self.metadata:
            found = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=10).json()
            if found["issuer"] != self.issuer:
                raise RuntimeError(f"discovery names issuer {found['issuer']}, expected {self.issuer}")
            self.metadata = found
        return self.metadata

    def keys(self) -> KeySet:
        """yiwang's public keys; fetched each time here (cache them, refetching on an unknown kid)."""
        return KeySet.import_key_set(requests.get(self.discover()["jwks_uri"], timeout=10).json())

    def verify_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce check out."""
        token = jwt.decode(id_token, self.keys(), algorithms=["RS256", "ES256"])
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
        )
        registry.validate(token.claims)
        return dict(token.claims)

    def verify_logout_token(self, logout_token: str) -> dict[str, Any]:
        """Back-Channel Logout 1.0 §2.6: signature, issuer, audience, the event, and no nonce."""
        token = jwt.decode(logout_token, self.keys(), algorithms=["RS256", "ES256"])
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            iat={"essential": True},
        )
        registry.validate(token.claims)
        claims = dict(token.claims)
        if BACKCHANNEL_EVENT not in claims.get("events", {}) or "nonce" in claims:
            raise ValueError("not a logout token")
        if not claims.get("sid") and not claims.get("sub"):
            raise ValueError("a logout token names a sid or a sub")
        return claims

    def end_sessions(self, *, sid: str | None = None, sub: str | None = None) -> int:
        with self.lock:
            ended = [
                key
                for key, value in self.sessions.items()
                if "user" in value and ((sid and value.get("sid") == sid) or (sub and value["user"]["sub"] == sub))
            ]
            for key in ended:
                del self.sessions[key]
        return len(ended)


def create_app(rp: RelyingParty) -> Starlette:
    def current(request: Request) -> dict[str, Any] | None:
        return rp.sessions.get(request.cookies.get(rp.cookie, ""))

    def home(request: Request) -> Response:
        signed_in = current(request)
        if signed_in and "user" in signed_in:
            user = signed_in["user"]
            return HTMLResponse(
                f"<h1>已登录：{user.get('name', user['sub'])}</h1><p id='sub'>{user['sub']}</p>"
                f"<p><a id='logout' href='/logout'>退出</a></p>"
            )
        return HTMLResponse("<h1>部门应用</h1><p><a id='login' href='/login'>通过统一身份认证登录</a></p>")

    def login(request: Request) -> Response:
        oauth = OAuth2Session(rp.client_id, redirect_uri=rp.redirect_uri, scope=rp.scope.split(), pkce="S256")
        nonce = secrets.token_urlsafe(16)
        url, state = oauth.authorization_url(rp.discover()["authorization_endpoint"], nonce=nonce)
        key = secrets.token_urlsafe(24)
        with rp.lock:
            rp.sessions[key] = {"state": state, "nonce": nonce, "verifier": oauth._code_verifier}
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(rp.cookie, key, httponly=True, samesite="lax")
        return response

    def callback(request: Request) -> Response:
        pending = current(request)
        if pending is None or "state" not in pending:
            return PlainTextResponse("no sign-in in progress", status_code=400)
        if "error" in request.query_params:
            return PlainTextResponse(f"sign-in refused: {request.query_params['error']}", status_code=403)
        oauth = OAuth2Session(rp.client_id, redirect_uri=rp.redirect_uri, state=pending["state"], pkce="S256")
        oauth._code_verifier = pending["verifier"]
        token = oauth.fetch_token(
            rp.discover()["token_endpoint"],
            authorization_response=str(request.url),
            client_secret=rp.client_secret,
            include_client_id=rp.client_secret is None,
        )
        claims = rp.verify_id_token(token["id_token"], nonce=pending["nonce"])
        userinfo = oauth.get(rp.discover()["userinfo_endpoint"], timeout=10).json()
        if userinfo["sub"] != claims["sub"]:
            return PlainTextResponse("userinfo is about someone else", status_code=400)
        with rp.lock:
            rp.sessions[request.cookies[rp.cookie]] = {
                "user": userinfo,
                "sid": claims.get("sid"),
                "id_token": token["id_token"],
                "token": token,
                "signed_in_at": time.time(),
            }
        return RedirectResponse("/", status_code=303)

    def logout(request: Request) -> Response:
        signed_in = current(request) or {}
        params = {"post_logout_redirect_uri": f"{rp.base_url}/", "client_id": rp.client_id}
        if "id_token" in signed_in:
            params["id_token_hint"] = signed_in["id_token"]
        with rp.lock:
            rp.sessions.pop(request.cookies.get(rp.cookie, ""), None)
        return RedirectResponse(f"{rp.discover()['end_session_endpoint']}?{urlencode(params)}", status_code=302)

    async def backchannel(request: Request) -> Response:
        form = await request.form()
        try:  # fetching the keys blocks: off the event loop
            claims = await run_in_threadpool(rp.verify_logout_token, str(form.get("logout_token", "")))
        except (JoseError, ValueError) as exc:
            return PlainTextResponse(f"bad logout token: {exc}", status_code=400)
        rp.end_sessions(sid=claims.get("sid"), sub=claims.get("sub"))
        with rp.lock:
            rp.logouts.append(claims)
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    def frontchannel(request: Request) -> Response:
        if request.query_params.get("iss") == rp.issuer:
            rp.end_sessions(sid=request.query_params.get("sid"))
        return HTMLResponse("", headers={"Cache-Control": "no-store"})

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/cb", callback),
            Route("/logout", logout),
            Route("/backchannel-logout", backchannel, methods=["POST"]),
            Route("/frontchannel-logout", frontchannel),
        ]
    )
    app.state.rp = rp
    return app


if __name__ == "__main__":
    import uvicorn

    issuer = os.environ["YIWANG_ISSUER"].rstrip("/")
    if issuer.startswith("http://127.0.0.1") or issuer.startswith("http://localhost"):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # local trials only; use https otherwise
    base_url = os.environ.get("RP_BASE_URL", "http://127.0.0.1:8400")
    relying_party = RelyingParty(
        issuer=issuer,
        client_id=os.environ["RP_CLIENT_ID"],
        client_secret=os.environ.get("RP_CLIENT_SECRET"),
        base_url=base_url,
        scope=os.environ.get("RP_SCOPE", "openid profile"),
    )
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    uvicorn.run(create_app(relying_party), host="127.0.0.1", port=port)
