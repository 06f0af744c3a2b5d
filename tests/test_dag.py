"""Static checks of the Snakefile: `snakemake --lint` is clean and bad profiles fail in one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snakemake(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake`` (this interpreter's) in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "snakemake", "--nolock", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=240)


def test_lint_is_clean():
    proc = snakemake("--lint")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-3000:]


def test_bad_profile_fails_with_one_clear_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: bad\ntrain_config: experiments/base/fashion_mnist.yaml\nfull_budget_steps: 10\n"
                   "budget_fractions: [1.5]\nseeds: [0]\nstrategies: {cosine: {schedule.name: cosine}}\n")
    proc = snakemake("-n", "--configfile", str(bad))
    assert proc.returncode != 0
    assert "budget_fractions must be a list of numbers in (0, 1], got [1.5]" in proc.stdout + proc.stderr


def test_missing_data_reaches_the_console_in_one_line(tmp_path):
    """A training job that fails on bad input prints its one-line error on Snakemake's stderr, not only
    in the job's log file."""
    profile = tmp_path / "nodata.yaml"
    profile.write_text(
        "profile: nodata\ntrain_config: experiments/base/fashion_mnist.yaml\nfull_budget_steps: 4\n"
        "budget_fractions: [1.0]\nseeds: [0, 1]\n"
        f"common: {{data.root: {tmp_path / 'missing'}, data.cache_dir: {tmp_path / 'cache'}}}\n"
        "strategies: {cosine: {schedule.name: cosine}}\n")
    target = "results/nodata/runs/cosine/b100/s0/run.json"
    try:
        proc = snakemake(target, "--cores", "1", "--configfile", str(profile))
    finally:
        shutil.rmtree(ROOT / "results" / "nodata", ignore_errors=True)
    assert proc.returncode != 0
    lines = [x for x in proc.stderr.splitlines() if x.startswith("stepsize.train: error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "dataset-fashion-mnist" in lines[0] and str(tmp_path / "missing") in lines[0]
