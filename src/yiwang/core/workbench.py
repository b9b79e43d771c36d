"""The staff workbench registry: each domain contributes the pending work it holds for a user."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from yiwang.core.security import Principal


@dataclass(frozen=True)
class WorkItem:
    source: str  # Chinese name of the contributing module, e.g. "一网统管"
    title: str
    url: str
    due_at: datetime | None = None
    overdue: bool = False


WorkProvider = Callable[[Session, Principal], list[WorkItem]]
_providers: dict[str, WorkProvider] = {}


def register(name: str, provider: WorkProvider) -> None:
    """Register a domain's provider of pending work; re-registering a name replaces it."""
    _providers[name] = provider


def unregister(name: str) -> None:
    _providers.pop(name, None)


def pending_work(db: Session, principal: Principal) -> list[WorkItem]:
    """All pending work for the user, overdue first, then by deadline."""
    items: list[WorkItem] = []
    for provider in _providers.values():
        items.extend(provider(db, principal))
    far_future = datetime.max.replace(tzinfo=UTC)
    return sorted(items, key=lambda i: (not i.overdue, i.due_at or far_future))
