"""The provider's pages for people: authorization (sign-in, consent) and logout (单点登录, 单点登出).

The platform's own login page is the provider's: an application sends the browser to
/oidc/authorize, which sends it on to /login when nobody is signed in (or the application asks for a
fresh sign-in), and back here afterwards. A person already signed in at yiwang gets a code without
typing anything again."""

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import AccessDeniedError, InsecureTransportError, InvalidRequestError, OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from yiwang.config import Settings
from yiwang.core.crypto import FieldCipher
from yiwang.core.db import DbSession
from yiwang.core.runtime import CipherDep, SettingsDep
from yiwang.core.security import CurrentUser, MaybeUser, Principal, public
from yiwang.identity import consent, server, signins
from yiwang.identity.api import oauth_request
from yiwang.identity.page_forms import ConsentForm, LogoutForm, protocol_form
from yiwang.identity.schemas import SCOPES
from yiwang.org import service as org
from yiwang.web import signout
from yiwang.web.csrf import CsrfChecked
from yiwang.web.forms import Submission
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)

PEOPLE = frozenset({"staff", "citizen", "enterprise"})
# Set on the way to the login page: the sign-in must be newer than this (prompt=login, max_age).
LOGIN_AFTER = "yw_login_after"
# Parameters of an authorization request carried through the consent form.
CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "max_age",
    "prompt",
    LOGIN_AFTER,
)
ERROR_TEXT = {
    "invalid_client": "应用未在统一身份认证登记，或已被停用",
    "unauthorized_client": "该应用已被停用，或无权使用此种登录方式",
    "invalid_request": "应用发来的登录请求有误（例如回调地址未登记）",
    "invalid_scope": "应用申请了未登记的授权范围",
    "unsupported_response_type": "不支持的登录方式",
    "insecure_transport": "统一身份认证须通过 https 访问",
}


def _error_page(request: Request, error: OAuth2Error) -> HTMLResponse:
    """An error that must not go back to an unverified redirect URI is shown here (RFC 6749 §4.1.2.1)."""
    return render(
        request,
        "identity/error.html",
        {
            "error_code": error.error,
            "error_text": ERROR_TEXT.get(error.error, "登录请求无法处理"),
            "error_description": error.description,
        },
        status_code=400,
    )


def _browser_session(db: DbSession, settings: Settings, user: Principal) -> Any:
    """The browser's yiwang session when a person is signed in through the login page, else None."""
    if not user.is_authenticated or user.via != "session" or user.kind not in PEOPLE or user.session_id is None:
        return None
    return org.get_session(db, session_id=user.session_id, settings=settings)


def _navigate(request: Request, response: Response) -> Response:
    """Send the browser to the application. A navigation that began on one of our own pages (the
    login or consent form) goes by a page rather than a redirect: the pages' CSP allows forms to
    submit only to this site, and browsers apply that to the redirects that follow a submission."""
    location = response.headers.get("location")
    from_our_page = request.method == "POST" or request.headers.get("sec-fetch-site") == "same-origin"
    if response.status_code in (302, 303) and location and from_our_page:
        return render(request, "identity/redirect.html", {"location": location})
    return response


def _login_redirect(data: dict[str, str], *, reauth: bool) -> RedirectResponse:
    """To the login page, which comes back to this request once the person has signed in."""
    params = {k: v for k, v in data.items() if k in CARRIED and k not in (LOGIN_AFTER, "prompt")}
    remaining = [p for p in data.get("prompt", "").split() if p != "login"]
    if remaining:
        params["prompt"] = " ".join(remaining)
    if reauth:
        params[LOGIN_AFTER] = str(int(time.time()))
    target = f"/oidc/authorize?{urlencode(params)}"
    query = {"next": target} | ({"reauth": "1"} if reauth else {})
    return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)


