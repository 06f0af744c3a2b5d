"""What the analysis notebooks read, ready for the functions that draw the paper's figures
(`report.figures`, `report.schedule_figure`, `theory.plots`):

- `load_study`: one profile's aggregated tables, final-run training curves and grid, cut down to a
  subset of strategies if asked (notebooks/results_explorer.ipynb);
- `load_theory`: one profile's theory outputs (notebooks/theory_checks.ipynb);
- `show`: display a figure or a table in a notebook under a caption.

The notebooks call the figure functions on what these return, so a notebook and the paper show the same
figures from the same files. Every path is relative to the repository root, the notebooks' working
directory (they change into it first), so an executed notebook names no folder of the machine that ran it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from report.grid import Grid, ProfileError, load

#: The aggregated tables a `Study` reads (``results/<profile>/tables/<name>.csv``).
STUDY_TABLES = (
    "final",
    "summary",
    "ranks",
    "swa_gains",
    "swa_interaction",
    "tuning",
    "uba",
    "plateau",
    "time_to_target",
    "profile_curves",
    "evals",
    "claims",
    "bound_predictions",
    "bound_lr_ratios",
)


def results_dir(profile: str) -> Path:
    """Where the workflow writes a profile's outputs, relative to the repository root."""
    return Path("results") / profile


def default_reference(grid: Grid) -> str:
    """The strategy that paired differences are taken against: the profile's cosine (``report.cosine``),
    else its first strategy."""
    cosine = grid.report.get("cosine")
    return cosine if cosine in grid.strategies else next(iter(grid.strategies))


def _known(grid: Grid, strategies: list[str] | tuple[str, ...]) -> None:
    """A one-line `ProfileError` for the first of ``strategies`` that the profile does not have."""
    unknown = [s for s in strategies if s not in grid.strategies]
    if unknown:
        raise ProfileError(f"profile {grid.profile}: unknown strategy {unknown[0]!r} "
                           f"(known: {', '.join(grid.strategies)})")


def subset(grid: Grid, strategies: list[str] | tuple[str, ...]) -> Grid:
    """``grid`` with only ``strategies`` (in the profile's order); all of them when the list is empty.
    An unknown name is a one-line `ProfileError` that lists the known ones."""
    _known(grid, strategies)
    if not strategies:
        return grid
    return dataclasses.replace(grid, strategies={k: v for k, v in grid.strategies.items() if k in strategies})


@dataclass
class Study:
    """One profile's outputs as the figure functions take them: ``grid`` (restricted to the chosen
    strategies), ``tables`` (name -> DataFrame of STUDY_TABLES, rows of other strategies dropped),
    ``curves`` (the final runs' training curves, `report.runs.curve_table`) and the ``reference`` of the
    paired differences (always among the chosen strategies)."""

    grid: Grid
    tables: dict[str, pd.DataFrame]
    curves: pd.DataFrame
    reference: str

    @property
    def name(self) -> str:
        """The profile's name and description, a caption for its figures."""
        return f"{self.grid.profile}: {self.grid.description}" if self.grid.description else self.grid.profile

    def __getitem__(self, table: str) -> pd.DataFrame:
        """The table ``table`` of STUDY_TABLES (``study["final"]``)."""
        return self.tables[table]


def _keep(frame: pd.DataFrame, strategies: Any) -> pd.DataFrame:
    """The rows of ``strategies`` (all rows of a table without a strategy column)."""
    if "strategy" not in frame.columns:
        return frame
    return frame[frame["strategy"].astype(str).isin(list(strategies))].reset_index(drop=True)


def load_study(profile: str, strategies: list[str] | tuple[str, ...] = (), reference: str = "",
               root: str | Path = ".") -> Study:
    """Read ``results/<profile>/`` under ``root`` (the aggregated tables and the final run records) for
    the strategies ``strategies`` (empty: every one) plus the ``reference`` ("" = `default_reference`),
    which the paired differences need."""
    from report import runs

    root = Path(root)
    folder = root / results_dir(profile)
    if not (folder / "profile.json").is_file():
        raise FileNotFoundError(f"{results_dir(profile)}/profile.json: no such file (run the workflow first: "
                                f"snakemake --cores all --configfile experiments/{profile}.yaml)")
    full = load(folder / "profile.json")
    reference = reference or default_reference(full)
    _known(full, [reference])
    chosen = [*strategies, reference] if strategies and reference not in strategies else list(strategies)
    grid = subset(full, chosen)
    tables = {}
    for name in STUDY_TABLES:
        path = folder / "tables" / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{results_dir(profile)}/tables/{name}.csv: no such table "
                                    "(`python -m report aggregate` writes it)")
        tables[name] = _keep(pd.read_csv(path), grid.strategies)
    curves = _keep(runs.curve_table(full, runs.load(full, "final", root)), grid.strategies)
    return Study(grid=grid, tables=tables, curves=curves, reference=reference)


@dataclass
class Theory:
    """One profile's theory outputs (``results/<profile>/theory/``, design.md §6): the checks' verdicts
    (``checks``, ``cases``: one row per case) and data (``check_data``), the benchmark under the project's
    protocol (``bench``, ``curves``) and under the official one (``official``; None when it did not run)."""

    profile: str
    checks: dict[str, Any]
    check_data: dict[str, Any]
    cases: pd.DataFrame
    bench: pd.DataFrame
    curves: pd.DataFrame
    official: pd.DataFrame | None


def load_theory(profile: str, root: str | Path = ".") -> Theory:
    """Read ``results/<profile>/theory/`` under ``root``."""
    import json

    folder = Path(root) / results_dir(profile) / "theory"
    shown = results_dir(profile) / "theory"
    for name in ("checks.json", "check_data.json", "bench.csv", "curves.csv"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{shown / name}: no such file (`python -m theory check` or `bench` "
                                    "writes it)")
    checks = json.loads((folder / "checks.json").read_text())
    cases = pd.DataFrame([{"check": c["name"], **case} for c in checks["checks"]
                          for case in c.get("cases", [])])
    official = folder / "official" / "bench.csv"
    return Theory(
        profile=profile,
        checks=checks,
        check_data=json.loads((folder / "check_data.json").read_text()),
        cases=cases,
        bench=pd.read_csv(folder / "bench.csv"),
        curves=pd.read_csv(folder / "curves.csv"),
        official=pd.read_csv(official) if official.is_file() else None,
    )


def show(item: Any, caption: str = "", tight: bool = False) -> None:
    """Display a matplotlib figure (or a table, any displayable object) in the notebook under an optional
    caption. A figure is closed after, so that the inline backend does not show it a second time at the
    end of the cell; ``tight`` applies ``tight_layout`` first, as `theory.plots.save` does."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    if caption:
        display(Markdown(f"**{caption}**"))
    if isinstance(item, plt.Figure):
        if tight:
            item.tight_layout()
        display(item)
        plt.close(item)
    else:
        display(item)
