"""Exactness, convention, shape and bad-input tests for ``stepsize.schedules``."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

from stepsize import schedules as S
from stepsize.optim import OSGM

BUDGETS = (1, 2, 7, 100, 1000)
BASE_LRS = (0.3, 0.07)  # two param groups with different base LRs
DECAYING = S.DECAYING  # derived from the specs (ScheduleSpec.decays)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _optimizer() -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in BASE_LRS]
    return torch.optim.SGD(groups, lr=BASE_LRS[0], momentum=0.9)


def _lrs_used(make: Callable[[torch.optim.Optimizer], tls.LRScheduler], total: int) -> np.ndarray:
    """LR of every param group at each of ``total`` updates (scheduler stepped after each update)."""
    opt = _optimizer()
    sched = make(opt)
    used = []
    for _ in range(total):
        used.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.array(used)


def _assert_rel_close(
    ours: np.ndarray, ref: np.ndarray, tol: float = 1e-12, peak: float | None = None
) -> None:
    """Pointwise relative error <= tol (an exact 0 must be matched by an exact 0).

    With ``peak`` given, the error is relative to that peak LR instead of pointwise.
    """
    scale = np.maximum(np.abs(ours), np.abs(ref))
    if peak is not None:
        scale = np.full_like(scale, peak)
    err = np.where(scale > 0, np.abs(ours - ref) / np.where(scale > 0, scale, 1.0), 0.0)
    assert err.max() <= tol, (
        f"max relative error {err.max():.3e} at {np.unravel_index(err.argmax(), err.shape)}"
    )


def _ours(name: str, total: int, **params) -> np.ndarray:
    return _lrs_used(lambda o: S.create(name, o, total, **params), total)


def _first_reaching(fraction: float, total: int) -> int:
    """Independent statement of the milestone rule: first update whose progress t/(T-1) >= fraction."""
    return next(t for t in range(total) if t / (total - 1) >= fraction - 1e-12)


# ----------------------------------------------------------------------------- equality with torch
# Mapping (over T updates, p = t/(T-1)): cosine -> CosineAnnealingLR(T_max=T-1, eta_min=r*lr);
# linear -> LinearLR(1, r, total_iters=T-1); polynomial -> PolynomialLR(T-1, power);
# exponential -> ExponentialLR(final_ratio**(1/(T-1))); step -> StepLR(first step reaching step_fraction);
# multistep -> MultiStepLR(first steps reaching each fraction); onecycle -> OneCycleLR(max_lr=lr,
# total_steps=T, cycle_momentum=False); cyclic -> CyclicLR(r*lr, lr, step_size_up=(T-1)/(2 cycles)).
@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("min_ratio", [0.0, 0.1])
def test_cosine_equals_torch(total: int, min_ratio: float) -> None:
    ref = _lrs_used(lambda o: tls.CosineAnnealingLR(o, T_max=total - 1, eta_min=0.0), total)
    if min_ratio:  # torch's eta_min is absolute and shared by all groups: compare group by group
        for i, lr in enumerate(BASE_LRS):
            opt_ref = _lrs_used(
                lambda o, lr=lr: tls.CosineAnnealingLR(o, T_max=total - 1, eta_min=min_ratio * lr), total
            )[:, i]
            _assert_rel_close(_ours("cosine", total, min_ratio=min_ratio)[:, i], opt_ref)
    else:
        _assert_rel_close(_ours("cosine", total), ref)


@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("min_ratio", [0.0, 0.25])
def test_linear_equals_torch(total: int, min_ratio: float) -> None:
    ref = _lrs_used(lambda o: tls.LinearLR(o, 1.0, min_ratio, total_iters=total - 1), total)
    _assert_rel_close(_ours("linear", total, min_ratio=min_ratio), ref)


@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("power", [0.9, 2.0])
def test_polynomial_equals_torch(total: int, power: float) -> None:
    ref = _lrs_used(lambda o: tls.PolynomialLR(o, total_iters=total - 1, power=power), total)
    _assert_rel_close(_ours("polynomial", total, power=power), ref)


@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("final_ratio", [0.01, 0.5])
def test_exponential_equals_torch(total: int, final_ratio: float) -> None:
    gamma = final_ratio ** (1.0 / (total - 1))
    ref = _lrs_used(lambda o: tls.ExponentialLR(o, gamma), total)
    ours = _ours("exponential", total, final_ratio=final_ratio)
    _assert_rel_close(ours, ref)
    assert ours[-1, 0] == pytest.approx(final_ratio * BASE_LRS[0], rel=1e-12)


@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("fraction", [0.3, 0.25, 0.5])
def test_step_equals_torch(total: int, fraction: float) -> None:
    period = max(1, _first_reaching(fraction, total))
    ref = _lrs_used(lambda o: tls.StepLR(o, step_size=period, gamma=0.5), total)
    _assert_rel_close(_ours("step", total, step_fraction=fraction, gamma=0.5), ref)


@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("milestones", [[0.5, 0.75], [0.3, 0.6, 0.9]])
def test_multistep_equals_torch(total: int, milestones: list[float]) -> None:
    steps = [_first_reaching(q, total) for q in milestones]
    ref = _lrs_used(lambda o: tls.MultiStepLR(o, milestones=steps, gamma=0.2), total)
    _assert_rel_close(_ours("multistep", total, milestones=milestones, gamma=0.2), ref)


@pytest.mark.parametrize("total", BUDGETS)
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_onecycle_equals_torch_defaults(total: int, anneal: str) -> None:
    for i, lr in enumerate(BASE_LRS):
        ref = _lrs_used(
            lambda o, lr=lr: tls.OneCycleLR(
                o, max_lr=lr, total_steps=total, anneal_strategy=anneal, cycle_momentum=False
            ),
            total,
        )[:, i]
        # torch's linear anneal, (end - start)·pct + start, cancels near the end (1e-11 pointwise), so
        # that variant is compared relative to the peak LR; the default "cos" pointwise.
        _assert_rel_close(
            _ours("onecycle", total, anneal=anneal)[:, i], ref, peak=lr if anneal == "linear" else None
        )


def _onecycle_optimizer(kind: str) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr} for lr in BASE_LRS]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=BASE_LRS[0])
    return torch.optim.SGD(groups, lr=BASE_LRS[0], momentum=0.9, nesterov=kind == "nesterov")


def _lr_and_momentum(opt: torch.optim.Optimizer) -> list[float]:
    """[lr, momentum] of every group; the momentum is β₁ for Adam-type optimizers."""
    return [v for g in opt.param_groups for v in (g["lr"], g["betas"][0] if "betas" in g else g["momentum"])]


def _onecycle_run(kind: str, total: int, make, resume_at: int | None = None) -> np.ndarray:
    """LR and momentum at each of ``total`` updates; optionally save and resume into fresh objects."""
    opt = _onecycle_optimizer(kind)
    sched = make(opt)
    used = []
    for t in range(total):
        if t == resume_at:
            saved = copy.deepcopy({"opt": opt.state_dict(), "sched": sched.state_dict()})
            opt = _onecycle_optimizer(kind)
            sched = make(opt)
            opt.load_state_dict(saved["opt"])
            sched.load_state_dict(saved["sched"])
        used.append(_lr_and_momentum(opt))
        opt.step()
        sched.step()
    return np.array(used)


@pytest.mark.parametrize("total", BUDGETS)
@pytest.mark.parametrize("kind", ["sgd", "nesterov", "adam"])
def test_onecycle_lr_and_momentum_equal_torch_with_all_defaults(total: int, kind: str) -> None:
    """``create("onecycle", opt, T)`` == ``OneCycleLR(opt, max_lr=base LRs, total_steps=T)``: LR and the
    inversely cycled momentum (β₁ for Adam), over the whole budget and after a warm resume."""
    ref = _onecycle_run(kind, total, lambda o: tls.OneCycleLR(o, max_lr=list(BASE_LRS), total_steps=total))
    ours = _onecycle_run(kind, total, lambda o: S.create("onecycle", o, total))
    _assert_rel_close(ours, ref)
    for cut in sorted({1, total // 3, total // 2, total - 1} - {0}):
        resumed = _onecycle_run(kind, total, lambda o: S.create("onecycle", o, total), resume_at=cut)
        np.testing.assert_array_equal(resumed, ours)
        _assert_rel_close(resumed, ref)
    if total >= 100:  # the LR peak falls on an update: 0.3 T − 1 is an integer
        momentum = ours[:, 1]
        assert momentum[0] == pytest.approx(0.95) and momentum[-1] == pytest.approx(0.95)
        assert momentum.min() == pytest.approx(0.85) and momentum.argmin() == ours[:, 0].argmax()


def test_onecycle_cycles_only_groups_with_momentum() -> None:
    """Groups with momentum 0, None or "learned" (plain SGD, OSGM's learned β) keep their own."""
    x = [torch.nn.Parameter(torch.zeros(2)) for _ in range(4)]
    osgm = OSGM(
        [
            {"params": [x[0]], "momentum": "learned"},
            {"params": [x[1]], "momentum": None},
            {"params": [x[2]], "momentum": 0.5},
        ]
    )
    sgd = torch.optim.SGD([x[3]], lr=0.1)  # momentum 0
    scheds = [S.create("onecycle", osgm, 50), S.create("onecycle", sgd, 50)]
    expected = S.multiplier("onecycle", np.arange(50), 50)
    momentum = []
    for _ in range(50):
        momentum.append(osgm.param_groups[2]["momentum"])
        assert [g["momentum"] for g in osgm.param_groups[:2]] == ["learned", None]
        assert sgd.param_groups[0]["momentum"] == 0
        osgm.step()
        sgd.step()
        for sched in scheds:
            sched.step()
    np.testing.assert_array_equal(momentum, S.onecycle_momentum(np.arange(50), 50))
    assert scheds[0].momentum_keys == [None, None, "momentum"] and scheds[1].momentum_keys == [None]
    assert osgm.param_groups[0]["lr"] == pytest.approx(1.0 * expected[-1], rel=1e-12)


def test_onecycle_without_momentum_cycling_and_with_warmup() -> None:
    opt = _onecycle_optimizer("sgd")
    S.create("onecycle", opt, 40, cycle_momentum=False)
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)
    m = S.onecycle_momentum(np.arange(46), 46, warmup_steps=6, base_momentum=0.8, max_momentum=0.9)
    np.testing.assert_array_equal(m[:7], 0.9)  # held at the start value through the warmup
    main = S.onecycle_momentum(np.arange(40), 40, base_momentum=0.8, max_momentum=0.9)
    np.testing.assert_array_equal(m[6:], main)
    assert m[6 + 11] == pytest.approx(0.8, rel=1e-15) and m[-1] == pytest.approx(0.9, rel=1e-15)


