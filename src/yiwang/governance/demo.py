"""Demo data mounted on catalog entries (演示数据): a population-like register (GBK CSV, with the
invalid rows real exports have), an enterprise register, air and water monitoring tables, and
service statistics per department. Some resources are left stale so freshness varies."""

import io
import random
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select

from yiwang.catalog import service as catalog_service
from yiwang.core.identifiers import USCC_ALPHABET
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow
from yiwang.demo.people import company_name, demo_credit_code, demo_id_number, mobile, person_name
from yiwang.governance import service
from yiwang.governance.models import DataResource

TOWNS = [
    "虞山街道",
    "常福街道",
    "琴川街道",
    "莫城街道",
    "碧溪街道",
    "东南街道",
    "梅李镇",
    "海虞镇",
    "古里镇",
    "沙家浜镇",
    "支塘镇",
    "董浜镇",
    "辛庄镇",
    "尚湖镇",
]
AIR_STATIONS = [
    "海虞",
    "兴福",
    "菱塘",
    "常熟开发区",
    "虞山林场",
    "梅李",
    "古里",
    "沙家浜",
    "支塘",
    "董浜",
    "辛庄",
    "尚湖",
    "碧溪",
    "莫城",
    "琴川",
    "常福",
    "东南",
]


def demo_actor() -> Principal:
    """The demo loader acting with every permission (recorded as system:demo in the audit chain)."""
    return Principal(
        user_id=None,
        username="system:demo",
        display_name="演示数据装载",
        kind="system",
        permissions=frozenset(registry.permissions) | {SCOPE_ALL_DEPARTMENTS},
    )


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    pl.DataFrame(rows, infer_schema_length=None).write_csv(buffer)
    return buffer.getvalue().encode("utf-8")


def _division(rng: random.Random) -> str:
    town = rng.randint(1, 14)
    code = f"320581{(town if town <= 6 else 100 + town - 6):03d}"
    return code + f"{rng.randint(1, 3):03d}"


def population(rng: random.Random, count: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n in range(count):
        birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 30000))
        sequence = rng.randint(0, 999)
        id_number = demo_id_number(birth, sequence)
        town = rng.choice(TOWNS)
        row = {
            "person_id": f"P{n + 1:08d}",
            "name": person_name(rng),
            "id_number": id_number,
            "gender": "男" if sequence % 2 else "女",
            "birth_date": birth.strftime(rng.choice(["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"])),
            "mobile": mobile(rng),
            "division_code": _division(rng),
            "address": f"常熟市{town}{rng.choice(['新村', '花园', '小区', '路'])}{rng.randint(1, 200)}号",
            "household_size": str(rng.randint(1, 6)),
        }
        flaw = rng.random()
        if flaw < 0.01:
            row["id_number"] = id_number[:17] + ("0" if id_number[17] != "0" else "1")  # wrong check character
        elif flaw < 0.018:
            row["mobile"] = row["mobile"][:7]
        elif flaw < 0.022:
            row["name"] = ""
        elif flaw < 0.026 and rows:
            row["person_id"] = rows[-1]["person_id"]  # a repeated key
        elif flaw < 0.03:
            row["mobile"] = "１３９" + row["mobile"][3:]  # full-width digits, fixed by normalisation
        rows.append(row)
    return rows


def enterprises(rng: random.Random, count: int) -> list[dict[str, Any]]:
    industries = ["制造业", "批发和零售业", "建筑业", "信息技术服务业", "住宿和餐饮业", "其他"]
    rows = []
    body_alphabet = USCC_ALPHABET
    for n in range(count):
        body = "".join(rng.choice(body_alphabet) for _ in range(9))
        code = demo_credit_code(body)
        row = {
            "credit_code": code,
            "name": f"{company_name(rng)}{'有限公司' if rng.random() < 0.9 else '股份有限公司'}{n + 1:05d}（演示）",
            "legal_rep": person_name(rng, given=2),
            "reg_capital": f"{rng.choice([50, 100, 200, 500, 1000, 3000, 5000]) * rng.randint(1, 4)}",
            "established": (date(1995, 1, 1) + timedelta(days=rng.randint(0, 11000))).isoformat(),
            "industry": rng.choice(industries),
            "division_code": _division(rng),
            "status": rng.choices(["存续", "在业", "注销", "吊销"], [60, 30, 8, 2])[0],
            "email": f"contact{n + 1}@example.cn",
        }
        if rng.random() < 0.015:
            row["credit_code"] = code[:17] + ("0" if code[17] != "0" else "1")
        elif rng.random() < 0.01:
            row["industry"] = "未知行业"
        rows.append(row)
    return rows


