"""Changshu demo data for 城市智脑 (labelled demo): registries shaped by the plan's survey figures
(23 surveyed units, 11 own machine rooms, 13 private networks), back-filled monthly indicator
history, sign series history where the sensing demo has none yet, and last month's scores."""

import random
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from yiwang.brain import diagnosis, evaluation, registries, signs, synthetic
from yiwang.brain import indicators as ind
from yiwang.brain import models as m
from yiwang.brain import service as svc
from yiwang.brain.schemas import CardScenarioIn, EcosystemEnterpriseIn, GovSystemIn, UpstreamIntegrationIn
from yiwang.brain.sources import local_today
from yiwang.core.db import dialect_insert
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import SHANGHAI, utcnow
from yiwang.demo.people import demo_credit_code

SYSTEM = Principal(
    user_id=None,
    username="system:demo",
    display_name="演示数据装载",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
)

# The 23 surveyed units and one or two systems each: (unit, system name, hosting then→now, private network)
SURVEYED = [
    ("FGW", ["投资项目在线审批监管系统"]),
    ("GXJ", ["企业运行监测平台"]),
    ("GAJ", ["视频图像信息综合应用平台", "警务综合平台"]),
    ("RSJ", ["社会保障信息系统", "就业服务平台"]),
    ("NYJ", ["农村产权交易平台"]),
    ("ZGJ", ["不动产登记系统", "国土空间基础信息平台"]),
    ("ZJJ", ["燃气安全监管平台", "建设工程监管系统"]),
    ("SJJ", ["市场主体登记系统", "食品安全追溯平台"]),
    ("CGJ", ["数字城管系统"]),
    ("HBJ", ["生态环境监测平台", "污染源在线监控系统"]),
    ("SWJ", ["智慧水务平台", "防汛防旱指挥系统"]),
    ("YJJ", ["应急指挥平台"]),
    ("WTL", ["文旅公共服务平台"]),
    ("JTJ", ["交通运行监测平台"]),
    ("WJW", ["全民健康信息平台", "急救调度系统"]),
    ("SPJ", ["政务服务管理平台", "一窗受理系统"]),
    ("HSJ", ["船舶监管系统"]),
    ("LDZ", ["社会综合治理联动指挥平台"]),
    ("JYJ", ["教育城域网管理平台", "智慧教育平台"]),
    ("XSM", ["新市民积分管理系统"]),
    ("YBJ", ["医保结算系统"]),
    ("MZJ", ["社会救助信息系统"]),
    ("DSJ", ["大数据共享交换平台", "政务云管理平台"]),
]
OWN_ROOM_UNITS = ("GAJ", "RSJ", "WJW", "YBJ", "JYJ", "SWJ", "ZGJ", "HSJ", "JTJ", "GXJ", "NYJ")  # 11 (47.8%) in 2020
PRIVATE_NETWORKS = {
    "GAJ": "公安视频专网",
    "YJJ": "应急指挥专网",
    "JYJ": "教育城域网",
    "WJW": "卫生专网",
    "RSJ": "人社专网",
    "YBJ": "医保专网",
    "SWJ": "水务专网",
    "HSJ": "海事专网",
    "ZGJ": "自然资源专网",
    "JTJ": "交通专网",
    "SJJ": "市场监管专网",
    "HBJ": "环保监测专网",
    "LDZ": "综治专网",
}  # 13 units ran private networks
STILL_OWN_ROOM = {"GAJ-1", "GAJ-2", "WJW-2", "HSJ-1", "YBJ-1"}  # moved off by 2026: the rest
STILL_PRIVATE = {"GAJ-1", "LDZ-1", "HSJ-1", "YJJ-1"}
NO_IPV6 = {"GAJ-1", "GAJ-2", "HSJ-1", "YBJ-1", "NYJ-1", "XSM-1", "WJW-2", "JTJ-1"}

