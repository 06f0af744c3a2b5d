"""theory/last_iterate.py, theory/pep.py and `python -m theory bound`: the last-iterate bound Ω_T of SGD for
any library schedule, its closed forms, γ*, the optimal schedule, the PEP worst case, the CSV and one-line
errors on bad input."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from stepsize.schedules import NAMES
from theory import __main__ as cli
from theory import last_iterate, pep
from theory.checks import (
    check_last_iterate_closed_forms,
    check_last_iterate_optimal_schedule,
    check_last_iterate_pep,
)
from theory.checks.last_iterate_forms import constant_errors, wsd_rows
from theory.checks.last_iterate_optimum import optimum_row
from theory.checks.last_iterate_pep import pep_row

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    with threadpool_limits(1):
        yield


def direct_terms(eta: np.ndarray, D: float, G: np.ndarray) -> tuple[float, float, float]:
    """Ω_T's three terms summed straight from the formula, O(T²), as an independent reference."""
    T, q = eta.size, eta**2 * G**2
    third = sum(
        eta[k] / sum(eta[k + 1 :]) * (sum(q[k:]) / sum(eta[k:])) for k in range(T - 1)
    )
    return D**2 / (2 * sum(eta)), sum(q) / (2 * sum(eta)), 0.5 * third


# the bound


@pytest.mark.parametrize("T", [1, 2, 3, 10, 100, 1000])
@pytest.mark.parametrize(("D", "G"), [(1.0, 1.0), (5.0, 10.0)])
def test_constant_steps_match_the_harmonic_closed_form(T, D, G):
    gamma, h = 0.5, last_iterate.harmonic(T - 1)
    terms = last_iterate.refined_terms(np.full(T, gamma), D, G)
    np.testing.assert_allclose(terms, (D**2 / (2 * gamma * T), gamma * G**2 / 2, gamma * G**2 * h / 2),
                               rtol=1e-13)
    bound = last_iterate.schedule_bound("constant", T, D, G)
    gamma_star, omega_star = last_iterate.constant_closed_form(T, D, G)
    assert bound.gamma_star == pytest.approx(gamma_star, rel=1e-13)
    assert bound.omega_star == pytest.approx(omega_star, rel=1e-13)
    harmonic = sum(1 / i for i in range(1, T))
    assert omega_star == pytest.approx(D * G * math.sqrt((1 + harmonic) / T), rel=1e-13)


def test_the_tail_sums_agree_with_the_formula_summed_directly():
    rng = np.random.default_rng(0)
    for T in (1, 2, 5, 40):
        eta, G = rng.uniform(0.01, 2.0, T), rng.uniform(0.5, 3.0, T)
        np.testing.assert_allclose(last_iterate.refined_terms(eta, 1.7, G), direct_terms(eta, 1.7, G),
                                   rtol=1e-12)


@pytest.mark.parametrize("schedule", ["linear", "cosine", "wsd", "uba:phi=4", "constant:warmup_steps=5"])
def test_gamma_star_minimises_the_bound_over_a_grid(schedule):
    bound = last_iterate.schedule_bound(schedule, 50)
    gammas = bound.gamma_star * np.logspace(-1, 1, 2001)
    values = bound.omega(gammas)
    assert bound.omega(bound.gamma_star) == pytest.approx(bound.omega_star, rel=1e-14)
    assert np.min(values) >= bound.omega_star * (1 - 1e-14)
    assert abs(np.log(gammas[np.argmin(values)] / bound.gamma_star)) <= np.log(10) / 1000  # one grid step


@pytest.mark.parametrize("T", [50, 100, 400])
def test_linear_decay_beats_constant_and_cosine_at_moderate_T(T):
    omega = {name: last_iterate.schedule_bound(name, T).omega_star
             for name in ("linear", "constant", "cosine")}
    assert omega["linear"] < omega["cosine"] < omega["constant"], omega


def test_average_iterate_bound_prefers_constant_steps():
    """The textbook bound for the average iterate, D√(Σs²)/Σs, is smallest for constant steps (Cauchy–
    Schwarz), the contrast with the last-iterate bound."""
    constant = last_iterate.average_bound(np.ones(100))
    assert constant.omega_star == pytest.approx(0.1, rel=1e-14)
    for name in ("linear", "cosine", "wsd"):
        assert last_iterate.average_bound(last_iterate.schedule_multipliers(name, 100)).omega_star > 0.1


