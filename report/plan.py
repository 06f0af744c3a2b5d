"""The study's runs, how they are grouped into jobs, and each job's plan (design.md §7).

Three phases, each a set of runs with one output folder per run:

- ``tune``: every strategy at every value of its knob, at every budget (per-budget tuning) or at the
  full budget only, with every tuning seed: ``results/<p>/tune/<strategy>/b<pct>/k<i>/s<seed>/run.json``.
  Round 1 is the declared values (k0 .. k<grid_size - 1>); round 2, the bracket round, ``tuning.bracket``
  more values (k<grid_size> ...) that depend on round 1's scores at that budget
  (`report.tuning.bracket_values`), so their plan is written once the round-1 records exist;
- ``final``: every strategy at its chosen knob (`report.tuning`), every budget and final seed:
  ``results/<p>/runs/<strategy>/b<pct>/s<seed>/run.json``, judged on the test split;
- ``plateau``: the plateau strategy at ``multiple`` × the full budget with its full-budget choice:
  ``results/<p>/plateau/<strategy>/s<seed>/run.json`` (how far the full budget is from convergence).

A *batch* is one Snakemake job (`stepsize.batch` runs it in one process): the runs of one strategy
(``batching.by: strategy``), of one strategy and budget (``budget``), or up to ``max_runs`` runs of
several strategies that depend on no other (``count``); every kind is cut into chunks of at most
``batching.max_runs`` runs. A strategy that inherits a value from, or reuses the runs of, another one is
always batched on its own (its plan needs the other's choice), and so are the bracket-round runs of each
strategy (``tune2_<strategy>_<i>`` jobs: their plan needs that strategy's round-1 records). Plans are
written by the Snakefile once the choices and records they depend on exist (`plan_inputs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from report.grid import Budget, Grid

PHASES = ("tune", "final", "plateau")


@dataclass(frozen=True)
class Run:
    """One planned training run."""

    phase: str
    strategy: str
    budget: Budget
    seed: int
    index: int | None = None  # knob index of a tuning run (round 2: grid_size and up)

    def out(self, profile: str) -> str:
        """The run's output folder (relative to the repository root)."""
        if self.phase == "tune":
            return f"results/{profile}/tune/{self.strategy}/{self.budget.label}/k{self.index}/s{self.seed}"
        if self.phase == "plateau":
            return f"results/{profile}/plateau/{self.strategy}/s{self.seed}"
        return f"results/{profile}/runs/{self.strategy}/{self.budget.label}/s{self.seed}"

    def record(self, profile: str) -> str:
        return f"{self.out(profile)}/run.json"


def plateau_budget(grid: Grid) -> Budget:
    """``multiple`` × the full budget."""
    multiple = int(grid.plateau["multiple"])
    return Budget(f"x{multiple}", 100 * multiple, float(multiple), multiple * grid.full.steps)


def tuning_round(grid: Grid, run: Run) -> int:
    """A tuning run's round: 1 for a declared value (index < ``grid_size``), 2 for a bracket value."""
    return 1 if run.index is not None and run.index < int(grid.tuning["grid_size"]) else 2


def runs(grid: Grid, phase: str, strategy: str | None = None) -> list[Run]:
    """Every run of ``phase`` (of one strategy if given), in strategy, budget, knob, seed order; a tuned
    strategy's tuning runs: ``grid.tuning_size()`` values × the tuning seeds per tuning budget."""
    labels = [strategy] if strategy else list(grid.strategies)
    out: list[Run] = []
    for label in labels:
        s = grid.strategies[label]
        if phase == "tune":
            if s.knob:
                out += [
                    Run("tune", label, b, seed, i)
                    for b in grid.tuning_budgets()
                    for i in range(grid.tuning_size())
                    for seed in grid.tuning_seeds
                ]
        elif phase == "final":
            out += [Run("final", label, b, seed) for b in grid.budgets for seed in grid.seeds_at(b)]
        elif phase == "plateau":
            if grid.plateau["strategy"] == label:
                out += [Run("plateau", label, plateau_budget(grid), seed) for seed in grid.plateau["seeds"]]
        else:
            raise ValueError(f"unknown phase {phase!r} (phases: {', '.join(PHASES)})")
    return out


