"""The theory part of the report (design.md section 6): tables, macros and the HDM claim, from the outputs
of ``python -m theory check|bench`` (``checks.json``; ``bench.csv`` of the project protocol and of the
official one).

- ``check_cases(checks)``: one row per case of every bound check (the CSV behind the paper's table).
- ``theory_checks_table(checks)``: that table in LaTeX: the inequality in symbols, its two sides, the
  margin by which it holds, and whether it holds (``checks.json`` "cases"; a check without cases gets one
  row with its verdict).
- ``theory_diagnostics_table(checks)``: the appendix table, one row per check with its long summary.
- ``theory_bench_table(bench)``: gradient calls (function calls) per method and problem, for either bench.
- ``theory_macros(theory)``: the counts and sentences the paper quotes.
- ``hdm_claim_rows(bench, setting)``: the claim "HDM-Best needs fewer gradient calls than L-BFGS-M10 and
  Adam", judged on one bench as ``report.claims`` judges it: per problem, HDM-Best wins when it converges
  with fewer calls than both rivals (a run that does not converge counts as infinitely many calls); a
  problem where none of the three converges decides nothing; the claim is reproduced on the bench when
  HDM-Best wins a strict majority of the deciding problems.
"""

from __future__ import annotations

import math

import pandas as pd

from report.latex import escape, number
from theory.methods import ordered

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable at this scale"
CASE_COLUMNS = ["check", "case", "formula", "lhs", "rhs", "margin", "margin_unit", "passed"]
CHECK_TITLES = {
    "ratio_chaining": "Ratio chaining",
    "kappa_star_rate": "Rate with $\\kappa^\\star$",
    "convex_hypergradient": "Convex bound",
    "superlinear": "Superlinear rate",
    "uba_chebyshev": "UBA and Chebyshev",
    "last_iterate_closed_forms": "Last-iterate bound: closed forms",
    "last_iterate_pep": "Last-iterate bound vs exact worst case",
    "last_iterate_optimal_schedule": "Bound-optimal schedule vs linear",
}
HDM_RIVALS = ("L-BFGS-M10", "Adam")


def _float(value: object) -> float:
    """A number from checks.json (non-finite numbers are stored as strings there)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def tex_number(value: float) -> str:
    """Three significant digits, in math mode; a×10^k outside [1e-2, 1e3); an en dash for NaN."""
    if not math.isfinite(value):
        return "--" if math.isnan(value) else ("$\\infty$" if value > 0 else "$-\\infty$")
    if value == 0 or 1e-2 <= abs(value) < 1e3:
        return f"${value:.3g}$"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = f"10^{{{int(exponent)}}}"
    return f"${power}$" if mantissa == "1" else f"${mantissa}\\times{power}$"


def margin_text(margin: float, unit: str) -> str:
    """``×35.6`` (factor), ``0.79 dec.`` (decades of a log10 side) or ``+0.1`` (difference)."""
    if not math.isfinite(margin):
        return "$\\times\\infty$" if unit == "factor" and margin > 0 else "--"
    if unit == "factor":
        return f"$\\times {tex_number(margin).strip('$')}$"
    if unit == "decades":
        return f"{margin:.2f} dec." if abs(margin) >= 0.1 else f"{margin:.2g} dec."
    return f"${margin:+.3g}$"


def _verdict(passed: bool) -> str:
    return "yes" if passed else "\\textbf{no}"


def _tabular(columns: str, header: list[str], body: list[list[str] | str]) -> str:
    """A booktabs tabular; a row is a list of cells or a raw line such as ``\\midrule``."""
    rows = [row if isinstance(row, str) else " & ".join(row) + " \\\\" for row in body]
    return "\n".join(["\\begin{tabular}{" + columns + "}", "\\toprule", " & ".join(header) + " \\\\",
                      "\\midrule", *rows, "\\bottomrule", "\\end{tabular}", ""])


def check_cases(checks: list[dict]) -> pd.DataFrame:
    """One row per case (CASE_COLUMNS); a check without cases gives one row with its verdict."""
    rows = []
    for check in checks:
        for case in check.get("cases") or [{}]:
            rows.append({"check": check["name"], "case": case.get("case", ""),
                         "formula": case.get("formula", ""), "lhs": _float(case.get("lhs")),
                         "rhs": _float(case.get("rhs")),
                         "margin": _float(case.get("margin")), "margin_unit": case.get("margin_unit", ""),
                         "passed": bool(case.get("passed", check["passed"]))})
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def theory_checks_table(checks: list[dict]) -> str:
    """The paper's table of bound checks: one row per case."""
    body: list[list[str] | str] = []
    for number_of_check, check in enumerate(checks):
        title = CHECK_TITLES.get(check["name"], escape(check["name"]))
        if number_of_check:
            body.append("\\midrule")  # a rule between checks
        for i, case in enumerate(check.get("cases") or [{}]):
            formula = case.get("formula_tex")
            unit = case.get("margin_unit", "")
            body.append([title if i == 0 else "", escape(case.get("case", "")),
                         f"${formula}$" if formula else "--", tex_number(_float(case.get("lhs"))),
                         tex_number(_float(case.get("rhs"))), margin_text(_float(case.get("margin")), unit),
                         _verdict(bool(case.get("passed", check["passed"])))])
    columns = ">{\\raggedright}p{0.11\\linewidth}>{\\raggedright}p{0.24\\linewidth}lrrrl"
    return _tabular(columns, ["Check", "Case", "Inequality", "Left", "Right", "Margin", "Holds"], body)


