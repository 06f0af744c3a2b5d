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
    interval, _ = bootstrap_ratio(numerator, denominator, confidence, resamples, seed)
    return interval


def percentile_interval(samples, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of bootstrap ``samples`` (NaN when there are none)."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(x, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ratio(numerator, denominator, confidence: float = CONFIDENCE, resamples: int = 10_000,
                    seed: int = 0) -> tuple[Interval, np.ndarray]:
    """`ratio_interval` and its bootstrap ratios (for intervals at other levels, `percentile_interval`)."""
    a, b = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    empty = np.empty(0)
    if n == 0 or b.mean() == 0:
        return Interval(n, math.nan, math.nan, math.nan), empty
    estimate = float(a.mean() / b.mean())
    if n < 2:
        return Interval(n, estimate, math.nan, math.nan), empty
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    den = b[idx].mean(axis=1)
    ratios = np.where(den != 0, a[idx].mean(axis=1) / np.where(den != 0, den, 1.0), np.nan)
    ratios = ratios[np.isfinite(ratios)]
    low, high = percentile_interval(ratios, confidence)
    return Interval(n, estimate, low, high), ratios


def bootstrap_pvalue(samples, threshold: float = 0.0) -> float:
    """The decision p-value of a percentile bootstrap interval against ``threshold``: the interval at
    confidence 1 − α excludes θ when this is ≤ α, i.e. 2·min(share of samples ≤ θ, share ≥ θ), at least
    one resample's worth (1/B)."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        return math.nan
    share = min(float(np.mean(x <= threshold)), float(np.mean(x >= threshold)))
    return float(min(1.0, max(2 * share, 1.0 / x.size)))


# ------------------------------------------------------------------------- decisions and the correction
def t_interval_from(mean: float, sd: float, n: int, confidence: float) -> tuple[float, float]:
    """The two-sided Student-t interval of a mean from its summary (n values, sample s.d. ``sd``)."""
    if n < 2 or not math.isfinite(sd):
        return math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df=n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def t_tail_above(mean: float, sd: float, n: int, bound: float) -> float:
    """One-sided p-value of "the true mean exceeds ``bound``" (small when the data say it does):
    P(T_{n−1} ≥ (mean − bound)/(sd/√n)); a zero spread gives 0 or 1."""
    if n < 2:
        return math.nan
    if sd == 0:
        return 0.0 if mean > bound else 1.0
    return float(stats.t.sf((mean - bound) / (sd / math.sqrt(n)), df=n - 1))


def holm(pvalues, alpha: float = 1.0 - CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holm's step-down correction (Holm 1979, "A simple sequentially rejective multiple test procedure")
    of m p-values: sorted ascending, p_(k) is rejected while p_(j) ≤ α/(m − j + 1) for every j ≤ k. Returns
    (rejected, adjusted p = min(1, max_{j≤k} (m − j + 1) p_(j)), the level α/(m − k + 1) each p is compared
    with), in the input order; NaN p-values are not in the family (not rejected, NaN)."""
    p = np.asarray(pvalues, dtype=float)
    rejected = np.zeros(p.size, dtype=bool)
    adjusted = np.full(p.size, math.nan)
    level = np.full(p.size, math.nan)
    members = np.flatnonzero(np.isfinite(p))
    m = members.size
    order = members[np.argsort(p[members], kind="stable")]
    running, still = 0.0, True
    for k, i in enumerate(order):
        level[i] = alpha / (m - k)
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
        still = still and p[i] <= level[i]
        rejected[i] = still
    return rejected, adjusted, level


def seeds_to_decide(effect: float, sd: float, alpha: float = 1.0 - CONFIDENCE, power: float = 0.8,
                    most: int = 1000) -> float:
    """The smallest number of seeds n at which a paired t-test at level ``alpha`` detects a true mean
    distance ``effect`` from its bound with ``power``, given the per-seed s.d. ``sd``:
    (t_{1−α/2, n−1} + t_{power, n−1}) · sd/√n ≤ |effect| (inf beyond ``most``; NaN without a spread)."""
    if not (math.isfinite(effect) and math.isfinite(sd)) or sd <= 0:
        return math.nan
    if effect == 0:
        return math.inf
    for n in range(2, most + 1):
        df = n - 1
        if (stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * sd / math.sqrt(n) <= abs(effect):
            return float(n)
    return math.inf
