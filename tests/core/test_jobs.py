"""The job runner: every job at start and then on its own interval, in one background thread; a failing
job is logged and tried again on its next turn; stop is prompt. `yiwang serve` runs it in-process when
YIWANG_RUN_JOBS_IN_PROCESS is on, and only then."""

import logging
import threading
import time
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from yiwang.app import create_app
from yiwang.core import audit
from yiwang.core.audit import AuditChainHead, AuditSignature
from yiwang.core.jobs import Job, JobRunner
from yiwang.core.security import Principal

JOB_THREAD = "yiwang-jobs"


def _job_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == JOB_THREAD]


def test_each_job_runs_at_start_then_on_its_interval_and_a_failing_one_is_retried(caplog):
    runs: Counter[str] = Counter()
    fast_ran = threading.Semaphore(0)

    def failing() -> None:
        runs["failing"] += 1
        raise RuntimeError("source unreachable")

    def fast() -> None:
        runs["fast"] += 1
        fast_ran.release()

    def hourly() -> None:
        runs["hourly"] += 1

    # In list order on each turn: the failing job's second turn comes before the fast job's second run.
    runner = JobRunner([Job("failing", 1, failing), Job("fast", 1, fast), Job("hourly", 3600, hourly)])
    with caplog.at_level(logging.ERROR, logger="yiwang.core.jobs"):
        runner.start()
        try:
            assert fast_ran.acquire(timeout=10) and fast_ran.acquire(timeout=10), "the fast job runs every second"
        finally:
            began = time.monotonic()
            runner.stop()
    assert time.monotonic() - began < 2, "stop does not wait out a long interval"
    assert runs["hourly"] == 1, "due at start, then not again within the hour"
    assert runs["failing"] >= 2, "a failure is logged and the job tried again on its next turn"
    assert caplog.text.count("job failing failed") == runs["failing"] and "source unreachable" in caplog.text

    stopped = dict(runs)
    time.sleep(1.2)  # longer than a turn
    assert dict(runs) == stopped, "nothing runs after stop"


def test_stopping_a_runner_that_never_started_is_harmless():
    JobRunner([Job("never", 1, lambda: None)]).stop()


def _head(runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return db.execute(select(AuditChainHead.last_seq)).scalar_one()


def _last_signed(runtime) -> int:
    with runtime.db.unit_of_work() as db:
        return db.execute(select(func.max(AuditSignature.seq))).scalar_one() or 0


def test_serve_runs_the_jobs_in_process_only_when_asked_and_stops_them_on_shutdown(settings, runtime, client):
    # A new entry moves the chain head past its last signature (a login would not do: the token may be
    # cached, and another test's jobs may have signed the head since).
    actor = Principal(user_id=None, username="system:test", display_name="测试", kind="system")
    with runtime.db.unit_of_work() as db:
        audit.record(db, actor=actor, action="test.jobs.touch")
    head = _head(runtime)
    assert _last_signed(runtime) < head

    without = create_app(settings, runtime=runtime)
    with TestClient(without):
        assert _job_threads() == []

    with_jobs = create_app(settings.model_copy(update={"run_jobs_in_process": True}), runtime=runtime)
    with TestClient(with_jobs):
        assert len(_job_threads()) == 1
        deadline = time.monotonic() + 30
        while _last_signed(runtime) < head:  # audit.sign_head is the first job of every turn
            assert time.monotonic() < deadline, "the in-process jobs did not sign the audit chain's head"
            time.sleep(0.1)
    assert _job_threads() == [], "shutdown stops the job thread"
