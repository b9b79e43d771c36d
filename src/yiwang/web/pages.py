"""Home page and health endpoints."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from yiwang.core import workbench
from yiwang.core.db import DbSession
from yiwang.core.migrate import current_matches_head
from yiwang.core.security import MaybeUser, public
from yiwang.web import nav
from yiwang.web.templating import render

router = APIRouter(include_in_schema=False)
health_router = APIRouter(tags=["运维 health"])


@router.get("/", response_class=HTMLResponse)
@public
def home(request: Request, db: DbSession, user: MaybeUser) -> HTMLResponse:
    """Entry points to the four areas; logged-in staff also see a count of pending work."""
    area_entries = {key: nav.visible_entries(user, key) for key in nav.AREAS}
    items = workbench.pending_work(db, user) if user.is_authenticated and user.kind == "staff" else []
    return render(request, "home.html", {"area_entries": area_entries, "work_items": items})


@health_router.get("/healthz")
@public
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@health_router.get("/readyz")
@public
def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the migrations' head."""
    database = request.app.state.db
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = current_matches_head(conn)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__}, status_code=503
        )
    if not current:
        return JSONResponse({"status": "unavailable", "database": "ok", "migrations": "pending"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "migrations": "current"})