def dependencies(grid: Grid, strategy: str) -> list[str]:
    """The strategies whose choices or runs ``strategy`` needs (inherit and reuse sources)."""
    s = grid.strategies[strategy]
    found = list(dict.fromkeys([*s.inherit.values(), *([s.reuse_from] if s.reuse_from else [])]))
    return found


@dataclass(frozen=True)
class Batch:
    """One training job: a chunk of the runs of one phase."""

    phase: str
    name: str
    runs: tuple[Run, ...]
    round: int = 1  # a tuning job's round (2: the bracket round)

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(r.strategy for r in self.runs))

    def plan_path(self, profile: str) -> str:
        return f"results/{profile}/plans/{self.name}.json"

    def outputs(self, profile: str) -> list[str]:
        return [r.record(profile) for r in self.runs]

    def cost(self) -> int:
        """Updates of the batch (its relative runtime)."""
        return sum(r.budget.steps for r in self.runs)


def selection_path(grid: Grid, strategy: str) -> str:
    """The choice of a strategy's knob (and inherited values) per budget, written by rule ``select``."""
    return f"results/{grid.profile}/tuning/{strategy}.json"


def _chunks(items: list[Run], size: int) -> list[list[Run]]:
    n = max(1, math.ceil(len(items) / size))
    per = math.ceil(len(items) / n)
    return [items[i : i + per] for i in range(0, len(items), per)]


def _groups(grid: Grid, own: dict[str, list[Run]], pool: bool) -> list[tuple[str, list[Run]]]:
    """Runs grouped by ``batching.by``: per strategy, per strategy and budget, or (``count``, when
    ``pool``) the strategies that depend on no other pooled under the key ``all``."""
    by = grid.batching["by"]
    groups: list[tuple[str, list[Run]]] = []
    free: list[Run] = []
    for label, items in own.items():
        if not items:
            continue
        if by == "count" and pool and not dependencies(grid, label):
            free += items
        elif by == "budget":
            for b in dict.fromkeys(r.budget for r in items):
                groups.append((f"{label}_{b.label}", [r for r in items if r.budget == b]))
        else:
            groups.append((label, items))
    if free:
        groups.insert(0, ("all", free))
    return groups


def batches(grid: Grid, phase: str) -> list[Batch]:
    """The jobs of ``phase`` (module docstring); for ``tune`` the round-1 jobs, then the bracket round's
    (``tune2_...``, never pooled across strategies)."""
    size = int(grid.batching["max_runs"])
    rounds = [("tune", 1), ("tune2", 2)] if phase == "tune" else [(phase, 1)]
    out = []
    for tag, number in rounds:
        own = {
            label: [r for r in runs(grid, phase, label) if phase != "tune" or tuning_round(grid, r) == number]
            for label in grid.strategies
        }
        for key, items in _groups(grid, own, pool=number == 1):
            for i, chunk in enumerate(_chunks(items, size)):
                out.append(Batch(phase, f"{tag}_{key}_{i}".replace(".", "_"), tuple(chunk), number))
    return out


def all_batches(grid: Grid) -> list[Batch]:
    return [b for phase in PHASES for b in batches(grid, phase)]


# ---------------------------------------------------------------------------------------------- plans
def knob_values(grid: Grid, run: Run, selection: dict[str, Any] | None) -> dict[str, Any]:
    """The knob (and inherited) values of a final or plateau run: the strategy's choice at the run's
    budget (the full budget's for plateau runs); inherited values from the selection (which records
    them). A tuning run's values: `tuning_knobs`."""
    s = grid.strategies[run.strategy]
    label = grid.full.label if run.phase == "plateau" or not grid.tuning["per_budget"] else run.budget.label
    chosen = (selection or {}).get("budgets", {}).get(label, {})
    values = dict(chosen.get("inherited", {}))
    if s.knob:
        values[s.knob] = chosen["value"]
    return values


