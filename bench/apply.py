"""Submitting a bundle application: 10 materials, 6 of them from the applicant's e-certificates.

Builds a platform in a temporary directory (SQLite, or --database-url), loads the organisation and the
certificate types, defines a three-department bundle whose ten materials are six certificate types and
four uploads, issues the six certificates to each test citizen, uploads the four files (not timed),
then times POST /api/onestop/applications end to end inside the app (validation, pre-fill, consent,
certificate lookup and use log, attachments, three parallel tasks with working-day deadlines, audit).
Baseline: a bare insert of the same rows (application, 10 claims, 3 tasks, 6 use-log rows) in one
transaction, measured in the same run.

    .venv/bin/python bench/apply.py [--runs 200] [--citizens 10]

Prints one JSON line. Target (issue 5): p95 ≤ 200 ms server time.
"""

import argparse
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient
from pypdf import PdfWriter
from sqlalchemy import insert

from yiwang.app import create_app
from yiwang.certs import demo as certs_demo
from yiwang.certs import service as certs_service
from yiwang.certs.permissions import CERT_ISSUE
from yiwang.config import Settings
from yiwang.core.passwords import hash_password
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.security import Principal
from yiwang.core.timeutil import local_today, utcnow
from yiwang.demo import loader
from yiwang.onestop import models as onestop_models
from yiwang.onestop import service
from yiwang.onestop.schemas import BundleCreate, ItemCreate
from yiwang.org import service as org_service
from yiwang.org.schemas import UserCreate

RUN = __import__("secrets").token_hex(3).upper()  # unique codes, so a scratch database can be reused
PASSWORD = "bench-pass-2026"
SYSTEM = Principal(
    user_id=None,
    username="system:bench",
    display_name="基准测试",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS, CERT_ISSUE}),
)
CERT_TYPES = ["居民身份证", "居民户口簿", "结婚证", "不动产权证书", "社会保障卡", "就业创业证"]


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def define_bundle(runtime, types: dict[str, str]) -> None:
    certs = [
        {"key": f"cert_{i}", "name": name, "source": "certificate", "cert_type_code": types[name]}
        for i, name in enumerate(CERT_TYPES)
    ]
    uploads = [{"key": f"upload_{i}", "name": f"上传材料{i}"} for i in range(4)]
    form = [
        {"name": "applicant_name", "label": "姓名", "prefill": "display_name"},
        {"name": "contact_phone", "label": "电话", "type": "phone", "required": False},
        {"name": "address", "label": "地址"},
        {"name": "reason", "label": "事由", "type": "textarea"},
        {"name": "start", "label": "开始日期", "type": "date"},
        {"name": "amount", "label": "金额", "type": "number", "min": 0},
    ]
    split = [("SPJ", certs[:2] + uploads[:2]), ("CGJ", certs[2:4] + uploads[2:]), ("GAJ", certs[4:] + uploads[:1])]
    with runtime.db.unit_of_work() as db:
        for dept, materials in split:
            service.create_item(
                db,
                actor=SYSTEM,
                data=ItemCreate.model_validate(
                    {
                        "code": f"BENCH{RUN}-{dept}",
                        "basic_code": f"BENCH-{dept}",
                        "department_code": dept,
                        "name": f"基准事项{dept}",
                        "promised_days": 5,
                        "legal_days": 20,
                        "form": form,
                        "materials": materials,
                    }
                ),
            )
        service.create_bundle(
            db,
            actor=SYSTEM,
            data=BundleCreate(
                code=f"BENCH{RUN}",
                name="基准一件事",
                item_codes=[f"BENCH{RUN}-SPJ", f"BENCH{RUN}-CGJ", f"BENCH{RUN}-GAJ"],
            ),
        )


def citizens(runtime, count: int, types: dict[str, str]) -> list[tuple[int, str]]:
    digest = hash_password(PASSWORD)
    made = []
    signing = runtime.certificate_signing
    with mock.patch("yiwang.org.accounts.hash_password", lambda _p: digest), runtime.db.unit_of_work() as db:
        for i in range(count):
            first17 = f"320581199{i % 10}0101{(int(RUN, 16) + i) % 1000:03d}"
            from yiwang.core.identifiers import id_number_check_char

            user = org_service.create_account(
                db,
                actor=SYSTEM,
                cipher=runtime.cipher,
                enforce_password_policy=False,
                data=UserCreate(
                    username=f"bench_{RUN.lower()}_{i}",
                    kind="citizen",
                    display_name=f"基准{i}",
                    password=PASSWORD,
                    roles=["citizen"],
                    id_number=first17 + id_number_check_char(first17),
                ),
            )
            for name in CERT_TYPES:
                certs_service.issue_certificate(
                    db,
                    actor=SYSTEM,
                    signing=signing,
                    type_code=types[name],
                    holder_user_id=user.id,
                    holder_name=user.display_name,
                    holder_code_masked=None,
                    data={},
                    checkpoint=False,
                )
            made.append((user.id, user.username))
        certs_service.sign_log_checkpoint(db, signing=signing)
    return made


