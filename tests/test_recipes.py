"""The README's "Extending" recipes, performed as written: every code block of that section is applied to a
clone-like copy of the repository (a new file, or lines added where the block's first line says), then
the new schedule, optimizer, dataset and claim are used the way a user would use them, and the generic
tests of each registry run over them.

A recipe block starts with one of these header lines (the test fails on any other):

    # new file: PATH
    # append to: PATH
    # add under `strategies:` in: PATH          (inserted after the line ``strategies:``)
    # add to NAME in: PATH                      (inserted after the first line that starts with NAME)
    # add to the end of FUNCTION in: PATH       (appended to the body of the top-level FUNCTION)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from factories import repository_copy

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(
    r"^# (new file|append to|add under `(\w+):` in|add to (\w+) in|add to the end of (\w+) in): (\S+)$"
)
BLOCK = re.compile(r"^```(?:python|yaml)\n(# [^\n]*)\n(.*?)^```", re.M | re.S)


def recipe_blocks() -> list[tuple[str, str]]:
    """(header line, body) of every fenced block of the README's "Extending" section."""
    readme = (ROOT / "README.md").read_text()
    assert "\n## Extending\n" in readme, "the README has no 'Extending' section"
    section = readme.split("\n## Extending\n", 1)[1].split("\n## ", 1)[0]
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(section)]


def apply_block(copy: Path, header: str, body: str) -> Path:
    m = HEADER.match(header)
    assert m, f"README recipe block with an unknown header line: {header!r}"
    verb, section, name, function, rel = m.groups()
    path = copy / rel
    if function:
        return append_to_function(path, function, body)
    if verb == "new file":
        assert not path.exists(), f"{rel} exists already"
        path.write_text(body)
        return path
    text = path.read_text()
    if verb == "append to":
        path.write_text(text.rstrip("\n") + "\n\n\n" + body)
        return path
    anchor = f"{section}:" if section else name
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.startswith(anchor)), None)
    assert at is not None, f"{rel} has no line starting with {anchor!r}"
    path.write_text("".join(lines[: at + 1]) + body + "".join(lines[at + 1 :]))
    return path


def append_to_function(path: Path, function: str, body: str) -> Path:
    """Insert ``body`` after the last line of the top-level ``def function(`` (before the next top-level
    statement, comments and blank lines included)."""
    lines = path.read_text().splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(f"def {function}(")), None)
    assert start is not None, f"{path.name} has no top-level function {function!r}"
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].strip() and not lines[i].startswith((" ", "\t", ")"))), len(lines))
    while lines[end - 1].strip() == "":
        end -= 1
    path.write_text("".join(lines[:end]) + body + "".join(lines[end:]))
    return path


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Path:
    blocks = recipe_blocks()
    assert len(blocks) >= 6, f"expected the recipes' blocks, found {len(blocks)}"
    copy = repository_copy(tmp_path_factory.mktemp("repo"))
    for header, body in blocks:
        apply_block(copy, header, body)
    return copy


