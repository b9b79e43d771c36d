"""Helpers for the sensing tests: a live server for client libraries, and a fresh device with datastreams."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from tests.conftest import unique


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_url(app) -> Iterator[str]:
    """The test app served by uvicorn on a free 127.0.0.1 port, in a thread."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


MEASURE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def new_thing(client, headers, *, streams=("pm25",), code: str | None = None, max_valid: float = 1000) -> dict:
    """Deep-insert a Thing with a Location and one Datastream per observed property; returns ids."""
    name = unique("thing-")
    body = {
        "name": name,
        "description": "测试设备",
        "properties": {"kind": "air_station", "owner": "test"},
        "Locations": [
            {
                "name": f"{name}-loc",
                "description": "位置",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [120.75, 31.65]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name}-{s}",
                "description": s,
                "observationType": MEASURE,
                "unitOfMeasurement": {"name": "ug/m3", "symbol": "μg/m³", "definition": ""},
                "properties": {"minValid": 0, "maxValid": max_valid},
                "Sensor": {
                    "name": f"{name}-sensor-{s}",
                    "description": "传感器",
                    "encodingType": "text/html",
                    "metadata": "https://example.invalid",
                },
                "ObservedProperty": {"name": s, "definition": f"urn:test:{s}", "description": s},
            }
            for s in streams
        ],
    }
    response = client.post("/sta/v1.1/Things", json=body, headers=headers)
    assert response.status_code == 201, response.text
    thing_id = response.json()["@iot.id"]
    ds = client.get(f"/sta/v1.1/Things({thing_id})/Datastreams?$orderby=id", headers=headers).json()["value"]
    return {"thing_id": thing_id, "name": name, "datastreams": [d["@iot.id"] for d in ds]}
