"""The one place where 城市智脑 reads other domains — only through their service.py functions.

Each reader returns plain data or raises SourceUnavailable with the reason (domain not installed,
function missing, or it failed); callers then report "no data" with that reason, never a made-up
figure. When a domain renames a function, this file is the only one to change.
"""

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

from sqlalchemy.orm import Session

from yiwang.core.permissions import registry
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow

log = logging.getLogger(__name__)


class SourceUnavailable(Exception):
    """A figure's source is missing or failed; `reason` is shown to people (Chinese)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


DOMAIN_NAMES = {
    "catalog": "资源目录",
    "governance": "数据治理",
    "exchange": "共享交换",
    "opendata": "数据开放",
    "certs": "电子证照",
    "onestop": "一网通办",
    "sensing": "物联感知",
    "cityops": "一网统管",
}


def service(domain: str) -> ModuleType:
    """The domain's service module, or SourceUnavailable when the domain is not installed."""
    try:
        return importlib.import_module(f"yiwang.{domain}.service")
    except ImportError as exc:
        raise SourceUnavailable(f"{DOMAIN_NAMES.get(domain, domain)}（{domain}）未安装或无法加载") from exc


def function(domain: str, *names: str) -> Callable[..., Any]:
    """The first of `names` the domain's service offers."""
    module = service(domain)
    for name in names:
        found = getattr(module, name, None)
        if callable(found):
            return found
    raise SourceUnavailable(f"{DOMAIN_NAMES.get(domain, domain)}服务未提供 {' / '.join(names)}")


def call(domain: str, names: str | tuple[str, ...], db: Session, **kwargs: Any) -> Any:
    """Call a domain's service function; its failure becomes SourceUnavailable (and is logged)."""
    fn = function(domain, *((names,) if isinstance(names, str) else names))
    try:
        with db.begin_nested():  # a failing reader must not spoil the caller's transaction
            return fn(db, **kwargs)
    except SourceUnavailable:
        raise
    except Exception as exc:
        log.warning("brain source %s.%s failed: %s", domain, fn.__name__, exc)
        raise SourceUnavailable(f"{DOMAIN_NAMES.get(domain, domain)}服务 {fn.__name__} 出错：{exc}") from exc


def system_actor() -> Principal:
    """The brain reads city-wide as a system actor; who may see what is decided by brain's own scope rules."""
    return Principal(
        user_id=None,
        username="system:brain",
        display_name="城市智脑",
        kind="system",
        permissions=frozenset(registry.permissions),
    )


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else round(100.0 * ratio, 2)


# --- computed indicators -----------------------------------------------------------------------


@dataclass
class Measure:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""
    records: list[dict[str, Any]] | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)


ENTRY_COLUMNS = [("code", "资源代码"), ("name", "资源名称"), ("department_code", "部门"), ("detail", "情况")]


def _mounted_entries(db: Session) -> tuple[list[Any], dict[str, Any]]:
    published = call("catalog", "published_codes", db)
    status = call("governance", "resource_status", db, entry_codes=sorted(published))
    entries = call("catalog", "list_entries", db, codes=sorted(published)) if published else []
    return entries, status


def indicator_4(db: Session, *, records: bool = False) -> Measure:
    """已挂载数据资源与信息资源目录比率 = published entries with mounted data / published entries."""
    figures = call("governance", "governance_figures", db)
    result = Measure(
        _pct(figures["mount_ratio"]) if figures["catalog_entries"] else None,
        figures["mounted_resources"],
        figures["catalog_entries"],
        "目录中没有已发布的资源" if not figures["catalog_entries"] else "",
    )
    if records:
        entries, status = _mounted_entries(db)
        result.columns = ENTRY_COLUMNS
        result.records = [
            {
                "code": e.code,
                "name": e.name,
                "department_code": e.department_code,
                "detail": (
                    f"已挂载 第{status[e.code].version}版 {status[e.code].rows}行" if e.code in status else "未挂载数据"
                ),
                "counted": e.code in status,
            }
            for e in entries
        ]
    return result


