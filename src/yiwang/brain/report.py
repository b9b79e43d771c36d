"""The monthly report (月度报告): indicators, signs and rankings, as HTML (a page) and as PDF.

The PDF is drawn with fpdf2 and embeds a subset of Noto Sans SC shipped by the PyPI package
pylopdf-fonts-zh-cn, so it reads the same on any machine, with no system fonts."""

import logging
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from yiwang.brain import diagnosis, evaluation, signs
from yiwang.brain import service as brain_service
from yiwang.brain.indicators import STATUS_NAMES
from yiwang.core.security import Principal
from yiwang.core.timeutil import format_local, utcnow


def context(db: Session, *, principal: Principal, period: date) -> dict[str, Any]:
    """Everything the report shows, for the month (indicators from the month's snapshot)."""
    allowed = brain_service.scope_codes(db, principal)
    indicators = brain_service.list_indicators(db, period=period)
    counts: dict[str, int] = {}
    for i in indicators:
        counts[i.status] = counts.get(i.status, 0) + 1
    return {
        "period": period,
        "period_label": f"{period.year}年{period.month}月",
        "generated_at": utcnow(),
        "indicators": indicators,
        "status_counts": {STATUS_NAMES[k]: v for k, v in counts.items()},
        "signs": signs.all_signs(db, allowed=allowed),
        "departments": evaluation.ranking(db, kind="department", period=period, allowed=allowed),
        "divisions": evaluation.ranking(db, kind="division", period=period, allowed=allowed),
        "warnings": diagnosis.list_warnings(db, allowed=allowed, limit=15),
    }


@cache
def _font_path() -> str:
    import pylopdf_fonts_zh_cn

    return str(pylopdf_fonts_zh_cn.sans_path())


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:.0f}"
    return str(value)


def pdf(ctx: dict[str, Any]) -> bytes:
    """The report as an A4 PDF with an embedded CJK font subset."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    # fontTools reports every glyph table it subsets at INFO: hundreds of lines a report.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    doc = FPDF(orientation="P", unit="mm", format="A4")
    doc.set_auto_page_break(auto=True, margin=14)
    doc.add_font("noto", "", _font_path())
    doc.set_title(f"常熟市城市智脑月度报告 {ctx['period_label']}")
    doc.set_creator("yiwang 城市智脑")
    doc.add_page()
    doc.set_font("noto", size=18)
    doc.cell(0, 12, f"常熟市城市智脑月度报告（{ctx['period_label']}）", new_x="LMARGIN", new_y="NEXT", align="C")
    doc.set_font("noto", size=9)
    doc.cell(
        0,
        6,
        f"生成时间：{format_local(ctx['generated_at'])}（北京时间）  演示数据生成的数字仅供演示",
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    heading = FontFace(emphasis=None, fill_color=(225, 232, 245))

    def section(title: str) -> None:
        doc.ln(3)
        doc.set_font("noto", size=13)
        doc.cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("noto", size=8.5)

    section("一、“十四五”数字政府建设指标")
    summary = "，".join(f"{k} {v} 项" for k, v in ctx["status_counts"].items())
    doc.multi_cell(0, 5, f"20 项指标：{summary}。", new_x="LMARGIN", new_y="NEXT")
    with doc.table(col_widths=(8, 62, 20, 16, 14, 16, 18), headings_style=heading, line_height=5.2) as table:
        table.row(["序号", "指标", "当前值", "2025目标", "单位", "属性", "状态"])
        for i in ctx["indicators"]:
            table.row([str(i.no), i.indicator, _fmt(i.value), _fmt(i.target, 0), i.unit, i.kind, i.status_name])
    s = ctx["signs"]
    section("二、城市体征")
    lines = []
    air = s.get("air", {})
    lines.append(
        "空气："
        + (
            air["reason"]
            if "reason" in air
            else f"全市实时AQI {_fmt(air.get('city_aqi'))}，今年优良天数比例 {_fmt(air.get('good_day_share'))}%"
            f"（{air.get('good_days', 0)}/{air.get('days', 0)} 天）"
        )
    )
    water = s.get("water", {})
    lines.append(
        "水质："
        + (
            water["reason"]
            if "reason" in water
            else f"{water.get('sections', 0)} 个断面中 I–III 类占 {_fmt(water.get('good_share'))}%，"
            f"劣V类 {len(water.get('worse_than_v', []))} 个"
        )
    )
    ev = s.get("events", {})
    lines.append(
        "事件："
        + (
            ev["reason"]
            if "reason" in ev
            else f"在办 {ev.get('open', 0)} 件，超期 {ev.get('overdue', 0)} 件，按时办结率 "
            f"{_fmt(100 * ev['on_time_rate'] if ev.get('on_time_rate') is not None else None)}%"
        )
    )
    sv = s.get("services", {})
    lines.append(
        "政务服务："
        + (
            sv["reason"]
            if "reason" in sv
            else f"累计办件 {sv.get('applications', 0)} 件，办结 {sv.get('completed', 0)} 件，"
            f"超期在办 {sv.get('overdue_tasks', 0)} 件，好评率 {_fmt(sv.get('satisfaction'))}%"
        )
    )
    dv = s.get("devices", {})
    lines.append(
        "感知设备："
        + (
            dv["reason"]
            if "reason" in dv
            else f"{dv.get('devices', 0)} 台，在线率 {_fmt(dv.get('online_rate'))}%，"
            f"活动告警 {dv.get('active_alarms', 0)} 条"
        )
    )
    for line in lines:
        doc.multi_cell(0, 5.5, line, new_x="LMARGIN", new_y="NEXT")
    for key, title in (("departments", "三、部门综合评估排名"), ("divisions", "四、镇（街道）综合评估排名")):
        ranking = ctx[key]
        section(title)
        weights = "，".join(f"{w['name']} {int(w['weight'] * 100)}%" for w in ranking["weights"])
        doc.multi_cell(0, 5, f"权重：{weights}。缺项时按现有分项重新归一。", new_x="LMARGIN", new_y="NEXT")
        with doc.table(col_widths=(12, 40, 20, 20, 22), headings_style=heading, line_height=5.2) as table:
            table.row(["排名", "名称", "得分", "上月", "环比"])
            for row in ranking["rows"][:25]:
                change = row.get("change")
                table.row(
                    [
                        _fmt(row["rank"]),
                        row["name"],
                        _fmt(row["score"]),
                        _fmt(row.get("previous_score")),
                        "—" if change is None else f"{change:+.1f}",
                    ]
                )
    if ctx["warnings"]:
        section("五、近期预警")
        for w in ctx["warnings"][:10]:
            doc.multi_cell(
                0,
                5,
                f"· {format_local(w['ts'], '%m-%d %H:%M')} {w['label']}：{w['reason']}",
                new_x="LMARGIN",
                new_y="NEXT",
            )
    return bytes(doc.output())
