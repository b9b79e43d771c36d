"""Changshu demo data for 一网通办 (labelled demo): ~150 items, the six named bundles, citizens and
enterprises, applications in every state, certificates issued through completed applications.

Item codes, legal-basis texts and every person and company are demo data. Department codes come
from the reference list (departments.csv).
"""

import json
import random
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import select

from yiwang.certs import service as certs_service
from yiwang.certs.permissions import CERT_ISSUE
from yiwang.core import workdays
from yiwang.core.passwords import hash_password
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal
from yiwang.demo.people import (
    CITY_CODE,
    PLACES,
    company_name,
    demo_credit_code,
    mobile,
    person_name,
    random_id_number,
)
from yiwang.onestop import permissions as p
from yiwang.onestop import service, service_items
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

DEMO_ITEMS = Path(__file__).parent / "data" / "demo_items.json"


@cache
def _demo_items() -> dict[str, Any]:
    """The demo's items, bundles, and the form fields and materials they share (data/demo_items.json)."""
    return json.loads(DEMO_ITEMS.read_text(encoding="utf-8"))


def _m(key: str, name: str, source: str = "upload", **extra: Any) -> MaterialDef:
    return MaterialDef(key=key, name=name, source=source, **extra)


def _field(spec: str | dict[str, Any]) -> FormField:
    """A form field: the name of a shared one, or one written out in full."""
    if isinstance(spec, str):
        return FormField(name=spec, **_demo_items()["fields"][spec])
    return FormField(**spec)


def _material(spec: str | dict[str, Any], types: dict[str, str]) -> MaterialDef:
    """A material: the key of a shared one, or one written out; certificate types by name, items by code."""
    if isinstance(spec, str):
        spec = {"key": spec, **_demo_items()["materials"][spec]}
    extra = {k: v for k, v in spec.items() if k not in ("key", "name", "source", "cert_type", "produced_by")}
    if "cert_type" in spec:
        extra["cert_type_code"] = types[spec["cert_type"]]
    if "produced_by" in spec:
        extra["produced_by"] = f"{CITY_CODE}-{spec['produced_by']}"
    return _m(spec["key"], spec["name"], spec.get("source", "upload"), **extra)


def _bundle_items(types: dict[str, str]) -> list[ItemCreate]:
    """The items behind the six named bundles, with realistic materials and sources."""
    items = []
    for entry in _demo_items()["bundle_items"]:
        name, days = entry["name"], entry.get("days", 5)
        items.append(
            ItemCreate(
                code=f"{CITY_CODE}-{entry['code']}",
                basic_code=entry["code"],
                department_code=entry["department"],
                name=name,
                category=entry.get("category", "行政许可"),
                audience=entry.get("audience", "citizen"),
                life_event=entry.get("life_event"),
                enterprise_event=entry.get("enterprise_event"),
                legal_days=max(days * 2, 20),
                promised_days=days,
                visits=entry.get("visits", 0),
                legal_basis=f"（演示）《{name}办理规定》",
                conditions="符合法定条件的申请人",
                produces_type_code=types.get(entry.get("produces") or ""),
                entry_point=True,
                online=True,
                online_depth=4,
                form=[_field(f) for f in entry["form"]],
                materials=[_material(m, types) for m in entry["materials"]],
            )
        )
    return items


