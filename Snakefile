"""The study as a Snakemake workflow: training runs -> tables, figures, macros -> paper PDF -> notebooks.

    snakemake --cores all                                    # the mini profile (the default)
    snakemake --cores all --configfile experiments/smoke.yaml   # tiny budgets (tests, CI)
    snakemake --profile profiles/slurm --configfile experiments/cifar10.yaml   # a cluster

One training job per (strategy, budget, seed) of the profile (report.grid); each writes
results/<profile>/runs/<strategy>/b<pct>/s<seed>/run.json. Every output of a profile lies under
results/<profile>/, figures/<profile>/ or paper/build/<profile>/, so profiles never clobber each other.
"""

import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from report.aggregate import TABLE_FILES  # noqa: E402
from report.grid import ProfileError, from_dict  # noqa: E402

# `--configfile X` on the command line would be deep-merged INTO the default profile (strategies of
# both would mix); a profile must stand alone, so the default is read only when none was given.
if "strategies" not in config:

    configfile: "experiments/mini.yaml"


try:
    GRID = from_dict(dict(config), source="the Snakemake config (profile)")
except ProfileError as exc:
    raise WorkflowError(str(exc)) from None

P = GRID.profile
ROOT = Path(workflow.basedir).resolve()
RES = f"results/{P}"
FIG = f"figures/{P}"
PY = sys.executable
TRAIN_RES = GRID.train_resources()
GPUS = int(TRAIN_RES["gpu"])
# CPU threads: the job's total (Snakemake `threads`, SLURM CPUs) and torch's per process (one process per GPU)
TORCH_THREADS = int(TRAIN_RES["cpus_per_gpu"] if GPUS and TRAIN_RES["cpus_per_gpu"] else TRAIN_RES["threads"])
TRAIN_THREADS = TORCH_THREADS * max(GPUS, 1)
# torchrun of this interpreter's environment (found even when that environment is not on PATH)
TORCHRUN = Path(PY).with_name("torchrun") if Path(PY).with_name("torchrun").exists() else "torchrun"
TRAIN_LAUNCHER = f"{TORCHRUN} --standalone --nnodes=1 --nproc_per_node={GPUS}" if GPUS > 1 else PY
# Resources of a training job; runtime (minutes) scales with the budget. GPU keys only when GPUs are used
# (the SLURM plugin maps gpu -> --gpus; `tasks` is never set, so torchrun starts its own processes).
# cpus_per_task is always set to the job's whole CPU count: the plugin reads it before cpus_per_gpu, so
# the profile's default (2, meant for the light rules) must never reach a training job.
TRAIN_RESOURCES = {
    "mem_mb": int(TRAIN_RES["mem_mb"]),
    "runtime": lambda wc: max(5, round(1.1 * TRAIN_RES["runtime"] * GRID.budget(wc.budget).fraction)),
    "cpus_per_task": TRAIN_THREADS,
}
if GPUS:
    TRAIN_RESOURCES.update(gpu=GPUS)
THEORY_SIZE = GRID.theory.get("size", "mini")
TABLES = [f"{RES}/tables/{name}" for name in TABLE_FILES]
TRAIN_FIGURES = ["acc_vs_budget", "swa_gain", "phi_sensitivity", "anytime", "lr_schedules"]
NOTEBOOKS = ["results_explorer", "theory_checks"]
RUN_RECORDS = [f"{job.run_dir(P)}/run.json" for job in GRID.jobs]
# Sources of the cheap rules are inputs, so editing theory/ or report/ redoes what depends on them. The
# training runs do not list stepsize/ (an edit would redo the whole grid): use `--forcerun train` for that.
THEORY_SOURCES = sorted(str(p) for p in Path("theory").rglob("*.py"))
THEORY_DATA = sorted(str(p) for p in Path("theory/data/libsvm").glob("a?a"))
REPORT_SOURCES = sorted(str(p) for p in Path("report").glob("*.py"))
ENV = "environment.yml"  # conda alternative to bin/with-env (used with --software-deployment-method conda)
LATEX_HINT = "install TeX Live and latexmk: apt-get install latexmk texlive-latex-extra texlive-science"


def parent(path: str) -> str:
    """The folder of a file path."""
    return str(Path(path).parent)


def parent_of_output(wildcards, output) -> str:
    """The folder of a rule's first output."""
    return parent(output[0])


