"""The demo: citizens' and hotline reports in every state, even when sensor alarms opened events first
(the sensing demo loads first, and its pollution episode can pass AQI 200 and open events)."""

from sqlalchemy import func, select

from yiwang.cityops import demo
from yiwang.cityops import models as m


def test_the_demo_reports_are_loaded_beside_sensor_events(runtime):
    with runtime.db.unit_of_work() as db:
        demo_reports = m.Event.address.endswith("（演示地址）")
        loaded = db.execute(select(func.count()).where(demo_reports)).scalar_one()
        closed = db.execute(select(func.count()).where(demo_reports, m.Event.closed_on_time.is_not(None))).scalar_one()
    # the small demo's reports, whether or not the sensing demo's pollution episode opened events first
    assert loaded == 12 and closed >= 1
    # loading again adds nothing
    assert demo.load(runtime)["events"] == 0