def air(rng: random.Random, hours: int) -> list[dict[str, Any]]:
    rows = []
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    for station in AIR_STATIONS:
        base = rng.uniform(20, 45)
        for h in range(hours):
            at = start + timedelta(hours=h)
            pm25 = max(2.0, base + 15 * rng.random() + 10 * ((h % 24) in range(7, 10)))
            rows.append(
                {
                    "station": station,
                    "observed_at": (at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"),
                    "pm25": round(pm25, 1),
                    "pm10": round(pm25 * rng.uniform(1.3, 1.9), 1),
                    "no2": round(rng.uniform(10, 60), 1),
                    "o3": round(rng.uniform(30, 160), 1),
                    "aqi": int(min(500, pm25 * 1.4 + 10)),
                }
            )
    return rows


def water(rng: random.Random, days: int, sections: int) -> list[dict[str, Any]]:
    rows, today = [], utcnow().date()
    for s in range(1, sections + 1):
        for d in range(days):
            dissolved = rng.uniform(3, 9)
            nh3 = rng.uniform(0.1, 1.6)
            klass = "II" if dissolved >= 6 and nh3 <= 0.5 else "III" if dissolved >= 5 and nh3 <= 1.0 else "IV"
            rows.append(
                {
                    "section": f"断面{s:02d}",
                    "sample_date": (today - timedelta(days=d)).isoformat(),
                    "ph": round(rng.uniform(6.8, 8.2), 2),
                    "dissolved_oxygen": round(dissolved, 2),
                    "codmn": round(rng.uniform(2, 7), 2),
                    "ammonia": round(nh3, 3),
                    "water_class": klass,
                }
            )
    return rows


def service_stats(rng: random.Random, months: int) -> list[dict[str, Any]]:
    rows, today = [], utcnow().date().replace(day=1)
    for m in range(months):
        month = (today - timedelta(days=31 * m)).replace(day=1)
        for item in ("行政许可", "公共服务", "行政确认", "其他事项"):
            accepted = rng.randint(50, 900)
            completed = int(accepted * rng.uniform(0.9, 1.0))
            rows.append(
                {
                    "month": month.isoformat(),
                    "service_item": item,
                    "accepted": accepted,
                    "completed": completed,
                    "on_time_rate": round(rng.uniform(95, 100), 2),
                    "satisfaction": round(rng.uniform(97, 100), 2),
                }
            )
    return rows


def _backdate(runtime: Runtime, code: str, days: int) -> None:
    with runtime.db.unit_of_work() as db:
        resource = db.execute(select(DataResource).where(DataResource.entry_code == code)).scalar_one()
        resource.data_updated_at = utcnow() - timedelta(days=days)


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    """Mount demo data on the featured entries (and, for "full", every department's statistics)."""
    full = runtime.settings.demo_size == "full"
    rng = random.Random(8)
    actor = demo_actor()
    data_dir = runtime.settings.data_dir
    with runtime.db.unit_of_work() as db:
        mounted = set(service.resource_status(db))
        stats_codes = [
            e.code for e in catalog_service.list_entries(db) if e.name.endswith("办件统计") and e.code != "SPJ-00001"
        ]
    jobs: list[tuple[str, bytes, str]] = []
    people = population(rng, 20000 if full else 400)
    jobs.append(("GAJ-00001", _csv(people[: len(people) * 9 // 10]), "常住人口-2026Q3.csv"))
    changed = [dict(r) for r in people]
    for row in changed[::50]:
        row["household_size"] = str(int(row["household_size"] or 1) % 6 + 1)
    jobs.append(("GAJ-00001", _csv(changed).decode("utf-8").encode("gbk", errors="replace"), "常住人口-2026Q4.csv"))
    jobs.append(("SJJ-00001", _csv(enterprises(rng, 8000 if full else 300)), "市场主体.csv"))
    jobs.append(("HBJ-00001", _csv(air(rng, 168 if full else 24)), "空气质量.csv"))
    jobs.append(("HBJ-00002", _csv(water(rng, 30 if full else 3, 75 if full else 10)), "地表水.csv"))
    jobs.append(("SPJ-00001", _csv(service_stats(rng, 24)), "办件统计.csv"))
    for code in stats_codes if full else []:
        jobs.append((code, _csv(service_stats(rng, 24)), "办件统计.csv"))
    count = 0
    done: set[str] = set()
    for code, content, filename in jobs:
        if code in mounted:
            continue
        with runtime.db.unit_of_work() as db:
            service.ingest(
                db,
                actor=actor,
                data_dir=data_dir,
                entry_code=code,
                content=content,
                filename=filename,
                source="demo",
                note="演示数据",
            )
        done.add(code)
        count += 1
    # Freshness varies: some statistics were last updated months ago (stale for a monthly cycle).
    for n, code in enumerate(sorted(done & set(stats_codes))):
        if n % 3 == 0:
            _backdate(runtime, code, 45 + 10 * n)
    if "HBJ-00002" in done:
        _backdate(runtime, "HBJ-00002", 5)
    return {"versions": count}
