"""LaTeX rendering of the study's tables (booktabs ``tabular`` bodies; the paper adds float and caption)
and of generated macros (``\\newcommand`` per number or sentence the paper quotes)."""

from __future__ import annotations

import math

import pandas as pd

from report.grid import Grid
from report.stats import CONFIDENCE
from stepsize.schedules import LABELS

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
VARIANT_NAMES = {"off": "SWA off", "tail": "tail avg.", "ema": "EMA", "swalr": "SWALR", "poly": "poly avg."}


_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "varepsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "varphi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
    "Γ": "Gamma",
    "Δ": "Delta",
    "Θ": "Theta",
    "Λ": "Lambda",
    "Π": "Pi",
    "Σ": "Sigma",
    "Φ": "Phi",
    "Ω": "Omega",
}
_MATH = {
    "±": r"\pm",
    "·": r"\cdot",
    "×": r"\times",
    "‖": r"\|",
    "ℓ": r"\ell",
    "←": r"\leftarrow",
    "→": r"\rightarrow",
    "↔": r"\leftrightarrow",
    "∂": r"\partial",
    "∇": r"\nabla",
    "∈": r"\in",
    "∏": r"\prod",
    "∑": r"\sum",
    "−": "-",
    "∘": r"\circ",
    "√": r"\surd",
    "∞": r"\infty",
    "≤": r"\le",
    "≥": r"\ge",
    "≈": r"\approx",
    "≠": r"\neq",
    "≫": r"\gg",
    "≪": r"\ll",
    "≻": r"\succ",
    "⪯": r"\preceq",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "𝒫": r"\mathcal{P}",
    "ᵀ": r"^{\top}",
    "✓": r"\checkmark",
    "✗": r"\times",
    **{k: "\\" + v for k, v in _GREEK.items()},
}
_SCRIPTS = {
    "⁰": "^{0}",
    "¹": "^{1}",
    "²": "^{2}",
    "³": "^{3}",
    "⁺": "^{+}",
    "⁻": "^{-}",
    "₀": "_{0}",
    "₁": "_{1}",
    "₂": "_{2}",
    "₋": "_{-}",
    "ₖ": "_{k}",
}
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


def _base_name(grid: Grid, strategy: str) -> str:
    """Optimizer and schedule labels (`stepsize.optim.LABELS`, `stepsize.schedules.LABELS`): the schedule
    alone for the reference optimizer (`Grid.reference_optimizer`), "<optimizer> + <schedule>" otherwise
    (a constant schedule is left out)."""
    from stepsize.optim import LABELS as OPTIMIZERS

    schedule = grid.strategy_value(strategy, "schedule.name") or "cosine"
    optimizer = grid.strategy_value(strategy, "optimizer.name")
    label = LABELS.get(schedule, schedule)
    if optimizer == grid.reference_optimizer():
        return label
    own = OPTIMIZERS.get(optimizer, optimizer)
    name = own if schedule == "constant" else f"{own} + {label}"
    output = grid.strategies[strategy].output
    return name + (f" ({output} avg.)" if output != "off" else "")


def display_names(grid: Grid) -> dict[str, str]:
    """A readable, unique name per strategy (plain text): `_base_name`, and where two strategies share
    one, the schedule parameters in which they differ."""
    from stepsize.schedules import DEFAULTS

    base = {s: _base_name(grid, s) for s in grid.strategies}
    names = {}
    for s, name in base.items():
        twins = [t for t, n in base.items() if n == name]
        if len(twins) > 1:
            schedule = grid.strategy_value(s, "schedule.name") or "cosine"
            params = {
                k: v
                for k, v in grid.section(s, "schedule").items()
                if k != "name" and v != DEFAULTS.get(schedule, {}).get(k)
            }
            if params:
                name += " (" + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in params.items()) + ")"
        names[s] = name
    return names


def display_name(grid: Grid, strategy: str, tex: bool = True) -> str:
    """A strategy's readable name (`display_names`), LaTeX-escaped unless ``tex`` is false."""
    name = display_names(grid).get(strategy, strategy) if strategy in grid.strategies else strategy
    return escape(name) if tex else name


