"""Diagnosis and forecasting on regular time series (hourly signs, daily event counts), with numpy.

Anomalies: a robust seasonal baseline (the trimmed mean of the same phase — hour of day, or day of
week — over the previous seasons) plus the current level (median of the last few deseasonalised
values), and a residual test against a robust scale (1.4826 × MAD of one-step residuals in the
previous seasons, floored at √expected for counts). A point outside expected ± z·scale is flagged
with its expected band and the reason.

Forecasts: the same seasonal profile plus an AR(p) model of the deseasonalised residual fitted by
least squares; prediction intervals from the AR ψ-weights and the fitted residual variance.
Backtests use rolling origins and compare the mean absolute error against seasonal-naive
(the value one season earlier), which the model must beat.
"""

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Z80 = 1.2816
Z95 = 1.9600


def _trimmed_mean(stack: np.ndarray, axis: int, trim: float = 0.2) -> np.ndarray:
    """Mean after dropping the lowest and highest `trim` share along `axis` (NaNs ignored)."""
    ordered = np.sort(stack, axis=axis)  # NaNs sort last
    valid = np.sum(~np.isnan(stack), axis=axis, keepdims=True)
    n = stack.shape[axis]
    ranks = np.arange(n).reshape([-1 if a == axis else 1 for a in range(stack.ndim)])
    cut = np.floor(valid * trim)
    keep = (ranks >= cut) & (ranks < valid - cut)
    total = np.where(keep, np.nan_to_num(ordered), 0.0).sum(axis=axis)
    count = keep.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# --- anomalies -------------------------------------------------------------------------------------


@dataclass
class Detection:
    index: int
    value: float
    expected: float
    low: float
    high: float
    score: float  # |residual| / scale
    reason: str


@dataclass
class DetectionResult:
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    flags: np.ndarray
    detections: list[Detection] = field(default_factory=list)


def _lag_median(d: np.ndarray, lags: int) -> np.ndarray:
    """Median of the previous `lags` values at each point (NaN where there are none)."""
    stacked = np.full((lags, len(d)), np.nan)
    for k in range(1, lags + 1):
        stacked[k - 1, k:] = d[:-k]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            medians: np.ndarray = np.nanmedian(stacked, axis=0)
            return medians


def detect(
    values: np.ndarray,
    *,
    period: int = 24,
    seasons: int = 14,
    z: float = 4.0,
    counts: bool = False,
    min_deviation: float = 0.0,
    unit: str = "",
    lags: int = 3,
    max_run: int = 6,
    non_negative: bool = False,
) -> DetectionResult:
    """Flag points far outside the expected band; the first `seasons` seasons are history only.

    Expected = the seasonal profile of the previous `seasons` seasons + the current level (median of
    the last `lags` deseasonalised values, so weather-like persistence is followed but a single spike
    is not). Flagged points do not feed the level, unless `max_run` in a row (then it is a new level).
    Scale = 1.4826 × MAD of the one-step residuals within the previous seasons.
    """
    x = np.asarray(values, dtype=float)
    n_seasons = len(x) // period
    empty = np.full(len(x), np.nan)
    if n_seasons <= seasons:
        return DetectionResult(empty, empty.copy(), empty.copy(), np.zeros(len(x), dtype=bool))
    start = len(x) - n_seasons * period  # align so the last season is complete
    grid = x[start:].reshape(n_seasons, period)
    windows = sliding_window_view(grid, seasons, axis=0)[:-1]  # (n_seasons - seasons, period, seasons)
    baseline = _trimmed_mean(windows, axis=2)  # profile for seasons[seasons:]
    # Robust scale of one-step residuals inside each window, against that window's profile.
    flat = windows.transpose(0, 2, 1).reshape(windows.shape[0], -1)
    dev = flat - np.tile(baseline, (1, seasons))
    stacked = np.stack([dev[:, lags - k : dev.shape[1] - k] for k in range(1, lags + 1)])
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            one_step = dev[:, lags:] - np.nanmedian(stacked, axis=0)
            centre = np.nanmedian(one_step, axis=1, keepdims=True)
            mad = np.nanmedian(np.abs(one_step - centre), axis=1)
    scale_season = np.maximum(np.nan_to_num(1.4826 * mad, nan=0.0), 1e-9)
    offset = start + seasons * period
    profile = np.full(len(x), np.nan)
    profile[offset:] = baseline.ravel()
    scale = np.full(len(x), np.nan)
    scale[offset:] = np.repeat(scale_season, period)
    # Deseasonalise the history too (against the first profile), so the first level has lags.
    d = np.full(len(x), np.nan)
    d[offset:] = x[offset:] - profile[offset:]
    first_profile = np.tile(baseline[0], seasons)
    d[start:offset] = x[start:offset] - first_profile
    expected, low, high = empty.copy(), empty.copy(), empty.copy()
    flags = np.zeros(len(x), dtype=bool)
    level_d = d.copy()  # what feeds the level: flagged points replaced by their expectation
    run = 0
    result = DetectionResult(expected, low, high, flags)
    phase_name = "同一时段" if period == 24 else "同一星期几" if period == 7 else "同一相位"
    for i in range(offset, len(x)):
        window = level_d[max(start, i - lags) : i]
        window = window[~np.isnan(window)]
        level = float(np.median(window)) if len(window) else 0.0
        exp = profile[i] + level
        sc = scale[i]
        if counts:
            sc = max(sc, np.sqrt(max(exp, 1.0)))
        band = max(z * sc, min_deviation)
        lo, hi = exp - band, exp + band
        if counts or non_negative:
            lo, exp = max(lo, 0.0), max(exp, 0.0)
        expected[i], low[i], high[i] = exp, lo, hi
        value = x[i]
        if np.isnan(value):
            continue
        if value > hi or value < lo:
            flags[i] = True
            run += 1
            if run <= max_run:
                level_d[i] = level  # an anomaly does not move the level
            score = abs(value - exp) / sc
            above = value > exp
            reason = (
                f"{value:.1f}{unit}{'高于' if above else '低于'}预期区间（{lo:.1f}–{hi:.1f}{unit}）；"
                f"预期值 {exp:.1f}{unit}"
                f" = 前{seasons}个周期{phase_name}的稳健均值 {profile[i]:.1f} + 近{lags}期水平 {level:+.1f}，"
                f"偏离 {score:.1f} 倍稳健标准差"
            )
            result.detections.append(
                Detection(i, float(value), float(exp), float(lo), float(hi), round(score, 2), reason)
            )
        else:
            run = 0
    return result