CARDS = [
    ("公交乘车", "JTJ", "交通出行", "live"),
    ("公共自行车", "JTJ", "交通出行", "live"),
    ("医院就诊挂号", "WJW", "医疗健康", "live"),
    ("医保结算", "YBJ", "医疗健康", "live"),
    ("社保待遇领取", "RSJ", "社会保障", "live"),
    ("图书馆借阅", "WTL", "文化旅游", "live"),
    ("景区入园（虞山、沙家浜）", "WTL", "文化旅游", "live"),
    ("体育场馆预约", "WTL", "文化旅游", "live"),
    ("政务服务身份核验", "SPJ", "政务服务", "live"),
    ("老年人优待", "MZJ", "民生服务", "live"),
    ("校园一卡通", "JYJ", "教育", "live"),
    ("停车缴费", "CGJ", "交通出行", "live"),
    ("新市民居住登记", "XSM", "民生服务", "live"),
    ("水电气缴费", "ZJJ", "生活缴费", "pilot"),
    ("社区食堂", "MZJ", "民生服务", "pilot"),
    ("企业职工食堂", "GXJ", "生活缴费", "planned"),
    ("公共充电桩", "FGW", "交通出行", "planned"),
]
ENTERPRISE_FIELDS = ("数据治理", "城市感知", "人工智能", "数据安全", "软件开发", "数字孪生", "区块链", "数据标注")
UPSTREAM = {
    17: ["目录体系级联", "共享交换节点对接", "数据接口注册", "库表资源级联", "共享申请流程对接", "运行监测数据上报"],
    18: ["安全态势数据接入", "终端准入管理对接", "漏洞通报处置对接"],
    19: ["云资源纳管对接", "运维工单对接", "监控告警对接", "资产台账同步"],
    20: ["项目申报对接", "项目评审对接", "项目验收数据同步"],
}
UPSTREAM_PENDING = {
    ("17", 5): "in_progress",
    ("18", 2): "in_progress",
    ("19", 3): "not_started",
    ("20", 2): "in_progress",
}


def load_registries(db: Any) -> int:
    count = 0
    today = date.today()
    for unit, names in SURVEYED:
        for index, name in enumerate(names, start=1):
            code = f"{unit}-{index}"
            private = PRIVATE_NETWORKS.get(unit, "") if index == 1 else ""
            registries.save_row(
                db,
                actor=SYSTEM,
                key="systems",
                data=GovSystemIn(
                    code=code,
                    name=name + "（演示）",
                    department_code=unit,
                    hosting="own_room" if code in STILL_OWN_ROOM else "gov_cloud",
                    network="private" if code in STILL_PRIVATE else "extranet",
                    private_network=private,
                    ipv6=code not in NO_IPV6,
                    note=(
                        "2020年部署于自建机房，已迁移上云"
                        if unit in OWN_ROOM_UNITS and code not in STILL_OWN_ROOM
                        else ""
                    ),
                ),
            )
            count += 1
    for n, (name, unit, category, status) in enumerate(CARDS, start=1):
        launched = today - timedelta(days=30 * (len(CARDS) - n) + 40) if status == "live" else None
        registries.save_row(
            db,
            actor=SYSTEM,
            key="cards",
            data=CardScenarioIn(
                code=f"CARD-{n:02d}",
                name=name,
                department_code=unit,
                category=category,
                status=status,
                launched_on=launched,
            ),
        )
        count += 1
    rng = random.Random(16)
    for n in range(1, 25):
        status = "settled" if n <= 18 else "negotiating" if n <= 22 else "left"
        registries.save_row(
            db,
            actor=SYSTEM,
            key="enterprises",
            data=EcosystemEnterpriseIn(
                code=demo_credit_code(f"MA{2021000 + n:07d}"),
                name=f"常熟{['数智', '云图', '慧城', '虞数', '琴川', '尚湖'][n % 6]}科技第{n}号有限公司（演示）",
                field=rng.choice(ENTERPRISE_FIELDS),
                status=status,
                settled_on=today - timedelta(days=40 * (25 - n)) if status == "settled" else None,
            ),
        )
        count += 1
    for no, items in UPSTREAM.items():
        for index, name in enumerate(items, start=1):
            state = UPSTREAM_PENDING.get((str(no), index), "done")
            registries.save_row(
                db,
                actor=SYSTEM,
                key="upstream",
                data=UpstreamIntegrationIn(
                    code=f"UP{no}-{index:02d}",
                    indicator_no=no,
                    name=name,
                    state=state,
                    done_on=today - timedelta(days=60 * index) if state == "done" else None,
                    note=registries.UPSTREAM_PLATFORMS[no],
                ),
            )
            count += 1
    return count


