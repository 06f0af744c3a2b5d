"""report/theory_report.py: the per-case checks table, the diagnostics and benchmark tables, the theory
macros and the HDM claim judged on one bench."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from report import theory_report as tr
from report.aggregate import read_theory
from theory.checks.result import CheckResult, bound_case

BENCH = pd.DataFrame(
    [
        # problem, method, converged, grad_calls, func_calls
        ("a1a:svm", "HDM-Best", True, 276, 275),
        ("a1a:svm", "L-BFGS-M10", True, 318, 318),
        ("a1a:svm", "Adam", True, 566, 0),
        ("a2a:svm", "HDM-Best", True, 378, 377),
        ("a2a:svm", "L-BFGS-M10", True, 366, 366),
        ("a2a:svm", "Adam", False, 1000, 0),
        ("a3a:logistic", "HDM-Best", True, 883, 882),
        ("a3a:logistic", "L-BFGS-M10", False, 1000, 1000),
        ("a3a:logistic", "Adam", False, 1000, 0),
        ("none", "HDM-Best", False, 1000, 0),
        ("none", "L-BFGS-M10", False, 1000, 1000),
        ("none", "Adam", False, 1000, 0),
    ],
    columns=["problem", "method", "converged", "grad_calls", "func_calls"],
)
KEYS = {"setting", "n", "estimate", "ci_low", "ci_high", "unit", "verdict", "detail"}


def test_hdm_claim_rows_judge_each_problem_and_the_bench():
    rows = tr.hdm_claim_rows(BENCH, "official protocol (a1a-a3a)")
    assert all(set(r) == KEYS for r in rows)
    by_setting = {r["setting"]: r for r in rows}
    assert by_setting["official protocol (a1a-a3a): a1a:svm"]["verdict"] == tr.REPRODUCED
    assert by_setting["official protocol (a1a-a3a): a1a:svm"]["estimate"] == 276 - 318
    assert by_setting["official protocol (a1a-a3a): a2a:svm"]["verdict"] == tr.NOT_REPRODUCED
    assert by_setting["official protocol (a1a-a3a): a3a:logistic"]["verdict"] == tr.REPRODUCED
    assert math.isnan(by_setting["official protocol (a1a-a3a): a3a:logistic"]["estimate"])
    assert by_setting["official protocol (a1a-a3a): none"]["verdict"] == tr.NOT_TESTABLE
    overall = rows[-1]
    assert overall["setting"] == "official protocol (a1a-a3a): all problems"
    assert (overall["n"], overall["estimate"], overall["verdict"]) == (3, 2.0, tr.REPRODUCED)
    assert "on 2 of the 3 problems" in overall["detail"]


def test_hdm_claim_is_not_reproduced_without_a_majority_and_not_testable_without_data():
    lost = BENCH[BENCH["problem"].isin(["a2a:svm", "none"])]
    assert tr.hdm_claim_rows(lost, "s")[-1]["verdict"] == tr.NOT_REPRODUCED
    (empty,) = tr.hdm_claim_rows(None, "s")
    assert (empty["setting"], empty["verdict"], empty["detail"]) == (
        "s: all problems",
        tr.NOT_TESTABLE,
        "no benchmark results",
    )
    no_adam = BENCH[BENCH["method"] != "Adam"]
    assert "Adam missing" in tr.hdm_claim_rows(no_adam, "s")[-1]["detail"]
    only_none = BENCH[BENCH["problem"] == "none"]
    assert tr.hdm_claim_rows(only_none, "s")[-1]["verdict"] == tr.NOT_TESTABLE


def _checks() -> list[dict]:
    good = CheckResult(
        "convex_hypergradient",
        True,
        "long diagnostics _ here",
        cases=[
            bound_case("digits, K = 200", "gap ≤ bound", r"f(x_K)-f^\star \le B", 165.0, 3.4e6),
            bound_case("digits, K = 200", "2Lγ ≥ 1", r"2L\gamma \ge 1", 1.98, 1.0, sense="≥"),
        ],
    )
    bad = CheckResult(
        "superlinear",
        False,
        "window ratios",
        cases=[
            bound_case("quadratic", "r ≤ 0.05", r"\bar r \le 0.05", 0.2, 0.05),
        ],
    )
    return [json.loads(json.dumps(c.record())) for c in (good, bad)] + [
        {"name": "legacy_check", "passed": True, "summary": "no cases recorded"}
    ]


def test_checks_table_has_one_row_per_case_with_sides_margin_and_verdict():
    table = tr.theory_checks_table(_checks())
    body = [line for line in table.splitlines() if line.endswith("\\\\")][1:]
    assert len(body) == 4  # 2 + 1 cases, 1 row for the check without cases
    assert "Convex bound" in body[0] and "$f(x_K)-f^\\star \\le B$" in body[0]
    assert "$165$" in body[0] and "$3.4\\times10^{6}$" in body[0] and "$\\times 2.06\\times10^{4}$" in body[0]
    assert body[0].endswith("yes \\\\") and body[2].endswith("\\textbf{no} \\\\")
    assert "legacy\\_check" in body[3]
    cases = tr.check_cases(_checks())
    assert list(cases.columns) == tr.CASE_COLUMNS and len(cases) == 4
    assert cases["passed"].tolist() == [True, True, False, True]


def test_diagnostics_and_benchmark_tables():
    diagnostics = tr.theory_diagnostics_table(_checks())
    assert "long diagnostics \\_ here" in diagnostics and "\\textbf{no}" in diagnostics
    bench = tr.theory_bench_table(BENCH)
    assert "276 (275)" in bench and "n.c." in bench and "\\rotatebox{60}{a1a:svm}" in bench
    methods = [line.split(" & ")[0] for line in bench.splitlines() if " & " in line][1:]
    assert methods == ["HDM-Best", "L-BFGS-M10", "Adam"]  # theory.methods order
    assert "not run" in tr.theory_bench_table(None)


@pytest.mark.parametrize("with_official", [True, False])
def test_macros_and_reading_the_official_bench(tmp_path, with_official):
    theory = tmp_path / "theory"
    theory.mkdir()
    (theory / "checks.json").write_text(json.dumps({"checks": _checks(), "wall_time_s": 3.0}))
    project = BENCH.assign(budget=1000, budget_unit="gradient calls", tol=1e-4)
    project.to_csv(theory / "bench.csv", index=False)
    if with_official:
        (theory / "official").mkdir()
        BENCH.assign(budget=1000, budget_unit="iterations", tol=1e-4).to_csv(
            theory / "official" / "bench.csv", index=False
        )
    results = read_theory(theory / "checks.json", theory / "bench.csv")
    assert (results.official_bench is not None) == with_official
    macros = tr.theory_macros(results)
    assert macros["theoryCasesTotal"] == "4" and macros["theoryCasesPassed"] == "3"
    assert macros["benchBudget"] == "1000" and macros["benchTolerance"] == "$10^{-4}$"
    assert macros["hdmProjectVerdict"] == tr.REPRODUCED
    if with_official:
        assert macros["officialBudgetUnit"] == "iterations" and macros["numOfficialProblems"] == "4"
        assert macros["officialProblemList"] == "a1a:svm, a2a:svm, a3a:logistic and none"
    else:
        assert macros["hdmOfficialVerdict"] == tr.NOT_TESTABLE and macros["officialProblemList"] == "none"
