"""Scheduled work of 一网统管: deadline warnings and escalation."""

from yiwang.cityops import service
from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime


def jobs(runtime: Runtime) -> list[Job]:
    def deadlines() -> None:
        with runtime.db.unit_of_work() as db:
            service.check_deadlines(db)

    return [Job("cityops.deadlines", 60, deadlines)]