def tuning_knobs(
    grid: Grid,
    run: Run,
    selections: dict[str, dict[str, Any]],
    records: dict[Run, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """A tuning run's knob value (index ``run.index`` of `report.tuning.values_tried`: a declared value,
    or a bracket value computed from the round-1 ``records`` at its budget) and the values it inherits
    from its parents' selections at that budget."""
    from report.tuning import values_tried  # report.tuning imports this module

    s = grid.strategies[run.strategy]
    label = run.budget.label if grid.tuning["per_budget"] else grid.full.label
    knobs = {k: selections[p]["budgets"][label]["value"] for k, p in s.inherit.items()}
    if tuning_round(grid, run) == 1:
        knobs[s.knob] = s.values[run.index]
    else:
        knobs[s.knob] = values_tried(grid, run.strategy, run.budget, records or {})[run.index]
    return knobs


def reuse_source(
    grid: Grid, run: Run, knobs: dict[str, Any], parent_selection: dict[str, Any] | None
) -> str | None:
    """The record a run reuses (its declared twin, e.g. cosine for UBA at φ = 2), or None."""
    s = grid.strategies[run.strategy]
    if s.reuse_from is None or any(knobs.get(k) != v for k, v in s.reuse_when.items()):
        return None
    if run.phase == "final":
        return Run("final", s.reuse_from, run.budget, run.seed).record(grid.profile)
    if run.phase == "tune":  # the parent's tuning run at the value this run inherited from it, same seed
        label = run.budget.label if grid.tuning["per_budget"] else grid.full.label
        index = parent_selection["budgets"][label]["index"]
        return Run("tune", s.reuse_from, run.budget, run.seed, index).record(grid.profile)
    return None  # plateau runs are never reused


def plan(
    grid: Grid,
    batch: Batch,
    selections: dict[str, dict[str, Any]],
    records: dict[Run, dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    """The plan file of a batch for `stepsize.batch`; ``selections``: strategy -> its selection JSON
    (the batch's own strategies for final/plateau runs, their parents' for tuning runs); ``records``:
    the round-1 records a bracket-round batch's values come from (`round_one_runs`)."""
    planned = []
    for run in batch.runs:
        s = grid.strategies[run.strategy]
        if run.phase == "tune":
            knobs = tuning_knobs(grid, run, selections, records)
        else:
            knobs = knob_values(grid, run, selections.get(run.strategy))
        source = reuse_source(grid, run, knobs, selections.get(s.reuse_from) if s.reuse_from else None)
        planned.append(
            {
                "config": grid.train_config,
                "set": grid.overrides(run.strategy, run.budget, run.seed, knobs, run.phase),
                "out": run.out(grid.profile),
                "reuse": source,
            }
        )
    return {"phase": batch.phase, "batch": batch.name, "runs": planned}


def round_one_runs(grid: Grid, batch: Batch) -> list[Run]:
    """The round-1 runs whose scores decide a bracket-round batch's values: every declared value and
    tuning seed of its strategies at its budgets (none for any other batch)."""
    if batch.phase != "tune" or batch.round != 2:
        return []
    pairs = {(r.strategy, r.budget) for r in batch.runs}
    return [
        r
        for label in batch.strategies
        for r in runs(grid, "tune", label)
        if (r.strategy, r.budget) in pairs and tuning_round(grid, r) == 1
    ]


def plan_inputs(grid: Grid, batch: Batch) -> dict[str, list[str]]:
    """What a batch's plan needs: the selection files it reads (``selections``), the round-1 records a
    bracket-round plan reads (``records``, `round_one_runs`) and the records its runs may reuse
    (``reuse``; the train job depends on them)."""
    selections: list[str] = []
    reuse: list[str] = []
    for label in batch.strategies:
        s = grid.strategies[label]
        if batch.phase == "tune":
            selections += [selection_path(grid, p) for p in s.inherit.values()]
            if s.reuse_from:
                selections.append(selection_path(grid, s.reuse_from))
                reuse += [r.record(grid.profile) for r in runs(grid, "tune", s.reuse_from)]
        else:
            selections.append(selection_path(grid, label))
            if batch.phase == "final" and s.reuse_from:
                reuse += [r.record(grid.profile) for r in runs(grid, "final", s.reuse_from)]
    return {
        "selections": list(dict.fromkeys(selections)),
        "records": [r.record(grid.profile) for r in round_one_runs(grid, batch)],
        "reuse": list(dict.fromkeys(reuse)),
    }
