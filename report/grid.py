"""The study grid: load and validate a profile (``experiments/<profile>.yaml``) and expand it into jobs.

A profile declares the base training config, the full budget, the budget levels, the seeds, the
overrides common to every run and the strategies (label -> dotted-key overrides). One training job runs
per (strategy, budget, seed); its run record lands in ``results/<profile>/runs/<strategy>/b<pct>/s<seed>``
(design.md section 7). The Snakefile, the report and the tests all read the grid through this module,
so the job list has exactly one definition.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LABEL_PATTERN = re.compile(r"^[A-Za-z0-9_.]+$")
REQUIRED_KEYS = ("profile", "train_config", "seeds", "strategies")
KNOWN_KEYS = {
    "profile", "description", "train_config", "full_budget_steps", "budget_fractions", "budget_epochs",
    "steps_per_epoch", "seeds", "common", "strategies", "theory", "resources", "report",
}
REPORT_DEFAULTS: dict[str, Any] = {
    "cosine": "cosine",              # strategy labels the claims compare
    "linear": "linear",
    "step": "step",
    "swa_variant": "swalr",          # the SWA variant the "SWA improves accuracy" claim tests
    "small_budget_max_fraction": 0.25,   # "small budget" for the linear-vs-step claim (Li et al. 2020)
    "equivalence_margin_pp": 0.5,        # +/- margin (accuracy points) for "phi = 2 equals cosine"
    "anytime_strategies": ["cosine", "linear", "step", "uba_phi1", "osgm"],
}
RESOURCE_DEFAULTS: dict[str, Any] = {
    "gpu": 0,              # GPUs per training run; > 1 launches the run with torchrun
    "cpus_per_gpu": 0,     # CPUs per GPU (cluster); 0 = use `threads`
    "threads": 1,          # CPU threads per run (local)
    "mem_mb": 4000,
    "runtime": 30,         # minutes for a full-budget run; a run at fraction f asks for f x this (+10%)
}


class ProfileError(ValueError):
    """A profile is malformed; the message names the file and the bad key or value."""


@dataclass(frozen=True)
class Budget:
    """One budget level of the grid."""

    label: str        # "b25": the path component, b<percent of the full budget, rounded>
    percent: int
    fraction: float   # exact fraction of the full budget
    steps: int        # iterations


@dataclass(frozen=True)
class Job:
    """One training run: a (strategy, budget, seed) grid point."""

    strategy: str
    budget: Budget
    seed: int

    def run_dir(self, profile: str) -> str:
        """The run's output folder (relative to the repository root)."""
        return f"results/{profile}/runs/{self.strategy}/{self.budget.label}/s{self.seed}"


@dataclass
class Grid:
    """A validated profile."""

    profile: str
    train_config: str
    full_budget_steps: int
    budgets: list[Budget]
    seeds: list[int]
    common: dict[str, Any]
    strategies: dict[str, dict[str, Any]]
    theory: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = "<dict>"

    # ----------------------------------------------------------------------------------------------
    @property
    def jobs(self) -> list[Job]:
        """Every training job, in strategy-major order."""
        return [Job(s, b, seed) for s in self.strategies for b in self.budgets for seed in self.seeds]

    def budget(self, label: str) -> Budget:
        """The budget with path label ``label`` (``b25``)."""
        for b in self.budgets:
            if b.label == label:
                return b
        known = [b.label for b in self.budgets]
        raise ProfileError(f"{self.source}: unknown budget label {label!r} (known: {known})")

    def overrides(self, strategy: str, budget_label: str, seed: int) -> dict[str, Any]:
        """All ``--set`` overrides of one run: common, then the strategy's, then budget and seed."""
        if strategy not in self.strategies:
            raise ProfileError(f"{self.source}: unknown strategy {strategy!r}")
        merged = dict(self.common)
        merged.update(self.strategies[strategy])
        merged["budget.steps"] = self.budget(budget_label).steps
        merged["train.seed"] = int(seed)
        return merged

    def train_args(self, strategy: str, budget_label: str, seed: int) -> str:
        """The ``--set key=value`` arguments of one run, shell-quoted (values as JSON, a YAML subset)."""
        parts = [f"--set {shlex.quote(f'{k}={json.dumps(v)}')}"
                 for k, v in self.overrides(strategy, budget_label, seed).items()]
        return " ".join(parts)

    def section(self, strategy: str, section: str) -> dict[str, Any]:
        """The overrides of one config section (``optimizer``, ``schedule``, ...) a strategy runs with.

        The common dotted keys come first; a strategy that sets the whole section to a mapping
        (``optimizer: {name: osgm, lr: 1.0}``) replaces them, as ``--set section={...}`` does."""
        own = self.strategies[strategy]
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

    def uba_phis(self) -> dict[str, float]:
        """UBA strategies (``schedule.name: uba``) -> their phi, sorted by phi."""
        found = {s: float(self.strategy_value(s, "schedule.phi")) for s in self.strategies
                 if self.strategy_value(s, "schedule.name") == "uba"
                 and self.strategy_value(s, "schedule.phi") is not None}
        return dict(sorted(found.items(), key=lambda kv: kv[1]))

    def train_resources(self) -> dict[str, Any]:
        """Resources of one training job, defaults filled in."""
        res = dict(RESOURCE_DEFAULTS)
        res.update(self.resources.get("train", {}))
        return res