def number(value: float, digits: int = 2) -> str:
    """A fixed-point number, or an en dash for NaN."""
    return "--" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def mean_ci(
    mean: float, half: float, n: int, n_diverged: int = 0, digits: int = 2, bold: bool = False
) -> str:
    """``mean +/- half`` in math mode; "failed" when no run survived (every one diverged or ended at chance
    level); a dagger counts those runs."""
    if n == 0:
        return "failed" if n_diverged else "--"
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
    return mean_ci(
        r["mean"],
        r["half_width"],
        int(r["n"]),
        int(r["n_diverged"]),
        bold=math.isfinite(r["mean"]) and r["mean"] == best,
    )


def main_table(table: pd.DataFrame, grid: Grid, variant: str = "judged") -> str:
    """Strategies x budgets, accuracy mean +/- CI half-width of each strategy's judged model; the best
    mean per budget in bold."""
    sub = table[table["variant"] == variant]
    best = {b.label: sub[sub["budget"] == b.label]["mean"].max() for b in grid.budgets}
    body = [
        [display_name(grid, strategy)]
        + [_accuracy_cell(sub, strategy, b.label, variant, best[b.label]) for b in grid.budgets]
        for strategy in grid.strategies
    ]
    return _tabular("l" + "c" * len(grid.budgets), ["Strategy", *budget_header(grid)], body)


def main_swa_table(table: pd.DataFrame, grid: Grid) -> str:
    """A ``longtable`` (it spans pages): strategies × averaging variants, one block of rows per budget,
    accuracy mean +/- CI half-width, the best mean of each budget (over strategies and variants) in bold.
    Five variant columns stay legible where budgets × variants side by side did not."""
    variants = [v for v in VARIANT_NAMES if v in set(table["variant"].astype(str))]
    header = " & ".join(["Strategy", *(VARIANT_NAMES[v] for v in variants)]) + r" \\"
    lines = [f"\\begin{{longtable}}{{l{'c' * len(variants)}}}", "\\toprule", header, "\\midrule",
             "\\endfirsthead", "\\toprule", header, "\\midrule", "\\endhead", "\\bottomrule", "\\endlastfoot"]
    for i, budget in enumerate(grid.budgets):
        best = table[table["budget"] == budget.label]["mean"].max()
        if i:
            lines.append("\\midrule")
        head = f"Budget {budget.percent}\\% ({budget.steps} updates)"
        lines.append(f"\\multicolumn{{{1 + len(variants)}}}{{l}}{{\\textit{{{head}}}}} \\\\")
        for strategy in grid.strategies:
            cells = [_accuracy_cell(table, strategy, budget.label, v, best) for v in variants]
            lines.append(" & ".join([display_name(grid, strategy), *cells]) + r" \\")
    lines += ["\\end{longtable}", ""]
    return "\n".join(lines)


def rank_table(ranks: pd.DataFrame, grid: Grid) -> str:
    """Average rank per budget (1 = best) and over all budgets."""
    body = []
    for _, r in ranks.iterrows():
        body.append(
            [display_name(grid, str(r["strategy"]))]
            + [number(r.get(b.label, math.nan), 1) for b in grid.budgets]
            + [number(r["all"], 1)]
        )
    return _tabular("l" + "c" * (len(grid.budgets) + 1), ["Strategy", *budget_header(grid), "All"], body)


def train_loss_table(losses: pd.DataFrame, grid: Grid) -> str:
    """Strategies × budgets: final training loss (`report.tables.train_loss`) and mean test accuracy."""
    body = []
    for strategy in grid.strategies:
        row = [display_name(grid, strategy)]
        for budget in grid.budgets:
            r = losses[(losses["strategy"].astype(str) == strategy) & (losses["budget"] == budget.label)]
            loss = float(r["train_loss"].iloc[0]) if len(r) else math.nan
            acc = float(r["test_acc"].iloc[0]) if len(r) else math.nan
            row += [number(loss, 3) if math.isfinite(loss) else "--",
                    number(acc) if math.isfinite(acc) else "--"]
        body.append(row)
    top = ["", *(f"\\multicolumn{{2}}{{c}}{{{h}}}" for h in budget_header(grid))]
    rules = " ".join(f"\\cmidrule(lr){{{2 + 2 * i}-{3 + 2 * i}}}" for i in range(len(grid.budgets)))
    header = ["Strategy", *(["train loss", "test acc."] * len(grid.budgets))]
    lines = [f"\\begin{{tabular}}{{l{'rr' * len(grid.budgets)}}}", "\\toprule", " & ".join(top) + r" \\",
             rules, " & ".join(header) + r" \\", "\\midrule"]
    lines += [" & ".join(row) + r" \\" for row in body]
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def swa_table(gains: pd.DataFrame, grid: Grid) -> str:
    """Averaging variants x budgets: mean gain over strategies with its interval over seeds."""
    body = []
    for variant in gains["variant"].unique():
        row = [VARIANT_NAMES.get(variant, escape(variant))]
        for b in grid.budgets:
            r = gains[(gains["variant"] == variant) & (gains["budget"] == b.label)]
            row.append(
                "--" if r.empty else signed_ci(r["mean"].iloc[0], r["ci_low"].iloc[0], r["ci_high"].iloc[0])
            )
        body.append(row)
    return _tabular("l" + "c" * len(grid.budgets), ["Averaging", *budget_header(grid)], body)


