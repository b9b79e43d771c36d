"""Changshu demo data for 一网通办 (labelled demo): ~150 items, the six named bundles, citizens and
enterprises, applications in every state, certificates issued through completed applications.

Item codes, legal-basis texts and every person and company are demo data. Department codes come
from the reference list (departments.csv).
"""

import random
from datetime import timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import select

from yiwang.certs import service as certs_service
from yiwang.certs.permissions import CERT_ISSUE
from yiwang.core import workdays
from yiwang.core.identifiers import credit_code_check_char, id_number_check_char
from yiwang.core.passwords import hash_password
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.onestop import catalog, service
from yiwang.onestop import permissions as p
from yiwang.onestop.models import Application, Task
from yiwang.onestop.schemas import (
    ApplicationCreate,
    BundleCreate,
    DecisionInput,
    FormField,
    ItemCreate,
    MaterialDef,
    RatingCreate,
    SupplementEntry,
    SupplementRequest,
    SupplementSubmit,
)
from yiwang.org import service as org_service
from yiwang.org.schemas import UserCreate

CITY = "320581"
DEMO_PASSWORD = "changshu2026"  # noqa: S105  (published demo login)
SYSTEM = Principal(
    user_id=None,
    username="system:demo",
    display_name="演示数据装载",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS, CERT_ISSUE}),
)
CLERK = Principal(
    user_id=None,
    username="system:demo-clerk",
    display_name="演示经办人",
    kind="staff",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS, p.TASK_HANDLE, CERT_ISSUE}),
)

F_NAME = FormField(name="applicant_name", label="申请人姓名", prefill="display_name", max_length=50, personal="name")
F_ID = FormField(name="applicant_id_number", label="身份证号码", type="id_number", prefill="id_number")
F_PHONE = FormField(name="contact_phone", label="联系电话", type="phone", prefill="phone", required=False)
F_ADDRESS = FormField(name="address", label="联系地址", max_length=200, help="常熟市内详细地址", personal="address")
F_COMPANY = FormField(name="company_name", label="企业名称", max_length=100)
F_CREDIT = FormField(
    name="credit_code", label="统一社会信用代码", type="credit_code", prefill="credit_code", required=False
)


def _m(key: str, name: str, source: str = "upload", **extra: Any) -> MaterialDef:
    return MaterialDef(key=key, name=name, source=source, **extra)


