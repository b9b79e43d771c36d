"""Live services (在线服务): a provider department registers an HTTP service it runs, with its
operations from an OpenAPI document or a list; consumers apply for operations of it through the same
application flow as data (provider answer, then the big-data bureau), and the grant fixes the
operations, the rate, the daily quota and the expiry."""

import json
import re
from typing import Any

import httpx
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yiwang.catalog import service as catalog_service
from yiwang.core import audit
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.pagination import Page
from yiwang.core.security import Principal, check
from yiwang.core.timeutil import utcnow
from yiwang.exchange import permissions as perm
from yiwang.exchange.applying import check_period, grant_operations, open_application
from yiwang.exchange.models import LiveService, ShareApplication, ShareGrant
from yiwang.exchange.schemas import (
    ApplicationRead,
    Operation,
    ServiceApplicationCreate,
    ServiceCreate,
    ServiceRead,
)

OPENAPI_FETCH_SECONDS = 10.0
OPENAPI_MAX_BYTES = 5 * 1024 * 1024
_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def operations_from_openapi(document: dict[str, Any]) -> list[Operation]:
    """Each path and method of an OpenAPI 3 (or Swagger 2) document; the operationId when it has one."""
    paths = document.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise ValidationFailed("OpenAPI 文档中没有 paths", code="invalid_openapi")
    found = []
    for path, item in paths.items():
        if not isinstance(path, str) or not path.startswith("/") or not isinstance(item, dict):
            raise ValidationFailed(f"OpenAPI 路径无效：{path}", code="invalid_openapi")
        for method in _METHODS:
            spec = item.get(method)
            if isinstance(spec, dict):
                op_id = spec.get("operationId")
                found.append(
                    Operation(id=str(op_id) if op_id else f"{method.upper()} {path}", method=method.upper(), path=path)
                )
    return found


def _document(content: bytes) -> dict[str, Any]:
    try:
        document = json.loads(content) if content.lstrip().startswith(b"{") else yaml.safe_load(content)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValidationFailed("OpenAPI 文档不是有效的 JSON 或 YAML", code="invalid_openapi") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("OpenAPI 文档不是对象", code="invalid_openapi")
    return document


def parse_openapi_text(text: str) -> dict[str, Any] | None:
    """An OpenAPI document pasted or uploaded as JSON or YAML text; None for no text."""
    return _document(text.encode()) if text.strip() else None


def _fetch_openapi(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=OPENAPI_FETCH_SECONDS, follow_redirects=False)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ValidationFailed(f"无法读取 OpenAPI 文档：{exc.__class__.__name__}", code="openapi_unreachable") from exc
    if response.status_code != 200 or len(response.content) > OPENAPI_MAX_BYTES:
        raise ValidationFailed(f"读取 OpenAPI 文档失败：HTTP {response.status_code}", code="openapi_unreachable")
    return _document(response.content)


def _operations(data: ServiceCreate) -> tuple[list[Operation], str]:
    if data.openapi is not None:
        return operations_from_openapi(data.openapi), "上传的 OpenAPI 文档"
    if data.openapi_url:
        return operations_from_openapi(_fetch_openapi(data.openapi_url)), data.openapi_url
    listed = [Operation(id=o.id or f"{o.method} {o.path}", method=o.method, path=o.path) for o in data.operations]
    return listed, "操作列表"