def backfill_indicator_history(db: Any, *, now: datetime) -> int:
    """Monthly snapshots from the plan's start to last month, ramping to today's value (labelled demo)."""
    current = svc.compute_indicators(db)
    period = svc.current_period()
    start = ind.PLAN_START
    months = ind.months_between(start, period)
    rng = np.random.default_rng(2021)
    existing = {(s.indicator_no, s.period) for s in db.execute(select(m.IndicatorSnapshot)).scalars()}
    count = 0
    for read in current:
        if read.value is None:
            continue
        base = read.value * rng.uniform(0.35, 0.6)
        for k in range(months):
            month = date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1)
            if (read.no, month) in existing:
                continue
            share = (k + 1) / (months + 1)
            value = base + (read.value - base) * share**0.8 + rng.normal(0, 0.01 * max(read.value, 1))
            value = round(max(0.0, min(value, read.value if read.unit != "%" else 100.0)), 2)
            if read.unit == "个" or read.unit == "家":
                value = float(round(value))
            status, _ = ind.assess(value=value, target=read.target, history=[], as_of=month)
            db.add(
                m.IndicatorSnapshot(
                    indicator_no=read.no,
                    period=month,
                    value=value,
                    status=status,
                    source=read.source,
                    origin="demo",
                    note="演示数据回填",
                    computed_at=now,
                )
            )
            count += 1
    db.flush()
    return count


def backfill_series(db: Any, *, days: int, now: datetime) -> int:
    """Series history where brain has none: generated, for the stations, sluices and categories the
    other domains know; a few anomalies injected into the last two days so the demo shows warnings."""
    insert = dialect_insert(db)
    stmt = insert(m.SeriesPoint).on_conflict_do_nothing(index_elements=["series", "ts"])
    end = signs.hour_floor(now)
    count = 0
    metas = signs.series_list(db)
    for n, meta in enumerate(metas):
        spec = diagnosis.KINDS.get(meta.kind)
        if spec is None:
            continue
        if spec["step"] == "hour":
            hours = days * 24
            start = end - timedelta(hours=hours - 1)
            if meta.kind == "aqi":
                values = synthetic.aqi_series(hours, seed=n, start_day_of_year=start.timetuple().tm_yday)
            else:
                values = synthetic.water_level_series(hours, seed=n)
            values = _calibrate(db, meta.key, values, start, end)
            injected = synthetic.inject(values, count=1, seed=n, skip=hours - 40) if n % 3 == 0 else None
            values = injected.values if injected else values
            times = [start + timedelta(hours=i) for i in range(hours)]
        else:
            today = local_today()
            span = max(days, 120)  # weekly seasonality needs months of daily counts
            times = [signs.local_midnight_utc(today - timedelta(days=span - 1 - i)) for i in range(span)]
            mean = _real_daily_mean(db, meta.key, times[-30], times[-1] + timedelta(days=1))
            values = synthetic.daily_counts(span, mean=mean, seed=n, start_weekday=times[0].weekday())
        rows = [{"series": meta.key, "ts": t, "value": round(float(v), 3)} for t, v in zip(times, values, strict=True)]
        for start_row in range(0, len(rows), 5000):
            db.execute(stmt, rows[start_row : start_row + 5000])
        count += len(rows)
        if meta.kind == "aqi":  # daily AQI for the good-day share, from the same generated hours
            daily: dict[datetime, list[float]] = {}
            for t, v in zip(times, values, strict=True):
                day = signs.local_midnight_utc(t.astimezone(SHANGHAI).date())
                daily.setdefault(day, []).append(float(v))
            key = "aqiday:" + meta.key.split(":", 1)[1]
            day_rows = [
                {"series": key, "ts": d, "value": round(sum(v) / len(v))} for d, v in daily.items() if len(v) >= 20
            ]
            if day_rows:
                db.execute(stmt, day_rows)
    db.flush()
    return count


