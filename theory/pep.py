"""The exact worst case of the subgradient method with a given schedule, by performance estimation (PEP:
Drori & Teboulle 2014; Taylor, Hendrickx & Glineur 2017), solved with PEPit (Goujaud, Moucer, Glineur,
Hendrickx, Taylor & Dieuleveut, arXiv 2201.04040) through cvxpy and Clarabel.

    W_T(η) = max f(x_T) − f*  over convex G-Lipschitz f (any dimension) and x₁ with ‖x₁ − x*‖ ≤ D,
             x_{t+1} = x_t − η_t g_t, g_t ∈ ∂f(x_t), t = 1..T − 1.

x_T is the iterate of the last-iterate bound Ω_T (``theory.last_iterate``): η_T does not move it and is
not used here. The deterministic subgradient method is SGD with an exact oracle, which satisfies
E‖g_t‖² ≤ G², so W_T ≤ Ω_T must hold for every schedule (it is a worst case over a subset of SGD's
problems). PEPit returns the value of the dual SDP, an upper bound on W_T up to the solver's tolerance.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

SOLVER = "CLARABEL"


def pepit_version() -> str:
    """The installed PEPit's version; ValueError (one line) if it is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("PEPit")
    except PackageNotFoundError:
        raise ValueError(
            "PEPit is not installed (needed for the PEP worst case): "
            "bin/with-env pip install -r requirements.txt"
        ) from None


def sgd_worst_case(
    steps: ArrayLike, D: float = 1.0, G: float = 1.0, *, name: str = "steps", solver: str = SOLVER
) -> float:
    """W_T of the subgradient method with steps η_1..η_T (T = len(steps); η_T is unused), by PEPit.
    ValueError naming ``name`` for steps that are not finite and ≥ 0, D or G ≤ 0, or a failed solve."""
    eta = np.asarray(steps, dtype=np.float64)
    if eta.ndim != 1 or eta.size == 0 or not np.all(np.isfinite(eta)) or np.any(eta < 0):
        raise ValueError(f"schedule {name!r}: PEP steps must be a non-empty 1-d array of finite values >= 0")
    if not (math.isfinite(D) and D > 0 and math.isfinite(G) and G > 0):
        raise ValueError(f"schedule {name!r}: PEP needs finite D > 0 and G > 0, got D = {D!r}, G = {G!r}")
    pepit_version()
    from PEPit import PEP
    from PEPit.functions import ConvexLipschitzFunction

    problem = PEP()
    f = problem.declare_function(ConvexLipschitzFunction, M=float(G))
    x_star = f.stationary_point()
    f_star = f(x_star)
    x = problem.set_initial_point()
    problem.set_initial_condition((x - x_star) ** 2 <= float(D) ** 2)
    for t in range(eta.size - 1):
        x = x - float(eta[t]) * f.subgradient(x)
    problem.set_performance_metric(f(x) - f_star)
    try:
        value = problem.solve(verbose=0, solver=solver)
    except Exception as error:  # cvxpy's SolverError and PEPit's checks: one line naming the schedule
        raise ValueError(f"schedule {name!r}: the PEP solve failed ({type(error).__name__})") from None
    if value is None or not math.isfinite(value):
        raise ValueError(f"schedule {name!r}: the PEP solve returned {value!r}")
    return float(value)
