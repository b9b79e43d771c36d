"""The scheduler: sources whose cron time has come (or that someone asked to run) are run here, in
`yiwang worker` or, on the embedded default, in `yiwang serve`. Each run holds its source's lease, so
several workers never run one source at once."""

from yiwang.collect import loads, runs
from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.core.timeutil import utcnow


def run_due(runtime: Runtime) -> int:
    """Run every source that is due and free; returns how many this node ran."""
    with runtime.db.read_only() as db:
        due = runs.due_sources(db, now=utcnow())
    ran = 0
    for source_id in due:
        if loads.run_source(runtime, source_id=source_id) is not None:
            ran += 1
    return ran


def jobs(runtime: Runtime) -> list[Job]:
    return [Job("collect.schedule", runtime.settings.collect_poll_seconds, lambda: run_due(runtime))]


def run_one(runtime: Runtime, source_id: int) -> None:
    """Run a source someone asked for (a response's background task); another node may have taken it."""
    loads.run_source(runtime, source_id=source_id)