@pytest.mark.parametrize("total", [t for t in BUDGETS if t > 1])
@pytest.mark.parametrize("cycles", [1, 3])
def test_cyclic_equals_torch_triangular(total: int, cycles: int) -> None:
    for i, lr in enumerate(BASE_LRS):
        half = (total - 1) / (2 * cycles)
        ref = _lrs_used(
            lambda o, lr=lr, half=half: tls.CyclicLR(
                o, base_lr=0.1 * lr, max_lr=lr, step_size_up=half, cycle_momentum=False
            ),
            total,
        )[:, i]
        _assert_rel_close(_ours("cyclic", total, cycles=cycles, min_ratio=0.1)[:, i], ref)


# -------------------------------------------------------------------------- scheduler == multiplier
@pytest.mark.parametrize("name", S.NAMES)
@pytest.mark.parametrize("warmup", [0, 5])
def test_scheduler_applies_multiplier_exactly(name: str, warmup: int) -> None:
    total = 40
    lrs = _ours(name, total, warmup_steps=warmup)
    f = S.multiplier(name, np.arange(total), total, warmup_steps=warmup)
    for i, lr in enumerate(BASE_LRS):
        np.testing.assert_array_equal(lrs[:, i], lr * f)


# ------------------------------------------------------------------------------- step convention
def _end_value(name: str, total: int) -> float:
    """The spec's declared end value with default parameters (independent of the multiplier code)."""
    return S.SPECS[name].end_value(S.DEFAULTS[name], total)