def test_schedules_are_sampled_as_the_authors_do():
    """First T updates of a budget of T + 1: linear decay is 1 − (t − 1)/T and every library schedule ends
    on a positive step, so Ω_T is finite."""
    np.testing.assert_allclose(last_iterate.schedule_multipliers("linear", 10), 1 - np.arange(10) / 10)
    for name in NAMES:
        for T in (1, 2, 7, 100):
            s = last_iterate.schedule_multipliers(name, T)
            assert s.shape == (T,) and s[-1] > 0, (name, T)
            assert math.isfinite(last_iterate.schedule_bound(name, T).omega_star)
    assert last_iterate.parse_schedule("multistep:milestones=[0.3,0.6],gamma=0.5") == (
        "multistep", {"milestones": [0.3, 0.6], "gamma": 0.5})


def test_wsd_theorem_holds_and_the_library_wsd_is_the_authors():
    rows = wsd_rows((100, 300, 1100), (1.0, 7.0))
    assert all(r["steps_max_diff"] < 1e-12 and r["omega_star"] <= r["theorem"] for r in rows)
    assert check_last_iterate_closed_forms(constant_errors(30), rows).passed


def test_closed_forms_check_fails_on_wrong_data():
    rows = wsd_rows((100, 300), (1.0,))
    too_tight = [{**r, "theorem": 0.9 * r["omega_star"]} for r in rows]
    result = check_last_iterate_closed_forms(constant_errors(10), too_tight)
    assert not result.passed and not result.cases[-1].passed
    wrong = {**constant_errors(10), "max_rel_error": 1e-6}
    assert not check_last_iterate_closed_forms(wrong, rows).passed


# the optimal schedule