def theory_diagnostics_table(checks: list[dict]) -> str:
    """The appendix table: one row per check, its verdict and the long summary of ``checks.json``."""
    body = [[CHECK_TITLES.get(c["name"], escape(c["name"])), _verdict(bool(c["passed"])),
             escape(c.get("summary", ""))] for c in checks]
    return _tabular(">{\\raggedright}p{0.15\\linewidth}l>{\\raggedright\\arraybackslash}p{0.72\\linewidth}",
                    ["Check", "Passed", "Diagnostics"], body)


def _calls_cell(r: pd.Series) -> str:
    """``grads (funcs)`` of a converged run, ``n.c.`` otherwise (function calls only when the method
    evaluates f at all: Adam, AdaGrad and GD record 0 and show their gradient calls alone)."""
    if not bool(r["converged"]):
        return "n.c."
    funcs = r.get("func_calls")
    if funcs is None or not math.isfinite(float(funcs)) or float(funcs) == 0:
        return str(int(r["grad_calls"]))
    return f"{int(r['grad_calls'])} ({int(funcs)})"


def theory_bench_table(bench: pd.DataFrame | None) -> str:
    """Gradient calls (function calls) to convergence per method (rows) × problem (columns); n.c. = not
    converged within the budget; a one-line table when the bench did not run."""
    if bench is None or bench.empty:
        return _tabular("l", ["Benchmark"], [["not run"]])
    problems = list(dict.fromkeys(bench["problem"]))
    body = []
    for method in ordered(bench["method"]):
        row = [escape(method)]
        for p in problems:
            r = bench[(bench["method"] == method) & (bench["problem"] == p)]
            row.append("--" if r.empty else _calls_cell(r.iloc[0]))
        body.append(row)
    header = ["Method", *(f"\\rotatebox{{60}}{{{escape(p)}}}" for p in problems)]
    return _tabular("l" + "r" * len(problems), header, body)


def _calls(value: float) -> str:
    return f"{int(value)}" if math.isfinite(value) else "not converged"


