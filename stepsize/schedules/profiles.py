"""Pure, numpy-vectorised LR multipliers: ``f(step, total_steps, **params) -> np.ndarray``.

LR at update ``t`` = base LR × ``f(t, T)``. Conventions (shared by every function here, see the
package docstring of :mod:`stepsize.schedules`):

* ``t = 0 .. T-1`` counts optimizer updates; ``T = total_steps`` is the whole budget.
* A linear warmup of ``W = warmup_steps`` updates (``0 <= W < T``) comes first and counts inside the
  budget: ``f(t) = f_main(0) · (t + 1)/(W + 1)`` for ``t < W``, so the ramp ends one step below the
  schedule's start value and update ``W`` gets the start value itself.
* The main schedule runs over the remaining ``n = T − W`` updates with local index ``s = t − W`` and
  progress ``p = s/(n − 1)`` (``p = 0`` when ``n = 1``): ``s = 0`` gets the start value (η_max) and the
  last update ``s = n − 1`` gets the end value (η_min).
* Steps past the budget (``t >= T``) get the end value; negative steps are rejected by
  :func:`stepsize.schedules.multiplier`.
* A budget fraction ``q`` used as a milestone becomes the first local step whose progress reaches it,
  ``ceil(q · (n − 1))`` (see :func:`fraction_to_step`).

These functions assume valid parameters; :func:`stepsize.schedules.multiplier` validates first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Core = Callable[[NDArray[np.int64], int], NDArray[np.float64]]


# ----------------------------------------------------------------------------------------- helpers
def fraction_to_step(fraction: float, n: int) -> int:
    """Local step at which a budget fraction is reached: the first ``s`` with ``s/(n−1) >= fraction``.

    Equals ``ceil(fraction · (n − 1))``; the product is rounded to 9 decimals first so that, e.g.,
    0.7 × 10 = 7.000000000000001 maps to 7 and not 8. A one-step phase (p = 0 only) never reaches a
    positive fraction: the result is then 1, past its only step.
    """
    if n == 1:
        return 0 if fraction <= 0 else 1
    return math.ceil(round(fraction * (n - 1), 9))


def _progress(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
    """p = s/(n − 1), and p = 0 for a one-step main phase."""
    if n == 1:
        return np.zeros(s.shape)
    return s / (n - 1)


def _floor_to(min_ratio: float, fraction: NDArray[np.float64]) -> NDArray[np.float64]:
    """η_min/η_max + (1 − η_min/η_max) · fraction: rescale a [0, 1] profile onto [min_ratio, 1]."""
    return min_ratio + (1.0 - min_ratio) * fraction


def with_warmup(core: Core, step: ArrayLike, total_steps: int, warmup_steps: int) -> NDArray[np.float64]:
    """Evaluate ``core(s, n)`` after a linear warmup prefix of ``warmup_steps`` updates.

    For ``t < W``: ``core(0, n) · (t + 1)/(W + 1)``; for ``t >= W``: ``core(min(t − W, n − 1), n)``
    with ``n = T − W``.
    """
    t = np.asarray(step, dtype=np.int64)
    n = total_steps - warmup_steps
    s = np.clip(t - warmup_steps, 0, n - 1)
    out = np.asarray(core(s, n), dtype=np.float64)
    if warmup_steps > 0:
        start = float(core(np.zeros(1, dtype=np.int64), n)[0])
        out = np.where(t < warmup_steps, start * (t + 1) / (warmup_steps + 1), out)
    return out


# --------------------------------------------------------------------------------------- schedules
def constant(step: ArrayLike, total_steps: int, *, warmup_steps: int = 0) -> NDArray[np.float64]:
    """Constant LR: f = 1 (after the optional warmup). No parameters besides ``warmup_steps``."""
    return with_warmup(lambda s, n: np.ones(s.shape), step, total_steps, warmup_steps)


def step_decay(
    step: ArrayLike,
    total_steps: int,
    *,
    step_fraction: float = 0.3,
    gamma: float = 0.1,
    warmup_steps: int = 0,
) -> NDArray[np.float64]:
    """Periodic step decay (torch ``StepLR``): f = γ^⌊s/k⌋, k = max(1, ceil(step_fraction · (n − 1))).

    The LR is multiplied by ``gamma`` every ``step_fraction`` of the budget (He et al. 2016 style step
    schedules; the budget-scaled form follows Li, Yumer & Ramanan, ICLR 2020, "Budgeted training").
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        period = max(1, fraction_to_step(step_fraction, n))
        return gamma ** (s // period).astype(np.float64)

    return with_warmup(core, step, total_steps, warmup_steps)


def multistep(
    step: ArrayLike,
    total_steps: int,
    *,
    milestones: Sequence[float] = (0.5, 0.75),
    gamma: float = 0.1,
    warmup_steps: int = 0,
) -> NDArray[np.float64]:
    """Multi-step decay (torch ``MultiStepLR``): f = γ^{#milestones reached}.

    ``milestones`` are budget fractions; fraction q is reached at local step ceil(q · (n − 1)).
    Budget-scaled milestones as in Li, Yumer & Ramanan (ICLR 2020); 50 %/75 % is the CIFAR habit.
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        reached = sum((s >= fraction_to_step(q, n)).astype(np.int64) for q in milestones)
        return gamma ** np.asarray(reached, dtype=np.float64) * np.ones(s.shape)

    return with_warmup(core, step, total_steps, warmup_steps)


def exponential(
    step: ArrayLike, total_steps: int, *, final_ratio: float = 0.01, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """Exponential decay (torch ``ExponentialLR``): f = γ^s with γ = final_ratio^{1/(n−1)}.

    γ is set so that the last update gets ``final_ratio`` × η_max. A classic baseline schedule; for
    budgeted training it is among the schedules compared by Li, Yumer & Ramanan (ICLR 2020, "Budgeted
    training", arXiv 1905.04753: "exp" in their CIFAR-10 schedule comparison) and by Chen, Wolfe &
    Kyrillidis (MLSys 2022, REX, arXiv 2107.04197: "exponential decay" among its baselines).
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        gamma = final_ratio ** (1.0 / (n - 1)) if n > 1 else 1.0
        return gamma ** s.astype(np.float64)

    return with_warmup(core, step, total_steps, warmup_steps)


def cosine(
    step: ArrayLike, total_steps: int, *, min_ratio: float = 0.0, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """Cosine annealing (Loshchilov & Hutter, ICLR 2017, SGDR, without restarts).

    f = r + (1 − r) · ½(1 + cos(π p)), r = ``min_ratio`` = η_min/η_max.
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        return _floor_to(min_ratio, (1.0 + np.cos(np.pi * _progress(s, n))) / 2.0)

    return with_warmup(core, step, total_steps, warmup_steps)


def linear(
    step: ArrayLike, total_steps: int, *, min_ratio: float = 0.0, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """Linear decay (Li, Yumer & Ramanan, ICLR 2020, "Budgeted training"; torch ``LinearLR``).

    f = r + (1 − r)(1 − p), r = ``min_ratio`` = η_min/η_max (0: decay to zero).
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        return 1.0 + (min_ratio - 1.0) * _progress(s, n)

    return with_warmup(core, step, total_steps, warmup_steps)


def polynomial(
    step: ArrayLike, total_steps: int, *, power: float = 2.0, min_ratio: float = 0.0, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """Polynomial decay (torch ``PolynomialLR``; the "poly" policy of ParseNet, Liu et al. 2015, and DeepLab).

    f = r + (1 − r)(1 − p)^power, r = ``min_ratio``; ``power`` > 0 (1 is linear).
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        return _floor_to(min_ratio, (1.0 - _progress(s, n)) ** power)

    return with_warmup(core, step, total_steps, warmup_steps)


def rex(
    step: ArrayLike, total_steps: int, *, min_ratio: float = 0.0, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """REX, paper form (Chen, Wolfe & Kyrillidis, MLSys 2022, arXiv 2107.04197).

    f = r + (1 − r) · (1 − p) / (½ + ½(1 − p)), r = ``min_ratio``.
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        z = 1.0 - _progress(s, n)
        return _floor_to(min_ratio, z / (0.5 + 0.5 * z))

    return with_warmup(core, step, total_steps, warmup_steps)


def rex_code(
    step: ArrayLike, total_steps: int, *, min_ratio: float = 0.0, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """REX, code variant: the 0.1 + 0.9 z denominator of a public implementation, not of the paper.

    f = r + (1 − r) · (1 − p) / (0.1 + 0.9(1 − p)), r = ``min_ratio``; it stays high longer and drops
    more steeply at the end than the paper form (:func:`rex`, Chen, Wolfe & Kyrillidis, MLSys 2022).

    Provenance: this is the formula of ``lr_scheduler.py`` (``REX_LR``) in GitHub IvanVassi/REX_LR,
    ``val = min + (max − min) · z/(0.1 + 0.9 z)`` with z = (T − t mod T)/T (reference notes,
    /work/shared/reference/anchors.md §2.2). That repository's README describes it as a "very simple
    REX learning rate scheduler based on paper" and cites the three authors as the paper's authors, so
    it is not attributed here to the authors themselves; google/init2winit's REX family links the same
    file as the code form ("beta = 0.9 (in code) or 1 (in paper)"). Our p = t/(T − 1) ends at exactly
    0 on the last update, where that code's z = (T − t)/T ends at 1/T.
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        z = 1.0 - _progress(s, n)
        return _floor_to(min_ratio, z / (0.1 + 0.9 * z))

    return with_warmup(core, step, total_steps, warmup_steps)


def _onecycle_shape(anneal: str, start: float, stop: float, pct: NDArray[np.float64]) -> NDArray[np.float64]:
    """torch's OneCycle anneal from ``start`` (pct = 0) to ``stop`` (pct = 1).

    "cos": stop + (start − stop)/2 · (1 + cos(π pct)); "linear": (stop − start) · pct + start.
    """
    if anneal == "cos":
        return stop + (start - stop) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (stop - start) * pct + start


def _onecycle_two_phases(
    s: NDArray[np.int64], n: int, pct_start: float, anneal: str, first: float, middle: float, last: float
) -> NDArray[np.float64]:
    """torch ``OneCycleLR``'s two phases over ``n`` updates: ``first`` → ``middle`` for s <= e, then
    ``middle`` → ``last``, with e = pct_start · n − 1 (torch's phase boundary), pct = s/e in the first
    phase and (s − e)/(n − 1 − e) in the second."""
    boundary = float(pct_start * n) - 1
    in_rise = s <= boundary
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_rise = np.where(boundary > 0, s / boundary, 1.0)
        pct_fall = (s - boundary) / (n - 1 - boundary)
    return np.where(
        in_rise,
        _onecycle_shape(anneal, first, middle, pct_rise),
        _onecycle_shape(anneal, middle, last, pct_fall),
    )


def onecycle(
    step: ArrayLike,
    total_steps: int,
    *,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    cycle_momentum: bool = True,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    warmup_steps: int = 0,
) -> NDArray[np.float64]:
    """OneCycle (Smith & Topin 2019, "Super-convergence"), exactly torch ``OneCycleLR`` (two phases).

    With a = 1/div_factor, b = a/final_div_factor and e = pct_start · n − 1 (torch's phase boundary):
    s <= e: anneal from a up to 1 with pct = s/e; otherwise anneal from 1 down to b with
    pct = (s − e)/(n − 1 − e). ``anneal`` is "cos" (``b + (a − b)/2 · (1 + cos(π pct))`` from a to b) or
    "linear". It starts low (a) by design, so the "first update gets η_max" rule does not apply; the
    last update gets b · η_max.

    ``cycle_momentum``, ``base_momentum`` and ``max_momentum`` (torch's defaults True, 0.85, 0.95) do
    not change the LR: the momentum that cycles inversely to it is :func:`onecycle_momentum`, which the
    ``OneCycle`` scheduler applies to the optimizer.
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        low = 1.0 / div_factor
        return _onecycle_two_phases(s, n, pct_start, anneal, low, 1.0, low / final_div_factor)

    return with_warmup(core, step, total_steps, warmup_steps)


def onecycle_momentum(
    step: ArrayLike,
    total_steps: int,
    *,
    pct_start: float = 0.3,
    anneal: str = "cos",
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    warmup_steps: int = 0,
    **_lr_params: Any,
) -> NDArray[np.float64]:
    """OneCycle's momentum (Smith & Topin 2019; torch ``OneCycleLR(cycle_momentum=True)``), absolute values.

    Inverse to the LR, on the same phases and anneal: m_max → m_base while the LR rises (pct = s/e),
    then m_base → m_max while it falls (pct = (s − e)/(n − 1 − e)); m_base = ``base_momentum``,
    m_max = ``max_momentum``. During a warmup prefix (t < W) it holds the start value m_max; past the
    budget, the end value m_max. The LR-only parameters (``div_factor``, ``final_div_factor``,
    ``cycle_momentum``) are accepted and ignored.
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        return _onecycle_two_phases(s, n, pct_start, anneal, max_momentum, base_momentum, max_momentum)

    t = np.asarray(step, dtype=np.int64)
    n = total_steps - warmup_steps
    return np.asarray(core(np.clip(t - warmup_steps, 0, n - 1), n), dtype=np.float64)


def wsd(
    step: ArrayLike,
    total_steps: int,
    *,
    decay_fraction: float = 0.2,
    decay_shape: str = "sqrt",
    min_ratio: float = 0.0,
    warmup_steps: int = 0,
) -> NDArray[np.float64]:
    """Warmup–stable–decay (Hu et al. 2024, MiniCPM, arXiv 2404.06395; Hägele et al. 2024, arXiv 2405.18392).

    Constant 1 until progress 1 − d (d = ``decay_fraction``), then with q = (p − (1 − d))/d:
    f = r + (1 − r) · D(q), D(q) = 1 − q ("linear"), ½(1 + cos πq) ("cosine") or 1 − √q ("sqrt", the
    cooldown Hägele et al. found best). The warmup is the common ``warmup_steps`` prefix.
    """
    decays: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
        "linear": lambda q: 1.0 - q,
        "cosine": lambda q: 0.5 * (1.0 + np.cos(np.pi * q)),
        "sqrt": lambda q: 1.0 - np.sqrt(q),
    }

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        if decay_fraction == 0:
            return np.ones(s.shape)
        q = np.clip((_progress(s, n) - (1.0 - decay_fraction)) / decay_fraction, 0.0, 1.0)
        return _floor_to(min_ratio, decays[decay_shape](q))

    return with_warmup(core, step, total_steps, warmup_steps)


def cyclic(
    step: ArrayLike, total_steps: int, *, cycles: int = 2, min_ratio: float = 0.1, warmup_steps: int = 0
) -> NDArray[np.float64]:
    """Triangular cyclical LR (Smith, WACV 2017, "Cyclical learning rates"; torch ``CyclicLR`` "triangular").

    ``cycles`` triangles over the budget, each rising from r = ``min_ratio`` to 1 and back:
    u = frac(p · cycles), f = r + (1 − r)(1 − |2u − 1|). Starts and ends at r (so the first update gets
    η_min, unlike the decaying schedules).
    """

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        u = np.mod(_progress(s, n) * cycles, 1.0)
        return _floor_to(min_ratio, 1.0 - np.abs(2.0 * u - 1.0))

    return with_warmup(core, step, total_steps, warmup_steps)


def uba_fraction(p: ArrayLike, phi: float) -> NDArray[np.float64]:
    """UBA shape on [0, 1]: F(p) = 2(1 + cos πp) / (2φ + (2 − φ)(1 + cos πp)); F(0) = 1, F(1) = 0.

    Equals 1/(1 + (φ/2) tan²(πp/2)); F(½) = 2/(2 + φ); φ = 2 gives ½(1 + cos πp) (cosine) exactly.
    """
    c1 = 1.0 + np.cos(np.pi * np.asarray(p, dtype=np.float64))
    return 2.0 * c1 / (2.0 * phi + (2.0 - phi) * c1)


def uba(
    step: ArrayLike,
    total_steps: int,
    *,
    phi: float = 1.0,
    min_ratio: float = 0.0,
    phases: Sequence[dict[str, Any]] | None = None,
    warmup_steps: int = 0,
) -> NDArray[np.float64]:
    """Unified Budget-Aware schedule, UBA (Tang et al., NeurIPS 2025, "Stepsize anything", arXiv 2505.24452).

    Single phase: η_t = η_min + (η_max − η_min) · 2(1 + cos πp) / (2φ + (2 − φ)(1 + cos πp)), φ > 0,
    i.e. f = r + (1 − r) · F_φ(p) with r = ``min_ratio``.

    Provenance: the paper's body could not be read (only its abstract: one hyper-parameter φ, tied in
    theory to the condition number), so this closed form is second-hand, taken from a third-party
    implementation, GitHub ukiyois/Deep-Learning-in-Astronomy-WaveltMamba, ``galaxy10_training.py``
    (``UBAScheduler``), as recorded in /work/shared/reference/uba.md; it matches the abstract's
    single-φ description but is not checked against the paper's own equations.
    Properties (this project's algebra, checked in the tests): φ = 2 is exactly cosine annealing; the
    equivalent tangent form is F = 1/(1 + (φ/2) tan²(πp/2)); mid-budget value F(½) = 2/(2 + φ);
    φ → 0 tends to a constant LR, φ > 2 decays early. Continuous link to Chebyshev step sizes: the
    worst-case-optimal step sizes on a quadratic with condition number κ, sorted decreasingly and
    rescaled to [η_min, η_max], are exactly UBA with φ = 2κ (derived in this project's notes, not taken
    from the paper).

    Multi-phase form (this project's extension; the paper's use of phases is unverified):
    ``phases=[{"fraction": q_k, "phi": φ_k, "max_ratio": a_k, "min_ratio": r_k}, ...]`` with the
    fractions summing to 1. Phase k covers local steps [b_{k−1}, b_k), b_k = round(n · Σ_{j<=k} q_j), and
    runs f = r_k + (a_k − r_k) F_{φ_k}(p_k) with its own progress p_k from 0 (first step of the phase)
    to 1 (last step). Missing ``phi``/``min_ratio`` default to the top-level values, ``max_ratio`` to 1;
    each phase needs r_k <= a_k (checked by :func:`stepsize.schedules.validate`).
    """
    if phases is None:
        phases = [{"fraction": 1.0}]

    def core(s: NDArray[np.int64], n: int) -> NDArray[np.float64]:
        cum = np.cumsum([float(ph["fraction"]) for ph in phases])
        ends = np.floor(cum * n + 0.5).astype(np.int64)
        ends[-1] = n
        out = np.zeros(s.shape)
        start = 0
        for ph, end in zip(phases, ends, strict=True):
            length = int(end) - start
            if length > 0:
                inside = (s >= start) & (s < end)
                top = float(ph.get("max_ratio", 1.0))
                bottom = float(ph.get("min_ratio", min_ratio))
                frac = uba_fraction(_progress(s - start, length), float(ph.get("phi", phi)))
                out = np.where(inside, bottom + (top - bottom) * frac, out)
            start = max(start, int(end))
        return out

    return with_warmup(core, step, total_steps, warmup_steps)
