"""Failed and pending deliveries of the event outbox, for the platform administrator: list and retry."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from yiwang.core import events
from yiwang.core.db import DbSession
from yiwang.core.pagination import Page, PageParams, page_params
from yiwang.core.params import IdPath
from yiwang.core.permissions import EVENTS_MANAGE
from yiwang.core.security import Principal, require
from yiwang.web.csrf import CsrfChecked
from yiwang.web.nav import Entry
from yiwang.web.templating import render

api_router = APIRouter(prefix="/api/admin/events", tags=["运维 events"])
page_router = APIRouter(prefix="/admin/events", include_in_schema=False)
NAV = Entry("admin", "事件投递", "/admin/events", "跨域事件的投递状态，失败重试", EVENTS_MANAGE, 60)
PAGE_SIZE = 30
STATUS_NAMES = {"failed": "投递失败", "pending": "待投递", "delivered": "已投递"}

Manager = Annotated[Principal, Depends(require(EVENTS_MANAGE))]
StatusFilter = Literal["pending", "delivered", "failed"]


@api_router.get("", response_model=Page[events.OutboxRead])
def list_events(
    db: DbSession,
    _: Manager,
    paging: Annotated[PageParams, Depends(page_params)],
    status: StatusFilter | None = None,
) -> Page[events.OutboxRead]:
    """Outbox rows, newest first; `status=failed` lists the deliveries that gave up."""
    items, total = events.list_messages(db, status=status, offset=paging.offset, limit=paging.size)
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@api_router.get("/{message_id}", response_model=events.OutboxRead)
def get_event(db: DbSession, _: Manager, message_id: IdPath) -> events.OutboxRead:
    return events.get_message(db, message_id=message_id)


@api_router.post("/{message_id}/retry", response_model=events.OutboxRead)
def retry_event(db: DbSession, user: Manager, message_id: IdPath) -> events.OutboxRead:
    """Put a failed delivery back in the queue; it is delivered as soon as this request commits."""
    return events.retry(db, actor=user, message_id=message_id)


@page_router.get("", response_class=HTMLResponse)
def events_page(
    request: Request, db: DbSession, _: Manager, status: StatusFilter | None = "failed", page: int = 1
) -> HTMLResponse:
    page = max(page, 1)
    rows, total = events.list_messages(db, status=status, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    return render(
        request,
        "admin/events.html",
        {
            "rows": rows,
            "total": total,
            "counts": events.counts(db),
            "status": status,
            "status_names": STATUS_NAMES,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
        },
    )


@page_router.post("/{message_id}/retry")
def retry_from_page(db: DbSession, user: Manager, message_id: IdPath, _csrf: CsrfChecked) -> RedirectResponse:
    events.retry(db, actor=user, message_id=message_id)
    return RedirectResponse(f"/admin/events?status=failed&retried={message_id}", status_code=303)
