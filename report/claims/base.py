"""The pieces every claim is built from: `Claim`, `Study` (what a claim can look at), the verdicts."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from report.grid import Grid
from report.stats import minimum_detectable_effect, t_interval

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable at this scale"
#: Not testable because a compared strategy's runs diverged (fewer than two finished at a budget it needs):
#: the data exist, the method failed (`registry.evaluate_all` turns such a claim's untestable rows into it).
COMPARATOR_DIVERGED = "comparator diverged"
UNTESTED = (NOT_TESTABLE, COMPARATOR_DIVERGED)
DECIDED = (REPRODUCED, NOT_REPRODUCED)
CLAIM_COLUMNS = [
    "claim_id",
    "claim",
    "source",
    "setting",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "threshold",
    "unit",
    "verdict",
    "margin",
    "mde",
    "detail",
]


@dataclass
class Study:
    """Everything a claim may read: the grid, the tidy final results (`report.runs.final_table`), the
    anytime evaluations, the tuning choices and the theory benchmarks (project and official protocol)."""

    grid: Grid
    final: pd.DataFrame
    evals: pd.DataFrame = field(default_factory=pd.DataFrame)
    selections: dict[str, Any] = field(default_factory=dict)
    bench: pd.DataFrame | None = None
    bench_official: pd.DataFrame | None = None
    #: The (strategy, budget) pairs whose final runs `accuracy` has read (`evaluate_all` clears it before
    #: each claim and keeps it as that claim's runs, the provenance of its verdict macro).
    read: set[tuple[str, str]] = field(default_factory=set)
    #: Of those, the pairs with diverged runs and fewer than two finished ones: (diverged, runs).
    diverged: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def has(self, *strategies: str) -> bool:
        present = set(self.final["strategy"].astype(str)) if not self.final.empty else set()
        return all(s in present for s in strategies)

    def accuracy(self, strategy: str, budget: str, variant: str = "judged", split: str = "test") -> pd.Series:
        """Per-seed accuracy (%) of one strategy at a budget: its judged model (raw, or its declared
        average), or a named averaging variant; NaN for a diverged or failed run."""
        self.read.add((strategy, budget))
        f = self.final
        rows = f[(f["strategy"] == strategy) & (f["budget"] == budget)]
        rows = rows[rows["judged"]] if variant == "judged" else rows[rows["variant"] == variant]
        values = rows.set_index("seed")[f"{split}_acc"].where(rows.set_index("seed")["status"] == "ok")
        n_diverged = int((rows["status"] == "diverged").sum())
        if n_diverged and int(values.notna().sum()) < 2:
            self.diverged[(strategy, budget)] = (n_diverged, len(rows))
        return values.astype(float)

    def paired(
        self, a: str, b: str, budget: str, variant_a: str = "judged", variant_b: str = "judged",
        seeds: list[int] | None = None,
    ) -> np.ndarray:
        """Per-seed test-accuracy differences a − b at a budget (NaN where either run did not finish), over
        every seed of the budget or, in that order, over ``seeds``."""
        diff = self.accuracy(a, budget, variant_a) - self.accuracy(b, budget, variant_b)
        return (diff if seeds is None else diff.reindex(seeds)).to_numpy(float)


@dataclass(frozen=True)
class ClaimResult:
    """A claim's rows (one per setting) and its overall verdict."""

    rows: list[dict[str, Any]]
    verdict: str


@dataclass(frozen=True)
class Claim:
    """A published claim: what it says, who says it, where, how it is tested, and the literal names of
    the LaTeX macros that quote it (so that ``grep`` finds where a number of the paper comes from)."""

    claim_id: str
    text: str
    source: str  # BibTeX key(s)
    setting: str  # the setting of the original claim
    test: Callable[[Study, Claim], ClaimResult]
    verdict_macro: str  # e.g. "claimLinearCosineVerdict"
    kind: str = "empirical"  # or "implementation" (a property of a formula, not a published result)

    def row(self, setting: str, **values: Any) -> dict[str, Any]:
        """One row of the claims table (missing values NaN / empty)."""
        base = {
            "claim_id": self.claim_id,
            "claim": self.text,
            "source": self.source,
            "setting": setting,
            "n": 0,
            "estimate": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "threshold": math.nan,
            "unit": "points",
            "verdict": NOT_TESTABLE,
            "margin": math.nan,
            "mde": math.nan,
            "detail": "",
        }
        base.update(values)
        return base

    def not_testable(self, setting: str, detail: str) -> ClaimResult:
        return ClaimResult([self.row(setting, detail=detail)], NOT_TESTABLE)


# ------------------------------------------------------------------------------------------- verdicts
def _finite(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values), dtype=float)
    return x[np.isfinite(x)]


def threshold_test(values: Iterable[float], threshold: float) -> dict[str, Any]:
    """Row fields of "the mean of ``values`` exceeds ``threshold``" (superiority: 0; non-inferiority: −δ)."""

    def decide(low: float, high: float) -> tuple[str, float]:
        if low > threshold:
            return REPRODUCED, low - threshold
        if high < threshold:
            return NOT_REPRODUCED, threshold - high
        return INCONCLUSIVE, math.nan

    return _interval_test(values, threshold, decide)


def equivalence_test(values: Iterable[float], margin: float) -> dict[str, Any]:
    """Row fields of "the mean of ``values`` lies within ±``margin``"."""

    def decide(low: float, high: float) -> tuple[str, float]:
        if -margin < low and high < margin:
            return REPRODUCED, min(low + margin, margin - high)
        if low > margin or high < -margin:
            return NOT_REPRODUCED, max(low - margin, -margin - high)
        return INCONCLUSIVE, math.nan

    return _interval_test(values, margin, decide)


def _interval_test(values: Iterable[float], threshold: float,
                   decide: Callable[[float, float], tuple[str, float]]) -> dict[str, Any]:
    """The row fields of a verdict on the 95 % t-interval of ``values``: ``decide(low, high)`` gives the
    verdict and how far the interval clears its bound; ``margin`` is that distance in half-widths (the
    study's target: ≥ 1/3). Fewer than two finite values: not testable."""
    x = _finite(values)
    ci = t_interval(x)
    if ci.n < 2 or not math.isfinite(ci.low):
        return {"n": ci.n, "estimate": ci.mean, "threshold": threshold, "verdict": NOT_TESTABLE}
    verdict, excess = decide(ci.low, ci.high)
    return {
        "n": ci.n,
        "estimate": ci.mean,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "threshold": threshold,
        "verdict": verdict,
        "margin": excess if math.isnan(excess) else excess / ci.half_width if ci.half_width > 0 else math.inf,
        "mde": minimum_detectable_effect(x),
    }


def combine_every(verdicts: list[str]) -> str:
    """A claim "at every setting" from its per-setting verdicts (module docstring of `report.claims`)."""
    if not verdicts:
        return NOT_TESTABLE
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if NOT_TESTABLE in verdicts:
        return NOT_TESTABLE
    if all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    return INCONCLUSIVE
