"""Tables of governance; internal to it. Resource data itself lives in Parquet files, not here."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class DataResource(Base):
    """The mounted data of one catalog entry, and which of its versions is current."""

    __tablename__ = "gov_resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_code: Mapped[str] = mapped_column(String(30), unique=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    data_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DataVersion(Base):
    """An immutable Parquet snapshot (and its quarantine) written by one ingest."""

    __tablename__ = "gov_version"
    __table_args__ = (UniqueConstraint("entry_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_code: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))  # folder under data_dir/governance
    checksum: Mapped[str] = mapped_column(String(64))  # hash of data.parquet, with checksum_algorithm
    checksum_algorithm: Mapped[str] = mapped_column(String(16), default="SHA-256", server_default="SHA-256")
    rows_in: Mapped[int] = mapped_column(Integer)
    rows_out: Mapped[int] = mapped_column(Integer)
    rows_quarantined: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # upload | api | cli | demo
    filename: Mapped[str] = mapped_column(String(200), default="")
    encoding: Mapped[str] = mapped_column(String(20), default="")
    report: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IngestJob(Base):
    """A background ingest of an uploaded file, with the progress the page shows."""

    __tablename__ = "gov_ingest_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_code: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # queued running succeeded failed cancelled
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(40), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(200))
    staged_path: Mapped[str] = mapped_column(String(300))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    version_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
