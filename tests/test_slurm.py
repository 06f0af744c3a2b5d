"""The SLURM profile on a real SLURM cluster: `bin/local-slurm` starts munge, MariaDB, slurmdbd, slurmctld
and slurmd on 127.0.0.1 (a temporary folder, free ports, two placeholder GPUs), and Snakemake runs the
smoke profile (every training job and its theory jobs) with ``--profile profiles/slurm`` through
snakemake-executor-plugin-slurm: each is an sbatch job whose rule runs in an srun step, and the plugin
follows them with sacct, as on a cluster.

Checks: the accounting database lists each training job (one per batch of runs: rule, account,
partition, CPUs, memory, a batch step and an srun step) and so does the controller's job log; the run
records (tuning, final and plateau runs) equal those of a local smoke run bit for bit (CPU training at
one thread is deterministic); a training job asking for two GPUs gets them (--gpus) and starts torchrun
once, which runs two DDP processes; stopping the cluster ends every daemon.
The two workflow runs use their own copies of the repository, so the user's results/ is never touched.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from report import grid, plan

ROOT = Path(__file__).resolve().parents[1]
LOCAL_SLURM = ROOT / "bin/local-slurm"
PROFILE = "smoke"
GPU_PROFILE = "smoke_gpu"
GPUS = 2
INSTALL = "apt-get install slurm-wlm munge slurmdbd mariadb-server (bin/with-env does it as root)"
TOOLS = ["munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd", "sbatch", "sacct", "git"]
METRICS = ("final", "averaged", "evals", "curve")
SACCT_FIELDS = ["JobID", "JobName", "Comment", "Account", "Partition", "State", "ExitCode", "ReqCPUS",
                "AllocCPUS", "ReqMem", "AllocTRES", "NTasks", "WorkDir"]
pytestmark = pytest.mark.slow


def repository_copy(dest: Path) -> Path:
    """Tracked files plus untracked, non-ignored ones (no results/, figures/, .venv/)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    for rel in out.split("\0"):
        if rel and not rel.startswith(("results/", "figures/", "paper/build/")) and (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def training_batches() -> list[plan.Batch]:
    """Every training job of the smoke grid (tuning, final and plateau batches)."""
    return plan.all_batches(grid.load(ROOT / f"experiments/{PROFILE}.yaml"))


def run_json_targets() -> list[str]:
    """The final and plateau records: the whole training graph (tuning, choices, plans) leads to them."""
    g = grid.load(ROOT / f"experiments/{PROFILE}.yaml")
    return [r.record(PROFILE) for phase in ("final", "plateau") for r in plan.runs(g, phase)]


class Cluster:
    """A started bin/local-slurm cluster: its folder and the environment its commands need."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        dump = subprocess.run(["bash", "-c", f". '{folder}/env' && env -0"], env=env, capture_output=True,
                              check=True).stdout.decode()
        self.env = dict(line.split("=", 1) for line in dump.split("\0") if "=" in line)

    def daemons(self) -> dict[str, int]:
        path = self.folder / "pids"
        if not path.exists():
            path = self.folder / "pids.stopped"
        return {name: int(pid) for name, pid in (line.split() for line in path.read_text().splitlines())}

    def sacct(self, *args: str) -> list[dict[str, str]]:
        """Rows of ``sacct --parsable2`` (every job since 2000, steps included unless ``-X``)."""
        out = subprocess.run(["sacct", "--parsable2", "--starttime", "2000-01-01", "--format",
                              ",".join(SACCT_FIELDS), *args], env=self.env, capture_output=True, text=True,
                             check=True).stdout
        return list(csv.DictReader(out.splitlines(), delimiter="|"))

    def snakemake(self, copy: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        """Snakemake with the SLURM profile in ``copy``, as a user would start it (status checks every
        few seconds instead of the plugin's first one after 40 s)."""
        cmd = [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm",
               "--slurm-init-seconds-before-status-checks", "2", *args]
        return subprocess.run(cmd, cwd=copy, env=self.env, capture_output=True, text=True, timeout=timeout)


def cpus(row: dict[str, str]) -> int:
    """The CPUs a job asked for (checked against what SLURM granted: whole cores, so more with SMT)."""
    assert int(row["AllocCPUS"]) >= int(row["ReqCPUS"]), row
    return int(row["ReqCPUS"])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def failure_report(copy: Path, proc: subprocess.CompletedProcess, cluster: Cluster) -> str:
    logs = sorted((copy / ".snakemake/slurm_logs").rglob("*.log")) + sorted((copy / "results").rglob("*.log"))
    tails = "\n".join(f"--- {p}\n{p.read_text()[-1200:]}" for p in logs[:6])
    daemon_logs = "\n".join(f"--- {p}\n{p.read_text()[-800:]}"
                            for p in sorted((cluster.folder / "log").glob("*.log")))
    return f"exit {proc.returncode}\n{proc.stderr[-5000:]}\n{tails[-5000:]}\n{daemon_logs[-4000:]}"


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    if os.geteuid() != 0:
        pytest.fail("the SLURM test starts slurmd, which must run as root: run the tests as root "
                    "(bin/local-slurm explains the sudo set-up for a normal user)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the SLURM test needs {', '.join(missing)}: {INSTALL}")
    # not under pytest's private (0700) base folder: munge wants its socket's path open to everyone
    folder = Path(tempfile.mkdtemp(prefix="stepsize-slurm-"))
    start = time.perf_counter()
    proc = subprocess.run([str(LOCAL_SLURM), "start", str(folder), "--gpus", str(GPUS)], capture_output=True,
                          text=True, timeout=300)
    try:
        assert proc.returncode == 0, f"bin/local-slurm start failed:\n{proc.stderr[-4000:]}"
        print(f"local SLURM cluster up in {time.perf_counter() - start:.1f} s: {proc.stderr.strip()}")
        cluster = Cluster(folder)
        node = subprocess.run(["sinfo", "-h", "-o", "%c %m"], env=cluster.env, capture_output=True, text=True,
                              check=True).stdout.split()
        defaults = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["default-resources"]
        if int(node[0]) < defaults["cpus_per_task"] or int(node[1]) < defaults["mem_mb"]:
            pytest.fail(f"the node has {node[0]} CPUs and {node[1]} MB; the theory jobs ask for the "
                        f"profile's default {defaults['cpus_per_task']} CPUs and {defaults['mem_mb']} MB")
        yield cluster
    finally:
        # every daemon, by the PIDs the script recorded, even when a test failed
        stop = subprocess.run([str(LOCAL_SLURM), "stop", str(folder)], capture_output=True, text=True,
                              timeout=180)
        for line in (folder / "pids").read_text().splitlines() if (folder / "pids").exists() else []:
            name, pid = line.split()
            if alive(int(pid)) and Path(f"/proc/{pid}/comm").read_text().strip() == name:
                os.kill(int(pid), 9)
        print(f"bin/local-slurm stop: exit {stop.returncode}: {stop.stderr.strip()[-500:]}")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory) -> tuple[Path, float]:
    """The smoke profile's training runs of one seed and its theory jobs on the cluster."""
    copy = repository_copy(tmp_path_factory.mktemp("repo_slurm"))
    start = time.perf_counter()
    # targets first: --configfile takes every argument after it
    theory = [f"results/{PROFILE}/theory/checks.json", f"results/{PROFILE}/theory/bench.csv"]
    proc = cluster.snakemake(copy, *run_json_targets(), *theory,
                             "--configfile", f"experiments/{PROFILE}.yaml")
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        pytest.fail(f"smoke profile on SLURM failed: {failure_report(copy, proc, cluster)}")
    print(f"smoke profile through SLURM: {wall:.1f} s")
    return copy, wall


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The same training runs with Snakemake's local executor."""
    copy = repository_copy(tmp_path_factory.mktemp("repo_local"))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *run_json_targets(),
                           "--configfile", f"experiments/{PROFILE}.yaml"], cwd=copy,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"smoke training runs, local executor: {time.perf_counter() - start:.1f} s")
    return copy


