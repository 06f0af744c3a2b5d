"""``python -m report aggregate``: run records, choices and theory outputs -> CSV and LaTeX tables, the
macros the paper quotes and their provenance.

Everything the paper quotes is written here, from the data: the tables (``table_*.tex``), the CSVs the
figures and notebooks read, ``macros.tex`` (numbers and result-dependent sentences) and
``provenance.json`` (for each macro its value, the table it comes from and the runs behind it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from report import (
    bound_predictions,
    latex,
    macros,
    runs,
    setup_macros,
    tables,
    theory_report,
    time_to_target,
    tuning,
)
from report import claims as claims_mod
from report.grid import Grid
from report.plan import all_batches, selection_path
from report.plan import runs as planned_runs

TABLE_FILES = (
    "final.csv",
    "summary.csv",
    "ranks.csv",
    "swa_gains.csv",
    "swa_gains_avg.csv",
    "claims.csv",
    "evals.csv",
    "tuning.csv",
    "uba.csv",
    "plateau.csv",
    "time_to_target.csv",
    "profile_curves.csv",
    "theory_checks.csv",
    "theory_bench.csv",
    "swa_interaction.csv",
    "swa_correlations.csv",
    "train_loss.csv",
    "bound_predictions.csv",
    "bound_lr_ratios.csv",
    "table_main.tex",
    "table_main_swa.tex",
    "table_ranks.tex",
    "table_swa.tex",
    "table_tuning.tex",
    "table_uba.tex",
    "table_claims.tex",
    "table_claim_tests.tex",
    "table_train_loss.tex",
    "table_profile.tex",
    "table_theory_checks.tex",
    "table_theory_bench.tex",
    "theory_bench_official.csv",
    "table_theory_diagnostics.tex",
    "table_theory_bench_official.tex",
)


class TheoryInputError(ValueError):
    """A theory output is missing or malformed."""


@dataclass
class TheoryResults:
    """The theory part's outputs (design.md section 6)."""

    checks: list[dict]
    wall_time_s: float
    bench: pd.DataFrame
    official_bench: pd.DataFrame | None = None  # the official protocol's bench; None when it did not run


def _read_bench(path: Path) -> pd.DataFrame:
    try:
        bench = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise TheoryInputError(f"{path}: not a readable CSV ({' '.join(str(err).split())[:100]})") from None
    missing = [c for c in ("problem", "method", "converged", "grad_calls") if c not in bench.columns]
    if missing:
        raise TheoryInputError(f"{path}: missing column {missing[0]!r}")
    bench["converged"] = bench["converged"].astype(str).str.lower().isin(["true", "1", "yes"])
    return bench


