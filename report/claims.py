"""The claims table: published claims tested against our numbers, each with a statistical verdict.

Verdict rule (stated in the paper). For a claim "A beats B", take the paired difference A - B over
seeds (same seed = same initialisation and batch order) and its 95% Student-t interval. The rule is
symmetric: a verdict either way needs the interval to exclude zero.

- **reproduced**: the interval lies above 0 (the claimed direction holds significantly);
- **not reproduced**: the interval lies below 0 (the opposite direction holds significantly);
- **inconclusive**: the interval contains 0 (at this number of seeds the data cannot tell);
- **not testable at this scale**: an input is missing (fewer than 2 seeds, a strategy or budget absent
  from the grid, a method absent from the benchmark).

A claim "A is at least as good as B" (non-inferiority, margin delta = the equivalence margin) is
reproduced when the interval's lower end is above -delta, not reproduced when its upper end is below 0,
inconclusive otherwise. A claim made "at every budget" is reproduced only if it is reproduced at every
budget, and not reproduced as soon as one budget is not reproduced. The equivalence claim "phi = 2
equals cosine" is reproduced when the interval of the difference lies inside +/- margin, not
reproduced when it lies entirely outside, inconclusive otherwise.

UBA's phi is chosen without looking at the run it is judged on: for each seed, the phi with the best
mean accuracy over the *other* seeds (leave-one-seed-out), so the selection does not favour UBA by
picking the luckiest phi of the same runs.

The gradient-call claim is deterministic (no seeds): it is reproduced when HDM-Best converges with
fewer gradient calls than both L-BFGS-M10 and Adam on a strict majority of the benchmark problems that
decide it (a method that does not converge counts as infinitely many calls; a problem on which none of
the three converges within the call budget decides nothing and is marked not testable). With no
deciding problem the claim is not testable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from report.grid import Grid
from report.stats import t_interval
from report.tables import wide_by_variant

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable at this scale"
CLAIM_COLUMNS = ["claim_id", "claim", "source", "setting", "n", "estimate", "ci_low", "ci_high", "unit",
                 "verdict", "detail"]


@dataclass(frozen=True)
class Claim:
    """A published claim."""

    claim_id: str
    text: str
    source: str   # BibTeX key(s) of the paper that makes it
    implementation_check: bool = False   # a property of the formula, not a published empirical claim


CLAIMS = (
    Claim("uba", "UBA ($\\varphi$ chosen on held-out seeds) is at least as good as cosine at every budget",
          "tang2025stepsize"),
    Claim("linear", "Linear decay beats step decay at small budgets", "li2020budgeted"),
    Claim("swa", "SWA improves accuracy over the raw model at the full budget", "izmailov2018averaging"),
    Claim("hdm", "HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam", "chu2025hdm"),
    Claim("phi2", "UBA with $\\varphi = 2$ equals cosine", "tang2025stepsize", implementation_check=True),
)


def directional_verdict(low: float, high: float, n: int) -> str:
    """Verdict for "the difference is positive" from its interval (see the module doc)."""
    if n < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return NOT_TESTABLE
    if low > 0:
        return REPRODUCED
    if high < 0:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def noninferiority_verdict(low: float, high: float, n: int, margin: float) -> str:
    """Verdict for "the difference is >= 0": not reproduced when significantly below 0, reproduced when
    the interval's lower end is above -margin, inconclusive otherwise."""
    if n < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return NOT_TESTABLE
    if high < 0:
        return NOT_REPRODUCED
    if low > -margin:
        return REPRODUCED
    return INCONCLUSIVE


def equivalence_verdict(low: float, high: float, n: int, margin: float) -> str:
    """Verdict for "the difference is zero" with an equivalence margin."""
    if n < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return NOT_TESTABLE
    if -margin <= low and high <= margin:
        return REPRODUCED
    if high < -margin or low > margin:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def combine(verdicts: list[str]) -> str:
    """A claim "at every setting" from its per-setting verdicts."""
    if NOT_REPRODUCED in verdicts:
        return NOT_REPRODUCED
    if not verdicts or NOT_TESTABLE in verdicts:
        return NOT_TESTABLE
    if all(v == REPRODUCED for v in verdicts):
        return REPRODUCED
    return INCONCLUSIVE


def _row(claim: Claim, setting: str, n: int = 0, estimate: float = math.nan, low: float = math.nan,
         high: float = math.nan, unit: str = "points", verdict: str = NOT_TESTABLE, detail: str = "") -> dict:
    return {"claim_id": claim.claim_id, "claim": claim.text, "source": claim.source, "setting": setting,
            "n": n, "estimate": estimate, "ci_low": low, "ci_high": high, "unit": unit, "verdict": verdict,
            "detail": detail}