def _single_items(types: dict[str, str], rng: random.Random) -> list[ItemCreate]:
    """Further single items per department, their materials and forms drawn with `rng`."""
    idc = _m("id_card", "申请人居民身份证", "certificate", cert_type_code=types["居民身份证"])
    lic = _m("enterprise_licence", "营业执照", "certificate", cert_type_code=types["营业执照"])
    citizen_form = [_field(f) for f in ("applicant_name", "contact_phone", "applicant_id_number", "address")]
    enterprise_form = [_field(f) for f in ("applicant_name", "contact_phone", "company_name", "credit_code")]
    found = []
    for dept, rows in _demo_items()["single_items"].items():
        for number, row in enumerate(rows, start=101):
            name, category, audience, event, days = (row[k] for k in ("name", "category", "audience", "event", "days"))
            code = f"{dept}-{number:03d}"
            enterprise = audience == "enterprise"
            materials = [lic if enterprise else idc, _m("application_form", f"{name}申请书", max_pages=10)]
            if rng.random() < 0.5:
                materials.append(_m("credit_record", "信用记录", "database", database="credit", required=False))
            if not enterprise and rng.random() < 0.4:
                materials.append(_m("household_info", "户籍信息", "database", database="population"))
            if rng.random() < 0.5:
                materials.append(_m("supporting_docs", "其他证明材料", required=False, max_pages=50))
            found.append(
                ItemCreate(
                    code=f"{CITY_CODE}-{code}",
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
                    form=enterprise_form if enterprise else citizen_form,
                    materials=materials,
                )
            )
    return found


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
                    name = person_name(rng)
                    code = random_id_number(rng)
                    data = UserCreate(
                        username=username,
                        kind=kind,
                        display_name=name,
                        password=DEMO_PASSWORD,
                        roles=["citizen"],
                        id_number=code,
                        phone=mobile(rng),
                    )
                else:
                    number = index - citizens
                    username, kind = f"demo_enterprise_{number:05d}", "enterprise"
                    code = demo_credit_code(f"MA{number + 1:07d}", registrar="92")
                    name = f"{company_name(rng)}有限公司（演示{number + 1}）"
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
    signing = runtime.certificate_signing
    count = 0
    for start in range(0, len(holders), 200):
        with runtime.db.unit_of_work() as db:
            for user_id, kind, name in holders[start : start + 200]:
                plan = ["居民身份证", "居民户口簿", "结婚证", "不动产权证书"] if kind == "citizen" else ["营业执照"]
                for type_name in plan:  # each signed by its type's issuing department
                    certs_service.issue_certificate(
                        db,
                        actor=SYSTEM,
                        signing=signing,
                        type_code=types[type_name],
                        holder_user_id=user_id,
                        holder_name=name,
                        holder_code_masked=None,
                        data={"说明": "存量证照归集（演示）"},
                        source="归集",
                        checkpoint=False,
                    )
                    count += 1
            certs_service.sign_log_checkpoint(db, signing=signing)
    return count


def _progress(runtime: Runtime, number: str, state: str, rng: random.Random) -> None:
    """Move an application's tasks to the demo state through the same service functions staff use."""
    signing = runtime.certificate_signing
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
            service.complete_task(db, actor=CLERK, task_id=task.id, signing=signing)
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
        for data in bundle_items:
            service_items.create_item(db, actor=SYSTEM, data=data, audited=False)
        singles = _single_items(types, rng)
        for data in singles:
            service_items.create_item(db, actor=SYSTEM, data=data, audited=False)
        bundles = _demo_items()["bundles"]
        for bundle in bundles:
            service_items.create_bundle(
                db,
                actor=SYSTEM,
                data=BundleCreate(
                    code=bundle["code"],
                    name=bundle["name"],
                    description=bundle["description"],
                    audience=bundle["audience"],
                    lead_department_code=bundle["lead_department"],
                    item_codes=[f"{CITY_CODE}-{c}" for c in bundle["items"]],
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
        ("item", f"{CITY_CODE}-RSJ-003"),
        ("item", f"{CITY_CODE}-GAJ-101"),
        ("item", f"{CITY_CODE}-YBJ-101"),
    ]
    enterprise_targets = [
        ("bundle", "KBQY"),
        ("bundle", "KCG"),
        ("item", f"{CITY_CODE}-SJJ-001"),
        ("item", f"{CITY_CODE}-HBJ-104"),
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
        "bundles": len(bundles),
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
            filled[f.name] = random_id_number(rng)
        elif f.type == "credit_code":
            filled[f.name] = demo_credit_code(f"MA{rng.randint(1, 9999):07d}", registrar="92")
        elif f.type == "select":
            filled[f.name] = f.options[0]
        elif f.name == "company_name":
            filled[f.name] = f"{company_name(rng)}有限公司（演示）"
        elif f.name == "address" or f.name == "property_address":
            filled[f.name] = f"常熟市{rng.choice(PLACES)}路{rng.randint(1, 300)}号（演示）"
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
