"""The grid profiles (experiments/*.yaml), their dry runs, and the SLURM profile.

Dry runs need no data: the DAG's only inputs besides code are the profiles and base configs. Each dry
run must list exactly strategies x budgets x seeds training jobs plus the fixed set of other jobs.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from report import grid

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "experiments").glob("*.yaml"))
# every job of the rule graph besides `train`, with its count
OTHER_JOBS = {"profile_json": 1, "theory_check": 1, "theory_bench": 1, "theory_bench_official": 1,
              "theory_figures": 1, "aggregate": 1,
              "training_figures": 1, "schedule_figure": 1, "paper": 1, "notebook": 2, "all": 1}


def dry_run(*args: str, env: dict | None = None) -> str:
    """``snakemake -n --forceall`` in the repository (every job listed, whatever results already exist
    here); returns stdout + stderr, fails the test on a non-zero exit."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--nolock", "--cores", "1", *args]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return out


def job_stats(output: str) -> dict[str, int]:
    """The first "Job stats" table of a Snakemake run as {rule: count}."""
    block = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    counts = {}
    for line in block.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])
def test_profile_is_valid_for_the_training_core(path):
    from stepsize import models, schedules

    g = grid.load(path)
    assert g.profile == path.stem, "the profile name decides the output folders: keep it = the file name"
    assert (ROOT / g.train_config).is_file(), f"{path.name}: base config {g.train_config} missing"
    base = yaml.safe_load((ROOT / g.train_config).read_text())
    for strategy in g.strategies:
        name = g.strategy_value(strategy, "schedule.name", base.get("schedule", {}).get("name"))
        assert name in schedules.NAMES, f"{path.name}: {strategy} uses unknown schedule {name!r}"
        params = {k: v for k, v in g.section(strategy, "schedule").items() if k != "name"}
        schedules.validate(name, g.budgets[0].steps, **params)
        model = g.strategy_value(strategy, "model.name", base.get("model", {}).get("name"))
        assert model in models.NAMES, f"{path.name}: unknown model {model!r}"
    assert len(g.seeds) >= 2, "claims need paired seeds"


@pytest.mark.parametrize("path", PROFILES, ids=[p.stem for p in PROFILES])
def test_swalr_is_the_same_fraction_of_the_peak_for_every_strategy(path):
    """SWALR's constant rate is an absolute LR for SGD but a multiplier of the learned step for OSGM
    (lr = 1.0): each strategy's swalr_lr / lr must be the same fraction of its peak (the paper says so)."""
    g = grid.load(path)
    base = yaml.safe_load((ROOT / g.train_config).read_text())
    fractions = {}
    for strategy in g.strategies:
        lr = g.strategy_value(strategy, "optimizer.lr", base["optimizer"]["lr"])
        swalr = g.strategy_value(strategy, "swa.swalr_lr", base["swa"]["swalr_lr"])
        fractions[strategy] = swalr / lr
    reference = fractions[g.report["cosine"]]
    for strategy, fraction in fractions.items():
        assert fraction == pytest.approx(reference, rel=0.01), f"{path.name}: {strategy}"


def test_mini_is_the_study_design():
    from stepsize import schedules

    g = grid.load(ROOT / "experiments/mini.yaml")
    used = {g.strategy_value(s, "schedule.name") for s in g.strategies}
    # every schedule of the library (the periodic StepLR form as "steplr"; the claims' "step" is multistep)
    assert set(schedules.NAMES) <= used
    assert [b.percent for b in g.budgets] == [25, 50, 100]
    assert sorted(g.uba_phis().values()) == [0.5, 1.0, 2.0, 4.0, 10.0]
    assert any(g.strategy_value(s, "optimizer.name") == "osgm" for s in g.strategies)
    assert g.common["swa.variants"] == ["tail", "swalr", "ema"]
    assert len(g.strategies) == 18 and len(g.seeds) == 2 and len(g.jobs) == 108
    peak = {g.strategy_value(s, "optimizer.lr") for s in g.strategies
            if g.strategy_value(s, "optimizer.name") == "momentum"}
    assert len(peak) == 1, "one peak LR for every SGD-momentum schedule"