# --------------------------------------------------------------------------------------------------
def _budgets(raw: dict[str, Any], source: str) -> tuple[int, list[Budget]]:
    if "budget_epochs" in raw:
        epochs = raw["budget_epochs"]
        spe = raw.get("steps_per_epoch")
        if not isinstance(spe, int) or spe <= 0:
            raise ProfileError(f"{source}: budget_epochs needs a positive integer steps_per_epoch, "
                               f"got {spe!r}")
        if not isinstance(epochs, list) or not epochs or not all(
                isinstance(e, int) and e > 0 for e in epochs):
            raise ProfileError(f"{source}: budget_epochs must be a list of positive integers, got {epochs!r}")
        full_epochs = max(epochs)
        full = full_epochs * spe
        points = [(e / full_epochs, e * spe) for e in epochs]
    else:
        full = raw.get("full_budget_steps")
        if not isinstance(full, int) or full <= 0:
            raise ProfileError(f"{source}: full_budget_steps must be a positive integer, got {full!r}")
        fractions = raw.get("budget_fractions")
        if not isinstance(fractions, list) or not fractions or not all(
                isinstance(f, int | float) and 0 < f <= 1 for f in fractions):
            raise ProfileError(f"{source}: budget_fractions must be a list of numbers in (0, 1], "
                               f"got {fractions!r}")
        points = [(float(f), max(1, math.ceil(f * full - 1e-9))) for f in fractions]
    budgets = []
    for f, steps in sorted(points):
        pct = round(100 * f)
        budgets.append(Budget(label=f"b{pct}", percent=pct, fraction=f, steps=steps))
    labels = [b.label for b in budgets]
    if len(set(labels)) != len(labels):
        raise ProfileError(f"{source}: budgets round to duplicate percent labels {labels}")
    return full, budgets


def from_dict(raw: dict[str, Any], source: str = "<dict>") -> Grid:
    """Validate a profile mapping and build its :class:`Grid`."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: a profile must be a mapping, got {type(raw).__name__}")
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise ProfileError(f"{source}: missing required key {key!r}")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise ProfileError(f"{source}: unknown key {unknown[0]!r} (known: {sorted(KNOWN_KEYS)})")
    profile = raw["profile"]
    if not isinstance(profile, str) or not LABEL_PATTERN.match(profile):
        raise ProfileError(f"{source}: profile must be a name of letters, digits, '_' or '.', "
                           f"got {profile!r}")
    full, budgets = _budgets(raw, source)
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise ProfileError(f"{source}: seeds must be a list of distinct integers, got {seeds!r}")
    strategies = raw["strategies"]
    if not isinstance(strategies, dict) or not strategies:
        raise ProfileError(f"{source}: strategies must be a non-empty mapping label -> overrides")
    for label, overrides in strategies.items():
        if not isinstance(label, str) or not LABEL_PATTERN.match(label):
            raise ProfileError(f"{source}: strategy label {label!r} must use letters, digits, '_' "
                               "or '.' only")
        if not isinstance(overrides, dict):
            raise ProfileError(f"{source}: strategies.{label} must map dotted keys to values, "
                               f"got {overrides!r}")
        for key in overrides:
            if key in ("budget.steps", "train.seed"):
                raise ProfileError(f"{source}: strategies.{label} must not set {key!r} (the grid sets it)")
    common = raw.get("common") or {}
    if not isinstance(common, dict):
        raise ProfileError(f"{source}: common must map dotted keys to values, got {common!r}")
    report = dict(REPORT_DEFAULTS)
    report.update(raw.get("report") or {})
    unknown_report = sorted(set(report) - set(REPORT_DEFAULTS))
    if unknown_report:
        raise ProfileError(f"{source}: unknown key report.{unknown_report[0]} "
                           f"(known: {sorted(REPORT_DEFAULTS)})")
    resources = raw.get("resources") or {}
    for rule, res in resources.items():
        bad = sorted(set(res) - set(RESOURCE_DEFAULTS))
        if bad:
            raise ProfileError(f"{source}: unknown key resources.{rule}.{bad[0]} "
                               f"(known: {sorted(RESOURCE_DEFAULTS)})")
    return Grid(
        profile=profile, train_config=str(raw["train_config"]), full_budget_steps=full, budgets=budgets,
        seeds=[int(s) for s in seeds], common=dict(common),
        strategies={k: dict(v) for k, v in strategies.items()},
        theory=dict(raw.get("theory") or {}), resources=dict(resources), report=report,
        description=str(raw.get("description", "")), source=source,
    )


def load(path: str | Path) -> Grid:
    """Load and validate a profile YAML file."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"profile file not found: {path}")
    with path.open() as fh:
        raw = yaml.safe_load(fh)
    return from_dict(raw, source=str(path))