@pytest.mark.parametrize("name", DECAYING)
@pytest.mark.parametrize("total", [2, 7, 100, 1000])
def test_first_update_gets_max_and_last_gets_end(name: str, total: int) -> None:
    f = S.multiplier(name, np.arange(total), total)
    assert f[0] == 1.0
    assert f[-1] == pytest.approx(_end_value(name, total), rel=1e-12, abs=1e-15)


def test_declared_end_values_of_the_step_schedules() -> None:
    """The specs' end values themselves: three decays of a 30 % period, one per milestone."""
    assert _end_value("step", 100) == pytest.approx(0.1**3) and _end_value("step", 3) == pytest.approx(0.1**2)
    assert _end_value("multistep", 100) == pytest.approx(0.1**2)
    assert _end_value("exponential", 100) == 0.01 and _end_value("cosine", 100) == 0.0


@pytest.mark.parametrize("name", S.NAMES)
def test_one_update_budget_gets_start_value(name: str) -> None:
    start = {"onecycle": 1 / 25 / 1e4, "cyclic": 0.1}.get(name, 1.0)  # see the two checks below
    assert S.multiplier(name, 0, 1).item() == pytest.approx(start, rel=1e-12)


def test_onecycle_and_cyclic_ends() -> None:
    f = S.multiplier("onecycle", np.arange(100), 100)
    assert f[0] == pytest.approx(1 / 25, rel=1e-12) and f[-1] == pytest.approx(1 / 25 / 1e4, rel=1e-12)
    assert f.max() == pytest.approx(1.0, rel=1e-12)
    c = S.multiplier("cyclic", np.arange(101), 101, cycles=2, min_ratio=0.2)
    assert c[0] == pytest.approx(0.2) and c[-1] == pytest.approx(0.2) and c[25] == c[75] == pytest.approx(1.0)
    assert c[50] == pytest.approx(0.2)


