"""The last-iterate bound Ω_T of SGD for an arbitrary step-size schedule, on convex Lipschitz problems
(Defazio, Cutkosky, Mehta & Mishchenko 2023, arXiv 2310.07831, Theorem 10; used by Schaipp, Hägele, Taylor,
Şimşekli & Bach, ICML 2025, arXiv 2501.18965, to compare schedules), with the average-iterate bound for
contrast and the schedule that minimises Ω_T.

SGD x_{t+1} = x_t − η_t g_t with E[g_t] ∈ ∂f(x_t) and E‖g_t‖² ≤ G_t², D = ‖x₁ − x*‖. With S = Σ_{t≤T} η_t,
A_k = Σ_{t=k+1..T} η_t, B_k = Σ_{t=k..T} η_t, C_k = Σ_{t=k..T} η_t²G_t²,

    E f(x_T) − f* ≤ Ω_T = D²/(2S) + C_1/(2S) + ½ Σ_{k<T} (η_k/A_k)(C_k/B_k).

x_T is the iterate after T − 1 steps: η_T does not move it, but enters Ω_T (it is the weight of x_T in
the averaging of the proof), and G_T bounds the gradient at x_T. With η_t = γ·s_t each term is 1/γ or γ
times its value at s, so Ω_T(γ) = 𝒯₁/γ + γ𝒯₂ (𝒯₁ = D²/(2Σs), 𝒯₂ the rest at γ = 1), minimised at
γ* = √(𝒯₁/𝒯₂) with Ω*_T = 2√(𝒯₁𝒯₂); Ω*_T does not depend on the scale of s. The average iterate
x̄_T = Σ η_t x_t/S has the textbook bound (D² + C_1)/(2S), so γ*_avg = D/√(Σ s_t²G_t²) and
Ω*_avg = D√(Σ s_t²G_t²)/Σ s_t.

Conventions of the authors' code (``fabian-sp/lr-scheduling``, package ``scheduled``, ``schedules/base.py``,
``_compute_refined_rate``; read, not copied):

- Sampling relative to T. Their tests and scripts build a schedule of ``steps=T + 1`` and evaluate the
  rate at T, which uses its first T entries (``etas[0:T]``); the end value (0 for linear decay or WSD with
  ``final_lr=0``) is η_{T+1} and enters no sum. Here likewise s_t = ``stepsize.schedules.multiplier(name,
  t − 1, total_steps=T + 1)`` for t = 1..T, the library's end-point rule p = (t − 1)/T, so every library
  schedule (any warmup, UBA at any φ) is evaluated as trained over a budget of T + 1 updates; linear
  decay gives s_t = 1 − (t − 1)/T, their WSD with cooldown fraction 1.
- Cancellation in the tail sums. They form A_k as S minus a cumulative sum (and C_k likewise), add 1e-10
  to the unused A_T to avoid a division by zero, and their schedule-optimisation script clamps negative
  C_k, rounding residues of that subtraction, to 0. Here A_k, B_k, C_k are reversed cumulative sums: no
  subtraction, never negative, exactly 0 for an all-zero tail (which is then detected, not hidden by a
  residue), and the k = T term is never formed, so no 1e-10 is needed. The two agree to rounding.
- Negative steps down to −1e-15 are rounding and count as 0 (their ``ALMOST_ZERO_ALLOWED``).

Ω_T is undefined, and a one-line ``ValueError`` names the schedule, when a step is not finite or below
−1e-15, when every step is 0, or when η_T = 0 after a positive step (the term of the last positive step
divides by a zero tail: Ω_T = ∞); and for D or G ≤ 0 or not finite, or gradient-norm bounds G_t of a length
other than T.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Steps this far below 0 are rounding and count as 0 (the authors' ALMOST_ZERO_ALLOWED).
ALMOST_ZERO = -1e-15
#: An optimised schedule counts as converged when max_j |s_j ∂log Ω*_T/∂s_j| is at most this.
STATIONARY = 1e-6


@dataclass(frozen=True)
class Bound:
    """Ω(γ) = t1/γ + γ·t2 for steps γ·s (t1 = 𝒯₁, t2 = 𝒯₂ of the multipliers s)."""

    t1: float
    t2: float

    def omega(self, gamma: float | NDArray[np.float64]) -> float | NDArray[np.float64]:
        """The bound at peak step γ: 𝒯₁/γ + γ𝒯₂."""
        return self.t1 / gamma + gamma * self.t2

    @property
    def gamma_star(self) -> float:
        """γ* = √(𝒯₁/𝒯₂), the minimiser of Ω(γ)."""
        return math.sqrt(self.t1 / self.t2)

    @property
    def omega_star(self) -> float:
        """Ω* = Ω(γ*) = 2√(𝒯₁𝒯₂)."""
        return 2.0 * math.sqrt(self.t1 * self.t2)


# ------------------------------------------------------------------------------------- schedules
def parse_schedule(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME[:key=value,...]`` → (name, params); values are YAML (``uba:phi=4``,
    ``wsd:decay_shape=linear,decay_fraction=0.2``, ``multistep:milestones=[0.3,0.6]``,
    ``cosine:warmup_fraction=0.05``)."""
    import yaml

    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", rest) if rest.strip() else []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"schedule {text!r}: expected NAME or NAME:key=value,..., got item {item!r}")
        try:
            params[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ValueError(f"schedule {text!r}: cannot parse the value of {key.strip()!r}") from None
    return name.strip(), params


def schedule_multipliers(schedule: str, T: int) -> NDArray[np.float64]:
    """s_1..s_T of a library schedule (``NAME[:key=value,...]``, its defaults otherwise) under the authors'
    convention: the first T updates of a budget of T + 1 (module docstring)."""
    if isinstance(T, bool) or not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"schedule {schedule!r}: T must be an integer >= 1, got {T!r}")
    from stepsize.schedules import multiplier

    name, params = parse_schedule(schedule)
    try:
        return multiplier(name, np.arange(int(T)), int(T) + 1, **params)
    except ValueError as error:
        message = str(error).removeprefix(f"schedule {name!r}: ")
        raise ValueError(f"schedule {schedule!r}: {message}") from None


