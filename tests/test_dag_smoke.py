"""End to end: the smoke profile's whole DAG (real tuning, final and plateau runs, theory, tables, figures,
paper, notebooks) in a clone-like copy of the repository, then checks of what it produced.

The first invocation is interrupted with Ctrl-C (SIGINT to its whole process group, as a terminal sends it)
while it trains, the second is killed with SIGKILL (what a user's Ctrl-\\ or an OOM killer does); no trainer
may outlive either, each rerun of the same command keeps the records made before, and the third
invocation, the same command again, must finish the study. Snakemake runs with this
interpreter, so the venv's packages are used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from factories import repository_copy

from report import grid as grid_mod
from report import plan
from report.claims.registry import CLAIMS
from report.latex import display_name

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "smoke"
RES = f"results/{PROFILE}"
COMMAND = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", f"experiments/{PROFILE}.yaml"]
TOOLS = {"latexmk": "apt-get install latexmk texlive-latex-extra texlive-science",
         "pdftotext": "apt-get install poppler-utils"}


def trainers_in(session: int) -> list[str]:
    """Command lines of the processes of session ``session`` that run the batch trainer."""
    out = subprocess.run(["ps", "-eo", "sid=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines()
            if line.split(None, 1)[0] == str(session) and "stepsize.batch" in line]


def sigint_as_in_a_terminal() -> None:
    """Ctrl-C's default action for the workflow: a test run started in the background of a non-interactive
    shell (``bash .ci/run &``) inherits SIGINT ignored, and so would Snakemake and every trainer."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def records(copy: Path) -> set[Path]:
    """Every run record so far: final (runs/<s>/<b>/s<seed>), plateau and tuning (tune/<s>/<b>/k<i>/s<seed>);
    tuning records come first, so the interruptions below happen while the first jobs train."""
    return set((copy / RES).glob("*/*/*/*/run.json")) | set((copy / RES).glob("tune/*/*/*/*/run.json"))


def interrupt_while_training(copy: Path, interrupt: str, after: int = 0) -> tuple[int, list[str]]:
    """Start the DAG and, once more than ``after`` run records exist, either send Ctrl-C's SIGINT to its
    process group (``interrupt="ctrl-c"``) or SIGKILL Snakemake alone (``"kill"``); return how many records
    were on disk then, and the trainers still alive 15 s after Snakemake ended."""
    proc = subprocess.Popen(COMMAND, cwd=copy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=sigint_as_in_a_terminal)
    deadline = time.monotonic() + 300
    while len(records(copy)) <= after:
        assert proc.poll() is None, f"the DAG ended with {after} run records or fewer ({proc.returncode})"
        assert time.monotonic() < deadline, f"no new run record after 300 s ({after} before)"
        time.sleep(0.2)
    assert trainers_in(proc.pid), "a trainer runs when the new record appears"
    if interrupt == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
    else:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = len(records(copy))
    for _ in range(150):
        left = trainers_in(proc.pid)
        if not left:
            break
        time.sleep(0.1)
    return finished, left


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    for tool, hint in TOOLS.items():
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found; install it: {hint}")
    copy = repository_copy(tmp_path_factory.mktemp("repo"))
    interrupted, orphans = interrupt_while_training(copy, "ctrl-c")
    assert not orphans, f"trainers outlived the workflow stopped with Ctrl-C: {orphans}"
    kept = records(copy)
    finished, orphans = interrupt_while_training(copy, "kill", after=len(kept))
    assert not orphans, f"trainers outlived the killed workflow: {orphans}"
    assert kept <= records(copy), "the rerun after Ctrl-C lost records made before it"
    start = time.perf_counter()
    proc = subprocess.run(COMMAND, cwd=copy, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-1500:]}" for p in sorted((copy / RES).rglob("*.log"))
                         if "rror" in p.read_text())
        pytest.fail(f"the rerun after the kill failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}\n"
                    f"{logs[-6000:]}")
    rerun_s = time.perf_counter() - start
    print(f"smoke DAG: {interrupted} records at Ctrl-C, {finished} at the kill; rerun {rerun_s:.1f} s")
    return copy


