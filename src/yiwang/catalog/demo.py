"""Demo catalog (演示数据): about 1,200 entries across Changshu's departments ("full"), a handful ("small").

Names, items and attributes are generated from department themes; the featured entries below get
mounted data in governance's demo. Everything here is demo data.
"""

import random
from typing import Any

from yiwang.catalog import service
from yiwang.catalog.schemas import EntryCreate, InfoItem
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS, registry
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal

FULL_SIZE = 1200


def demo_actor() -> Principal:
    return Principal(
        user_id=None,
        username="system:demo",
        display_name="演示数据装载",
        kind="system",
        permissions=frozenset(registry.permissions) | {SCOPE_ALL_DEPARTMENTS},
    )


def _item(name: str, label: str, **extra: Any) -> InfoItem:
    return InfoItem(name=name, label=label, **extra)


PERSON_ITEMS = [
    _item("person_id", "人员编号", required=True, is_key=True, length=12),
    _item("name", "姓名", required=True, masking="name", sensitivity=3, length=30),
    _item("id_number", "公民身份号码", required=True, validator="id_number", masking="id_number", sensitivity=4),
    _item("gender", "性别", validator="enum", validator_arg="男|女"),
    _item("birth_date", "出生日期", data_type="date", masking="age_band", sensitivity=3),
    _item("mobile", "手机号码", validator="mobile", masking="mobile", sensitivity=3),
    _item("division_code", "所属村（社区）代码", validator="division_code"),
    _item("address", "居住地址", masking="address", sensitivity=3, length=100),
    _item("household_size", "户内人数", data_type="integer", validator="range", validator_arg="1,20"),
]
ENTERPRISE_ITEMS = [
    _item("credit_code", "统一社会信用代码", required=True, is_key=True, validator="credit_code"),
    _item("name", "企业名称", required=True, length=100),
    _item("legal_rep", "法定代表人", masking="name", sensitivity=2),
    _item("reg_capital", "注册资本（万元）", data_type="number", validator="range", validator_arg="0,"),
    _item("established", "成立日期", data_type="date"),
    _item(
        "industry",
        "行业门类",
        validator="enum",
        validator_arg="制造业|批发和零售业|建筑业|信息技术服务业|住宿和餐饮业|其他",
    ),
    _item("division_code", "登记所在地代码", validator="division_code"),
    _item("status", "登记状态", validator="enum", validator_arg="存续|在业|注销|吊销"),
    _item("email", "联系邮箱", validator="email", masking="email", sensitivity=2),
]
AIR_ITEMS = [
    _item("station", "监测站点", required=True, is_key=True),
    _item("observed_at", "监测时间", data_type="datetime", required=True, is_key=True),
    _item("pm25", "PM2.5(μg/m³)", data_type="number", validator="range", validator_arg="0,1000"),
    _item("pm10", "PM10(μg/m³)", data_type="number", validator="range", validator_arg="0,2000"),
    _item("no2", "NO2(μg/m³)", data_type="number", validator="range", validator_arg="0,3840"),
    _item("o3", "O3(μg/m³)", data_type="number", validator="range", validator_arg="0,1200"),
    _item("aqi", "空气质量指数", data_type="integer", validator="range", validator_arg="0,500"),
]
WATER_ITEMS = [
    _item("section", "监测断面", required=True, is_key=True),
    _item("sample_date", "采样日期", data_type="date", required=True, is_key=True),
    _item("ph", "pH", data_type="number", validator="range", validator_arg="0,14"),
    _item("dissolved_oxygen", "溶解氧(mg/L)", data_type="number", validator="range", validator_arg="0,20"),
    _item("codmn", "高锰酸盐指数(mg/L)", data_type="number", validator="range", validator_arg="0,100"),
    _item("ammonia", "氨氮(mg/L)", data_type="number", validator="range", validator_arg="0,50"),
    _item("water_class", "水质类别", validator="enum", validator_arg="I|II|III|IV|V|劣V"),
]
STATS_ITEMS = [
    _item("month", "统计月份", data_type="date", required=True, is_key=True),
    _item("service_item", "事项类别", required=True, is_key=True),
    _item("accepted", "受理件数", data_type="integer", validator="range", validator_arg="0,"),
    _item("completed", "办结件数", data_type="integer", validator="range", validator_arg="0,"),
    _item("on_time_rate", "按时办结率(%)", data_type="number", validator="range", validator_arg="0,100"),
    _item("satisfaction", "满意率(%)", data_type="number", validator="range", validator_arg="0,100"),
]

