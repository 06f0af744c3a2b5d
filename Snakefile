"""The study as a Snakemake workflow: tuning -> choices -> final runs -> tables, figures, macros -> paper.

    snakemake --cores all                                        # the mini profile (the default)
    snakemake --cores all --configfile experiments/smoke.yaml    # tiny budgets (tests, CI)
    snakemake --profile profiles/slurm --configfile experiments/cifar10.yaml   # a cluster

Runs (report.plan): tuning runs (every strategy x knob value x budget x tuning seed: the declared values,
then a bracket round whose values depend on the first round's scores), then each strategy's choice on
validation accuracy (rule `select`), then the final runs (strategy x budget x seed, judged on
test) and the plateau runs. Each run has its own output, results/<profile>/{tune,runs,plateau}/.../run.json;
a training *job* is a batch of runs executed in one process (stepsize.batch), one Snakemake rule per batch
(`train_<batch>`, its outputs flagged `update` so that finished runs survive a rerun of their batch, which
then redoes only what is missing or stale). Profiles never clobber each other: every output lies under
results/<profile>/, figures/<profile>/ or paper/build/<profile>/. design.md section 7 has the details.
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from report.aggregate import TABLE_FILES  # noqa: E402
from report.figures import FIGURES as FIGURE_NAMES  # noqa: E402
from report.grid import ProfileError, from_dict, read_yaml, validate_strategies  # noqa: E402
from report import plan as planning  # noqa: E402, I001
from stepsize import run_record  # noqa: E402

# `--configfile X` on the command line would be deep-merged INTO the default profile (strategies of
# both would mix); a profile must stand alone, so the default is read only when none was given.
if "strategies" not in config:

    configfile: "experiments/mini.yaml"


try:
    for path in workflow.configfiles:  # Snakemake's YAML reader keeps the last of two equal keys silently
        read_yaml(path)
    GRID = from_dict(dict(config), source="the profile " + ", ".join(map(str, workflow.configfiles)))
    validate_strategies(GRID)
except ProfileError as exc:
    raise WorkflowError(str(exc)) from None

P = GRID.profile
ROOT = Path(workflow.basedir).resolve()
RES = f"results/{P}"
FIG = f"figures/{P}"
PY = sys.executable
TRAIN_RES = GRID.train_resources()
GPUS = int(TRAIN_RES["gpu"])
RUNS_PER_GPU = int(TRAIN_RES["runs_per_gpu"])
# CPU threads: the job's total (Snakemake `threads`, SLURM CPUs) and torch's per process (each torchrun rank
# gets cpus_per_gpu; K runs sharing one GPU share its CPUs), passed to every run as train.threads.
TORCH_THREADS = int(TRAIN_RES["cpus_per_gpu"] if GPUS and TRAIN_RES["cpus_per_gpu"] else TRAIN_RES["threads"])
TRAIN_THREADS = TORCH_THREADS * max(GPUS, 1)
TORCHRUN = Path(PY).with_name("torchrun") if Path(PY).with_name("torchrun").exists() else "torchrun"
TRAIN_LAUNCHER = f"{TORCHRUN} --standalone --nnodes=1 --nproc_per_node={GPUS}" if GPUS > 1 else PY
WORKERS = f"--workers {RUNS_PER_GPU}" if GPUS == 1 and RUNS_PER_GPU > 1 else ""
THREADS_PER_RUN = max(1, TORCH_THREADS // RUNS_PER_GPU) if WORKERS else TORCH_THREADS
# The training code a run can depend on: an edit reruns the batch jobs (rerun-trigger `params`); inside
# a job, stepsize.batch keeps the runs whose own imported modules are unchanged (run_record.is_current).
CODE_HASH = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path("stepsize").rglob("*.py")))).hexdigest()[:16]
THEORY_SIZE = GRID.theory["size"]
TABLES = [f"{RES}/tables/{name}" for name in TABLE_FILES]
TRAINING_FIGURES = list(FIGURE_NAMES)  # rule training_figures (report.figures.FIGURES)
SCHEDULE_FIGURE = "lr_schedules"  # rule schedule_figure (report.schedule_figure)
NOTEBOOKS = ["results_explorer", "theory_checks"]
BATCHES = planning.all_batches(GRID)
BATCH_BY_NAME = {b.name: b for b in BATCHES}
FINAL_RECORDS = [r.record(P) for r in planning.runs(GRID, "final")]
TUNE_RECORDS = [r.record(P) for r in planning.runs(GRID, "tune")]
PLATEAU_RECORDS = [r.record(P) for r in planning.runs(GRID, "plateau")]
SELECTIONS = [planning.selection_path(GRID, s) for s in GRID.strategies]
# Sources of the cheap rules are inputs, so editing theory/ or report/ redoes what depends on them.
THEORY_SOURCES = sorted(str(p) for p in Path("theory").rglob("*.py"))
THEORY_DATA = sorted(str(p) for p in Path("theory/data/libsvm").glob("a?a"))
REPORT_SOURCES = sorted(str(p) for p in Path("report").rglob("*.py"))
SCHEDULE_SOURCES = sorted(str(p) for p in Path("stepsize/schedules").rglob("*.py"))
ENV = "environment.yml"  # conda alternative to bin/with-env (used with --software-deployment-method conda)
LATEX_HINT = "install TeX Live and latexmk: apt-get install latexmk texlive-latex-extra texlive-science"


# One workflow run per directory at a time: an fcntl lock held while this Snakemake process lives (the
# kernel drops it however the process ends, so a `kill -9` leaves no stale lock; profiles/default sets
# nolock for Snakemake's own lock, which does). Training jobs stop when this process is gone.
if workflow.is_main_process and not workflow.dryrun:
    import fcntl

    Path(".snakemake").mkdir(exist_ok=True)
    _DAG_LOCK = open(".snakemake/stepsize-workflow.lock", "a+")
    try:
        fcntl.flock(_DAG_LOCK, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        _DAG_LOCK.seek(0)
        holder = _DAG_LOCK.read().strip() or "another process"
        raise WorkflowError(f"another snakemake runs this workflow in {ROOT} ({holder}); wait for it or stop it")
    _DAG_LOCK.truncate(0)
    _DAG_LOCK.write(f"snakemake pid {os.getpid()}\n")
    _DAG_LOCK.flush()
    if workflow.local_exec:  # an environment variable for stepsize.batch: not a param, so never a rerun
        from stepsize.lifeline import export_stop_with

        export_stop_with(os.getpid())

# The Snakemake process itself: no job rate limiter on a local run (its one-second timers made the
# scheduler spin, report.orchestrator), and its CPU time recorded for benchmarks/bench_engine.py --dag.
from report import orchestrator  # noqa: E402

_STARTED = time.time()
ORCHESTRATOR_RECORD = f"{RES}/logs/orchestrator.json"


def _record_orchestrator(outcome: str, log) -> None:
    if workflow.is_main_process and not workflow.dryrun:
        orchestrator.write_record(ORCHESTRATOR_RECORD, _STARTED, outcome, workflow.scheduling_settings.scheduler,
                                  jobs=getattr(workflow.scheduler, "finished_jobs", None), log=log)


onstart:
    orchestrator.quiet_local_scheduler(workflow)


onsuccess:
    _record_orchestrator("success", log)


onerror:
    _record_orchestrator("error", log)


# A run that raised left a `failed` record (kept so that its batch's finished runs survive, see
# stepsize.batch), and the rules that read it (select, aggregate) stopped with its error. Planning moves
# it aside to run.failed.json, so its job counts as not done: this invocation, or a dry run, shows and
# reruns it (the batch then retries that run and keeps the others), then the rest of the workflow.
if workflow.is_main_process:
    for _record in [*TUNE_RECORDS, *FINAL_RECORDS, *PLATEAU_RECORDS]:
        _path = Path(_record)
        if (run_record.read_json(_path) or {}).get("status") == "failed":
            os.replace(_path, _path.with_name("run.failed.json"))


def parent(path: str) -> str:
    """The folder of a file path."""
    return str(Path(path).parent)


def parent_of_output(wildcards, output) -> str:
    """The folder of a rule's first output."""
    return parent(output[0])


