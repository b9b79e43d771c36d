"""The SensorThings API through a real client library from PyPI (frost-sta-client), over HTTP."""

from datetime import UTC, datetime, timedelta

import frost_sta_client as fsc
from frost_sta_client.model.ext.unitofmeasurement import UnitOfMeasurement

from tests.conftest import unique


def test_frost_client_creates_and_queries(live_url):
    service = fsc.SensorThingsService(
        f"{live_url}/sta/v1.1", auth_handler=fsc.AuthHandler(username="hbj_steward", password="changshu2026")
    )
    name = unique("frost-")
    thing = fsc.Thing(name=name, description="通过 FROST 客户端创建", properties={"kind": "grid_air"})
    service.create(thing)
    assert thing.id is not None
    sensor = fsc.Sensor(name=f"{name}-s", description="传感器", encoding_type="text/html", metadata="https://x.invalid")
    prop = fsc.ObservedProperty(name="PM2.5", definition="urn:test:pm25", description="细颗粒物")
    datastream = fsc.Datastream(
        name=f"{name}-ds",
        description="PM2.5",
        observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        unit_of_measurement=UnitOfMeasurement(name="ug/m3", symbol="μg/m³", definition="urn:ug"),
        thing=thing,
        sensor=sensor,
        observed_property=prop,
    )
    service.create(datastream)
    assert datastream.id is not None
    start = datetime(2026, 4, 1, tzinfo=UTC)
    for i in range(5):
        obs = fsc.Observation(
            result=float(i * 10), phenomenon_time=(start + timedelta(hours=i)).isoformat(), datastream=datastream
        )
        service.create(obs)
    found = service.things().query().filter(f"name eq '{name}'").list()
    assert [t.name for t in found] == [name]
    observations = datastream.get_observations().query().filter("result ge 20").orderby("result", "desc").list()
    assert [o.result for o in observations] == [40.0, 30.0, 20.0]
    # paging through @iot.nextLink with the client's iterator
    paged = datastream.get_observations().query().top(2).orderby("result", "asc").list()
    assert [o.result for o in paged] == [0.0, 10.0, 20.0, 30.0, 40.0]
    fetched = service.things().find(thing.id)
    assert fetched.name == name
    fetched.description = "已更新"
    service.update(fetched)
    assert service.things().find(thing.id).description == "已更新"
    service.delete(fetched)
    assert service.things().query().filter(f"name eq '{name}'").list().entities == []
