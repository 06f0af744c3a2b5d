"""Command line of the report package.

    python -m report jobs PROFILE [--count]
    python -m report aggregate --profile P --checks checks.json --bench bench.csv --out DIR --macros FILE
                               [--official-bench FILE] [--runs-root .] [--benchmarks DIR]
    python -m report figures   --profile P --tables DIR --out FIGDIR [--runs-root .]
    python -m report schedules --profile P --out FIGDIR --table table_schedules.tex
    python -m report plan      --profile P --batch NAME --out PLAN.json
    python -m report select    --profile P --strategy NAME --out CHOICE.json
    python -m report trace     MACRO [--profile NAME] [--root .]
    python -m report readme    --profile NAME [--readme README.md] [--root .]

PROFILE/P is a profile YAML (``experiments/mini.yaml``) or the resolved ``results/<profile>/profile.json``
the Snakefile writes. Bad input ends with one line on stderr naming the file and key, exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from report.grid import ProfileError, load


def _jobs(args: argparse.Namespace) -> None:
    from report import plan

    grid = load(args.profile)
    batches = plan.all_batches(grid)
    if args.count:
        print(f"{sum(len(b.runs) for b in batches)} runs in {len(batches)} training jobs")
        return
    for batch in batches:
        for run in batch.runs:
            print(f"{batch.name}  {run.out(grid.profile)}  steps={run.budget.steps}")


def _aggregate(args: argparse.Namespace) -> None:
    from report.aggregate import aggregate, read_theory

    theory = read_theory(args.checks, args.bench, args.official_bench)
    aggregate(load(args.profile), args.runs_root, theory, args.out, args.macros, args.benchmarks)


def _plan(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from report import plan

    grid = load(args.profile)
    batches = {b.name: b for b in plan.all_batches(grid)}
    if args.batch not in batches:
        raise ProfileError(f"{args.profile}: no training job {args.batch!r}")
    batch = batches[args.batch]
    selections = {Path(f).stem: _read_json(f) for f in plan.plan_inputs(grid, batch)["selections"]}
    records = _round_one_records(grid, batch)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(plan.plan(grid, batch, selections, records), indent=1))


def _round_one_records(grid, batch) -> dict:
    """The round-1 records a bracket-round plan's values come from (`report.plan.round_one_runs`); a
    failed one is refused, as by `select`."""
    from report import plan
    from report.runs import refuse_failed
    from stepsize.run_record import read_json

    records = {r: read_json(r.record(grid.profile)) for r in plan.round_one_runs(grid, batch)}
    refuse_failed({r: rec for r, rec in records.items() if rec}, {r: r.record(grid.profile) for r in records})
    return records


def _select(args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from report import plan, tuning

    grid = load(args.profile)
    if args.strategy not in grid.strategies:
        raise ProfileError(f"{args.profile}: unknown strategy {args.strategy!r}")
    parents = {p: _read_json(plan.selection_path(grid, p))
               for p in grid.strategies[args.strategy].inherit.values()}
    from report.runs import refuse_failed

    records = tuning.load_records(grid, args.strategy)
    refuse_failed({r: rec for r, rec in records.items() if rec}, {r: r.record(grid.profile) for r in records})
    chosen = tuning.select(grid, args.strategy, records, parents)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(chosen, indent=1))


def _trace(args: argparse.Namespace) -> None:
    from report.provenance import trace

    print(trace(args.macro, args.profile, args.root))


def _read_json(path: str) -> dict:
    import json
    from pathlib import Path

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ProfileError(f"{path}: cannot read it ({err})") from None


def _files_only_backend() -> None:
    """Matplotlib's Agg backend: these commands write files and open no window, whatever MPLBACKEND or a
    display says (the library modules choose no backend, so a notebook keeps its inline one)."""
    import matplotlib

    matplotlib.use("Agg")


def _figures(args: argparse.Namespace) -> None:
    _files_only_backend()
    from report import figures, runs

    grid = load(args.profile)
    curves = runs.curve_table(grid, runs.load(grid, "final", args.runs_root))
    figures.make_all(grid, args.tables, curves, args.out)


def _schedules(args: argparse.Namespace) -> None:
    from pathlib import Path

    _files_only_backend()
    from report.schedule_figure import lr_schedules, schedule_table

    grid = load(args.profile)
    lr_schedules(grid, args.out)
    Path(args.table).parent.mkdir(parents=True, exist_ok=True)
    Path(args.table).write_text(schedule_table(grid))


def _readme(args: argparse.Namespace) -> None:
    from pathlib import Path

    from report.readme import update

    update(Path(args.readme), args.profile, Path(args.root))
    print(f"updated the generated block of profile {args.profile!r} in {args.readme}")


def _input_errors() -> tuple[type[Exception], ...]:
    """The other bad-input errors, imported only on failure: `plan` and `select` run once per training
    job, and importing the aggregation (torch, scipy) would triple their time."""
    from report.aggregate import TheoryInputError
    from report.readme import ReadmeError
    from report.runs import RecordError

    return RecordError, TheoryInputError, ReadmeError


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run one subcommand; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m report", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("jobs", help="list the training jobs of a profile")
    p.add_argument("profile")
    p.add_argument("--count", action="store_true", help="print only the numbers of runs and jobs")
    p.set_defaults(func=_jobs)

    p = sub.add_parser("plan", help="the run list of one training job (report.plan)")
    p.add_argument("--profile", required=True)
    p.add_argument("--batch", required=True, help="job name, e.g. final_cosine_0")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_plan)

    p = sub.add_parser("select", help="a strategy's knob value per budget from its tuning runs")
    p.add_argument("--profile", required=True)
    p.add_argument("--strategy", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_select)

    p = sub.add_parser("aggregate", help="run records + theory outputs -> tables and macros")
    p.add_argument("--profile", required=True)
    p.add_argument("--runs-root", default=".", help="folder that holds results/<profile>/runs")
    p.add_argument("--checks", required=True, help="theory checks.json")
    p.add_argument("--bench", required=True, help="theory bench.csv")
    p.add_argument("--official-bench", default=None,
                   help="the official protocol's bench.csv (default: official/bench.csv beside --bench, "
                        "absent = not run)")
    p.add_argument("--out", required=True, help="folder for the CSV and LaTeX tables")
    p.add_argument("--macros", required=True, help="LaTeX macros file to write")
    p.add_argument("--benchmarks", default=None, help="Snakemake benchmark folder of the training jobs")
    p.set_defaults(func=_aggregate)

    p = sub.add_parser("figures", help="training figures (PDF + PNG) from the aggregated tables")
    p.add_argument("--profile", required=True)
    p.add_argument("--tables", required=True)
    p.add_argument("--runs-root", default=".")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_figures)

    p = sub.add_parser("schedules", help="LR multiplier figure (all strategies, UBA phi sweep) and the "
                                         "table of schedule parameters")
    p.add_argument("--profile", required=True)
    p.add_argument("--out", required=True, help="figure folder")
    p.add_argument("--table", required=True, help="LaTeX table of each strategy's schedule parameters")
    p.set_defaults(func=_schedules)

    p = sub.add_parser("trace", help="where a macro of the paper comes from: value, table, runs")
    p.add_argument("macro", help="macro name, with or without the backslash (\\bestFullAcc)")
    p.add_argument("--profile", default="mini", help="profile name (results/<profile>/provenance.json)")
    p.add_argument("--root", default=".", help="repository root holding results/")
    p.set_defaults(func=_trace)

    p = sub.add_parser("readme", help="rewrite the README block of a profile from its generated files and "
                                      "the Snakemake log of its last complete run")
    p.add_argument("--profile", required=True, help="profile name (results/<profile>/)")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--root", default=".", help="repository root holding results/ and .snakemake/log/")
    p.set_defaults(func=_readme)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ProfileError, FileNotFoundError, *_input_errors()) as exc:  # evaluated only on an exception
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
