"""Durable domain events: an outbox (事件发件箱) written in the publishing transaction, delivered after it.

`publish` inserts the event into `core_event_outbox` in the same transaction as the change that
raises it, so the event exists exactly when the change does. After that transaction commits, this
process delivers the new rows at once; the `events.deliver` job (in `yiwang serve` on the embedded
default, in `yiwang worker` in production) picks up whatever was not delivered — the process died
first, or a handler failed — with exponential back-off. Delivery is at least once: each row is claimed
with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one writer), and the handlers run in
the claiming transaction, which also marks the row delivered, so a handler's changes and the mark
commit together. Handlers are still written to be idempotent. A row whose handler keeps failing is
marked failed after `max_attempts` and waits for an administrator to retry it.

A handler that talks to another system (an SMS gateway, an application's logout endpoint) subscribes
with `io=True`: it must not wait on the network inside the claiming transaction, which on SQLite holds
the platform's single write lock. The row is leased instead (`available_at` moved past the call's
longest time), the claiming transaction commits, the handler runs with short transactions of its own,
and a second transaction records the outcome and runs the row's other handlers.
"""

import json
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Engine, Index, Integer, String, Text, delete, event, func, insert, select
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from yiwang.core import audit
from yiwang.core.db import Base, UTCDateTime, changed_rows
from yiwang.core.errors import Conflict, NotFound
from yiwang.core.security import Principal
from yiwang.core.timeutil import utcnow

log = logging.getLogger(__name__)

# Test-only: name an event here and a process exits (status 137, as if killed) right after committing
# a transaction that published it, before delivering it. The crash tests use it; never set it otherwise.
CRASH_AFTER_COMMIT_ENV = "YIWANG_TEST_CRASH_AFTER_COMMIT"

_PENDING_KEY = "yiwang_pending_outbox_ids"
_COMMITTED_KEY = "yiwang_committed_outbox_ids"
_NAMES_KEY = "yiwang_pending_event_names"
ERROR_LIMIT = 2000

Status = Literal["pending", "delivered", "failed"]


class EventPayload(BaseModel):
    """The typed payload of one event name; each publishing domain declares its own in schemas.py."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_name: ClassVar[str]  # "<domain>.<what happened>", e.g. "sensing.alarm_confirmed"


P = TypeVar("P", bound=EventPayload)


class OutboxMessage(Base):
    """One published event and how far its delivery has got."""

    __tablename__ = "core_event_outbox"
    __table_args__ = (Index("ix_core_event_outbox_due", "status", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handlers_done: Mapped[str] = mapped_column(Text, default="[]")  # keys of handlers already through
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)  # not delivered before this (back-off)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Transactions = Callable[[], Any]  # opens a short transaction: `with transaction() as db: …` commits


@dataclass(frozen=True)
class Subscription:
    key: str  # stable name of the handler, e.g. "cityops.open_from_alarm"
    payload_type: type[EventPayload]
    handler: Callable[[Any, Any], None]  # (Session, payload), or (Transactions, payload) when io
    io: bool = False


@dataclass
class DeliveryPolicy:
    max_attempts: int = 8
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    batch: int = 200
    # How long an io handler may take before another deliverer may claim its row again.
    io_lease_seconds: float = 300.0

    def delay(self, attempts: int) -> timedelta:
        """Exponential back-off: base, 2×base, 4×base … capped."""
        return timedelta(seconds=min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1)))


_subscriptions: dict[str, dict[str, Subscription]] = defaultdict(dict)
policy = DeliveryPolicy()


def configure(*, max_attempts: int, retry_base_seconds: float) -> None:
    """Set the retry policy of this process (from Settings, at start-up)."""
    policy.max_attempts = max_attempts
    policy.retry_base_seconds = retry_base_seconds


def subscribe(payload_type: type[P], handler: Callable[[Session, P], None], *, key: str) -> None:
    """Run handler(db, payload) for every event of this type, inside the delivering transaction.

    The handler flushes, never commits; it must be idempotent (delivery is at least once). Subscribing
    the same key again replaces the handler, so a process that starts twice does not deliver twice."""
    _subscriptions[payload_type.event_name][key] = Subscription(key, payload_type, handler)


def subscribe_io(payload_type: type[P], handler: Callable[[Transactions, P], None], *, key: str) -> None:
    """Run handler(transaction, payload) outside any transaction, for a handler that calls another
    system; `with transaction() as db:` gives it short ones of its own. Failures are retried as usual."""
    _subscriptions[payload_type.event_name][key] = Subscription(key, payload_type, handler, io=True)


def subscriptions(name: str) -> list[Subscription]:
    return list(_subscriptions.get(name, {}).values())


def publish(db: Session, payload: EventPayload) -> None:
    """Write the event to the outbox in the caller's transaction; it is delivered once that commits."""
    now = utcnow()
    wanted = bool(subscriptions(payload.event_name))
    row_id = db.execute(
        insert(OutboxMessage)
        .values(
            name=payload.event_name,
            payload=payload.model_dump_json(),
            # No subscriber anywhere in the platform: kept for the record, nothing to deliver.
            status="pending" if wanted else "delivered",
            attempts=0,
            handlers_done="[]",
            created_at=now,
            available_at=now,
            delivered_at=None if wanted else now,
        )
        .returning(OutboxMessage.id)
    ).scalar_one()
    db.info.setdefault(_NAMES_KEY, set()).add(payload.event_name)
    if wanted:
        db.info.setdefault(_PENDING_KEY, []).append(row_id)


