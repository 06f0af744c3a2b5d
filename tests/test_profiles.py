"""The grid profiles (experiments/*.yaml), their dry runs, and the SLURM profile.

Dry runs need no data: the DAG's only inputs besides code are the profiles and base configs. Each dry
run must list the protocol's training jobs (one per batch of runs) plus the fixed set of other jobs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from report import grid, plan

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "experiments").glob("*.yaml"))
CONTENDERS = {"constant", "step", "multistep", "exponential", "cosine", "linear", "polynomial", "rex",
              "rex_code", "onecycle", "wsd", "wsd_linear", "cyclic", "uba", "osgm", "sf_sgd", "sf_adamw",
              "adamw_cosine", "adamw_linear", "prodigy", "dadapt", "dog", "sgd_hd", "adam_hd"}


def dry_run(*args: str, env: dict | None = None) -> str:
    """``snakemake -n --forceall`` in the repository (every job listed, whatever results exist here)."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def job_stats(output: str) -> dict[str, int]:
    """The first "Job stats" table of a Snakemake run as {rule: count}, train_* rules summed as train."""
    block = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    counts: dict[str, int] = {}
    for line in block.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            key = "train" if m.group(1).startswith("train_") else m.group(1)
            counts[key] = counts.get(key, 0) + int(m.group(2))
    return counts


@pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_profile_validates_against_the_training_core(path):
    g = grid.load(path)
    assert g.profile == path.stem, "the profile name decides the output folders: keep it = the file name"
    assert (ROOT / g.train_config).is_file(), f"{path.name}: base config {g.train_config} missing"
    grid.validate_strategies(g)  # every strategy's config at every knob value and budget


@pytest.mark.parametrize("path", [p for p in PROFILES if p.stem != "smoke"], ids=lambda p: p.stem)
def test_study_profiles_carry_the_protocol_and_every_contender(path):
    """mini and the paper-scale profiles: the same contenders, equal tuning budgets on validation, >= 5
    paired seeds, a plateau run, budgets down to 10 % and a held-out validation split."""
    g = grid.load(path)
    assert set(g.strategies) == CONTENDERS
    assert len(g.seeds) >= 5 and g.tuning["grid_size"] == 3 and not set(g.tuning_seeds) & set(g.seeds)
    assert all(len(s.values) == 3 for s in g.strategies.values())
    assert g.budgets[0].fraction <= 0.11 and g.plateau["strategy"] == "cosine"
    assert int(g.common.get("data.val_size", 0)) > 0
    from stepsize import schedules

    used = {g.strategy_value(s, "schedule.name") for s in g.strategies}
    assert set(schedules.NAMES) <= used, "every schedule of the library"
    assert g.strategies["dog"].output == "poly"
    # UBA tuned like the SGD schedules, at a fixed phi, with the same tuning runs (no inherited choice)
    assert g.strategies["uba"].knob == "optimizer.lr" and not g.strategies["uba"].inherit
    assert g.tuning_seeds == [1000, 1001] and g.tuning["bracket"] == 2


def test_mini_is_the_study_design():
    g = grid.load(ROOT / "experiments/mini.yaml")
    assert [b.percent for b in g.budgets] == [10, 25, 100] and g.full.steps == 300
    assert g.tuning["per_budget"] and g.common["data.train_subset"] == 5000
    # 24 strategies x (3 + 2) knob values x 2 tuning seeds x 3 budgets (tuning) + 24 x (10 + 8 + 5) seeds
    # (final) + 3 plateau
    assert [len(plan.runs(g, ph)) for ph in plan.PHASES] == [720, 552, 3]
    assert g.tuning_seeds == [1000, 1001] and g.tuning["bracket"] == 2 and g.tuning["factor"] == 2.0