def _paired(final: pd.DataFrame, a: str, b: str, budget: str, variant_a: str = "off",
            variant_b: str = "off") -> np.ndarray:
    """Per-seed differences acc(a) - acc(b) at a budget (NaN where either run diverged)."""
    def series(strategy: str, variant: str) -> pd.Series:
        sub = final[(final["strategy"] == strategy) & (final["budget"] == budget)
                    & (final["variant"] == variant)]
        return sub.set_index("seed")["test_acc"]
    diff = series(a, variant_a) - series(b, variant_b)
    return diff.to_numpy(dtype=float)


def _has(final: pd.DataFrame, strategy: str) -> bool:
    return strategy in set(final["strategy"].astype(str))


def _accuracy_by_seed(final: pd.DataFrame, strategies: list[str], budget: str) -> pd.DataFrame:
    """Raw-model accuracy, one row per seed, one column per strategy (NaN: diverged or missing)."""
    sub = final[(final["budget"] == budget) & (final["variant"] == "off")
                & final["strategy"].isin(strategies)]
    wide = sub.pivot_table(index="seed", columns="strategy", values="test_acc", aggfunc="first",
                           observed=True)
    return wide.reindex(columns=strategies)


def held_out_choice(acc: pd.DataFrame) -> dict[int, str]:
    """For each seed (row), the column with the best mean over the other seeds' rows (leave-one-seed-out);
    seeds for which no column has a finite mean elsewhere are left out."""
    chosen = {}
    for seed in acc.index:
        others = acc.drop(index=seed).mean(axis=0, skipna=True).dropna()
        if not others.empty:
            chosen[int(seed)] = str(others.idxmax())
    return chosen


def uba_vs_cosine(final: pd.DataFrame, grid: Grid) -> list[dict]:
    """Claim "uba": per budget and seed, UBA with the phi chosen on the other seeds minus cosine (paired
    over seeds), judged as non-inferiority with the equivalence margin."""
    claim, cosine, phis = CLAIMS[0], grid.report["cosine"], grid.uba_phis()
    if not phis or not _has(final, cosine):
        return [_row(claim, "all budgets", detail="the grid lacks UBA or cosine")]
    margin = float(grid.report["equivalence_margin_pp"])
    rows = []
    for b in grid.budgets:
        acc = _accuracy_by_seed(final, [*phis, cosine], b.label)
        chosen = held_out_choice(acc[list(phis)])
        if not chosen:
            rows.append(_row(claim, f"{b.percent}%", detail="fewer than 2 seeds with a finished UBA run"))
            continue
        diffs = [acc.loc[seed, strategy] - acc.loc[seed, cosine] for seed, strategy in chosen.items()]
        ci = t_interval(diffs)
        picked = ", ".join(f"{phis[chosen[s]]:g}" for s in sorted(chosen))
        rows.append(_row(claim, f"{b.percent}%", ci.n, ci.mean, ci.low, ci.high,
                         verdict=noninferiority_verdict(ci.low, ci.high, ci.n, margin),
                         detail=f"best phi = {picked} (for each seed, chosen on the other seeds); "
                                f"margin {margin:g} points"))
    return rows


def linear_vs_step(final: pd.DataFrame, grid: Grid) -> list[dict]:
    """Claim "linear": linear - step, paired over seeds, at every budget <= the small-budget fraction."""
    claim, linear, step = CLAIMS[1], grid.report["linear"], grid.report["step"]
    small = [b for b in grid.budgets if b.fraction <= grid.report["small_budget_max_fraction"] + 1e-12]
    if not (_has(final, linear) and _has(final, step)):
        return [_row(claim, "small budgets", detail="the grid lacks linear or step")]
    if not small:
        limit = 100 * grid.report["small_budget_max_fraction"]
        return [_row(claim, "small budgets",
                     detail=f"the grid has no budget <= {limit:g}% of the full budget")]
    rows = []
    for b in small:
        ci = t_interval(_paired(final, linear, step, b.label))
        rows.append(_row(claim, f"{b.percent}%", ci.n, ci.mean, ci.low, ci.high,
                         verdict=directional_verdict(ci.low, ci.high, ci.n)))
    return rows


def swa_improves(final: pd.DataFrame, grid: Grid) -> list[dict]:
    """Claim "swa": the SWA variant minus the raw model, averaged over strategies within each seed,
    t-interval over seeds, at the full budget (the SWA paper's "1 budget" comparison)."""
    claim, variant = CLAIMS[2], grid.report["swa_variant"]
    if variant not in set(final["variant"].astype(str)):
        return [_row(claim, "full budget", detail=f"the runs have no {variant!r} average")]
    full = grid.budgets[-1]
    if full.fraction < 1.0:
        return [_row(claim, "full budget", detail="the grid has no full-budget runs")]
    wide = wide_by_variant(final[final["budget"] == full.label])
    per_seed = (wide[variant] - wide["off"]).groupby(wide["seed"]).mean()
    ci = t_interval(per_seed)
    return [_row(claim, f"{full.percent}%, {variant}", ci.n, ci.mean, ci.low, ci.high,
                 verdict=directional_verdict(ci.low, ci.high, ci.n),
                 detail="mean over strategies within each seed")]