def hdm_claim_rows(bench: pd.DataFrame | None, setting: str) -> list[dict]:
    """The HDM claim on one bench (module docstring): a row per problem (setting ``"<setting>: <problem>"``)
    and last the overall row (setting ``"<setting>: all problems"``), each with the keys setting, n,
    estimate, ci_low, ci_high, unit, verdict, detail."""
    names = ("HDM-Best", *HDM_RIVALS)
    overall = f"{setting}: all problems"

    def row(where: str, n: int = 0, estimate: float = math.nan, unit: str = "calls",
            verdict: str = NOT_TESTABLE, detail: str = "") -> dict:
        return {"setting": where, "n": n, "estimate": estimate, "ci_low": math.nan, "ci_high": math.nan,
                "unit": unit, "verdict": verdict, "detail": detail}

    if bench is None or bench.empty:
        return [row(overall, detail="no benchmark results")]
    missing = [m for m in names if m not in set(bench["method"])]
    if missing:
        return [row(overall, detail=f"method {missing[0]} missing from the benchmark")]
    converged = bench["converged"].astype(str).str.lower().isin(["true", "1", "yes"])
    calls = (bench.assign(eff=bench["grad_calls"].astype(float).where(converged, math.inf))
             .pivot_table(index="problem", columns="method", values="eff", aggfunc="min"))
    calls = calls.reindex([p for p in dict.fromkeys(bench["problem"]) if p in calls.index])
    rows, wins, decided = [], 0, 0
    for problem, r in calls.iterrows():
        hdm, rival = r["HDM-Best"], min(r[m] for m in HDM_RIVALS)
        win = bool(math.isfinite(hdm) and hdm < rival)
        deciding = math.isfinite(hdm) or math.isfinite(rival)
        wins += win
        decided += deciding
        estimate = hdm - rival if math.isfinite(hdm) and math.isfinite(rival) else math.nan
        rows.append(row(f"{setting}: {problem}", 1, estimate,
                        verdict=(REPRODUCED if win else NOT_REPRODUCED) if deciding else NOT_TESTABLE,
                        detail=", ".join(f"{m} {_calls(r[m])}" for m in names)))
    if decided:
        verdict = REPRODUCED if wins > decided / 2 else NOT_REPRODUCED
        detail = (f"HDM-Best needs fewer gradient calls than L-BFGS-M10 and Adam on {wins} of the {decided} "
                  f"problems where at least one of the three converged (none did on {len(calls) - decided} "
                  f"of {len(calls)} problems)")
    else:
        verdict = NOT_TESTABLE
        detail = f"none of HDM-Best, L-BFGS-M10 and Adam converged on any of the {len(calls)} problems"
    rows.append(row(overall, decided, float(wins), "problems won", verdict, detail))
    return rows


def _problem_names(bench: pd.DataFrame | None) -> str:
    """``a1a:svm, a2a:svm and a3a:logistic`` as LaTeX text."""
    names = [escape(p) for p in dict.fromkeys(bench["problem"])] if bench is not None else []
    if not names:
        return "none"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _protocol_value(bench: pd.DataFrame | None, column: str) -> object | None:
    """The one value of a protocol column of bench.csv (None when absent or not unique)."""
    if bench is None or column not in bench.columns or bench[column].nunique() != 1:
        return None
    return bench[column].iloc[0]


def _tolerance(value: object | None) -> str:
    if value is None:
        return "--"
    exponent = math.log10(float(value))
    return f"$10^{{{round(exponent)}}}$" if abs(exponent - round(exponent)) < 1e-9 else f"${float(value):g}$"


def theory_macros(theory) -> dict[str, str]:
    """Counts from the theory checks and both benchmarks, and the HDM claim's verdict on each bench."""
    cases = check_cases(theory.checks)
    official = getattr(theory, "official_bench", None)
    project_claim = hdm_claim_rows(theory.bench, "project protocol")[-1]
    official_claim = hdm_claim_rows(official, "official protocol")[-1]
    return {
        "theoryChecksPassed": str(sum(bool(c["passed"]) for c in theory.checks)),
        "theoryChecksTotal": str(len(theory.checks)),
        "theoryCasesPassed": str(int(cases["passed"].sum())),
        "theoryCasesTotal": str(len(cases)),
        "theoryWallSeconds": number(theory.wall_time_s, 0),
        "numBenchProblems": str(theory.bench["problem"].nunique()),
        "numBenchMethods": str(theory.bench["method"].nunique()),
        "numOfficialProblems": str(official["problem"].nunique()) if official is not None else "0",
        "numOfficialMethods": str(official["method"].nunique()) if official is not None else "0",
        "officialProblemList": _problem_names(official),
        "benchBudget": str(_protocol_value(theory.bench, "budget") or "--"),
        "benchBudgetUnit": str(_protocol_value(theory.bench, "budget_unit") or "--"),
        "benchTolerance": _tolerance(_protocol_value(theory.bench, "tol")),
        "officialBudget": str(_protocol_value(official, "budget") or "--"),
        "officialBudgetUnit": str(_protocol_value(official, "budget_unit") or "--"),
        "hdmOfficialVerdict": official_claim["verdict"],
        "hdmOfficialSentence": escape(official_claim["detail"]) + ".",
        "hdmProjectVerdict": project_claim["verdict"],
        "hdmProjectSentence": escape(project_claim["detail"]) + ".",
    }
