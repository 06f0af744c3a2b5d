"""Small statistics used by the tables and claims: means with Student-t 95% intervals over seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean of n values with a two-sided t confidence interval (NaN bounds when n < 2)."""

    n: int
    mean: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width (NaN when undefined)."""
        return (self.high - self.low) / 2.0


def t_interval(values, confidence: float = CONFIDENCE) -> Interval:
    """Mean and t-interval of the finite entries of ``values``; NaNs (diverged runs) are dropped."""
    x = np.asarray([v for v in np.asarray(values, dtype=float).ravel() if math.isfinite(v)])
    n = int(x.size)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return Interval(n, mean, math.nan, math.nan)
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1)) * sem
    return Interval(n, mean, mean - half, mean + half)


def minimum_detectable_effect(values, confidence: float = CONFIDENCE, power: float = 0.8) -> float:
    """The smallest true mean difference a paired t-test at this ``confidence`` detects with ``power``,
    given the observed spread of ``values``: (t_{1−α/2, n−1} + t_{power, n−1}) · s/√n (NaN for n < 2)."""
    x = np.asarray([v for v in np.asarray(values, dtype=float).ravel() if math.isfinite(v)])
    n = int(x.size)
    if n < 2:
        return math.nan
    df = n - 1
    return float((stats.t.ppf(0.5 + confidence / 2.0, df) + stats.t.ppf(power, df)) * x.std(ddof=1)
                 / math.sqrt(n))


def ratio_interval(numerator, denominator, confidence: float = CONFIDENCE, resamples: int = 10_000,
                   seed: int = 0) -> Interval:
    """Mean(numerator)/mean(denominator) over paired entries (seeds) with a percentile bootstrap interval
    (resampling the pairs; a fixed generator seed makes it reproducible). NaN bounds for n < 2."""
    a, b = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n == 0 or b.mean() == 0:
        return Interval(n, math.nan, math.nan, math.nan)
    estimate = float(a.mean() / b.mean())
    if n < 2:
        return Interval(n, estimate, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    den = b[idx].mean(axis=1)
    ratios = np.where(den != 0, a[idx].mean(axis=1) / np.where(den != 0, den, 1.0), np.nan)
    ratios = ratios[np.isfinite(ratios)]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return Interval(n, estimate, float(low), float(high))