# ---- delivery right after commit ----------------------------------------------------------------


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    names = session.info.pop(_NAMES_KEY, set())
    crash_on = os.environ.get(CRASH_AFTER_COMMIT_ENV)
    if crash_on and crash_on in names:
        os._exit(137)
    session.info.setdefault(_COMMITTED_KEY, []).extend(session.info.pop(_PENDING_KEY, []))


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_NAMES_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _deliver_committed(session: Session, transaction: SessionTransaction) -> None:
    """Deliver once the committed transaction has given its connection back: delivery opens its own
    transaction, and on SQLite a process has a single connection (core.db)."""
    if transaction.parent is not None:
        return
    committed: list[int] = session.info.pop(_COMMITTED_KEY, [])
    if not committed:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    for row_id in committed:
        try:
            deliver_one(engine, row_id=row_id)
        except Exception:  # the row stays pending; the delivery job tries again
            log.exception("delivering outbox row %s failed", row_id)


# ---- delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    claimed: bool
    delivered: bool = False


def _claim(db: Session, *, row_id: int | None, now: datetime) -> OutboxMessage | None:
    """Lock one due pending row; rows another node holds are skipped, not waited for."""
    query = select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.available_at <= now)
    if row_id is not None:
        query = query.where(OutboxMessage.id == row_id)
    query = query.order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True)
    return db.execute(query).scalar_one_or_none()


def _run_handlers(db: Session, row: OutboxMessage, now: datetime) -> bool:
    done: list[str] = json.loads(row.handlers_done or "[]")
    for sub in subscriptions(row.name):
        if sub.key in done or sub.io:  # io handlers ran before, outside the transaction
            continue
        try:
            payload = sub.payload_type.model_validate_json(row.payload)
            with db.begin_nested():  # a failing handler's changes go; the failure is recorded
                sub.handler(db, payload)
        except Exception as exc:
            _record_failure(row, sub.key, exc, done, now, permanent=isinstance(exc, ValidationError))
            return False
        done.append(sub.key)
    row.handlers_done = json.dumps(done)
    row.status, row.delivered_at, row.last_error = "delivered", now, None
    return True


def _record_failure(
    row: OutboxMessage, key: str, exc: Exception, done: list[str], now: datetime, *, permanent: bool
) -> None:
    row.attempts += 1
    row.handlers_done = json.dumps(done)
    row.last_error = f"{key}: {type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    if permanent or row.attempts >= policy.max_attempts:
        row.status = "failed"
        log.error("event %s #%s failed for good after %s attempts: %s", row.name, row.id, row.attempts, exc)
    else:
        row.available_at = now + policy.delay(row.attempts)
        log.warning("event %s #%s attempt %s failed, retrying: %s", row.name, row.id, row.attempts, exc)


