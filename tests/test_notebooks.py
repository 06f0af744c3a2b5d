"""The analysis notebooks are stored without outputs and take their inputs from a papermill
``parameters`` cell; every cell that draws a figure is tagged ``figure`` and draws it with the function
that draws the paper's. The smoke DAG test (test_dag_smoke.py) executes them and checks that each
``figure`` cell returned images and that no path of the machine is in them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from report.figures import FIGURES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: A plotting cell: a code cell that calls a figure function of report.figures (``figures.<name>(``),
#: report.schedule_figure or theory.plots, or matplotlib/seaborn directly.
PLOTTING = re.compile(
    r"\b(?:figures\.\w+|lr_schedules_figure|CHECK_PLOTTERS\[[^\]]*\]|plot_\w+|summary_figure|plt\.\w+|sns\.\w+)\("
)


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_workflow_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"results_explorer", "theory_checks"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {i} has stored outputs (clear them)"
            assert cell.execution_count is None, f"{path.name}: cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_a_papermill_parameters_cell_without_paths(path):
    """One ``parameters`` cell, naming profiles (the workflow passes its own) and no folder."""
    tagged = [c for c in code_cells(path) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert re.search(r"^profiles = \[", tagged[0].source, re.M), tagged[0].source
    assert "/" not in re.sub(r"#.*", "", tagged[0].source), f"{path.name}: a path in the parameters"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exactly_the_plotting_cells_are_tagged_figure(path):
    cells = code_cells(path)
    plotting = [i for i, c in enumerate(cells) if PLOTTING.search(c.source)]
    tagged = [i for i, c in enumerate(cells) if "figure" in c.metadata.get("tags", [])]
    assert plotting, f"{path.name}: no plotting cell"
    assert plotting == tagged, f"{path.name}: code cells {plotting} plot, cells {tagged} are tagged 'figure'"


def test_the_results_explorer_draws_every_paper_figure_with_the_papers_function():
    sources = "\n".join(c.source for c in code_cells(ROOT / "notebooks/results_explorer.ipynb")
                        if "figure" in c.metadata.get("tags", []))
    for name in FIGURES:
        assert f"figures.{name}(" in sources, name
    for call in ("lr_schedules_figure(", "figures.acc_intervals(", "figures.paired_differences("):
        assert call in sources, call


def test_the_theory_notebook_draws_the_theory_figures_with_their_functions():
    sources = "\n".join(c.source for c in code_cells(ROOT / "notebooks/theory_checks.ipynb")
                        if "figure" in c.metadata.get("tags", []))
    for call in ("CHECK_PLOTTERS[", "plot_bench_problem(", "summary_figure("):
        assert call in sources, call