def test_every_training_run_was_a_slurm_job(cluster, slurm_run):
    copy, _ = slurm_run
    rows = cluster.sacct()
    jobs = {r["JobID"]: r for r in rows if "." not in r["JobID"] and r["WorkDir"] == str(copy)}
    train = {r["Comment"]: r for r in jobs.values() if r["Comment"].startswith("rule_train_")}
    expected = {f"train_{b.name}" for b in training_batches()}
    found = {c.removeprefix("rule_").split("_wildcards")[0] for c in train}
    assert found == expected, sorted(found ^ expected)
    resources = grid.load(ROOT / f"experiments/{PROFILE}.yaml").train_resources()
    for row in train.values():
        assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
        assert (row["Account"], row["Partition"]) == ("stepsize", "local"), row
        assert cpus(row) == resources["threads"], row
        assert row["ReqMem"] == f"{resources['mem_mb']}M", row
        steps = {r["JobID"].split(".", 1)[1] for r in rows if r["JobID"].startswith(row["JobID"] + ".")}
        # sbatch's batch step, and the rule in one srun step (one task: the plugin sets no tasks)
        assert {"batch", "0"} <= steps, (row, steps)
    step0 = [r for r in rows if r["JobID"].endswith(".0") and r["JobID"].split(".")[0] in
             {row["JobID"] for row in train.values()}]
    assert len(step0) == len(train) and all(r["NTasks"] == "1" for r in step0)
    # the light rules went through SLURM with the profile's default resources
    theory = {r["Comment"]: r for r in jobs.values() if r["Comment"].startswith("rule_theory_")}
    assert set(theory) == {"rule_theory_check", "rule_theory_bench"}
    defaults = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())["default-resources"]
    for row in theory.values():
        assert row["State"] == "COMPLETED", row
        assert cpus(row) == defaults["cpus_per_task"], row
        assert row["ReqMem"] == f"{defaults['mem_mb']}M", row
    # the controller's own job log has them too
    jobcomp = (cluster.folder / "log/jobcomp.log").read_text()
    logged = dict(re.findall(r"^JobId=(\d+) .*? JobState=(\w+) ", jobcomp, flags=re.M))
    assert all(logged.get(row["JobID"]) == "COMPLETED" for row in train.values()), logged


