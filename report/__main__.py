"""Command line of the report package.

    python -m report jobs PROFILE [--count]
    python -m report aggregate --profile P --checks checks.json --bench bench.csv --out DIR --macros FILE
                               [--runs-root .] [--benchmarks DIR]
    python -m report figures   --profile P --tables DIR --out FIGDIR [--runs-root .]
    python -m report schedules --profile P --out FIGDIR --table table_schedules.tex
    python -m report readme    --profile NAME [--readme README.md] [--root .]

PROFILE/P is a profile YAML (``experiments/mini.yaml``) or the resolved ``results/<profile>/profile.json``
the Snakefile writes. Bad input ends with one line on stderr naming the file and key, exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from report.grid import ProfileError, load


def _jobs(args: argparse.Namespace) -> None:
    grid = load(args.profile)
    if args.count:
        print(len(grid.jobs))
        return
    for job in grid.jobs:
        print(f"{job.run_dir(grid.profile)}  steps={job.budget.steps}")


def _aggregate(args: argparse.Namespace) -> None:
    from report.aggregate import aggregate, read_theory

    aggregate(load(args.profile), args.runs_root, read_theory(args.checks, args.bench), args.out, args.macros,
              args.benchmarks)


def _figures(args: argparse.Namespace) -> None:
    from report import figures, records

    grid = load(args.profile)
    curves = records.curve_table(grid, records.load_runs(grid, args.runs_root))
    figures.make_all(grid, args.tables, curves, args.out)


def _schedules(args: argparse.Namespace) -> None:
    from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run one subcommand; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m report", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("jobs", help="list the training jobs of a profile")
    p.add_argument("profile")
    p.add_argument("--count", action="store_true", help="print only the number of jobs")
    p.set_defaults(func=_jobs)

    p = sub.add_parser("aggregate", help="run records + theory outputs -> tables and macros")
    p.add_argument("--profile", required=True)
    p.add_argument("--runs-root", default=".", help="folder that holds results/<profile>/runs")
    p.add_argument("--checks", required=True, help="theory checks.json")
    p.add_argument("--bench", required=True, help="theory bench.csv")
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

    p = sub.add_parser("readme", help="rewrite the README block of a profile from its generated files and "
                                      "the Snakemake log of its last complete run")
    p.add_argument("--profile", required=True, help="profile name (results/<profile>/)")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--root", default=".", help="repository root holding results/ and .snakemake/log/")
    p.set_defaults(func=_readme)

    args = parser.parse_args(argv)
    from report.aggregate import TheoryInputError
    from report.readme import ReadmeError
    from report.records import RecordError

    try:
        args.func(args)
    except (ProfileError, RecordError, TheoryInputError, ReadmeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
