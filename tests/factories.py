"""Hand-built studies for the report tests: a small profile, and records with known accuracies for every
tuning, final and plateau run it plans (so that each table, claim and macro has an exact expected value)."""

from __future__ import annotations

import json
from pathlib import Path

from report import grid, plan, tuning

PROFILE = {
    "profile": "unit",
    "train_config": "experiments/base/fashion_mnist.yaml",
    "full_budget_steps": 100,
    "budget_fractions": [0.25, 1.0],
    "seeds": [0, 1, 2],
    "tuning": {"seeds": [1000, 1001], "grid_size": 2, "bracket": 1},
    "plateau": {"strategy": "cosine", "multiple": 2, "seeds": [0]},
    "anytime": {"fractions": [0.5, 1.0], "splits": ["val"]},
    "common": {"swa.variants": ["tail", "swalr"], "data.val_size": 1000},
    "strategies": {
        "multistep": {"schedule.name": "multistep", "tune": {"optimizer.lr": [0.05, 0.1]}},
        "cosine": {"schedule.name": "cosine", "tune": {"optimizer.lr": [0.05, 0.1]}},
        "linear": {"schedule.name": "linear", "tune": {"optimizer.lr": [0.05, 0.1]}},
        "uba": {
            "schedule.name": "uba",
            "tune": {"schedule.phi": [1.0, 2.0]},
            "inherit": {"optimizer.lr": "cosine"},
            "reuse": {"when": {"schedule.phi": 2.0}, "from": "cosine"},
        },
    },
}
# final accuracy (fraction) = BASE[strategy] + 0.05 x budget fraction + SEED_SHIFT[seed]; averages add GAIN
BASE = {"multistep": 0.80, "cosine": 0.82, "linear": 0.81, "uba": 0.83}
SEED_SHIFT = {0: 0.0, 1: 0.01, 2: 0.02}
GAIN = {"tail": 0.004, "swalr": 0.006}
BENCH_CSV = """problem,method,converged,grad_calls,func_calls,final_gap,final_grad_inf,wall_s
svm_a1a,HDM-Best,True,276,275,1e-9,1e-5,0.1
svm_a1a,L-BFGS-M10,True,328,328,1e-9,1e-5,0.1
svm_a1a,Adam,True,566,0,1e-9,1e-5,0.1
logreg,HDM-Best,True,300,300,1e-9,1e-5,0.1
logreg,L-BFGS-M10,False,1000,1000,1e-3,1e-3,0.1
logreg,Adam,True,700,0,1e-9,1e-5,0.1
quad,HDM-Best,False,1000,1000,1e-3,1e-3,0.1
quad,L-BFGS-M10,True,50,50,1e-9,1e-5,0.1
quad,Adam,True,900,0,1e-9,1e-5,0.1
"""


