"""The macros of the paper's Setup and Protocol sections: dataset, model, budgets, seeds, tuning,
averaging and evaluation settings, read from the profile (`report.grid.Grid`) and the resolved config of
a reference (cosine) run, and the sentences that describe them (warmup, seed allocation, batch-norm
statistics). Literal macro names; `report.macros.MacroBook` records where each comes from.
"""

from __future__ import annotations

import math
from typing import Any

from report.grid import Grid
from report.latex import VARIANT_NAMES, display_name, escape, number
from report.macros import MacroBook, cite, listing, sci
from report.protocol import protocol_macros
from report.stats import CONFIDENCE
from stepsize.config import ema_decay_for_window

DATASET_NAMES = {
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "ffcv": "ImageNet (FFCV)",
    "imagefolder": "ImageNet",
    "synthetic": "synthetic data",
}
DATASET_CITES = {
    "fashion_mnist": "xiao2017fashion",
    "ffcv": "leclerc2023ffcv",
    "cifar10": "krizhevsky2009learning",
    "cifar100": "krizhevsky2009learning",
}
MODEL_CITES = {"preact": "he2016identity", "resnet": "he2016deep"}


def setup_macros(book: MacroBook, grid: Grid, cfg: dict[str, Any], counts: dict[str, int]) -> None:
    """The protocol and setup, from the profile and the resolved config of a reference (cosine) run."""
    src = "profile.json"
    data, model = cfg.get("data", {}), str(cfg.get("model", {}).get("name", ""))
    optimizer, swa = cfg.get("optimizer", {}), cfg.get("swa", {})
    book.add("profileName", escape(grid.profile), src)
    book.add("datasetName", DATASET_NAMES.get(data.get("name"), escape(data.get("name", ""))), src)
    book.add("datasetCite", cite(DATASET_CITES.get(data.get("name"))), src)
    book.add("modelName", escape(model), src)
    book.add("modelCite", cite(next((k for part, k in MODEL_CITES.items() if part in model), None)), src)
    book.add("batchSize", str(data.get("batch_size", "")), src)
    book.add("trainExamples", str(data.get("train_subset") or "all"), src)
    book.add("valExamples", str(data.get("val_size", 0)), src)
    book.add("testExamples", str(data.get("test_subset") or "all"), src)
    book.add("sgdMomentum", sci(float(optimizer.get("momentum", math.nan))), src)
    book.add("sgdWeightDecay", sci(float(optimizer.get("weight_decay", math.nan))), src)
    book.add("fullBudgetSteps", str(grid.full.steps), src)
    book.add("budgetList", listing([f"{b.percent}\\%" for b in grid.budgets]), src)
    book.add("budgetStepsList", listing([str(b.steps) for b in grid.budgets]), src)
    book.add("numBudgets", str(len(grid.budgets)), src)
    book.add("smallestBudgetPercent", str(grid.budgets[0].percent), src)
    book.add("numSeeds", str(len(grid.seeds)), src)
    book.add("seedCount", _seed_count(grid), src)
    book.add("seedAllocationSentence", _seed_allocation_sentence(grid), src)
    book.add("numStrategies", str(len(grid.strategies)), src)
    book.add("numFinalRuns", str(counts["final"]), "report.plan (final runs)")
    book.add("numTuningRuns", str(counts["tune"]), "report.plan (tuning runs)")
    book.add("numPlateauRuns", str(counts["plateau"]), "report.plan (plateau runs)")
    book.add("numRuns", str(counts["final"] + counts["tune"] + counts["plateau"]), "report.plan (every run)")
    book.add("numReusedRuns", str(counts["reused"]), "run records (reused_from)")
    book.add("numTrainJobs", str(counts["jobs"]), "report.plan.all_batches (one training job per batch)")
    tuning_macros(book, grid, src)
    book.add(
        "tuningScope",
        "at every budget separately"
        if grid.tuning["per_budget"]
        else "at the full budget, the choice then used at every budget",
        src,
    )
    book.add("plateauMultiple", str(grid.plateau.get("multiple") or "--"), src)
    book.add("plateauNumSeeds", str(len(grid.plateau.get("seeds") or [])), src)
    book.add("swaStartPercent", number(100 * float(swa.get("start", math.nan)), 0), src)
    fraction = swa.get("swalr_fraction")
    book.add("swaLRPercent", number(100 * float(fraction), 0) if fraction is not None else "--", src)
    if swa.get("ema_from_window"):  # stepsize.config.ema_decay_for_window: one decay per budget
        start = float(swa.get("start", 0.75))
        decays = listing([number(ema_decay_for_window(start, b.steps), 3) for b in grid.budgets])
        budgets = listing([str(b.percent) + "\\%" for b in grid.budgets])
        ema = ("$\\beta = 1 - 2/(W+1)$ for an averaging window of $W$ updates (" + decays + " at " + budgets
               + " of the budget), so that it averages the same stretch of the run as the tail average")
    else:
        ema = "$\\beta = " + sci(float(swa.get("ema_decay", math.nan))) + "$"
    book.add("emaDecay", ema, src)
    book.add(
        "swaVariantList", listing([VARIANT_NAMES.get(v, escape(v)) for v in swa.get("variants", [])]), src
    )
    book.add("anytimePoints", str(len(grid.anytime["fractions"])), src)
    book.add("warmupSentence", _warmup_sentence(grid, cfg), src)
    book.add("bnSentence", _bn_sentence(cfg), src)
    book.add("ciLevel", number(100 * CONFIDENCE, 0), "report.stats.CONFIDENCE")
    book.add("powerPercent", "80", "report.stats.minimum_detectable_effect (power=0.8)")
    book.add("equivalenceMargin", f"{float(grid.report['equivalence_margin_pp']):g}", src)
    book.add("lrFreeMargin", f"{float(grid.report['lr_free_margin_pp']):g}", src)
    book.add("smallBudgetPercent", f"{100 * float(grid.report['small_budget_max_fraction']):g}", src)
    book.add("rMax", f"{float(grid.report['r_max']):g}", src)
    book.add("strategyList", listing([display_name(grid, s) for s in grid.strategies]), src)
    protocol_macros(book, grid)  # \protocolHash, \protocolHistory (report.protocol)


