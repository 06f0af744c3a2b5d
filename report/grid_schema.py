"""What a study profile may contain and what it becomes: the keys of ``experiments/<profile>.yaml``, their
defaults, and the `Budget`, `Strategy` and `Grid` records that `report.grid` builds from a valid profile
(the keys' meaning: the docstring of `report.grid` and design.md §7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: A strategy label: a path component under results/<profile>/ (never ``.`` or ``..``).
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]*$")
#: A profile name: a plain label, the folder of its outputs under results/, figures/ and paper/build/.
PROFILE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
REQUIRED_KEYS = ("profile", "train_config", "seeds", "strategies", "tuning")
KNOWN_KEYS = {
    "profile",
    "description",
    "protocol_history",  # the protocol's changes (report.protocol)
    "train_config",
    "full_budget_steps",
    "budget_fractions",
    "budget_epochs",
    "steps_per_epoch",
    "seeds",
    "seeds_by_budget",
    "tuning",
    "plateau",
    "anytime",
    "common",
    "strategies",
    "theory",
    "resources",
    "batching",
    "report",
}
STRATEGY_KEYS = ("tune", "inherit", "reuse", "output")  # reserved keys of a strategy; others are dotted keys
OUTPUTS = ("off", "tail", "ema", "swalr", "poly")
ANYTIME_DEFAULTS: dict[str, Any] = {"fractions": [0.1 * i for i in range(1, 11)], "splits": ["val"]}
#: ``seeds``: the tuning seeds (never final seeds; the old scalar ``seed: s`` reads as ``seeds: [s]``);
#: ``grid_size``: declared values per knob; ``bracket``: values added per tuning budget by the bracket round
#: (`report.tuning.bracket_values`), whose ratio is ``factor``.
TUNING_DEFAULTS: dict[str, Any] = {
    "seeds": [1000], "grid_size": 3, "bracket": 0, "factor": 2.0, "per_budget": True, "metric": "val_acc",
}
PLATEAU_DEFAULTS: dict[str, Any] = {"strategy": None, "multiple": 4, "seeds": []}
BATCHING_DEFAULTS: dict[str, Any] = {"by": "strategy", "max_runs": 40}
BATCHING_BY = ("strategy", "budget", "count")
THEORY_SIZES = ("smoke", "mini", "full")
RESOURCE_DEFAULTS: dict[str, Any] = {
    "gpu": 0,  # GPUs per training job; > 1 launches each run with torchrun
    "cpus_per_gpu": 0,  # CPUs per GPU (cluster); 0 = use `threads`
    "threads": 1,  # CPU threads per job (local)
    "runs_per_gpu": 1,  # concurrent runs sharing one GPU (processes of `stepsize.batch --workers`)
    "mem_mb": 4000,
    "runtime": 30,  # minutes for one full-budget run; a job asks for the sum over its runs (+10%)
}
#: The rules `resources` may set (the training jobs); their keys and defaults: `RESOURCE_DEFAULTS`.
RESOURCE_RULES = ("train",)
#: Smallest value of each resource (``gpu`` and ``cpus_per_gpu`` may be 0, the others must be positive).
RESOURCE_MINIMA: dict[str, int] = {"gpu": 0, "cpus_per_gpu": 0, "threads": 1, "runs_per_gpu": 1, "mem_mb": 1,
                                   "runtime": 1}
EVAL_SPLITS = ("test", "val")
SWA_VARIANTS = ("tail", "swalr", "ema", "poly")
#: Report keys naming one strategy (a strategy of the profile when the profile sets them) / a list of them.
REPORT_STRATEGY_KEYS = ("cosine", "linear", "step", "wsd", "wsd_linear", "uba", "sgd_baseline",
                        "adam_baseline", "constant")
REPORT_STRATEGY_LISTS = ("schedule_free", "lr_free", "anytime_strategies")
REPORT_DEFAULTS: dict[str, Any] = {
    "cosine": "cosine",
    "linear": "linear",
    "step": "multistep",
    "wsd": "wsd",
    "wsd_linear": "wsd_linear",
    "uba": "uba",
    "schedule_free": ["sf_sgd", "sf_adamw"],
    "lr_free": ["prodigy", "dadapt", "dog"],
    "sgd_baseline": "cosine",
    "adam_baseline": "adamw_cosine",
    "constant": "constant",
    "swa_variant": "swalr",
    "small_budget_max_fraction": 0.25,
    "equivalence_margin_pp": 0.5,  # +/- margin (accuracy points) of the equivalence/non-inferiority claims
    "lr_free_margin_pp": 1.0,  # delta of "the learning-rate-free methods land within delta"
    # no `targets`: the time-to-target targets are results, the tuned reference's mean test accuracy at
    # each budget (report.time_to_target); a profile that sets them is refused (report.grid)
    "r_max": 4.0,  # AlgoPerf's cut-off of the performance profiles
    # the anytime figure's strategies: the only ones evaluated along their full-budget runs
    "anytime_strategies": ["cosine", "linear", "multistep", "sf_sgd", "osgm"],
}


class ProfileError(ValueError):
    """A profile is malformed; the message names the file and the bad key or value."""


@dataclass(frozen=True)
class Budget:
    """One budget level of the grid."""

    label: str  # "b25": the path component, b<percent of the full budget, rounded>
    percent: int
    fraction: float  # exact fraction of the full budget
    steps: int  # iterations


@dataclass(frozen=True)
class Strategy:
    """One strategy: its overrides, its knob (key and grid) and what it takes from other strategies."""

    label: str
    overrides: dict[str, Any]
    knob: str | None = None
    values: tuple[Any, ...] = ()
    inherit: dict[str, str] = field(default_factory=dict)
    reuse_when: dict[str, Any] = field(default_factory=dict)
    reuse_from: str | None = None
    output: str = "off"


@dataclass
class Grid:
    """A validated profile."""

    profile: str
    train_config: str
    full_budget_steps: int
    budgets: list[Budget]
    seeds: list[int]  # the final seeds of every budget
    tuning: dict[str, Any]
    plateau: dict[str, Any]
    anytime: dict[str, Any]
    common: dict[str, Any]
    strategies: dict[str, Strategy]
    theory: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    batching: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = "<dict>"
    budget_seeds: dict[str, list[int]] = field(default_factory=dict)  # budget label -> its own seeds
    protocol_hash: str = ""  # report.protocol.protocol_hash of the profile
    protocol_history: list[dict[str, Any]] = field(default_factory=list)  # report.protocol.history

    # ----------------------------------------------------------------------------------------------
    def budget(self, label: str) -> Budget:
        """The budget with path label ``label`` (``b25``)."""
        for b in self.budgets:
            if b.label == label:
                return b
        raise ProfileError(
            f"{self.source}: unknown budget label {label!r} (known: {[b.label for b in self.budgets]})"
        )

    def seeds_at(self, budget: Budget) -> list[int]:
        """The final seeds of ``budget``: ``seeds``, extended at a budget that ``seeds_by_budget`` names."""
        return self.budget_seeds.get(budget.label, self.seeds)

    @property
    def full(self) -> Budget:
        """The full budget (the largest)."""
        return self.budgets[-1]

    def tuning_budgets(self) -> list[Budget]:
        """The budgets tuning runs at: every one (per-budget tuning), or the full one (transferred)."""
        return list(self.budgets) if self.tuning["per_budget"] else [self.full]

    @property
    def tuning_seeds(self) -> list[int]:
        """The tuning seeds: every knob value is run once with each (its score is the mean)."""
        return [int(seed) for seed in self.tuning["seeds"]]

    def tuning_size(self) -> int:
        """Values a tuned strategy tries per tuning budget: ``grid_size`` declared + ``bracket`` added,
        the same for every strategy (× the tuning seeds: its tuning runs per budget)."""
        return int(self.tuning["grid_size"]) + int(self.tuning["bracket"])

    def section(self, strategy: str, section: str) -> dict[str, Any]:
        """The overrides of one config section (``optimizer``, ``schedule``, ...) a strategy runs with
        (knob and inherited values not included). A strategy that sets the whole section to a mapping
        (``optimizer: {name: adamw, lr: 0.001}``) replaces the common dotted keys, as ``--set`` does."""
        own = self.strategies[strategy].overrides
        if isinstance(own.get(section), dict):
            return dict(own[section])
        prefix = section + "."
        merged = {k.removeprefix(prefix): v for k, v in self.common.items() if k.startswith(prefix)}
        if isinstance(self.common.get(section), dict):
            merged = {**self.common[section], **merged}
        merged.update({k.removeprefix(prefix): v for k, v in own.items() if k.startswith(prefix)})
        return merged

    def strategy_value(self, strategy: str, key: str, default: Any = None) -> Any:
        """A dotted key's value for a strategy (its override, else the common one, else ``default``)."""
        section, _, leaf = key.partition(".")
        return self.section(strategy, section).get(leaf, default)

    def optimizer_name(self, strategy: str) -> str:
        """The optimizer a strategy's runs use: its own or the common one, else the base training config's
        (``train_config``), else the training core's default."""
        name = self.strategy_value(strategy, "optimizer.name")
        if name is None:
            from stepsize import config

            base = config.load_yaml(self.train_config) if Path(self.train_config).is_file() else {}
            name = (base.get("optimizer") or {}).get("name") or config.DEFAULTS["optimizer"]["name"]
        return str(name)

    def overrides(
        self, strategy: str, budget: Budget, seed: int, knobs: dict[str, Any], phase: str = "final"
    ) -> dict[str, Any]:
        """All ``--set`` overrides of one run: common, the strategy's, the phase's evaluation, its knob
        values, budget and seed. A dotted key under a section the strategy replaces whole goes into that
        mapping."""
        merged = dict(self.common)
        merged.update(self.strategies[strategy].overrides)
        merged.update(self.phase_overrides(phase, strategy, budget))
        for key, value in knobs.items():
            section, _, leaf = key.partition(".")
            if isinstance(merged.get(section), dict):
                merged[section] = {**merged[section], leaf: value}
            else:
                merged[key] = value
        merged["budget.steps"] = budget.steps
        merged["train.seed"] = int(seed)
        return merged

    def anytime_strategies(self) -> list[str]:
        """The anytime figure's strategies: ``report.anytime_strategies`` that are strategies of the
        profile, else the first five."""
        chosen = [s for s in self.report["anytime_strategies"] if s in self.strategies]
        return chosen or list(self.strategies)[:5]

    def phase_overrides(self, phase: str, strategy: str, budget: Budget) -> dict[str, Any]:
        """What a phase evaluates: tuning runs only the validation split at the end (and only the average
        the strategy is judged on); final runs the test and validation splits, and, only where a figure
        reads them (the anytime figure's strategies, `anytime_strategies`, at the full budget), the
        ``anytime.splits`` along the way too (the judged model only, so a strategy judged on its raw model
        skips the running average there); plateau runs test and validation. Time to target needs no
        evaluation along a run: it judges each budget's final run (`report.time_to_target`)."""
        output = self.strategies[strategy].output
        if phase == "tune":
            return {
                "eval.final": ["val"],
                "eval.averages": ["val"],
                "eval.along": [],
                "eval.at_fractions": [],
                "swa.variants": [] if output == "off" else [output],
            }
        along = phase == "final" and budget == self.full and strategy in self.anytime_strategies()
        running = "off" if output == "swalr" else output  # the SWALR branch runs after the base run
        return {
            "eval.final": ["test", "val"],
            "eval.averages": ["test"],
            "eval.along": list(self.anytime["splits"]) if along else [],
            "eval.at_fractions": list(self.anytime["fractions"]) if along else [],
            **({"swa.running": running} if along else {}),
        }

    def reference_optimizer(self) -> str | None:
        """The hand-made schedules' optimizer: the reference strategy's (cosine), else the common one."""
        if self.report["cosine"] in self.strategies:
            return self.strategy_value(self.report["cosine"], "optimizer.name")
        common = self.common.get("optimizer")
        return common.get("name") if isinstance(common, dict) else self.common.get("optimizer.name")

    def uba_phis(self) -> dict[str, tuple[float, ...]]:
        """UBA strategies -> the φ values they train with: their declared φ values when φ is their knob
        (the bracket round's values depend on the tuning results), else their fixed φ."""
        found = {}
        for label, s in self.strategies.items():
            if self.strategy_value(label, "schedule.name") != "uba":
                continue
            if s.knob == "schedule.phi":
                found[label] = tuple(float(v) for v in s.values)
            elif self.strategy_value(label, "schedule.phi") is not None:
                found[label] = (float(self.strategy_value(label, "schedule.phi")),)
        return found

    def train_resources(self) -> dict[str, Any]:
        """Resources of one training job, defaults filled in."""
        return {**RESOURCE_DEFAULTS, **self.resources.get("train", {})}
