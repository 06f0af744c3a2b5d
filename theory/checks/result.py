"""What a bound check returns: a verdict, a one-line summary, the readable cases, the diagnostics.

A ``Case`` is one inequality on one run, in the form the paper's table shows: the inequality in symbols
(Unicode for the console and ``checks.json``, LaTeX for the paper), its left and right sides, the margin
by which it holds (or fails) and the verdict. ``margin_unit`` says how the margin reads:

- ``factor``: right/left for an inequality left ≤ right between positive numbers (> 1: holds);
- ``decades``: right − left for sides that are log10 values (> 0: holds);
- ``difference``: right − left in the sides' own unit (> 0: holds).

For an inequality left ≥ right the sides are given as written and the margin is oriented the same way
(> 1 or > 0 means it holds).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

MARGIN_UNITS = ("factor", "decades", "difference")


@dataclass(frozen=True)
class Case:
    case: str  # the run and where on it, e.g. "digits-logistic, K = 200"
    formula: str  # the inequality in Unicode symbols
    formula_tex: str  # the same in LaTeX math (no $)
    lhs: float
    rhs: float
    margin: float
    margin_unit: str
    passed: bool

    def __post_init__(self) -> None:
        if self.margin_unit not in MARGIN_UNITS:
            raise ValueError(
                f"Case margin_unit={self.margin_unit!r}: expected one of {', '.join(MARGIN_UNITS)}"
            )


def bound_case(
    case: str,
    formula: str,
    formula_tex: str,
    lhs: float,
    rhs: float,
    *,
    sense: str = "≤",
    unit: str = "factor",
    slack: float = 0.0,
) -> Case:
    """Case for lhs ≤ rhs (``sense="≤"``) or lhs ≥ rhs (``"≥"``); ``slack`` is a relative tolerance of the
    comparison for rounding."""
    if sense not in ("≤", "≥"):
        raise ValueError(f"bound_case sense={sense!r}: expected '≤' or '≥'")
    small, large = (lhs, rhs) if sense == "≤" else (rhs, lhs)
    finite = math.isfinite(lhs) and math.isfinite(rhs)
    passed = bool(finite and small <= large + slack * abs(rhs))
    return Case(case, formula, formula_tex, float(lhs), float(rhs), _margin(small, large, unit), unit, passed)


def _margin(small: float, large: float, unit: str) -> float:
    """How far ``small`` ≤ ``large`` holds, in ``unit``."""
    if not (math.isfinite(small) and math.isfinite(large)):
        return math.nan
    if unit == "factor":
        if small > 0 and large > 0:
            return large / small
        return math.inf if small == 0 and large > 0 else math.nan
    return large - small


@dataclass
class CheckResult:
    name: str
    passed: bool
    summary: str
    numbers: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    cases: list[Case] = field(default_factory=list)

    def record(self) -> dict:
        """JSON-ready {name, passed, summary, cases, numbers}."""
        return {
            "name": self.name,
            "passed": bool(self.passed),
            "summary": self.summary,
            "cases": [to_jsonable(asdict(c)) for c in self.cases],
            "numbers": to_jsonable(self.numbers),
        }


def combine(name: str, parts: list[CheckResult]) -> CheckResult:
    """One result from sub-runs: passes iff every part passes."""
    return CheckResult(
        name,
        all(p.passed for p in parts),
        " | ".join(p.summary for p in parts),
        {"runs": [p.numbers for p in parts]},
        {"runs": [p.data for p in parts]},
        [c for p in parts for c in p.cases],
    )


def tex_number(value: float) -> str:
    """LaTeX for a constant in a formula: 10^{k} for a power of ten, a×10^{k} or plain %g otherwise."""
    if value > 0 and math.isfinite(value):
        exponent = math.floor(math.log10(value) + 1e-12)
        mantissa = value / 10**exponent
        if abs(exponent) >= 3:
            if abs(mantissa - 1.0) < 1e-12:
                return f"10^{{{exponent}}}"
            return f"{mantissa:g}\\times 10^{{{exponent}}}"
    return f"{value:g}"


def relation(left: float, right: float) -> str:
    """'≤' if left ≤ right else '>' (so a summary never states an inequality that does not hold)."""
    return "≤" if left <= right else ">"


def to_jsonable(value: object) -> object:
    """Convert numpy scalars/arrays (and non-finite floats, as strings) for json.dump."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if np.isfinite(number) else str(number)
    return value