def indicator_14(db: Session, *, records: bool = False) -> Measure:
    """数据清洗、脱敏率 = mounted resources whose sensitive items (level ≥ 3) all have a masking rule / mounted."""
    figures = call("governance", "governance_figures", db)
    mounted = figures["mounted_resources"]
    result = Measure(
        _pct(figures["cleaned_deidentified_ratio"]) if mounted else None,
        figures["deidentified_resources"],
        mounted,
        f"已清洗入库 {figures['rows_clean']:,} 行（接收 {figures['rows_ingested']:,} 行）"
        if mounted
        else "没有已挂载的资源",
    )
    if records:
        entries, status = _mounted_entries(db)
        result.columns = ENTRY_COLUMNS
        result.records = []
        for e in entries:
            if e.code not in status:
                continue
            unmasked = [i.label or i.name for i in e.items if i.sensitivity >= 3 and i.masking == "none"]
            result.records.append(
                {
                    "code": e.code,
                    "name": e.name,
                    "department_code": e.department_code,
                    "detail": "敏感信息项均已脱敏" if not unmasked else "未脱敏：" + "、".join(unmasked),
                    "counted": not unmasked,
                }
            )
    return result


def indicator_5(db: Session, *, records: bool = False) -> Measure:
    """高频电子证照覆盖率 = high-frequency certificate types an active service item issues electronically
    (the item produces that e-certificate on approval) / high-frequency certificate types."""
    types = [t for t in call("certs", "list_types", db) if t.high_frequency]
    producers: dict[str, list[str]] = {}
    for item in _items(db):
        code = _get(item, "produces_type_code")
        if code:
            producers.setdefault(code, []).append(_get(item, "name"))
    covered = [t for t in types if t.code in producers]
    result = Measure(
        round(100.0 * len(covered) / len(types), 2) if types else None,
        len(covered),
        len(types),
        "" if types else "没有登记高频证照类型",
    )
    if records:
        result.columns = [
            ("code", "证照类型代码"),
            ("name", "证照名称"),
            ("ministry", "发证部委"),
            ("detail", "签发事项"),
        ]
        result.records = [
            {
                "code": t.code,
                "name": t.name,
                "ministry": t.ministry,
                "department_code": None,
                "detail": "、".join(producers.get(t.code, [])[:3]) or "尚无事项签发该电子证照",
                "counted": t.code in producers,
            }
            for t in types
        ]
    return result


def _onestop_figures(db: Session) -> Any:
    return call("onestop", "indicator_figures", db)


ITEM_COLUMNS = [("code", "事项编码"), ("name", "事项名称"), ("department_code", "部门"), ("detail", "情况")]


def _items(db: Session) -> list[Any]:
    """Every active service item (onestop's search without a filter)."""
    found = call("onestop", "search_items", db, limit=100_000)
    return list(found[0] if isinstance(found, tuple) else _get(found, "items", found))


def indicator_onestop(no: int, db: Session, *, records: bool = False) -> Measure:
    """6 免于提交事项数, 7 一件事一次办事项数, 8 可网办率, 9 总入口接入服务事项数 (onestop's own figures)."""
    f = _onestop_figures(db)
    if no == 6:
        result = Measure(
            float(f.exempt_material_items), f.exempt_material_items, None, "材料来源为电子证照或基础库的事项"
        )
    elif no == 7:
        result = Measure(float(f.bundle_count), f.bundle_count, None)
    elif no == 8:
        result = Measure(f.online_rate if f.active_items else None, f.online_items, f.active_items)
    else:
        result = Measure(float(f.entry_point_services), f.entry_point_services, None)
    if records:
        if no == 7:
            bundles = call("onestop", "list_bundles", db)
            result.columns = [
                ("code", "一件事编码"),
                ("name", "名称"),
                ("department_code", "牵头部门"),
                ("detail", "事项"),
            ]
            result.records = [
                {
                    "code": b.code,
                    "name": b.name,
                    "department_code": _get(b, "lead_department_code", ""),
                    "detail": f"{len(_get(b, 'item_codes', []) or _get(b, 'items', []))} 个事项",
                    "counted": bool(_get(b, "active", True)),
                }
                for b in bundles
            ]
        else:
            result.columns = ITEM_COLUMNS
            result.records = []
            for item in _items(db):
                if not _get(item, "active", True):
                    continue
                materials = _get(item, "materials", []) or []
                if no == 6:
                    exempt = [mt for mt in materials if _get(mt, "source") in ("certificate", "database")]
                    counted, detail = bool(exempt), f"{len(exempt)}/{len(materials)} 项材料免提交"
                elif no == 8:
                    counted = bool(_get(item, "online"))
                    detail = f"可网办（{_get(item, 'online_depth', '')}）" if counted else "不可网办"
                else:
                    counted = bool(_get(item, "entry_point"))
                    detail = "已接入总入口" if counted else "未接入"
                result.records.append(
                    {
                        "code": _get(item, "code"),
                        "name": _get(item, "name"),
                        "department_code": _get(item, "department_code"),
                        "detail": detail,
                        "counted": counted,
                    }
                )
            if no == 9:  # bundles count as entry-point services too
                for b in call("onestop", "list_bundles", db):
                    flag = _get(b, "entry_point")
                    result.records.append(
                        {
                            "code": b.code,
                            "name": f"一件事：{b.name}",
                            "department_code": _get(b, "lead_department_code"),
                            "detail": "已接入总入口" if flag or flag is None else "未接入",
                            "counted": bool(flag) or flag is None,  # onestop counts bundles in the entry point
                        }
                    )
    return result


