"""Periodic jobs: run in-process by `yiwang serve` on the embedded default, or by `yiwang worker`."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], object]  # its result is ignored; must be idempotent and safe to run on several nodes at once


class JobRunner:
    """Runs each job on its interval in one background thread until stopped."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        for job in self.jobs:
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            job.run()
        except Exception:  # a failing job is logged and retried on its next turn
            log.exception("job %s failed", job.name)

    def loop(self) -> None:
        due = dict.fromkeys((job.name for job in self.jobs), 0.0)
        elapsed = 0.0
        tick = 1.0
        while not self._stop.is_set():
            for job in self.jobs:
                if elapsed >= due[job.name]:
                    self._run(job)
                    due[job.name] = elapsed + job.every_seconds
            self._stop.wait(tick)
            elapsed += tick

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="yiwang-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