def _bundle_items(types: dict[str, str]) -> list[tuple[str, ItemCreate]]:
    """The items behind the six named bundles, with realistic materials and sources."""
    idc = _m("id_card", "申请人居民身份证", "certificate", cert_type_code=types["居民身份证"])
    licence = _m("business_licence", "营业执照", "bundle_item", produced_by=f"{CITY}-SPJ-001")
    household = _m("household_register", "居民户口簿", "certificate", cert_type_code=types["居民户口簿"])
    marriage = _m("marriage_cert", "结婚证", "certificate", cert_type_code=types["结婚证"], required=False)
    property_cert = _m("property_cert", "不动产权证书", "certificate", cert_type_code=types["不动产权证书"])
    birth = _m("birth_medical_cert", "出生医学证明", "bundle_item", produced_by=f"{CITY}-WJW-001")
    death = _m("death_medical_cert", "居民死亡医学证明", "bundle_item", produced_by=f"{CITY}-WJW-002")
    contract = _m("sale_contract", "存量房买卖合同", max_pages=30)
    labour = _m("labour_contract", "劳动合同", max_pages=20)
    baby = FormField(name="baby_name", label="新生儿姓名", max_length=20, personal="name")
    baby_birth = FormField(name="baby_birth_date", label="出生日期", type="date")
    deceased = FormField(name="deceased_name", label="逝者姓名", max_length=20, personal="name")
    death_date = FormField(name="death_date", label="死亡日期", type="date")
    employer = FormField(name="employer", label="用人单位", max_length=100)
    house = FormField(name="property_address", label="房屋坐落", max_length=200, personal="address")

    def item(
        code: str,
        dept: str,
        name: str,
        *,
        produces: str | None = None,
        days: int = 5,
        visits: int = 0,
        materials: list[MaterialDef],
        form: list[FormField],
        audience: str = "citizen",
        life: str | None = None,
        ent: str | None = None,
        category: str = "行政许可",
    ) -> tuple[str, ItemCreate]:
        return code, ItemCreate(
            code=f"{CITY}-{code}",
            basic_code=code,
            department_code=dept,
            name=name,
            category=category,
            audience=audience,
            life_event=life,
            enterprise_event=ent,
            legal_days=max(days * 2, 20),
            promised_days=days,
            visits=visits,
            legal_basis=f"（演示）《{name}办理规定》",
            conditions="符合法定条件的申请人",
            produces_type_code=types.get(produces or ""),
            entry_point=True,
            online=True,
            online_depth=4,
            form=form,
            materials=materials,
        )

    ent_form = [F_NAME, F_ID, F_PHONE, F_COMPANY]
    return [
        item(
            "SPJ-001",
            "SPJ",
            "企业设立登记",
            produces="营业执照",
            days=1,
            audience="both",
            ent="企业开办",
            form=[
                *ent_form,
                FormField(name="registered_capital", label="注册资本（万元）", type="number", min=0),
                FormField(name="business_scope", label="经营范围", type="textarea", max_length=500),
                F_ADDRESS,
            ],
            materials=[
                idc,
                _m("company_charter", "公司章程"),
                _m("premises_proof", "住所使用证明", "database", database="real_estate"),
            ],
        ),
        item(
            "GAJ-001",
            "GAJ",
            "公章刻制备案",
            produces="印章备案证明",
            days=1,
            audience="both",
            ent="企业开办",
            form=ent_form,
            materials=[licence, idc, _m("seal_sample", "印章印模", required=False)],
        ),
        item(
            "SPJ-002",
            "SPJ",
            "新办纳税人涉税事项",
            produces="税务登记确认书",
            days=1,
            audience="both",
            ent="企业开办",
            category="公共服务",
            form=[*ent_form, F_ADDRESS],
            materials=[licence, idc],
        ),
        item(
            "RSJ-001",
            "RSJ",
            "单位社会保险登记",
            produces="社会保险登记证明",
            days=1,
            audience="both",
            ent="企业开办",
            category="公共服务",
            form=ent_form,
            materials=[licence, idc],
        ),
        item(
            "GJJ-001",
            "GJJ",
            "住房公积金单位缴存登记",
            produces="住房公积金单位登记证明",
            days=1,
            audience="both",
            ent="企业开办",
            category="公共服务",
            form=ent_form,
            materials=[licence, idc, _m("staff_list", "职工名册")],
        ),
        item(
            "SPJ-003",
            "SPJ",
            "银行基本存款账户开立（政务服务中心代办）",
            produces="基本存款账户信息",
            days=1,
            audience="both",
            ent="企业开办",
            category="公共服务",
            form=ent_form,
            materials=[licence, idc],
        ),
        item(
            "WJW-001",
            "WJW",
            "出生医学证明首次签发",
            produces="出生医学证明",
            days=3,
            life="出生",
            form=[F_NAME, F_ID, F_PHONE, baby, baby_birth],
            materials=[idc, marriage, _m("delivery_record", "医院分娩记录")],
        ),
        item(
            "GAJ-002",
            "GAJ",
            "出生登记（户口登记）",
            produces="居民户口簿",
            days=5,
            life="出生",
            form=[F_NAME, F_ID, baby, baby_birth, F_ADDRESS],
            materials=[birth, idc, household, marriage],
        ),
        item(
            "YBJ-001",
            "YBJ",
            "城乡居民医保参保登记",
            produces="医疗保险参保凭证",
            days=3,
            life="出生",
            category="公共服务",
            form=[F_NAME, F_ID, baby],
            materials=[birth, idc],
        ),
        item(
            "RSJ-002",
            "RSJ",
            "社会保障卡申领",
            produces="社会保障卡",
            days=10,
            life="出生",
            category="公共服务",
            form=[F_NAME, F_ID, baby, F_PHONE],
            materials=[birth, idc, _m("photo", "本人近期证件照")],
        ),
        item(
            "SJJ-001",
            "SJJ",
            "食品经营许可",
            produces="食品经营许可证",
            days=10,
            visits=1,
            audience="both",
            ent="开办餐饮",
            form=[*ent_form, F_ADDRESS],
            materials=[licence, idc, _m("layout_plan", "经营场所布局图"), _m("food_safety_rules", "食品安全管理制度")],
        ),
        item(
            "SWJ-001",
            "SWJ",
            "城镇污水排入排水管网许可",
            produces="城镇污水排入排水管网许可证",
            days=7,
            audience="both",
            ent="开办餐饮",
            form=[*ent_form, F_ADDRESS],
            materials=[licence, _m("drainage_plan", "排水设施图")],
        ),
        item(
            "CGJ-001",
            "CGJ",
            "户外广告设施设置审批（店招标牌）",
            produces="户外广告设施设置许可",
            days=5,
            audience="both",
            ent="开办餐饮",
            form=[*ent_form, F_ADDRESS],
            materials=[licence, _m("sign_design", "店招设计效果图"), _m("site_photo", "现场照片", required=False)],
        ),
        item(
            "ZGJ-001",
            "ZGJ",
            "存量房转移登记",
            produces="不动产权证书",
            days=3,
            life="住房",
            form=[F_NAME, F_ID, F_PHONE, house],
            materials=[idc, property_cert, contract, marriage],
        ),
        item(
            "SPJ-004",
            "SPJ",
            "存量房交易契税申报",
            days=1,
            life="住房",
            category="公共服务",
            form=[F_NAME, F_ID, house],
            materials=[idc, property_cert, contract],
        ),
        item(
            "ZJJ-001",
            "ZJJ",
            "存量房买卖合同网签备案",
            days=1,
            life="住房",
            category="公共服务",
            form=[F_NAME, F_ID, house],
            materials=[idc, property_cert, contract],
        ),
        item(
            "SWJ-002",
            "SWJ",
            "用水户名变更",
            days=2,
            life="住房",
            category="公共服务",
            form=[F_NAME, F_ID, F_PHONE, house],
            materials=[idc, _m("new_property_cert", "新不动产权证书", "bundle_item", produced_by=f"{CITY}-ZGJ-001")],
        ),
        item(
            "RSJ-003",
            "RSJ",
            "就业登记",
            produces="就业创业证",
            days=3,
            life="就业",
            category="公共服务",
            form=[F_NAME, F_ID, F_PHONE, employer],
            materials=[idc, labour],
        ),
        item(
            "RSJ-004",
            "RSJ",
            "职工社会保险参保登记",
            days=3,
            life="就业",
            category="公共服务",
            form=[F_NAME, F_ID, employer],
            materials=[idc, labour],
        ),
        item(
            "GJJ-002",
            "GJJ",
            "个人住房公积金账户设立",
            days=2,
            life="就业",
            category="公共服务",
            form=[F_NAME, F_ID, employer],
            materials=[idc, labour],
        ),
        item(
            "YBJ-002",
            "YBJ",
            "职工基本医疗保险参保登记",
            produces="医疗保险参保凭证",
            days=3,
            life="就业",
            category="公共服务",
            form=[F_NAME, F_ID, employer],
            materials=[idc, labour],
        ),
        item(
            "WJW-002",
            "WJW",
            "居民死亡医学证明签发",
            produces="居民死亡医学证明",
            days=1,
            life="身后事",
            category="行政确认",
            form=[F_NAME, F_ID, F_PHONE, deceased, death_date],
            materials=[idc, _m("deceased_id", "逝者居民身份证")],
        ),
        item(
            "MZJ-001",
            "MZJ",
            "遗体火化",
            produces="遗体火化证明",
            days=1,
            life="身后事",
            category="公共服务",
            form=[F_NAME, F_ID, deceased, death_date],
            materials=[death, idc],
        ),
        item(
            "GAJ-003",
            "GAJ",
            "死亡人员户口注销",
            days=1,
            life="身后事",
            category="行政确认",
            form=[F_NAME, F_ID, deceased],
            materials=[death, idc, household],
        ),
        item(
            "RSJ-005",
            "RSJ",
            "丧葬补助金和抚恤金申领",
            days=10,
            life="身后事",
            category="行政给付",
            form=[F_NAME, F_ID, deceased, F_PHONE],
            materials=[
                death,
                _m("cremation_cert", "遗体火化证明", "bundle_item", produced_by=f"{CITY}-MZJ-001"),
                _m("bank_card", "申领人银行卡"),
            ],
        ),
        item(
            "YBJ-003",
            "YBJ",
            "医保关系注销",
            days=3,
            life="身后事",
            category="公共服务",
            form=[F_NAME, F_ID, deceased],
            materials=[death, idc],
        ),
        item(
            "GJJ-003",
            "GJJ",
            "住房公积金提取（职工死亡）",
            days=3,
            life="身后事",
            category="行政给付",
            form=[F_NAME, F_ID, deceased, F_PHONE],
            materials=[death, idc, household],
        ),
    ]


