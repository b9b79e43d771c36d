"""The person's own view of where they are signed in (登录设备与已授权应用): yiwang sessions, the
applications signed in through each, and the consents given — each can be ended or withdrawn."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from yiwang.core.db import DbSession
from yiwang.core.params import IdPath
from yiwang.core.runtime import SettingsDep
from yiwang.core.security import CurrentUser
from yiwang.identity import consent, signins
from yiwang.identity.schemas import SCOPES
from yiwang.org import service as org
from yiwang.web.csrf import CsrfChecked
from yiwang.web.templating import render

router = APIRouter(prefix="/account", include_in_schema=False)


@router.get("/apps", response_class=HTMLResponse)
def apps_page(request: Request, db: DbSession, settings: SettingsDep, user: CurrentUser) -> HTMLResponse:
    assert user.user_id is not None
    apps = signins.list_app_sessions(db, user_id=user.user_id)
    return render(
        request,
        "identity/account_apps.html",
        {
            "sessions": org.list_sessions(db, user_id=user.user_id, settings=settings),
            "apps_by_session": {s: [a for a in apps if a.session_id == s] for s in {a.session_id for a in apps}},
            "consents": consent.list_consents(db, user_id=user.user_id),
            "scope_names": SCOPES,
            "current_session": user.session_id,
        },
    )


@router.post("/sessions/{session_id}/end")
def end_session(db: DbSession, session_id: IdPath, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """End one of the person's yiwang sessions; the applications signed in through it are logged out."""
    org.end_session(db, actor=user, session_id=session_id)
    if session_id == user.session_id:
        response = RedirectResponse("/?notice=logged_out", status_code=303)
        response.delete_cookie("yiwang_session", path="/")
        return response
    return RedirectResponse("/account/apps?notice=saved", status_code=303)


@router.post("/apps/{app_session_id}/end")
def end_app(db: DbSession, app_session_id: IdPath, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """Sign one application out of one session."""
    signins.end_app_session(db, actor=user, app_session_id=app_session_id)
    return RedirectResponse("/account/apps?notice=saved", status_code=303)


@router.post("/consents/{client}/withdraw")
def withdraw(db: DbSession, client: str, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    """Withdraw consent: the application's tokens stop working, and it must ask again."""
    consent.withdraw_consent(db, actor=user, client_id=client)
    return RedirectResponse("/account/apps?notice=saved", status_code=303)