EVENT_COLUMNS = [("code", "事件编号"), ("name", "标题"), ("department_code", "承办部门"), ("detail", "办结情况")]


def _event_rows(db: Session, *, limit: int = 20000, **filters: Any) -> list[Any]:
    cityops = service("cityops")
    event_filter = getattr(cityops, "EventFilter", None)
    if event_filter is None:
        raise SourceUnavailable("一网统管服务未提供 EventFilter")
    rows, _ = call("cityops", "list_events", db, actor=system_actor(), filters=event_filter(**filters), limit=limit)
    return rows


def _department_code_map(db: Session) -> dict[int, str]:
    from yiwang.org import service as org_service

    return {d.id: d.code for d in org_service.list_departments(db, include_inactive=True)}


def indicator_11(db: Session, *, records: bool = False, since: datetime | None = None) -> Measure:
    """“一网统管”联动事项办结率 = events closed on time / events closed (dispatched, not voided)."""
    rows = call("cityops", "figures", db, by="department", since=since)
    city = next((r for r in rows if r.key == "ALL"), None)
    if city is None or not city.closed:
        return Measure(None, 0, 0, "尚无办结的联动事件")
    result = Measure(_pct(city.on_time_rate), city.on_time, city.closed, f"另有 {city.overdue_open} 件在办超期")
    if records:
        codes = _department_code_map(db)
        result.columns = EVENT_COLUMNS
        result.records = [
            {
                "code": e.number,
                "name": e.title,
                "department_code": codes.get(e.department_id) if e.department_id else None,
                "detail": ("按时办结" if e.closed_on_time else "超期办结"),
                "counted": bool(e.closed_on_time),
            }
            for e in _event_rows(db)
            if e.closed_on_time is not None
            and e.dispatched_at is not None
            and e.status != "voided"
            and (since is None or e.created_at >= since)
        ]
    return result


def _opendata_figures(db: Session) -> Any:
    return call("opendata", "portal_figures", db)


def indicator_12(db: Session, *, records: bool = False) -> Measure:
    """公共数据资源开放部门覆盖率 = departments with at least one open dataset / departments (opendata's figure)."""
    f = _opendata_figures(db)
    if not f["departments"]:
        return Measure(None, 0, 0, "没有部门")
    result = Measure(_pct(f["department_coverage"]), f["departments_open"], f["departments"])
    if records:
        from yiwang.org import service as org_service

        kinds = getattr(service("opendata"), "COVERED_KINDS", ("platform", "department", "command_center"))
        per: dict[str, int] = {}
        for d in call("opendata", "all_datasets", db):
            per[d.department_code] = per.get(d.department_code, 0) + 1
        result.columns = [("code", "部门代码"), ("name", "部门"), ("detail", "开放数据集")]
        result.records = [
            {
                "code": d.code,
                "name": d.short_name,
                "department_code": d.code,
                "detail": f"{per.get(d.code, 0)} 个",
                "counted": per.get(d.code, 0) > 0,
            }
            for d in org_service.list_departments(db)
            if d.kind in kinds
        ]
    return result


