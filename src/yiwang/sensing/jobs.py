"""Scheduled work of 物联感知: rollups/AQI/alarms, device health, and the MQTT bridge."""

from yiwang.core.jobs import Job
from yiwang.core.runtime import Runtime
from yiwang.sensing import mqtt, service


def jobs(runtime: Runtime) -> list[Job]:
    def process() -> None:
        with runtime.db.unit_of_work() as db:
            service.run_processing(db)

    def health() -> None:
        with runtime.db.unit_of_work() as db:
            service.update_health(db)

    found = [Job("sensing.process", 30, process), Job("sensing.health", 120, health)]
    if runtime.settings.mqtt_url:
        found.append(Job("sensing.mqtt_bridge", 60, lambda: mqtt.start_if_configured(runtime)))
    return found
