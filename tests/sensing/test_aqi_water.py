"""AQI (HJ 633, 2012 and 2026 editions) and water class (GB 3838-2002) against the standards' tables."""

from datetime import date

import pytest

from yiwang.sensing import aqi, water

D2012 = date(2025, 12, 1)
D2026 = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("pollutant", "value", "e2012", "e2026"),
    [
        ("pm25", 75, 100, 114),
        ("pm10", 180, 115, 124),
        ("no2", 150, 135, 135),
        ("o3", 200, 136, 137),
        ("co", 1.0, 25, 25),
    ],
)
def test_worked_daily_values(pollutant, value, e2012, e2026):
    assert aqi.iaqi(pollutant, value, kind="daily", edition="2012") == e2012
    assert aqi.iaqi(pollutant, value, kind="daily", edition="2026") == e2026


@pytest.mark.parametrize(
    ("pollutant", "kind", "breakpoints"),
    [
        ("so2", "daily", (50, 150, 475, 800, 1600, 2100, 2620)),
        ("so2", "hourly", (150, 500, 650, 800)),
        ("no2", "daily", (40, 80, 180, 280, 565, 750, 940)),
        ("no2", "hourly", (100, 200, 700, 1200, 2340, 3090, 3840)),
        ("pm10", "daily", (50, 150, 250, 350, 420, 500, 600)),
        ("co", "daily", (2, 4, 14, 24, 36, 48, 60)),
        ("co", "hourly", (5, 10, 35, 60, 90, 120, 150)),
        ("o3", "hourly", (160, 200, 300, 400, 800, 1000, 1200)),
        ("o3", "daily", (100, 160, 215, 265, 800)),
        ("pm25", "daily", (35, 75, 115, 150, 250, 350, 500)),
    ],
)
def test_every_breakpoint_of_the_2012_table(pollutant, kind, breakpoints):
    for iaqi_value, bp in zip((50, 100, 150, 200, 300, 400, 500), breakpoints, strict=False):
        assert aqi.iaqi(pollutant, bp, kind=kind, edition="2012") == iaqi_value


def test_2026_changed_rows_only():
    assert aqi.iaqi("pm10", 120, kind="daily", edition="2026") == 100
    assert aqi.iaqi("pm25", 60, kind="daily", edition="2026") == 100
    assert aqi.iaqi("pm25", 115, kind="daily", edition="2026") == 150
    assert aqi.iaqi("so2", 475, kind="daily", edition="2026") == 150  # unchanged row
    # rounding up in 2026, conventional rounding in 2012
    assert aqi.iaqi("pm25", 36, kind="daily", edition="2026") == 52  # 51.92 → 52
    assert aqi.iaqi("no2", 41, kind="daily", edition="2026") == 52  # 51.25 → 52
    assert aqi.iaqi("no2", 41, kind="daily", edition="2012") == 51


def test_edition_is_chosen_by_date():
    assert aqi.edition_for(date(2026, 2, 28)) == "2012"
    assert aqi.edition_for(date(2026, 3, 1)) == "2026"
    assert aqi.compute({"pm25": 75}, kind="daily", day=date(2026, 2, 28)).aqi == 100
    assert aqi.compute({"pm25": 75}, kind="daily", day=date(2026, 3, 1)).aqi == 114


def test_hourly_uses_24h_tables_for_particles_and_1h_for_gases():
    result = aqi.compute({"pm25": 75, "so2": 500, "o3": 200}, kind="hourly", edition="2012")
    assert result.iaqi == {"pm25": 100, "so2": 100, "o3": 100}
    assert result.primary_pollutants == ["pm25", "so2", "o3"]  # ties give several


def test_fallbacks_above_the_tables():
    assert aqi.iaqi("so2", 900, kind="hourly", edition="2026") == 200
    assert aqi.iaqi("so2", 900, kind="hourly", edition="2012", fallback={"so2_24h": 150}) == 100
    assert aqi.iaqi("o3", 900, kind="daily", edition="2026") == 300
    assert aqi.iaqi("o3", 900, kind="daily", edition="2012", fallback={"o3_1h": 1000}) == 400


