"""The LaTeX macros the paper quotes: every number and every result-dependent sentence, from the data.

Names are letters only (TeX control words). Values are LaTeX text. Sentences that depend on the
direction of a result (which strategy wins, a verdict) are composed here, so the paper's fixed text
never asserts something the numbers do not support.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Any

import pandas as pd

from report import claims as claims_mod
from report import theory_report
from report.grid import Grid
from report.latex import VARIANT_NAMES, display_name, escape, number
from report.stats import CONFIDENCE

DATASET_NAMES = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100",
                 "ffcv": "ImageNet (FFCV)", "imagefolder": "ImageNet", "synthetic": "synthetic data"}
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD with momentum", "nesterov": "SGD with Nesterov momentum",
                   "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "osgm": "OSGM"}
DATASET_CITES = {"fashion_mnist": "xiao2017fashion", "ffcv": "leclerc2023ffcv"}
MODEL_CITES = {"preact": "he2016identity", "resnet": "he2016deep"}
CLAIM_MACRO = {"uba": "Uba", "linear": "Linear", "swa": "Swa", "hdm": "Hdm", "phi2": "PhiTwo"}


def sci(value: float) -> str:
    """A number for running text: plain when moderate, ``a\\times10^{b}`` (math mode) otherwise."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:g}"
    if not math.isfinite(value):
        return "--"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"${mantissa}\\times10^{{{int(exponent)}}}$"


def listing(items: list[str]) -> str:
    """``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def benchmark_seconds(directory: str | Path) -> float | None:
    """Sum of the ``s`` column over Snakemake benchmark files (the training jobs' wall time)."""
    files = sorted(Path(directory).rglob("*.tsv"))
    if not files:
        return None
    return float(sum(pd.read_csv(f, sep="\t")["s"].sum() for f in files))


def host_description() -> str:
    """CPU model and core count of the machine running the aggregation."""
    from stepsize.records import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} cores"


def _cite(key: str | None) -> str:
    return f"\\citep{{{key}}}" if key else ""


def _reference_config(grid: Grid, recs: dict) -> dict[str, Any]:
    """The resolved config of a run of the reference strategy (cosine), else of any run: the setup the
    paper states ("all SGD runs use ...") is that of the hand-made schedules, not of e.g. OSGM."""
    reference = grid.report["cosine"]
    ordered = sorted(recs.items(), key=lambda kv: kv[0][0] != reference)
    for _, rec in ordered:
        if rec.get("config"):
            return rec["config"]
    return {}


