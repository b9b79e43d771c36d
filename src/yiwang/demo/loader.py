"""Load Changshu's organisation (reference data) and demo accounts into the platform.

Departments and towns come from the city's reference lists (data/*.csv). Division codes below the
city (320581) are numbered in list order — subdistricts 001…, towns 101…, communities and villages
three more digits — because official statistical codes are not available offline. Communities,
sub-units and every account are demo data, loaded only in demo mode (`YIWANG_DEMO`): the demo
accounts share a published password and the demo client a published secret.
"""

import csv
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from yiwang.core import audit
from yiwang.core.passwords import hash_password
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.demo.people import CITY_CODE, demo_credit_code, demo_id_number
from yiwang.org import mfa, service
from yiwang.org.schemas import DepartmentCreate, DivisionCreate, UserCreate

DATA = Path(__file__).parent / "data"
DEMO_PASSWORD = "changshu2026"  # noqa: S105  (published demo login)
DEMO_CLIENT_SECRET = "demo-client-secret-2026"  # noqa: S105  (published demo client)
# The published TOTP secret of the demo's administrators (demo only): add it to an authenticator app
# (README, "Demo logins") to log in as them with a second factor, as their roles require.
DEMO_TOTP_SECRET = "CHANGSHUYIWANGDEMOTOTPSECRETKEYS"  # noqa: S105  (published demo second factor)
DEMO_CLIENT_ID = "demo-exchange-client"
GOVERNMENT_CODE = "GOV"

# Demo sub-units under departments, to show the department tree and its scope rules.
SUB_UNITS = [
    ("CGJ_ZFDD", "城管执法大队", "常熟市城市管理综合行政执法大队", "CGJ"),
    ("GAJ_YSPCS", "虞山派出所", "常熟市公安局虞山派出所", "GAJ"),
    ("HBJ_JCZ", "环境监测站", "苏州市常熟环境监测站", "HBJ"),
    ("SWJ_HDC", "河道管理处", "常熟市河道管理处", "SWJ"),
    ("SPJ_ZWZX", "政务服务中心", "常熟市政务服务中心", "SPJ"),
]
COMMUNITY_SUFFIXES = {"subdistrict": ("东社区", "西社区", "南社区"), "town": ("中心社区", "东村", "西村")}


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def division_rows(*, demo: bool = True) -> list[DivisionCreate]:
    """The city, its towns and subdistricts, and (demo) three communities or villages under each."""
    rows = [DivisionCreate(code=CITY_CODE, name="常熟市", level="city", lon=120.75, lat=31.65)]
    town_no = {"subdistrict": 0, "town": 100}
    for item in _rows("divisions.csv"):
        kind = item["kind"]
        town_no[kind] += 1
        code = f"{CITY_CODE}{town_no[kind]:03d}"
        lon, lat = float(item["approx_lon"]), float(item["approx_lat"])
        rows.append(DivisionCreate(code=code, name=item["name"], level=kind, parent_code=CITY_CODE, lon=lon, lat=lat))
        if not demo:
            continue
        stem = item["name"].removesuffix("街道").removesuffix("镇")
        for index, suffix in enumerate(COMMUNITY_SUFFIXES[kind], start=1):
            level = "village" if suffix.endswith("村") else "community"
            rows.append(
                DivisionCreate(
                    code=f"{code}{index:03d}",
                    name=stem + suffix,
                    level=level,
                    parent_code=code,
                    lon=round(lon + 0.006 * (index - 2), 4),
                    lat=round(lat + 0.004 * (index - 2), 4),
                )
            )
    return rows


def department_rows(*, demo: bool = True) -> list[DepartmentCreate]:
    """The city government at the root, the reference departments under it, then (demo) sub-units."""
    rows = [DepartmentCreate(code=GOVERNMENT_CODE, short_name="市政府", full_name="常熟市人民政府", kind="government")]
    for item in _rows("departments.csv"):
        rows.append(
            DepartmentCreate(
                code=item["code"],
                short_name=item["short_name"],
                full_name=item["full_name"],
                kind=item["kind"],
                parent_code=GOVERNMENT_CODE,
            )
        )
    if demo:
        rows += [
            DepartmentCreate(code=c, short_name=s, full_name=f, kind="unit", parent_code=p) for c, s, f, p in SUB_UNITS
        ]
    return rows


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    kind: str
    roles: tuple[str, ...]
    department: str | None = None
    id_number: str | None = None
    phone: str | None = None
    credit_code: str | None = None