def tuning_macros(book: MacroBook, grid: Grid, src: str) -> None:
    """The tuning protocol (`report.tuning`): declared values per knob (``tuningGridSize``), the bracket
    round's count and ratio, the values tried (declared + bracket), the tuning seeds (count and list;
    ``tuningSeed`` is the list) and the tuning runs per strategy and tuning budget, (grid_size + bracket) ×
    seeds, the same for every strategy."""
    seeds = grid.tuning_seeds
    book.add("tuningGridSize", str(grid.tuning["grid_size"]), src)
    book.add("tuningBracket", str(grid.tuning["bracket"]), src)
    book.add("tuningFactor", f"{float(grid.tuning['factor']):g}", src)
    book.add("tuningValues", str(grid.tuning_size()), src)
    book.add("tuningSeedCount", str(len(seeds)), src)
    book.add("tuningSeed", listing([str(seed) for seed in seeds]), src)
    book.add("tuningRunsPerBudget", str(grid.tuning_size() * len(seeds)), src)
    book.add("ubaKnobSentence", _uba_knob_sentence(grid), src)


def _uba_knob_sentence(grid: Grid) -> str:
    """UBA's knob, as the protocol paragraph names it: its φ at cosine's chosen peak rate (a family of its
    own, φ = 2 reusing cosine's runs), or its peak learning rate at a fixed φ."""
    label = grid.report["uba"]
    s = grid.strategies.get(label)
    if s is None or not s.knob:
        return "no UBA strategy in this grid"
    if s.knob == "schedule.phi":
        parent = s.inherit.get("optimizer.lr")
        at = f", trained at {display_name(grid, parent)}'s chosen peak rate" if parent else ""
        reuse = "; $\\varphi=2$ is cosine, whose runs are reused" if s.reuse_from else ""
        return f"UBA's $\\varphi$ (UBA is treated as a family of its own{at}{reuse})"
    knob = "peak learning rate" if s.knob == "optimizer.lr" else f"\\texttt{{{escape(s.knob)}}}"
    phi = grid.strategy_value(label, "schedule.phi")
    fixed = f" at a fixed $\\varphi={float(phi):g}$ set before the tuning runs from a pilot" if phi else ""
    return f"UBA's {knob}{fixed} (its closed form is second-hand, from a third-party implementation)"


def _warmup_sentence(grid: Grid, cfg: dict[str, Any]) -> str:
    """The reference run's warmup (a fraction of its budget) and the strategies that differ from it."""
    warmup = float(cfg.get("schedule", {}).get("warmup_fraction") or 0.0)
    others = [
        display_name(grid, s)
        for s in grid.strategies
        if float(grid.strategy_value(s, "schedule.warmup_fraction", 0.0) or 0.0) != warmup
    ]
    if warmup > 0:
        text = f"Every strategy starts with one linear warmup over the first {number(100 * warmup, 0)}\\%"
        except_ = f", except {listing(others)} (a warm-up of their own, or none)" if others else ""
        return f"{text} of its budget{except_}"
    return "The schedules use no warmup" + (f", except {listing(others)}" if others else "")


def _seed_count(grid: Grid) -> str:
    """``5 seeds``, or ``5 seeds (10 at the 10 % budget)`` where ``seeds_by_budget`` adds some."""
    extra = [f"{len(grid.seeds_at(b))} at the {b.percent}\\% budget" for b in grid.budgets
             if len(grid.seeds_at(b)) != len(grid.seeds)]
    return f"{len(grid.seeds)} seeds" + (f" ({listing(extra)})" if extra else "")


def _seed_allocation_sentence(grid: Grid) -> str:
    """Why some budgets have more seeds (``seeds_by_budget``), a sentence with its full stop, or nothing."""
    more = [b for b in grid.budgets if len(grid.seeds_at(b)) > len(grid.seeds)]
    if not more:
        return ""
    where = listing([f"{b.percent}\\%" for b in more])
    return (f"The {where} budget{'s' if len(more) > 1 else ''} get{'' if len(more) > 1 else 's'} more seeds: "
            "there the seed-to-seed spread of the paired differences is several times that of the longer "
            "budgets, and a run costs a fraction of a full-budget one. The seeds every budget shares are "
            "the first; a claim pooled over budgets uses only those.")


def _bn_sentence(cfg: dict[str, Any]) -> str:
    """How the raw models' BatchNorm statistics are evaluated (``eval.recompute_bn``, ``swa.bn_batches``)."""
    batches = cfg.get("swa", {}).get("bn_batches")
    batch_size = cfg.get("data", {}).get("batch_size")
    where = ("one epoch of training batches" if batches is None
             else f"{batches} training batches of {batch_size} images" if batch_size
             else f"{batches} training batches")
    if cfg.get("eval", {}).get("recompute_bn", False):
        return (f"Every model is evaluated with its batch-norm statistics recomputed on {where} "
                "(``precise BN'' \\citep{wu2021rethinking}): the raw models as much as the averages "
                "and Schedule-Free, whose authors require it. PyTorch's running statistics lag weights that "
                "still move fast; kept for the raw models only, they would judge those, and not their "
                "rivals, with stale statistics")
    return (f"The raw models are evaluated with PyTorch's running batch-norm statistics; the averages and "
            f"Schedule-Free with statistics recomputed on {where}")
