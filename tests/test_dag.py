"""The Snakefile: `snakemake --lint` is clean, bad profiles fail in one line when the DAG is built, a
failing run reaches the console in one line and is retried, one workflow run per folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from factories import repository_copy

ROOT = Path(__file__).resolve().parents[1]
SMOKE = yaml.safe_load((ROOT / "experiments/smoke.yaml").read_text())


def snakemake(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake`` (this interpreter's) in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def profile_file(tmp_path: Path, name: str, **changes) -> Path:
    raw = {**SMOKE, "profile": name, **changes}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_lint_is_clean():
    proc = snakemake("--lint")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-3000:]


def test_bad_profiles_fail_when_the_dag_is_built_with_one_clear_line(tmp_path):
    cases = {
        "fractions": ({"budget_fractions": [1.5]}, "budget_fractions: must be a list of numbers in (0, 1]"),
        "misspelt": ({"strategies": {**SMOKE["strategies"],
                                     "cosine": {"schedule.nam": "cosine",
                                                "tune": {"optimizer.lr": [0.05, 0.1]}}}},
                     "strategy cosine: schedule.nam"),
        "badseed": ({"seeds": [0, -1]}, "seeds: must be a list of distinct integers in [0, 2^31)"),
        "typo": ({"resources": {"trian": {"threads": 1}}}, "resources.trian: unknown rule"),
        "nocommon": ({"common": []}, "common: must map dotted keys to values, got []"),
        "threads": ({"resources": {"train": {"threads": "two"}}},
                    "resources.train.threads: must be an integer >= 1, got 'two'"),
        "bracket": ({"tuning": {**SMOKE["tuning"], "bracket": -1}},
                    "tuning.bracket: must be an integer >= 0, got -1"),
    }
    for name, (change, message) in cases.items():
        proc = snakemake("-n", "--configfile", str(profile_file(tmp_path, name, **change)))
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and message in out, (name, out[-1500:])
        assert "Traceback" not in out, name


def test_a_profile_name_that_leaves_results_is_refused_when_the_dag_is_built(tmp_path):
    """``profile: ..`` (in the file or as ``--config profile=..``) would write into results/../."""
    for args in (["--configfile", str(profile_file(tmp_path, "dots", profile=".."))],
                 ["--configfile", "experiments/smoke.yaml", "--config", "profile=.."]):
        proc = snakemake("-n", *args)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-1500:]
        assert "profile: must be a plain name" in out and "got '..'" in out, out[-1500:]
        assert "Traceback" not in out


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """A clone-like copy of the repository (workflow runs never touch the user's outputs)."""
    return repository_copy(tmp_path_factory.mktemp("repo"))


def test_a_failing_run_reaches_the_console_in_one_line_and_is_retried(tmp_path, copy):
    """A training run that fails on bad input (here: its data folder is missing) prints its one-line
    error on Snakemake's stderr; its `failed` record keeps the batch's other outputs, and the next
    invocation treats it as missing and retries it."""
    path = profile_file(tmp_path, "nodata", strategies={"cosine": SMOKE["strategies"]["cosine"]},
                        common={**SMOKE["common"], "data.root": str(tmp_path / "missing"),
                                "data.cache_dir": str(tmp_path / "cache")})
    target = "results/nodata/tuning/cosine.json"
    first = snakemake(target, "--cores", "1", "--configfile", str(path), cwd=copy)
    failed = sorted((copy / "results/nodata/tune").rglob("run.json"))
    again = snakemake(target, "--cores", "1", "-n", "--configfile", str(path), cwd=copy)
    lines = [x for x in first.stderr.splitlines() if x.startswith("stepsize.batch: error:")]
    assert lines and all("dataset-fashion-mnist" in x and str(tmp_path / "missing") in x for x in lines), \
        first.stderr[-3000:]
    # 2 budgets x 2 declared values x 2 tuning seeds; the bracket round's plan refuses them (as select does)
    assert len(failed) == 8 and first.returncode != 0, "the bracket round's plan refuses the failed runs"
    assert "8 run(s) failed" in first.stderr + first.stdout
    assert "train_tune_" in again.stdout and "select" in again.stdout, "a failed run is retried next time"


def test_a_deleted_run_folder_makes_its_batch_job_due_again(tmp_path, copy):
    """docs/reproduce.md: to retrain a run, delete its folder and rerun. The tables, figures and paper made
    from it are still up to date, so only the run records being inputs of `all` makes its job due."""
    two = {k: SMOKE["strategies"][k] for k in ("cosine", "linear")}
    path = profile_file(tmp_path, "gone", strategies=two, plateau={"strategy": None})
    summary = snakemake("--summary", "--configfile", str(path), cwd=copy)
    assert summary.returncode == 0, summary.stderr[-2000:]
    for line in summary.stdout.splitlines()[1:]:
        out = copy / line.split("\t")[0]
        if out.suffix:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text("{}")
        else:  # a directory() output (the theory figures)
            out.mkdir(parents=True, exist_ok=True)
    touched = snakemake("--touch", "--cores", "1", "--configfile", str(path), cwd=copy)
    assert touched.returncode == 0, touched.stderr[-2000:]
    before = snakemake("-n", "--configfile", str(path), cwd=copy)
    assert "Nothing to be done" in before.stdout + before.stderr, (before.stdout + before.stderr)[-2000:]

    shutil.rmtree(copy / "results/gone/runs/linear/b100/s1")
    after = snakemake("-n", "--configfile", str(path), cwd=copy)
    out = after.stdout + after.stderr
    assert after.returncode == 0 and "Nothing to be done" not in out, out[-2000:]
    assert "reason: Missing output files: results/gone/runs/linear/b100/s1/run.json" in out, out[-3000:]
    assert "rule aggregate:" in out and "rule paper:" in out, "what was made from the record is redone"
    assert "train_tune_" not in out, "the other jobs stay done"


def test_a_second_workflow_run_in_the_same_folder_is_refused(copy):
    import fcntl

    (copy / ".snakemake").mkdir(exist_ok=True)
    with open(copy / ".snakemake/stepsize-workflow.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.truncate(0)
        lock.write("snakemake pid 1234\n")
        lock.flush()
        proc = snakemake("results/smoke/profile.json", "--cores", "1", "--configfile",
                         "experiments/smoke.yaml", cwd=copy)
    assert proc.returncode != 0
    assert "another snakemake runs this workflow" in proc.stdout + proc.stderr
    assert "snakemake pid 1234" in proc.stdout + proc.stderr
