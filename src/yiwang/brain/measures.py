"""The plan's computed indicators, each a function named for what it measures, registered by the
indicator's number in COMPUTED. They read the typed figures the owning domains compute; with
`records=True` they also list what was counted, for the drill-down."""

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from yiwang.brain.sources import read
from yiwang.certs import service as certs_service
from yiwang.cityops import service as cityops_service
from yiwang.exchange import service as exchange_service
from yiwang.federation import service as federation_service
from yiwang.governance import service as governance_service
from yiwang.onestop import service as onestop_service
from yiwang.onestop.schemas import ItemSummary
from yiwang.opendata import service as opendata_service

Record = dict[str, Any]


@dataclass
class Measure:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""
    records: list[Record] | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)


class Indicator(Protocol):
    def __call__(self, db: Session, *, records: bool = False) -> Measure: ...


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else round(100.0 * ratio, 2)


ENTRY_COLUMNS = [("code", "资源代码"), ("name", "资源名称"), ("department_code", "部门"), ("detail", "情况")]
ITEM_COLUMNS = [("code", "事项编码"), ("name", "事项名称"), ("department_code", "部门"), ("detail", "情况")]


def _item_record(item: ItemSummary, *, counted: bool, detail: str) -> Record:
    return {
        "code": item.code,
        "name": item.name,
        "department_code": item.department_code,
        "detail": detail,
        "counted": counted,
    }


# --- 基础支撑 ------------------------------------------------------------------------------------------


def catalog_mounting_rate(db: Session, *, records: bool = False) -> Measure:
    """4 已挂载数据资源与信息资源目录比率 = published entries with mounted data / published entries."""
    f = read("governance", governance_service.governance_figures, db)
    result = Measure(
        _pct(f.mount_ratio) if f.catalog_entries else None,
        f.mounted_resources,
        f.catalog_entries,
        "" if f.catalog_entries else "目录中没有已发布的资源",
    )
    if records:
        result.columns = ENTRY_COLUMNS
        result.records = [
            {
                "code": e.code,
                "name": e.name,
                "department_code": e.department_code,
                "detail": f"已挂载 第{e.version}版 {e.rows}行" if e.version is not None else "未挂载数据",
                "counted": e.version is not None,
            }
            for e in read("governance", governance_service.catalog_mounting, db)
        ]
    return result


def high_frequency_certificate_coverage(db: Session, *, records: bool = False) -> Measure:
    """5 高频电子证照覆盖率 = high-frequency certificate types an active service item issues
    electronically (the item produces that e-certificate on approval) / high-frequency types."""
    types = [t for t in read("certs", certs_service.list_types, db) if t.high_frequency]
    producers: dict[str, list[str]] = {}
    for item in read("onestop", onestop_service.active_item_summaries, db):
        if item.produces_type_code:
            producers.setdefault(item.produces_type_code, []).append(item.name)
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


# --- 政务服务 ------------------------------------------------------------------------------------------


def items_with_waived_materials(db: Session, *, records: bool = False) -> Measure:
    """6 免于提交事项数 = active items for which at least one application had a material taken from an
    e-certificate or a base database instead of submitted (exemption that happened, not only configured)."""
    items = read("onestop", onestop_service.active_item_summaries, db)
    waived = sum(1 for i in items if i.waived_applications)
    configured = sum(1 for i in items if i.exempt_materials)
    result = Measure(
        float(waived), waived, None, f"已有办件实际免于提交材料的事项（配置了免提交材料的事项 {configured} 个）"
    )
    if records:
        result.columns = ITEM_COLUMNS
        result.records = [
            _item_record(
                i,
                counted=i.waived_applications > 0,
                detail=f"{i.waived_applications} 件办件免于提交；{i.exempt_materials}/{i.materials} 项材料可免提交",
            )
            for i in items
        ]
    return result


def one_thing_bundles(db: Session, *, records: bool = False) -> Measure:
    """7 “一件事一次办”事项数 = active bundles."""
    f = read("onestop", onestop_service.indicator_figures, db)
    result = Measure(float(f.bundle_count), f.bundle_count, None)
    if records:
        result.columns = [("code", "一件事编码"), ("name", "名称"), ("department_code", "牵头部门"), ("detail", "事项")]
        result.records = [
            {
                "code": b.code,
                "name": b.name,
                "department_code": b.lead_department_code,
                "detail": f"{b.items} 个事项",
                "counted": True,
            }
            for b in read("onestop", onestop_service.active_bundle_summaries, db)
        ]
    return result