def billion_laughs(levels: int = 9) -> str:
    """A YAML mapping of nested aliases: a few hundred bytes that expand to 9**levels strings."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n  ".join(lines)


def accuracy(strategy: str, fraction: float, seed: int, base: dict | None = None) -> float:
    """The hand-made final test accuracy (fraction) of one final run."""
    return (base or BASE)[strategy] + 0.05 * fraction + SEED_SHIFT.get(seed, 0.0)


def make_record(
    acc: float | None,
    steps: int,
    seed: int,
    diverged: bool = False,
    val: float | None = None,
    evals: list | None = None,
) -> dict:
    """A run record shaped like design.md section 5 (schema 2)."""
    val = acc if val is None else val
    metrics = None if diverged else acc
    return {
        "schema": 2,
        "status": "diverged" if diverged else "ok",
        "diverged_step": 3 if diverged else None,
        "config": {
            "data": {"name": "fashion_mnist", "batch_size": 64, "train_subset": 1000, "val_size": 1000},
            "model": {"name": "mini_resnet"},
            "optimizer": {"name": "momentum", "lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4},
            "swa": {"variants": ["tail", "swalr"], "start": 0.75, "swalr_fraction": 0.5, "ema_decay": 0.999},
            "budget": {"steps": steps},
            "train": {"seed": seed},
        },
        "seed": seed,
        "budget_steps": steps,
        "curve": {"step": [1, 2, 3], "lr": [0.1, 0.1, 0.1], "loss": [2.3, 2.0, 1.8]},
        "evals": evals or [],
        "final": {
            "test_acc": metrics,
            "test_loss": None if diverged else 0.4,
            "val_acc": None if diverged else val,
            "val_loss": None if diverged else 0.4,
        },
        "averaged": {
            v: {
                "test_acc": None if diverged else acc + g,
                "test_loss": 0.4,
                "n_averaged": 5,
                "start_step": steps * 3 // 4,
            }
            for v, g in GAIN.items()
        },
        "wall_time_s": 1.5,
        "versions": {"python": "3.11.7", "torch": "2.14.1"},
        "git_commit": "0123456789abcdef",
        "device": "cpu",
    }


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def write_study(
    root: Path,
    profile: dict | None = None,
    diverged: tuple = (),
    base: dict | None = None,
    knob_effect: float = 0.01,
) -> grid.Grid:
    """Write every record of ``profile`` under ``root`` (tuning: a later knob index is better by
    ``knob_effect``, so the bracket round goes above the declared values and wins; final: `accuracy`;
    along the full budget, for the anytime figure's strategies, validation accuracy grows linearly to the
    final one), the tuning choices, and theory outputs; return the grid."""
    raw = profile or PROFILE
    g = grid.from_dict(raw)
    for r in plan.runs(g, "tune"):
        acc = accuracy(r.strategy, r.budget.fraction, 0, base) + knob_effect * r.index
        _write(root / r.record(g.profile), make_record(acc, r.budget.steps, r.seed))
    for strategy in g.strategies:
        parents = {
            p: json.loads((root / plan.selection_path(g, p)).read_text())
            for p in g.strategies[strategy].inherit.values()
        }
        chosen = tuning.select(g, strategy, tuning.load_records(g, strategy, root), parents)
        path = root / plan.selection_path(g, strategy)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(chosen))
    for r in plan.runs(g, "final"):
        acc = accuracy(r.strategy, r.budget.fraction, r.seed, base)
        evals = None
        if r.budget == g.full and r.strategy in g.anytime_strategies():  # as `Grid.phase_overrides` plans
            evals = [
                {
                    "step": round(f * r.budget.steps),
                    "fraction": f,
                    "val_acc": acc * f,
                    "val_loss": 0.5,
                    "averaged": None,
                    "averaged_variant": None,
                }
                for f in g.anytime["fractions"]
            ]
        is_div = (r.strategy, r.budget.percent, r.seed) in diverged
        _write(root / r.record(g.profile), make_record(acc, r.budget.steps, r.seed, is_div, evals=evals))
    for r in plan.runs(g, "plateau"):
        _write(
            root / r.record(g.profile),
            make_record(accuracy(r.strategy, 1.0, r.seed, base) + 0.005, r.budget.steps, r.seed),
        )
    theory = root / "results" / g.profile / "theory"
    theory.mkdir(parents=True, exist_ok=True)
    (theory / "checks.json").write_text(
        json.dumps(
            {
                "checks": [
                    {
                        "name": "ratio_identity",
                        "passed": True,
                        "summary": "identity holds to 1e-12",
                        "numbers": {},
                    },
                    {
                        "name": "regret_bound",
                        "passed": False,
                        "summary": "bound violated at K = 7",
                        "numbers": {},
                    },
                ],
                "wall_time_s": 4.0,
            }
        )
    )
    (theory / "bench.csv").write_text(BENCH_CSV)
    (theory / "curves.csv").write_text("problem,method,grad_calls,gap\nquad,GD,1,1.0\nquad,GD,2,0.5\n")
    (root / "results" / g.profile / "profile.json").write_text(json.dumps(raw))
    return g


def repository_copy(dest: Path) -> Path:
    """A copy of the repository as a user's clone has it: tracked files plus untracked, non-ignored
    ones (no results/, figures/, .venv/), so a test's workflow run never touches the user's outputs."""
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True).stdout.decode()
    for rel in out.split("\0"):
        if rel and not rel.startswith(("results/", "figures/", "paper/build/")) and (root / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, dest / rel)
    return dest