def job_minutes(batch) -> int:
    """A batch's runtime request: its runs' updates (a SWALR branch adds the updates after its fork)
    against the profile's minutes per full-budget run (`resources.train.runtime`, measured with
    `runs_per_gpu` runs sharing the device), divided among the runs that share the device, plus 10 %."""
    updates = 0.0
    for run in batch.runs:
        variants = GRID.strategy_value(run.strategy, "swa.variants", ["swalr"])
        start = float(GRID.strategy_value(run.strategy, "swa.start", 0.75))
        updates += run.budget.steps * (1 + ((1 - start) if "swalr" in variants else 0))
    concurrent = RUNS_PER_GPU if WORKERS else 1
    return max(5, round(1.1 * TRAIN_RES["runtime"] * updates / GRID.full.steps / concurrent))


wildcard_constraints:
    strategy="|".join(s.replace(".", r"\.") for s in GRID.strategies),
    batch="|".join(BATCH_BY_NAME),
    ext="pdf|png",


localrules:
    all,
    profile_json,
    plan,
    select,
    aggregate,
    training_figures,
    schedule_figure,
    theory_figures,
    paper,
    notebook,


# The run records are inputs of `all` too: Snakemake reruns a job whose output is missing only when a job
# that needs it is due, and the tables and figures made from a deleted record are still up to date; as a
# target's input, a missing record (its folder deleted to retrain it) makes its batch job due, and the
# jobs downstream of it.
rule all:
    input:
        f"paper/build/{P}/paper.pdf",
        expand(f"{RES}/notebooks/{{name}}.ipynb", name=NOTEBOOKS),
        TUNE_RECORDS,
        FINAL_RECORDS,
        PLATEAU_RECORDS,


