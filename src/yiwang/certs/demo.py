"""Demo certificate types. Ministry credit codes are demo values (GB 32100-valid, not the real ones)."""

from typing import Any

from yiwang.certs import service
from yiwang.certs.schemas import CertificateTypeCreate
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal

# (ministry, ministry key, 3-digit number, name, holder kind, validity years, high frequency, the Changshu
# department that issues it)
TYPES = [
    ("公安部", "GAB", "001", "居民身份证", "citizen", 20, True, "GAJ"),
    ("公安部", "GAB", "002", "居民户口簿", "citizen", None, True, "GAJ"),
    ("公安部", "GAB", "010", "印章备案证明", "enterprise", None, False, "GAJ"),
    ("国家卫生健康委员会", "WJW", "001", "出生医学证明", "citizen", None, True, "WJW"),
    ("国家卫生健康委员会", "WJW", "002", "居民死亡医学证明", "citizen", None, False, "WJW"),
    ("民政部", "MZB", "001", "结婚证", "citizen", None, True, "MZJ"),
    ("民政部", "MZB", "005", "遗体火化证明", "citizen", None, False, "MZJ"),
    ("国家市场监督管理总局", "SJZJ", "001", "营业执照", "enterprise", None, True, "SPJ"),
    ("国家市场监督管理总局", "SJZJ", "002", "食品经营许可证", "enterprise", 5, True, "SJJ"),
    ("住房和城乡建设部", "ZJB", "001", "城镇污水排入排水管网许可证", "enterprise", 5, False, "SWJ"),
    ("住房和城乡建设部", "ZJB", "002", "户外广告设施设置许可", "enterprise", 3, False, "CGJ"),
    ("住房和城乡建设部", "ZJB", "003", "住房公积金单位登记证明", "enterprise", None, False, "GJJ"),
    ("自然资源部", "ZRB", "001", "不动产权证书", "any", None, True, "ZGJ"),
    ("人力资源和社会保障部", "RSB", "001", "社会保障卡", "citizen", 10, True, "RSJ"),
    ("人力资源和社会保障部", "RSB", "002", "就业创业证", "citizen", None, True, "RSJ"),
    ("人力资源和社会保障部", "RSB", "003", "社会保险登记证明", "enterprise", None, False, "RSJ"),
    ("国家医疗保障局", "YBJ", "001", "医疗保险参保凭证", "citizen", None, True, "YBJ"),
    ("国家税务总局", "SWZJ", "001", "税务登记确认书", "enterprise", None, False, "SPJ"),
    ("中国人民银行", "RMYH", "001", "基本存款账户信息", "enterprise", None, False, "SPJ"),
]


def type_code(ministry_key: str, number: str) -> str:
    """Demo type code: a demo ministry credit code (11 + 100000 + key) and a 3-digit number."""
    return service.demo_credit_code("11100000", ministry_key) + number


def type_codes_by_name() -> dict[str, str]:
    return {name: type_code(key, number) for _m, key, number, name, *_rest in TYPES}


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    actor = Principal(
        user_id=None,
        username="system:demo",
        display_name="演示数据装载",
        kind="system",
        permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
    )
    created = 0
    with runtime.db.unit_of_work() as db:
        existing = {t.code for t in service.list_types(db)}
        for ministry, key, number, name, holder, years, high, issuer in TYPES:
            code = type_code(key, number)
            if code in existing:
                continue
            service.create_type(
                db,
                actor=actor,
                data=CertificateTypeCreate(
                    code=code,
                    name=name,
                    ministry=ministry,
                    holder_kind=holder,
                    validity_years=years,
                    high_frequency=high,
                    issuer_department_code=issuer,
                ),
            )
            created += 1
    return {"certificate_types": created}
