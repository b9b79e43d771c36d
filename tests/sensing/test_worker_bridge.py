"""The worker starts the MQTT bridge as a job when YIWANG_MQTT_URL is set, and not otherwise."""

from dataclasses import replace

from yiwang.sensing import jobs


def test_bridge_job_only_with_mqtt_url(runtime):
    names = [j.name for j in jobs.jobs(runtime)]
    assert "sensing.process" in names and "sensing.health" in names
    assert ("sensing.mqtt_bridge" in names) == bool(runtime.settings.mqtt_url)
    configured = replace(runtime, settings=runtime.settings.model_copy(update={"mqtt_url": "mqtt://127.0.0.1:1883"}))
    assert "sensing.mqtt_bridge" in [j.name for j in jobs.jobs(configured)]


def test_demo_simulate_streams_telemetry(runtime):
    from sqlalchemy import func, select

    from tests.conftest import run_cli
    from yiwang.sensing import models as m

    with runtime.db.unit_of_work() as db:
        before = db.execute(select(func.count()).select_from(m.Observation)).scalar_one()
    result = run_cli(runtime, "demo", "simulate", "--seconds", "1", "--interval", "1")
    assert result.exit_code == 0, result.output
    with runtime.db.unit_of_work() as db:
        after = db.execute(select(func.count()).select_from(m.Observation)).scalar_one()
    assert after > before
