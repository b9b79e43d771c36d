"""What uploads leave behind is cleared: abandoned uploads after a week, files of failed requests after a day."""

import json
import os
from datetime import timedelta

from sqlalchemy import select, update

from tests.conftest import bearer
from tests.onestop.conftest import ShopBundle, apply_bundle, pdf, upload
from yiwang.core import audit
from yiwang.core.timeutil import utcnow
from yiwang.onestop import jobs
from yiwang.onestop.models import Attachment


def _run_sweep(runtime) -> None:
    (sweep,) = jobs.jobs(runtime)
    sweep.run()


def _age(path, hours: float) -> None:
    old = (utcnow() - timedelta(hours=hours)).timestamp()
    os.utime(path, (old, old))


def test_abandoned_uploads_and_stray_files_are_removed_and_bound_ones_kept(client, runtime, bundle: ShopBundle):
    files_dir = runtime.settings.files_dir
    headers = bearer(client, "zhangsan")
    abandoned = upload(client, headers, "floor_plan", pdf(1), bundle=bundle.code).json()
    recent = upload(client, headers, "floor_plan", pdf(2), bundle=bundle.code).json()
    _, submitted = apply_bundle(client, bundle)
    assert submitted.status_code == 201, submitted.text
    with runtime.db.unit_of_work() as db:
        db.execute(
            update(Attachment).where(Attachment.id == abandoned["id"]).values(uploaded_at=utcnow() - timedelta(days=8))
        )
        paths = dict(db.execute(select(Attachment.id, Attachment.path)).all())
        bound = db.execute(select(Attachment.path).where(Attachment.application_id.is_not(None))).scalars().all()
    stray_old = files_dir / "onestop" / "2026" / "01" / "left-by-a-failed-request"
    stray_new = files_dir / "onestop" / "2026" / "01" / "being-written-now"
    for path in (stray_old, stray_new):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.4 stray")
    _age(stray_old, 30)
    outside = files_dir / "not-an-upload.bin"
    outside.write_bytes(b"x")
    _age(outside, 100)

    _run_sweep(runtime)

    assert not (files_dir / paths[abandoned["id"]]).exists()
    assert not stray_old.exists()
    assert stray_new.exists() and outside.exists()  # too young; not under the uploads folder
    assert (files_dir / paths[recent["id"]]).exists()
    assert bound and all((files_dir / p).exists() for p in bound)
    with runtime.db.unit_of_work() as db:
        left = set(db.execute(select(Attachment.id)).scalars())
        entries, _ = audit.search(db, query=audit.AuditQuery(action="onestop.attachment.expire"))
        expired_ids = [i for e in entries for i in json.loads(e.details)["ids"]]
    assert abandoned["id"] not in left and recent["id"] in left
    assert abandoned["id"] in expired_ids
    stray_new.unlink()
    outside.unlink()