# (code, department, name, items, sharing, open, cycle, grade, category, subject, summary, tags)
FEATURED = [
    (
        "GAJ-00001",
        "GAJ",
        "常住人口基本信息",
        PERSON_ITEMS,
        "有条件共享",
        "不予开放",
        "每日",
        "4",
        "基础信息资源",
        "人口/户籍",
        "全市常住人口的身份、户籍与居住信息，人口基础库的权威来源。",
        ["人口", "户籍"],
    ),
    (
        "SJJ-00001",
        "SJJ",
        "市场主体登记信息",
        ENTERPRISE_ITEMS,
        "无条件共享",
        "无条件开放",
        "每日",
        "2",
        "基础信息资源",
        "法人/登记",
        "全市企业、个体工商户等市场主体的登记信息，法人基础库的权威来源。",
        ["法人", "企业", "信用"],
    ),
    (
        "HBJ-00001",
        "HBJ",
        "环境空气质量监测数据",
        AIR_ITEMS,
        "无条件共享",
        "无条件开放",
        "实时",
        "1",
        "主题信息资源",
        "生态环境/大气",
        "17个环境空气自动监测站逐小时的颗粒物、二氧化氮、臭氧浓度与空气质量指数。",
        ["空气质量", "环境"],
    ),
    (
        "HBJ-00002",
        "HBJ",
        "地表水水质自动监测数据",
        WATER_ITEMS,
        "无条件共享",
        "无条件开放",
        "每日",
        "1",
        "主题信息资源",
        "生态环境/水",
        "75个地表水自动监测站的每日水质指标与水质类别（GB 3838-2002）。",
        ["水质", "环境"],
    ),
    (
        "SPJ-00001",
        "SPJ",
        "政务服务办件统计",
        STATS_ITEMS,
        "无条件共享",
        "无条件开放",
        "每月",
        "1",
        "主题信息资源",
        "政务服务/统计",
        "政务服务中心各类事项每月受理、办结、按时办结率与满意率。",
        ["政务服务", "统计"],
    ),
]

THEMES = {
    "DSJ": ["政务云资源", "电子政务外网", "数据共享", "公共数据开放", "信息化项目"],
    "FGW": ["重点项目", "价格监测", "能源消费", "社会信用", "投资项目"],
    "GXJ": ["规上工业企业", "工业用地", "技术改造", "专精特新企业", "工业能耗"],
    "GAJ": ["户籍人口", "流动人口", "机动车", "交通违法", "治安案件", "出入境证件"],
    "RSJ": ["社会保险参保", "就业登记", "职业技能培训", "人才引进", "劳动保障监察"],
    "NYJ": ["农业经营主体", "耕地保护", "农产品质量", "畜禽养殖", "农机"],
    "ZGJ": ["不动产登记", "国土空间规划", "建设用地", "地质灾害", "测绘成果"],
    "ZJJ": ["建筑工地", "房地产项目", "物业小区", "燃气管网", "建筑企业资质"],
    "SJJ": ["市场主体", "食品经营许可", "特种设备", "产品质量抽检", "消费投诉"],
    "CGJ": ["市容环境", "户外广告", "渣土运输", "城市照明", "环卫设施"],
    "HBJ": ["排污许可", "污染源", "环境执法", "辐射安全", "固体废物"],
    "SWJ": ["河湖水位", "闸站运行", "供水水质", "排水管网", "水利工程"],
    "YJJ": ["危险化学品企业", "安全生产检查", "应急物资", "应急预案", "自然灾害"],
    "WTL": ["文物保护单位", "旅游景区", "公共文化设施", "体育场馆", "文化市场"],
    "JTJ": ["公交线路", "道路运输企业", "公路桥梁", "出租汽车", "港口航道"],
    "WJW": ["医疗机构", "执业医师", "疫苗接种", "出生医学证明", "公共卫生"],
    "SPJ": ["政务服务事项", "行政许可", "中介服务", "好差评", "一件事"],
    "HSJ": ["船舶登记", "船员", "通航安全", "水上交通事故", "危险品运输船舶"],
    "LDZ": ["城市事件", "网格员", "12345热线工单", "联动处置", "督办"],
    "JYJ": ["中小学校", "学籍", "校外培训机构", "教师", "招生"],
    "XSM": ["新市民积分", "居住登记", "随迁子女入学", "新市民服务", "租赁住房"],
    "YBJ": ["医保参保", "定点医药机构", "医保结算", "医保基金监管", "长期护理保险"],
    "MZJ": ["社会组织", "养老机构", "低保救助", "婚姻登记", "地名"],
    "GJJ": ["公积金缴存", "公积金贷款", "缴存单位", "公积金提取", "租房提取"],
}
KINDS = [
    ("登记信息", "登记"),
    ("基本信息", "基本"),
    ("统计数据", "统计"),
    ("监测数据", "监测"),
    ("许可信息", "许可"),
    ("行政处罚信息", "处罚"),
    ("检查记录", "检查"),
    ("年度报告", "年报"),
    ("名录", "名录"),
    ("台账", "台账"),
    ("变更记录", "变更"),
    ("信用评价", "信用"),
]
LICENCES = ["CC-BY-4.0", "常熟市公共数据开放许可协议", ""]


