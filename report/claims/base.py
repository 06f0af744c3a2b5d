"""The pieces every claim is built from: `Claim`, `Study` (what a claim can look at), the verdicts."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from report.grid import Grid
from report.runs import AT_CHANCE
from report.stats import minimum_detectable_effect, t_interval, t_interval_from, t_tail_above

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
#: An equivalence claim ("A matches B") whose interval lies entirely above +δ: A is *better* than the claim
#: says; information about A, not a failure of it (decided, like the other two outcomes).
EXCEEDED = "exceeded"
NOT_TESTABLE = "not testable at this scale"
#: Not testable because a compared strategy's runs diverged (fewer than two finished at a budget it needs):
#: the data exist, the method failed (`registry.evaluate_all` turns such a claim's untestable rows into it).
COMPARATOR_DIVERGED = "comparator diverged"
UNTESTED = (NOT_TESTABLE, COMPARATOR_DIVERGED)
DECIDED = (REPRODUCED, NOT_REPRODUCED, EXCEEDED)
#: How a row is tested (the claim's wording decides: "beats"/"surpasses" → superiority, "at least as good"
#: → non-inferiority, "matches" → equivalence with three outcomes; a bootstrap ratio above 0; a
#: deterministic comparison of single runs, never called robust; an exact property of a formula).
SUPERIORITY, NON_INFERIORITY, EQUIVALENCE = "superiority", "non-inferiority", "equivalence"
RATIO = "ratio > 0"
CORRELATION = "rank correlation > 0"  # Spearman's rho with a bootstrap interval over seeds
DETERMINISTIC, EXACT = "deterministic", "exact"
STATISTICAL_TESTS = (SUPERIORITY, NON_INFERIORITY, EQUIVALENCE, RATIO, CORRELATION)
BOOTSTRAP_TESTS = (RATIO, CORRELATION)  # judged on percentile intervals of their bootstrap samples
CLAIM_COLUMNS = [
    "claim_id",
    "claim",
    "source",
    "setting",
    "test",
    "n",
    "estimate",
    "sd",
    "ci_low",
    "ci_high",
    "threshold",
    "unit",
    "raw_verdict",
    "p_value",
    "p_holm",
    "holm_low",
    "holm_high",
    "verdict",
    "margin",
    "mde",
    "seeds_needed",
    "deciding",
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
    #: Training curves of the final runs (`report.runs.curve_table`: step, lr, loss, grad_norm).
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
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
        n_diverged = int(rows["status"].isin(["diverged", AT_CHANCE]).sum())  # never learned: a failure too
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
    #: The source's own claim, paraphrased, and the test its verb calls for (`STATISTICAL_TESTS`,
    #: `DETERMINISTIC`, `EXACT`); every row the claim's test writes carries that test.
    wording: str = ""
    test_type: str = ""
    short: str = ""  # a few words for sentences that list claims (the abstract's findings)

    def row(self, setting: str, **values: Any) -> dict[str, Any]:
        """One row of the claims table (missing values NaN / empty)."""
        base = {
            "claim_id": self.claim_id,
            "claim": self.text,
            "source": self.source,
            "setting": setting,
            "test": "",
            "n": 0,
            "estimate": math.nan,
            "sd": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "threshold": math.nan,
            "unit": "points",
            "raw_verdict": NOT_TESTABLE,
            "p_value": math.nan,
            "p_holm": math.nan,
            "holm_low": math.nan,
            "holm_high": math.nan,
            "verdict": NOT_TESTABLE,
            "margin": math.nan,
            "mde": math.nan,
            "seeds_needed": math.nan,
            "deciding": True,
            "detail": "",
        }
        base.update(values)
        if "raw_verdict" not in values:
            base["raw_verdict"] = base["verdict"]
        return base

    def not_testable(self, setting: str, detail: str) -> ClaimResult:
        return ClaimResult([self.row(setting, detail=detail)], NOT_TESTABLE)


# ------------------------------------------------------------------------------------------- verdicts
def _finite(values: Iterable[float]) -> np.ndarray:
    x = np.asarray(list(values), dtype=float)
    return x[np.isfinite(x)]


def interval_verdict(test: str, low: float, high: float, threshold: float) -> tuple[str, float]:
    """The verdict of an interval [low, high] under ``test`` and how far it clears its bound (points).

    Superiority / non-inferiority / ratio (θ = ``threshold``): reproduced when low > θ, not reproduced
    when high < θ. Equivalence (δ = ``threshold``): reproduced inside (−δ, δ), exceeded above +δ, not
    reproduced below −δ; inconclusive otherwise."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return NOT_TESTABLE, math.nan
    if test == EQUIVALENCE:
        delta = threshold
        if -delta < low and high < delta:
            return REPRODUCED, min(low + delta, delta - high)
        if low > delta:
            return EXCEEDED, low - delta
        if high < -delta:
            return NOT_REPRODUCED, -delta - high
        return INCONCLUSIVE, math.nan
    if low > threshold:
        return REPRODUCED, low - threshold
    if high < threshold:
        return NOT_REPRODUCED, threshold - high
    return INCONCLUSIVE, math.nan