def profile_grid(copy: Path) -> grid_mod.Grid:
    return grid_mod.load(copy / RES / "profile.json")


def judged_means(copy: Path) -> dict[tuple[str, str], float]:
    """Mean test accuracy (%) of each strategy's judged model (its `output`: the raw model, or an
    average) per (strategy, budget label), straight from the final run records; a model that finished
    at chance level (at most 1.5/K for K = the record's `num_classes`) is a failure, as in the tables."""
    g = profile_grid(copy)
    acc: dict[tuple[str, str], list[float]] = {}
    for run in plan.runs(g, "final"):
        rec = json.loads((copy / run.record(PROFILE)).read_text())
        output = g.strategies[run.strategy].output
        model = rec["final"] if output == "off" else rec["averaged"][output]
        assert rec["num_classes"] == 10
        if rec["status"] == "ok" and 100 * model["test_acc"] > 1.5 * 100 / rec["num_classes"]:
            acc.setdefault((run.strategy, run.budget.label), []).append(100 * model["test_acc"])
    return {k: sum(v) / len(v) for k, v in acc.items()}


def test_the_killed_run_left_records_that_the_rerun_kept(smoke):
    """Every planned run has a record, and each record's status is final (ok or diverged)."""
    g = profile_grid(smoke)
    for phase in plan.PHASES:
        for run in plan.runs(g, phase):
            rec = json.loads((smoke / run.record(PROFILE)).read_text())
            assert rec["status"] in ("ok", "diverged"), (run, rec.get("error"))
            assert rec["budget_steps"] == run.budget.steps


def test_the_bracket_round_ran_with_the_values_its_choice_lists(smoke):
    """Every tuned strategy tried grid_size + bracket values with every tuning seed at every budget; each
    bracket-round run trained at the value the selection lists for its index (report.tuning.values_tried,
    computed once by the plan from the round-1 records and once by select)."""
    g = profile_grid(smoke)
    assert g.tuning["bracket"] >= 1
    for strategy, s in g.strategies.items():
        sel = json.loads((smoke / plan.selection_path(g, strategy)).read_text())
        for run in plan.runs(g, "tune", strategy):
            entry = sel["budgets"][run.budget.label]
            assert len(entry["tried"]) == g.tuning_size() and len(entry["tried"][0]["seed_scores"]) == 2
            config = json.loads((smoke / run.record(PROFILE)).read_text())["config"]
            section, _, leaf = s.knob.partition(".")
            assert config[section][leaf] == pytest.approx(entry["values"][run.index]), (run, entry["values"])
            assert config["train"]["seed"] == run.seed


def test_main_table_holds_the_numbers_of_the_run_records(smoke):
    g = profile_grid(smoke)
    table = (smoke / RES / "tables/table_main.tex").read_text()
    means = judged_means(smoke)
    assert means, "no finished run"
    for strategy in g.strategies:
        name = display_name(g, strategy)
        row = next(line for line in table.splitlines() if line.startswith(name + " &"))
        cells = row.rstrip(" \\").split(" & ")[1:]
        for cell, budget in zip(cells, g.budgets, strict=True):
            if (strategy, budget.label) in means:
                assert f"{means[strategy, budget.label]:.2f}" in cell, (strategy, budget.label, cell)