def _generated_items(rng: random.Random, kind: str) -> list[InfoItem]:
    items = [_item("record_id", "记录编号", required=True, is_key=True, length=32)]
    if kind in ("登记", "基本", "名录", "许可", "处罚", "信用", "变更"):
        items += [
            _item("subject_name", "主体名称", required=True, length=100),
            _item("credit_code", "统一社会信用代码", validator="credit_code"),
            _item("division_code", "所在地代码", validator="division_code"),
        ]
    if kind in ("处罚", "检查"):
        items += [_item("handled_on", "办理日期", data_type="date"), _item("result", "结果", length=200)]
    if kind in ("统计", "年报", "台账"):
        items += [_item("period", "统计期", data_type="date"), _item("value", "数值", data_type="number")]
    if kind == "监测":
        items += [_item("observed_at", "监测时间", data_type="datetime"), _item("reading", "读数", data_type="number")]
    if rng.random() < 0.25:
        items += [
            _item("contact", "联系人", masking="name", sensitivity=3),
            _item("contact_mobile", "联系电话", validator="mobile", masking="mobile", sensitivity=3),
        ]
    return items


def entries(size: str) -> list[tuple[str, EntryCreate]]:
    """The demo entries as (code, data), featured ones first."""
    found = [
        (
            code,
            EntryCreate(
                name=name,
                department_code=dept,
                items=items,
                sharing_type=sharing,
                open_type=open_type,
                update_cycle=cycle,
                data_grade=grade,
                category=category,
                subject=subject,
                summary=summary,
                tags=tags,
                licence="CC-BY-4.0" if open_type != "不予开放" else "",
                format="数据库",
                sharing_condition="用于法定职责范围内的业务办理" if sharing == "有条件共享" else "",
            ),
        )
        for code, dept, name, items, sharing, open_type, cycle, grade, category, subject, summary, tags in FEATURED
    ]
    numbers = {c.rsplit("-", 1)[0]: int(c.rsplit("-", 1)[1]) for c, _ in found}
    rng = random.Random(20261128)
    departments = list(THEMES)
    target = FULL_SIZE if size == "full" else 12
    per_department = -(-(target - len(found)) // len(departments))
    for department in departments:
        combos = [(t, k) for t in THEMES[department] for k in KINDS]
        rng.shuffle(combos)
        # Each department's service statistics, mounted and opened by the governance and opendata demos.
        if size == "full" and department != "SPJ":
            combos.insert(0, ("政务服务", ("办件统计", "统计")))
        for theme, (kind_name, kind) in combos[:per_department]:
            if len(found) >= target:
                break
            number = numbers.get(department, 0) + 1
            numbers[department] = number
            name = f"{theme}{kind_name}"
            grade = rng.choices(["1", "2", "3", "4", "重要", "核心"], [30, 35, 20, 10, 4, 1])[0]
            sharing = rng.choices(["无条件共享", "有条件共享", "不予共享"], [50, 42, 8])[0]
            open_type = rng.choices(["无条件开放", "有条件开放", "不予开放"], [28, 8, 64])[0]
            if grade in ("重要", "核心"):
                open_type, sharing = "不予开放", "有条件共享" if sharing == "无条件共享" else sharing
            if kind_name == "办件统计":
                items, open_type, sharing, grade, cycle = STATS_ITEMS, "无条件开放", "无条件共享", "1", "每月"
            else:
                items = _generated_items(rng, kind)
                cycle = rng.choice(["实时", "每日", "每周", "每月", "每月", "每季度", "每年"])
            summary = f"{theme}相关的{kind_name}，由本部门业务系统产生，按{cycle}更新。（演示数据）"
            found.append(
                (
                    f"{department}-{number:05d}",
                    EntryCreate(
                        name=name,
                        department_code=department,
                        items=items,
                        sharing_type=sharing,
                        open_type=open_type,
                        update_cycle=cycle,
                        data_grade=grade,
                        category="部门信息资源" if kind not in ("登记", "基本") else "基础信息资源",
                        subject=theme,
                        summary=summary,
                        tags=[theme, kind_name[:4]],
                        licence=rng.choice(LICENCES) if open_type != "不予开放" else "",
                        format=rng.choice(["数据库", "数据库", "电子表格", "接口", "文件"]),
                        sharing_condition="用于法定职责范围内的业务办理" if sharing == "有条件共享" else "",
                    ),
                )
            )
    return found


def load(runtime: Runtime, console: Any = None) -> dict[str, int]:
    """Idempotently load the demo catalog, published."""
    with runtime.db.unit_of_work() as db:
        created = service.bulk_load(db, actor=demo_actor(), entries=entries(runtime.settings.demo_size), publish=True)
    return {"entries": created}
