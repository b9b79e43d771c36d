"""CSRF protection for forms: a session-bound token, or a double-submit cookie before login."""

import secrets
from typing import Annotated

from fastapi import Depends, Request

from yiwang.core.errors import AppError
from yiwang.core.security import MaybeUser, Principal

PRELOGIN_COOKIE = "yiwang_csrf"
FORM_FIELD = "csrf_token"


class CsrfFailed(AppError):
    status_code = 403
    code = "csrf_failed"
    message = "页面已过期或来源不可信，请刷新页面后重试"


def csrf_token_for(request: Request, principal: Principal) -> str:
    """The token a form on this page must send back."""
    if principal.csrf_token:
        return principal.csrf_token
    token = request.cookies.get(PRELOGIN_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not token:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = token  # set on the response by the middleware
    return token


async def verify_csrf(request: Request, principal: MaybeUser) -> None:
    """Dependency of every form POST: the form's token must match the session (or pre-login cookie)."""
    form = await request.form()
    given = form.get(FORM_FIELD)
    expected = principal.csrf_token if principal.csrf_token else request.cookies.get(PRELOGIN_COOKIE)
    if not isinstance(given, str) or not expected or not secrets.compare_digest(given, expected):
        raise CsrfFailed()


CsrfChecked = Annotated[None, Depends(verify_csrf)]