# The light rules are shell commands: Snakemake runs a `run:` block in a fresh Snakemake process, which
# re-reads this file (seconds per job).
rule profile_json:
    """The resolved profile (what the report reads); rewritten when the config changes."""
    output:
        f"{RES}/profile.json",
    params:
        profile=json.dumps(dict(config), indent=1),
    log:
        f"{RES}/logs/profile_json.log",
    conda:
        ENV
    shell:
        "printf '%s\\n' {params.profile:q} > {output}"


rule plan:
    """The run list of one training job, with the knob values chosen so far (report.plan)."""
    input:
        profile=f"{RES}/profile.json",
        selections=lambda wc: planning.plan_inputs(GRID, BATCH_BY_NAME[wc.batch])["selections"],
        # a bracket-round job's values come from its strategy's round-1 scores (report.tuning.bracket_values)
        records=lambda wc: planning.plan_inputs(GRID, BATCH_BY_NAME[wc.batch])["records"],
    output:
        f"{RES}/plans/{{batch}}.json",
    log:
        f"{RES}/logs/plan/{{batch}}.log",
    priority: 20  # a fraction of a second; a tuning job cannot start before its plan (see JOB_PRIORITY)
    params:
        py=PY,
    conda:
        ENV
    shell:
        "{params.py} -m report plan --profile {input.profile} --batch {wildcards.batch} --out {output} > {log} 2>&1 "
        "|| {{ rc=$?; grep -h 'error:' {log} >&2 || tail -n 3 {log} >&2; exit $rc; }}"


rule select:
    """A strategy's knob value per budget, chosen on validation accuracy (report.tuning)."""
    input:
        profile=f"{RES}/profile.json",
        runs=lambda wc: [r.record(P) for r in planning.runs(GRID, "tune", wc.strategy)],
        parents=lambda wc: [planning.selection_path(GRID, p) for p in GRID.strategies[wc.strategy].inherit.values()],
    output:
        f"{RES}/tuning/{{strategy}}.json",
    log:
        f"{RES}/logs/select/{{strategy}}.log",
    priority: 20
    params:
        py=PY,
    conda:
        ENV
    shell:
        "{params.py} -m report select --profile {input.profile} --strategy {wildcards.strategy} --out {output} "
        "> {log} 2>&1 "
        "|| {{ rc=$?; grep -h 'error:' {log} >&2 || tail -n 3 {log} >&2; exit $rc; }}"


# One rule per training job: a batch's outputs are its runs' records (update: kept when the job reruns).
# Priority: tuning jobs first (each unlocks its strategy's final job), then the long plateau job, then the
# final jobs; `plan` and `select` share the tuning jobs' priority, since Snakemake does not pass a job's
# priority on to the jobs it waits for. Without it a tuning job can be left for last, and its final job
# then runs last while the other core idles (seen in two default runs, at commits e7fb9db and c0630f9).
JOB_PRIORITY = {"tune": 20, "plateau": 10, "final": 0}
for batch in BATCHES:

    rule:
        name:
            f"train_{batch.name}"
        input:
            plan=batch.plan_path(P),
            config=GRID.train_config,
            reuse=planning.plan_inputs(GRID, batch)["reuse"],
        output:
            [update(path) for path in batch.outputs(P)],
        log:
            f"{RES}/logs/train/{batch.name}.log",
        benchmark:
            f"{RES}/benchmarks/train/{batch.name}.tsv"
        params:
            launcher=TRAIN_LAUNCHER,
            workers=WORKERS,
            threads=f"--threads {THREADS_PER_RUN}",
            code=CODE_HASH,
        threads: TRAIN_THREADS
        priority: JOB_PRIORITY[batch.phase]
        resources:
            mem_mb=int(TRAIN_RES["mem_mb"]),
            runtime=job_minutes(batch),
            cpus_per_task=TRAIN_THREADS,
            **({"gpu": GPUS} if GPUS else {}),
        conda:
            ENV
        shell:
            "{params.launcher} -m stepsize.batch {input.plan} {params.workers} {params.threads} > {log} 2>&1 "
            "|| {{ rc=$?; grep -h 'error:' {log} >&2 || tail -n 3 {log} >&2; exit $rc; }}; "
            "grep -h '^stepsize.batch: error:' {log} >&2 || true"