def test_log_omega_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    s, G2 = rng.uniform(0.2, 1.0, 12), rng.uniform(0.5, 2.0, 12)
    value, grad = last_iterate.log_omega_star(s, 1.3, G2)
    bound = last_iterate.refined_bound(s, 1.3, np.sqrt(G2))
    assert math.exp(value) == pytest.approx(bound.omega_star, rel=1e-13)
    step = 1e-6
    numeric = [(last_iterate.log_omega_star(s + step * e, 1.3, G2)[0]
                - last_iterate.log_omega_star(s - step * e, 1.3, G2)[0]) / (2 * step) for e in np.eye(12)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_the_optimal_schedule_beats_every_library_schedule_and_is_near_linear():
    T = 60
    optimum = last_iterate.optimal_schedule(T)
    assert optimum.converged and optimum.stationarity < 1e-6
    assert optimum.multipliers.max() == 1.0
    for name in NAMES:
        assert optimum.omega_star <= last_iterate.schedule_bound(name, T).omega_star * (1 + 1e-9), name
    linear = last_iterate.schedule_multipliers("linear", T)
    assert np.max(np.abs(optimum.multipliers[:54] / optimum.multipliers[0] - linear[:54])) < 0.05


def test_optimal_schedule_check_fails_when_not_converged_or_the_excess_grows():
    rows = [optimum_row(10), optimum_row(40)]
    assert check_last_iterate_optimal_schedule([dict(r) for r in rows]).passed
    unconverged = [dict(rows[0], converged=False), dict(rows[1])]
    assert not check_last_iterate_optimal_schedule(unconverged).passed
    growing = [dict(rows[0]), dict(rows[1], excess=rows[0]["excess"] * 2)]
    assert not check_last_iterate_optimal_schedule(growing).passed


# the exact worst case (PEP)


def test_pep_worst_case_is_below_the_bound_and_exact_without_steps():
    exact = pep_row("constant", 1, D=2.0, G=3.0)
    assert exact["pep_worst"] == pytest.approx(6.0, rel=1e-6) and exact["omega_star"] == pytest.approx(6.0)
    rows = [pep_row(name, 3) for name in ("constant", "linear", "uba:phi=4")]
    assert all(r["pep_worst"] <= r["omega_star"] for r in rows)
    assert check_last_iterate_pep(rows, exact).passed


def test_pep_check_fails_for_the_average_iterate_bound_on_the_last_iterate():
    """The average-iterate bound D√(Σs²)/Σs is not a last-iterate bound: the exact worst case of constant
    steps at T = 8 exceeds it, and the check says so."""
    row = pep_row("constant", 8)
    assert row["pep_worst"] > row["omega_star_average"]
    result = check_last_iterate_pep([{**row, "omega_star": row["omega_star_average"]}])
    assert not result.passed and not result.cases[0].passed


def test_pep_rejects_bad_steps():
    with pytest.raises(ValueError, match="schedule 'neg'"):
        pep.sgd_worst_case([1.0, -0.5], name="neg")


# bad input


@pytest.mark.parametrize(
    ("steps", "D", "G", "message"),
    [
        (np.zeros(4), 1.0, 1.0, "every step is 0"),
        ([1.0, 0.5, 0.0], 1.0, 1.0, "the last step is 0"),
        ([1.0, -1e-3, 1.0], 1.0, 1.0, "step 2 is negative"),
        ([1.0, np.inf], 1.0, 1.0, "step 2 is inf"),
        ([1.0, 1.0], 0.0, 1.0, "D must be finite and > 0"),
        ([1.0, 1.0], -1.0, 1.0, "D must be finite and > 0"),
        ([1.0, 1.0], 1.0, 0.0, "G must be finite and > 0"),
        ([1.0, 1.0], 1.0, [1.0, 1.0, 1.0], "one per step, got shape (3,)"),
        ([1.0, 1.0], 1.0, [1.0, np.nan], "G_2 = nan"),
    ],
)
def test_undefined_bounds_give_a_one_line_error_naming_the_schedule(steps, D, G, message):
    with pytest.raises(ValueError) as error:
        last_iterate.refined_bound(steps, D, G, name="mine")
    text = str(error.value)
    assert message in text and "'mine'" in text and len(text.splitlines()) == 1


def test_rounding_below_zero_counts_as_zero():
    assert last_iterate.refined_bound([1.0, -1e-16, 1.0]).omega_star == pytest.approx(
        last_iterate.refined_bound([1.0, 0.0, 1.0]).omega_star, rel=1e-15)


# the command


def test_bound_command_writes_the_csv(tmp_path, capsys):
    out = tmp_path / "bound"
    argv = ["bound", "--schedules", "linear", "uba:phi=4", "--T", "2", "4", "--pep", "--out", str(out)]
    assert cli.main(argv) == 0
    with (out / "bound.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*last_iterate.BOUND_COLUMNS, "pep_worst"]
    assert [(r["schedule"], int(r["T"])) for r in rows] == [("linear", 2), ("linear", 4), ("uba:phi=4", 2),
                                                          ("uba:phi=4", 4)]
    for r in rows:
        bound = last_iterate.schedule_bound(r["schedule"], int(r["T"]))
        assert float(r["omega_star"]) == bound.omega_star and float(r["gamma_star"]) == bound.gamma_star
        assert 0 < float(r["pep_worst"]) <= float(r["omega_star"])
    assert "4 rows" in capsys.readouterr().out
    assert cli.main(["bound", "--schedules", "constant", "--T", "3", "--out", str(out)]) == 0
    with (out / "bound.csv").open() as handle:
        assert next(csv.reader(handle)) == last_iterate.BOUND_COLUMNS  # no pep_worst without --pep


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedules", "nope", "--T", "5"], "error: schedule 'nope': unknown schedule 'nope'"),
        (["--schedules", "uba:phi=-1", "--T", "5"], "error: schedule 'uba:phi=-1': phi must be > 0, got -1"),
        (["--schedules", "linear", "--T", "0"], "error: --T 0: the number of steps must be >= 1"),
        (["--schedules", "cyclic:min_ratio=0", "--T", "2"],
         "error: schedule 'cyclic:min_ratio=0', T = 2: every step is 0, so Ω_T is undefined"),
        (["--schedules", "linear", "--T", "5", "--D", "0"],
         "error: schedule 'linear': D must be finite and > 0"),
        (["--schedules", "linear", "--T", "5", "--G", "-2"], "G must be finite and > 0, got G = -2.0"),
        (["--schedules", "linear", "--T", "5", "--G", "nan"], "G must be finite and > 0, got G = nan"),
    ],
)
def test_bound_command_bad_input_gives_a_one_line_error(args, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "theory", "bound", *args, "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "bound.csv").exists()