def indicator_13(db: Session, *, records: bool = False) -> Measure:
    """公共数据开放平台数据鲜活度 = open datasets updated within their update cycle / open datasets."""
    f = _opendata_figures(db)
    if not f["datasets"]:
        return Measure(None, 0, 0, "没有开放数据集")
    result = Measure(_pct(f["fresh_ratio"]), f["fresh"], f["datasets"])
    if records:
        result.columns = [("code", "数据集"), ("name", "名称"), ("department_code", "部门"), ("detail", "更新情况")]
        result.records = [
            {
                "code": d.code,
                "name": _get(d, "title") or d.name,
                "department_code": d.department_code,
                "detail": f"{d.update_cycle}更新，最近 {d.data_updated_at:%Y-%m-%d}"
                if d.data_updated_at
                else f"{d.update_cycle}更新，尚无数据",
                "counted": bool(d.fresh),
            }
            for d in call("opendata", "all_datasets", db)
        ]
    return result


def indicator_15(db: Session, *, records: bool = False) -> Measure:
    """政企共享数据利用率 = active sharing grants called successfully in the last 30 days / active grants."""
    f = call("exchange", "sharing_figures", db)
    if not f["active_grants"]:
        return Measure(None, 0, 0, "没有生效的共享授权")
    result = Measure(
        _pct(f["utilisation_ratio"]), f["grants_used_30d"], f["active_grants"], f"近30天调用 {f['calls_30d']} 次"
    )
    if records:
        result.columns = [
            ("code", "授权编号"),
            ("name", "资源"),
            ("department_code", "使用部门"),
            ("detail", "近30天调用"),
        ]
        result.records = _grant_records(db)
    return result


def _grant_records(db: Session) -> list[dict[str, Any]]:
    """Active grants and whether each was called successfully in the last 30 days: exchange's own
    grant_usage when it offers it, else composed from list_grants and usage."""
    try:
        rows = call("exchange", "grant_usage", db)
        return [
            {
                "code": str(g["id"]),
                "name": g["entry_code"],
                "department_code": g["consumer_department_code"],
                "detail": f"{g['calls']} 次",
                "counted": g["calls"] > 0,
            }
            for g in rows
        ]
    except SourceUnavailable:
        pass
    actor = system_actor()
    codes = _department_code_map(db)
    usage = {u.grant_id: u for u in call("exchange", "usage", db, actor=actor)}
    since = utcnow() - timedelta(days=30)
    records = []
    for g in call("exchange", "list_grants", db, actor=actor):
        if g.revoked_at is not None or g.expires_at <= utcnow():
            continue
        u = usage.get(g.id)
        last = u.last_call_at if u else None
        records.append(
            {
                "code": str(g.id),
                "name": g.entry_code,
                "department_code": codes.get(g.consumer_department_id),
                "detail": f"累计 {u.calls if u else 0} 次，最近 {last:%Y-%m-%d}" if last else "近30天未调用",
                "counted": bool(last and last >= since),
            }
        )
    return records


COMPUTED: dict[int, Callable[..., Measure]] = {
    4: indicator_4,
    5: indicator_5,
    6: lambda db, **kw: indicator_onestop(6, db, **kw),
    7: lambda db, **kw: indicator_onestop(7, db, **kw),
    8: lambda db, **kw: indicator_onestop(8, db, **kw),
    9: lambda db, **kw: indicator_onestop(9, db, **kw),
    11: indicator_11,
    12: indicator_12,
    13: indicator_13,
    14: indicator_14,
    15: indicator_15,
}


# --- city signs --------------------------------------------------------------------------------


def local_today() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def air_now(db: Session) -> dict[str, Any]:
    """Latest hourly AQI per air station (with place), from sensing's hourly AQI of the last two days."""
    today = local_today()
    hourly = call("sensing", "aqi_hourly", db, start=today - timedelta(days=1), end=today)
    things = {t.id: t for t in call("sensing", "list_things", db)}
    start = datetime.fromisoformat(hourly["start"].replace("Z", "+00:00"))
    stations = []
    for station in hourly["stations"]:
        values = station["aqi"]
        last = next((i for i in range(len(values) - 1, -1, -1) if values[i] is not None), None)
        thing = things.get(station["id"])
        stations.append(
            {
                "id": station["id"],
                "name": station["name"],
                "aqi": values[last] if last is not None else None,
                "at": (start + timedelta(hours=last)).isoformat() if last is not None else None,
                "lon": thing.lon if thing else None,
                "lat": thing.lat if thing else None,
                "division_code": thing.division_code if thing else None,
                "department_id": thing.department_id if thing else None,
            }
        )
    return {"stations": stations, "hourly": hourly}


