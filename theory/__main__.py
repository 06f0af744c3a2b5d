"""CLI (design.md §6):

    python -m theory check   [--out DIR] [--size smoke|mini|full] [--only NAME ...] [--cache-dir DIR]
    python -m theory bench   [--out DIR] [--protocol project|official] [--size smoke|mini|full]
                             [--problems NAME ...] [--methods NAME ...] [--cache-dir DIR] [--verbose]
                             [--jobs N]
    python -m theory figures --checks DIR --bench DIR --out FIGDIR
    python -m theory bound   --schedules NAME[:key=value,...] ... --T N ... [--pep] [--D D] [--G G]
                             [--out DIR]

``check`` writes DIR/checks.json ({"checks": [{name, passed, summary, numbers, cases}], "wall_time_s",
"size"}) and DIR/check_data.json (the figures' data); exit status 1 if any check fails. ``bench`` writes
DIR/bench.csv and DIR/curves.csv under the chosen protocol (``theory.protocols``). ``figures`` writes
theory_check_<name>, theory_bench_<problem> and theory_summary as PDF + PNG. ``bound`` writes DIR/bound.csv,
one row per (schedule, T): the last-iterate bound Ω*_T of SGD and its γ*, the average-iterate bound's, and
with ``--pep`` the exact worst case f(x_T) − f* at γ* (``theory.last_iterate``, ``theory.pep``); a schedule
is a library name with its defaults or ``NAME:key=value,...`` (``uba:phi=4``, ``cosine:warmup_fraction=0.1``).
Bad input (an unknown protocol, problem, method, size or schedule, a schedule whose bound is undefined, a
missing or unreadable file) gives a one-line error on stderr and exit status 2.

Before numpy is imported, BLAS is limited to one thread, whatever the environment says (these problems are
tiny, multithreaded OpenBLAS is many times slower on a shared 2-core machine, and the last bits of the
results, which some counts follow, would depend on the thread count; ``bench --jobs N`` is the way to use
more cores). For ``bench --protocol official``, whose counts
are compared with the authors' code, OpenBLAS is also told to use its AVX2 ("Haswell") kernels on a CPU with
AVX2 and FMA, unless OPENBLAS_CORETYPE is already set: its AVX-512 kernels round differently, and
L-BFGS-B's counts follow (a1a SVM, L-BFGS-M10: 318 calls with the AVX2 kernels, as the authors' code gives
on AVX2 machines, 324 with the AVX-512 ones). The other commands keep OpenBLAS's choice, which is faster on
AVX-512 machines (the project protocol's counts are this project's own). numpy's own SIMD loops are kept
on their AVX2 paths likewise (``NPY_DISABLE_CPU_FEATURES``), so both CPU families run the same kernels.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path


def _official_bench(argv: list[str]) -> bool:
    """True for ``bench --protocol official`` (also ``--protocol=official``), read before argparse runs."""
    if "bench" not in argv:
        return False
    if "--protocol=official" in argv:
        return True
    return any(a == "--protocol" and b == "official" for a, b in itertools.pairwise(argv))


def _pin_blas(argv: list[str]) -> None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # also over Snakemake's (it sets them to a job's threads)
    if "OPENBLAS_CORETYPE" in os.environ or not _official_bench(argv):
        return
    try:
        cpu = Path("/proc/cpuinfo").read_text()
    except OSError:
        return
    if re.search(r"\bavx2\b", cpu) and re.search(r"\bfma\b", cpu):
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
        # numpy's own loops (sums, exp, log) dispatch to AVX-512 where the CPU has it: keep them on AVX2 too
        os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")


import sys  # noqa: E402

_pin_blas(sys.argv[1:])

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a unique temporary file in the same folder and ``os.replace``, so
    that two writers never share a temporary and a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        tmp.write(text)
    try:
        os.replace(tmp.name, path)
    finally:
        if os.path.exists(tmp.name):
            os.unlink(tmp.name)


def _write_json(path: Path, payload: dict) -> None:
    write_atomic(path, json.dumps(payload, indent=1, allow_nan=False))


def command_check(args: argparse.Namespace) -> int:
    from theory.checks import CHECK_NAMES, run_checks, to_jsonable

    start = time.perf_counter()
    results = run_checks(args.size, names=tuple(args.only or CHECK_NAMES), cache_dir=args.cache_dir)
    wall = time.perf_counter() - start
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
    from theory.protocols import get_protocol

    protocol = get_protocol(args.protocol)
    start = time.perf_counter()
    table, curves = run_benchmark(
        args.problems,
        protocol=protocol,
        size=args.size,
        methods=args.methods,
        cache_dir=args.cache_dir,
        log=print if args.verbose else None,
        jobs=args.jobs,
    )
    write_atomic(args.out / "bench.csv", table.to_csv(index=False))
    write_atomic(args.out / "curves.csv", curves.to_csv(index=False))
    print(f"protocol {protocol.name}: gradient calls of each method's best setting (n.c.: not converged)")
    for problem, rows in table.groupby("problem", sort=False):
        cells = [
            f"{r.method} {r.grad_calls if r.converged else 'n.c.'}" for r in rows.itertuples(index=False)
        ]
        print(f"  {problem}: " + ", ".join(cells))
    print(f"{len(table)} rows in {time.perf_counter() - start:.1f} s -> {args.out / 'bench.csv'}")
    return 0


def command_figures(args: argparse.Namespace) -> int:
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")  # files only, no window (theory.plots chooses no backend, for the notebooks)
    from theory.plots import plot_bench, plot_checks, plot_summary

    check_path = args.checks / "check_data.json"
    bench_path, curves_path = args.bench / "bench.csv", args.bench / "curves.csv"
    for path in (check_path, bench_path, curves_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"missing input {path} (run `python -m theory check/bench --out DIR` first)"
            )
    try:
        check_data = json.loads(check_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{check_path} is not valid JSON ({error.msg} at line {error.lineno})") from None
    bench, curves = pd.read_csv(bench_path), pd.read_csv(curves_path)
    paths = plot_checks(check_data, args.out) + plot_bench(bench, curves, args.out)
    paths += plot_summary(check_data, bench, args.out)
    print(f"{len(paths)} figure files -> {args.out}")
    return 0


def command_bound(args: argparse.Namespace) -> int:
    import csv
    import io

    from theory.last_iterate import BOUND_COLUMNS, bound_rows

    for T in args.T:
        if T < 1:
            raise ValueError(f"--T {T}: the number of steps must be >= 1")
    rows = bound_rows(args.schedules, args.T, args.D, args.G, pep=args.pep)
    text = io.StringIO()
    writer = csv.DictWriter(text, BOUND_COLUMNS + (["pep_worst"] if args.pep else []), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: repr(v) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    write_atomic(args.out / "bound.csv", text.getvalue())
    for r in rows:
        pep = f", exact worst case {r['pep_worst']:.6g}" if args.pep else ""
        print(f"{r['schedule']} T={r['T']}: Ω* = {r['omega_star']:.6g} at γ* = {r['gamma_star']:.6g} "
              f"(average iterate {r['omega_star_average']:.6g}){pep}")
    print(f"{len(rows)} rows -> {args.out / 'bound.csv'}")
    return 0


#: Where `check`, `bench` and `bound` write when ``--out`` is not given (the DAG passes its own folder).
DEFAULT_OUT = {
    "check": "results/theory/check",
    "bench": "results/theory/bench-{protocol}",
    "bound": "results/theory/bound",
}


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with usage errors reported as a single line (exit status 2)."""

    def error(self, message: str) -> None:
        self.exit(2, f"error: {message} (see `python -m theory --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m theory", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    for name in ("check", "bench"):
        p = sub.add_parser(name)
        p.add_argument(
            "--out", type=Path, default=None,
            help=f"output folder (default {DEFAULT_OUT[name]}, <protocol> filled in for bench)",
        )
        p.add_argument("--size", choices=("smoke", "mini", "full"), default="mini")
        p.add_argument(
            "--cache-dir", type=Path, default=None, help="f*/SDP cache (default results/cache/theory)"
        )
    sub.choices["check"].add_argument("--only", nargs="+", metavar="NAME", help="run only these checks")
    bench = sub.choices["bench"]
    bench.add_argument(
        "--protocol",
        default="project",
        metavar="NAME",
        help="project (this project's problems and conventions, the default) or official (the authors' "
        "a1a-a3a benchmark, call for call)",
    )
    bench.add_argument("--problems", nargs="+", metavar="NAME", help="problem names of the protocol")
    bench.add_argument("--methods", nargs="+", metavar="NAME", help="method names")
    bench.add_argument("--verbose", action="store_true", help="print one line per method")
    bench.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="problems benched at a time, in N processes (same tables; default 1)")
    bound = sub.add_parser("bound", help="the last-iterate bound of schedules (and their exact worst case)")
    bound.add_argument("--schedules", nargs="+", required=True, metavar="NAME",
                       help="library schedules, NAME or NAME:key=value,... (defaults otherwise)")
    bound.add_argument("--T", nargs="+", type=int, required=True, metavar="N", help="numbers of steps")
    bound.add_argument("--pep", action="store_true",
                       help="also the exact worst case f(x_T) - f* at gamma* (PEP: about 1 s at T = 16, 5 s "
                       "at T = 32, growing fast)")
    bound.add_argument("--D", type=float, default=1.0, help="distance ||x_1 - x*|| (default 1)")
    bound.add_argument("--G", type=float, default=1.0, help="gradient-norm bound (default 1)")
    bound.add_argument("--out", type=Path, default=None,
                       help=f"output folder (default {DEFAULT_OUT['bound']})")
    p = sub.add_parser("figures")
    p.add_argument("--checks", type=Path, required=True)
    p.add_argument("--bench", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in DEFAULT_OUT and args.out is None:
        args.out = Path(DEFAULT_OUT[args.command].format(protocol=getattr(args, "protocol", "")))
    commands = {"check": command_check, "bench": command_bench, "figures": command_figures,
                "bound": command_bound}
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError, OSError) as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
