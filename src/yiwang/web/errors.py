"""Error responses: the JSON shape of DESIGN.md for programs, a readable page for people."""

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from yiwang.core.db import is_pool_exhausted
from yiwang.core.errors import AppError, error_body

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: ("bad_request", "请求无效"),
    401: ("not_authenticated", "请先登录"),
    403: ("permission_denied", "没有权限执行此操作"),
    404: ("not_found", "页面或记录不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所请求的格式"),
    413: ("payload_too_large", "请求体过大"),
    503: ("database_busy", "系统繁忙，数据库暂时无法响应，请稍后重试"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}
_TITLES = {401: "需要登录", 403: "没有权限", 404: "页面不存在", 429: "请稍后再试", 500: "系统繁忙", 503: "系统繁忙"}
_MACHINE_PREFIXES = ("/api/", "/sta/", "/open311/", "/catalog.", "/dataset/", "/healthz", "/readyz", "/openapi")


def wants_html(request: Request) -> bool:
    """Pages get an HTML error; API paths and non-browser clients get JSON."""
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def _respond(
    request: Request, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    if wants_html(request):
        if status == 401:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if code == "password_change_required":
            return RedirectResponse("/account/password", status_code=303)
        if code == "mfa_enrolment_required":
            return RedirectResponse("/account/second-factor", status_code=303)
        from yiwang.web.templating import render

        response = render(
            request,
            "error.html",
            {
                "title": _TITLES.get(status, "请求未能完成"),
                "message": message,
                "code": code,
                "status_code": status,
                "request_id": getattr(request.state, "request_id", None),
            },
            status_code=status,
        )
        if headers:
            response.headers.update(headers)
        return response
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        details.append(
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
        )
    return details


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the platform's error shape."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        headers = None
        if isinstance(exc.details, dict) and "retry_after_seconds" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after_seconds"])}
        if exc.status_code == 401:
            headers = (headers or {}) | {"WWW-Authenticate": "Bearer"}
        return _respond(request, exc.status_code, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return _respond(request, 400, "malformed_json", "请求体不是合法的 JSON", details)
        return _respond(request, 422, "validation_failed", "输入不符合要求", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, message = _STATUS_CODES.get(exc.status_code, ("http_error", "请求未能完成"))
        if isinstance(exc.detail, str) and exc.detail and exc.status_code not in _STATUS_CODES:
            message = exc.detail
        return _respond(request, exc.status_code, code, message, None, getattr(exc, "headers", None))

    async def _unstorable_value(request: Request, exc: Exception) -> Response:
        # The database or its driver refused a value the input schema let through (a NUL character,
        # an integer beyond 64 bits): the caller's input is at fault, so it is a 422, not a 500.
        log.info("unstorable value on %s %s: %s", request.method, request.url.path, exc)
        return _respond(request, 422, "invalid_value", "输入包含无法保存的值（如控制字符或超出范围的数字）")

    app.add_exception_handler(DataError, _unstorable_value)
    app.add_exception_handler(OverflowError, _unstorable_value)

    async def _database_busy(request: Request, exc: Exception) -> Response:
        # No connection within the pool's wait (or SQLite's lock held past busy_timeout by another
        # process): the request is refused at once with a hint when to retry, not left to queue.
        if not is_pool_exhausted(exc):
            return await _unexpected(request, exc)
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        retry_after = request.app.state.settings.db_busy_retry_after_seconds
        code, message = _STATUS_CODES[503]
        details = {"retry_after_seconds": retry_after}
        return _respond(request, 503, code, message, details, {"Retry-After": str(retry_after)})

    app.add_exception_handler(PoolTimeout, _database_busy)
    app.add_exception_handler(OperationalError, _database_busy)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return _respond(
            request,
            500,
            "internal_error",
            "系统内部错误，请稍后重试或联系管理员",
            {"request_id": getattr(request.state, "request_id", None)},
        )