def aqi_days(db: Session, *, day: date) -> list[Any]:
    return call("sensing", "aqi_days", db, day=day)


def water(db: Session) -> dict[str, Any]:
    return call("sensing", "water_summary", db)


def devices(db: Session) -> dict[str, int]:
    return call("sensing", "counts", db)


def things(db: Session, *, kind: str | None = None) -> list[Any]:
    return call("sensing", "list_things", db, kind=kind)


def hourly_series(
    db: Session, *, thing_id: int, property_codes: tuple[str, ...], start: datetime, end: datetime
) -> list[Any]:
    """Hourly means of a device's first datastream whose property code matches."""
    detail = call("sensing", "get_thing", db, thing_id=thing_id)
    stream = next((s for s in detail["datastreams"] if s["code"] in property_codes), None)
    if stream is None:
        raise SourceUnavailable(f"设备 {thing_id} 没有 {'/'.join(property_codes)} 数据流")
    return call("sensing", "series", db, datastream_id=stream["id"], period="hour", start=start, end=end)


def alarms(db: Session, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = call("sensing", "list_alarms", db, state=None, limit=limit)
    return [
        {
            "id": _get(a, "id"),
            "thing_id": _get(a, "thing_id"),
            "severity": _get(a, "severity"),
            "state": _get(a, "state"),
            "message": _get(a, "message") or "",
            "at": _get(a, "raised_at") or _get(a, "created_at") or _get(a, "started_at"),
        }
        for a in rows
    ]


def event_figures(db: Session, *, by: str = "department", since: datetime | None = None) -> list[Any]:
    return call("cityops", "figures", db, by=by, since=since)


def supervision(db: Session) -> dict[str, Any]:
    return call("cityops", "supervision", db)


def event_points(db: Session, *, days: int = 7) -> dict[str, Any]:
    return call("cityops", "map_points", db, actor=system_actor(), days=days)


def events(db: Session, *, limit: int = 20000, **filters: Any) -> list[Any]:
    return _event_rows(db, limit=limit, **filters)


def service_figures(db: Session) -> Any:
    return _onestop_figures(db)


def service_department_figures(db: Session) -> list[Any]:
    return call("onestop", "department_figures", db, actor=system_actor())


def applications_today(db: Session) -> int:
    start = datetime.combine(local_today(), datetime.min.time(), tzinfo=SHANGHAI).astimezone(UTC)
    return call("onestop", ("applications_since", "count_applications"), db, since=start)


def data_figures(db: Session) -> dict[str, Any]:
    """Freshness and sharing calls for the signs: whichever of the data domains answer."""
    out: dict[str, Any] = {}
    try:
        f = _opendata_figures(db)
        out["open_datasets"] = f["datasets"]
        out["fresh_datasets"] = f["fresh"]
        out["open_downloads"] = f.get("downloads")
    except SourceUnavailable as exc:
        out["opendata_reason"] = exc.reason
    try:
        f = call("exchange", "sharing_figures", db)
        out["sharing_calls_30d"] = f["calls_30d"]
        out["sharing_rows_30d"] = f["rows_30d"]
        out["active_grants"] = f["active_grants"]
    except SourceUnavailable as exc:
        out["exchange_reason"] = exc.reason
    try:
        g = call("governance", "governance_figures", db)
        out["mounted_resources"] = g["mounted_resources"]
        out["rows_clean"] = g["rows_clean"]
    except SourceUnavailable as exc:
        out["governance_reason"] = exc.reason
    return out


def resource_freshness(db: Session) -> list[dict[str, Any]]:
    """Per mounted resource: department, update cycle, last data update (for per-department freshness)."""
    entries, status = _mounted_entries(db)
    return [
        {
            "code": e.code,
            "department_code": e.department_code,
            "update_cycle": e.update_cycle,
            "data_updated_at": status[e.code].data_updated_at,
        }
        for e in entries
        if e.code in status
    ]
