"""Never block the event loop: a route or dependency declared `async def` may await the request (body,
form, upload) but must not touch the database, call service code or do file I/O.

A coroutine runs on the event loop itself. With SQLite's single pooled connection, one such handler
waiting for the connection stops the loop that the connection's holder needs in order to finish, and
every request stalls until the pool times out. The walk below reads the source of every coroutine in
every route's dependency tree (and the coroutines they await) and names each offence.
"""

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute

from tests.web.test_route_guard import _api_routes
from yiwang.core.db import DbSession, get_db, get_read_db

DB_DEPENDENCIES = {get_db, get_read_db}
DB_TYPE_NAMES = {"DbSession", "ReadDbSession", "Session"}
BLOCKING_MODULE_SUFFIXES = (
    ".service",
    ".pipeline",
    ".ckan",
    ".sta",
    ".ingest",
    ".registries",
    ".auth",
    ".audit",
    ".workbook",
)
BLOCKING_BUILTINS = {"open"}
BLOCKING_METHODS = {
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "mkdir",
    "unlink",
    "rename",
    "rmdir",
    "iterdir",
    "execute",
    "scalar",
    "scalars",
    "commit",
    "flush",
}


def _dependants(dependant) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _coroutine_of(call: Callable[..., Any] | None) -> Callable[..., Any] | None:
    if call is None:
        return None
    if inspect.iscoroutinefunction(call):
        return call
    method = type(call).__dict__.get("__call__")
    if not inspect.isfunction(call) and method is not None and inspect.iscoroutinefunction(method):
        return method
    return None


def _module_of(name: str, namespace: dict[str, Any]) -> str | None:
    value = namespace.get(name)
    return value.__name__ if isinstance(value, types.ModuleType) else None


def _offences_in_source(fn: Callable[..., Any], seen: set[Any]) -> list[str]:
    """What the coroutine's own body does that blocks; follows awaited coroutines of the project."""
    if fn in seen:
        return []
    seen.add(fn)
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return []
    tree = ast.parse(source)
    closure = inspect.getclosurevars(fn)
    namespace = {**closure.globals, **closure.nonlocals}
    offences: list[str] = []
    func = tree.body[0]
    assert isinstance(func, ast.AsyncFunctionDef | ast.FunctionDef)
    for arg in [*func.args.args, *func.args.kwonlyargs]:
        annotation = ast.unparse(arg.annotation) if arg.annotation else ""
        if any(name in annotation for name in DB_TYPE_NAMES):
            offences.append(f"takes a database session ({arg.arg}: {annotation})")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "db" and isinstance(node.ctx, ast.Load):
            offences.append("uses the database session `db`")
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Name) and target.id in BLOCKING_BUILTINS:
            offences.append(f"calls {target.id}()")
        if isinstance(target, ast.Attribute):
            if target.attr in BLOCKING_METHODS:
                offences.append(f"calls .{target.attr}()")
            if isinstance(target.value, ast.Name):
                module = _module_of(target.value.id, namespace)
                called = getattr(namespace.get(target.value.id), target.attr, None)
                if (
                    module
                    and module.startswith("yiwang.")
                    and module.endswith(BLOCKING_MODULE_SUFFIXES)
                    and not inspect.isclass(called)  # building an error or a value object does no I/O
                ):
                    offences.append(f"calls {module}.{target.attr}()")
        if isinstance(target, ast.Name):
            helper = namespace.get(target.id)
            if inspect.isfunction(helper) and not helper.__module__.startswith(("fastapi", "starlette")):
                if inspect.iscoroutinefunction(helper):
                    offences += [f"via {helper.__name__}: {o}" for o in _offences_in_source(helper, seen)]
                elif helper.__module__.startswith("yiwang.") and helper.__module__.endswith(BLOCKING_MODULE_SUFFIXES):
                    offences.append(f"calls {helper.__module__}.{helper.__name__}()")
    return offences


def blocking_coroutines(routes) -> dict[str, list[str]]:
    """Every coroutine route or dependency that blocks, with what it does, keyed by route and name."""
    found: dict[str, list[str]] = {}
    for route in routes:
        for dependant in _dependants(route.dependant):
            coroutine = _coroutine_of(dependant.call)
            if coroutine is None:
                continue
            offences = []
            if any(sub.call in DB_DEPENDENCIES for sub in dependant.dependencies):
                offences.append("depends on a database session")
            offences += _offences_in_source(coroutine, set())
            if offences:
                label = f"{sorted(route.methods)} {route.path} -> {coroutine.__module__}.{coroutine.__qualname__}"
                found[label] = sorted(set(offences))
    return found


def test_no_route_or_dependency_blocks_the_event_loop(app):
    offenders = blocking_coroutines(_api_routes(app))
    assert offenders == {}, "\n".join(f"{label}: {', '.join(what)}" for label, what in offenders.items())


def _probe_routes(probe: FastAPI):
    return [r for r in probe.routes if isinstance(r, APIRoute)]


def test_the_check_notices_an_async_handler_with_a_session():
    probe = FastAPI()

    @probe.get("/a")
    async def handler(db: DbSession) -> dict:
        return {}

    assert list(blocking_coroutines(_probe_routes(probe)).values()) == [
        ["depends on a database session", "takes a database session (db: DbSession)"]
    ]


def test_the_check_notices_service_calls_and_file_io_in_async_dependencies():
    from yiwang.opendata import service as opendata_service

    async def lookup(request: Request) -> Any:
        with open("/dev/null") as handle:
            handle.read()
        return opendata_service.portal_figures(request.state.session)

    async def helper(request: Request) -> Any:
        return await lookup(request)

    probe = FastAPI()

    @probe.post("/b")
    async def handler(value: Annotated[Any, Depends(helper)]) -> dict:
        return {}

    offences = next(iter(blocking_coroutines(_probe_routes(probe)).values()))
    assert "via lookup: calls open()" in offences
    assert "via lookup: calls yiwang.opendata.service.portal_figures()" in offences


def test_the_check_accepts_async_code_that_only_reads_the_request():
    probe = FastAPI()

    async def body_of(request: Request) -> bytes:
        return await request.body()

    @probe.post("/c")
    def handler(body: Annotated[bytes, Depends(body_of)], db: DbSession) -> dict:
        return {}

    assert blocking_coroutines(_probe_routes(probe)) == {}
