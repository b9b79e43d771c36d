"""Scheduled work of 一网通办: clearing what uploads leave behind."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.onestop import uploads

SWEEP_SECONDS = 3600


def jobs(runtime: Runtime) -> list[Job]:
    def sweep_uploads() -> None:
        files_dir = runtime.settings.files_dir
        with runtime.db.unit_of_work() as db:
            leftovers = uploads.expire_unbound(db) + uploads.stray_files(db, files_dir=files_dir)
        # only once the rows are gone for good: a rolled-back sweep must not leave rows without files
        uploads.remove_files(files_dir, leftovers)

    return [Job("onestop.uploads.sweep", SWEEP_SECONDS, sweep_uploads)]
