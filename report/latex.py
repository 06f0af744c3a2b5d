"""LaTeX rendering of the study's tables (booktabs ``tabular`` bodies; the paper adds float and caption)
and of generated macros (``\\newcommand`` per number or sentence the paper quotes)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from report.grid import Grid
from report.stats import CONFIDENCE

_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
MACRO_NAME = re.compile(r"^[A-Za-z]+$")
SCHEDULE_NAMES = {
    "constant": "Constant", "step": "Step", "multistep": "Step", "steplr": "StepLR (periodic)",
    "exponential": "Exponential",
    "cosine": "Cosine", "linear": "Linear", "polynomial": "Polynomial", "rex": "REX",
    "rex_code": "REX (code)", "onecycle": "OneCycle", "wsd": "WSD", "cyclic": "Cyclic", "uba": "UBA",
}
VARIANT_NAMES = {"off": "SWA off", "tail": "tail avg.", "ema": "EMA", "swalr": "SWALR"}


_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "varepsilon", "ζ": "zeta", "η": "eta",
          "θ": "theta", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi", "ρ": "rho",
          "σ": "sigma", "τ": "tau", "φ": "varphi", "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma",
          "Δ": "Delta", "Θ": "Theta", "Λ": "Lambda", "Π": "Pi", "Σ": "Sigma", "Φ": "Phi", "Ω": "Omega"}
_MATH = {"±": r"\pm", "·": r"\cdot", "×": r"\times", "‖": r"\|", "ℓ": r"\ell", "←": r"\leftarrow",
         "→": r"\rightarrow", "↔": r"\leftrightarrow", "∂": r"\partial", "∇": r"\nabla", "∈": r"\in",
         "∏": r"\prod", "∑": r"\sum", "−": "-", "∘": r"\circ", "√": r"\surd", "∞": r"\infty", "≤": r"\le",
         "≥": r"\ge", "≈": r"\approx", "≠": r"\neq", "≫": r"\gg", "≪": r"\ll", "≻": r"\succ",
         "⪯": r"\preceq", "⟨": r"\langle", "⟩": r"\rangle", "𝒫": r"\mathcal{P}", "ᵀ": r"^{\top}",
         "✓": r"\checkmark", "✗": r"\times", **{k: "\\" + v for k, v in _GREEK.items()}}
_SCRIPTS = {"⁰": "^{0}", "¹": "^{1}", "²": "^{2}", "³": "^{3}", "⁺": "^{+}", "⁻": "^{-}", "₀": "_{0}",
            "₁": "_{1}", "₂": "_{2}", "₋": "_{-}", "ₖ": "_{k}"}
_TEXT = {"–": "--", "—": "---", "…": r"\ldots{}", "§": r"\S{}", "½": "1/2", "\u0302": "", "\u0303": ""}


def _unicode(ch: str) -> str:
    """LaTeX for one non-ASCII character: math symbols and Greek in ``\\ensuremath``; Latin-1 letters
    pass through (UTF-8 input, T1 fonts); anything else becomes ``?``."""
    if ch in _MATH:
        return f"\\ensuremath{{{_MATH[ch]}}}"
    if ch in _SCRIPTS:
        return f"\\ensuremath{{{_SCRIPTS[ch]}}}"
    if ch in _TEXT:
        return _TEXT[ch]
    return ch if ord(ch) < 256 else "?"


def escape(text: object) -> str:
    """Escape LaTeX special characters in plain text and translate Unicode math (Δ, ≤, ‖, κ, ...)."""
    return "".join(_SPECIALS.get(ch) or (ch if ord(ch) < 128 else _unicode(ch)) for ch in str(text))


def display_name(grid: Grid, strategy: str, tex: bool = True) -> str:
    """A readable name for a strategy label (UBA shows its phi, OSGM its schedule); LaTeX or plain text."""
    if strategy not in grid.strategies:
        return escape(strategy) if tex else strategy
    schedule = grid.strategy_value(strategy, "schedule.name")
    optimizer = grid.strategy_value(strategy, "optimizer.name")
    if schedule == "uba" and grid.strategy_value(strategy, "schedule.phi") is not None:
        phi = f"{float(grid.strategy_value(strategy, 'schedule.phi')):g}"
        return f"UBA $\\varphi{{=}}{phi}$" if tex else f"UBA φ={phi}"
    if optimizer == "osgm":
        suffix = "" if schedule in (None, "constant") else f" + {SCHEDULE_NAMES.get(schedule, schedule)}"
        return "OSGM" + suffix
    if strategy in SCHEDULE_NAMES:
        return SCHEDULE_NAMES[strategy]
    return escape(strategy) if tex else strategy


def number(value: float, digits: int = 2) -> str:
    """A fixed-point number, or an en dash for NaN."""
    return "--" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def mean_ci(mean: float, half: float, n: int, n_diverged: int = 0, digits: int = 2,
            bold: bool = False) -> str:
    """``mean +/- half`` in math mode; "diverged" when no run survived; a dagger counts diverged runs."""
    if n == 0:
        return "diverged" if n_diverged else "--"
    core = f"{mean:.{digits}f}" if not math.isfinite(half) else f"{mean:.{digits}f} \\pm {half:.{digits}f}"
    if bold:
        core = f"\\mathbf{{{core}}}"
    mark = f"^{{\\dagger{n_diverged}}}" if n_diverged else ""
    return f"${core}{mark}$"


def signed_ci(mean: float, low: float, high: float, digits: int = 2) -> str:
    """``+0.31 [-0.20, +0.82]`` in math mode (en dash when undefined)."""
    if not math.isfinite(mean):
        return "--"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"${mean:+.{digits}f}$"
    return f"${mean:+.{digits}f}\\ [{low:+.{digits}f}, {high:+.{digits}f}]$"


def _tabular(columns: str, header: list[str], body: list[list[str]]) -> str:
    lines = [f"\\begin{{tabular}}{{{columns}}}", "\\toprule", " & ".join(header) + r" \\", "\\midrule"]
    lines += [" & ".join(row) + r" \\" for row in body]
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def budget_header(grid: Grid) -> list[str]:
    """Column headers for the budgets: percent and iterations."""
    return [f"{b.percent}\\% ({b.steps})" for b in grid.budgets]


def _accuracy_cell(table: pd.DataFrame, strategy: str, budget: str, variant: str, best: float) -> str:
    """One ``mean +/- half-width`` cell of a ``summary`` table, bold when it is the column's ``best``."""
    r = table[(table["strategy"] == strategy) & (table["budget"] == budget) & (table["variant"] == variant)]
    if r.empty:
        return "--"
    r = r.iloc[0]
    return mean_ci(r["mean"], r["half_width"], int(r["n"]), int(r["n_diverged"]),
                   bold=math.isfinite(r["mean"]) and r["mean"] == best)


