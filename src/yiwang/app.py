"""create_app(): builds the FastAPI application, mounts every domain's routers and pages."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from yiwang import __version__
from yiwang.config import Settings, get_settings
from yiwang.core.jobs import JobRunner
from yiwang.core.runtime import Runtime
from yiwang.web import errors, nav
from yiwang.web.admission import AdmissionLimits, AdmissionMiddleware
from yiwang.web.middleware import BodyLimitMiddleware, RequestContextMiddleware

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The whole platform as one ASGI app; upgrades the database and loads the demo on first start."""
    from yiwang import bootstrap, domains
    from yiwang.org import auth as org_auth
    from yiwang.web import events_admin
    from yiwang.web import pages as web_pages

    settings = settings or get_settings()
    runtime = runtime or Runtime.build(settings)
    bootstrap.prepare(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = JobRunner(bootstrap.jobs(runtime)) if settings.run_jobs_in_process else None
        with runtime.background_checkpoints():
            if runner:
                runner.start()
            try:
                yield
            finally:
                if runner:
                    runner.stop()

    app = FastAPI(
        title="yiwang 一网 API",
        version=__version__,
        description='常熟市一体化数字政府平台接口。错误统一为 {"error": {"code", "message", "details"}}。',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.db = runtime.db
    app.state.authenticator = org_auth.authenticate_request

    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_json_bytes=settings.max_json_bytes,
        max_passthrough_bytes=settings.mediation_max_body_bytes,
    )
    app.add_middleware(AdmissionMiddleware, limits=_admission_limits(settings))
    app.add_middleware(RequestContextMiddleware, secure_cookies=settings.cookie_secure)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    for plugin in domains.plugins():
        for router in plugin.first_routers:
            app.include_router(router)
    app.include_router(web_pages.health_router)
    app.include_router(web_pages.router)
    app.include_router(events_admin.api_router)
    app.include_router(events_admin.page_router)
    nav.register(events_admin.NAV)
    for plugin in domains.plugins():
        for router in plugin.routers:
            app.include_router(router)
    _freeze_startup_objects()
    return app


def _admission_limits(settings: Settings) -> AdmissionLimits:
    return AdmissionLimits(
        max_in_flight=settings.admission_max_in_flight,
        max_queue=settings.admission_max_queue,
        queue_ms=settings.admission_queue_ms,
        retry_after_seconds=settings.admission_retry_after_seconds,
    )


def _freeze_startup_objects() -> None:
    """What start-up built (modules, routes, mappers, templates) lives as long as the process. Moving
    it out of the collector's generations keeps Python's occasional full collections from walking it:
    on a loaded app each took tens of milliseconds, in the middle of some request."""
    gc.collect()
    gc.freeze()
