"""Jinja2 environment shared by every domain's pages, and the render helper."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from yiwang.config import DEMO_NOTICE
from yiwang.core.security import Principal
from yiwang.core.timeutil import format_local
from yiwang.web import labels, nav
from yiwang.web.csrf import csrf_token_for
from yiwang.web.forms import Submission

_WEB_TEMPLATES = Path(__file__).parent / "templates"
_loader = ChoiceLoader([FileSystemLoader(str(_WEB_TEMPLATES))])
templates = Jinja2Templates(directory=str(_WEB_TEMPLATES))
templates.env.loader = _loader
templates.env.filters["local_time"] = format_local
templates.env.filters["label"] = labels.label
templates.env.globals["AREAS"] = nav.AREAS
templates.env.globals["DEMO_NOTICE"] = DEMO_NOTICE

NOTICES = {
    "saved": "已保存",
    "created": "已创建",
    "password_changed": "密码已修改，其他会话已退出，API 密钥已失效",
    "logged_out": "已安全退出",
    "unlocked": "账号已解锁",
    "password_reset": "密码已重置，其他设备上的登录已退出，请用新密码登录",
    "phone_changed": "手机号已更换，原号码已收到通知",
    "second_factor_expired": "登录已超时，请重新输入用户名和密码",
    "recovery_code_used": "已用恢复码登录：该恢复码已作废，请检查身份验证器或生成新的恢复码",
    "second_factor_removed": "已移除身份验证器",
    "second_factor_reset": "已重置该账号的双因素认证，其登录会话已结束",
    "roles_assigned": "角色已更新",
}


def add_template_dir(path: Path) -> None:
    """Let a domain's pages find templates in its own templates/ folder."""
    loader = FileSystemLoader(str(path))
    if all(getattr(existing, "searchpath", None) != loader.searchpath for existing in _loader.loaders):
        _loader.loaders = [*_loader.loaders, loader]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page inside the layout with the caller, CSRF token, navigation and any notice.

    A refused form in the context puts its notice at the top of the page (unless the page states its
    own error); its messages show beside its fields."""
    principal: Principal = getattr(request.state, "principal", None) or Principal.anonymous()
    context = context or {}
    refused = next((v for v in context.values() if isinstance(v, Submission) and v.errors), None)
    if refused is not None and not context.get("error_message"):
        context = context | {"error_message": refused.notice}
    notice = NOTICES.get(request.query_params.get("notice", ""))
    base = {
        "request": request,
        "user": principal,
        "csrf_token": csrf_token_for(request, principal),
        "site_name": request.app.state.settings.site_name,
        "demo_mode": request.app.state.settings.demo,
        "notice": notice,
        "nav_entries": nav.visible_entries(principal),
    }
    return templates.TemplateResponse(request, template, base | context, status_code=status_code)