rule theory_check:
    """Numerical checks of the OSGM bounds; exit status 1 (a check failed) still yields checks.json,
    which the report shows as failed; any other failure stops the workflow."""
    input:
        src=THEORY_SOURCES,
    output:
        f"{RES}/theory/checks.json",
        f"{RES}/theory/check_data.json",
    log:
        f"{RES}/logs/theory_check.log",
    params:
        py=PY,
        out_dir=parent_of_output,
        size=THEORY_SIZE,
    conda:
        ENV
    shell:
        "rc=0; {params.py} -m theory check --out {params.out_dir} --size {params.size} > {log} 2>&1 || rc=$?; "
        'if [ "$rc" -gt 1 ]; then exit "$rc"; fi'


rule theory_bench:
    """OSGM/HDM against GD, Adam, BFGS, L-BFGS on convex problems (gradient calls to tolerance)."""
    input:
        src=THEORY_SOURCES,
    output:
        f"{RES}/theory/bench.csv",
        f"{RES}/theory/curves.csv",
    log:
        f"{RES}/logs/theory_bench.log",
    params:
        py=PY,
        out_dir=parent_of_output,
        size=THEORY_SIZE,
    threads: 2  # problems benched two at a time (same tables as one at a time)
    conda:
        ENV
    shell:
        "{params.py} -m theory bench --out {params.out_dir} --size {params.size} --jobs {threads} > {log} 2>&1"


rule theory_bench_official:
    """The official OSGM/HDM-Best benchmark (LIBSVM a1a-a3a) under the authors' protocol, call for call
    (theory.protocols: their objectives, L, x0, 1000 iterations, grids and reporting rule)."""
    input:
        src=THEORY_SOURCES,
        data=THEORY_DATA,
    output:
        f"{RES}/theory/official/bench.csv",
        f"{RES}/theory/official/curves.csv",
    log:
        f"{RES}/logs/theory_bench_official.log",
    params:
        py=PY,
        out_dir=parent_of_output,
        size=THEORY_SIZE,
    threads: 2
    conda:
        ENV
    shell:
        "{params.py} -m theory bench --protocol official --out {params.out_dir} --size {params.size} "
        "--jobs {threads} > {log} 2>&1"


rule theory_figures:
    input:
        checks=f"{RES}/theory/checks.json",
        check_data=f"{RES}/theory/check_data.json",
        bench=f"{RES}/theory/bench.csv",
        curves=f"{RES}/theory/curves.csv",
    output:
        directory(f"{FIG}/theory"),
    log:
        f"{RES}/logs/theory_figures.log",
    params:
        py=PY,
    conda:
        ENV
    shell:
        "{params.py} -m theory figures --checks $(dirname {input.checks}) --bench $(dirname {input.bench}) "
        "--out {output} > {log} 2>&1"


rule aggregate:
    """Run records, choices and theory outputs (the project's bench and the official one, read from
    theory/official/bench.csv beside bench.csv) -> CSV/LaTeX tables, macros and their provenance."""
    input:
        profile=f"{RES}/profile.json",
        runs=FINAL_RECORDS,
        tune=TUNE_RECORDS,
        plateau=PLATEAU_RECORDS,
        selections=SELECTIONS,
        checks=f"{RES}/theory/checks.json",
        bench=f"{RES}/theory/bench.csv",
        official_bench=f"{RES}/theory/official/bench.csv",
        src=REPORT_SOURCES,
    output:
        tables=TABLES,
        macros=f"{RES}/macros.tex",
        provenance=f"{RES}/provenance.json",
    log:
        f"{RES}/logs/aggregate.log",
    params:
        py=PY,
        out_dir=lambda wc, output: parent(output.tables[0]),
        benchmarks=f"{RES}/benchmarks/train",
    conda:
        ENV
    shell:
        "{params.py} -m report aggregate --profile {input.profile} --checks {input.checks} "
        "--bench {input.bench} --official-bench {input.official_bench} --out {params.out_dir} --macros {output.macros} "
        "--benchmarks {params.benchmarks} > {log} 2>&1 "
        "|| {{ rc=$?; grep -h 'error:' {log} >&2 || tail -n 3 {log} >&2; exit $rc; }}"