wildcard_constraints:
    strategy="|".join(s.replace(".", r"\.") for s in GRID.strategies),
    budget=r"b\d+",
    seed=r"\d+",
    ext="pdf|png",


localrules:
    all,
    profile_json,
    aggregate,
    training_figures,
    schedule_figure,
    theory_figures,
    paper,
    notebook,


rule all:
    input:
        f"paper/build/{P}/paper.pdf",
        expand(f"{RES}/notebooks/{{name}}.ipynb", name=NOTEBOOKS),


rule profile_json:
    """The resolved profile (what the report reads); rewritten when the config changes."""
    output:
        f"{RES}/profile.json",
    params:
        profile=dict(config),
    log:
        f"{RES}/logs/profile_json.log",
    run:
        import json

        Path(output[0]).write_text(json.dumps(params.profile, indent=1))


rule train:
    """One training run (torchrun when it uses more than one GPU); train.threads = torch threads per process."""
    input:
        config=GRID.train_config,
    output:
        f"{RES}/runs/{{strategy}}/{{budget}}/s{{seed}}/run.json",
    log:
        f"{RES}/logs/train/{{strategy}}/{{budget}}/s{{seed}}.log",
    benchmark:
        f"{RES}/benchmarks/train/{{strategy}}/{{budget}}/s{{seed}}.tsv"
    params:
        launcher=TRAIN_LAUNCHER,
        out_dir=parent_of_output,
        overrides=lambda wc: GRID.train_args(wc.strategy, wc.budget, int(wc.seed)),
        torch_threads=TORCH_THREADS,
    threads: TRAIN_THREADS
    resources:
        **TRAIN_RESOURCES,
    conda:
        ENV
    shell:
        "{params.launcher} -m stepsize.train {input.config} --out {params.out_dir} {params.overrides} "
        "--set train.threads={params.torch_threads} > {log} 2>&1 "
        "|| {{ rc=$?; grep -h '^stepsize.train: error:' {log} >&2 || tail -n 3 {log} >&2; exit $rc; }}"


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
    conda:
        ENV
    shell:
        "{params.py} -m theory bench --out {params.out_dir} --size {params.size} > {log} 2>&1"


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
    conda:
        ENV
    shell:
        "{params.py} -m theory bench --protocol official --out {params.out_dir} --size {params.size} > {log} 2>&1"


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
    """Run records + theory outputs -> CSV/LaTeX tables (main, ranks, SWA, phi, claims, theory) + macros.
    The official bench is read from theory/official/bench.csv beside bench.csv (report.aggregate)."""
    input:
        profile=f"{RES}/profile.json",
        runs=RUN_RECORDS,
        checks=f"{RES}/theory/checks.json",
        bench=f"{RES}/theory/bench.csv",
        official_bench=f"{RES}/theory/official/bench.csv",
        src=REPORT_SOURCES,
    output:
        tables=TABLES,
        macros=f"{RES}/macros.tex",
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
        "--bench {input.bench} --out {params.out_dir} --macros {output.macros} "
        "--benchmarks {params.benchmarks} > {log} 2>&1"


rule training_figures:
    input:
        profile=f"{RES}/profile.json",
        tables=TABLES,
        runs=RUN_RECORDS,
        src=REPORT_SOURCES,
    output:
        expand(f"{FIG}/{{name}}.{{ext}}", name=TRAIN_FIGURES[:-1], ext=["pdf", "png"]),
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
        src=REPORT_SOURCES,
    output:
        figures=expand(f"{FIG}/lr_schedules.{{ext}}", ext=["pdf", "png"]),
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
        figures=expand(f"{FIG}/{{name}}.pdf", name=TRAIN_FIGURES),
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
    """Execute an analysis notebook headless (papermill) on this profile's outputs."""
    input:
        notebook="notebooks/{name}.ipynb",
        tables=TABLES,
        theory_figures=f"{FIG}/theory",
    output:
        f"{RES}/notebooks/{{name}}.ipynb",
    log:
        f"{RES}/logs/notebook_{{name}}.log",
    params:
        py=PY,
        results_dir=str(ROOT / RES),
        figures_dir=str(ROOT / FIG),
    conda:
        ENV
    shell:
        "{params.py} -m papermill --no-progress-bar -k python3 {input.notebook} {output} "
        "-p results_dir {params.results_dir} -p figures_dir {params.figures_dir} > {log} 2>&1"
