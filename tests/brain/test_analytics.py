"""Anomaly detection finds injected anomalies; forecasts beat seasonal-naive in backtest."""

import numpy as np
import pytest

from yiwang.brain import analytics, synthetic


def _pr(kind: str, seeds: range) -> dict[str, float]:
    totals = {"flagged": 0, "true_flags": 0, "injected": 0, "found": 0}
    for seed in seeds:
        if kind == "events":
            clean = synthetic.daily_counts(365, mean=20, seed=seed)
            injected = synthetic.inject(clean, count=10, seed=seed + 100, skip=7 * 9, counts=True)
            result = analytics.detect(injected.values, period=7, seasons=8, z=3.5, counts=True)
        else:
            clean = (synthetic.aqi_series if kind == "aqi" else synthetic.water_level_series)(24 * 120, seed=seed)
            injected = synthetic.inject(clean, count=20, seed=seed + 100, skip=24 * 15)
            result = analytics.detect(injected.values, period=24, seasons=14, z=4.0)
        found = analytics.precision_recall(result.flags, injected.windows)
        for key in totals:
            totals[key] += found[key]
    return {
        "precision": totals["true_flags"] / totals["flagged"],
        "recall": totals["found"] / totals["injected"],
    }


@pytest.mark.parametrize(
    ("kind", "min_precision", "min_recall"),
    [("aqi", 0.75, 0.95), ("level", 0.6, 0.95), ("events", 0.9, 0.75)],
)
def test_detector_finds_injected_anomalies(kind, min_precision, min_recall):
    figures = _pr(kind, range(8))
    assert figures["precision"] >= min_precision, figures
    assert figures["recall"] >= min_recall, figures


def test_a_clean_series_raises_few_warnings():
    flagged = sum(
        int(analytics.detect(synthetic.aqi_series(24 * 60, seed=seed), period=24, seasons=14).flags.sum())
        for seed in range(5)
    )
    assert flagged / (5 * 24 * (60 - 14)) < 0.01  # under 1% of clean hours


def test_each_detection_carries_its_band_and_reason():
    values = synthetic.aqi_series(24 * 30, seed=3)
    values[-5] += 120
    result = analytics.detect(values, period=24, seasons=14)
    hit = next(d for d in result.detections if d.index == len(values) - 5)
    assert hit.low < hit.expected < hit.high < hit.value
    assert "高于预期区间" in hit.reason and "稳健标准差" in hit.reason
    assert np.isnan(result.expected[: 24 * 14]).all()  # the first seasons are history only


def test_a_hand_made_spike_is_flagged_and_its_neighbours_are_not():
    period, seasons = 24, 14
    base = np.tile(10 + 5 * np.sin(np.arange(period) / period * 2 * np.pi), seasons + 2)
    rng = np.random.default_rng(0)
    values = base + rng.normal(0, 0.5, len(base))
    spike = len(values) - 10
    values[spike] += 8  # 16 standard deviations
    result = analytics.detect(values, period=period, seasons=seasons, z=4.0)
    assert result.flags[spike]
    assert not result.flags[spike - 1] and not result.flags[spike + 1]


@pytest.mark.parametrize("kind", ["aqi", "level", "events"])
def test_forecast_beats_seasonal_naive_in_backtest(kind):
    for seed in range(3):
        if kind == "events":
            values = synthetic.daily_counts(365, mean=20, seed=seed)
            figures = analytics.backtest(values, period=7, horizon=3, origins=60, step=1, seasons=8, p=1)
        else:
            make = synthetic.aqi_series if kind == "aqi" else synthetic.water_level_series
            figures = analytics.backtest(make(24 * 90, seed=seed), period=24, horizon=72, origins=30)
        assert figures["mae_model"] < figures["mae_seasonal_naive"], figures
        assert figures["coverage95"] >= 0.85 and figures["coverage80"] >= 0.7, figures  # near nominal


def test_forecast_intervals_widen_with_the_horizon():
    f = analytics.forecast(synthetic.aqi_series(24 * 30, seed=1), period=24, horizon=72)
    width = f.hi95 - f.lo95
    assert width[-1] > width[0]
    assert (
        (f.lo95 <= f.lo80).all() and (f.lo80 <= f.mean).all() and (f.mean <= f.hi80).all() and (f.hi80 <= f.hi95).all()
    )


def test_seasonal_naive_repeats_the_last_season():
    history = np.arange(48, dtype=float)
    assert analytics.seasonal_naive(history, period=24, horizon=30).tolist() == [*range(24, 48), *range(24, 30)]
