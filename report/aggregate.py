"""``python -m report aggregate``: run records + theory outputs -> CSV tables, LaTeX tables, macros.

Everything the paper quotes is written here, from the data: the tables (``table_*.tex``), the CSVs the
figures and notebooks read, and ``macros.tex`` (numbers and result-dependent sentences).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from report import claims as claims_mod
from report import latex, macros, records, tables, theory_report
from report.grid import Grid

TABLE_FILES = (
    "final.csv", "summary.csv", "ranks.csv", "swa_gains.csv", "swa_gains_avg.csv", "phi.csv", "claims.csv",
    "evals.csv", "theory_checks.csv", "theory_bench.csv", "swa_interaction.csv", "swa_correlations.csv",
    "table_main.tex", "table_main_swa.tex", "table_ranks.tex", "table_swa.tex", "table_phi.tex",
    "table_claims.tex",
    "table_theory_checks.tex", "table_theory_bench.tex",
    "theory_bench_official.csv", "table_theory_diagnostics.tex", "table_theory_bench_official.tex",
)


class TheoryInputError(ValueError):
    """A theory output is missing or malformed."""


@dataclass
class TheoryResults:
    """The theory part's outputs (design.md section 6); ``official_bench`` is None when it did not run."""

    checks: list[dict]
    wall_time_s: float
    bench: pd.DataFrame
    official_bench: pd.DataFrame | None = None


def _read_bench(path: Path) -> pd.DataFrame:
    bench = pd.read_csv(path)
    missing = [c for c in ("problem", "method", "converged", "grad_calls") if c not in bench.columns]
    if missing:
        raise TheoryInputError(f"{path}: missing column {missing[0]!r}")
    bench["converged"] = bench["converged"].astype(str).str.lower().isin(["true", "1", "yes"])
    return bench


def read_theory(checks_path: str | Path, bench_path: str | Path,
                official_bench_path: str | Path | None = None) -> TheoryResults:
    """Load ``checks.json``, ``bench.csv`` and the official protocol's ``bench.csv`` (default: ``official/``
    beside ``bench.csv``; absent means not run) with one-line errors naming the file and the key."""
    checks_path, bench_path = Path(checks_path), Path(bench_path)
    official = Path(official_bench_path or bench_path.parent / "official" / "bench.csv")
    if official_bench_path and not official.is_file():
        raise TheoryInputError(f"theory output not found: {official} (run `python -m theory bench "
                               "--protocol official --out DIR`)")
    for p in (checks_path, bench_path):
        if not p.is_file():
            raise TheoryInputError(f"theory output not found: {p} "
                                   "(run `python -m theory check|bench --out DIR`)")
    try:
        data = json.loads(checks_path.read_text())
    except json.JSONDecodeError as exc:
        raise TheoryInputError(f"{checks_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise TheoryInputError(f"{checks_path}: expected an object with a 'checks' list")
    for i, c in enumerate(data["checks"]):
        for key in ("name", "passed"):
            if key not in c:
                raise TheoryInputError(f"{checks_path}: checks[{i}] lacks key {key!r}")
    return TheoryResults(data["checks"], float(data.get("wall_time_s") or 0.0), _read_bench(bench_path),
                         _read_bench(official) if official.is_file() else None)


def aggregate(grid: Grid, runs_root: str | Path, theory: TheoryResults, out_dir: str | Path,
              macros_path: str | Path, benchmarks_dir: str | Path | None = None) -> None:
    """Write every table of TABLE_FILES into ``out_dir`` and the macros into ``macros_path``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recs = records.load_runs(grid, runs_root)
    final = records.final_table(grid, recs)
    summary = tables.summary(final)
    ranks = tables.average_ranks(final)
    gains = tables.swa_gains(final)
    gains_avg = tables.swa_gain_over_strategies(final)
    phi = tables.phi_sensitivity(summary, grid)
    claim_rows = claims_mod.claims_table(final, grid, theory.bench)
    evals = records.eval_table(grid, recs)
    interaction = tables.swa_interaction(gains, records.window_lr_table(grid, recs))
    correlations = tables.interaction_correlations(interaction)

    final.to_csv(out / "final.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    ranks.to_csv(out / "ranks.csv", index=False)
    gains.to_csv(out / "swa_gains.csv", index=False)
    gains_avg.to_csv(out / "swa_gains_avg.csv", index=False)
    phi.to_csv(out / "phi.csv", index=False)
    claim_rows.to_csv(out / "claims.csv", index=False)
    evals.to_csv(out / "evals.csv", index=False)
    interaction.to_csv(out / "swa_interaction.csv", index=False)
    correlations.to_csv(out / "swa_correlations.csv", index=False)
    theory_report.check_cases(theory.checks).to_csv(out / "theory_checks.csv", index=False)
    theory.bench.to_csv(out / "theory_bench.csv", index=False)
    official = theory.official_bench
    (official if official is not None else theory.bench.iloc[0:0]).to_csv(out / "theory_bench_official.csv",
                                                                           index=False)

    (out / "table_main.tex").write_text(latex.main_table(summary, grid))
    (out / "table_main_swa.tex").write_text(latex.main_swa_table(summary, grid))
    (out / "table_ranks.tex").write_text(latex.rank_table(ranks, grid))
    (out / "table_swa.tex").write_text(latex.swa_table(gains_avg, grid))
    (out / "table_phi.tex").write_text(latex.phi_table(phi, grid))
    (out / "table_claims.tex").write_text(latex.claims_table(claim_rows))
    (out / "table_theory_checks.tex").write_text(theory_report.theory_checks_table(theory.checks))
    (out / "table_theory_diagnostics.tex").write_text(theory_report.theory_diagnostics_table(theory.checks))
    (out / "table_theory_bench.tex").write_text(theory_report.theory_bench_table(theory.bench))
    (out / "table_theory_bench_official.tex").write_text(theory_report.theory_bench_table(official))

    job_seconds = macros.benchmark_seconds(benchmarks_dir) if benchmarks_dir else None
    values = macros.build(grid, recs, final, summary, ranks, gains_avg, phi, claim_rows, theory, job_seconds,
                          correlations)
    latex.write_macros(values, macros_path)
