"""Tables of the onestop domain (internal; other domains go through onestop.service)."""

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class ServiceItem(Base):
    """政务服务事项 with the elements of standards.md §8."""

    __tablename__ = "onestop_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # 实施编码
    basic_code: Mapped[str] = mapped_column(String(40), index=True)  # 基本编码
    name: Mapped[str] = mapped_column(String(100), index=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    category: Mapped[str] = mapped_column(String(20))  # 行政许可 | 公共服务 | 行政确认 | 其他行政权力
    audience: Mapped[str] = mapped_column(String(20))  # citizen | enterprise | both
    life_event: Mapped[str | None] = mapped_column(String(40), index=True)
    enterprise_event: Mapped[str | None] = mapped_column(String(40), index=True)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[str] = mapped_column(Text, default="")
    legal_days: Mapped[int] = mapped_column(Integer)
    promised_days: Mapped[int] = mapped_column(Integer)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    fee: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_note: Mapped[str] = mapped_column(String(200), default="")
    process: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of step names
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    online_depth: Mapped[int] = mapped_column(Integer, default=4)  # 1 信息公开 … 4 全程网办
    entry_point: Mapped[bool] = mapped_column(Boolean, default=False)  # 接入“城市服务总入口”
    produces_type_code: Mapped[str | None] = mapped_column(String(21))
    form: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of field definitions
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ItemMaterial(Base):
    """申请材料 of an item: name, required, form, copies and where it comes from."""

    __tablename__ = "onestop_material"
    __table_args__ = (UniqueConstraint("item_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("onestop_item.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))  # the same key in two items means the same document
    name: Mapped[str] = mapped_column(String(100))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    form: Mapped[str] = mapped_column(String(20), default="电子件")
    copies: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(20), default="upload")  # upload | certificate | database | bundle_item
    cert_type_code: Mapped[str | None] = mapped_column(String(21))
    database: Mapped[str | None] = mapped_column(String(20))  # population | legal_person | credit | real_estate
    produced_by: Mapped[str | None] = mapped_column(String(40))  # item code within the same bundle
    max_pages: Mapped[int] = mapped_column(Integer, default=20)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Bundle(Base):
    """一件事: several departments' items behind one form and one set of materials."""

    __tablename__ = "onestop_bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(20))
    lead_department_code: Mapped[str] = mapped_column(String(20))
    entry_point: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class BundleItem(Base):
    __tablename__ = "onestop_bundle_item"
    __table_args__ = (UniqueConstraint("bundle_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("onestop_bundle.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("onestop_item.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Application(Base):
    """办件: one submission by a citizen or enterprise, for an item or a bundle."""

    __tablename__ = "onestop_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    applicant_id: Mapped[int] = mapped_column(Integer, index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("onestop_item.id"), index=True)
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("onestop_bundle.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), index=True)  # processing | supplement | completed
    outcome: Mapped[str | None] = mapped_column(String(20))  # approved | refused | partly_refused
    form_data: Mapped[str] = mapped_column(Text, default="{}")  # personal fields masked (personal.py)
    personal_data: Mapped[str | None] = mapped_column(Text)  # personal fields in clear, AES-GCM
    channel: Mapped[str] = mapped_column(String(20), default="online")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Task(Base):
    """One department's part of an application, with its own clock (办理环节与时限)."""

    __tablename__ = "onestop_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onestop_application.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    department_code: Mapped[str] = mapped_column(String(20))
    item_codes: Mapped[str] = mapped_column(Text)  # JSON list: this department's items of the application
    title: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(
        String(20), index=True
    )  # received | supplement | review | decision | decided | done
    paused_stage: Mapped[str | None] = mapped_column(String(20))
    decision: Mapped[str | None] = mapped_column(String(20))  # approved | refused
    decision_reason: Mapped[str | None] = mapped_column(Text)
    promised_days: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[date | None] = mapped_column(Date)
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    supplement_list: Mapped[str | None] = mapped_column(Text)  # JSON list of what is missing
    handler_id: Mapped[int | None] = mapped_column(Integer)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    used_working_days: Mapped[int | None] = mapped_column(Integer)
    certificates: Mapped[str] = mapped_column(Text, default="[]")  # identifiers issued on completion


class TaskEvent(Base):
    """The history of a task, shown to the applicant and to the other departments of a bundle."""

    __tablename__ = "onestop_task_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("onestop_task.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attachment(Base):
    """An uploaded file, checked and stored under files_dir; bound to an application when submitted."""

    __tablename__ = "onestop_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("onestop_application.id"), index=True)
    material_key: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))  # the content's hash, with digest_algorithm
    digest_algorithm: Mapped[str] = mapped_column(String(16), default="SHA-256", server_default="SHA-256")
    path: Mapped[str] = mapped_column(String(300))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MaterialClaim(Base):
    """How each material of an application was satisfied (upload, certificate, base database, bundle)."""

    __tablename__ = "onestop_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onestop_application.id", ondelete="CASCADE"), index=True)
    material_key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    satisfied_by: Mapped[str] = mapped_column(String(20))  # upload | certificate | database | bundle_item | missing
    reference: Mapped[str | None] = mapped_column(String(120))  # identifier, attachment id, database name, item code
    note: Mapped[str] = mapped_column(String(200), default="")


class Consent(Base):
    """The applicant's consent to use their certificates and base-database records (授权)."""

    __tablename__ = "onestop_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onestop_application.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    text: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)  # JSON: certificates and databases covered
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Notification(Base):
    __tablename__ = "onestop_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Rating(Base):
    """好差评: 1–5 after completion, one per application."""

    __tablename__ = "onestop_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("onestop_application.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FollowUp(Base):
    """差评整改: opened by a rating of 1 or 2, due in 15 working days."""

    __tablename__ = "onestop_followup"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("onestop_rating.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(Integer, index=True)
    department_id: Mapped[int] = mapped_column(Integer, index=True)
    department_code: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Counter(Base):
    """Daily sequence for application numbers (BJ-YYYYMMDD-NNNNNN)."""

    __tablename__ = "onestop_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