def online_service_rate(db: Session, *, records: bool = False) -> Measure:
    """8 可网办率 = active items that can be handled online / active items."""
    f = read("onestop", onestop_service.indicator_figures, db)
    result = Measure(f.online_rate if f.active_items else None, f.online_items, f.active_items)
    if records:
        result.columns = ITEM_COLUMNS
        result.records = [
            _item_record(i, counted=i.online, detail=f"可网办（{i.online_depth}）" if i.online else "不可网办")
            for i in read("onestop", onestop_service.active_item_summaries, db)
        ]
    return result


def entry_point_services(db: Session, *, records: bool = False) -> Measure:
    """9 “城市服务总入口”接入服务事项数 = active items and bundles on the city's service entry point."""
    f = read("onestop", onestop_service.indicator_figures, db)
    result = Measure(float(f.entry_point_services), f.entry_point_services, None)
    if records:
        result.columns = ITEM_COLUMNS
        result.records = [
            _item_record(i, counted=i.entry_point, detail="已接入总入口" if i.entry_point else "未接入")
            for i in read("onestop", onestop_service.active_item_summaries, db)
        ]
        result.records += [
            {
                "code": b.code,
                "name": f"一件事：{b.name}",
                "department_code": b.lead_department_code,
                "detail": "已接入总入口" if b.entry_point else "未接入",
                "counted": b.entry_point,
            }
            for b in read("onestop", onestop_service.active_bundle_summaries, db)
        ]
    return result


# --- 城市治理 ------------------------------------------------------------------------------------------


def event_on_time_closure_rate(db: Session, *, records: bool = False) -> Measure:
    """11 “一网统管”联动事项办结率 = events closed on time / events closed (dispatched, not voided)."""
    city = read("cityops", cityops_service.city_event_figures, db)
    if not city.closed:
        return Measure(None, 0, 0, "尚无办结的联动事件")
    result = Measure(_pct(city.on_time_rate), city.on_time, city.closed, f"另有 {city.overdue_open} 件在办超期")
    if records:
        result.columns = [
            ("code", "事件编号"),
            ("name", "标题"),
            ("department_code", "承办部门"),
            ("detail", "办结情况"),
        ]
        result.records = [
            {
                "code": e.number,
                "name": e.title,
                "department_code": e.department_code,
                "detail": "按时办结" if e.on_time else "超期办结",
                "counted": e.on_time,
            }
            for e in read("cityops", cityops_service.closed_events, db)
        ]
    return result


# --- 数据赋能 ------------------------------------------------------------------------------------------


def open_data_department_coverage(db: Session, *, records: bool = False) -> Measure:
    """12 公共数据资源开放部门覆盖率 = departments with at least one open dataset / departments."""
    f = read("opendata", opendata_service.portal_figures, db)
    if not f.departments:
        return Measure(None, 0, 0, "没有部门")
    result = Measure(_pct(f.department_coverage), f.departments_open, f.departments)
    if records:
        result.columns = [("name", "部门"), ("detail", "开放数据集")]
        result.records = [
            {"code": code, "name": d.name, "department_code": code, "detail": f"{d.open} 个", "counted": d.open > 0}
            for code, d in f.by_department.items()
        ]
    return result


def open_data_freshness(db: Session, *, records: bool = False) -> Measure:
    """13 公共数据开放平台数据鲜活度 = open datasets updated within their update cycle / open datasets."""
    f = read("opendata", opendata_service.portal_figures, db)
    if not f.datasets:
        return Measure(None, 0, 0, "没有开放数据集")
    result = Measure(_pct(f.fresh_ratio), f.fresh, f.datasets)
    if records:
        result.columns = [("code", "数据集"), ("name", "名称"), ("department_code", "部门"), ("detail", "更新情况")]
        result.records = [
            {
                "code": d.code,
                "name": d.title or d.name,
                "department_code": d.department_code,
                "detail": f"{d.update_cycle}更新，最近 {d.data_updated_at:%Y-%m-%d}"
                if d.data_updated_at
                else f"{d.update_cycle}更新，尚无数据",
                "counted": d.fresh,
            }
            for d in read("opendata", opendata_service.all_datasets, db)
        ]
    return result


def cleaned_rows_deidentified_rate(db: Session, *, records: bool = False) -> Measure:
    """14 数据清洗、脱敏率 = clean rows held whose sensitive items (level 3–4) all leave de-identified /
    clean rows held, over the current versions of the mounted resources."""
    f = read("governance", governance_service.governance_figures, db)
    result = Measure(
        _pct(f.cleaned_deidentified_ratio) if f.rows_held else None,
        f.rows_deidentified,
        f.rows_held,
        f"当前版本清洗入库 {f.rows_held:,} 行（历次接收 {f.rows_ingested:,} 行，清洗入库 {f.rows_clean:,} 行）"
        if f.mounted_resources
        else "没有已挂载的资源",
    )
    if records:
        result.columns = [*ENTRY_COLUMNS[:3], ("weight", "数据行"), ENTRY_COLUMNS[3]]
        result.records = [
            {
                "code": e.code,
                "name": e.name,
                "department_code": e.department_code,
                "weight": e.rows,
                "detail": "敏感信息项均已脱敏"
                if not e.sensitive_in_clear
                else "未脱敏：" + "、".join(e.sensitive_in_clear),
                "counted": not e.sensitive_in_clear,
            }
            for e in read("governance", governance_service.catalog_mounting, db)
            if e.rows is not None
        ]
    return result