BUNDLES = [
    (
        "KBQY",
        "开办企业",
        "企业设立、公章刻制、涉税事项、社保登记、公积金登记、银行开户一次办结。",
        "both",
        "SPJ",
        ["SPJ-001", "GAJ-001", "SPJ-002", "RSJ-001", "GJJ-001", "SPJ-003"],
    ),
    (
        "XSECS",
        "新生儿出生",
        "出生医学证明、户口登记、医保参保、社会保障卡一次办理。",
        "citizen",
        "WJW",
        ["WJW-001", "GAJ-002", "YBJ-001", "RSJ-002"],
    ),
    (
        "KCG",
        "开餐馆",
        "营业执照、食品经营许可、排水许可、店招标牌审批一次办理。",
        "both",
        "SPJ",
        ["SPJ-001", "SJJ-001", "SWJ-001", "CGJ-001"],
    ),
    (
        "ESFZY",
        "二手房转移登记",
        "不动产转移登记、契税申报、合同备案、水电过户一次办理。",
        "citizen",
        "ZGJ",
        ["ZGJ-001", "SPJ-004", "ZJJ-001", "SWJ-002"],
    ),
    (
        "JYDJ",
        "就业登记",
        "就业登记、社保参保、公积金开户、医保参保一次办理。",
        "citizen",
        "RSJ",
        ["RSJ-003", "RSJ-004", "GJJ-002", "YBJ-002"],
    ),
    (
        "SHS",
        "身后事",
        "死亡证明、火化、户口注销、丧葬待遇、医保注销、公积金提取一次办理。",
        "citizen",
        "MZJ",
        ["WJW-002", "MZJ-001", "GAJ-003", "RSJ-005", "YBJ-003", "GJJ-003"],
    ),
]