def register_service(db: Session, *, actor: Principal, data: ServiceCreate) -> ServiceRead:
    """A provider department registers a service it runs; its operations are fixed at registration."""
    check(actor, perm.SERVICE_REGISTER)
    if actor.department_id is None:
        raise ValidationFailed("登记人须属于一个部门")
    operations, source = _operations(data)
    if not operations:
        raise ValidationFailed("服务至少要有一个操作（操作列表或 OpenAPI 文档）", code="no_operations")
    ids = [o.id for o in operations]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("操作标识重复", details={"operations": sorted({i for i in ids if ids.count(i) > 1})})
    if db.execute(select(LiveService.id).where(LiveService.code == data.code)).first():
        raise Conflict(f"服务编码 {data.code} 已被使用")
    service = LiveService(
        code=data.code,
        name=data.name,
        description=data.description,
        provider_department_id=actor.department_id,
        base_url=data.base_url.rstrip("/"),
        operations=[o.model_dump() for o in operations],
        openapi_source=source[:500],
        keep_bodies=data.keep_bodies,
        connect_timeout_s=data.connect_timeout_s,
        read_timeout_s=data.read_timeout_s,
        breaker_failures=data.breaker_failures,
        breaker_reset_s=data.breaker_reset_s,
        active=True,
        created_by=actor.username,
        created_at=utcnow(),
    )
    db.add(service)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exchange.service.register",
        target_type="live_service",
        target_id=service.code,
        details={"base_url": service.base_url, "operations": len(operations), "keep_bodies": data.keep_bodies},
    )
    return ServiceRead.model_validate(service)


def find_service(db: Session, *, code: str) -> LiveService:
    service = db.execute(select(LiveService).where(LiveService.code == code)).scalar_one_or_none()
    if service is None or not service.active:
        raise NotFound(f"在线服务 {code} 不存在", code="no_such_service")
    return service


def get_service(db: Session, *, code: str) -> ServiceRead:
    return ServiceRead.model_validate(find_service(db, code=code))


def list_services(db: Session, *, offset: int = 0, limit: int = 20, mine: Principal | None = None) -> Page[ServiceRead]:
    """Active services, newest first; only those the caller's departments provide when mine is given."""
    stmt = select(LiveService).where(LiveService.active.is_(True))
    if mine is not None:
        stmt = stmt.where(LiveService.provider_department_id.in_(list(mine.scope_department_ids)))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(LiveService.id.desc()).offset(offset).limit(limit)).scalars()
    return Page(items=[ServiceRead.model_validate(s) for s in rows], total=total, page=offset // limit + 1, size=limit)


# ---- applications and grants for a service -------------------------------------------------------


def apply_for_service(db: Session, *, actor: Principal, data: ServiceApplicationCreate) -> ApplicationRead:
    """A department applies for operations of a service: the provider answers, then the bureau."""
    check(actor, perm.APPLY)
    if actor.department_id is None:
        raise ValidationFailed("申请人须属于一个部门")
    service = find_service(db, code=data.service_code)
    known = {o["id"] for o in service.operations}
    unknown = [o for o in data.operations if o not in known]
    if unknown:
        raise ValidationFailed("申请的操作不是该服务的操作", details={"operations": unknown})
    check_period(data.period_end)
    operations = list(dict.fromkeys(data.operations))
    return open_application(
        db,
        actor=actor,
        prefix="FW",
        kind="service",
        entry_code=service.code,
        provider_department_id=service.provider_department_id,
        operations=operations,
        purpose=data.purpose,
        period_end=data.period_end,
        audit_details={"service": service.code, "operations": operations},
        rate_per_second=data.rate_per_second,
        daily_quota=data.daily_quota,
    )


def grant_service(db: Session, *, actor: Principal, application: ShareApplication, opinion: str) -> ShareGrant:
    """The bureau's approval of a service application: a grant of its operations, rate and quota."""
    return grant_operations(
        db,
        actor=actor,
        application=application,
        opinion=opinion,
        audit_details={
            "service": application.entry_code,
            "operations": list(application.operations or []),
            "rate_per_second": application.rate_per_second,
            "daily_quota": application.daily_quota,
        },
        rate_per_second=application.rate_per_second,
        daily_quota=application.daily_quota,
    )


def is_bureau(db: Session, actor: Principal) -> bool:
    return catalog_service.is_bureau(db, actor)


_PLACEHOLDER = re.compile(r"\\\{[^/{}]+\\\}")


def template_pattern(path: str) -> re.Pattern[str]:
    """A path template (`/persons/{id}`) as a pattern matching one path segment per placeholder."""
    return re.compile("^" + _PLACEHOLDER.sub("[^/]+", re.escape(path)) + "$")
