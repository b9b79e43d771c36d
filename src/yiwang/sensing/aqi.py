"""Air quality index per HJ 633: the 2012 edition, and the 2026 edition in force from 2026-03-01.

Pure functions, unit-tested against the standard's tables (standards.md §1).
"""

import math
from dataclasses import dataclass, field
from datetime import date

EDITION_2026_FROM = date(2026, 3, 1)
IAQI_STEPS = (0, 50, 100, 150, 200, 300, 400, 500)
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "co", "o3")

# Breakpoints per table, 2012 edition; None where the table has no row.
_BP_2012: dict[str, tuple[float | None, ...]] = {
    "so2_24h": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": (0, 150, 500, 650, 800, None, None, None),
    "no2_24h": (0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10_24h": (0, 50, 150, 250, 350, 420, 500, 600),
    "co_24h": (0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": (0, 100, 160, 215, 265, 800, None, None),
    "pm25_24h": (0, 35, 75, 115, 150, 250, 350, 500),
}
_BP_2026 = dict(_BP_2012)
_BP_2026["pm10_24h"] = (0, 50, 120, 250, 350, 420, 500, 600)
_BP_2026["pm25_24h"] = (0, 35, 60, 115, 150, 250, 350, 500)

LEVELS = (
    (50, "一级", "优", (0, 228, 0)),
    (100, "二级", "良", (255, 255, 0)),
    (150, "三级", "轻度污染", (255, 126, 0)),
    (200, "四级", "中度污染", (255, 0, 0)),
    (300, "五级", "重度污染", (153, 0, 76)),
    (math.inf, "六级", "严重污染", (126, 0, 35)),
)
POLLUTANT_LABELS = {"pm25": "PM2.5", "pm10": "PM10", "so2": "SO2", "no2": "NO2", "co": "CO", "o3": "O3"}


@dataclass(frozen=True)
class AqiResult:
    aqi: float | int | None
    iaqi: dict[str, float | int] = field(default_factory=dict)
    level: str | None = None
    category: str | None = None
    colour: tuple[int, int, int] | None = None
    primary_pollutants: list[str] = field(default_factory=list)
    edition: str = "2012"

    def as_dict(self) -> dict:
        return {
            "aqi": self.aqi,
            "iaqi": self.iaqi,
            "level": self.level,
            "category": self.category,
            "colour": list(self.colour) if self.colour else None,
            "primary_pollutants": self.primary_pollutants,
            "edition": self.edition,
        }


def edition_for(day: date) -> str:
    """The edition in force on a date."""
    return "2026" if day >= EDITION_2026_FROM else "2012"


def _linear(value: float, breakpoints: tuple[float | None, ...]) -> float | None:
    """IAQI by linear interpolation; None above the table's last row."""
    if value < 0:
        raise ValueError("浓度不能为负")
    for i in range(1, len(breakpoints)):
        hi = breakpoints[i]
        if hi is None:
            return None
        if value <= hi:
            lo = breakpoints[i - 1]
            assert lo is not None
            return (IAQI_STEPS[i] - IAQI_STEPS[i - 1]) / (hi - lo) * (value - lo) + IAQI_STEPS[i - 1]
    return 500.0  # beyond the top breakpoint: the index is capped at 500


def _round(value: float, edition: str) -> int:
    if edition == "2026":
        return math.ceil(round(value, 9))  # 2026: rounded up (guard against 114.0000000001)
    return math.floor(value + 0.5)  # 2012: conventional rounding


def iaqi(pollutant: str, value: float, *, kind: str, edition: str, fallback: dict[str, float] | None = None) -> int:
    """IAQI of one pollutant for an hourly or daily report; fallback carries SO2 24h / O3 1h for 2012."""
    bp = _BP_2026 if edition == "2026" else _BP_2012
    if pollutant in ("pm25", "pm10"):
        table = f"{pollutant}_24h"
    elif kind == "hourly":
        table = f"{pollutant}_1h"
    else:
        table = "o3_8h" if pollutant == "o3" else f"{pollutant}_24h"
    raw = _linear(value, bp[table])
    if raw is None:
        if table == "so2_1h":
            if edition == "2026":
                raw = 200.0
            else:
                alt = (fallback or {}).get("so2_24h")
                raw = _linear(alt, bp["so2_24h"]) if alt is not None else 200.0
        elif table == "o3_8h":
            if edition == "2026":
                raw = 300.0
            else:
                alt = (fallback or {}).get("o3_1h")
                raw = _linear(alt, bp["o3_1h"]) if alt is not None else 300.0
    assert raw is not None
    return _round(raw, edition)


def level_of(aqi: float) -> tuple[str, str, tuple[int, int, int]]:
    for upper, level, category, colour in LEVELS:
        if aqi <= upper:
            return level, category, colour
    raise AssertionError("unreachable")


def compute(
    concentrations: dict[str, float | None],
    *,
    kind: str = "hourly",
    day: date | None = None,
    edition: str | None = None,
    fallback: dict[str, float] | None = None,
) -> AqiResult:
    """AQI from concentrations (μg/m³, CO mg/m³); missing pollutants are skipped."""
    if kind not in ("hourly", "daily"):
        raise ValueError("kind 只能是 hourly 或 daily")
    chosen = edition or edition_for(day or date.today())
    values: dict[str, float | int] = {
        k: iaqi(k, float(v), kind=kind, edition=chosen, fallback=fallback)
        for k, v in concentrations.items()
        if v is not None
    }
    if not values:
        return AqiResult(aqi=None, edition=chosen)
    aqi = max(values.values())
    level, category, colour = level_of(aqi)
    primary = [k for k in POLLUTANTS if values.get(k) == aqi] if aqi > 50 else []
    return AqiResult(aqi, values, level, category, colour, primary, chosen)


def o3_8h_max(hourly: list[float | None]) -> float | None:
    """Maximum 8-hour moving average of a day's hourly O3 (windows with at least 6 values)."""
    best = None
    for end in range(8, len(hourly) + 1):
        window = [v for v in hourly[end - 8 : end] if v is not None]
        if len(window) >= 6:
            mean = sum(window) / len(window)
            best = mean if best is None else max(best, mean)
    return best
