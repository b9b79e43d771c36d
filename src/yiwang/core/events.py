"""Explicit domain events, delivered in-process only after the publishing transaction commits."""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

Handler = Callable[["DomainEvent"], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_PENDING_KEY = "yiwang_pending_events"
_COMMITTED_KEY = "yiwang_committed_events"


@dataclass(frozen=True)
class DomainEvent:
    name: str  # "<domain>.<what happened>", e.g. "org.user_created"
    payload: dict[str, Any] = field(default_factory=dict)


def subscribe(name: str, handler: Handler) -> None:
    """Run handler after any transaction that published an event of this name commits."""
    _handlers[name].append(handler)


def publish(db: Session, name: str, **payload: Any) -> None:
    """Queue an event on the session; it is delivered only if the transaction commits."""
    db.info.setdefault(_PENDING_KEY, []).append(DomainEvent(name, payload))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info[_COMMITTED_KEY] = session.info.pop(_PENDING_KEY, [])


@event.listens_for(Session, "after_transaction_end")
def _deliver(session: Session, transaction: SessionTransaction) -> None:
    """Deliver once the committed transaction has given its connection back: handlers open their own
    units of work, and on SQLite a process has a single connection (core.db)."""
    if transaction.parent is not None:
        return
    committed: list[DomainEvent] = session.info.pop(_COMMITTED_KEY, [])
    for item in committed:
        for handler in _handlers.get(item.name, []):
            try:
                handler(item)
            except Exception:  # one failing subscriber must not undo a committed change
                log.exception("event handler failed for %s", item.name)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
