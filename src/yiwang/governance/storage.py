"""Snapshots on disk: Parquet folders under `data_dir/governance/<entry code>/<uuid>/`, written under
`_staging` and renamed into place when complete, and cleaned after a crash. No database writes here.
"""

import fcntl
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.catalog.schemas import InfoItem
from yiwang.core.crypto import Suite
from yiwang.core.errors import AppError
from yiwang.governance import pipeline
from yiwang.governance.models import DataVersion

STAGING = "_staging"  # snapshots being written; renamed into place only when complete


ORPHAN_AGE = timedelta(hours=1)


Progress = Callable[[float, str], None]


class IngestCancelled(AppError):
    status_code = 409
    code = "ingest_cancelled"
    message = "导入已取消，当前版本未改变"


def storage_root(data_dir: Path) -> Path:
    return data_dir / "governance"


@dataclass
class Snapshot:
    """The files one pipeline run wrote, before any database row points at them."""

    key: str
    folder: Path
    checksum: str
    checksum_algorithm: str
    report: dict[str, Any]
    encoding: str


@contextmanager
def _staging_folder(root: Path) -> Iterator[Path]:
    """A fresh folder under _staging, held with an exclusive lock on its sibling `.lock` file while in
    use. The kernel drops the lock when the writing process dies, however it dies, which is how
    `clean_staging` tells an abandoned folder from one another process is still writing."""
    staging = root / STAGING / uuid.uuid4().hex
    staging.parent.mkdir(parents=True, exist_ok=True)
    lock = staging.with_suffix(".lock")
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # locked before the folder exists
        try:
            staging.mkdir()
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when renamed into place
            lock.unlink(missing_ok=True)


def clean_staging(data_dir: Path) -> int:
    """Remove staging folders whose writer is gone (a crashed ingest); run at start. Returns how many."""
    staging_root = storage_root(data_dir) / STAGING
    if not staging_root.is_dir():
        return 0
    removed = 0
    for folder in staging_root.iterdir():
        if not folder.is_dir():
            continue
        lock = folder.with_suffix(".lock")
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another process is writing it right now
            shutil.rmtree(folder, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed += 1
    for lock in staging_root.glob("*.lock"):
        if not lock.with_suffix("").exists():
            lock.unlink(missing_ok=True)
    return removed


def clean_orphan_snapshots(db: Session, *, data_dir: Path, older_than: timedelta = ORPHAN_AGE) -> int:
    """Remove snapshot folders no version points at: an ingest killed after moving its folder into
    place but before its transaction committed. Only folders older than `older_than`, so one whose
    version is being registered right now on another node is left alone. Returns how many."""
    root = storage_root(data_dir)
    if not root.is_dir():
        return 0
    known = set(db.execute(select(DataVersion.storage_key)).scalars())
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for entry_folder in root.iterdir():
        if not entry_folder.is_dir() or entry_folder.name.startswith("_"):
            continue
        for folder in entry_folder.iterdir():
            key = f"{entry_folder.name}/{folder.name}"
            if folder.is_dir() and key not in known and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


def file_digest(path: Path, digest: Suite) -> str:
    """The file's hash with the installation's algorithm (SHA-256 or SM3), read in pieces."""
    hasher = digest.hasher()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.finalize().hex()


def run_pipeline(
    *,
    data_dir: Path,
    entry_code: str,
    items: Sequence[InfoItem],
    content: bytes | None = None,
    filename: str = "data.csv",
    frame: pl.DataFrame | None = None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    frame_label: str = "JSON",
    digest: Suite,
) -> Snapshot:
    """Parse, clean and write a new snapshot folder (data.parquet, quarantine.parquet); no database.

    The folder is written under a temporary name and renamed when complete, so a crash never leaves a
    half-written snapshot where a version could point.
    """
    notify = progress or (lambda _p, _s: None)
    stop = cancelled or (lambda: False)
    notify(0.05, "读取与解码")
    if frame is None:
        frame, encoding = pipeline.read_any(content or b"", filename)
        first_row = 2
    else:
        encoding, first_row = frame_label, 1
    frame = pipeline.align_columns(frame, items)
    if stop():
        raise IngestCancelled()
    result = pipeline.process(frame, items, first_row_number=first_row, progress=notify)
    if stop():
        raise IngestCancelled()
    notify(0.8, "写入快照")
    key = f"{entry_code}/{uuid.uuid4().hex}"
    root = storage_root(data_dir)
    folder = root / key
    with _staging_folder(root) as staging:
        result.clean.write_parquet(staging / "data.parquet", statistics=True)
        result.quarantine.write_parquet(staging / "quarantine.parquet")
        checksum = file_digest(staging / "data.parquet", digest)
        if stop():
            raise IngestCancelled()
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(folder)
    notify(0.95, "登记版本")
    return Snapshot(
        key=key,
        folder=folder,
        checksum=checksum,
        checksum_algorithm=digest.hash_name,
        report=result.report,
        encoding=encoding,
    )