DEMO_ACCOUNTS = [
    DemoAccount("admin", "系统管理员（演示）", "staff", ("platform_admin",), "DSJ"),
    DemoAccount("secadmin", "安全管理员（演示）", "staff", ("security_admin",), "DSJ"),
    DemoAccount("auditor", "审计管理员（演示）", "staff", ("audit_admin",), "DSJ"),
    DemoAccount("leader", "李市长（演示）", "staff", ("leader",), GOVERNMENT_CODE),
    DemoAccount("dsj_steward", "周数据（演示）", "staff", ("data_steward",), "DSJ", phone="13812340001"),
    DemoAccount("ldz_dispatcher", "陈调度（演示）", "staff", ("dispatcher",), "LDZ", phone="13812340002"),
    DemoAccount("cgj_admin", "王城管（演示）", "staff", ("dept_admin",), "CGJ", phone="13812340003"),
    DemoAccount("cgj_handler", "赵经办（演示）", "staff", ("handler",), "CGJ", phone="13812340004"),
    DemoAccount("cgj_zfdd_handler", "孙执法（演示）", "staff", ("handler",), "CGJ_ZFDD"),
    DemoAccount("hbj_admin", "钱环保（演示）", "staff", ("dept_admin",), "HBJ"),
    DemoAccount("hbj_steward", "吴监测（演示）", "staff", ("data_steward",), "HBJ"),
    DemoAccount("spj_handler", "郑审批（演示）", "staff", ("handler",), "SPJ"),
    DemoAccount(
        "zhangsan", "张三", "citizen", ("citizen",), id_number=demo_id_number("19900307", 123), phone="13912345678"
    ),
    DemoAccount(
        "lisi", "李四", "citizen", ("citizen",), id_number=demo_id_number("19951122", 246), phone="13787654321"
    ),
    DemoAccount(
        "yushan_tech",
        "常熟虞山科技有限公司（演示）",
        "enterprise",
        ("enterprise",),
        credit_code=demo_credit_code("MA1YE2026"),
    ),
]


def load_all(runtime: Runtime, *, console: Console | None = None) -> dict[str, dict[str, int]]:
    """The organisation first, then each domain's demo data in dependency order."""
    from yiwang import domains

    if not runtime.settings.demo:
        raise DemoModeRequired()
    results = {"org": load(runtime, console=console)}
    for plugin in domains.plugins():
        if plugin.demo:
            results[plugin.name] = plugin.demo(runtime, console)
            if console:
                console.print(f"[green]{plugin.name} 演示数据[/]: {results[plugin.name]}")
    return results


DEMO_CLIENT_SCOPES = ("org.department.read", "org.division.read", "exchange.data.read", "exchange.service.call")


def _registered(scopes: tuple[str, ...]) -> list[str]:
    """The scopes whose domains this process plugs in: a platform built with some domains only (the
    sensing benchmarks) still loads the demo client, without the scopes it cannot know."""
    return [scope for scope in scopes if scope in registry.permissions]


_LOADER = Principal(
    user_id=None,
    username="system:demo",
    display_name="演示数据装载",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
)


def load_reference(runtime: Runtime, *, demo: bool = False) -> dict[str, int]:
    """Idempotently load roles, divisions and departments (with demo=True, also the demo units)."""
    counts = {}
    with runtime.db.unit_of_work() as db:
        service.sync_roles(db)
        counts["divisions"] = service.upsert_divisions(db, rows=division_rows(demo=demo))
        counts["departments"] = service.upsert_departments(db, rows=department_rows(demo=demo))
        audit.record(
            db,
            actor=_LOADER,
            action="org.reference.load",
            target_type="organisation",
            target_id=CITY_CODE,
            details=counts | {"demo": demo},
        )
    return counts


def has_demo_data(runtime: Runtime) -> bool:
    """True when the database holds the demo (its client with the published secret is the marker)."""
    with runtime.db.unit_of_work() as db:
        return service.find_account(db, username=DEMO_CLIENT_ID) is not None


def load(runtime: Runtime, *, console: Console | None = None) -> dict[str, int]:
    """Idempotently load divisions, departments, roles and demo accounts; returns counts."""
    if not runtime.settings.demo:
        raise DemoModeRequired()
    counts = load_reference(runtime, demo=True) | {"accounts": 0}
    digest = hash_password(DEMO_PASSWORD)  # one published password, hashed once
    for account in DEMO_ACCOUNTS:
        with runtime.db.unit_of_work() as db:
            if service.find_account(db, username=account.username) is not None:
                continue
            created = service.create_account(
                db,
                actor=_LOADER,
                cipher=runtime.cipher,
                password_hash=digest,
                data=UserCreate(
                    username=account.username,
                    kind=account.kind,
                    display_name=account.display_name,
                    password=DEMO_PASSWORD,
                    department_code=account.department,
                    roles=list(account.roles),
                    id_number=account.id_number,
                    phone=account.phone,
                    credit_code=account.credit_code,
                ),
            )
            if mfa.role_requires(db, user_id=created.id):
                mfa.install_totp(db, actor=_LOADER, user_id=created.id, secret=DEMO_TOTP_SECRET, cipher=runtime.cipher)
            counts["accounts"] += 1
    with runtime.db.unit_of_work() as db:
        if service.find_account(db, username=DEMO_CLIENT_ID) is None:
            service.create_account(
                db,
                actor=_LOADER,
                cipher=runtime.cipher,
                enforce_password_policy=False,
                data=UserCreate(
                    username=DEMO_CLIENT_ID,
                    kind="system",
                    display_name="演示：部门共享交换客户端",
                    password=DEMO_CLIENT_SECRET,
                    department_code="DSJ",
                    scopes=_registered(DEMO_CLIENT_SCOPES),
                ),
            )
            counts["accounts"] += 1
    if console:
        console.print(f"[green]演示数据已装载[/]: {counts}")
    return counts


class DemoModeRequired(RuntimeError):
    """The demo's accounts have published passwords: they exist only in an explicit demo mode."""

    def __init__(self) -> None:
        super().__init__("演示数据含公开的密码，只能在演示模式下装载：设置 YIWANG_DEMO=1 或使用 yiwang serve --demo")
