"""One error shape for the API: {"error": {"code", "message", "details"}}, message in Chinese."""

from typing import Any


class AppError(Exception):
    """An expected failure with a stable code, a Chinese message for people and an HTTP status."""

    status_code = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
        commit: bool = False,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.details = details
        # True when the failure itself must be kept (a failed login counted, a denied read audited):
        # the unit of work then commits what was flushed before raising.
        self.commit = commit
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "请先登录"


class PermissionDenied(AppError):
    status_code = 403
    code = "permission_denied"
    message = "没有权限执行此操作"


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "记录不存在"


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    message = "记录已存在或状态冲突"


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_failed"
    message = "输入不符合要求"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"
    message = "请求过于频繁，请稍后再试"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    message = "请求体过大"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON error body used everywhere."""
    return {"error": {"code": code, "message": message, "details": details}}
