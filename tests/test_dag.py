"""Static checks of the Snakefile: `snakemake --lint` is clean and bad profiles fail in one line."""

from __future__ import annotations

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