def deliver_one(engine: Engine, *, row_id: int | None = None, now: datetime | None = None) -> DeliveryResult:
    """Claim one due row (a given one, or the oldest) and deliver it, all in one transaction — or, when
    an io handler is due, in two around it."""
    now = now or utcnow()
    with Session(bind=engine, expire_on_commit=False) as db, db.begin():
        row = _claim(db, row_id=row_id, now=now)
        if row is None:
            return DeliveryResult(claimed=False)
        done: list[str] = json.loads(row.handlers_done or "[]")
        io_due = [sub for sub in subscriptions(row.name) if sub.io and sub.key not in done]
        if not io_due:
            return DeliveryResult(claimed=True, delivered=_run_handlers(db, row, now))
        row.available_at = now + timedelta(seconds=policy.io_lease_seconds)  # the lease
        claimed_id, payload = row.id, row.payload
    finished, failure = _run_io_handlers(engine, io_due, payload)
    with Session(bind=engine, expire_on_commit=False) as db, db.begin():
        row = db.get(OutboxMessage, claimed_id, with_for_update=True)
        if row is None or row.status != "pending":  # an administrator settled it meanwhile
            return DeliveryResult(claimed=True)
        done = list(dict.fromkeys(json.loads(row.handlers_done or "[]") + finished))
        if failure is not None:
            key, exc = failure
            _record_failure(row, key, exc, done, now, permanent=isinstance(exc, ValidationError))
            return DeliveryResult(claimed=True)
        row.handlers_done = json.dumps(done)
        delivered = _run_handlers(db, row, now)
    return DeliveryResult(claimed=True, delivered=delivered)


def _run_io_handlers(
    engine: Engine, due: list[Subscription], payload: str
) -> tuple[list[str], tuple[str, Exception] | None]:
    """Run the io handlers in turn, outside any transaction: the keys that got through, and the first
    failure (the rest wait for the retry)."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with Session(bind=engine, expire_on_commit=False) as db, db.begin():
            yield db

    finished: list[str] = []
    for sub in due:
        try:
            sub.handler(transaction, sub.payload_type.model_validate_json(payload))
        except Exception as exc:
            return finished, (sub.key, exc)
        finished.append(sub.key)
    return finished, None


def deliver_due(engine: Engine, *, now: datetime | None = None, limit: int | None = None) -> int:
    """Deliver every due row (up to limit); returns how many were delivered. Safe on several nodes."""
    delivered = 0
    for _ in range(limit or policy.batch):
        result = deliver_one(engine, now=now)
        if not result.claimed:
            break
        delivered += result.delivered
    return delivered


def purge_delivered(db: Session, *, older_than: timedelta) -> int:
    """Drop delivered rows past their keeping time (failed and pending rows stay)."""
    cutoff = utcnow() - older_than
    return changed_rows(
        db, delete(OutboxMessage).where(OutboxMessage.status == "delivered", OutboxMessage.delivered_at < cutoff)
    )


# ---- administration ---------------------------------------------------------------------------


class OutboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    payload: dict[str, Any]
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    available_at: datetime
    delivered_at: datetime | None


def _read(row: OutboxMessage) -> OutboxRead:
    return OutboxRead(
        id=row.id,
        name=row.name,
        payload=json.loads(row.payload),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        available_at=row.available_at,
        delivered_at=row.delivered_at,
    )


def list_messages(
    db: Session, *, status: Status | None, offset: int = 0, limit: int = 50
) -> tuple[list[OutboxRead], int]:
    """Outbox rows, newest first, optionally of one status."""
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.execute(query.order_by(OutboxMessage.id.desc()).offset(offset).limit(limit)).scalars()
    return [_read(r) for r in rows], total


def counts(db: Session) -> dict[str, int]:
    rows = db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {"pending": 0, "delivered": 0, "failed": 0} | {status: n for status, n in rows}


def get_message(db: Session, *, message_id: int) -> OutboxRead:
    row = db.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound("事件不存在")
    return _read(row)


def retry(db: Session, *, actor: Principal, message_id: int) -> OutboxRead:
    """Put a failed row back to pending with a fresh count; it is delivered once this commits."""
    row = db.execute(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()).scalar_one_or_none()
    if row is None:
        raise NotFound("事件不存在")
    if row.status != "failed":
        raise Conflict("只能重试投递失败的事件", code="event_not_failed")
    previous_error = row.last_error
    row.status, row.attempts, row.available_at = "pending", 0, utcnow()
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="core.events.retry",
        target_type="event_outbox",
        target_id=row.id,
        details={"name": row.name, "last_error": (previous_error or "")[:200]},
    )
    db.info.setdefault(_PENDING_KEY, []).append(row.id)
    return _read(row)
