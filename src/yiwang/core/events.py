"""Explicit domain events, delivered in-process only after the publishing transaction commits."""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Handler = Callable[["DomainEvent"], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_PENDING_KEY = "yiwang_pending_events"


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
def _deliver(session: Session) -> None:
    pending: list[DomainEvent] = session.info.pop(_PENDING_KEY, [])
    for item in pending:
        for handler in _handlers.get(item.name, []):
            try:
                handler(item)
            except Exception:  # one failing subscriber must not undo a committed change
                log.exception("event handler failed for %s", item.name)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