def _estimate(r: pd.Series) -> str:
    if r["unit"] in ("points", "fraction of the gap", "Spearman rho"):
        return signed_ci(r["estimate"], r["ci_low"], r["ci_high"])
    return escape(r["detail"]) if r["detail"] else "--"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "--"
    return "$<$0.001" if value < 0.001 else number(value, 3)


def _verdict_cell(r: pd.Series) -> str:
    """The verdict after Holm's correction, with the raw one beside it where the correction changed it."""
    raw, final = str(r.get("raw_verdict", r["verdict"])), str(r["verdict"])
    return final if raw == final else f"{final} (raw: {raw})"


def claims_table(claims: pd.DataFrame) -> str:
    """A ``longtable`` (it spans pages): claim, setting, our estimate with its raw interval, the
    Holm-adjusted p-value, the verdict after the correction (the raw one beside it where they differ),
    its margin in half-widths of the corrected interval and the minimum detectable effect (80% power) at
    the study's seeds, with, for a row left inconclusive, the seeds that would decide its observed effect
    in parentheses. The per-problem rows of a deterministic claim (its evidence, in ``claims.csv`` and the
    benchmark tables) are left out; its deciding row stays."""
    from report.claims.base import DETERMINISTIC

    shown = claims[~((claims["test"] == DETERMINISTIC) & ~claims["deciding"].astype(bool))]
    body, previous = [], None
    for _, r in shown.iterrows():
        first = r["claim_id"] != previous
        previous = r["claim_id"]
        claim = f"{r['claim']} \\citep{{{r['source']}}}" if first else ""
        margin = number(r["margin"], 1) if math.isfinite(r["margin"]) else "--"
        mde = number(r["mde"]) if math.isfinite(r["mde"]) else "--"
        needed = r.get("seeds_needed", math.nan)
        if isinstance(needed, float) and not math.isnan(needed):
            mde += f" ({needed:.0f})" if math.isfinite(needed) else " ($>$1000)"
        setting = escape(r["setting"]) + ("" if r.get("deciding", True) else " (shown)")
        p_holm = _p(r.get("p_holm", math.nan))
        body.append([claim, setting, _estimate(r), p_holm, _verdict_cell(r), margin, mde])
    level = number(100 * CONFIDENCE, 0)
    columns = (
        ">{\\raggedright}p{0.21\\linewidth}>{\\raggedright}p{0.11\\linewidth}"
        ">{\\raggedright}p{0.19\\linewidth}c>{\\raggedright}p{0.12\\linewidth}cc"
    )
    header = " & ".join(["Claim", "Setting", f"Ours (raw {level}\\% CI)", "$p$ (Holm)", "Verdict", "Margin",
                         "MDE"]) + r" \\"
    lines = [f"\\begin{{longtable}}{{{columns}}}", "\\toprule", header, "\\midrule", "\\endfirsthead",
             "\\toprule", header, "\\midrule", "\\endhead", "\\bottomrule", "\\endlastfoot"]
    lines += [" & ".join(row) + r" \\" for row in body]
    lines += ["\\end{longtable}", ""]
    return "\n".join(lines)


def claim_tests_table(claims: tuple) -> str:
    """Each claim as its source states it (paraphrased), the claim as tested and the test its verb calls
    for: "beats"/"surpasses" → superiority, "at least as good"/"matches or exceeds" → non-inferiority,
    "matches" → equivalence (equivalent / exceeded / worse), a bootstrap ratio, a deterministic count."""
    body = [[f"{c.wording} \\citep{{{c.source}}}", c.text, c.test_type] for c in claims]
    columns = (">{\\raggedright}p{0.34\\linewidth}>{\\raggedright}p{0.40\\linewidth}"
               ">{\\raggedright\\arraybackslash}p{0.18\\linewidth}")
    return _tabular(columns, ["Source's claim (paraphrased)", "As tested here", "Test"], body)