@pytest.mark.parametrize(
    ("value", "level", "category", "colour"),
    [
        (50, "一级", "优", (0, 228, 0)),
        (51, "二级", "良", (255, 255, 0)),
        (150, "三级", "轻度污染", (255, 126, 0)),
        (200, "四级", "中度污染", (255, 0, 0)),
        (201, "五级", "重度污染", (153, 0, 76)),
        (301, "六级", "严重污染", (126, 0, 35)),
    ],
)
def test_levels(value, level, category, colour):
    assert aqi.level_of(value) == (level, category, colour)


def test_no_primary_pollutant_when_excellent():
    assert aqi.compute({"pm25": 10, "pm10": 20}, kind="daily", edition="2012").primary_pollutants == []


def test_o3_8h_moving_average():
    values = [50.0] * 10 + [200.0] * 8 + [50.0] * 6
    assert aqi.o3_8h_max(values) == 200.0
    assert aqi.o3_8h_max([None] * 24) is None


def test_aqi_calculator_endpoint(anon):
    body = anon.get("/api/sensing/aqi?kind=daily&date=2026-06-01&pm25=75&pm10=180&no2=150&o3=200&co=1.0&so2=10").json()
    assert body == {
        "aqi": 137,
        "iaqi": {"pm25": 114, "pm10": 124, "so2": 10, "no2": 135, "co": 25, "o3": 137},
        "level": "三级",
        "category": "轻度污染",
        "primary_pollutants": ["o3"],
        "edition": "2026",
    }
    old = anon.get("/api/sensing/aqi?kind=daily&date=2025-06-01&pm25=75").json()
    assert old["aqi"] == 100 and old["edition"] == "2012"


@pytest.mark.parametrize(
    "query", ["kind=weekly&pm25=1", "pm25=-1", "pm25=abc", "date=2026-13-01&pm25=1", "", "pm25=1e9"]
)
def test_aqi_calculator_bad_input(anon, query):
    response = anon.get(f"/api/sensing/aqi?{query}")
    assert response.status_code == 422 and "error" in response.json()


@pytest.mark.parametrize(
    ("values", "body", "expected", "limiting"),
    [
        ({"do": 8, "codmn": 1.5, "nh3n": 0.1, "tp": 0.01}, "river", "I", []),
        ({"do": 6.5, "codmn": 3}, "river", "II", ["do", "codmn"]),
        ({"do": 5, "nh3n": 1.0, "tp": 0.1}, "river", "III", ["do", "nh3n"]),
        ({"cod": 30, "bod5": 5}, "river", "IV", ["cod", "bod5"]),
        ({"cod": 30, "bod5": 3.5}, "river", "IV", ["cod"]),
        ({"tp": 0.4}, "river", "V", ["tp"]),
        ({"tp": 0.41, "do": 8}, "river", "劣V", ["tp"]),
        ({"do": 1.9}, "river", "劣V", ["do"]),
        ({"ph": 9.5, "do": 8}, "river", "劣V", ["ph"]),
        ({"tp": 0.05, "tn": 1.2}, "lake", "IV", ["tn"]),
        ({"tp": 0.05, "tn": 1.2}, "river", "II", ["tp"]),
        ({"cod": 15}, "river", "I", []),
    ],
)
def test_water_class_single_factor(values, body, expected, limiting):
    result = water.classify(values, water_body=body)
    assert result.water_class == expected
    assert result.limiting == limiting


def test_river_is_its_worst_station():
    assert water.worst_class(["II", "IV", "III"]) == "IV"
    assert water.worst_class(["V", "劣V"]) == "劣V"


def test_water_class_endpoint(anon):
    body = anon.get("/api/sensing/water-class?water_body=lake&do=6&tp=0.05&tn=1.2&nh3n=0.4").json()
    assert body == {"class": "IV", "limiting": ["tn"]}
    assert anon.get("/api/sensing/water-class?do=1").json() == {"class": "劣V", "limiting": ["do"]}


@pytest.mark.parametrize("query", ["", "water_body=sea&do=5", "do=-1", "ph=15", "do=x"])
def test_water_class_bad_input(anon, query):
    response = anon.get(f"/api/sensing/water-class?{query}")
    assert response.status_code == 422 and "error" in response.json()