def bare_insert(runtime, runs: int) -> list[float]:
    times = []
    now = utcnow()
    for n in range(runs):
        t0 = time.perf_counter()
        with runtime.db.unit_of_work() as db:
            app_id = db.execute(
                insert(onestop_models.Application).values(
                    number=f"BARE-{RUN}-{n:06d}",
                    applicant_id=1,
                    applicant_name="x",
                    applicant_kind="citizen",
                    bundle_id=None,
                    item_id=None,
                    title="bare",
                    status="processing",
                    form_data="{}",
                    channel="online",
                    submitted_at=now,
                )
            ).inserted_primary_key[0]
            db.execute(
                insert(onestop_models.MaterialClaim),
                [
                    {
                        "application_id": app_id,
                        "material_key": f"m{i}",
                        "name": "m",
                        "satisfied_by": "upload",
                        "reference": None,
                        "note": "",
                    }
                    for i in range(10)
                ],
            )
            db.execute(
                insert(onestop_models.Task),
                [
                    {
                        "application_id": app_id,
                        "department_id": 1,
                        "department_code": "SPJ",
                        "item_codes": "[]",
                        "title": "t",
                        "stage": "received",
                        "promised_days": 5,
                        "start_date": local_today(),
                        "due_date": local_today(),
                        "paused_days": 0,
                        "supplement_count": 0,
                        "certificates": "[]",
                    }
                    for _ in range(3)
                ],
            )
            db.execute(
                insert(onestop_models.Notification),
                [{"user_id": 1, "title": "use", "body": "", "created_at": now} for _ in range(6)],
            )
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--citizens", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="yiwang-apply-"))
    settings = Settings(
        data_dir=workdir,
        database_url=args.database_url,
        demo=True,
        demo_on_first_start=False,
        run_jobs_in_process=False,
        demo_size="small",
    )
    app = create_app(settings)
    runtime = app.state.runtime
    loader.load(runtime)
    certs_demo.load(runtime)
    with runtime.db.unit_of_work() as db:
        types = {t.name: t.code for t in certs_service.list_types(db)}
    define_bundle(runtime, types)
    people = citizens(runtime, args.citizens, types)
    content = pdf()
    timings = []
    with TestClient(app) as client:
        tokens = {}
        for _, username in people:
            response = client.post(
                "/api/auth/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
            )
            tokens[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        for n in range(args.runs + 5):
            _, username = people[n % len(people)]
            headers = tokens[username]
            attachments = {}
            for i in range(4):
                uploaded = client.post(
                    "/api/onestop/attachments",
                    headers=headers,
                    data={"material": f"upload_{i}"},
                    files={"file": (f"{i}.pdf", content, "application/pdf")},
                )
                attachments[f"upload_{i}"] = uploaded.json()["id"]
            body = {
                "bundle_code": f"BENCH{RUN}",
                "consent": True,
                "attachments": attachments,
                "form": {"address": "常熟市虞山街道1号", "reason": "基准测试", "start": "2026-12-01", "amount": 10},
            }
            t0 = time.perf_counter()
            response = client.post("/api/onestop/applications", headers=headers, json=body)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 201, response.text
            claims = response.json()["claims"]
            assert sum(c["satisfied_by"] == "certificate" for c in claims) == 6 and len(claims) == 10
            if n >= 5:  # warm-up
                timings.append(elapsed)
    bare = bare_insert(runtime, args.runs)
    p95 = percentile(timings, 0.95)
    bare_p95 = percentile(bare, 0.95)
    print(
        json.dumps(
            {
                "benchmark": "apply",
                "database": runtime.db.engine.dialect.name,
                "runs": args.runs,
                "materials": 10,
                "from_certificates": 6,
                "departments": 3,
                "submit_ms": {
                    "mean": round(statistics.mean(timings) * 1000, 2),
                    "p50": round(percentile(timings, 0.5) * 1000, 2),
                    "p95": round(p95 * 1000, 2),
                    "max": round(max(timings) * 1000, 2),
                },
                "measured": "in-process ASGI request (TestClient), so ≈ server time",
                "baseline": {
                    "what": "bare insert of the same rows (application, 10 claims, 3 tasks, 6 rows), one transaction",
                    "p95_ms": round(bare_p95 * 1000, 2),
                    "mean_ms": round(statistics.mean(bare) * 1000, 2),
                },
                "ratio_p95_to_bare": round(p95 / bare_p95, 1),
                "target_p95_ms": 200,
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