def test_slurm_run_records_equal_the_local_ones(slurm_run, local_run):
    copy, _ = slurm_run
    records = sorted((copy / f"results/{PROFILE}").glob("**/run.json"))
    assert len(records) == sum(len(b.runs) for b in training_batches())
    for path in records:
        rel = path.relative_to(copy)
        on_slurm, local = json.loads(path.read_text()), json.loads((local_run / rel).read_text())
        assert on_slurm["status"] == local["status"] == "ok", rel
        for key in METRICS:
            assert on_slurm[key] == local[key], f"{rel}: {key} differs between the SLURM and the local run"


def test_a_two_gpu_training_job_gets_its_gpus_and_starts_torchrun_once(cluster, tmp_path_factory):
    """A profile with resources.train.gpu = 2 (the cluster's placeholder GPUs; the Fashion-MNIST base
    config trains on the CPU): the plugin must ask sbatch for the GPUs, SLURM must grant them, and the
    rule must start torchrun once (one task), which starts two DDP processes."""
    copy = repository_copy(tmp_path_factory.mktemp("repo_gpu"))
    profile = yaml.safe_load((copy / f"experiments/{PROFILE}.yaml").read_text())
    profile.pop("seeds_by_budget", None)   # its extra seeds belong to budgets this profile drops
    profile.update(profile=GPU_PROFILE, budget_fractions=[1.0], seeds=[0, 1],
                   strategies={"cosine": profile["strategies"]["cosine"]}, plateau={"strategy": None},
                   resources={"train": {"gpu": GPUS, "cpus_per_gpu": 1, "mem_mb": 4000, "runtime": 5}})
    (copy / f"experiments/{GPU_PROFILE}.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    target = f"results/{GPU_PROFILE}/runs/cosine/b100/s0/run.json"
    proc = cluster.snakemake(copy, target, "--configfile", f"experiments/{GPU_PROFILE}.yaml")
    if proc.returncode != 0:
        pytest.fail(f"two-GPU job failed: {failure_report(copy, proc, cluster)}")
    assert f"--nproc_per_node={GPUS} -m stepsize.batch" in proc.stdout + proc.stderr
    rows = cluster.sacct()
    [job] = [r for r in rows if r["Comment"].startswith("rule_train_final_") and "." not in r["JobID"]
             and r["WorkDir"] == str(copy) and f"gres/gpu={GPUS}" in r["AllocTRES"]]
    assert job["State"] == "COMPLETED" and cpus(job) == GPUS, job   # cpus_per_gpu x gpu
    [step] = [r for r in rows if r["JobID"] == job["JobID"] + ".0"]
    assert step["NTasks"] == "1", step
    record = json.loads((copy / target).read_text())
    assert record["status"] == "ok" and record["world_size"] == GPUS


def test_stop_ends_every_daemon(cluster, slurm_run):
    """Runs last: `bin/local-slurm stop` ends each daemon it started (the fixture's finalizer stops
    them too, also when a test failed)."""
    pids = cluster.daemons()
    assert sorted(pids) == sorted(["munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd"])
    assert all(alive(pid) for pid in pids.values()), pids
    proc = subprocess.run([str(LOCAL_SLURM), "stop", str(cluster.folder)], capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert not [name for name, pid in pids.items() if alive(pid)]
    node = (cluster.folder / "run/node").read_text().strip()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/slurm_{node}")), "slurmd's cgroup folders are left"
