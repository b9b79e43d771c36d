"""Periodic work of 城市智脑: copy the signs and look for anomalies; refresh this month's indicators
and scores. Idempotent (upserts; warnings are unique per series and time) and safe on several nodes:
a node that loses a race on a unique key simply rolls back and the next turn catches up."""

import logging

from sqlalchemy.exc import IntegrityError

from yiwang.brain import evaluation
from yiwang.brain import service as svc
from yiwang.core.jobs import Job
from yiwang.core.permissions import SCOPE_ALL_DEPARTMENTS
from yiwang.core.runtime import Runtime
from yiwang.core.security import Principal

log = logging.getLogger(__name__)

JOB_ACTOR = Principal(
    user_id=None,
    username="system:brain",
    display_name="城市智脑定时任务",
    kind="system",
    permissions=frozenset({SCOPE_ALL_DEPARTMENTS}),
)


def diagnose(runtime: Runtime) -> None:
    try:
        with runtime.db.unit_of_work() as db:
            svc.run_diagnosis(db, actor=JOB_ACTOR)
    except IntegrityError:
        log.info("brain diagnosis raced another node; next turn catches up")


def refresh(runtime: Runtime) -> None:
    try:
        with runtime.db.unit_of_work() as db:
            svc.recompute_indicators(db, actor=JOB_ACTOR)
        with runtime.db.unit_of_work() as db:
            evaluation.store(db, period=svc.current_period())
    except IntegrityError:
        log.info("brain refresh raced another node; next turn catches up")


def jobs(runtime: Runtime) -> list[Job]:
    return [
        Job("brain.diagnosis", 600, lambda: diagnose(runtime)),
        Job("brain.refresh", 600, lambda: refresh(runtime)),
    ]
