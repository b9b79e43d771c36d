"""Background work of the certs domain: keep the latest checkpoint signed (idempotent)."""

from yiwang.certs import translog
from yiwang.certs.keys import KeyStore
from yiwang.certs.service import log_origin
from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime


def sign_checkpoint(runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as db:
        translog.sign_checkpoint(
            db, key=KeyStore(runtime.settings.key_dir).log_key(), origin=log_origin(runtime.settings.city_code)
        )


def jobs(runtime: Runtime) -> list[Job]:
    return [Job("certs.sign_checkpoint", 60, lambda: sign_checkpoint(runtime))]
