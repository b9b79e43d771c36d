"""Helpers for the sensing tests: a fresh device with datastreams (the live server is in tests/conftest.py)."""

from tests.conftest import unique

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