def run(copy: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{copy}{os.pathsep}{copy / 'tests'}"}
    return subprocess.run([sys.executable, *args], cwd=copy, capture_output=True, text=True, timeout=timeout,
                          env=env)


def passed(proc: subprocess.CompletedProcess) -> int:
    found = re.search(r"(\d+) passed", proc.stdout)
    return int(found.group(1)) if found else 0


def test_the_recipes_touch_one_or_two_files_each():
    """A schedule or an optimizer: one new file (plus a profile line); a dataset: one new file and its
    registry line; a claim: its test and its registry entry."""
    touched = {HEADER.match(h).group(5) for h, _ in recipe_blocks()}
    new = {p for p in touched if p.startswith(("stepsize/", "report/"))}
    assert {"stepsize/schedules/library/sqrt_decay.py", "stepsize/optim/library/nadam.py",
            "stepsize/data/digits.py", "stepsize/data/__init__.py", "report/claims/training.py",
            "report/claims/registry.py", "report/macros.py"} == new


def test_new_schedule_passes_the_generic_schedule_tests(extended):
    proc = run(extended, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_schedules.py",
               "tests/test_schedules_state.py", "-k", "sqrt_decay")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert passed(proc) >= 10, proc.stdout[-1500:]


def test_new_optimizer_passes_the_generic_optimizer_tests(extended):
    proc = run(extended, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_optim_registry.py",
               "-k", "nadam")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert passed(proc) >= 3, proc.stdout[-1500:]


def test_new_strategies_join_the_default_study(extended):
    """The profile lines of the recipes put the new schedule and optimizer in the DAG: their tuning,
    selection and final jobs appear in a dry run of the default profile."""
    proc = run(extended, "-m", "snakemake", "-n", "--quiet", "rules", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for strategy in ("sqrt_decay", "nadam_cosine"):
        for job in (f"train_tune_{strategy}_0", f"train_final_{strategy}_0"):
            assert job in out, (job, out[-2000:])


def test_new_dataset_trains(extended, tmp_path):
    out = tmp_path / "run"
    proc = run(extended, "-m", "stepsize.train", "experiments/base/fashion_mnist.yaml", "--out", str(out),
               "--set", 'data={"name": "digits", "batch_size": 64, "val_size": 200, "augment": false}',
               "budget.steps=60", "swa.variants=[]", "optimizer.lr=0.05")
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((out / "run.json").read_text())
    assert record["config"]["data"]["name"] == "digits" and record["status"] == "ok"
    assert record["final"]["test_acc"] > 0.5, record["final"]   # chance is 0.1


def aggregated_study(copy: Path, folder: str) -> Path:
    """The report tests' hand-built study (`factories.write_study`) under ``copy/folder``, aggregated by the
    extended copy's code; returns its ``results/unit`` folder (tables, macros.tex, provenance.json)."""
    script = (
        "from pathlib import Path\n"
        "from factories import write_study\n"
        "from report.aggregate import aggregate, read_theory\n"
        f"root = Path({folder!r}); g = write_study(root); r = root / 'results/unit'\n"
        "theory = read_theory(r / 'theory/checks.json', r / 'theory/bench.csv')\n"
        "aggregate(g, root, theory, r / 'tables', r / 'macros.tex')\n"
    )
    proc = run(copy, "-c", script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return copy / folder / "results/unit"


def test_new_claim_is_judged_and_quoted(extended):
    """On the hand-built study of the report tests (cosine 2 points above multi-step on every seed) the new
    claim gets a row in claims.csv, the verdict "reproduced" and its verdict macro."""
    out = aggregated_study(extended, "study")
    import pandas as pd

    claims = pd.read_csv(out / "tables/claims.csv")
    row = claims[claims["claim_id"] == "cosine_vs_multistep"]
    assert len(row) == 1 and row["verdict"].iloc[0] == "reproduced", claims[["claim_id", "verdict"]]
    macros = (out / "macros.tex").read_text()
    assert "\\newcommand{\\claimCosineMultistepVerdict}{reproduced}" in macros
    traced = json.loads((out / "provenance.json").read_text())["macros"]
    runs = traced["claimCosineMultistepVerdict"]["runs"]  # the runs its test read, no others
    assert runs == [f"results/unit/runs/{strategy}/b100/s{seed}"
                    for strategy in ("cosine", "multistep") for seed in (0, 1, 2)]


def test_new_number_is_written_and_traced(extended):
    """The number recipe: on the hand-built study, ``\\cosineFullHalfWidth`` is in macros.tex, and
    ``python -m report trace`` prints its value, its table and the three cosine runs behind it."""
    out = aggregated_study(extended, "numbers")
    import pandas as pd

    summary = pd.read_csv(out / "tables/summary.csv")
    row = summary[(summary["strategy"] == "cosine") & (summary["variant"] == "judged")
                  & (summary["percent"] == 100)]
    value = f"{row['half_width'].iloc[0]:.2f}"
    macros = (out / "macros.tex").read_text()
    assert f"\\newcommand{{\\cosineFullHalfWidth}}{{{value}}}" in macros
    traced = run(extended, "-m", "report", "trace", "\\cosineFullHalfWidth", "--profile", "unit",
                 "--root", "numbers")
    assert traced.returncode == 0, traced.stderr[-2000:]
    assert "tables/summary.csv: strategy=cosine" in traced.stdout and "half_width" in traced.stdout
    assert f"\\cosineFullHalfWidth = {value}" in traced.stdout
    assert [f"results/unit/runs/cosine/b100/s{s}" in traced.stdout for s in (0, 1, 2)] == [True] * 3
