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
