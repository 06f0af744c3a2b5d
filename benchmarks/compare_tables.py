"""Are two complete DAGs' tables the same, apart from timings? The check behind every engine change.

    bin/with-env python benchmarks/compare_tables.py results/mini OTHER_CHECKOUT/results/mini

For every CSV table in ``A/tables`` and ``B/tables``: the rows and columns must match; text cells must be
equal; numeric cells may differ by float rounding only. Timing columns (wall time, seconds) and the
commit are left out. Prints one line per table with its largest absolute numeric difference, and the
largest over all tables; exits 1 when a table is missing on one side, its shape or text differs, or a
numeric difference exceeds ``--atol`` (default 1e-6, i.e. far below the tables' printed precision).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns that measure time or name the code, not results.
SKIPPED = ("wall_time_s", "wall_s", "seconds", "commit", "train_s", "eval_s", "time_s")


def compare(a: Path, b: Path) -> tuple[float, list[str]]:
    """(largest numeric difference, problems) between the CSV files ``a`` and ``b``."""
    fa, fb = pd.read_csv(a), pd.read_csv(b)
    keep = [c for c in fa.columns if not any(c == s or c.endswith(s) for s in SKIPPED)]
    problems = []
    if list(fa.columns) != list(fb.columns) or len(fa) != len(fb):
        return np.inf, [f"{a.name}: shape {fa.shape} vs {fb.shape} or columns differ"]
    worst = 0.0
    for column in keep:
        x, y = fa[column], fb[column]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            same_nan = np.isnan(xv) == np.isnan(yv)
            if not same_nan.all():
                problems.append(f"{a.name}: column {column}: missing values differ")
                continue
            diff = np.abs(np.nan_to_num(xv) - np.nan_to_num(yv))
            worst = max(worst, float(diff.max(initial=0.0)))
        elif not (x.fillna("").astype(str) == y.fillna("").astype(str)).all():
            rows = np.flatnonzero((x.fillna("").astype(str) != y.fillna("").astype(str)).to_numpy())
            problems.append(
                f"{a.name}: column {column}: text differs in {len(rows)} rows (first: row {rows[0]})"
            )
    return worst, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="results/<profile> of the first DAG")
    parser.add_argument("b", type=Path, help="results/<profile> of the second DAG")
    parser.add_argument("--atol", type=float, default=1e-6)
    args = parser.parse_args()
    names = sorted(
        {p.name for p in (args.a / "tables").glob("*.csv")}
        | {p.name for p in (args.b / "tables").glob("*.csv")}
    )
    if not names:
        print(f"no CSV tables in {args.a}/tables or {args.b}/tables", file=sys.stderr)
        return 1
    overall, failed = 0.0, False
    for name in names:
        a, b = args.a / "tables" / name, args.b / "tables" / name
        if not (a.is_file() and b.is_file()):
            print(f"{name}: only in {'A' if a.is_file() else 'B'}")
            failed = True
            continue
        worst, problems = compare(a, b)
        overall = max(overall, worst)
        failed |= bool(problems) or worst > args.atol
        print(f"{name}: largest difference {worst:.3g}" + "".join(f"\n  {p}" for p in problems))
    print(
        f"largest numeric difference over all tables: {overall:.3g} "
        f"({'DIFFERENT' if failed else 'identical up to rounding'})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