@pytest.mark.parametrize("name", DECAYING)
def test_warmup_counts_inside_budget(name: str) -> None:
    total, warm = 50, 9
    f = S.multiplier(name, np.arange(total), total, warmup_steps=warm)
    main = S.multiplier(name, np.arange(total - warm), total - warm)
    np.testing.assert_allclose(f[:warm], np.arange(1, warm + 1) / (warm + 1), rtol=1e-15)
    np.testing.assert_array_equal(f[warm:], main)
    assert f[warm] == 1.0 and f[-1] == main[-1]


def test_warmup_ramps_to_the_schedule_start_value() -> None:
    f = S.multiplier("onecycle", np.arange(20), 20, warmup_steps=4)
    assert f[3] == pytest.approx(f[4] * 4 / 5, rel=1e-15)
    assert S.multiplier("cosine", np.arange(5), 5, warmup_steps=4)[-1] == 1.0  # one main update: p = 0


def test_steps_past_budget_keep_end_value() -> None:
    for name in S.NAMES:
        f = S.multiplier(name, [99, 100, 250], 100)
        assert f[1] == f[0] and f[2] == f[0], name


# --------------------------------------------------------------------------------------------- UBA
@pytest.mark.parametrize("total", [2, 7, 100, 1000])
@pytest.mark.parametrize("min_ratio", [0.0, 0.05])
def test_uba_phi_2_is_cosine(total: int, min_ratio: float) -> None:
    t = np.arange(total)
    np.testing.assert_array_equal(
        S.multiplier("uba", t, total, phi=2.0, min_ratio=min_ratio),
        S.multiplier("cosine", t, total, min_ratio=min_ratio),
    )


