"""The study grid: load and validate a profile (``experiments/<profile>.yaml``) into a `Grid`.

A profile declares the base training config, the full budget and its fractions, the final seeds, the
tuning protocol, the overrides common to every run and the strategies. A strategy is a label mapped to
dotted-key overrides plus, optionally:

- ``tune: {dotted key: [values]}``: its main knob (peak LR, Schedule-Free's scale, Prodigy's ``d_coef``,
  DoG's ``reps_rel``, OSGM's multiplier, UBA's φ or peak LR), every strategy over ``tuning.grid_size``
  declared values plus ``tuning.bracket`` values of the bracket round, each run with every tuning seed,
  the best mean chosen on validation accuracy per budget (`report.tuning`);
- ``inherit: {dotted key: strategy}``: a value taken from another strategy's choice at the same budget
  (UBA trains at cosine's chosen peak LR, as a strategy of cosine's family);
- ``reuse: {when: {dotted key: value}, from: strategy}``: at that knob value the run equals the other
  strategy's run bit for bit (UBA with φ = 2 is cosine), so its record is copied instead of retrained;
- ``output: <averaging variant>``: the model the strategy is meant to be used with (DoG with its
  polynomial average, ``poly``), on which it is tuned and judged; default ``off``, the raw model.

Every key is checked when the DAG is built (`validate_strategies` resolves each strategy's config with
`stepsize.config`), so a misspelt override fails at once with a one-line error naming the profile, the
strategy and the key. Jobs and plans: `report.plan`. Outputs: design.md §7.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from report import protocol
from report.grid_schema import (
    ANYTIME_DEFAULTS,
    BATCHING_BY,
    BATCHING_DEFAULTS,
    EVAL_SPLITS,
    KNOWN_KEYS,
    LABEL_PATTERN,
    OUTPUTS,
    PLATEAU_DEFAULTS,
    PROFILE_PATTERN,
    REPORT_DEFAULTS,
    REPORT_STRATEGY_KEYS,
    REPORT_STRATEGY_LISTS,
    REQUIRED_KEYS,
    RESOURCE_DEFAULTS,
    RESOURCE_MINIMA,
    RESOURCE_RULES,
    STRATEGY_KEYS,
    SWA_VARIANTS,
    THEORY_SIZES,
    TUNING_DEFAULTS,
    Budget,
    Grid,
    ProfileError,
    Strategy,
)
from stepsize.config import AliasError, NoAliasLoader

#: `report.grid` is where the rest of the code gets a profile's records from.
__all__ = [
    "Budget", "Grid", "ProfileError", "Strategy", "from_dict", "load", "read_yaml", "validate_strategies",
]

# --------------------------------------------------------------------------------------------------
def _is_int_at_least(value: Any, minimum: int) -> bool:
    """``value`` is an integer (not a bool) ≥ ``minimum``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _error(source: str, where: str, message: str) -> ProfileError:
    return ProfileError(f"{source}: {where}: {message}")