def test_paper_pdf_contains_tables_and_figures(smoke):
    pdf = smoke / f"paper/build/{PROFILE}/paper.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 50_000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    cosine = judged_means(smoke)[("cosine", "b100")]
    assert f"{cosine:.2f}" in text, "cosine's full-budget mean is not in the PDF"
    log = (smoke / f"paper/build/{PROFILE}/paper.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log
    files = log.replace("\n", "")   # TeX wraps its log at 79 characters, also inside file names
    unresolved = re.search(r"(Citation|Reference) `[^']*' on page \d+ undefined", log)
    assert not unresolved, unresolved.group(0) if unresolved else ""
    for name in ("paired_panels", "swa_gain", "tuning_curves", "performance_profile", "anytime",
                 "lr_schedules"):
        assert f"{name}.pdf" in files, f"{name}.pdf was not included in the paper"
        assert (smoke / f"figures/{PROFILE}/{name}.png").stat().st_size > 5_000, name
    for table in ("table_main", "table_tuning", "table_profile", "table_claims", "table_claim_tests",
                  "table_theory_bench_official"):
        assert f"{table}.tex" in files, f"{table}.tex was not included in the paper"


def test_notebooks_were_executed(smoke):
    for name in ("results_explorer", "theory_checks"):
        nb = nbformat.read(smoke / RES / f"notebooks/{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.execution_count is not None for c in code), name
        assert not any(o.get("output_type") == "error" for c in code for o in c.outputs), name


def png_count(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.outputs)


def test_every_figure_cell_of_the_executed_notebooks_shows_its_figures(smoke):
    """A ``figure`` cell (tests/test_notebooks.py: exactly the cells that plot) returned one image per
    figure it draws: the explorer one per cell (one profile), the theory notebook one per check with a
    plotter, one per benchmark problem and the summary."""
    from theory.plots import CHECK_PLOTTERS

    theory = smoke / RES / "theory"
    problems = pd.read_csv(theory / "bench.csv")["problem"].nunique()
    checks = len(set(json.loads((theory / "check_data.json").read_text())) & set(CHECK_PLOTTERS))
    expected = {"results_explorer": [1] * 10, "theory_checks": [checks, problems, 1]}
    for name, counts in expected.items():
        nb = nbformat.read(smoke / RES / f"notebooks/{name}.ipynb", as_version=4)
        figures = [c for c in nb.cells if c.cell_type == "code" and "figure" in c.metadata.get("tags", [])]
        assert [png_count(c) for c in figures] == counts, (name, [c.source[:60] for c in figures])


def test_executed_notebooks_name_no_folder_of_the_machine(smoke):
    """Parameters and papermill's paths are relative, and no absolute path of the machine is anywhere in
    the executed notebooks (images left out: base64 may hold any four characters)."""
    prefixes = {str(smoke), str(ROOT), "/root", "/tmp", "/work", "/home"}
    for name in ("results_explorer", "theory_checks"):
        nb = nbformat.read(smoke / RES / f"notebooks/{name}.ipynb", as_version=4)
        papermill = nb.metadata["papermill"]
        assert papermill["parameters"] == {"profiles": [PROFILE]}, papermill["parameters"]
        assert papermill["input_path"] == f"notebooks/{name}.ipynb"
        assert papermill["output_path"] == f"{RES}/notebooks/{name}.ipynb"
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                for mime in [m for m in output.get("data", {}) if m.startswith("image/")]:
                    del output["data"][mime]
        text = nbformat.writes(nb)
        found = sorted(p for p in prefixes if p in text)
        assert not found, f"{name}: {found[0]} in the executed notebook"


def test_claims_table_has_a_verdict_per_claim(smoke):
    claims = pd.read_csv(smoke / RES / "tables/claims.csv")
    assert set(claims["claim_id"]) == {c.claim_id for c in CLAIMS}
    verdicts = {"reproduced", "not reproduced", "inconclusive", "not testable at this scale"}
    assert set(claims["verdict"]) <= verdicts


def test_readme_block_is_generated_from_the_macros_and_the_snakemake_log(smoke, tmp_path):
    readme = tmp_path / "README.md"
    markers = f"<!-- generated:{PROFILE} begin -->\nstale\n<!-- generated:{PROFILE} end -->"
    readme.write_text(f"intro\n{markers}\nrest\n")
    cmd = [sys.executable, "-m", "report", "readme", "--profile", PROFILE, "--readme", str(readme),
           "--root", str(smoke)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "stale" not in text
    macros = dict(re.findall(r"\\newcommand\{\\(\w+)\}\{(.*)\}", (smoke / RES / "macros.tex").read_text()))
    assert f"({macros['bestFullAcc']}%)" in text and f"{macros['numRuns']} training runs" in text
    n_jobs = re.search(r"wall time for (\d+) jobs", text)
    assert n_jobs and int(n_jobs.group(1)) > int(macros["numTrainJobs"])
    orchestrator = json.loads((smoke / RES / "logs/orchestrator.json").read_text())
    assert orchestrator["outcome"] == "success" and orchestrator["scheduler"] == "greedy"
    assert f"- Time ({orchestrator['cpu']}, " in text and "% evaluating" in text  # the last run's own record
    readme.write_text("no markers\n")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "markers" in proc.stderr


def test_trace_names_the_records_behind_a_headline_number(smoke):
    proc = subprocess.run([sys.executable, "-m", "report", "trace", "\\cosineFullAcc", "--profile", PROFILE,
                           "--root", str(smoke)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "tables/summary.csv" in proc.stdout and f"{RES}/runs/cosine/b100/s1" in proc.stdout


def test_rerun_after_losing_one_record_trains_only_that_run(smoke):
    """One final run record and everything downstream of the runs are missing. The rerun plans its batch
    again (and the batches that read that batch's outputs: UBA's final runs copy cosine's), but trains
    only the lost run: every other record is kept as it was, byte for byte, and the paper is rebuilt."""
    g = profile_grid(smoke)
    lost = next(r for r in plan.runs(g, "final") if r.strategy == "linear")
    (smoke / lost.record(PROFILE)).unlink()
    for downstream in (smoke / RES / "tables", smoke / RES / "notebooks", smoke / f"paper/build/{PROFILE}"):
        shutil.rmtree(downstream)
    (smoke / RES / "macros.tex").unlink()
    others = {p: p.read_bytes() for p in (smoke / RES).glob("*/*/*/*/run.json")}
    others.update({p: p.read_bytes() for p in (smoke / RES).glob("tune/*/*/*/*/run.json")})
    others.update({p: p.read_bytes() for p in (smoke / RES).glob("plateau/*/*/run.json")})
    dry = subprocess.run([*COMMAND, "-n", "--quiet", "rules"], cwd=smoke, capture_output=True, text=True,
                         timeout=240)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out[-2000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:", 1)[1].split("\n\n", 1)[0], re.M))
    untouched = {"theory_check", "theory_bench", "theory_bench_official", "profile_json", "select"}
    assert not untouched & set(stats), stats
    assert not any(k.startswith(("train_tune", "train_plateau_")) for k in stats), stats
    logs = {p: p.stat().st_mtime_ns for p in (smoke / RES / "logs/train").glob("*.log")}
    proc = subprocess.run(COMMAND, cwd=smoke, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((smoke / lost.record(PROFILE)).read_text())["status"] == "ok"
    changed = [str(p) for p, data in others.items() if p.read_bytes() != data]
    assert not changed, f"records rewritten by the rerun: {changed}"
    rerun = [log for log, mtime in logs.items() if log.stat().st_mtime_ns != mtime]
    assert rerun, "the lost run's job ran"
    trained = sum(len(re.findall(r"^(ok|diverged): ", log.read_text(), re.M)) for log in rerun)
    assert trained == 1, f"only the lost run trains ({[log.name for log in rerun]})"
    assert (smoke / f"paper/build/{PROFILE}/paper.pdf").is_file()


def test_editing_a_schedule_formula_reruns_the_jobs_that_use_it(smoke):
    """A code edit is not served stale: after changing the linear schedule's module, a dry run of the same
    command plans training jobs again (their ``params`` hold the code hash), and the reason it gives is
    the changed code; restoring the file makes the study complete again."""
    source = smoke / "stepsize/schedules/library/linear.py"
    original = source.read_text()
    dry = [*COMMAND, "-n", "--quiet", "rules"]
    try:
        source.write_text(original + "\n# an edit to the formula's file\n")
        proc = subprocess.run(dry, cwd=smoke, capture_output=True, text=True, timeout=240)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-2000:]
        assert "Nothing to be done" not in out, out[-2000:]
        assert re.search(r"^train_final_\w+\s+\d+$", out, re.M), out[-2000:]
    finally:
        source.write_text(original)
    proc = subprocess.run(dry, cwd=smoke, capture_output=True, text=True, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and not re.search(r"^train_\w+\s+\d+$", out, re.M), out[-2000:]