def _get(cfg: dict, dotted: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def setup_macros(grid: Grid, recs: dict, final: pd.DataFrame) -> dict[str, str]:
    """The experimental setup, from the profile and the resolved config of the runs."""
    cfg = _reference_config(grid, recs)
    data_name = _get(cfg, "data.name", "")
    optimizer = _get(cfg, "optimizer", {}) or {}
    swa = _get(cfg, "swa", {}) or {}
    model_name = str(_get(cfg, "model.name", ""))
    runs = final[final["variant"] == "off"]
    m = {
        "profileName": escape(grid.profile),
        "datasetName": DATASET_NAMES.get(data_name, escape(data_name)),
        "modelName": escape(model_name),
        "modelCite": _cite(next((key for part, key in MODEL_CITES.items() if part in model_name), None)),
        "datasetCite": _cite(DATASET_CITES.get(data_name)),
        "optimizerName": OPTIMIZER_NAMES.get(optimizer.get("name"), escape(optimizer.get("name", ""))),
        "peakLR": sci(float(optimizer.get("lr", math.nan))),
        "momentum": sci(float(optimizer.get("momentum", 0.0))),
        "weightDecay": sci(float(optimizer.get("weight_decay", 0.0))),
        "batchSize": str(_get(cfg, "data.batch_size", "")),
        "fullBudgetSteps": str(grid.full_budget_steps),
        "budgetList": listing([f"{b.percent}\\%" for b in grid.budgets]),
        "budgetStepsList": listing([str(b.steps) for b in grid.budgets]),
        "numBudgets": str(len(grid.budgets)),
        "smallestBudgetPercent": str(grid.budgets[0].percent),
        "numSeeds": str(len(grid.seeds)),
        "numStrategies": str(len(grid.strategies)),
        "numRuns": str(len(grid.jobs)),
        "numDiverged": str(int((runs["status"] != "ok").sum())),
        "swaStartPercent": number(100 * float(swa.get("start", math.nan)), 0),
        "swaLR": sci(float(swa.get("swalr_lr", math.nan))),
        "swaLRPercent": number(100 * float(swa.get("swalr_lr", math.nan))
                               / float(optimizer.get("lr", math.nan)), 0),
        "emaDecay": sci(float(swa.get("ema_decay", math.nan))),
        "swaVariantList": listing([VARIANT_NAMES.get(v, escape(v)) for v in swa.get("variants", [])]),
        "trainExamples": str(_get(cfg, "data.train_subset") or "all"),
        "testExamples": str(_get(cfg, "data.test_subset") or "all"),
        "ciLevel": number(100 * CONFIDENCE, 0),
        "equivalenceMargin": f"{float(grid.report['equivalence_margin_pp']):g}",
        "smallBudgetPercent": f"{100 * float(grid.report['small_budget_max_fraction']):g}",
        "phiList": listing([f"{phi:g}" for phi in grid.uba_phis().values()]),
        "strategyList": listing([display_name(grid, s) for s in grid.strategies]),
    }
    step = grid.strategies.get(grid.report["step"], {})
    if "schedule.milestones" in step:
        m["stepMilestones"] = listing([f"{100 * float(x):g}\\%" for x in step["schedule.milestones"]])
    m["stepGamma"] = f"{float(step.get('schedule.gamma', 0.1)):g}"
    return m


def result_macros(grid: Grid, summary: pd.DataFrame, ranks: pd.DataFrame, gains_avg: pd.DataFrame,
                  phi: pd.DataFrame) -> dict[str, str]:
    """Headline numbers and result-dependent sentences."""
    from report.tables import best_strategy

    full, small = grid.budgets[-1], grid.budgets[0]
    m: dict[str, str] = {}
    for key, b in (("Full", full), ("Small", small)):
        name, acc = best_strategy(summary, b.label)
        m[f"best{key}Name"] = display_name(grid, name) if name else "none (all runs diverged)"
        m[f"best{key}Acc"] = number(acc)
    cos = summary[(summary["strategy"] == grid.report["cosine"]) & (summary["variant"] == "off")
                  & (summary["budget"] == full.label)]
    m["cosineFullAcc"] = number(cos["mean"].iloc[0]) if len(cos) else "--"
    top = ranks.sort_values("all").iloc[0]
    m["topRankName"] = display_name(grid, str(top["strategy"]))
    m["topRankValue"] = number(float(top["all"]), 1)
    # best phi per budget
    parts = []
    uba = phi.dropna(subset=["phi"]) if not phi.empty else phi
    for b in grid.budgets:
        sub = uba[uba["budget"] == b.label].dropna(subset=["mean"]) if not uba.empty else uba
        if len(sub):
            parts.append(f"$\\varphi={sub.loc[sub['mean'].idxmax(), 'phi']:g}$ at {b.percent}\\%")
    m["bestPhiSentence"] = (f"The best UBA shape parameter by mean accuracy is {listing(parts)}."
                            if parts else "No UBA run finished without diverging.")
    # SWA at the full budget, per variant
    parts = []
    for _, r in gains_avg[gains_avg["budget"] == full.label].iterrows():
        ci = "" if not math.isfinite(r["ci_low"]) else \
            f" ({number(100 * CONFIDENCE, 0)}\\% CI ${r['ci_low']:+.2f}$ to ${r['ci_high']:+.2f}$)"
        parts.append(f"{VARIANT_NAMES.get(r['variant'], escape(r['variant']))} ${r['mean']:+.2f}${ci}")
    m["swaFullSentence"] = (f"At the full budget, averaging changes accuracy, relative to the raw final "
                            f"model and averaged over strategies, by {listing(parts)} points."
                            if parts else "No weight averaging was run.")
    return m


def interaction_macros(grid: Grid, correlations: pd.DataFrame, alpha: float = 0.05) -> dict[str, str]:
    """The SWA x schedule sentence: per averaging variant, the Spearman correlation over strategies (full
    budget) between its gain and the schedule's mean LR over the averaging window, and what it says."""
    full = correlations[correlations["budget"] == grid.budgets[-1].label]
    order = {v: i for i, v in enumerate(VARIANT_NAMES)}
    full = full.sort_values("variant", key=lambda col: col.map(lambda v: order.get(v, len(order))))
    parts, significant = [], []
    for _, r in full.iterrows():
        name = VARIANT_NAMES.get(r["variant"], escape(r["variant"]))
        if not math.isfinite(r["rho"]):
            continue
        parts.append(f"{name} $\\rho = {r['rho']:+.2f}$ ($p = {r['p_value']:.2g}$, {int(r['n'])} strategies)")
        if r["p_value"] < alpha:
            more = "has not yet annealed" if r["rho"] > 0 else "has already annealed"
            significant.append(f"{name} adds more where the schedule {more}")
    if not parts:
        return {"swaInteractionSentence": "Too few strategies finished to correlate the averaging gain with "
                                          "the schedule."}
    verdict = (f"At $p < {alpha:g}$: {listing(significant)}." if significant else
               f"None of these correlations is significant at $p < {alpha:g}$ at this scale.")
    return {"swaInteractionSentence":
            "Across strategies at the full budget, the Spearman rank correlation between an averaging "
            "variant's gain and the schedule's mean learning rate over the averaging window (relative to "
            f"its peak) is {listing(parts)}. {verdict}"}


def claim_macros(claim_rows: pd.DataFrame) -> dict[str, str]:
    """Verdict per claim and counts of verdicts."""
    verdicts = claims_mod.claim_verdicts(claim_rows)
    m = {f"claim{CLAIM_MACRO[k]}Verdict": v for k, v in verdicts.items()}
    for key, verdict in (("Reproduced", claims_mod.REPRODUCED), ("NotReproduced", claims_mod.NOT_REPRODUCED),
                         ("Inconclusive", claims_mod.INCONCLUSIVE), ("NotTestable", claims_mod.NOT_TESTABLE)):
        m[f"numClaims{key}"] = str(sum(v == verdict for v in verdicts.values()))
    m["numClaims"] = str(len(verdicts))
    m["numPublishedClaims"] = str(sum(not c.implementation_check for c in claims_mod.CLAIMS))
    hdm = claim_rows[(claim_rows["claim_id"] == "hdm")]
    m["hdmSentence"] = escape(hdm["detail"].iloc[-1]) + "." if len(hdm) else "No benchmark ran."
    return m


def provenance_macros(recs: dict, final: pd.DataFrame, job_seconds: float | None) -> dict[str, str]:
    """Versions, hardware and wall time."""
    first = next(iter(recs.values()), {})
    versions = first.get("versions") or {}
    train_s = final[final["variant"] == "off"]["wall_time_s"].sum()
    devices = sorted({str(r.get("device", "?")) for r in recs.values()})
    return {
        "pythonVersion": escape(versions.get("python", platform.python_version())),
        "torchVersion": escape(versions.get("torch", "?")),
        "gitCommit": escape(str(first.get("git_commit") or "unknown")[:12]),
        "deviceName": escape(", ".join(devices)),
        "hostDescription": escape(host_description()),
        "trainWallMinutes": number(train_s / 60.0, 1),
        "jobWallMinutes": number(job_seconds / 60.0, 1) if job_seconds is not None else "--",
    }


def build(grid: Grid, recs: dict, final: pd.DataFrame, summary: pd.DataFrame, ranks: pd.DataFrame,
          gains_avg: pd.DataFrame, phi: pd.DataFrame, claim_rows: pd.DataFrame, theory,
          job_seconds: float | None, correlations: pd.DataFrame | None = None) -> dict[str, str]:
    """Every macro of the paper."""
    m = setup_macros(grid, recs, final)
    m.update(result_macros(grid, summary, ranks, gains_avg, phi))
    m.update(claim_macros(claim_rows))
    m.update(interaction_macros(grid, correlations if correlations is not None else pd.DataFrame(
        columns=["budget", "percent", "variant", "n", "rho", "p_value"])))
    m.update(theory_report.theory_macros(theory))
    m.update(provenance_macros(recs, final, job_seconds))
    return m