@pytest.mark.parametrize("phi", [0.1, 0.5, 1.0, 2.0, 4.0, 10.0, 100.0])
def test_uba_mid_budget_and_tangent_form(phi: float) -> None:
    for total in (101, 1001):
        mid = S.multiplier("uba", (total - 1) // 2, total, phi=phi).item()
        assert abs(mid - 2 / (2 + phi)) <= 1e-12
    p = np.linspace(0.0, 0.99, 199)
    tangent = 1.0 / (1.0 + (phi / 2.0) * np.tan(np.pi * p / 2.0) ** 2)
    np.testing.assert_allclose(S.uba_fraction(p, phi), tangent, rtol=1e-12, atol=1e-15)
    f = S.multiplier("uba", [0, 999], 1000, phi=phi, min_ratio=0.01)
    assert f[0] == 1.0 and f[1] == pytest.approx(0.01, rel=1e-12)


@pytest.mark.parametrize("phi", [0.1, 0.5, 1.0, 2.0, 4.0, 10.0, 100.0])
def test_uba_is_non_increasing(phi: float) -> None:
    for total in (2, 7, 1000):
        assert np.all(np.diff(S.multiplier("uba", np.arange(total), total, phi=phi)) <= 0)


@pytest.mark.parametrize("name", DECAYING)
def test_decaying_schedules_are_non_increasing(name: str) -> None:
    for total in (2, 7, 1000):
        assert np.all(np.diff(S.multiplier(name, np.arange(total), total)) <= 1e-15), name


# ------------------------------------------------------------------------------ named shape checks
def test_rex_wsd_polynomial_formulas() -> None:
    t = np.arange(101)
    p = t / 100
    np.testing.assert_allclose(S.multiplier("rex", t, 101), (1 - p) / (0.5 + 0.5 * (1 - p)), rtol=1e-14)
    np.testing.assert_allclose(S.multiplier("rex_code", t, 101), (1 - p) / (0.1 + 0.9 * (1 - p)), rtol=1e-14)
    np.testing.assert_allclose(S.multiplier("polynomial", t, 101, power=3.0), (1 - p) ** 3, rtol=1e-14)
    for shape, decay in {
        "linear": lambda q: 1 - q,
        "cosine": lambda q: 0.5 * (1 + np.cos(np.pi * q)),
        "sqrt": lambda q: 1 - np.sqrt(q),
    }.items():
        f = S.multiplier("wsd", t, 101, decay_fraction=0.25, decay_shape=shape, min_ratio=0.1)
        assert np.all(f[:76] == 1.0)
        q = np.clip((p - 0.75) / 0.25, 0, 1)
        np.testing.assert_allclose(f, 0.1 + 0.9 * decay(q), rtol=1e-14)


# ---------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("name", "total", "params", "needle"),
    [
        ("uba", 100, {"phi": 0.0}, "phi"),
        ("uba", 100, {"phi": -1.0}, "phi"),
        ("cosine", 0, {}, "total_steps"),
        ("cosine", -5, {}, "total_steps"),
        ("cosine", 10, {"warmup_steps": 10}, "warmup_steps"),
        ("cosine", 10, {"warmup_steps": -1}, "warmup_steps"),
        ("cosine", 10, {"min_ratio": 1.5}, "min_ratio"),
        ("multistep", 10, {"milestones": [0.5, 1.2]}, "milestones[1]"),
        ("step", 10, {"step_fraction": -0.1}, "step_fraction"),
        ("wsd", 10, {"decay_fraction": 2.0}, "decay_fraction"),
        ("wsd", 10, {"decay_shape": "exp"}, "decay_shape"),
        ("onecycle", 10, {"pct_start": 1.3}, "pct_start"),
        ("exponential", 10, {"final_ratio": 0.0}, "final_ratio"),
        ("cyclic", 10, {"cycles": 0}, "cycles"),
        ("cosine", 10, {"gamma": 0.5}, "unknown parameter 'gamma'"),
        ("onecycle", 10, {"base_momentum": 1.0}, "base_momentum must be a fraction in [0, 1)"),
        ("onecycle", 10, {"max_momentum": -0.1}, "max_momentum must be a fraction in [0, 1)"),
        (
            "onecycle",
            10,
            {"base_momentum": 0.9, "max_momentum": 0.8},
            "base_momentum must be <= max_momentum",
        ),
        ("onecycle", 10, {"cycle_momentum": "yes"}, "cycle_momentum must be true or false"),
        ("uba", 10, {"phases": [{"fraction": 1.0}]}, "unknown parameter 'phases'"),
        ("multistep", 10, {"milestones": [0.5, 0.5]}, "strictly increasing"),
    ],
)
def test_bad_input_gives_one_line_error_naming_the_parameter(name, total, params, needle) -> None:
    for call in (
        lambda: S.validate(name, total, **params),
        lambda: S.multiplier(name, 0, total, **params),
        lambda: S.create(name, _optimizer(), total, **params),
    ):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert needle in message and "\n" not in message, message


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError) as info:
        S.create("cosin", _optimizer(), 10)
    assert all(n in str(info.value) for n in S.NAMES) and "'cosin'" in str(info.value)
    with pytest.raises(ValueError, match="step must be >= 0"):
        S.multiplier("cosine", -1, 10)


