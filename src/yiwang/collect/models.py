"""Tables of collection; internal to it. Collected rows themselves become governance versions."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class CollectSource(Base):
    """A department system a catalog entry's data is collected from, its schedule and its lease."""

    __tablename__ = "collect_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    entry_code: Mapped[str] = mapped_column(String(30), index=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(12))  # database | api | folder
    # database: SQLAlchemy URL without the password; api: the first page's URL; folder: a relative folder
    location: Mapped[str] = mapped_column(String(500))
    table_name: Mapped[str] = mapped_column(String(128), default="")
    query: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # api paging and auth, folder patterns
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # source column -> item name
    secret_enc: Mapped[str | None] = mapped_column(Text)  # field-cipher envelope (None: no credential); never shown
    mode: Mapped[str] = mapped_column(String(12), default="full")  # full | incremental
    watermark_column: Mapped[str] = mapped_column(String(128), default="")
    watermark: Mapped[dict | None] = mapped_column(JSON)  # {"type": "int"|"float"|"datetime"|"date"|"str", "value"}
    key_check_every: Mapped[int] = mapped_column(Integer, default=0)  # full key comparison every n runs; 0 never
    runs_since_key_check: Mapped[int] = mapped_column(Integer, default=0)
    schedule: Mapped[str] = mapped_column(String(100), default="")  # cron; empty: only by hand
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    run_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str] = mapped_column(String(80), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alert_open: Mapped[bool] = mapped_column(Boolean, default=False)  # last run failed and nobody acknowledged
    last_status: Mapped[str] = mapped_column(String(12), default="")
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectRun(Base):
    """One run of a source: when, how it ended, how many rows, and the version it made."""

    __tablename__ = "collect_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer, index=True)
    trigger: Mapped[str] = mapped_column(String(12))  # schedule | manual | cli
    status: Mapped[str] = mapped_column(String(12), index=True)  # running succeeded failed interrupted unchanged
    node: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    rows_deleted: Mapped[int] = mapped_column(Integer, default=0)
    key_check: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
