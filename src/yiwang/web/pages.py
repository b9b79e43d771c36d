"""Home page and health endpoints."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy import text

from yiwang.core import workbench
from yiwang.core.db import DbSession
from yiwang.core.migrate import current_matches_head
from yiwang.core.security import MaybeUser, public
from yiwang.web import nav
from yiwang.web.templating import render

FAVICON = Path(__file__).parent / "static" / "favicon.svg"
router = APIRouter(include_in_schema=False)
health_router = APIRouter(tags=["运维 health"])


@router.get("/", response_class=HTMLResponse)
@public
def home(request: Request, db: DbSession, user: MaybeUser) -> HTMLResponse:
    """Entry points to the four areas; logged-in staff also see a count of pending work. Citizens and
    enterprises get their own home page (城市服务总入口), drawn by the domain that registered it."""
    own_home = nav.home_for(user.kind) if user.is_authenticated else None
    if own_home is not None:
        response: HTMLResponse = own_home(request, db, user)
        return response
    area_entries = {key: nav.visible_entries(user, key) for key in nav.AREAS}
    items = workbench.pending_work(db, user) if user.is_authenticated and user.kind == "staff" else []
    return render(request, "home.html", {"area_entries": area_entries, "work_items": items})


@router.get("/favicon.ico")
@public
def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page says: the platform's mark."""
    return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


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