# Further single items per department: (name, category, audience, life/enterprise event, promised days).
SINGLE_ITEMS: dict[str, list[tuple[str, str, str, str | None, int]]] = {
    "FGW": [
        ("企业投资项目备案", "其他行政权力", "enterprise", "项目投资", 3),
        ("固定资产投资项目节能审查", "行政许可", "enterprise", "项目投资", 15),
        ("粮食收购资格备案", "其他行政权力", "enterprise", "经营许可", 5),
        ("价格认定", "公共服务", "both", None, 10),
    ],
    "GXJ": [
        ("技术改造项目备案", "其他行政权力", "enterprise", "项目投资", 5),
        ("工业企业技术中心认定", "行政确认", "enterprise", "科技创新", 20),
        ("无线电台（站）设置审批", "行政许可", "enterprise", "经营许可", 15),
        ("重点用能单位能源利用状况报告", "公共服务", "enterprise", None, 10),
        ("专精特新中小企业申报", "公共服务", "enterprise", "科技创新", 20),
    ],
    "GAJ": [
        ("居民身份证换领", "行政确认", "citizen", "户籍证件", 10),
        ("居住证申领", "公共服务", "citizen", "户籍证件", 7),
        ("无犯罪记录证明", "公共服务", "citizen", "就业", 3),
        ("大型群众性活动安全许可", "行政许可", "enterprise", "经营许可", 7),
        ("机动车驾驶证补证", "公共服务", "citizen", "交通出行", 1),
        ("户口迁入（投靠）", "行政确认", "citizen", "户籍证件", 10),
        ("临时身份证明开具", "公共服务", "citizen", "户籍证件", 1),
        ("机动车登记", "行政确认", "both", "交通出行", 1),
        ("犬只登记", "公共服务", "citizen", None, 5),
    ],
    "RSJ": [
        ("失业保险金申领", "行政给付", "citizen", "就业", 10),
        ("职业技能等级证书查询", "公共服务", "citizen", "就业", 1),
        ("劳务派遣经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("养老保险待遇申领", "行政给付", "citizen", "退休", 10),
        ("创业担保贷款申请", "公共服务", "both", "就业", 15),
        ("人力资源服务许可", "行政许可", "enterprise", "经营许可", 20),
        ("高校毕业生就业补贴申领", "行政给付", "citizen", "就业", 10),
    ],
    "NYJ": [
        ("农药经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("兽药经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("动物防疫条件合格证核发", "行政许可", "enterprise", "经营许可", 20),
        ("农村宅基地建房审批", "行政许可", "citizen", "住房", 20),
        ("农机购置补贴申领", "行政给付", "both", None, 15),
        ("渔业捕捞许可", "行政许可", "citizen", None, 20),
    ],
    "ZGJ": [
        ("不动产首次登记", "行政确认", "both", "住房", 5),
        ("不动产抵押登记", "行政确认", "both", "住房", 3),
        ("建设用地规划许可", "行政许可", "enterprise", "项目投资", 15),
        ("不动产登记资料查询", "公共服务", "both", "住房", 1),
        ("建设工程规划许可", "行政许可", "enterprise", "项目投资", 15),
        ("土地复垦方案审查", "其他行政权力", "enterprise", None, 20),
    ],
    "ZJJ": [
        ("建筑工程施工许可", "行政许可", "enterprise", "项目投资", 7),
        ("商品房预售许可", "行政许可", "enterprise", "项目投资", 10),
        ("燃气经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("建设工程竣工验收备案", "其他行政权力", "enterprise", "项目投资", 5),
        ("公共租赁住房申请", "公共服务", "citizen", "住房", 20),
        ("物业服务企业备案", "其他行政权力", "enterprise", None, 5),
    ],
    "SJJ": [
        ("个体工商户登记", "行政许可", "citizen", "企业开办", 1),
        ("企业变更登记", "行政许可", "enterprise", "企业变更", 1),
        ("企业注销登记", "行政许可", "enterprise", "企业注销", 1),
        ("药品零售经营许可", "行政许可", "enterprise", "经营许可", 15),
        ("特种设备使用登记", "行政许可", "enterprise", "经营许可", 5),
        ("计量器具型式批准", "行政许可", "enterprise", None, 20),
        ("医疗器械经营备案", "其他行政权力", "enterprise", "经营许可", 5),
        ("食品小作坊登记", "行政许可", "both", "开办餐饮", 10),
    ],
    "CGJ": [
        ("城市道路挖掘许可", "行政许可", "enterprise", "项目投资", 5),
        ("建筑垃圾处置核准", "行政许可", "enterprise", None, 10),
        ("临时占用城市道路审批", "行政许可", "both", None, 5),
        ("城市绿地临时占用审批", "行政许可", "enterprise", None, 10),
        ("生活垃圾经营性清扫收运许可", "行政许可", "enterprise", "经营许可", 20),
    ],
    "HBJ": [
        ("建设项目环境影响报告表审批", "行政许可", "enterprise", "项目投资", 15),
        ("排污许可证核发", "行政许可", "enterprise", "经营许可", 20),
        ("危险废物经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("建设项目环评登记表备案", "其他行政权力", "enterprise", "项目投资", 1),
        ("辐射安全许可", "行政许可", "enterprise", None, 20),
    ],
    "SWJ": [
        ("取水许可", "行政许可", "enterprise", "项目投资", 20),
        ("河道管理范围内建设项目审批", "行政许可", "enterprise", "项目投资", 20),
        ("新装用水申请", "公共服务", "both", "住房", 5),
        ("水土保持方案审批", "行政许可", "enterprise", "项目投资", 15),
    ],
    "YJJ": [
        ("危险化学品经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("烟花爆竹零售许可", "行政许可", "enterprise", "经营许可", 15),
        ("生产安全事故应急预案备案", "其他行政权力", "enterprise", None, 5),
        ("安全生产标准化评审", "公共服务", "enterprise", None, 20),
    ],
    "WTL": [
        ("营业性演出审批", "行政许可", "enterprise", "经营许可", 5),
        ("娱乐场所经营许可", "行政许可", "enterprise", "经营许可", 15),
        ("网吧经营许可", "行政许可", "enterprise", "经营许可", 15),
        ("旅行社设立许可", "行政许可", "enterprise", "经营许可", 20),
        ("高危险性体育项目经营许可", "行政许可", "enterprise", "经营许可", 20),
        ("文物保护单位修缮审批", "行政许可", "both", None, 20),
    ],
    "JTJ": [
        ("道路货物运输经营许可", "行政许可", "enterprise", "经营许可", 10),
        ("出租汽车驾驶员从业资格注册", "行政许可", "citizen", "就业", 5),
        ("超限运输车辆行驶公路许可", "行政许可", "enterprise", None, 5),
        ("机动车维修经营备案", "其他行政权力", "enterprise", "经营许可", 3),
        ("公路用地临时占用许可", "行政许可", "enterprise", None, 10),
    ],
    "WJW": [
        ("医疗机构执业登记", "行政许可", "enterprise", "经营许可", 20),
        ("公共场所卫生许可", "行政许可", "enterprise", "开办餐饮", 10),
        ("护士执业注册", "行政许可", "citizen", "就业", 10),
        ("医师执业注册", "行政许可", "citizen", "就业", 10),
        ("生育登记", "公共服务", "citizen", "出生", 1),
        ("母婴保健技术服务执业许可", "行政许可", "enterprise", None, 20),
    ],
    "SPJ": [
        ("道路运输从业人员从业资格", "行政许可", "citizen", "就业", 10),
        ("民办学校设立审批", "行政许可", "enterprise", None, 20),
        ("人防工程建设审批", "行政许可", "enterprise", "项目投资", 10),
        ("政府投资项目可研批复", "行政许可", "enterprise", "项目投资", 15),
    ],
    "HSJ": [
        ("船舶国籍登记", "行政确认", "enterprise", None, 7),
        ("船员适任证书核发", "行政许可", "citizen", "就业", 10),
        ("通航水域岸线安全使用许可", "行政许可", "enterprise", None, 20),
    ],
    "JYJ": [
        ("义务教育入学报名", "公共服务", "citizen", "教育", 5),
        ("教师资格认定", "行政许可", "citizen", "就业", 20),
        ("校外培训机构设立审批", "行政许可", "enterprise", None, 20),
        ("学生资助申请", "行政给付", "citizen", "教育", 15),
        ("转学申请", "公共服务", "citizen", "教育", 5),
        ("幼儿园入园报名", "公共服务", "citizen", "教育", 5),
    ],
    "XSM": [
        ("新市民积分申请", "公共服务", "citizen", "户籍证件", 10),
        ("新市民子女入学积分核定", "公共服务", "citizen", "教育", 10),
        ("居住登记", "公共服务", "citizen", "户籍证件", 3),
    ],
    "YBJ": [
        ("异地就医备案", "公共服务", "citizen", "医疗", 1),
        ("门诊慢特病待遇认定", "行政确认", "citizen", "医疗", 10),
        ("医疗费用零星报销", "行政给付", "citizen", "医疗", 10),
        ("定点医药机构申请", "公共服务", "enterprise", None, 20),
    ],
    "MZJ": [
        ("结婚登记", "行政确认", "citizen", "婚姻", 1),
        ("离婚登记", "行政确认", "citizen", "婚姻", 30),
        ("最低生活保障申请", "行政给付", "citizen", "社会救助", 20),
        ("社会团体成立登记", "行政许可", "enterprise", None, 20),
        ("养老机构备案", "其他行政权力", "enterprise", "经营许可", 5),
        ("残疾人两项补贴申领", "行政给付", "citizen", "社会救助", 15),
        ("临时救助申请", "行政给付", "citizen", "社会救助", 10),
        ("收养登记", "行政确认", "citizen", "婚姻", 30),
        ("高龄津贴申领", "行政给付", "citizen", "退休", 10),
    ],
    "GJJ": [
        ("住房公积金贷款", "公共服务", "citizen", "住房", 10),
        ("住房公积金提取（租房）", "行政给付", "citizen", "住房", 3),
        ("住房公积金提取（购房）", "行政给付", "citizen", "住房", 3),
        ("住房公积金异地转移接续", "公共服务", "citizen", "就业", 5),
        ("住房公积金缴存证明开具", "公共服务", "citizen", "住房", 1),
    ],
    "DSJ": [
        ("公共数据开放申请", "公共服务", "both", None, 10),
        ("政务数据共享申请", "公共服务", "enterprise", None, 10),
        ("电子证照共享应用申请", "公共服务", "enterprise", None, 10),
    ],
    "LDZ": [("12345 诉求办理结果查询", "公共服务", "both", None, 1)],
}


def _single_items(types: dict[str, str], rng: random.Random) -> list[ItemCreate]:
    idc = _m("id_card", "申请人居民身份证", "certificate", cert_type_code=types["居民身份证"])
    lic = _m("enterprise_licence", "营业执照", "certificate", cert_type_code=types["营业执照"])
    found = []
    for dept, rows in SINGLE_ITEMS.items():
        for number, (name, category, audience, event, days) in enumerate(rows, start=101):
            code = f"{dept}-{number:03d}"
            enterprise = audience == "enterprise"
            materials = [lic if enterprise else idc, _m("application_form", f"{name}申请书", max_pages=10)]
            if rng.random() < 0.5:
                materials.append(_m("credit_record", "信用记录", "database", database="credit", required=False))
            if not enterprise and rng.random() < 0.4:
                materials.append(_m("household_info", "户籍信息", "database", database="population"))
            if rng.random() < 0.5:
                materials.append(_m("supporting_docs", "其他证明材料", required=False, max_pages=50))
            form = [F_NAME, F_PHONE] + ([F_COMPANY, F_CREDIT] if enterprise else [F_ID, F_ADDRESS])
            found.append(
                ItemCreate(
                    code=f"{CITY}-{code}",
                    basic_code=code,
                    department_code=dept,
                    name=name,
                    category=category,
                    audience=audience,
                    life_event=None if enterprise else event,
                    enterprise_event=event if enterprise else None,
                    legal_days=max(days, 20),
                    promised_days=days,
                    visits=rng.choice([0, 0, 0, 1]),
                    fee=rng.random() < 0.1,
                    legal_basis=f"（演示）《{name}管理办法》",
                    conditions="符合法定条件的申请人",
                    online=rng.random() < 0.97,
                    online_depth=rng.choice([3, 4, 4]),
                    entry_point=rng.random() < 0.5,
                    form=form,
                    materials=materials,
                )
            )
    return found


def _id_number(rng: random.Random) -> str:
    birth = f"{rng.randint(1989, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"{CITY}{birth}{rng.randint(0, 999):03d}"
    return first17 + id_number_check_char(first17)


def _credit_code(index: int) -> str:
    first17 = f"92{CITY}MA{index:07d}"
    return first17 + credit_code_check_char(first17)


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉健俊帆文婷雪琳晨浩宇欣怡子轩梓涵一诺"
SHOPS = ["虞山", "琴川", "尚湖", "沙家浜", "古里", "梅李", "海虞", "碧溪", "辛庄", "支塘", "董浜", "莫城"]
TRADES = ["科技", "餐饮", "纺织", "服饰", "电子", "机械", "贸易", "物流", "文化", "食品"]


def _accounts(runtime: Runtime, size: str, rng: random.Random) -> list[tuple[int, str, str, str]]:
    """Demo citizens and enterprises: (user id, username, kind, id number or credit code)."""
    citizens, enterprises = (2400, 600) if size == "full" else (8, 2)
    made: list[tuple[int, str, str, str]] = []
    digest = hash_password(DEMO_PASSWORD)  # one published password: hash it once, not per account
    for batch_start in range(0, citizens + enterprises, 300):
        with runtime.db.unit_of_work() as db:
            for index in range(batch_start, min(batch_start + 300, citizens + enterprises)):
                if index < citizens:
                    username, kind = f"demo_citizen_{index:05d}", "citizen"
                    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
                    code = _id_number(rng)
                    data = UserCreate(
                        username=username,
                        kind=kind,
                        display_name=name,
                        password=DEMO_PASSWORD,
                        roles=["citizen"],
                        id_number=code,
                        phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                    )
                else:
                    number = index - citizens
                    username, kind = f"demo_enterprise_{number:05d}", "enterprise"
                    code = _credit_code(number + 1)
                    name = f"常熟{rng.choice(SHOPS)}{rng.choice(TRADES)}有限公司（演示{number + 1}）"
                    data = UserCreate(
                        username=username,
                        kind=kind,
                        display_name=name,
                        password=DEMO_PASSWORD,
                        roles=["enterprise"],
                        credit_code=code,
                    )
                if org_service.find_account(db, username=username) is not None:
                    continue
                if kind == "citizen" and org_service.find_account_id_by_id_number(
                    db, id_number=code, cipher=runtime.cipher
                ):
                    continue  # a random ID number collided with an earlier one
                user = org_service.create_account(
                    db, actor=SYSTEM, data=data, cipher=runtime.cipher, password_hash=digest
                )
                made.append((user.id, username, kind, code))
    return made


def _principal(account_id: int, username: str, name: str, kind: str) -> Principal:
    return Principal(
        user_id=account_id,
        username=username,
        display_name=name,
        kind=kind,
        permissions=frozenset({p.APPLY}),
        roles=frozenset({kind}),
    )


def _seed_certificates(runtime: Runtime, holders: list[tuple[int, str, str]], types: dict[str, str]) -> int:
    """存量证照归集: identity and household certificates already held by demo citizens, and licences."""
    keys = certs_service.key_store_for(runtime.settings.key_dir)
    origin = certs_service.log_origin(runtime.settings.city_code)
    count = 0
    for start in range(0, len(holders), 200):
        with runtime.db.unit_of_work() as db:
            for user_id, kind, name in holders[start : start + 200]:
                plan = ["居民身份证", "居民户口簿", "结婚证", "不动产权证书"] if kind == "citizen" else ["营业执照"]
                for type_name in plan:  # each signed by its type's issuing department
                    certs_service.issue_certificate(
                        db,
                        actor=SYSTEM,
                        keys=keys,
                        origin=origin,
                        type_code=types[type_name],
                        holder_user_id=user_id,
                        holder_name=name,
                        holder_code_masked=None,
                        data={"说明": "存量证照归集（演示）"},
                        source="归集",
                        checkpoint=False,
                    )
                    count += 1
            certs_service.sign_log_checkpoint(db, keys=keys, origin=origin)
    return count


def _progress(runtime: Runtime, number: str, state: str, rng: random.Random) -> None:
    """Move an application's tasks to the demo state through the same service functions staff use."""
    keys = certs_service.key_store_for(runtime.settings.key_dir)
    origin = certs_service.log_origin(runtime.settings.city_code)
    with runtime.db.unit_of_work() as db:
        application = db.execute(select(Application).where(Application.number == number)).scalar_one()
        tasks = list(db.execute(select(Task).where(Task.application_id == application.id)).scalars())
        if state == "overdue":
            for task in tasks:
                task.start_date -= timedelta(days=40)
                task.due_date = workdays.add_working_days(task.start_date, task.promised_days)
            return
        for position, task in enumerate(tasks):
            if state == "received":
                continue
            if state == "supplement":
                service.request_supplement(
                    db,
                    actor=CLERK,
                    task_id=task.id,
                    data=SupplementRequest(
                        items=[
                            SupplementEntry(name="申请人居民身份证", reason="照片页不清晰"),
                            SupplementEntry(name="联系地址", reason="请补充门牌号"),
                        ]
                    ),
                )
                break
            service.accept_task(db, actor=CLERK, task_id=task.id)
            if state == "review":
                continue
            service.review_task(db, actor=CLERK, task_id=task.id)
            if state == "decision":
                continue
            refuse = state == "refused" and position == len(tasks) - 1
            service.decide_task(
                db,
                actor=CLERK,
                task_id=task.id,
                data=DecisionInput(
                    decision="refused" if refuse else "approved",
                    reason="经审查不符合受理条件（演示）" if refuse else None,
                ),
            )
            if state == "decided":
                continue
            service.complete_task(db, actor=CLERK, task_id=task.id, keys=keys, origin=origin)
        if state in ("completed", "refused", "rated_good", "rated_bad"):
            for task in tasks:  # spread the figures: some finished in a few working days
                task.used_working_days = rng.randint(0, max(1, task.promised_days))


def load(runtime: Runtime, console: Console | None = None) -> dict[str, int]:
    """Idempotent: does nothing when the items are already present."""
    rng = random.Random(20261128)
    with runtime.db.unit_of_work() as db:
        if service.search_items(db, limit=1)[1] > 0:
            return {"items": 0}
        types = {t.name: t.code for t in certs_service.list_types(db)}
        bundle_items = _bundle_items(types)
        for _, data in bundle_items:
            catalog.create_item(db, actor=SYSTEM, data=data, audited=False)
        singles = _single_items(types, rng)
        for data in singles:
            catalog.create_item(db, actor=SYSTEM, data=data, audited=False)
        for code, name, description, audience, lead, items in BUNDLES:
            catalog.create_bundle(
                db,
                actor=SYSTEM,
                data=BundleCreate(
                    code=code,
                    name=name,
                    description=description,
                    audience=audience,
                    lead_department_code=lead,
                    item_codes=[f"{CITY}-{c}" for c in items],
                ),
            )
    size = runtime.settings.demo_size
    accounts = _accounts(runtime, size, rng)
    with runtime.db.unit_of_work() as db:
        named = [org_service.find_account(db, username=u) for u in ("zhangsan", "lisi", "yushan_tech")]
    people = [(a.id, a.username, a.kind, a.display_name) for a in named if a is not None]
    with runtime.db.unit_of_work() as db:
        people += [
            (uid, username, kind, org_service.get_account(db, user_id=uid).display_name)
            for uid, username, kind, _ in accounts
        ]
    holders = people
    certificates = _seed_certificates(
        runtime, [(uid, kind, name) for uid, _, kind, name in holders[: 800 if size == "full" else 20]], types
    )
    states = [
        "received",
        "supplement",
        "review",
        "decision",
        "decided",
        "completed",
        "refused",
        "rated_good",
        "rated_bad",
        "overdue",
    ]
    citizen_targets = [
        ("bundle", "XSECS"),
        ("bundle", "JYDJ"),
        ("bundle", "ESFZY"),
        ("bundle", "SHS"),
        ("item", f"{CITY}-RSJ-003"),
        ("item", f"{CITY}-GAJ-101"),
        ("item", f"{CITY}-YBJ-101"),
    ]
    enterprise_targets = [
        ("bundle", "KBQY"),
        ("bundle", "KCG"),
        ("item", f"{CITY}-SJJ-001"),
        ("item", f"{CITY}-HBJ-104"),
    ]
    applicants = people[: 700 if size == "full" else len(people)]
    submitted = 0
    others = 0
    for index, (uid, username, kind, name) in enumerate(applicants):
        targets = citizen_targets if kind == "citizen" else enterprise_targets
        kind_target, code = targets[index % len(targets)]
        if username in ("zhangsan", "lisi", "yushan_tech"):
            state = "completed"
        else:
            state = states[others % len(states)]
            others += 1
        actor = _principal(uid, username, name, kind)
        try:
            with runtime.db.unit_of_work() as db:
                prefill = service.prefill(
                    db,
                    actor=actor,
                    cipher=runtime.cipher,
                    **({"bundle_code": code} if kind_target == "bundle" else {"item_code": code}),
                )
                values = _fill(prefill.form, prefill.values, name, rng)
                attachments = {}
                for m in prefill.materials:
                    if m["available"] == "upload" and m["required"]:
                        attachments[m["key"]] = service.upload_material(
                            db,
                            actor=actor,
                            files_dir=runtime.settings.files_dir,
                            material_key=m["key"],
                            filename=f"{m['name']}.pdf",
                            content=_DEMO_PDF,
                        ).id
                result = service.submit_application(
                    db,
                    actor=actor,
                    cipher=runtime.cipher,
                    data=ApplicationCreate(
                        item_code=code if kind_target == "item" else None,
                        bundle_code=code if kind_target == "bundle" else None,
                        form=values,
                        consent=True,
                        attachments=attachments,
                    ),
                )
        except Exception as exc:  # demo data must not stop the platform from starting
            if console:
                console.print(f"[yellow]演示办件未能提交[/] {username} {code}: {exc}")
            continue
        submitted += 1
        _progress(runtime, result.number, state, rng)
        if state in ("rated_good", "rated_bad"):
            with runtime.db.unit_of_work() as db:
                service.rate_application(
                    db,
                    actor=actor,
                    number=result.number,
                    data=RatingCreate(
                        score=rng.choice([4, 5]) if state == "rated_good" else rng.choice([1, 2]),
                        comment="办事方便，不用跑腿（演示）" if state == "rated_good" else "等待时间较长（演示）",
                    ),
                )
        if state == "supplement" and others % 40 == 12:
            with runtime.db.unit_of_work() as db:
                service.submit_supplement(
                    db,
                    actor=actor,
                    number=result.number,
                    data=SupplementSubmit(note="已补充门牌号（演示）", form={}),
                    cipher=runtime.cipher,
                )
    return {
        "items": len(bundle_items) + len(singles),
        "bundles": len(BUNDLES),
        "accounts": len(accounts),
        "certificates_seeded": certificates,
        "applications": submitted,
    }


def _fill(fields: list[FormField], values: dict[str, Any], name: str, rng: random.Random) -> dict[str, Any]:
    filled = dict(values)
    for f in fields:
        if f.name in filled or not f.required:
            continue
        if f.type == "date":
            filled[f.name] = "2026-11-01"
        elif f.type == "number":
            filled[f.name] = rng.choice([10, 50, 100])
        elif f.type == "id_number":
            filled[f.name] = _id_number(rng)
        elif f.type == "credit_code":
            filled[f.name] = _credit_code(rng.randint(1, 9999))
        elif f.type == "select":
            filled[f.name] = f.options[0]
        elif f.name == "company_name":
            filled[f.name] = f"常熟{rng.choice(SHOPS)}{rng.choice(TRADES)}有限公司（演示）"
        elif f.name == "address" or f.name == "property_address":
            filled[f.name] = f"常熟市{rng.choice(SHOPS)}路{rng.randint(1, 300)}号（演示）"
        else:
            filled[f.name] = f"{name}（演示）" if "name" in f.name else "演示内容"
    return filled


def _demo_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


_DEMO_PDF = _demo_pdf()
