"""HDM-Best (Chu, Gao, Ye, Udell, ICML 2025, arXiv 2502.11229) and the parameter-free OSGM of Part II
(Chu, Gao, Ye, Udell, "Gradient Methods with Online Scaling Part II. Practical Aspects", arXiv 2509.11007).

Both are re-implemented from the algorithm descriptions in /work/shared/reference/osgm.md §1.7, which
were read from the official code (udellgroup/osgm-best-hypergrad: ``algorithms/hdm.py`` and, on branch
``new-osgm-exp``, ``algorithms/osgm.py``); the papers' own pseudo-code could not be read, so agreement with
the PDFs is unverified. Both methods use a diagonal stepsize P, scalar heavy-ball momentum β, AdaGrad on
both, null steps, and the heavy-ball hypergradient feedback

    x⁺ = x − P∘g + β(x − x₋),  den = ‖g‖² + c‖x − x₋‖²,
    ∂/∂P = −(g⁺∘g)/den,  ∂/∂β = ⟨g⁺, x − x₋⟩/den,

with c‖x − x₋‖² replaced by the floor 1e-12 until L is re-estimated, and c = L²/4 (= τ/2, τ = L²/2) after.
L is re-estimated as the mean secant curvature ‖g⁺ − g‖/‖x⁺ − x‖ of accepted steps once the net count of
accepted steps (+1 accepted, −2 rejected, floored at 0) exceeds max(min(max_iter/4, 200), 20), where
max_iter is the protocol's gradient budget (not a tighter cap the benchmark may impose on a grid run).
Cost: one f and one ∇f call per iteration plus the initial gradient (Part II: + 3 probe gradients and any
line-search calls).
"""

from __future__ import annotations

import numpy as np

from theory.oracle import BudgetExhausted, CountingOracle

BETA_MAX = 0.9995
ADAGRAD_EPS = 1e-12


