"""Background work of the org domain: ending browser sessions past their idle or absolute timeout."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.org import sessions


def expire_sessions(runtime: Runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return sessions.expire_sessions(db, settings=runtime.settings)


def jobs(runtime: Runtime) -> list[Job]:
    return [Job("org.sessions.expire", 60, lambda: expire_sessions(runtime))]