def _mapping(raw: Any, source: str, key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """``{**defaults, **raw}`` for a sub-mapping of the profile, unknown keys rejected."""
    if raw is None:
        return dict(defaults)
    if not isinstance(raw, dict):
        raise _error(source, key, f"must be a mapping, got {type(raw).__name__} {raw!r}")
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise _error(source, f"{key}.{unknown[0]}", f"unknown key (known: {sorted(defaults)})")
    return {**defaults, **raw}


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _resources(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """``resources: {rule: {key: value}}``: known rules and keys only, each an integer at or above its
    minimum (`RESOURCE_MINIMA`)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _error(source, "resources", f"must be a mapping rule -> settings, got {raw!r}")
    for rule in raw:
        if rule not in RESOURCE_RULES:
            raise _error(source, f"resources.{rule}", f"unknown rule (known: {list(RESOURCE_RULES)})")
    out = {}
    for rule, res in raw.items():
        _mapping(res, source, f"resources.{rule}", RESOURCE_DEFAULTS)
        for key, value in (res or {}).items():
            low = RESOURCE_MINIMA[key]
            if not _is_int_at_least(value, low):
                raise _error(source, f"resources.{rule}.{key}", f"must be an integer >= {low}, got {value!r}")
        out[rule] = dict(res or {})
    return out


def _report(raw: Any, source: str, strategies: dict[str, Strategy]) -> dict[str, Any]:
    """The ``report`` mapping, defaults filled in; every key the profile sets is type- and range-checked,
    and the strategies it names must be strategies of the profile."""
    report = _mapping(raw, source, "report", REPORT_DEFAULTS)
    given = raw or {}
    for key, value in given.items():
        where = f"report.{key}"
        if key in REPORT_STRATEGY_KEYS:
            if not isinstance(value, str) or value not in strategies:
                raise _error(source, where, f"unknown strategy {value!r} (strategies: {sorted(strategies)})")
        elif key in REPORT_STRATEGY_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _error(source, where, f"must be a list of strategy labels, got {value!r}")
            unknown = [v for v in value if v not in strategies]
            if unknown:
                raise _error(source, where,
                             f"unknown strategy {unknown[0]!r} (strategies: {sorted(strategies)})")
        elif key == "swa_variant":
            if value not in SWA_VARIANTS:
                raise _error(source, where, f"must be one of {list(SWA_VARIANTS)}, got {value!r}")
        elif key == "small_budget_max_fraction":
            if not _is_number(value) or not 0 < value <= 1:
                raise _error(source, where, f"must be a fraction in (0, 1], got {value!r}")
        elif key in ("equivalence_margin_pp", "lr_free_margin_pp"):
            if not _is_number(value) or value <= 0:
                raise _error(source, where, f"must be a positive number of accuracy points, got {value!r}")
        elif key == "r_max" and (not _is_number(value) or value <= 1):
            raise _error(source, where, f"must be a number > 1, got {value!r}")
    return report


def _budgets(raw: dict[str, Any], source: str) -> tuple[int, list[Budget]]:
    if "budget_epochs" in raw:
        epochs, spe = raw["budget_epochs"], raw.get("steps_per_epoch")
        if not _is_int_at_least(spe, 1):
            raise _error(source, "steps_per_epoch", f"budget_epochs needs a positive integer, got {spe!r}")
        if (
            not isinstance(epochs, list)
            or not epochs
            or not all(_is_int_at_least(e, 1) for e in epochs)
        ):
            raise _error(source, "budget_epochs", f"must be a list of positive integers, got {epochs!r}")
        full = max(epochs) * spe
        points = [(e / max(epochs), e * spe) for e in epochs]
    else:
        full = raw.get("full_budget_steps")
        if not _is_int_at_least(full, 1):
            raise _error(source, "full_budget_steps", f"must be a positive integer, got {full!r}")
        fractions = raw.get("budget_fractions")
        if (
            not isinstance(fractions, list)
            or not fractions
            or not all(
                isinstance(f, int | float) and not isinstance(f, bool) and 0 < f <= 1 for f in fractions
            )
        ):
            raise _error(
                source, "budget_fractions", f"must be a list of numbers in (0, 1], got {fractions!r}"
            )
        points = [(float(f), max(1, math.ceil(f * full - 1e-9))) for f in fractions]
    budgets = [Budget(f"b{round(100 * f)}", round(100 * f), f, steps) for f, steps in sorted(points)]
    labels = [b.label for b in budgets]
    if len(set(labels)) != len(labels):
        raise _error(source, "budgets", f"round to duplicate percent labels {labels}")
    if budgets[-1].fraction != 1.0:
        raise _error(
            source, "budgets", "must include the full budget (fraction 1.0 / the largest epoch count)"
        )
    return full, budgets


def _seeds(value: Any, source: str, key: str) -> list[int]:
    if (
        not isinstance(value, list)
        or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in value)
        or len(set(value)) != len(value)
    ):
        raise _error(source, key, f"must be a list of distinct integers in [0, 2^31), got {value!r}")
    return [int(s) for s in value]


def _budget_seeds(raw: Any, budgets: list[Budget], seeds: list[int], source: str) -> dict[str, list[int]]:
    """``seeds_by_budget: {percent: [seeds]}``: a budget's own final seeds, which extend ``seeds`` (so
    the seeds common to every budget are ``seeds``)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _error(source, "seeds_by_budget", f"must map a budget's percent to its seeds, got {raw!r}")
    by_percent = {b.percent: b for b in budgets}
    out = {}
    for given, value in raw.items():
        key = f"seeds_by_budget.{given}"
        # YAML gives an integer key, the profile.json that Snakemake writes a string
        percent = int(given) if isinstance(given, str) and given.isdigit() else given
        if isinstance(percent, bool) or percent not in by_percent:
            raise _error(source, key, f"no budget of {given!r} percent (budgets: {sorted(by_percent)})")
        own = _seeds(value, source, key)
        missing = [s for s in seeds if s not in own]
        if missing:
            raise _error(source, key, f"must extend `seeds` (lacks {missing[0]})")
        out[by_percent[percent].label] = own
    return out


def _tuning(raw: Any, source: str, finals: list[list[int]]) -> dict[str, Any]:
    """``tuning``, defaults filled in: ``seeds`` a non-empty list of seeds that are no final seed (the old
    scalar ``seed: s`` reads as ``seeds: [s]``), ``grid_size`` >= 2 declared values, ``bracket`` >= 0 values
    added by the bracket round, spaced by ``factor`` > 1 (`report.tuning.bracket_values`)."""
    key = "tuning.seeds"
    if isinstance(raw, dict) and "seed" in raw:
        if "seeds" in raw:
            raise _error(source, "tuning.seed", "give `seeds` (a list) or the old `seed`, not both")
        key = "tuning.seed"
        raw = {**{k: v for k, v in raw.items() if k != "seed"}, "seeds": [raw["seed"]]}
    tuning = _mapping(raw, source, "tuning", TUNING_DEFAULTS)
    tuning["seeds"] = _seeds(tuning["seeds"], source, key)
    if not tuning["seeds"]:
        raise _error(source, key, "must list at least one seed, got []")
    for seed in tuning["seeds"]:
        if any(seed in own for own in finals):
            raise _error(source, key, f"{seed} is also a final seed (tuning and judging must not share runs)")
    if not _is_int_at_least(tuning["grid_size"], 2):
        raise _error(source, "tuning.grid_size", f"must be an integer >= 2, got {tuning['grid_size']!r}")
    if not _is_int_at_least(tuning["bracket"], 0):
        raise _error(source, "tuning.bracket", f"must be an integer >= 0, got {tuning['bracket']!r}")
    if not _is_number(tuning["factor"]) or tuning["factor"] <= 1:
        raise _error(source, "tuning.factor", f"must be a number > 1, got {tuning['factor']!r}")
    tuning["factor"] = float(tuning["factor"])
    return tuning


def _strategy(label: Any, raw: Any, source: str, grid_size: int) -> Strategy:
    where = f"strategies.{label}"
    if not isinstance(label, str) or not LABEL_PATTERN.match(label):
        raise _error(source, f"strategies.{label!r}",
                     "a label uses letters, digits, '_' or '.' only, and starts with a letter or digit")
    if not isinstance(raw, dict):
        raise _error(source, where, f"must map dotted keys to values, got {raw!r}")
    overrides = {k: v for k, v in raw.items() if k not in STRATEGY_KEYS}
    for key in overrides:
        if key in ("budget.steps", "train.seed"):
            raise _error(source, f"{where}.{key}", "set by the grid, not by a strategy")
    knob, values = None, ()
    if "tune" in raw:
        tune = raw["tune"]
        if not isinstance(tune, dict) or len(tune) != 1:
            raise _error(source, f"{where}.tune", f"must map one dotted key to its grid, got {tune!r}")
        knob, grid = next(iter(tune.items()))
        if not isinstance(grid, list) or not grid:
            raise _error(source, f"{where}.tune.{knob}", f"the grid must be a non-empty list, got {grid!r}")
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
            for v in grid
        ):
            raise _error(
                source, f"{where}.tune.{knob}", f"grid values must be positive numbers, got {grid!r}"
            )
        if len(set(grid)) != len(grid) or list(grid) != sorted(grid):
            raise _error(source, f"{where}.tune.{knob}", f"grid values must be increasing, got {grid!r}")
        if len(grid) != grid_size:
            raise _error(
                source,
                f"{where}.tune.{knob}",
                f"has {len(grid)} values; every strategy gets the "
                f"same tuning budget, tuning.grid_size = {grid_size}",
            )
        values = tuple(grid)
    inherit = raw.get("inherit") or {}
    if not isinstance(inherit, dict) or not all(isinstance(v, str) for v in inherit.values()):
        raise _error(source, f"{where}.inherit", f"must map dotted keys to strategy labels, got {inherit!r}")
    reuse = raw.get("reuse") or {}
    if reuse and (
        not isinstance(reuse, dict)
        or set(reuse) != {"when", "from"}
        or not isinstance(reuse["when"], dict)
        or not isinstance(reuse["from"], str)
    ):
        raise _error(
            source, f"{where}.reuse", f"must be {{when: {{key: value}}, from: strategy}}, got {reuse!r}"
        )
    output = raw.get("output", "off")
    if output not in OUTPUTS:
        raise _error(source, f"{where}.output", f"must be one of {list(OUTPUTS)}, got {output!r}")
    return Strategy(
        label, overrides, knob, values, dict(inherit), dict(reuse.get("when", {})), reuse.get("from"), output
    )