def _guess_threshold(budget: int) -> int:
    return max(min(budget // 4, 200), 20)


def hdm_best(
    oracle: CountingOracle,
    x0: np.ndarray,
    *,
    L: float,
    lr_scale: float = 10.0,
    beta_lr: float = 10.0,
    tol: float = 1e-4,
    max_iter: int = 1000,
) -> np.ndarray:
    """HDM-Best, convex setting: P₀ = 0, β₀ = 0.95, lr_P = lr_scale/L, P clipped to [0, 1e10/L_est],
    lr_P ← max(0.8·lr_P, 1e-3·lr_P⁰) every 50 iterations until L is re-estimated (then lr_P = 1/L_est)."""
    x, x_old = x0.copy(), x0.copy()
    P, G = np.zeros_like(x0), np.zeros_like(x0)
    beta, G_beta = 0.95, 0.0
    L_est, lr = float(L), lr_scale / L
    lr0 = lr
    guessed, count, curvatures = False, 0, []
    threshold = _guess_threshold(max_iter)
    try:
        fx, g = oracle.f_and_grad(x)
        for i in range(10**9):
            if np.max(np.abs(g)) < tol:
                return x
            momentum = x - x_old
            x_plus = x - P * g + beta * momentum
            f_plus, g_plus = oracle.f_and_grad(x_plus)
            den = float(g @ g) + (0.25 * L_est**2 * float(momentum @ momentum) if guessed else 1e-12)
            s_P = -(g_plus * g) / den
            G += s_P * s_P
            P = np.clip(P - lr * s_P / (np.sqrt(G) + ADAGRAD_EPS), 0.0, 1e10 / L_est)
            s_beta = float(g_plus @ momentum) / den
            G_beta += s_beta * s_beta
            beta = float(np.clip(beta - beta_lr * s_beta / (np.sqrt(G_beta) + ADAGRAD_EPS), 0.0, BETA_MAX))
            if not guessed and i % 50 == 49:
                lr = max(0.8 * lr, 1e-3 * lr0)
            x_old = x
            if f_plus < fx:
                step = float(np.linalg.norm(x_plus - x))
                if step > 1e-3:
                    curvatures.append(float(np.linalg.norm(g_plus - g)) / step)
                x, fx, g = x_plus, f_plus, g_plus
                count += 1
            else:
                count = max(0, count - 2)
            if not guessed and count > threshold and curvatures:
                L_est = float(np.mean(curvatures))
                lr = lr0 = 1.0 / L_est
                G = np.zeros_like(x0)
                guessed = True
    except BudgetExhausted:
        pass
    return x


def probe_smoothness(
    oracle: CountingOracle,
    x: np.ndarray,
    g: np.ndarray,
    rng: np.random.Generator,
    probes: int = 3,
    radius: float = 1e-4,
) -> float:
    """max over random directions δ (‖δ‖ = radius) of ‖∇f(x + δ) − ∇f(x)‖/radius (Part II's L estimate);
    a non-finite or zero estimate becomes 1e-5. Costs ``probes`` gradient calls."""
    estimates = []
    for _ in range(probes):
        delta = rng.standard_normal(x.size)
        delta *= radius / np.linalg.norm(delta)
        estimates.append(float(np.linalg.norm(oracle.grad(x + delta) - g)) / radius)
    L = max(estimates)
    return L if np.isfinite(L) and L > 0 else 1e-5


def osgm_parameter_free(
    oracle: CountingOracle, x0: np.ndarray, *, tol: float = 1e-4, seed: int = 0, max_iter: int = 1000
) -> np.ndarray:
    """Part II's untuned OSGM: L from 3 random probes; lr_P = 1/L, lr_β = min(1, L); P clipped to
    [0, 1e5/L]; lr_P ← max(0.8·lr_P, 1e-3/L) every 50 iterations until L is re-estimated; after that, a
    lookahead Armijo search from x⁺ along −P∘g⁺ (step 1, ×0.8, test f ≤ f(x⁺) − ½·t·g⁺ᵀ(P∘g⁺), give up
    below 1e-6) whenever ‖g⁺‖ > 2‖g‖. Null step: accept the candidate iff f(candidate) ≤ f(x)."""
    rng = np.random.default_rng(seed)
    x, x_old = x0.copy(), x0.copy()
    P, G = np.zeros_like(x0), np.zeros_like(x0)
    beta, G_beta = 0.95, 0.0
    guessed, count, curvatures = False, 0, []
    threshold = _guess_threshold(max_iter)
    try:
        fx, g = oracle.f_and_grad(x)
        L_est = probe_smoothness(oracle, x, g, rng)
        lr, beta_lr = 1.0 / L_est, min(1.0, L_est)
        for i in range(10**9):
            if np.max(np.abs(g)) < tol:
                return x
            momentum = x - x_old
            x_plus = x - P * g + beta * momentum
            f_plus, g_plus = oracle.f_and_grad(x_plus)
            candidate, f_candidate, g_candidate = x_plus, f_plus, g_plus
            if guessed and np.linalg.norm(g_plus) > 2.0 * np.linalg.norm(g):
                direction = P * g_plus
                decrease = 0.5 * float(g_plus @ direction)
                t = 1.0
                while t >= 1e-6:
                    trial = x_plus - t * direction
                    f_trial = oracle.f(trial)
                    if f_trial <= f_plus - t * decrease:
                        candidate, f_candidate = trial, f_trial
                        g_candidate = None
                        break
                    t *= 0.8
            den = float(g @ g) + (0.25 * L_est**2 * float(momentum @ momentum) if guessed else 1e-12)
            s_P = -(g_plus * g) / den
            G += s_P * s_P
            P = np.clip(P - lr * s_P / (np.sqrt(G) + ADAGRAD_EPS), 0.0, 1e5 / L_est)
            s_beta = float(g_plus @ momentum) / den
            G_beta += s_beta * s_beta
            beta = float(np.clip(beta - beta_lr * s_beta / (np.sqrt(G_beta) + ADAGRAD_EPS), 0.0, BETA_MAX))
            if not guessed and i % 50 == 49:
                lr = max(0.8 * lr, 1e-3 / L_est)
            x_old = x
            if f_candidate <= fx:
                if g_candidate is None:
                    g_candidate = oracle.grad(candidate)
                step = float(np.linalg.norm(candidate - x))
                if step > 1e-3:
                    curvatures.append(float(np.linalg.norm(g_candidate - g)) / step)
                x, fx, g = candidate, f_candidate, g_candidate
                count += 1
            else:
                count = max(0, count - 2)
            if not guessed and count > threshold and curvatures:
                L_est = float(np.mean(curvatures))
                lr, beta_lr = 1.0 / L_est, min(1.0, L_est)
                G = np.zeros_like(x0)
                guessed = True
    except BudgetExhausted:
        pass
    return x
