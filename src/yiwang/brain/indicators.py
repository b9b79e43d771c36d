"""The plan's 20 indicators (data/indicators.csv, copied from the plan's table), how each is
measured, and how a value and its monthly history become a status."""

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

PLAN_START = date(2021, 1, 1)
PLAN_END = date(2025, 12, 31)  # the plan judges itself on its 2025 targets

MET, ON_TRACK, AT_RISK, NO_DATA = "met", "on_track", "at_risk", "no_data"
STATUS_NAMES = {MET: "已达标", ON_TRACK: "按期可达", AT_RISK: "有风险", NO_DATA: "无数据"}
STATUS_COLOURS = {MET: "green", ON_TRACK: "blue", AT_RISK: "red", NO_DATA: "grey"}

COMPUTED_NOS = (4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 17, 18, 19, 20)

METHODS = {
    1: "台账：部署在政务云的系统数 / 登记的政务信息系统数",
    2: "台账：原建于部门专网、现已迁入电子政务外网的系统数 / 原建于部门专网的系统数",
    3: "台账：支持IPv6的系统数 / 登记的政务信息系统数",
    4: "计算：已挂载数据的已发布目录数 / 已发布的信息资源目录数（资源目录+数据治理）",
    5: "计算：已签发电子证照的高频证照类型数 / 高频证照类型数（电子证照）",
    6: "计算：至少有一件办件的材料取自电子证照或基础库、申请人免于提交的在用事项数（一网通办；"
    "只配置了免提交材料而尚无办件实际免提交的事项不计入）",
    7: "计算：在用的“一件事”数（一网通办）",
    8: "计算：可网办的在用事项数 / 在用事项数（一网通办）",
    9: "计算：接入城市服务总入口的事项与一件事数（一网通办）",
    10: "台账：已上线的一卡通应用场景数",
    11: "计算：按时办结的联动事件数 / 已办结的联动事件数（一网统管）",
    12: "计算：有开放数据集的部门数 / 部门数（数据开放）",
    13: "计算：在更新周期内更新的开放数据集数 / 开放数据集数（数据开放）",
    14: "计算：已挂载资源当前版本中经清洗入库的数据行里，敏感信息项（3、4级）均设脱敏规则、对外提供时即脱敏的行数 / "
    "经清洗入库的行数（数据治理；接收的每一行都经清洗，合格行入库、其余隔离；入库数据在开放和共享时按规则脱敏）",
    15: "计算：近30天被使用过的共享 / 生效的共享。共享包括部门的共享交换授权（以数据接口调用成功计）和企业获批使用的"
    "有条件开放数据（以下载计：平台对登录用户的下载留有记录）（共享交换+数据开放）",
    16: "台账：已入驻生态载体的企业数",
    17: "计算：登记为上级节点的苏州市级共享平台必须交换的各类消息的完成度之和 / 消息类型数（向上对接）。"
    "目录同步按本市已发布目录中对方已确认当前版本的比例计，跨级申请答复按10个工作日内答复的比例计，"
    "其余类型有一条已送达并经对方确认（或已接收）的消息即完成",
    18: "计算：苏州市级政务外网安全管理平台节点必须交换的消息（如安全报送）中已送达并确认的类型数 / 类型数（向上对接）",
    19: "计算：苏州市级政务云运维平台节点必须交换的消息中已送达并确认的类型数 / 类型数（向上对接）",
    20: "计算：苏州市级项目管理平台节点必须交换的消息中已送达并确认的类型数 / 类型数（向上对接）",
}


@dataclass(frozen=True)
class IndicatorDef:
    no: int
    group: str
    name: str
    unit: str
    target: float
    kind: str  # 约束性 | 预期性

    @property
    def source(self) -> str:
        return "computed" if self.no in COMPUTED_NOS else "registry"

    @property
    def method(self) -> str:
        return METHODS[self.no]


@cache
def definitions() -> tuple[IndicatorDef, ...]:
    with (Path(__file__).parent / "data" / "indicators.csv").open(encoding="utf-8") as handle:
        return tuple(
            IndicatorDef(
                no=int(row["no"]),
                group=row["group"],
                name=row["indicator"],
                unit=row["unit"],
                target=float(row["target_2025"]),
                kind=row["kind"],
            )
            for row in csv.DictReader(handle)
        )


def definition(no: int) -> IndicatorDef:
    for item in definitions():
        if item.no == no:
            return item
    raise KeyError(no)


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def assess(
    *,
    value: float | None,
    target: float,
    history: list[tuple[date, float | None]],
    as_of: date,
    deadline: date = PLAN_END,
    window: int = 12,
) -> tuple[str, str]:
    """Status and its reason: met; on track when the trend of the last `window` months reaches the
    target by the deadline; otherwise at risk (also when past the deadline, or without a trend)."""
    if value is None:
        return NO_DATA, "暂无数据"
    if value >= target:
        return MET, f"当前 {value:g} 已达到目标 {target:g}"
    if as_of > deadline:
        return AT_RISK, f"已过 {deadline.year} 年目标期限，当前 {value:g}，距目标 {target:g} 尚差 {target - value:.4g}"
    points = sorted((p, v) for p, v in history if v is not None and p <= as_of)[-window:]
    if len(points) < 3:
        return AT_RISK, "历史数据不足3个月，无法判断趋势"
    x = np.array([months_between(PLAN_START, p) for p, _ in points], dtype=float)
    y = np.array([v for _, v in points], dtype=float)
    slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 0.0
    months_left = max(months_between(as_of, deadline), 0)
    projected = value + slope * months_left
    needed = (target - value) / months_left if months_left else float("inf")
    if projected >= target:
        return ON_TRACK, f"近{len(points)}个月每月 {slope:+.3g}，按此趋势到期可达 {projected:.4g}（目标 {target:g}）"
    return (
        AT_RISK,
        f"近{len(points)}个月每月 {slope:+.3g}，到期预计 {projected:.4g}，低于目标 {target:g}（每月需 {needed:+.3g}）",
    )