def _check_references(strategies: dict[str, Strategy], source: str) -> None:
    for s in strategies.values():
        for key, parent in s.inherit.items():
            if parent not in strategies or parent == s.label:
                raise _error(source, f"strategies.{s.label}.inherit.{key}", f"unknown strategy {parent!r}")
            if strategies[parent].knob != key:
                raise _error(source, f"strategies.{s.label}.inherit.{key}", f"{parent} does not tune {key}")
            if strategies[parent].inherit:
                raise _error(
                    source, f"strategies.{s.label}.inherit", f"{parent} inherits itself (one level only)"
                )
        if s.reuse_from is not None:
            if s.reuse_from not in strategies or s.reuse_from == s.label:
                raise _error(source, f"strategies.{s.label}.reuse.from", f"unknown strategy {s.reuse_from!r}")
            if set(s.reuse_when) != {s.knob}:
                raise _error(source, f"strategies.{s.label}.reuse.when", f"must name its knob {s.knob!r}")


def from_dict(raw: dict[str, Any], source: str = "<dict>") -> Grid:
    """Validate a profile mapping and build its :class:`Grid` (the strategies' configs are checked by
    `validate_strategies`, which needs the training core)."""
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: a profile must be a mapping, got {type(raw).__name__}")
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise ProfileError(f"{source}: missing required key {key!r}")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise ProfileError(f"{source}: unknown key {unknown[0]!r} (known: {sorted(KNOWN_KEYS)})")
    profile = raw["profile"]
    if not isinstance(profile, str) or not PROFILE_PATTERN.match(profile):
        raise _error(source, "profile", "must be a plain name (a letter or digit, then letters, digits, '_' "
                                        f"or '-'), got {profile!r}")
    full, budgets = _budgets(raw, source)
    seeds = _seeds(raw["seeds"], source, "seeds")
    if len(seeds) < 2:
        raise _error(source, "seeds", "the claims need at least two paired seeds")
    budget_seeds = _budget_seeds(raw.get("seeds_by_budget"), budgets, seeds, source)
    tuning = _tuning(raw["tuning"], source, [seeds, *budget_seeds.values()])
    if not isinstance(tuning["per_budget"], bool):
        raise _error(source, "tuning.per_budget", f"must be true or false, got {tuning['per_budget']!r}")
    if tuning["metric"] != "val_acc":
        raise _error(source, "tuning.metric", f"only val_acc is supported, got {tuning['metric']!r}")
    strategies_raw = raw["strategies"]
    if not isinstance(strategies_raw, dict) or not strategies_raw:
        raise _error(source, "strategies", "must be a non-empty mapping label -> overrides")
    strategies = {k: _strategy(k, v, source, tuning["grid_size"]) for k, v in strategies_raw.items()}
    _check_references(strategies, source)
    plateau = _mapping(raw.get("plateau"), source, "plateau", PLATEAU_DEFAULTS)
    if plateau["strategy"] is not None:
        if plateau["strategy"] not in strategies:
            raise _error(source, "plateau.strategy", f"unknown strategy {plateau['strategy']!r}")
        if not _is_int_at_least(plateau["multiple"], 2):
            raise _error(source, "plateau.multiple", f"must be an integer >= 2, got {plateau['multiple']!r}")
        plateau["seeds"] = _seeds(plateau["seeds"], source, "plateau.seeds")
        if not plateau["seeds"]:
            raise _error(source, "plateau.seeds", "must list at least one seed")
    anytime = _mapping(raw.get("anytime"), source, "anytime", ANYTIME_DEFAULTS)
    fractions = anytime["fractions"]
    if not isinstance(fractions, list) or not all(
        isinstance(f, int | float) and not isinstance(f, bool) and 0 < f <= 1 for f in fractions
    ):
        raise _error(source, "anytime.fractions", f"must be a list of fractions in (0, 1], got {fractions!r}")
    anytime["fractions"] = [round(float(f), 6) for f in fractions]
    splits = anytime["splits"]
    if (not isinstance(splits, list) or not all(s in EVAL_SPLITS for s in splits)
            or len(set(splits)) != len(splits)):
        raise _error(source, "anytime.splits", f"must be a list of distinct splits from {list(EVAL_SPLITS)}, "
                                               f"got {splits!r}")
    common = {} if raw.get("common") is None else raw["common"]
    if not isinstance(common, dict):  # `common: []` would silently drop every override
        raise _error(source, "common", f"must map dotted keys to values, got {common!r}")
    description = raw.get("description", "")
    if description is not None and not isinstance(description, str):
        raise _error(source, "description", f"must be a string, got {type(description).__name__}")
    train_config = raw["train_config"]
    if not isinstance(train_config, str) or not train_config:
        raise _error(source, "train_config", f"must be the path of a config file, got {train_config!r}")
    if isinstance(raw.get("report"), dict) and "targets" in raw["report"]:  # report.time_to_target
        raise _error(source, "report.targets",
                     "not set by hand: each budget's target is the tuned reference's (report.cosine) mean "
                     "test accuracy there")
    report = _report(raw.get("report"), source, strategies)
    batching = _mapping(raw.get("batching"), source, "batching", BATCHING_DEFAULTS)
    if batching["by"] not in BATCHING_BY:
        raise _error(source, "batching.by", f"must be one of {list(BATCHING_BY)}, got {batching['by']!r}")
    if not _is_int_at_least(batching["max_runs"], 1):
        raise _error(source, "batching.max_runs", f"must be a positive integer, got {batching['max_runs']!r}")
    resources = _resources(raw.get("resources"), source)
    theory = _mapping(raw.get("theory"), source, "theory", {"size": "mini"})
    if theory["size"] not in THEORY_SIZES:
        raise _error(source, "theory.size", f"must be one of {list(THEORY_SIZES)}, got {theory['size']!r}")
    return Grid(
        profile=profile,
        train_config=str(raw["train_config"]),
        full_budget_steps=full,
        budgets=budgets,
        seeds=seeds,
        tuning=tuning,
        plateau=plateau,
        anytime=anytime,
        common=dict(common),
        strategies=strategies,
        theory=theory,
        resources=dict(resources),
        batching=batching,
        report=report,
        description=description or "",
        source=source,
        budget_seeds=budget_seeds,
        protocol_hash=protocol.protocol_hash(raw),
        protocol_history=protocol.history(raw.get("protocol_history"), source),
    )


