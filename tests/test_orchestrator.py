"""The Snakemake process's own cost (report.orchestrator): the local scheduler runs without the job rate
limiter whose one-second timers made it spin, the default workflow profile picks the greedy scheduler,
and a finished workflow records its CPU time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import yaml

from report import orchestrator
from stepsize import run_record

ROOT = Path(__file__).resolve().parents[1]


def test_the_rate_limiter_of_a_local_scheduler_is_dropped_and_a_cluster_keeps_its_own():
    local = SimpleNamespace(local_exec=True, scheduler=SimpleNamespace(job_rate_limiter=object()))
    assert orchestrator.quiet_local_scheduler(local)
    assert local.scheduler.job_rate_limiter is None
    assert not orchestrator.quiet_local_scheduler(local)  # nothing left to drop
    limiter = object()
    cluster = SimpleNamespace(local_exec=False, scheduler=SimpleNamespace(job_rate_limiter=limiter))
    assert not orchestrator.quiet_local_scheduler(cluster)
    assert cluster.scheduler.job_rate_limiter is limiter


def test_the_default_workflow_profile_uses_the_greedy_scheduler():
    profile = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())
    assert profile["scheduler"] == "greedy"


def test_a_real_snakemake_workflow_starts_without_the_rate_limiter_and_records_its_cpu(tmp_path):
    """Against the installed Snakemake: its scheduler has the attribute the hook removes, the hook runs
    before the first scheduling pass, and the record holds this process's CPU time."""
    (tmp_path / "Snakefile").write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from report import orchestrator\n"
        "STARTED = time.time()\n"
        "onstart:\n"
        "    had = workflow.scheduler.job_rate_limiter is not None\n"
        "    dropped = orchestrator.quiet_local_scheduler(workflow)\n"
        "    open('hook.txt', 'w').write(f'{had} {dropped} {workflow.scheduler.job_rate_limiter}')\n"
        "onsuccess:\n"
        "    orchestrator.write_record('orchestrator.json', STARTED, 'success',\n"
        "        workflow.scheduling_settings.scheduler, workflow.scheduler.finished_jobs, log=log)\n"
        "rule all:\n"
        "    input: expand('out{i}.txt', i=range(3))\n"
        "rule one:\n"
        "    output: 'out{i}.txt'\n"
        "    shell: 'sleep 0.2; echo {wildcards.i} > {output}'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--scheduler", "greedy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "hook.txt").read_text() == "True True None"
    record = json.loads((tmp_path / "orchestrator.json").read_text())
    assert record["outcome"] == "success" and record["scheduler"] == "greedy"
    assert record["jobs"] == 4  # three outputs and the target rule
    assert 0 < record["cpu_user_s"] + record["cpu_system_s"]
    assert 0 < record["wall_s"] and record["cpu"] == run_record.cpu_model()
    assert (tmp_path / ".snakemake/log" / record["log"]).is_file()  # the run's own Snakemake log
