"""Background work of the certs domain: keep the latest checkpoint signed (idempotent)."""

from yiwang.certs import logs
from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime


def sign_checkpoint(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as db:
        logs.sign_checkpoint(db, runtime.certificate_signing)


def jobs(runtime: Runtime) -> list[Job]:
    return [Job("certs.sign_checkpoint", 60, lambda: sign_checkpoint(runtime))]
