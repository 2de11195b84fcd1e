"""Small robust statistics: peer outliers and steady-state detection (pure functions)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

ROBUST_Z_LIMIT = -3.5  # shared/BURNIN.md: flag when z < -3.5 ...
MIN_SHORTFALL = 0.03  # ... and the shortfall against the median exceeds 3 % (within a node)
MAD_FLOOR = 0.01  # MAD floored at 1 % of the median: identical peers must not turn noise into outliers


def robust_z(values: Sequence[float]) -> list[float]:
    """z = 0.6745 (x - median) / MAD for each value (Iglewicz and Hoaglin's modified z-score)."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    mad = max(mad, MAD_FLOOR * abs(med), 1e-12)
    return [0.6745 * (v - med) / mad for v in values]


def low_outliers(values: Sequence[float], min_shortfall: float = MIN_SHORTFALL) -> dict[int, tuple[float, float]]:
    """Indices of values far below their peers: {index: (z, shortfall fraction)}. Needs three or more
    values: with two there is no majority to say which one is wrong."""
    if len(values) < 3:
        return {}
    med = statistics.median(values)
    if med <= 0:
        return {}
    out = {}
    for i, z in enumerate(robust_z(values)):
        shortfall = (med - values[i]) / med
        if z < ROBUST_Z_LIMIT and shortfall > min_shortfall:
            out[i] = (z, shortfall)
    return out


def high_outliers(values: Sequence[float], min_excess: float) -> dict[int, float]:
    """Indices whose value exceeds the peer median by more than `min_excess` (absolute units)."""
    if len(values) < 2:
        return {}
    med = statistics.median(values)
    return {i: v - med for i, v in enumerate(values) if v - med > min_excess}


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (t seconds, y) in y per minute; 0 for fewer than two distinct times."""
    if len(points) < 2:
        return 0.0
    ts = [p[0] for p in points]
    ys = [p[1] for p in points]
    tm, ym = statistics.fmean(ts), statistics.fmean(ys)
    den = sum((t - tm) ** 2 for t in ts)
    if den == 0:
        return 0.0
    return 60.0 * sum((t - tm) * (y - ym) for t, y in zip(ts, ys, strict=True)) / den


def window(points: Sequence[tuple[float, float]], seconds: float) -> list[tuple[float, float]]:
    """The points in the last `seconds` of the series."""
    if not points:
        return []
    end = points[-1][0]
    return [p for p in points if p[0] >= end - seconds]


def variation(values: Sequence[float]) -> float:
    """(max - min) / mean; 0 for an empty or all-zero series."""
    if not values:
        return 0.0
    mean = statistics.fmean(values)
    return (max(values) - min(values)) / mean if mean else 0.0


def bucket_variation(points: Sequence[tuple[float, float]], buckets: int = 5) -> float:
    """Variation between the means of `buckets` consecutive slices of a window: single-batch jitter
    averages out, a trend or a step does not. Infinite when there are too few points to judge."""
    if len(points) < buckets:
        return float("inf")
    size = len(points) / buckets
    means = [statistics.fmean(p[1] for p in points[int(k * size) : int((k + 1) * size)]) for k in range(buckets)]
    return variation(means)


def is_steady(
    throughput: Sequence[tuple[float, float]],
    temperature: Sequence[tuple[float, float]],
    tput_window_s: float,
    temp_window_s: float,
    max_variation: float = 0.01,
    max_temp_slope: float = 0.5,
) -> bool:
    """Steady state per shared/BURNIN.md: throughput varies < 1 % over the last `tput_window_s` and the
    temperature slope is < 0.5 C/min over the last `temp_window_s`. Without temperature samples only
    throughput decides (the report says NVML was absent). Both windows must be filled."""
    if not throughput or throughput[-1][0] - throughput[0][0] < tput_window_s:
        return False
    if bucket_variation(window(throughput, tput_window_s)) >= max_variation:
        return False
    if not temperature:
        return True
    if temperature[-1][0] - temperature[0][0] < temp_window_s:
        return False
    return abs(slope_per_minute(window(temperature, temp_window_s))) < max_temp_slope