# ------------------------------------------------------------------------------------- validation
def _steps(steps: ArrayLike, name: str) -> NDArray[np.float64]:
    """The steps as a float array, checked: finite, ≥ −1e-15 (rounding, set to 0), not all 0."""
    s = np.asarray(steps, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"schedule {name!r}: the steps must be a non-empty 1-d array, got shape {s.shape}")
    T = s.size
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise ValueError(f"schedule {name!r}, T = {T}: step {bad + 1} is {s[bad]}; Ω_T is undefined")
    if np.any(s < ALMOST_ZERO):
        bad = int(np.argmin(s))
        raise ValueError(f"schedule {name!r}, T = {T}: step {bad + 1} is negative ({s[bad]:.3g})")
    s = np.maximum(s, 0.0)
    if not np.any(s > 0):
        raise ValueError(f"schedule {name!r}, T = {T}: every step is 0, so Ω_T is undefined (Σ η_t = 0)")
    return s


def _distance(D: float, name: str) -> float:
    if isinstance(D, bool) or not isinstance(D, int | float | np.integer | np.floating):
        raise ValueError(f"schedule {name!r}: D must be a number > 0, got {D!r}")
    if not (math.isfinite(D) and D > 0):
        raise ValueError(f"schedule {name!r}: D must be finite and > 0, got D = {D!r}")
    return float(D)


def _norms(G: float | ArrayLike, T: int, name: str) -> NDArray[np.float64]:
    """G_1..G_T from a scalar or an array of length T, each finite and > 0."""
    g = np.asarray(G, dtype=np.float64)
    if g.ndim == 0:
        if not (math.isfinite(g) and g > 0):
            raise ValueError(f"schedule {name!r}: G must be finite and > 0, got G = {float(g)!r}")
        return np.full(T, float(g))
    if g.shape != (T,):
        raise ValueError(
            f"schedule {name!r}, T = {T}: the gradient-norm bounds G_t must be one per step, "
            f"got shape {g.shape}"
        )
    if not np.all(np.isfinite(g) & (g > 0)):
        bad = int(np.flatnonzero(~(np.isfinite(g) & (g > 0)))[0])
        raise ValueError(f"schedule {name!r}, T = {T}: G_{bad + 1} = {g[bad]} (must be finite and > 0)")
    return g