def read_theory(
    checks_path: str | Path, bench_path: str | Path, official_bench_path: str | Path | None = None
) -> TheoryResults:
    """Load ``checks.json``, ``bench.csv`` and the official protocol's ``bench.csv`` (default: ``official/``
    beside ``bench.csv``; absent means not run) with one-line errors naming the file and the key."""
    checks_path, bench_path = Path(checks_path), Path(bench_path)
    for p in (checks_path, bench_path):
        if not p.is_file():
            raise TheoryInputError(
                f"theory output not found: {p} (run `python -m theory check|bench --out DIR`)"
            )
    official = Path(official_bench_path or bench_path.parent / "official" / "bench.csv")
    if official_bench_path and not official.is_file():
        raise TheoryInputError(
            f"theory output not found: {official} "
            "(run `python -m theory bench --protocol official --out DIR`)"
        )
    try:
        data = json.loads(checks_path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise TheoryInputError(f"{checks_path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise TheoryInputError(f"{checks_path}: expected an object with a 'checks' list")
    for i, c in enumerate(data["checks"]):
        if not isinstance(c, dict):
            raise TheoryInputError(f"{checks_path}: checks[{i}] must be an object")
        for key in ("name", "passed"):
            if key not in c:
                raise TheoryInputError(f"{checks_path}: checks[{i}] lacks key {key!r}")
    return TheoryResults(
        data["checks"],
        float(data.get("wall_time_s") or 0.0),
        _read_bench(bench_path),
        _read_bench(official) if official.is_file() else None,
    )


def read_selections(grid: Grid, root: str | Path = ".") -> dict[str, dict]:
    """Every strategy's choice (``results/<p>/tuning/<strategy>.json``)."""
    out = {}
    for strategy in grid.strategies:
        path = Path(root) / selection_path(grid, strategy)
        try:
            out[strategy] = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise runs.RecordError(f"{path}: cannot read the tuning choice ({err})") from None
    return out


def reference_config(grid: Grid, records: dict) -> dict:
    """The resolved config of a run of the reference strategy (cosine), else of any run."""
    ordered = sorted(records.items(), key=lambda kv: kv[0].strategy != grid.report["cosine"])
    return next((rec["config"] for _, rec in ordered if rec.get("config")), {})


def aggregate(
    grid: Grid,
    runs_root: str | Path,
    theory: TheoryResults,
    out_dir: str | Path,
    macros_path: str | Path,
    benchmarks_dir: str | Path | None = None,
) -> None:
    """Write every table of TABLE_FILES into ``out_dir``, the macros into ``macros_path`` and their
    provenance into ``provenance.json`` beside it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = runs.load(grid, "final", runs_root)
    plateau_records = runs.load(grid, "plateau", runs_root)
    selections = read_selections(grid, runs_root)
    final = runs.final_table(grid, records)
    evals = runs.eval_table(grid, records)
    summary = tables.summary(final)
    ranks = tables.average_ranks(final)
    gains = tables.swa_gains(final)
    gains_avg = tables.swa_gain_over_strategies(final)
    interaction = tables.swa_interaction(gains, runs.window_lr_table(grid, records))
    correlations = tables.interaction_correlations(interaction)
    tuning_curves = tuning.tuning_table(grid, selections)
    uba = tables.uba_choices(grid, selections)
    plateau = tables.plateau(grid, plateau_records, summary)
    scores = time_to_target.scores(grid, final)  # horizon-aware, test split, targets from the reference
    curves = time_to_target.curves(grid, final)
    train_curves = runs.curve_table(grid, records)
    study = claims_mod.Study(grid, final, evals, selections, theory.bench, theory.official_bench,
                             curves=train_curves)
    losses = tables.train_loss(train_curves, final)
    bounds = bound_predictions.bound_table(grid, final, train_curves, selections)
    lr_ratios = bound_predictions.lr_ratio_table(grid, bounds)
    claim_reads: dict[str, set[tuple[str, str]]] = {}
    claim_rows, verdicts = claims_mod.evaluate_all(study, claim_reads)

    for name, frame in (
        ("final", final),
        ("summary", summary),
        ("ranks", ranks),
        ("swa_gains", gains),
        ("swa_gains_avg", gains_avg),
        ("claims", claim_rows),
        ("evals", evals),
        ("tuning", tuning_curves),
        ("uba", uba),
        ("plateau", plateau),
        ("time_to_target", scores),
        ("profile_curves", curves),
        ("swa_interaction", interaction),
        ("swa_correlations", correlations),
        ("train_loss", losses),
        ("bound_predictions", bounds),
        ("bound_lr_ratios", lr_ratios),
    ):
        frame.to_csv(out / f"{name}.csv", index=False)
    theory_report.check_cases(theory.checks).to_csv(out / "theory_checks.csv", index=False)
    theory.bench.to_csv(out / "theory_bench.csv", index=False)
    official = theory.official_bench
    (official if official is not None else theory.bench.iloc[0:0]).to_csv(
        out / "theory_bench_official.csv", index=False
    )

    (out / "table_main.tex").write_text(latex.main_table(summary, grid))
    (out / "table_main_swa.tex").write_text(latex.main_swa_table(summary, grid))
    (out / "table_ranks.tex").write_text(latex.rank_table(ranks, grid))
    (out / "table_swa.tex").write_text(latex.swa_table(gains_avg, grid))
    (out / "table_tuning.tex").write_text(latex.tuning_table(grid, selections))
    (out / "table_uba.tex").write_text(latex.uba_table(uba, grid))
    (out / "table_claims.tex").write_text(latex.claims_table(claim_rows))
    (out / "table_claim_tests.tex").write_text(latex.claim_tests_table(claims_mod.CLAIMS))
    (out / "table_train_loss.tex").write_text(latex.train_loss_table(losses, grid))
    (out / "table_profile.tex").write_text(latex.profile_table(scores, grid))
    (out / "table_theory_checks.tex").write_text(theory_report.theory_checks_table(theory.checks))
    (out / "table_theory_diagnostics.tex").write_text(theory_report.theory_diagnostics_table(theory.checks))
    (out / "table_theory_bench.tex").write_text(theory_report.theory_bench_table(theory.bench))
    (out / "table_theory_bench_official.tex").write_text(theory_report.theory_bench_table(official))

    counts = {phase: len(planned_runs(grid, phase)) for phase in ("final", "tune", "plateau")}
    tune_records = runs.load(grid, "tune", runs_root)
    counts["reused"] = sum(bool(r.get("reused_from")) for r in [*records.values(), *tune_records.values()])
    counts["jobs"] = len(all_batches(grid))
    book = macros.MacroBook(grid.profile)
    setup_macros.setup_macros(book, grid, reference_config(grid, records), counts)
    macros.result_macros(book, grid, summary, ranks, plateau, scores, selections, final)
    macros.swa_macros(book, grid, gains_avg, correlations)
    macros.claim_macros(book, grid, claim_rows, verdicts, claim_reads)
    macros.bound_macros(book, grid, claim_rows, bounds, lr_ratios)
    macros.train_loss_macros(book, grid, losses)
    macros.theory_macros(book, theory)
    job_seconds = macros.benchmark_seconds(benchmarks_dir) if benchmarks_dir else None
    macros.provenance_macros(book, records, final, job_seconds)
    book.write(macros_path, Path(macros_path).with_name("provenance.json"))