def _real_daily_mean(db: Any, key: str, start: datetime, end: datetime) -> float:
    """The category's real daily volume over the last month (from the rollup), so generated history
    continues it; at least 0.5 a day so a quiet category still has a shape."""
    real = signs.load_series(db, key=key, start=start, end=end, step="day")
    real = real[~np.isnan(real)]
    return max(float(real.mean()) if len(real) else 0.0, 0.5)


def _calibrate(db: Any, key: str, values: np.ndarray, start: datetime, end: datetime) -> np.ndarray:
    """Match generated history to the level and spread of the real readings already stored, so the
    join between them is not itself an anomaly."""
    real = signs.load_series(db, key=key, start=start, end=end + timedelta(hours=1))
    real = real[~np.isnan(real)]
    if len(real) < 12:
        return values
    spread = float(np.std(values)) or 1.0
    target = max(float(np.std(real)), 0.2 * spread * float(np.mean(real)) / max(float(np.mean(values)), 1e-9))
    scaled = (values - float(np.mean(values))) / spread * target + float(np.mean(real))
    # Match the hour-to-hour roughness of the real readings too, or the join itself looks anomalous.
    rough_real, rough_syn = float(np.std(np.diff(real))), float(np.std(np.diff(scaled)))
    if rough_real > rough_syn:
        noise = np.random.default_rng(len(values)).normal(0, np.sqrt((rough_real**2 - rough_syn**2) / 2), len(values))
        scaled = scaled + noise
    return np.maximum(scaled, 0.0)


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    """Idempotent: registries by code, history only where missing."""
    days = 120 if runtime.settings.demo_size == "full" else 30
    counts: dict[str, int] = {}
    now = utcnow()
    with runtime.db.unit_of_work() as db:
        counts["registry_rows"] = load_registries(db)
    with runtime.db.unit_of_work() as db:
        rolled = signs.rollup(db, days=30)  # what the domains already hold; the rest is generated below
        counts["series_points_from_domains"] = sum(v for k, v in rolled.items() if isinstance(v, int))
        counts["series_points_generated"] = backfill_series(db, days=days, now=now)
    with runtime.db.unit_of_work() as db:
        counts["warnings"] = diagnosis.detect_warnings(db, now=now, lookback=72)["stored"]
    with runtime.db.unit_of_work() as db:
        counts["indicator_history"] = backfill_indicator_history(db, now=now)
        svc.recompute_indicators(db, actor=SYSTEM)
    with runtime.db.unit_of_work() as db:
        period = svc.current_period()
        previous = svc.previous_period(period)
        exists = db.execute(select(m.Evaluation.id).where(m.Evaluation.period == previous).limit(1)).first()
        if not exists:
            evaluation.store(db, period=previous, origin="demo")
            _perturb_previous(db, previous)
        counts["evaluation_scopes"] = evaluation.store(db, period=period)
    with runtime.db.unit_of_work() as db:
        signs.store_snapshot(db)
    return counts


def _perturb_previous(db: Any, previous: date) -> None:
    """Last month's demo scores differ a little from this month's, so month-on-month change shows."""
    rng = random.Random(previous.toordinal())
    rows = list(db.execute(select(m.Evaluation).where(m.Evaluation.period == previous)).scalars())
    for kind in ("department", "division"):
        scoped = [r for r in rows if r.scope_kind == kind]
        for r in scoped:
            if r.score is not None:
                r.score = round(max(0.0, min(100.0, r.score + rng.uniform(-6, 6))), 2)
        ranked = sorted([r for r in scoped if r.score is not None], key=lambda r: -r.score)
        for position, r in enumerate(ranked, start=1):
            r.rank = position
    db.flush()