def main_table(table: pd.DataFrame, grid: Grid, variant: str = "off") -> str:
    """Strategies x budgets, accuracy mean +/- CI half-width; the best mean per budget in bold."""
    sub = table[table["variant"] == variant]
    best = {b.label: sub[sub["budget"] == b.label]["mean"].max() for b in grid.budgets}
    body = [[display_name(grid, strategy)]
            + [_accuracy_cell(sub, strategy, b.label, variant, best[b.label]) for b in grid.budgets]
            for strategy in grid.strategies]
    return _tabular("l" + "c" * len(grid.budgets), ["Strategy", *budget_header(grid)], body)


def main_swa_table(table: pd.DataFrame, grid: Grid) -> str:
    """Strategies x (budget x SWA variant): accuracy mean +/- CI half-width, the best mean per budget
    (over strategies and variants) in bold."""
    variants = [v for v in VARIANT_NAMES if v in set(table["variant"].astype(str))]
    best = {b.label: table[table["budget"] == b.label]["mean"].max() for b in grid.budgets}
    body = [[display_name(grid, strategy)]
            + [_accuracy_cell(table, strategy, b.label, v, best[b.label])
               for b in grid.budgets for v in variants]
            for strategy in grid.strategies]
    top = ["", *(f"\\multicolumn{{{len(variants)}}}{{c}}{{{h}}}" for h in budget_header(grid))]
    rules = " ".join(f"\\cmidrule(lr){{{2 + i * len(variants)}-{1 + (i + 1) * len(variants)}}}"
                     for i in range(len(grid.budgets)))
    header = ["Strategy", *([VARIANT_NAMES[v] for v in variants] * len(grid.budgets))]
    lines = [f"\\begin{{tabular}}{{l{'c' * len(variants) * len(grid.budgets)}}}", "\\toprule",
             " & ".join(top) + r" \\", rules, " & ".join(header) + r" \\", "\\midrule"]
    lines += [" & ".join(row) + r" \\" for row in body]
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def rank_table(ranks: pd.DataFrame, grid: Grid) -> str:
    """Average rank per budget (1 = best) and over all budgets."""
    body = []
    for _, r in ranks.iterrows():
        body.append([display_name(grid, str(r["strategy"]))]
                    + [number(r.get(b.label, math.nan), 1) for b in grid.budgets] + [number(r["all"], 1)])
    return _tabular("l" + "c" * (len(grid.budgets) + 1), ["Strategy", *budget_header(grid), "All"], body)


