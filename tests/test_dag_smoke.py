"""End to end: the smoke profile's whole DAG (real training runs, theory, tables, figures, paper,
notebooks) in a temporary copy of the repository, then checks of what it produced.

The copy holds the tracked files and the untracked files git does not ignore (so results/, figures/,
.venv/ are not copied); Snakemake runs with this interpreter, so the venv's packages are used.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "smoke"
TOOLS = {"latexmk": "apt-get install latexmk texlive-latex-extra texlive-science",
         "pdftotext": "apt-get install poppler-utils", "git": "apt-get install git"}


def repository_files() -> list[str]:
    """Tracked files plus untracked, non-ignored files, without run outputs."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f and not f.startswith(("results/", "figures/", "paper/build/"))
            and (ROOT / f).is_file()]


def snakemake(copy: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", "--configfile", f"experiments/{PROFILE}.yaml",
                           *args], cwd=copy, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[Path, float]:
    for tool, hint in TOOLS.items():
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found; install it: {hint}")
    copy = tmp_path_factory.mktemp("repo")
    for rel in repository_files():
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, copy / rel)
    start = time.perf_counter()
    proc = snakemake(copy, "--cores", "2")
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        failed = [p for p in sorted((copy / "results").rglob("*.log")) if "rror" in p.read_text()]
        logs = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in failed)
        pytest.fail(f"smoke DAG failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}\n{logs[-6000:]}")
    print(f"smoke DAG wall time: {wall:.1f} s")
    return copy, wall


def run_means(copy: Path) -> dict[tuple[str, str], float]:
    """Mean final test accuracy (%) per (strategy, budget label), straight from the run records."""
    acc: dict[tuple[str, str], list[float]] = {}
    for path in (copy / f"results/{PROFILE}/runs").glob("*/*/*/run.json"):
        rec = json.loads(path.read_text())
        strategy, budget = path.parts[-4], path.parts[-3]
        if rec["status"] == "ok":
            acc.setdefault((strategy, budget), []).append(100 * rec["final"]["test_acc"])
    return {k: sum(v) / len(v) for k, v in acc.items()}


def test_every_grid_point_wrote_a_run_record(smoke):
    copy, _ = smoke
    profile = yaml.safe_load((copy / f"experiments/{PROFILE}.yaml").read_text())
    records = list((copy / f"results/{PROFILE}/runs").glob("*/*/*/run.json"))
    grid_points = len(profile["strategies"]) * len(profile["budget_fractions"]) * len(profile["seeds"])
    assert len(records) == grid_points
    for path in records:
        rec = json.loads(path.read_text())
        assert rec["status"] in ("ok", "diverged")
        assert set(rec["averaged"]) == set(profile["common"]["swa.variants"]), path


def test_main_table_holds_the_numbers_of_the_run_records(smoke):
    copy, _ = smoke
    table = (copy / f"results/{PROFILE}/tables/table_main.tex").read_text()
    means = run_means(copy)
    assert means, "no finished run"
    labels = {"cosine": "Cosine", "linear": "Linear", "step": "Step", "osgm": "OSGM"}
    budgets = sorted({b for _, b in means}, key=lambda b: int(b[1:]))
    for strategy, name in labels.items():
        row = next(line for line in table.splitlines() if line.startswith(name + " "))
        cells = row.rstrip(" \\").split(" & ")[1:]
        for cell, budget in zip(cells, budgets, strict=True):
            if (strategy, budget) in means:
                assert f"{means[strategy, budget]:.2f}" in cell, (strategy, budget, cell)


def test_paper_pdf_contains_table_and_figures(smoke):
    copy, _ = smoke
    pdf = copy / f"paper/build/{PROFILE}/paper.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 50_000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Final test accuracy" in text
    cosine_full = run_means(copy)[("cosine", "b100")]
    assert f"{cosine_full:.2f}" in text, "the table's cosine mean at the full budget is not in the PDF"
    log = (copy / f"paper/build/{PROFILE}/paper.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log
    unresolved = re.search(r"(Citation|Reference) `[^']*' on page \d+ undefined", log)
    assert not unresolved, unresolved.group(0) if unresolved else ""
    for name in ("acc_vs_budget", "swa_gain", "phi_sensitivity", "anytime", "lr_schedules"):
        assert f"{name}.pdf" in log, f"{name}.pdf was not included in the paper"
        assert (copy / f"figures/{PROFILE}/{name}.png").stat().st_size > 5_000, name


def test_notebooks_were_executed(smoke):
    copy, _ = smoke
    for name in ("results_explorer", "theory_checks"):
        nb = nbformat.read(copy / f"results/{PROFILE}/notebooks/{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count is not None for c in code), name
        assert not any(o.get("output_type") == "error" for c in code for o in c.outputs), name


def test_claims_table_has_a_verdict_per_claim(smoke):
    copy, _ = smoke
    import pandas as pd

    claims = pd.read_csv(copy / f"results/{PROFILE}/tables/claims.csv")
    assert set(claims["claim_id"]) == {"uba", "linear", "swa", "hdm", "phi2"}
    verdicts = {"reproduced", "not reproduced", "inconclusive", "not testable at this scale"}
    assert set(claims["verdict"]) <= verdicts


def test_readme_block_is_generated_from_the_macros_and_the_snakemake_log(smoke, tmp_path):
    copy, _ = smoke
    readme = tmp_path / "README.md"
    markers = f"<!-- generated:{PROFILE} begin -->\nstale\n<!-- generated:{PROFILE} end -->"
    readme.write_text(f"intro\n{markers}\nrest\n")
    proc = subprocess.run([sys.executable, "-m", "report", "readme", "--profile", PROFILE, "--readme",
                           str(readme), "--root", str(copy)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "stale" not in text
    macros_tex = (copy / f"results/{PROFILE}/macros.tex").read_text()
    macros = dict(re.findall(r"\\newcommand\{\\(\w+)\}\{(.*)\}", macros_tex))
    assert f"({macros['bestFullAcc']}%)" in text and f"{macros['numRuns']} training runs" in text
    n_jobs = re.search(r"wall time for (\d+) jobs", text)
    assert n_jobs and int(n_jobs.group(1)) > int(macros["numRuns"])
    readme.write_text("no markers\n")
    proc = subprocess.run([sys.executable, "-m", "report", "readme", "--profile", PROFILE, "--readme",
                           str(readme), "--root", str(copy)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "markers" in proc.stderr


def test_rerun_after_an_interruption_redoes_only_what_is_missing(smoke):
    """State of a DAG interrupted during training: one run record and everything downstream of the
    runs are missing. The rerun must train that one run again and nothing else."""
    copy, _ = smoke
    lost = next((copy / f"results/{PROFILE}/runs").glob("linear/*/s0/run.json"))
    lost.unlink()
    for downstream in (copy / f"results/{PROFILE}/tables", copy / f"results/{PROFILE}/notebooks",
                       copy / f"paper/build/{PROFILE}"):
        shutil.rmtree(downstream)
    (copy / f"results/{PROFILE}/macros.tex").unlink()
    proc = snakemake(copy, "-n", "--quiet", "rules", timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:", 1)[1].split("\n\n", 1)[0], re.M))
    assert stats.get("train") == "1", stats
    assert not {"theory_check", "theory_bench", "profile_json"} & set(stats), stats
    assert {"aggregate", "paper", "notebook"} <= set(stats), stats