def precision_recall(flags: np.ndarray, windows: list[tuple[int, int]], tolerance: int = 0) -> dict[str, float]:
    """Precision over flagged points (a flag inside an injected window, ± tolerance, is right) and
    recall over injected anomalies (found when any of its points is flagged)."""
    truth = np.zeros(len(flags), dtype=bool)
    found = 0
    for start, end in windows:
        lo, hi = max(0, start - tolerance), min(len(flags), end + tolerance)
        truth[lo:hi] = True
        found += bool(flags[start:end].any())
    flagged = int(flags.sum())
    true_flags = int((flags & truth).sum())
    return {
        "flagged": flagged,
        "true_flags": true_flags,
        "injected": len(windows),
        "found": found,
        "precision": round(true_flags / flagged, 4) if flagged else 1.0,
        "recall": round(found / len(windows), 4) if windows else 1.0,
    }


# --- forecasts -------------------------------------------------------------------------------------


@dataclass
class Forecast:
    mean: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    method: str


def seasonal_profile(history: np.ndarray, period: int, seasons: int) -> np.ndarray:
    """The trimmed mean of each phase over the last `seasons` seasons; phase 0 is history[-period*k]."""
    usable = min(seasons, len(history) // period)
    block = history[len(history) - usable * period :].reshape(usable, period)
    profile = _trimmed_mean(block, axis=0)
    fallback = np.nanmean(history) if np.isfinite(np.nanmean(history)) else 0.0
    return np.where(np.isnan(profile), fallback, profile)


def _fit_ar(d: np.ndarray, p: int) -> tuple[np.ndarray, float, float]:
    """Least-squares AR(p) with intercept; returns (phi, intercept, residual sd)."""
    d = d[~np.isnan(d)]
    if len(d) <= p + 5:
        return np.zeros(p), float(np.mean(d)) if len(d) else 0.0, float(np.std(d)) if len(d) else 1.0
    rows = sliding_window_view(d[:-1], p)[:, ::-1]  # lag 1..p
    target = d[p:]
    design = np.hstack([rows, np.ones((len(rows), 1))])
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    phi, intercept = coef[:p], coef[p]
    # Keep the model stationary: shrink the lags if their sum reaches one.
    total = np.sum(np.abs(phi))
    if total >= 0.98:
        phi = phi * (0.98 / total)
    resid = target - design @ np.append(phi, intercept)
    sd = float(np.sqrt(np.mean(resid**2))) if len(resid) else 1.0
    return phi, float(intercept), max(sd, 1e-6)


def forecast(
    history: np.ndarray,
    *,
    period: int = 24,
    horizon: int = 72,
    seasons: int = 14,
    p: int = 3,
    non_negative: bool = True,
    calibrate: bool = True,
) -> Forecast:
    """Seasonal profile + AR(p) on the deseasonalised residual, with 80% and 95% intervals.

    The AR variance ignores the drift of the profile itself, so the interval widths are scaled by
    how large the errors of the same model were over the last few seasons of the history (≥ 1).
    """
    x = np.asarray(history, dtype=float)
    x = x[len(x) % period :]  # start on a season boundary so phases line up
    profile = seasonal_profile(x, period, seasons)
    phases = np.arange(len(x)) % period
    window = min(len(x), max(seasons, 4) * period)
    d = (x - profile[phases])[-window:]
    phi, intercept, sd = _fit_ar(d, p)
    lags = list(np.nan_to_num(d[-p:][::-1], nan=0.0)) if len(d) >= p else [0.0] * p
    future_d = []
    for _ in range(horizon):
        value = float(np.dot(phi, lags[:p]) + intercept)
        future_d.append(value)
        lags = [value, *lags[:-1]]
    psi = [1.0]
    for j in range(1, horizon):
        psi.append(sum(phi[i] * psi[j - 1 - i] for i in range(min(p, j))))
    sigma = sd * np.sqrt(np.cumsum(np.square(psi)))
    if calibrate:
        sigma = sigma * _calibration(x, period=period, horizon=horizon, seasons=seasons, p=p, sigma=sigma)
    future_phases = (len(x) + np.arange(horizon)) % period
    mean = profile[future_phases] + np.array(future_d)
    floor = 0.0 if non_negative else -np.inf
    return Forecast(
        mean=np.maximum(mean, floor),
        lo80=np.maximum(mean - Z80 * sigma, floor),
        hi80=np.maximum(mean + Z80 * sigma, floor),
        lo95=np.maximum(mean - Z95 * sigma, floor),
        hi95=np.maximum(mean + Z95 * sigma, floor),
        method=f"季节剖面（{period}期，近{seasons}个周期截尾均值）+ AR({p}) 残差模型",
    )


def _calibration(x: np.ndarray, *, period: int, horizon: int, seasons: int, p: int, sigma: np.ndarray) -> float:
    """Ratio of the model's recent out-of-sample RMSE to its analytic σ (from up to 6 origins), at least 1."""
    errors, count = np.zeros(horizon), 0
    step = max(period, horizon // 2) if period >= 24 else max(1, horizon)
    for k in range(1, 7):
        origin = len(x) - horizon - (k - 1) * step
        if origin < (seasons + 1) * period:
            break
        past = forecast(x[:origin], period=period, horizon=horizon, seasons=seasons, p=p, calibrate=False)
        actual = x[origin : origin + horizon]
        errors += np.square(np.nan_to_num(actual - past.mean))
        count += 1
    if count < 2:
        return 1.0
    rmse = np.sqrt(errors / count)
    return float(max(1.0, np.median(rmse / np.maximum(sigma, 1e-9))))


def seasonal_naive(history: np.ndarray, *, period: int, horizon: int) -> np.ndarray:
    """ŷ(T+h) = y(T+h−k·period), k = ⌈h/period⌉: the value one season before."""
    x = np.asarray(history, dtype=float)
    last = x[-period:]
    return np.array([last[h % period] for h in range(horizon)])


def backtest(
    values: np.ndarray,
    *,
    period: int = 24,
    horizon: int = 72,
    origins: int = 30,
    step: int | None = None,
    seasons: int = 14,
    p: int = 3,
) -> dict[str, float | None]:
    """Rolling-origin backtest: MAE of the model and of seasonal-naive, their ratio, interval coverage."""
    x = np.asarray(values, dtype=float)
    step = step or period
    first = len(x) - horizon - (origins - 1) * step
    if first < (seasons + 1) * period:
        raise ValueError("series too short for this backtest")
    model_err, naive_err, inside80, inside95, count = 0.0, 0.0, 0, 0, 0
    for k in range(origins):
        origin = first + k * step
        train, actual = x[:origin], x[origin : origin + horizon]
        result = forecast(train, period=period, horizon=horizon, seasons=seasons, p=p)
        naive = seasonal_naive(train, period=period, horizon=horizon)
        ok = ~np.isnan(actual)
        model_err += float(np.abs(result.mean - actual)[ok].sum())
        naive_err += float(np.abs(naive - actual)[ok].sum())
        inside80 += int(((actual >= result.lo80) & (actual <= result.hi80))[ok].sum())
        inside95 += int(((actual >= result.lo95) & (actual <= result.hi95))[ok].sum())
        count += int(ok.sum())
    mae_model, mae_naive = model_err / count, naive_err / count
    return {
        "origins": origins,
        "horizon": horizon,
        "points": count,
        "mae_model": round(mae_model, 4),
        "mae_seasonal_naive": round(mae_naive, 4),
        "ratio": round(mae_model / mae_naive, 4) if mae_naive else None,
        "coverage80": round(inside80 / count, 4),
        "coverage95": round(inside95 / count, 4),
    }