def test_mini_tunes_every_strategy_equally():
    """The same tuning runs for every strategy at every budget: 3 declared + 2 bracket values x 2 seeds,
    none reused from another strategy; UBA tunes the SGD schedules' LR values at a fixed phi."""
    from collections import Counter

    g = grid.load(ROOT / "experiments/mini.yaml")
    per = Counter((r.strategy, r.budget.label) for r in plan.runs(g, "tune"))
    assert set(per.values()) == {(3 + 2) * 2} and len(per) == 24 * 3
    assert not any(s.inherit or s.reuse_from for s in g.strategies.values())
    uba, cosine = g.strategies["uba"], g.strategies["cosine"]
    assert uba.values == cosine.values and g.strategy_value("uba", "schedule.phi") == 0.5
    proc = subprocess.run([sys.executable, "-m", "report", "jobs", "experiments/mini.yaml", "--count"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "1275 runs in 73 training jobs", proc.stdout + proc.stderr
    assert [len(g.seeds_at(b)) for b in g.budgets] == [10, 8, 5] and g.seeds_at(g.budgets[1])[:5] == g.seeds


def test_smoke_is_a_small_copy_of_mini():
    mini, smoke = grid.load(ROOT / "experiments/mini.yaml"), grid.load(ROOT / "experiments/smoke.yaml")
    assert smoke.full.steps < mini.full.steps
    assert {"cosine", "linear", "multistep", "uba", "sf_sgd", "dog"} <= set(smoke.strategies)
    assert smoke.strategies["uba"].reuse_from == "cosine" and smoke.plateau["strategy"] == "cosine"
    assert len(smoke.tuning_seeds) == 2 and smoke.tuning["bracket"] >= 1, "the bracket round runs in smoke"
    assert smoke.budgets[0].fraction <= smoke.report["small_budget_max_fraction"], "linear-vs-step testable"
    assert smoke.common["swa.variants"] == mini.common["swa.variants"]


@pytest.mark.parametrize(("name", "model", "percents", "gpus", "per_budget"), [
    ("cifar10", "preact_resnet18", [10, 25, 50, 100], 1, True),
    ("cifar100", "resnet56", [10, 25, 50, 100], 1, True),
    ("imagenet", "resnet50", [10, 18, 27, 36, 45, 100], 8, False),
    ("imagenet_rn18", "resnet18", [10, 18, 27, 36, 45, 100], 1, False),
])
def test_cluster_profiles_match_the_protocol(name, model, percents, gpus, per_budget):
    g = grid.load(ROOT / f"experiments/{name}.yaml")
    assert g.common["model.name"] == model and [b.percent for b in g.budgets] == percents
    assert g.train_resources()["gpu"] == gpus and g.tuning["per_budget"] is per_budget
    val = g.common["data.val_size"]
    if name.startswith("cifar"):
        assert g.common["optimizer"]["momentum"] == 0.9 and g.common["optimizer"]["weight_decay"] == 5e-4
        # 200 epochs of floor((50,000 - val) / 128) iterations (drop_last)
        assert g.full.steps == 200 * ((50_000 - val) // 128)
        assert g.train_resources()["runs_per_gpu"] > 1, "small models leave a GPU mostly idle"
    else:   # ffcv-imagenet: 88 epochs of floor((1,281,167 - val) / batch) iterations
        assert g.full.steps == 88 * ((1_281_167 - val) // g.common["data.batch_size"])


# The protocol's training jobs, written out (every profile: a round-1 tuning job and a bracket-round job per
# strategy and tuning budget, a final job per strategy and budget, chunked by `batching.max_runs`; mini one
# job per strategy and phase; the tuning of imagenet at the full budget only: 6 round-1 runs in chunks of
# 5 (imagenet) or 2 (imagenet_rn18), 4 bracket runs in 1 or 2 chunks) -- not recomputed by the grid code
# the Snakefile itself uses.
STRATEGIES = 24
TRAIN_JOBS = {"mini": STRATEGIES * 3 + 1, "cifar10": STRATEGIES * 4 * 3 + 1,
              "cifar100": STRATEGIES * 4 * 3 + 1, "imagenet": STRATEGIES * (2 + 1 + 6) + 1,
              "imagenet_rn18": STRATEGIES * (3 + 2 + 6 * 3) + 1}
OTHER_JOBS = {"profile_json": 1, "plan": TRAIN_JOBS["mini"], "select": STRATEGIES, "theory_check": 1,
              "theory_bench": 1, "theory_bench_official": 1, "theory_figures": 1, "aggregate": 1,
              "training_figures": 1,
              "schedule_figure": 1, "paper": 1, "notebook": 2, "all": 1}


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "imagenet_rn18"])
def test_dry_run_lists_the_expected_jobs(name):
    counts = job_stats(dry_run("--configfile", f"experiments/{name}.yaml", "--quiet", "rules"))
    assert counts == {**OTHER_JOBS, "train": TRAIN_JOBS[name], "plan": TRAIN_JOBS[name]}


def test_default_profile_is_mini():
    counts = job_stats(dry_run("--quiet", "rules"))
    assert counts == {**OTHER_JOBS, "train": TRAIN_JOBS["mini"]}


def test_slurm_profile_never_sets_tasks_and_launches_torchrun():
    cfg = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert cfg["executor"] == "slurm"
    text = yaml.safe_dump(cfg)
    assert "tasks" not in re.sub(r"cpus_per_task", "", text), "tasks would make SLURM start one copy per GPU"
    env = {**__import__("os").environ, "SLURM_ACCOUNT": "test", "SLURM_PARTITION": "gpu"}
    out = dry_run("--profile", "profiles/slurm", "--configfile", "experiments/imagenet.yaml", "-p", env=env)
    assert "torchrun --standalone --nnodes=1 --nproc_per_node=8 -m stepsize.batch" in out
    train = [line for line in out.splitlines() if "resources:" in line and "gpu=8" in line]
    # the plugin reads cpus_per_task before cpus_per_gpu: it must be the job's 8 x 12 CPUs, not the
    # profile's default for light rules
    assert train and all("cpus_per_task=96" in line for line in train), train[:1]
    assert job_stats(out) == {**OTHER_JOBS, "train": TRAIN_JOBS["imagenet"], "plan": TRAIN_JOBS["imagenet"]}


def test_a_gpu_profile_runs_several_runs_per_gpu():
    out = dry_run("--configfile", "experiments/cifar10.yaml", "-p")
    assert "-m stepsize.batch" in out and "--workers 4" in out