def _needs_login(data: dict[str, str], session: Any) -> bool:
    """prompt=login and max_age: the sign-in must be fresh enough."""
    if session is None:
        return True
    auth_time = int(session.created_at.timestamp())
    after = data.get(LOGIN_AFTER, "")
    if after.isdigit() and auth_time < int(after):
        return True
    max_age = data.get("max_age", "")
    return max_age.isdigit() and time.time() - auth_time > int(max_age)


def _authorize(
    request: Request,
    db: DbSession,
    settings: Settings,
    cipher: FieldCipher,
    user: Principal,
    form: FormData | None,
) -> Response:
    session = _browser_session(db, settings, user)
    ctx = server.Context(
        db=db,
        settings=settings,
        cipher=cipher,
        session_id=session.id if session else None,
        auth_time=session.created_at if session else None,
    )
    provider = server.Provider(ctx)
    try:
        oreq = oauth_request(request, settings, form)
    except InsecureTransportError as exc:
        return _error_page(request, exc)
    try:
        grant = provider.get_consent_grant(oreq, end_user=user if session is not None else None)
    except OAuth2Error as error:
        return provider.handle_error_response(oreq, error) if error.redirect_uri else _error_page(request, error)
    except ValueError:  # Authlib will not quote a parameter holding a quote or backslash into an error
        return _error_page(request, InvalidRequestError())
    data: dict[str, str] = dict(oreq.payload.data)
    prompts = set(data.get("prompt", "").split())
    state = data.get("state")
    decision = data.get("decision") if form is not None else None

    def refuse(error: OAuth2Error) -> Response:
        error.redirect_uri, error.state = grant.redirect_uri, state
        return _navigate(request, provider.handle_error_response(oreq, error))

    if user.must_change_password:
        return RedirectResponse("/account/password", status_code=303)
    if form is None and (_needs_login(data, session) or "login" in prompts):
        if "none" in prompts:
            return refuse(LoginRequiredError())
        return _login_redirect(data, reauth=session is not None)
    if session is None:  # a consent form posted without a browser session
        return _login_redirect(data, reauth=False)
    client = grant.request.client.row
    end_user = provider.end_user(session.user_id, client)
    if end_user is None:
        return refuse(AccessDeniedError())
    scopes = set(grant.request.scope.split())
    if decision is None:
        asked = "consent" in prompts or consent.needs_consent(
            db, user_id=end_user.user_id, kind=end_user.account.kind, client=client, scopes=scopes
        )
        if asked:
            if "none" in prompts:
                return refuse(ConsentRequiredError())
            return _consent_page(request, db, client=client, scopes=scopes, data=data, end_user=end_user)
    elif decision != "allow":
        return refuse(AccessDeniedError())
    else:
        consent.give_consent(db, actor=user, client=client, scopes=scopes)
    try:
        response: Response = provider.create_authorization_response(oreq, grant_user=end_user, grant=grant)
    except ValueError:
        return _error_page(request, InvalidRequestError())
    return _navigate(request, response)


def _consent_page(
    request: Request, db: DbSession, *, client: Any, scopes: set[str], data: dict[str, str], end_user: Any
) -> Response:
    department = org.get_department(db, department_id=client.department_id) if client.department_id else None
    return render(
        request,
        "identity/consent.html",
        {
            "client": client,
            "department_name": department.full_name if department else None,
            "scopes": [(scope, SCOPES[scope]) for scope in SCOPES if scope in scopes],
            "carried": [(k, data[k]) for k in CARRIED if data.get(k)],
            "account_name": end_user.account.display_name,
        },
    )


@router.get("/oidc/authorize", response_class=HTMLResponse)
@public
def authorize(request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, user: MaybeUser) -> Response:
    """Authorization endpoint (OpenID Connect Core §3.1.2): sign in, consent, and back with a code."""
    return _authorize(request, db, settings, cipher, user, None)


