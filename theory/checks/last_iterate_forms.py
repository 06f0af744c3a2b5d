"""Check 6, closed forms of the last-iterate bound Ω_T (Defazio et al. 2023, arXiv 2310.07831, Theorem 10;
Schaipp et al., ICML 2025, arXiv 2501.18965; ``theory.last_iterate``), the two the authors' tests
(``fabian-sp/lr-scheduling``, ``tests/test_rates.py`` and ``tests/test_theory.py``) check:

- constant steps η_t = γ: the terms of Ω_T are D²/(2γT), γG²/2 and γG²H_{T−1}/2 (H_n the harmonic number),
  so Ω*_T = DG√((1 + H_{T−1})/T) at γ* = D/(G√(T(1 + H_{T−1}))); every T from 1 on;
- WSD with a linear cooldown to 0 over the last fifth (η_t = γ for t ≤ T0, γ(T + 1 − t)/(T + 1 − T0) after,
  T0 = T + 1 − ⌊0.2(T + 1)⌋): Ω*_T ≤ the theorem's closed form (``last_iterate.wsd_theorem_bound``) on the
  authors' range T = 100, 300, ..., 4900 and D, G ∈ {1, 5, 10}. The schedule is the library's
  (``wsd:decay_shape=linear,decay_fraction=0.2``, sampled over T + 1 updates), and the check first shows
  that it is the authors' WSD step for step (this ties the sampling convention to theirs).
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np

from theory import last_iterate
from theory.checks.result import Case, CheckResult, bound_case, tex_number
from theory.registry import check_size

NAME = "last_iterate_closed_forms"
WSD = "wsd:decay_shape=linear,decay_fraction=0.2,min_ratio=0"
SETTINGS = {
    "smoke": {"constant_T": 50, "wsd_T": (100, 300, 500), "DG": (1.0, 5.0)},
    "mini": {"constant_T": 500, "wsd_T": tuple(range(100, 5000, 200)), "DG": (1.0, 5.0, 10.0)},
    "full": {"constant_T": 2000, "wsd_T": tuple(range(100, 20000, 200)), "DG": (1.0, 5.0, 10.0)},
}


def constant_errors(T_max: int, DG: tuple[tuple[float, float], ...] = ((1.0, 1.0), (5.0, 10.0))) -> dict:
    """Largest relative error of the computed terms, γ* and Ω*_T against the closed forms, T = 1..T_max,
    at each (D, G) of ``DG`` (steps γ = 1/2, as the authors' test)."""
    worst, where = 0.0, (1, *DG[0])
    for T, (D, G) in itertools.product(range(1, T_max + 1), DG):
        gamma, h = 0.5, last_iterate.harmonic(T - 1)
        terms = last_iterate.refined_terms(np.full(T, gamma), D, G, name="constant")
        expected_terms = (D**2 / (2 * gamma * T), gamma * G**2 / 2, gamma * G**2 * h / 2)
        bound = last_iterate.schedule_bound("constant", T, D, G)
        gamma_star, omega_star = last_iterate.constant_closed_form(T, D, G)
        pairs = [*zip(terms, expected_terms, strict=True), (bound.gamma_star, gamma_star),
                 (bound.omega_star, omega_star)]
        error = max(abs(a - b) / abs(b) if b else abs(a) for a, b in pairs)
        if error > worst:
            worst, where = error, (T, D, G)
    T, D, G = where
    return {"T_max": T_max, "max_rel_error": worst, "at": {"T": T, "D": D, "G": G},
            "omega_star_at_T_max": last_iterate.constant_closed_form(T_max)[1]}


def wsd_rows(Ts: tuple[int, ...], DG: tuple[float, ...]) -> list[dict]:
    """Per T: the library WSD against the authors' steps, and Ω*_T against the theorem at every (D, G)."""
    rows = []
    for T in Ts:
        T0 = T + 1 - int(0.2 * (T + 1))
        library = last_iterate.schedule_multipliers(WSD, T)
        diff = float(np.max(np.abs(library - last_iterate.wsd_linear_steps(T, T0))))
        for D, G in itertools.product(DG, DG):
            bound = last_iterate.refined_bound(library, D, G, name=WSD)
            rows.append({"T": T, "T0": T0, "D": D, "G": G, "omega_star": bound.omega_star,
                         "gamma_star": bound.gamma_star,
                         "theorem": last_iterate.wsd_theorem_bound(T, T0, D, G),
                         "steps_max_diff": diff})
    return rows


def check_last_iterate_closed_forms(constant: dict, wsd: list[dict], *, rtol: float = 1e-12) -> CheckResult:
    """The constant schedule's closed form to ``rtol`` (relative), the library WSD equal to the authors' to
    1e-12, and Ω*_T ≤ the WSD theorem's bound at every (T, D, G) of ``wsd`` (case: the tightest)."""
    cases = [
        bound_case(
            f"constant, T = 1..{constant['T_max']} (worst at T = {constant['at']['T']}, "
            f"D = {constant['at']['D']:g}, G = {constant['at']['G']:g})",
            f"max |Ω_T term, γ*, Ω*_T / closed form with H_(T−1) − 1| ≤ {rtol:g}",
            r"\max \bigl|\Omega^\star_T / DG\sqrt{(1+H_{T-1})/T} - 1\bigr| \le " + tex_number(rtol),
            constant["max_rel_error"],
            rtol,
        )
    ]
    if not wsd:
        cases.append(Case("WSD", "Ω*_T ≤ theorem bound", r"\Omega^\star_T \le B_T", np.nan, np.nan, np.nan,
                          "factor", False))
        return CheckResult(NAME, False, "no WSD case given", {"constant": constant}, cases=cases)
    diff = max(r["steps_max_diff"] for r in wsd)
    Ts = sorted({r["T"] for r in wsd})
    cases.append(bound_case(
        f"library WSD (linear cooldown, 0.2) over T + 1 updates, T = {Ts[0]}..{Ts[-1]} ({len(Ts)} values)",
        "max_t |s_t(library) − s_t(authors' WSDSchedule(steps=T+1))| ≤ 1e-12",
        r"\max_t |s_t^{\mathrm{lib}} - s_t^{\mathrm{WSD}}| \le 10^{-12}",
        diff,
        1e-12,
    ))
    tight = min(wsd, key=lambda r: r["theorem"] / r["omega_star"])
    holds = all(r["omega_star"] <= r["theorem"] * (1 + 1e-12) for r in wsd)
    grid = ", ".join(f"{v:g}" for v in sorted({r["D"] for r in wsd}))
    theorem_case = bound_case(
        f"WSD, T = {Ts[0]}..{Ts[-1]} ({len(Ts)} values) × D, G ∈ {{{grid}}}; tightest T = {tight['T']} "
        f"(T0 = {tight['T0']}), D = {tight['D']:g}, G = {tight['G']:g}",
        "Ω*_T(WSD) ≤ theorem bound (Schaipp et al. 2025)",
        r"\Omega^\star_T(\mathrm{WSD}) \le B_T(T_0)",
        tight["omega_star"],
        tight["theorem"],
        slack=1e-12,
    )
    cases.append(dataclasses.replace(theorem_case, passed=theorem_case.passed and holds))
    passed = all(c.passed for c in cases)
    ratio = [r["omega_star"] / r["theorem"] for r in wsd]
    summary = (
        f"constant: Ω*_T = DG√((1 + H_(T−1))/T) to a relative {constant['max_rel_error']:.1e} for T = "
        f"1..{constant['T_max']} (Ω* = {constant['omega_star_at_T_max']:.4f} at T = {constant['T_max']}); "
        f"library WSD = authors' WSD (max step difference {diff:.1e}); WSD theorem: Ω*_T ≤ bound at all "
        f"{len(wsd)} (T, D, G): {holds} (Ω*/bound from {min(ratio):.4f} to {max(ratio):.4f}; tightest T = "
        f"{tight['T']}: {tight['omega_star']:.5g} vs {tight['theorem']:.5g})"
    )
    numbers = {"constant": constant, "wsd_theorem_holds": holds, "wsd": wsd, "wsd_steps_max_diff": diff}
    data = {"wsd_T": [r["T"] for r in wsd if r["D"] == r["G"] == 1.0],
            "wsd_ratio": [r["omega_star"] / r["theorem"] for r in wsd if r["D"] == r["G"] == 1.0]}
    return CheckResult(NAME, passed, summary, numbers, data, cases)


def run_last_iterate_closed_forms(size: str, cache_dir: Path | str | None = None) -> CheckResult:
    s = SETTINGS[check_size(size)]
    return check_last_iterate_closed_forms(constant_errors(s["constant_T"]), wsd_rows(s["wsd_T"], s["DG"]))
