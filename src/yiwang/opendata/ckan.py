"""A read-only subset of the CKAN Action API v3, shaped so CKAN clients (ckanapi) and harvesters work.

Datasets are CKAN packages (name = resource code in lower case), providing departments are
organizations, catalog classifications are groups, and each download format is a resource.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from yiwang.catalog.schemas import CATEGORIES
from yiwang.core.jsonbody import MalformedJson, parse_json
from yiwang.opendata import service
from yiwang.opendata.schemas import DatasetRead
from yiwang.org import service as org_service

CKAN_VERSION = "2.10.4"
GROUP_NAMES = dict(zip(CATEGORIES, ("basic", "thematic", "departmental"), strict=True))
MEDIA_TYPES = {
    "CSV": "text/csv",
    "JSON": "application/json",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FACETABLE = {"organization", "tags", "groups", "res_format", "license_id", "open_type"}
MAX_ROWS = 1000


class CkanError(Exception):
    """An action error in CKAN's shape: __type and message, with CKAN's HTTP status."""

    def __init__(self, kind: str, message: str, status: int) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


def not_found(message: str) -> CkanError:
    return CkanError("Not Found Error", message, 404)


def invalid(message: str) -> CkanError:
    return CkanError("Validation Error", message, 409)


def _organization(code: str, name: str) -> dict[str, Any]:
    return {
        "id": code.lower(),
        "name": code.lower(),
        "title": name,
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "image_url": "",
        "description": "",
    }


def _resources(d: DatasetRead, base: str) -> list[dict[str, Any]]:
    modified = (d.data_updated_at or d.published_at).isoformat()
    return [
        {
            "id": f"{d.name}-{fmt.lower()}",
            "package_id": d.name,
            "name": f"{d.title}（{fmt}）",
            "format": fmt,
            "mimetype": MEDIA_TYPES[fmt],
            "url": f"{base}/opendata/datasets/{d.code}/download.{fmt.lower()}",
            "description": "脱敏后的开放视图",
            "last_modified": modified,
            "created": d.published_at.isoformat(),
            "state": "active",
            "position": n,
        }
        for n, fmt in enumerate(d.formats)
    ]


def package(d: DatasetRead, base: str) -> dict[str, Any]:
    resources = _resources(d, base)
    group = GROUP_NAMES.get(d.category, "departmental")
    return {
        "id": d.name,
        "name": d.name,
        "title": d.title,
        "notes": d.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "url": f"{base}/opendata/datasets/{d.code}",
        "license_id": d.licence or "notspecified",
        "license_title": d.licence or "未指定",
        "metadata_created": d.published_at.isoformat(),
        "metadata_modified": (d.data_updated_at or d.published_at).isoformat(),
        "organization": _organization(d.department_code, d.department_name),
        "owner_org": d.department_code.lower(),
        "groups": [{"name": group, "title": d.category, "id": group}],
        "tags": [{"name": t, "display_name": t, "state": "active"} for t in d.tags],
        "num_tags": len(d.tags),
        "resources": resources,
        "num_resources": len(resources),
        "extras": [
            {"key": "identifier", "value": d.code},
            {"key": "open_type", "value": d.open_type},
            {"key": "update_cycle", "value": d.update_cycle},
            {"key": "fresh", "value": str(d.fresh).lower()},
            {"key": "quality_score", "value": str(d.quality_score)},
        ],
    }


def _fq_filters(fq: str) -> dict[str, str]:
    filters = {}
    for part in fq.split():
        field, _, value = part.partition(":")
        if not value:
            raise invalid(f"fq 条件格式应为 字段:值，收到 {part}")
        filters[field.lstrip("+")] = value.strip('"')
    return filters


def _matches(d: DatasetRead, filters: dict[str, str]) -> bool:
    for field, value in filters.items():
        if field == "organization" and d.department_code.lower() != value.lower():
            return False
        if field == "tags" and value not in d.tags:
            return False
        if field == "groups" and GROUP_NAMES.get(d.category) != value:
            return False
        if field == "res_format" and value.upper() not in d.formats:
            return False
        if field == "license_id" and (d.licence or "notspecified") != value:
            return False
        if field == "open_type" and d.open_type != value:
            return False
        if field == "name" and d.name != value:
            return False
    return True


def _facet_values(d: DatasetRead, field: str) -> list[str]:
    return {
        "organization": [d.department_code.lower()],
        "tags": d.tags,
        "groups": [GROUP_NAMES.get(d.category, "departmental")],
        "res_format": d.formats,
        "license_id": [d.licence or "notspecified"],
        "open_type": [d.open_type],
    }.get(field, [])


def _int(params: dict[str, Any], name: str, default: int, high: int) -> int:
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise invalid(f"{name} 须为整数") from exc
    if value < 0 or value > high:
        raise invalid(f"{name} 须在 0 到 {high} 之间")
    return value


def package_search(db: Session, params: dict[str, Any], base: str) -> dict[str, Any]:
    q = str(params.get("q", "") or "")
    if q in ("*:*", "*"):
        q = ""
    filters = _fq_filters(str(params.get("fq", "") or ""))
    rows = _int(params, "rows", 10, MAX_ROWS)
    start = _int(params, "start", 0, 10**6)
    sort = str(params.get("sort", "") or "score desc, metadata_modified desc")
    facet_fields = params.get("facet.field", [])
    if isinstance(facet_fields, str):
        try:
            facet_fields = parse_json(facet_fields.encode(), expect=list)
        except MalformedJson as exc:
            raise invalid("facet.field 须为 JSON 数组") from exc
    if not isinstance(facet_fields, list) or not all(isinstance(f, str) for f in facet_fields):
        raise invalid("facet.field 须为字符串数组")
    found = [d for d in service.search(db, q=q, limit=10**6).items if _matches(d, filters)]
    first_key = sort.split(",")[0].strip().split()
    if not first_key or len(first_key) > 2 or (len(first_key) == 2 and first_key[1] not in ("asc", "desc")):
        raise invalid("sort 须为“字段 asc|desc”，如 metadata_modified desc")
    field, direction = first_key[0], (first_key[1] if len(first_key) > 1 else "asc")
    keys: dict[str, Callable[[DatasetRead], Any]] = {
        "name": lambda d: d.name,
        "title_string": lambda d: d.title,
        "metadata_modified": lambda d: d.data_updated_at or d.published_at,
        "metadata_created": lambda d: d.published_at,
        "score": lambda d: d.data_updated_at or d.published_at,
    }
    if field not in keys:
        raise invalid(f"不支持按 {field} 排序")
    found.sort(key=keys[field], reverse=direction == "desc" or field == "score")
    facets: dict[str, dict[str, int]] = {}
    for facet in facet_fields:
        if facet not in FACETABLE:
            raise invalid(f"不支持的 facet.field：{facet}")
        counts: dict[str, int] = {}
        for d in found:
            for value in _facet_values(d, facet):
                counts[value] = counts.get(value, 0) + 1
        facets[facet] = counts
    return {
        "count": len(found),
        "sort": sort,
        "results": [package(d, base) for d in found[start : start + rows]],
        "facets": facets,
        "search_facets": {
            f: {"title": f, "items": [{"name": k, "display_name": k, "count": v} for k, v in counts.items()]}
            for f, counts in facets.items()
        },
    }


def _dataset(db: Session, params: dict[str, Any]) -> DatasetRead:
    ident = str(params.get("id") or params.get("name") or "")
    if not ident:
        raise invalid("缺少参数 id")
    try:
        return service.get_dataset(db, code=ident)
    except Exception as exc:  # the domain's NotFound becomes CKAN's Not Found Error
        raise not_found(f"数据集 {ident} 不存在") from exc


def run_action(db: Session, action: str, params: dict[str, Any], base: str, site_title: str, site_url: str) -> Any:
    """The result of one action, or CkanError. site_url is the configured public address, never the
    request's Host header, which the caller chooses."""
    if action == "status_show":
        return {
            "ckan_version": CKAN_VERSION,
            "site_title": site_title,
            "site_url": site_url.rstrip("/"),
            "site_description": "常熟市公共数据开放平台（CKAN Action API v3 兼容子集）",
            "locale_default": "zh_Hans_CN",
            "error_emails_to": None,
            "extensions": ["yiwang"],
        }
    if action == "package_list":
        names = [d.name for d in service.all_datasets(db)]
        limit = params.get("limit")
        offset = _int(params, "offset", 0, 10**6)
        return (
            names[offset : offset + _int(params, "limit", len(names), 10**6)] if limit is not None else names[offset:]
        )
    if action == "package_search":
        return package_search(db, params, base)
    if action == "package_show":
        return package(_dataset(db, params), base)
    if action == "resource_show":
        ident = str(params.get("id", ""))
        name, _, fmt = ident.rpartition("-")
        if not name or fmt.upper() not in MEDIA_TYPES:
            raise not_found(f"资源 {ident} 不存在")
        d = _dataset(db, {"id": name})
        for resource in _resources(d, base):
            if resource["id"] == ident:
                return resource
        raise not_found(f"资源 {ident} 不存在")
    if action in ("organization_list", "organization_show"):
        datasets = service.all_datasets(db)
        department_names = {d.code: d.short_name for d in org_service.list_departments(db, include_inactive=True)}
        counts: dict[str, int] = {}
        for d in datasets:
            counts[d.department_code] = counts.get(d.department_code, 0) + 1
        if action == "organization_list":
            all_fields = str(params.get("all_fields", "false")).lower() in ("true", "1")
            codes = sorted(counts)
            if all_fields:
                return [_organization(c, department_names.get(c, c)) | {"package_count": counts[c]} for c in codes]
            return [c.lower() for c in codes]
        ident = str(params.get("id", "")).upper()
        if ident not in counts:
            raise not_found(f"机构 {params.get('id')} 不存在或没有开放数据")
        result = _organization(ident, department_names.get(ident, ident)) | {"package_count": counts[ident]}
        if str(params.get("include_datasets", "false")).lower() in ("true", "1"):
            result["packages"] = [package(d, base) for d in datasets if d.department_code == ident]
        return result
    if action == "group_list":
        used = {d.category for d in service.all_datasets(db)}
        all_fields = str(params.get("all_fields", "false")).lower() in ("true", "1")
        groups = [(GROUP_NAMES[c], c) for c in CATEGORIES if c in used]
        if all_fields:
            return [{"id": n, "name": n, "title": t, "type": "group", "state": "active"} for n, t in groups]
        return [n for n, _ in groups]
    if action == "tag_list":
        tags = sorted({t for d in service.all_datasets(db) for t in d.tags})
        query = str(params.get("query", "") or "")
        return [t for t in tags if query in t]
    raise CkanError("Not Found Error", f"不支持的操作 {action}", 400)