def hdm_vs_quasi_newton(bench: pd.DataFrame | None) -> list[dict]:
    """Claim "hdm" from the theory benchmark (gradient calls per problem; not converged = infinite)."""
    claim, names = CLAIMS[3], ("HDM-Best", "L-BFGS-M10", "Adam")
    if bench is None or bench.empty:
        return [_row(claim, "benchmark", unit="calls", detail="no benchmark results")]
    missing = [m for m in names if m not in set(bench["method"])]
    if missing:
        return [_row(claim, "benchmark", unit="calls", detail=f"method {missing[0]} missing from bench.csv")]
    calls = bench.assign(eff=np.where(bench["converged"].astype(bool), bench["grad_calls"].astype(float),
                                      math.inf)).pivot_table(index="problem", columns="method", values="eff",
                                                             aggfunc="min")
    rows, wins, decided = [], 0, 0
    for problem, r in calls.iterrows():
        rival = min(r["L-BFGS-M10"], r["Adam"])
        win = bool(math.isfinite(r["HDM-Best"]) and r["HDM-Best"] < rival)
        deciding = math.isfinite(r["HDM-Best"]) or math.isfinite(rival)
        wins += win
        decided += deciding
        est = r["HDM-Best"] - rival if math.isfinite(r["HDM-Best"]) and math.isfinite(rival) else math.nan
        verdict = (REPRODUCED if win else NOT_REPRODUCED) if deciding else NOT_TESTABLE
        rows.append(_row(claim, str(problem), 1, est, unit="calls", verdict=verdict,
                         detail=f"HDM-Best {_calls(r['HDM-Best'])}, L-BFGS-M10 {_calls(r['L-BFGS-M10'])}, "
                                f"Adam {_calls(r['Adam'])}"))
    if decided:
        overall = REPRODUCED if wins > decided / 2 else NOT_REPRODUCED
        detail = (f"HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam on {wins} of the {decided} "
                  f"problems where at least one of the three converged (none did on {len(calls) - decided} "
                  f"of {len(calls)} problems)")
    else:
        overall = NOT_TESTABLE
        detail = f"none of HDM-Best, L-BFGS-M10 and Adam converged on any of the {len(calls)} problems"
    rows.append(_row(claim, "all problems", decided, float(wins), unit="problems won", verdict=overall,
                     detail=detail))
    return rows


def _calls(value: float) -> str:
    return f"{int(value)}" if math.isfinite(value) else "not converged"


def phi2_equals_cosine(final: pd.DataFrame, grid: Grid) -> list[dict]:
    """Claim "phi2": UBA(phi = 2) - cosine inside +/- margin at every budget."""
    claim, cosine = CLAIMS[4], grid.report["cosine"]
    phi2 = [s for s, phi in grid.uba_phis().items() if phi == 2.0]
    if not phi2 or not _has(final, cosine):
        return [_row(claim, "all budgets", detail="the grid lacks UBA with phi = 2 or cosine")]
    margin = float(grid.report["equivalence_margin_pp"])
    rows = []
    for b in grid.budgets:
        ci = t_interval(_paired(final, phi2[0], cosine, b.label))
        rows.append(_row(claim, f"{b.percent}%", ci.n, ci.mean, ci.low, ci.high,
                         verdict=equivalence_verdict(ci.low, ci.high, ci.n, margin),
                         detail=f"margin +/- {margin:g} points"))
    return rows


def claims_table(final: pd.DataFrame, grid: Grid, bench: pd.DataFrame | None) -> pd.DataFrame:
    """Every claim's per-setting rows."""
    rows = (uba_vs_cosine(final, grid) + linear_vs_step(final, grid) + swa_improves(final, grid)
            + hdm_vs_quasi_newton(bench) + phi2_equals_cosine(final, grid))
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def claim_verdicts(claims: pd.DataFrame) -> dict[str, str]:
    """One verdict per claim id (the "all problems" row for hdm; the combination of settings otherwise)."""
    out = {}
    for claim in CLAIMS:
        sub = claims[claims["claim_id"] == claim.claim_id]
        if claim.claim_id == "hdm":
            overall = sub[sub["setting"] == "all problems"]
            out[claim.claim_id] = overall["verdict"].iloc[0] if len(overall) else sub["verdict"].iloc[0]
        else:
            out[claim.claim_id] = combine(list(sub["verdict"]))
    return out