def _tails(s: NDArray[np.float64]) -> NDArray[np.float64]:
    """Σ_{t ≥ k} s_t for every k, by a reversed cumulative sum (no cancellation)."""
    return np.cumsum(s[::-1])[::-1]


# ------------------------------------------------------------------------------------- the bounds
def refined_terms(
    steps: ArrayLike, D: float = 1.0, G: float | ArrayLike = 1.0, *, name: str = "steps"
) -> tuple[float, float, float]:
    """The three terms of Ω_T at the given steps η_1..η_T: D²/(2S), C_1/(2S), ½Σ_{k<T}(η_k/A_k)(C_k/B_k)
    (module docstring; the authors' ``return_split``). ValueError naming ``name`` where Ω_T is undefined."""
    s = _steps(steps, name)
    D = _distance(D, name)
    q = s**2 * _norms(G, s.size, name) ** 2
    if s[-1] == 0:
        last = int(np.flatnonzero(s)[-1])
        raise ValueError(
            f"schedule {name!r}, T = {s.size}: the last step is 0, so the term of step {last + 1} divides by "
            "a zero tail Σ_{t>k} η_t and Ω_T is infinite"
        )
    B, C = _tails(s), _tails(q)
    total = B[0]
    # k < T: A_k = B_{k+1} > 0 because η_T > 0
    third = 0.5 * float(np.sum(s[:-1] / B[1:] * (C[:-1] / B[:-1]))) if s.size > 1 else 0.0
    return D**2 / (2.0 * total), float(C[0]) / (2.0 * total), third


def refined_bound(
    multipliers: ArrayLike, D: float = 1.0, G: float | ArrayLike = 1.0, *, name: str = "steps"
) -> Bound:
    """Ω_T(γ) = 𝒯₁/γ + γ𝒯₂ for steps γ·s_t (𝒯₁, 𝒯₂ from ``refined_terms`` at γ = 1)."""
    first, second, third = refined_terms(multipliers, D, G, name=name)
    return Bound(first, second + third)


def average_bound(
    multipliers: ArrayLike, D: float = 1.0, G: float | ArrayLike = 1.0, *, name: str = "steps"
) -> Bound:
    """The average-iterate bound (D² + Σ η_t²G_t²)/(2Σ η_t) as t1/γ + γ·t2 (the authors' "standard" rate):
    γ*_avg = D/√(Σ s_t²G_t²), Ω*_avg = D√(Σ s_t²G_t²)/Σ s_t. Defined for any non-zero s ≥ 0."""
    s = _steps(multipliers, name)
    D = _distance(D, name)
    q = s**2 * _norms(G, s.size, name) ** 2
    total = float(np.sum(s))
    return Bound(D**2 / (2.0 * total), float(np.sum(q)) / (2.0 * total))


def schedule_bound(schedule: str, T: int, D: float = 1.0, G: float | ArrayLike = 1.0) -> Bound:
    """Ω_T of a library schedule (``NAME[:key=value,...]``) over T steps (authors' sampling)."""
    return refined_bound(schedule_multipliers(schedule, T), D, G, name=schedule)


# ------------------------------------------------------------------------------------- closed forms
def harmonic(n: int) -> float:
    """H_n = Σ_{i=1..n} 1/i (H_0 = 0), summed exactly (math.fsum)."""
    return math.fsum(1.0 / np.arange(1, n + 1)) if n > 0 else 0.0


