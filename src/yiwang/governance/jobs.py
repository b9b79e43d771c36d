"""Background ingest: web uploads run here, in a thread of the serving process or in `yiwang worker`."""

import logging
import time

from yiwang.core.errors import AppError
from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.core.timeutil import utcnow
from yiwang.governance import service, storage

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5


def run_job(runtime: Runtime, job_id: int) -> str:
    """Run one claimed job to its end; returns its final status. Failure leaves the current version."""
    database = runtime.db
    with database.unit_of_work() as db:
        entry_code, filename, path = service.job_file(db, job_id)
        actor = service.job_actor(db, job_id)
    last = [0.0]

    def progress(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS and fraction < 0.95:
            return
        last[0] = now
        with database.unit_of_work() as db:
            service.update_job(db, job_id, progress=int(fraction * 100), stage=stage)

    def cancelled() -> bool:
        with database.unit_of_work() as db:
            return service.job_state(db, job_id)[1]

    status, message, version_id = "failed", "", None
    try:
        content = path.read_bytes()
        snapshot = storage.run_pipeline(
            data_dir=runtime.settings.data_dir,
            entry_code=entry_code,
            items=_items(runtime, entry_code),
            content=content,
            filename=filename,
            progress=progress,
            cancelled=cancelled,
            digest=runtime.keyring.suite,
        )
        with database.unit_of_work() as db:
            if service.job_state(db, job_id)[1]:
                raise storage.IngestCancelled()
            from yiwang.catalog import service as catalog_service

            entry = catalog_service.get_entry(db, code=entry_code)
            version = service.register_snapshot(
                db, actor=actor, entry=entry, snapshot=snapshot, source="upload", filename=filename
            )
            version_id = version.id
            service.update_job(
                db,
                job_id,
                status="succeeded",
                progress=100,
                stage="完成",
                version_id=version.id,
                message=f"第 {version.version} 版：入库 {version.rows_out} 行，隔离 {version.rows_quarantined} 行",
                finished_at=utcnow(),
            )
        status = "succeeded"
    except storage.IngestCancelled as exc:
        status, message = "cancelled", exc.message
    except AppError as exc:
        status, message = "failed", exc.message
    except Exception as exc:  # the job must end in a visible state whatever happened
        log.exception("ingest job %s failed", job_id)
        status, message = "failed", f"系统错误：{type(exc).__name__}"
    finally:
        path.unlink(missing_ok=True)
    if status != "succeeded":
        with database.unit_of_work() as db:
            service.update_job(
                db,
                job_id,
                status=status,
                stage="已取消" if status == "cancelled" else "失败",
                message=message,
                finished_at=utcnow(),
                version_id=version_id,
            )
    return status


def _items(runtime: Runtime, entry_code: str):
    from yiwang.catalog import service as catalog_service

    with runtime.db.unit_of_work() as db:
        return catalog_service.get_entry(db, code=entry_code).items


def run_queued(runtime: Runtime) -> int:
    """Claim and run queued jobs (several nodes may call this; each job is claimed once)."""
    with runtime.db.unit_of_work() as db:
        claimed = service.claim_queued_jobs(db)
    for job_id in claimed:
        run_job(runtime, job_id)
    return len(claimed)


def claim_and_run(runtime: Runtime, job_id: int) -> None:
    """Run a just-queued job (as a response background task); a node that lost the claim does nothing."""
    with runtime.db.unit_of_work() as db:
        mine = bool(service.claim_queued_jobs_by_id(db, job_id=job_id))
    if mine:
        run_job(runtime, job_id)


def jobs(runtime: Runtime) -> list[Job]:
    return [Job("governance.ingest_queue", 5, lambda: run_queued(runtime))]