class _UniqueKeyLoader(NoAliasLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last silently, which
    would drop a strategy whose label is repeated) and aliases (`stepsize.config.NoAliasLoader`: nested
    aliases expand to billions of nodes when the profile is walked)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: str | Path) -> Any:
    """A profile file's content, with duplicate keys and aliases refused (one-line `ProfileError`)."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"profile file not found: {path}")
    try:
        return yaml.load(path.read_text(), Loader=_UniqueKeyLoader)
    except AliasError as err:
        raise ProfileError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise ProfileError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not a text file") from None


def load(path: str | Path) -> Grid:
    """Load and validate a profile YAML file (or the ``profile.json`` the Snakefile writes)."""
    return from_dict(read_yaml(path), source=str(path))


def validate_strategies(grid: Grid) -> None:
    """Resolve every strategy's config at every knob value, at the smallest and the full budget, with the
    training core's validation; a bad key or value raises `ProfileError` naming profile, strategy and key."""
    from stepsize import config

    base = config.load_yaml(grid.train_config)
    for s in grid.strategies.values():
        for value in s.values or (None,):
            knobs = {s.knob: value} if s.knob else {}
            knobs.update({key: grid.strategies[parent].values[0] for key, parent in s.inherit.items()})
            for budget in (grid.budgets[0], grid.full):
                values = grid.overrides(s.label, budget, grid.seeds[0], knobs)
                try:
                    config.resolve(config.apply_values(base, values))
                except ValueError as err:
                    raise ProfileError(f"{grid.source}: strategy {s.label}: {err}") from None