def swa_table(gains: pd.DataFrame, grid: Grid) -> str:
    """Averaging variants x budgets: mean gain over strategies with its interval over seeds."""
    body = []
    for variant in gains["variant"].unique():
        row = [VARIANT_NAMES.get(variant, escape(variant))]
        for b in grid.budgets:
            r = gains[(gains["variant"] == variant) & (gains["budget"] == b.label)]
            row.append("--" if r.empty else
                       signed_ci(r["mean"].iloc[0], r["ci_low"].iloc[0], r["ci_high"].iloc[0]))
        body.append(row)
    return _tabular("l" + "c" * len(grid.budgets), ["Averaging", *budget_header(grid)], body)


def phi_table(phi: pd.DataFrame, grid: Grid) -> str:
    """UBA by phi (and cosine) x budgets."""
    body = []
    for strategy in dict.fromkeys(phi["strategy"]):
        sub = phi[phi["strategy"] == strategy]
        row = [display_name(grid, strategy)]
        for b in grid.budgets:
            r = sub[sub["budget"] == b.label]
            row.append("--" if r.empty else mean_ci(r["mean"].iloc[0], r["half_width"].iloc[0],
                                                    int(r["n"].iloc[0]), int(r["n_diverged"].iloc[0])))
        body.append(row)
    return _tabular("l" + "c" * len(grid.budgets), ["Schedule", *budget_header(grid)], body)


def claims_table(claims: pd.DataFrame) -> str:
    """Claim, setting, our estimate with its interval, verdict."""
    body, previous = [], None
    for _, r in claims.iterrows():
        first = r["claim_id"] != previous
        previous = r["claim_id"]
        claim = f"{r['claim']} \\citep{{{r['source']}}}" if first else ""
        if r["unit"] == "points":
            estimate = signed_ci(r["estimate"], r["ci_low"], r["ci_high"])
        else:
            estimate = escape(r["detail"]) if r["detail"] else "--"
        body.append([claim, escape(r["setting"]), estimate, r["verdict"]])
    level = number(100 * CONFIDENCE, 0)
    columns = (">{\\raggedright}p{0.27\\linewidth}>{\\raggedright}p{0.12\\linewidth}"
               ">{\\raggedright}p{0.36\\linewidth}>{\\raggedright\\arraybackslash}p{0.13\\linewidth}")
    return _tabular(columns, ["Claim", "Setting", f"Ours ({level}\\% CI)", "Verdict"], body)


def write_macros(macros: dict[str, str], path: str | Path) -> None:
    """Write ``\\newcommand{\\name}{value}`` lines; names must be letters only (a TeX control word)."""
    lines = ["% Generated by `python -m report aggregate`; do not edit."]
    for name, value in macros.items():
        if not MACRO_NAME.match(name):
            raise ValueError(f"macro name {name!r} must contain letters only")
        lines.append(f"\\newcommand{{\\{name}}}{{{value}}}")
    Path(path).write_text("\n".join(lines) + "\n")