def _knob_value(value: float) -> str:
    return f"{value:g}"


def tuning_table(grid: Grid, selections: dict) -> str:
    """Each strategy's knob, its declared values + the bracket round's count, and its chosen value per
    budget (best mean validation accuracy over the tuning seeds); ``*`` marks a choice at the cap of the
    values tried (the largest or smallest after the bracket round), where the best may lie further out."""
    body = []
    bracket = int(grid.tuning["bracket"])
    for strategy, s in grid.strategies.items():
        sel = selections.get(strategy) or {}
        if not s.knob or not sel:
            continue
        cells = []
        for b in grid.budgets:
            entry = sel["budgets"][b.label]
            mark = "$^*$" if entry.get("at_cap") else ""
            cells.append(f"{_knob_value(entry['value'])}{mark}")
        grid_text = ", ".join(_knob_value(v) for v in s.values) + (f" + {bracket}" if bracket else "")
        body.append([display_name(grid, strategy), f"\\texttt{{{escape(s.knob)}}}", grid_text, *cells])
    header = ["Strategy", "Knob", "Declared values + bracket" if bracket else "Declared values"]
    return _tabular("lll" + "c" * len(grid.budgets), [*header, *budget_header(grid)], body)


def uba_table(choices: pd.DataFrame, grid: Grid) -> str:
    """UBA's tuning per budget (`report.tables.uba_choices`): every value of its knob tried (declared, then
    the bracket round's) with its validation accuracy (%, mean over the tuning seeds), the chosen one in
    bold, and the φ and peak LR of the chosen run."""
    if choices.empty:
        return _tabular("l", ["UBA"], [["not in this grid"]])
    knob = str(choices["knob"].iloc[0])
    name = {"schedule.phi": "$\\varphi$", "optimizer.lr": "peak LR"}.get(knob, f"\\texttt{{{escape(knob)}}}")
    body = []
    for _, rows in choices.groupby("percent", sort=True):
        tried = []
        for _, r in rows.sort_values("value").iterrows():
            cell = f"{_knob_value(r['value'])}: {number(r['val_acc'])}"
            mark = "$^*$" if bool(r["at_cap"]) else ""
            tried.append(f"\\textbf{{{cell}}}{mark}" if bool(r["chosen"]) else cell)
        best = rows[rows["chosen"].astype(bool)].iloc[0]
        percent = f"{int(best['percent'])}\\%"
        body.append([percent, _knob_value(best["phi"]), _knob_value(best["lr"]), ", ".join(tried)])
    columns = "lcc>{\\raggedright\\arraybackslash}p{0.55\\linewidth}"
    return _tabular(columns, ["Budget", "$\\varphi$", "Peak LR", f"{name} tried: val.\\ acc.\\ (\\%)"], body)


def profile_table(scores: pd.DataFrame, grid: Grid) -> str:
    """Performance-profile score, share of problems solved within r_max, and median updates to each target
    (`report.time_to_target`: one per budget, the tuned reference's mean test accuracy there; a column per
    target, headed by its budget and value; --: not reached by most seeds at any budget)."""
    budgets = [b for b in grid.budgets if f"median_updates_{b.label}" in scores.columns]
    body = []
    for _, r in scores.iterrows():
        medians = []
        for b in budgets:
            v = r[f"median_updates_{b.label}"]
            medians.append("--" if not math.isfinite(v) else f"{v:.0f}")
        solved = number(100 * r["solved"], 0) if math.isfinite(r["solved"]) else "--"
        body.append([display_name(grid, str(r["strategy"])), number(r["score"]), solved, *medians])
    first = scores.iloc[0] if len(scores) else {}
    targets = [number(float(first.get(f"target_{b.label}", math.nan))) for b in budgets]
    heads = [f"{b.percent}\\%: {t}" for b, t in zip(budgets, targets, strict=True)]
    header = ["Strategy", "Score", "Solved (\\%)", *heads]
    return _tabular("lcc" + "r" * len(budgets), header, body)