rule training_figures:
    input:
        profile=f"{RES}/profile.json",
        tables=TABLES,
        runs=FINAL_RECORDS,
        src=REPORT_SOURCES,
    output:
        expand(f"{FIG}/{{name}}.{{ext}}", name=TRAINING_FIGURES, ext=["pdf", "png"]),
    log:
        f"{RES}/logs/training_figures.log",
    params:
        py=PY,
        tables=lambda wc, input: parent(input.tables[0]),
        out_dir=parent_of_output,
    conda:
        ENV
    shell:
        "{params.py} -m report figures --profile {input.profile} --tables {params.tables} "
        "--out {params.out_dir} > {log} 2>&1"


rule schedule_figure:
    """Every strategy's LR multiplier over one budget and UBA's phi sweep (stepsize.schedules)."""
    input:
        profile=f"{RES}/profile.json",
        selections=SELECTIONS,
        src=REPORT_SOURCES,
        schedules=SCHEDULE_SOURCES,  # the figure draws the library's formulas
    output:
        figures=expand(f"{FIG}/{SCHEDULE_FIGURE}.{{ext}}", ext=["pdf", "png"]),
        table=f"{RES}/tables/table_schedules.tex",
    log:
        f"{RES}/logs/schedule_figure.log",
    params:
        py=PY,
        out_dir=lambda wc, output: parent(output.figures[0]),
    conda:
        ENV
    shell:
        "{params.py} -m report schedules --profile {input.profile} --out {params.out_dir} "
        "--table {output.table} > {log} 2>&1"


rule paper:
    """latexmk on paper/paper.tex; TEXINPUTS puts this profile's macros, tables and figures on the path."""
    input:
        tex="paper/paper.tex",
        bib="paper/references.bib",
        macros=f"{RES}/macros.tex",
        tables=TABLES,
        schedule_table=f"{RES}/tables/table_schedules.tex",
        figures=expand(f"{FIG}/{{name}}.pdf", name=[*TRAINING_FIGURES, SCHEDULE_FIGURE]),
        theory_figures=f"{FIG}/theory",
    output:
        f"paper/build/{P}/paper.pdf",
    log:
        f"{RES}/logs/paper.log",
    params:
        out_dir=parent_of_output,
        texinputs=":".join(str(ROOT / d) for d in ("paper", RES, f"{RES}/tables", FIG)) + ":",
        bibinputs=str(ROOT / "paper") + ":",
        hint=LATEX_HINT,
    conda:
        ENV
    shell:
        'command -v latexmk > /dev/null || {{ echo "error: latexmk not found; {params.hint}" >&2; exit 1; }}; '
        "TEXINPUTS={params.texinputs} BIBINPUTS={params.bibinputs} latexmk -pdf -interaction=nonstopmode "
        "-halt-on-error -file-line-error -outdir={params.out_dir} {input.tex} > {log} 2>&1 "
        '|| {{ echo "error: LaTeX failed; see {log}" >&2; exit 1; }}'


rule notebook:
    """Execute an analysis notebook headless (papermill) on this profile's outputs. It runs in the
    repository root and takes the profile's name, not a path, so the executed copy names no folder of
    this machine; the figures come from the functions that draw the paper's (report.explorer)."""
    input:
        notebook="notebooks/{name}.ipynb",
        profile=f"{RES}/profile.json",
        tables=TABLES,
        runs=lambda wc: FINAL_RECORDS if wc.name == "results_explorer" else [],
        theory=expand(f"{RES}/theory/{{file}}", file=["checks.json", "check_data.json", "bench.csv", "curves.csv"]),
        src=REPORT_SOURCES + THEORY_SOURCES,
    output:
        f"{RES}/notebooks/{{name}}.ipynb",
    log:
        f"{RES}/logs/notebook_{{name}}.log",
    params:
        py=PY,
        parameters=json.dumps({"profiles": [P]}),
    conda:
        ENV
    shell:
        "{params.py} -m papermill --no-progress-bar -k python3 {input.notebook} {output} "
        "-y {params.parameters:q} > {log} 2>&1"