def constant_closed_form(T: int, D: float = 1.0, G: float = 1.0) -> tuple[float, float]:
    """(γ*, Ω*_T) of the constant schedule s_t = 1: the terms are D²/(2γT), γG²/2 and γG²H_{T−1}/2, so
    𝒯₁ = D²/(2T), 𝒯₂ = G²(1 + H_{T−1})/2, γ* = D/(G√(T(1 + H_{T−1}))), Ω*_T = DG√((1 + H_{T−1})/T)."""
    h = 1.0 + harmonic(T - 1)
    return D / (G * math.sqrt(T * h)), D * G * math.sqrt(h / T)


def wsd_theorem_bound(T: int, T0: int, D: float = 1.0, G: float = 1.0) -> float:
    """The closed-form upper bound on Ω*_T of WSD with a linear cooldown to 0 (η_t = γ for t ≤ T0, then
    γ(T + 1 − t)/(T + 1 − T0)), Schaipp et al. 2025, as the authors' ``tests/test_theory.py`` states it:
    DG·√(4(2/3 + (T + 2T0)/(3(T + T0)) + H_{T+T0−2} − H_{T−T0+1} − (T − T0)(T0 − 1)/(3(T − T0 + 2)(T + T0))
    + 1/(T − T0)² + H_{T−T0−1}/(T − T0 + 1))/(T + T0)). Needs 1 ≤ T0 < T."""
    if not 1 <= T0 < T:
        raise ValueError(f"WSD theorem bound: needs 1 <= T0 < T, got T0 = {T0}, T = {T}")
    n = T - T0
    inner = (
        2.0 / 3.0
        + (T + 2 * T0) / (3.0 * (T + T0))
        + harmonic(T + T0 - 2)
        - harmonic(n + 1)
        - n * (T0 - 1) / (3.0 * (n + 2) * (T + T0))
        + 1.0 / n**2
        + harmonic(n - 1) / (n + 1)
    )
    return D * G * math.sqrt(4.0 * inner / (T + T0))


def wsd_linear_steps(T: int, T0: int) -> NDArray[np.float64]:
    """s_1..s_T of that WSD: 1 for t ≤ T0, (T + 1 − t)/(T + 1 − T0) after (the authors' ``WSDSchedule(
    steps=T + 1, cooldown_len=c, decay_type='linear', final_lr=0)`` has T0 = T + 1 − ⌊c(T + 1)⌋)."""
    t = np.arange(1, T + 1, dtype=np.float64)
    return np.where(t <= T0, 1.0, (T + 1 - t) / (T + 1 - T0))


# ------------------------------------------------------------------------------------- optimum
@dataclass(frozen=True)
class OptimalSchedule:
    """The step sequence minimising Ω*_T (scaled to max 1), its Ω*_T and γ*, and the solver's report:
    ``stationarity`` = max_j |s_j ∂log Ω*_T/∂s_j| (only its negative part at the bound s_j = 1e-12), which
    L-BFGS-B's own stopping message does not certify (it stops "abnormally" when rounding ends the line
    search at the optimum)."""

    multipliers: NDArray[np.float64]
    omega_star: float
    gamma_star: float
    iterations: int
    converged: bool  # stationarity ≤ STATIONARY
    stationarity: float
    message: str


def log_omega_star(s: NDArray[np.float64], D: float, G2: NDArray[np.float64]) -> tuple[float, NDArray]:
    """log Ω*_T(s) = log 2 + ½ log 𝒯₁ + ½ log 𝒯₂ and its gradient in s (η_T > 0 assumed), where
    ∂𝒯₂/∂s_j = s_jG_j²/S − C_1/(2S²) + ½[C_j/(A_jB_j)·[j<T] + 2s_jG_j² Σ_{k≤j,k<T} s_k/(A_kB_k)
    − Σ_{k<j} s_kC_k/(A_k²B_k) − Σ_{k≤j,k<T} s_kC_k/(A_kB_k²)] and ∂ log 𝒯₁/∂s_j = −1/S."""
    q = s**2 * G2
    B, C = _tails(s), _tails(q)
    S, T = B[0], s.size
    inner = np.zeros(T)
    A = B[1:]
    inner[:-1] = s[:-1] / (A * B[:-1])  # s_k/(A_k B_k), k < T
    t2 = C[0] / (2 * S) + 0.5 * float(np.sum(inner[:-1] * C[:-1]))
    u = np.zeros(T)
    u[:-1] = inner[:-1] * C[:-1] / A  # s_k C_k/(A_k² B_k)
    v = np.zeros(T)
    v[:-1] = inner[:-1] * C[:-1] / B[:-1]  # s_k C_k/(A_k B_k²)
    own = np.zeros(T)
    own[:-1] = C[:-1] / (A * B[:-1])
    d_t2 = s * G2 / S - C[0] / (2 * S**2)
    d_t2 += 0.5 * (own + 2 * s * G2 * np.cumsum(inner) - (np.cumsum(u) - u) - np.cumsum(v))
    value = math.log(2.0) + 0.5 * math.log(D**2 / (2 * S)) + 0.5 * math.log(t2)
    return value, -0.5 / S + 0.5 * d_t2 / t2