@router.post("/oidc/authorize", response_class=HTMLResponse)
def authorize_decision(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: CurrentUser,
    _csrf: CsrfChecked,
    form: Annotated[Submission[ConsentForm], Depends(ConsentForm.submitted)],
) -> Response:
    """The person's answer on the consent page: allow (recorded and audited) or deny."""
    if form.data is None:
        form.refuse()
    return _authorize(request, db, settings, cipher, user, protocol_form(form.data))


# ---- logout (RP-initiated, OpenID Connect RP-Initiated Logout 1.0) ------------------------------


def _validate_logout(
    request: Request, db: DbSession, settings: Settings, cipher: FieldCipher, form: FormData | None
) -> Any:
    provider = server.Provider(server.Context(db=db, settings=settings, cipher=cipher))
    return provider.validate_endpoint_request("end_session", oauth_request(request, settings, form))


def _finish_logout(
    request: Request, db: DbSession, settings: Settings, user: Principal, redirect_uri: str | None
) -> Response:
    """End the browser's yiwang session (its applications follow), then back to the application."""
    frames: list[str] = []
    if user.is_authenticated and user.via == "session" and user.session_id is not None:
        org.end_session(db, actor=user, session_id=user.session_id)
        frames = signins.frontchannel_urls(db, session_id=user.session_id, issuer=settings.issuer)
    response: Response
    if frames or (redirect_uri and request.method == "POST"):
        response = render(request, "identity/logged_out.html", {"frames": frames, "location": redirect_uri})
        response.headers["content-security-policy"] = signout.frame_policy(frames)
    elif redirect_uri:
        response = RedirectResponse(redirect_uri, status_code=302)
    else:
        response = render(request, "identity/logged_out.html", {"frames": [], "location": None})
    response.delete_cookie("yiwang_session", path="/")
    return response


@router.get("/oidc/logout", response_class=HTMLResponse)
@public
def end_session(request: Request, db: DbSession, settings: SettingsDep, cipher: CipherDep, user: MaybeUser) -> Response:
    """End-session endpoint. With an id_token_hint of this browser's session the person is logged out
    at once; otherwise they are asked first (a bare link must not log anyone out)."""
    try:
        validated = _validate_logout(request, db, settings, cipher, None)
    except (OAuth2Error, InsecureTransportError) as error:
        return _error_page(request, error)
    except ValueError:
        return _error_page(request, InvalidRequestError())
    signed_in = user.is_authenticated and user.via == "session" and user.session_id is not None
    claims = validated.id_token_claims or {}
    ours = signed_in and claims.get("sid") == signins.session_sid(cipher, user.session_id or 0)
    if signed_in and not ours:
        carried = [
            (k, v)
            for k, v in request.query_params.items()
            if k in ("id_token_hint", "post_logout_redirect_uri", "state", "client_id")
        ]
        client_name = validated.client.row.name if validated.client is not None else None
        return render(request, "identity/logout_confirm.html", {"carried": carried, "client_name": client_name})
    return _finish_logout(request, db, settings, user, validated.redirect_uri)


@router.post("/oidc/logout", response_class=HTMLResponse)
def end_session_confirmed(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    cipher: CipherDep,
    user: CurrentUser,
    _csrf: CsrfChecked,
    form: Annotated[Submission[LogoutForm], Depends(LogoutForm.submitted)],
) -> Response:
    """The person confirmed logging out."""
    if form.data is None:
        form.refuse()
    try:
        validated = _validate_logout(request, db, settings, cipher, protocol_form(form.data))
    except (OAuth2Error, InsecureTransportError) as error:
        return _error_page(request, error)
    except ValueError:
        return _error_page(request, InvalidRequestError())
    return _finish_logout(request, db, settings, user, validated.redirect_uri)


def frontchannel_provider(settings: Settings) -> Any:
    """For the platform's own logout page (web.signout): the frames of this session's applications."""

    def provide(db: Any, session_id: int) -> list[str]:
        return signins.frontchannel_urls(db, session_id=session_id, issuer=settings.issuer)

    return provide
