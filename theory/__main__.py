"""CLI (design.md §6):

    python -m theory check   --out DIR [--size smoke|mini|full] [--only NAME ...] [--cache-dir DIR]
    python -m theory bench   --out DIR [--size smoke|mini|full] [--problems NAME ...] [--methods NAME ...]
    python -m theory figures --checks DIR --bench DIR --out FIGDIR

``check`` writes DIR/checks.json ({"checks": [{name, passed, summary, numbers}], "wall_time_s", "size"}) and
DIR/check_data.json (the figures' data); exit status 1 if any check fails. ``bench`` writes DIR/bench.csv
and DIR/curves.csv. ``figures`` writes theory_check_<name>, theory_bench_<problem> and theory_summary as
PDF + PNG. Bad input gives a one-line error and exit status 2.

BLAS is limited to one thread before numpy is imported: these problems are tiny, and multithreaded
OpenBLAS is many times slower on a shared 2-core machine.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False))
    tmp.replace(path)


def command_check(args: argparse.Namespace) -> int:
    from theory.check_runs import CHECK_NAMES, run_checks
    from theory.checks import to_jsonable

    start = time.perf_counter()
    results = run_checks(args.size, names=tuple(args.only or CHECK_NAMES), cache_dir=args.cache_dir)
    wall = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)
    _write_json(
        args.out / "checks.json",
        {"checks": [r.record() for r in results], "wall_time_s": wall, "size": args.size},
    )
    _write_json(
        args.out / "check_data.json",
        {r.name: to_jsonable({"numbers": r.numbers, "data": r.data}) for r in results},
    )
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'} {r.name}: {r.summary}")
    print(f"{sum(r.passed for r in results)}/{len(results)} checks passed in {wall:.1f} s -> {args.out}")
    return 0 if all(r.passed for r in results) else 1


def command_bench(args: argparse.Namespace) -> int:
    from theory.bench import run_benchmark

    start = time.perf_counter()
    table, curves = run_benchmark(
        args.problems,
        size=args.size,
        methods=args.methods,
        cache_dir=args.cache_dir,
        log=print if args.verbose else None,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "bench.csv", index=False)
    curves.to_csv(args.out / "curves.csv", index=False)
    solved = table.groupby("method")["converged"].sum().sort_values(ascending=False)
    print("problems solved per method: " + ", ".join(f"{m} {int(n)}" for m, n in solved.items()))
    print(f"{len(table)} rows in {time.perf_counter() - start:.1f} s -> {args.out / 'bench.csv'}")
    return 0


def command_figures(args: argparse.Namespace) -> int:
    import pandas as pd

    from theory.plots import plot_bench, plot_checks, plot_summary

    check_path = args.checks / "check_data.json"
    bench_path, curves_path = args.bench / "bench.csv", args.bench / "curves.csv"
    for path in (check_path, bench_path, curves_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"missing input {path} (run `python -m theory check/bench --out DIR` first)"
            )
    check_data = json.loads(check_path.read_text())
    bench, curves = pd.read_csv(bench_path), pd.read_csv(curves_path)
    paths = plot_checks(check_data, args.out) + plot_bench(bench, curves, args.out)
    paths += plot_summary(check_data, bench, args.out)
    print(f"{len(paths)} figure files -> {args.out}")
    return 0


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with usage errors reported as a single line (exit status 2)."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {message} (see `python -m theory --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m theory", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    for name in ("check", "bench"):
        p = sub.add_parser(name)
        p.add_argument("--out", type=Path, required=True)
        p.add_argument("--size", choices=("smoke", "mini", "full"), default="mini")
        p.add_argument(
            "--cache-dir", type=Path, default=None, help="f*/SDP cache (default results/cache/theory)"
        )
    sub.choices["check"].add_argument("--only", nargs="+", metavar="NAME", help="run only these checks")
    sub.choices["bench"].add_argument(
        "--problems", nargs="+", metavar="NAME", help="problem names (registry)"
    )
    sub.choices["bench"].add_argument("--methods", nargs="+", metavar="NAME", help="method names")
    sub.choices["bench"].add_argument("--verbose", action="store_true", help="print one line per method")
    p = sub.add_parser("figures")
    p.add_argument("--checks", type=Path, required=True)
    p.add_argument("--bench", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"check": command_check, "bench": command_bench, "figures": command_figures}
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
