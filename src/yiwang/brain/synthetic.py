"""Generated city-sign series for demo data, benchmarks and the accuracy tests: realistic shapes
(diurnal and weekly cycles, the year's season, persistent noise, episodes) and injected anomalies."""

from dataclasses import dataclass

import numpy as np


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    noise = rng.normal(0.0, sd, n)
    out = np.empty(n)
    level = 0.0
    for i in range(n):
        level = phi * level + noise[i]
        out[i] = level
    return out


def aqi_series(hours: int, *, seed: int = 0, start_hour: int = 0, start_day_of_year: int = 0) -> np.ndarray:
    """Hourly AQI of one station: higher in winter, morning and evening peaks, persistent weather noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours) + start_hour
    day = start_day_of_year + t / 24.0
    season = 22.0 * np.cos(2 * np.pi * (day - 15) / 365.0)  # peaks mid-January
    hour = t % 24
    diurnal = 9.0 * np.exp(-((hour - 8) ** 2) / 6.0) + 12.0 * np.exp(-((hour - 20) ** 2) / 8.0) - 4.0
    weather = _ar1(rng, hours, 0.92, 3.2)
    base = 58.0 + rng.normal(0, 4)
    aqi: np.ndarray = np.clip(base + season + diurnal + weather, 8.0, None)
    return aqi


def water_level_series(hours: int, *, seed: int = 0, start_hour: int = 0) -> np.ndarray:
    """Hourly inner-river water level (m) at a sluice: regulated diurnal pattern, rain rises that recede."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours) + start_hour
    diurnal = 0.06 * np.sin(2 * np.pi * (t % 24 - 6) / 24.0)
    rain = np.zeros(hours)
    for start in rng.choice(hours, size=max(1, hours // 900), replace=False):
        rise = rng.uniform(0.15, 0.45)
        length = min(hours - start, 96)
        k = np.arange(length)
        # River levels rise over most of a day after rain and recede over the next days.
        rain[start : start + length] += rise * (1 - np.exp(-k / 12.0)) * np.exp(-np.maximum(k - 18, 0) / 30.0)
    noise = _ar1(rng, hours, 0.8, 0.012)
    level: np.ndarray = 3.05 + rng.normal(0, 0.05) + diurnal + rain + noise
    return level


def daily_counts(days: int, *, mean: float, seed: int = 0, start_weekday: int = 0) -> np.ndarray:
    """Daily event counts of one category: weekday pattern, slow drift, Poisson noise."""
    rng = np.random.default_rng(seed)
    weekday = (np.arange(days) + start_weekday) % 7
    pattern = np.array([1.12, 1.05, 1.0, 1.0, 1.02, 0.85, 0.78])[weekday]
    drift = np.exp(_ar1(rng, days, 0.97, 0.04))
    counts: np.ndarray = rng.poisson(mean * pattern * drift).astype(float)
    return counts


@dataclass
class Injected:
    values: np.ndarray
    windows: list[tuple[int, int]]  # [start, end) of each injected anomaly
    kinds: list[str]


def inject(
    values: np.ndarray,
    *,
    count: int,
    seed: int = 0,
    skip: int = 0,
    magnitude: float = 6.0,
    counts: bool = False,
) -> Injected:
    """Add spikes, dips, short level shifts and stuck-at-zero dropouts at random places after `skip`.

    Magnitude is in units of the series' robust spread (1.4826 × MAD of its first differences / √2).
    """
    rng = np.random.default_rng(seed)
    x = np.array(values, dtype=float)
    diffs = np.diff(x[skip:]) if len(x) > skip + 2 else np.diff(x)
    spread = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / np.sqrt(2) or 1.0
    if counts:
        spread = max(spread, np.sqrt(max(float(np.mean(x)), 1.0)))
    windows: list[tuple[int, int]] = []
    kinds: list[str] = []
    slots = np.sort(rng.choice(np.arange(skip, len(x) - 8, 10), size=count, replace=False))
    for start in slots:
        kind = rng.choice(["spike", "dip", "shift", "dropout"], p=[0.4, 0.2, 0.25, 0.15])
        size = magnitude * spread * rng.uniform(1.0, 1.8)
        if kind == "spike":
            end = start + 1
            x[start] += size * 1.5
        elif kind == "dip":
            end = start + 1
            x[start] = max(x[start] - size * 1.5, 0.0) if counts or x[start] > 0 else x[start] - size
        elif kind == "shift":
            end = start + int(rng.integers(3, 7))
            x[start:end] += size
        else:
            end = start + int(rng.integers(2, 5))
            x[start:end] = 0.0
        windows.append((int(start), int(end)))
        kinds.append(str(kind))
    return Injected(x, windows, kinds)