def shared_data_utilisation(db: Session, *, records: bool = False) -> Measure:
    """15 政企共享数据利用率 = shares used in the last 30 days / shares in force, where a share is a
    department's active exchange grant (used: called through the data API) or an enterprise's approved
    有条件开放 application (used: downloaded)."""
    grants = read("exchange", exchange_service.sharing_figures, db)
    approvals = read("opendata", opendata_service.enterprise_approvals, db)
    shares = grants.active_grants + len(approvals)
    if not shares:
        return Measure(None, 0, 0, "没有生效的共享授权")
    used = grants.grants_used_30d + sum(1 for a in approvals if a.downloads_30d)
    note = f"近30天调用 {grants.calls_30d} 次"
    if approvals:
        note += f"；企业获准使用有条件开放数据 {len(approvals)} 项"
    result = Measure(_pct(round(used / shares, 4)), used, shares, note)
    if records:
        result.columns = [("code", "授权编号"), ("name", "资源"), ("consumer", "使用方"), ("detail", "近30天使用")]
        result.records = [
            {
                "code": str(g.grant_id),
                "name": g.entry_code,
                "consumer": g.consumer_department_code,
                "department_code": g.consumer_department_code,
                "detail": f"调用 {g.calls_30d} 次",
                "counted": g.calls_30d > 0,
            }
            for g in read("exchange", exchange_service.grant_usage, db)
        ] + [
            {
                "code": f"开放申请{a.application_id}",
                "name": a.dataset_code,
                "consumer": a.enterprise,
                "department_code": a.provider_department_code,
                "detail": f"下载 {a.downloads_30d} 次",
                "counted": a.downloads_30d > 0,
            }
            for a in approvals
        ]
    return result


# --- 向上对接 ------------------------------------------------------------------------------------------

CASCADE_COLUMNS = [("code", "节点"), ("name", "必须交换的消息"), ("detail", "完成情况")]


def _cascade(no: int, db: Session, records: bool) -> Measure:
    """17–20: over the upper-level platforms registered as peers, the required exchanges done (a kind
    counts once a message of it was delivered and acknowledged, or received; catalog sync and answers
    count in proportion), from the federation's message records instead of a hand-kept checklist."""
    f = read("federation", federation_service.cascade_figures, db, indicator_no=no)
    if not f.items:
        return Measure(None, 0, 0, "未登记对应的苏州市级平台对接节点，或节点未设必须交换的消息")
    result = Measure(_pct(round(f.completed / len(f.items), 4)), f.completed, len(f.items), f"{f.peers} 个上级平台节点")
    if records:
        result.columns = CASCADE_COLUMNS
        result.records = [
            {"code": i.peer_name, "name": i.kind, "detail": i.detail, "department_code": "", "counted": i.done >= 1}
            for i in f.items
        ]
    return result


def sharing_platform_cascade(db: Session, *, records: bool = False) -> Measure:
    """17 苏州市级政务信息资源共享平台级联对接完成率."""
    return _cascade(17, db, records)


def security_platform_cascade(db: Session, *, records: bool = False) -> Measure:
    """18 苏州市级政务外网安全管理平台对接完成率."""
    return _cascade(18, db, records)


def cloud_operations_cascade(db: Session, *, records: bool = False) -> Measure:
    """19 苏州市级政务云运维平台对接完成率."""
    return _cascade(19, db, records)


def project_platform_cascade(db: Session, *, records: bool = False) -> Measure:
    """20 苏州市级项目管理平台对接完成率."""
    return _cascade(20, db, records)


COMPUTED: dict[int, Indicator] = {
    4: catalog_mounting_rate,
    5: high_frequency_certificate_coverage,
    6: items_with_waived_materials,
    7: one_thing_bundles,
    8: online_service_rate,
    9: entry_point_services,
    11: event_on_time_closure_rate,
    12: open_data_department_coverage,
    13: open_data_freshness,
    14: cleaned_rows_deidentified_rate,
    15: shared_data_utilisation,
    17: sharing_platform_cascade,
    18: security_platform_cascade,
    19: cloud_operations_cascade,
    20: project_platform_cascade,
}
