"""The brain's periodic jobs run against the platform and are idempotent."""

from sqlalchemy import func, select

from yiwang.brain import diagnosis, jobs, signs
from yiwang.brain import models as m
from yiwang.brain import service as svc


def test_jobs_run_and_a_second_run_adds_nothing(runtime):
    names = {job.name for job in jobs.jobs(runtime)}
    assert names == {"brain.diagnosis", "brain.refresh"}
    jobs.diagnose(runtime)
    jobs.refresh(runtime)
    with runtime.db.unit_of_work() as db:
        warnings = db.execute(select(func.count(m.SignWarning.id))).scalar_one()
        points = db.execute(select(func.count(m.SeriesPoint.id))).scalar_one()
        snapshots = db.execute(
            select(func.count(m.IndicatorSnapshot.id)).where(m.IndicatorSnapshot.period == svc.current_period())
        ).scalar_one()
        assert db.get(m.SignSnapshot, "signs") is not None and db.get(m.SignSnapshot, "map") is not None
    assert snapshots == 20
    jobs.diagnose(runtime)
    jobs.refresh(runtime)
    with runtime.db.unit_of_work() as db:
        assert db.execute(select(func.count(m.SignWarning.id))).scalar_one() == warnings
        assert db.execute(select(func.count(m.SeriesPoint.id))).scalar_one() == points
        assert diagnosis.detect_warnings(db)["stored"] == 0


def test_a_stale_signs_snapshot_is_recomputed_live(runtime):
    from datetime import timedelta

    with runtime.db.unit_of_work() as db:
        row = db.get(m.SignSnapshot, "signs")
        if row is None:
            signs.store_snapshot(db)
            row = db.get(m.SignSnapshot, "signs")
        row.taken_at = row.taken_at - timedelta(hours=2)
        row.data = '{"marker": "stale"}'
    with runtime.db.unit_of_work() as db:
        fresh = signs.all_signs(db, allowed=None)
        assert "marker" not in fresh and "air" in fresh
