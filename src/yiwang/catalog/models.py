"""Tables of the catalog; internal to it (other domains use catalog.service)."""

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yiwang.core.db import Base, UTCDateTime


class CatalogEntry(Base):
    """政务信息资源目录 entry; `search_text` is a lower-cased copy of every searchable word."""

    __tablename__ = "catalog_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(20), index=True)
    subject: Mapped[str] = mapped_column(String(60), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("org_department.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(20))
    sharing_type: Mapped[str] = mapped_column(String(10), index=True)
    sharing_condition: Mapped[str] = mapped_column(String(500), default="")
    sharing_method: Mapped[str] = mapped_column(String(10))
    open_type: Mapped[str] = mapped_column(String(10), index=True)
    update_cycle: Mapped[str] = mapped_column(String(10))
    release_date: Mapped[date | None] = mapped_column(Date)
    related_codes: Mapped[list] = mapped_column(JSON, default=list)
    data_grade: Mapped[str] = mapped_column(String(4))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    licence: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(12), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # published version number; 0 before the first
    draft: Mapped[dict | None] = mapped_column(JSON)  # pending changes to a published entry
    review_note: Mapped[str] = mapped_column(String(500), default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # the search index's change marker
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list["CatalogItem"]] = relationship(
        cascade="all, delete-orphan", order_by="CatalogItem.position", lazy="selectin"
    )


class CatalogItem(Base):
    """信息项 of an entry."""

    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("entry_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(63))
    label: Mapped[str] = mapped_column(String(60))
    data_type: Mapped[str] = mapped_column(String(10))
    length: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    validator: Mapped[str] = mapped_column(String(20), default="none")
    validator_arg: Mapped[str] = mapped_column(String(500), default="")
    sensitivity: Mapped[int] = mapped_column(Integer, default=1)
    masking: Mapped[str] = mapped_column(String(12), default="none")
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)


class CatalogEntryVersion(Base):
    """A published version of an entry, kept whole as JSON."""

    __tablename__ = "catalog_entry_version"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