def test_smoke_is_a_small_copy_of_mini():
    mini, smoke = grid.load(ROOT / "experiments/mini.yaml"), grid.load(ROOT / "experiments/smoke.yaml")
    assert smoke.full_budget_steps < mini.full_budget_steps and len(smoke.jobs) < len(mini.jobs)
    assert {"cosine", "linear", "step", "osgm"} <= set(smoke.strategies)
    assert 2.0 in smoke.uba_phis().values() and len(smoke.uba_phis()) >= 2
    assert smoke.budgets[0].fraction <= smoke.report["small_budget_max_fraction"], "linear-vs-step testable"
    assert smoke.common["swa.variants"] == mini.common["swa.variants"]


@pytest.mark.parametrize(("name", "model", "percents", "gpus"), [
    ("cifar10", "preact_resnet18", [10, 25, 50, 100], 1),
    ("cifar100", "resnet56", [10, 25, 50, 100], 1),
    ("imagenet", "resnet50", [18, 27, 36, 45, 100], 8),
    ("imagenet_rn18", "resnet18", [18, 27, 36, 45, 100], 1),
])
def test_cluster_profiles_match_the_protocol(name, model, percents, gpus):
    g = grid.load(ROOT / f"experiments/{name}.yaml")
    assert g.common["model.name"] == model
    assert [b.percent for b in g.budgets] == percents
    assert g.train_resources()["gpu"] == gpus
    if name.startswith("cifar"):
        assert g.common["optimizer.momentum"] == 0.9 and g.common["optimizer.weight_decay"] == 5e-4
        assert g.common["data.batch_size"] == 128 and len(g.seeds) == 3
        # 200 epochs of ceil(50,000 / 128) = 391 iterations
        assert g.full_budget_steps == 200 * math.ceil(50_000 / 128)
    else:   # ffcv-imagenet: 88 epochs of floor(1,281,167 / batch) iterations (drop_last)
        assert g.full_budget_steps == 88 * (1_281_167 // g.common["data.batch_size"])


# The protocol's job counts, written out (not recomputed by the grid code the Snakefile itself uses):
# strategies x budgets x seeds training runs.
TRAIN_JOBS = {"cifar10": 17 * 4 * 3, "cifar100": 17 * 4 * 3, "imagenet": 12 * 5 * 2,
              "imagenet_rn18": 12 * 5 * 2, "mini": 18 * 3 * 2}


# imagenet is dry-run through the SLURM profile below, mini as the default profile, smoke end to end
@pytest.mark.parametrize("name", ["cifar10", "cifar100", "imagenet_rn18"])
def test_dry_run_lists_the_expected_jobs(name):
    counts = job_stats(dry_run("--configfile", f"experiments/{name}.yaml", "--quiet", "rules"))
    assert counts == {"train": TRAIN_JOBS[name], **OTHER_JOBS}
    assert len(grid.load(ROOT / f"experiments/{name}.yaml").jobs) == TRAIN_JOBS[name]


def test_default_profile_is_mini():
    counts = job_stats(dry_run("--quiet", "rules"))
    assert counts == {"train": TRAIN_JOBS["mini"], **OTHER_JOBS}


def test_slurm_profile_never_sets_tasks_and_launches_torchrun():
    cfg = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert cfg["executor"] == "slurm"
    text = yaml.safe_dump(cfg)
    assert "tasks" not in re.sub(r"cpus_per_task", "", text), "tasks would make SLURM start one copy per GPU"
    env = {**__import__("os").environ, "SLURM_ACCOUNT": "test", "SLURM_PARTITION": "gpu"}
    out = dry_run("--profile", "profiles/slurm", "--configfile", "experiments/imagenet.yaml", "-p", env=env)
    assert "torchrun --standalone --nnodes=1 --nproc_per_node=8 -m stepsize.train" in out
    assert re.search(r"resources: .*gpu=8", out), "the train rule must request 8 GPUs"
    train = [line for line in out.splitlines() if "resources:" in line and "gpu=8" in line]
    # the plugin reads cpus_per_task before cpus_per_gpu: it must be the run's 8 x 12 CPUs, not the
    # profile's default for light rules
    assert train and all("cpus_per_task=96" in line for line in train), train[:1]
    assert job_stats(out) == {"train": TRAIN_JOBS["imagenet"], **OTHER_JOBS}
