"""The SensorThings entity sets over the models: their properties and navigation links."""

from dataclasses import dataclass, field
from typing import Any

from yiwang.sensing import models as m


@dataclass(frozen=True)
class Nav:
    target: str  # entity set name
    many: bool
    # to-one: the local foreign key attribute; to-many: (association model, local col, remote col) or remote fk
    fk: str | None = None
    remote_fk: str | None = None
    assoc: tuple[Any, str, str] | None = None

    @property
    def to_one_fk(self) -> str:
        """A to-one link's foreign key attribute on the source model."""
        if self.fk is None:
            raise LookupError(f"the link to {self.target} has no local foreign key")
        return self.fk

    @property
    def to_many_fk(self) -> str:
        """A to-many link's foreign key attribute on the target model (links without an association)."""
        if self.remote_fk is None:
            raise LookupError(f"the link to {self.target} has no remote foreign key")
        return self.remote_fk


@dataclass(frozen=True)
class EntityType:
    set_name: str
    singular: str
    model: Any
    props: dict[str, str]  # STA property → model attribute
    navs: dict[str, Nav] = field(default_factory=dict)


ENTITY_TYPES: dict[str, EntityType] = {
    "Things": EntityType(
        "Things",
        "Thing",
        m.Thing,
        {"name": "name", "description": "description", "properties": "properties"},
        {
            "Locations": Nav("Locations", True, assoc=(m.ThingLocation, "thing_id", "location_id")),
            "HistoricalLocations": Nav("HistoricalLocations", True, remote_fk="thing_id"),
            "Datastreams": Nav("Datastreams", True, remote_fk="thing_id"),
        },
    ),
    "Locations": EntityType(
        "Locations",
        "Location",
        m.Location,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "location": "location",
            "properties": "properties",
        },
        {
            "Things": Nav("Things", True, assoc=(m.ThingLocation, "location_id", "thing_id")),
            "HistoricalLocations": Nav(
                "HistoricalLocations",
                True,
                assoc=(m.HistoricalLocationLocation, "location_id", "historical_location_id"),
            ),
        },
    ),
    "HistoricalLocations": EntityType(
        "HistoricalLocations",
        "HistoricalLocation",
        m.HistoricalLocation,
        {"time": "time"},
        {
            "Thing": Nav("Things", False, fk="thing_id"),
            "Locations": Nav(
                "Locations", True, assoc=(m.HistoricalLocationLocation, "historical_location_id", "location_id")
            ),
        },
    ),
    "Datastreams": EntityType(
        "Datastreams",
        "Datastream",
        m.Datastream,
        {
            "name": "name",
            "description": "description",
            "observationType": "observation_type",
            "unitOfMeasurement": "unit_of_measurement",
            "observedArea": "observed_area",
            "phenomenonTime": "phenomenon_time_start",
            "resultTime": "phenomenon_time_end",
            "properties": "properties",
        },
        {
            "Thing": Nav("Things", False, fk="thing_id"),
            "Sensor": Nav("Sensors", False, fk="sensor_id"),
            "ObservedProperty": Nav("ObservedProperties", False, fk="observed_property_id"),
            "Observations": Nav("Observations", True, remote_fk="datastream_id"),
        },
    ),
    "Sensors": EntityType(
        "Sensors",
        "Sensor",
        m.Sensor,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "metadata": "sensor_metadata",
            "properties": "properties",
        },
        {"Datastreams": Nav("Datastreams", True, remote_fk="sensor_id")},
    ),
    "ObservedProperties": EntityType(
        "ObservedProperties",
        "ObservedProperty",
        m.ObservedProperty,
        {"name": "name", "definition": "definition", "description": "description", "properties": "properties"},
        {"Datastreams": Nav("Datastreams", True, remote_fk="observed_property_id")},
    ),
    "Observations": EntityType(
        "Observations",
        "Observation",
        m.Observation,
        {
            "phenomenonTime": "phenomenon_time",
            "resultTime": "result_time",
            "result": "result",
            "resultQuality": "result_quality",
            "parameters": "parameters",
        },
        {
            "Datastream": Nav("Datastreams", False, fk="datastream_id"),
            "FeatureOfInterest": Nav("FeaturesOfInterest", False, fk="feature_of_interest_id"),
        },
    ),
    "FeaturesOfInterest": EntityType(
        "FeaturesOfInterest",
        "FeatureOfInterest",
        m.FeatureOfInterest,
        {
            "name": "name",
            "description": "description",
            "encodingType": "encoding_type",
            "feature": "feature",
            "properties": "properties",
        },
        {"Observations": Nav("Observations", True, remote_fk="feature_of_interest_id")},
    ),
}


JSON_PROPS = {"properties", "parameters", "unitOfMeasurement", "location", "feature", "observedArea"}


TIME_PROPS = {"phenomenonTime", "resultTime", "time"}