def decision_pvalue(test: str, mean: float, sd: float, n: int, threshold: float) -> float:
    """The p-value of the decision the t-interval takes: the interval at confidence 1 − α decides
    (`interval_verdict`) exactly when this p-value is ≤ α, so Holm's correction applies to it directly.

    Threshold tests: p = 2 min(P(mean > θ fails), P(mean < θ fails)) (a two-sided test of mean = θ).
    Equivalence (TOST, Schuirmann 1987, at α/2 per side): p = min of 2·max(p(mean > −δ), p(mean < δ))
    [equivalent], 2·p(mean > δ) [exceeded], 2·p(mean < −δ) [worse]."""
    if n < 2 or not math.isfinite(sd):
        return math.nan
    if test == EQUIVALENCE:
        above_low = t_tail_above(mean, sd, n, -threshold)  # small: mean > −δ
        above_high = t_tail_above(mean, sd, n, threshold)  # small: mean > δ
        equivalent = 2 * max(above_low, 1 - above_high)
        return float(min(1.0, equivalent, 2 * above_high, 2 * (1 - above_low)))
    up = t_tail_above(mean, sd, n, threshold)
    return float(min(1.0, 2 * min(up, 1 - up)))


def t_row_at(row: dict[str, Any], alpha: float) -> tuple[float, float]:
    """The row's t-interval at confidence 1 − α (from its n, mean and s.d.)."""
    return t_interval_from(row["estimate"], row["sd"], int(row["n"]), 1.0 - alpha)


def _interval_test(values: Iterable[float], threshold: float, test: str) -> dict[str, Any]:
    """The row fields of a verdict on the 95 % t-interval of ``values`` under ``test``; ``margin`` is how
    far the interval clears its bound in half-widths (the study's target: ≥ 1/3). These are the raw
    (uncorrected) fields: `registry.evaluate_all` then applies Holm's correction over the study's rows.
    Fewer than two finite values: not testable."""
    x = _finite(values)
    ci = t_interval(x)
    if ci.n < 2 or not math.isfinite(ci.low):
        return {"n": ci.n, "estimate": ci.mean, "threshold": threshold, "test": test, "verdict": NOT_TESTABLE}
    verdict, excess = interval_verdict(test, ci.low, ci.high, threshold)
    sd = float(x.std(ddof=1))
    return {
        "test": test,
        "n": ci.n,
        "estimate": ci.mean,
        "sd": sd,
        "ci_low": ci.low,
        "ci_high": ci.high,
        "threshold": threshold,
        "raw_verdict": verdict,
        "verdict": verdict,
        "p_value": decision_pvalue(test, ci.mean, sd, ci.n, threshold),
        "margin": excess if math.isnan(excess) else excess / ci.half_width if ci.half_width > 0 else math.inf,
        "mde": minimum_detectable_effect(x),
    }


def threshold_test(values: Iterable[float], threshold: float) -> dict[str, Any]:
    """Row fields of "the mean of ``values`` exceeds ``threshold``": superiority at θ = 0 ("beats"),
    non-inferiority at θ = −δ ("at least as good")."""
    return _interval_test(values, threshold, SUPERIORITY if threshold == 0 else NON_INFERIORITY)


def equivalence_test(values: Iterable[float], margin: float) -> dict[str, Any]:
    """Row fields of "the mean of ``values`` lies within ±``margin``" ("matches"), three outcomes."""
    return _interval_test(values, margin, EQUIVALENCE)


def combine_every(verdicts: list[str]) -> str:
    """A claim "at every setting" from its per-setting verdicts: not reproduced as soon as one setting is
    not, else not testable when one is, else reproduced when every setting is (exceeded when every setting
    is reproduced or exceeded and one is exceeded), else inconclusive."""
    if not verdicts:
        return NOT_TESTABLE
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if NOT_TESTABLE in verdicts:
        return NOT_TESTABLE
    if all(v in (REPRODUCED, EXCEEDED) for v in verdicts):
        return EXCEEDED if EXCEEDED in verdicts else REPRODUCED
    return INCONCLUSIVE