def optimal_schedule(
    T: int, D: float = 1.0, G: float | ArrayLike = 1.0, *, start: ArrayLike | None = None
) -> OptimalSchedule:
    """Minimise Ω*_T over all step sequences s ∈ [1e-12, ∞)^T (scale-free, so γ is free too) by L-BFGS-B on
    log Ω*_T with the exact gradient (``log_omega_star``), from the constant schedule unless ``start`` is
    given, so that the result is not seeded with the linear decay it is compared with. (The authors'
    ``scripts/optimize_schedule.py`` runs projected SGD with momentum from the constant schedule.)"""
    from scipy.optimize import minimize

    if isinstance(T, bool) or not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"optimal schedule: T must be an integer >= 1, got {T!r}")
    D = _distance(D, "optimal")
    G2 = _norms(G, int(T), "optimal") ** 2
    x0 = np.ones(int(T)) if start is None else _steps(start, "start")
    result = minimize(
        lambda s: log_omega_star(s, D, G2),
        np.maximum(x0, 1e-12),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-12, None)] * int(T),
        options={"maxiter": 50 * int(T) + 1000, "maxfun": 100 * int(T) + 2000, "ftol": 1e-15, "gtol": 1e-12},
    )
    s = result.x / np.max(result.x)
    bound = refined_bound(s, D, np.sqrt(G2), name="optimal")
    # first-order optimality, scale-free: s_j·∂log Ω*/∂s_j = 0 inside, ≥ 0 on the bound s_j = 1e-12
    scaled = result.x * log_omega_star(result.x, D, G2)[1]
    stationarity = float(np.max(np.where(result.x > 1e-12, np.abs(scaled), np.maximum(-scaled, 0.0))))
    return OptimalSchedule(
        s, bound.omega_star, bound.gamma_star, int(result.nit), stationarity <= STATIONARY, stationarity,
        str(result.message),
    )


# ------------------------------------------------------------------------------------- the table
BOUND_COLUMNS = ["schedule", "T", "D", "G", "gamma_star", "omega_star", "gamma_star_average",
                 "omega_star_average"]


def bound_rows(
    schedules: list[str], Ts: list[int], D: float = 1.0, G: float = 1.0, *, pep: bool = False
) -> list[dict]:
    """One row per (schedule, T) with BOUND_COLUMNS (and ``pep_worst``, the PEP worst case of the
    subgradient method at γ*, with ``pep``). Every bound is computed, so every input checked, before the
    first PEP is solved."""
    rows = []
    for schedule in schedules:
        for T in Ts:
            s = schedule_multipliers(schedule, T)
            bound = refined_bound(s, D, G, name=schedule)
            average = average_bound(s, D, G, name=schedule)
            rows.append({"schedule": schedule, "T": int(T), "D": float(D), "G": float(G),
                         "gamma_star": bound.gamma_star, "omega_star": bound.omega_star,
                         "gamma_star_average": average.gamma_star, "omega_star_average": average.omega_star,
                         "_steps": bound.gamma_star * s})
    if pep:
        from theory.pep import sgd_worst_case

        for row in rows:
            row["pep_worst"] = sgd_worst_case(row["_steps"], D, G, name=row["schedule"])
    for row in rows:
        del row["_steps"]
    return rows