def test_registry_is_complete() -> None:
    assert set(S.NAMES) == {
        "constant", "step", "multistep", "exponential", "cosine", "linear", "polynomial",
        "rex", "rex_code", "onecycle", "wsd", "cyclic", "uba",
    }  # fmt: skip
    assert set(S.DEFAULTS) == set(S.NAMES) and all("warmup_steps" not in d for d in S.DEFAULTS.values())
    assert set(S.DECAYING) == set(S.NAMES) - {"constant", "onecycle", "cyclic"}
    for name in S.NAMES:  # defaults are valid and give finite values in [0, 1]
        f = S.multiplier(name, np.arange(57), 57)
        assert np.all(np.isfinite(f)) and f.min() >= 0, name
        assert f.max() <= 1.0 and (name == "onecycle" or math.isclose(f.max(), 1.0, rel_tol=1e-12)), name
        spec = S.SPECS[name]
        assert spec.label and spec.source and spec.core.__doc__, name


@pytest.mark.parametrize("name", S.NAMES)
def test_describe_lists_every_parameter_with_its_default_and_meaning(name: str) -> None:
    text = S.describe(name)
    assert text.startswith(f"{name} ({S.LABELS[name]}): ")
    for key, default in {**S.DEFAULTS[name], "warmup_steps": 0, "warmup_fraction": 0.0}.items():
        line = next(x for x in text.splitlines() if x.strip().startswith(f"{key} = "))
        assert line.strip().startswith(f"{key} = {default!r}: ") and "check" not in line
        assert len(line.split(": ", 1)[1]) > 20, line


def test_describe_and_the_defaults_are_found_from_create_help() -> None:
    import pydoc

    text = pydoc.render_doc(S.create)
    assert "describe(name)" in text and "DEFAULTS[name]" in text
    assert "phi = 1.0: UBA's shape" in S.describe("uba")
    with pytest.raises(ValueError, match="unknown schedule 'sawtooth'"):
        S.describe("sawtooth")
