"""Training configuration: defaults, YAML loading, ``--set`` overrides and validation (design.md §4).

``resolve(raw)`` merges ``raw`` over `DEFAULTS`, fills in the defaults of the named dataset, model,
optimizer and schedule, and checks every key. Any problem raises ``ValueError`` with one line that names
the dotted key (with a close-match suggestion for a misspelt key). The result is the full resolved
config that is stored in ``run.json`` and compared on resume; it holds JSON types only (a tuple default,
such as Adam's ``betas``, is given and resolved as a list), so it equals itself read back from JSON.

Overrides: ``apply_overrides(cfg, ["optimizer.lr=0.05", ...])`` sets dotted keys; values are parsed as
YAML. Setting a whole section to a mapping (``--set 'optimizer={name: adam, lr: 0.001}'``) replaces it.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

SWA_VARIANTS = ("tail", "swalr", "ema", "poly")  # stepsize.averaging.KINDS (kept import-free here)
EVAL_SPLITS = ("test", "val")
AMP_MODES = ("auto", "bf16", "off")

DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {"name": "fashion_mnist"},  # plus the keys of the dataset builder's DEFAULTS
    "model": {"name": "mini_resnet", "width": None},  # width null = the model's own default
    "optimizer": {"name": "momentum", "lr": 0.1},  # plus the optimizer's keyword arguments
    "schedule": {"name": "cosine", "warmup_steps": 0, "warmup_fraction": 0.0},  # plus its own parameters
    "budget": {"steps": 400},
    "swa": {
        "variants": [],  # subset of [tail, swalr, ema]
        "start": 0.75,  # averaging starts after round(start × steps) updates
        "period": 1,  # tail/swalr average every `period` updates (EMA: every update)
        "swalr_lr": 0.05,  # SWALR's constant rate (absolute; or swalr_fraction × optimizer.lr)
        "swalr_fraction": None,  # if set, swalr_lr = swalr_fraction × optimizer.lr (a tuned peak)
        "anneal_steps": 0,
        "ema_decay": 0.999,
        # true: ema_decay = 1 − 2/(W + 1) for the averaging window W = steps − round(start × steps), the EMA
        # whose centre of mass matches the window's equal-weight (tail) average, so both average the same
        # stretch of the run at every budget
        "ema_from_window": False,
        "poly_gamma": 8.0,  # gamma of the polynomial-decay average (DoG's averager)
        "bn_batches": None,  # batches for update_bn (null = one epoch)
        "running": None,  # the average the anytime evaluations report (null: tail, ema or poly; off: none)
    },
    "eval": {
        "at_fractions": [1.0],  # budget fractions of the anytime evaluations (raw model and running average)
        "along": ["test"],  # splits evaluated at those points
        "final": ["test"],  # splits evaluated at the end for the raw model
        "averages": ["test"],  # splits evaluated at the end for every average
        "fold_bn": True,  # evaluate with BatchNorm folded into the convolutions (stepsize.evaluation)
        "recompute_bn": True,  # raw model: BatchNorm statistics recomputed at each evaluation ("precise BN")
    },
    "train": {
        "seed": 0,
        "device": "auto",  # auto | cpu | cuda | cuda:N
        "amp": "auto",  # auto (bf16 on CUDA, off on CPU) | bf16 | off (YAML true/false = bf16/off)
        "channels_last": True,
        "compile": False,
        "label_smoothing": 0.0,
        "grad_clip": None,  # max global gradient norm (null = off)
        "threads": None,  # torch intra-op threads (null = torch's default)
        "checkpoint_every": 0,  # steps between checkpoints (0 = off)
        "keep_checkpoint": False,  # keep DIR/checkpoint.pt after run.json is written
        "log_every": None,  # curve sampling period in steps (null = ceil(steps / 200))
        "progress": True,  # tqdm bar (only on a TTY)
        "divergence_factor": 3.0,  # diverged: a loss > this × the first curve window's mean (null = off)
    },
}
# Keys whose default is null: the type they accept besides null. Dataset builders declare theirs in their
# own ``NULLABLE`` (`stepsize.data.builder_nullable`), next to their ``DEFAULTS``.
NULLABLE: dict[str, type] = {
    "model.width": int,
    "swa.bn_batches": int,
    "swa.swalr_fraction": float,
    "swa.running": str,
    "train.grad_clip": float,
    "train.threads": int,
    "train.log_every": int,
    "train.divergence_factor": float,
}
# Keys whose value may have several types when their default is the one given here; the optimizer
# validates them itself (OSGM's momentum: None, a fixed float or "learned").
OWNER_CHECKED = {"optimizer.momentum": "learned"}
_FLOAT_STRING = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")  # YAML 1.1 reads 5e-4 as a string


# ----------------------------------------------------------------------------------------------- loading
class AliasError(yaml.YAMLError):
    """A YAML alias (``*name``) in a config or profile: refused, since a few lines of nested aliases
    expand to billions of nodes ("billion laughs") once anything walks them."""


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (`AliasError`, naming the alias and its line); anchors
    alone are harmless. No config or profile of this project needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            mark = event.start_mark
            raise AliasError(f"YAML aliases are not allowed (*{event.anchor} at line {mark.line + 1}, "
                             f"column {mark.column + 1}); write the value out")
        return super().compose_node(parent, index)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` without aliases (`NoAliasLoader`)."""
    return yaml.load(text, Loader=NoAliasLoader)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; FileNotFoundError/ValueError with one line naming ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        raw = safe_load(path.read_text())
    except AliasError as err:
        raise ValueError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (a YAML config must be UTF-8 text)") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read the config ({err.strerror})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the config must be a mapping of sections, got {type(raw).__name__}")
    return raw


def apply_overrides(cfg: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``cfg`` with each ``"a.b=value"`` applied (value parsed as YAML)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected key=value")
        try:
            value = safe_load(text)
        except AliasError as err:
            raise ValueError(f"--set {key}: {err}") from None
        except yaml.YAMLError:
            raise ValueError(f"--set {key}: cannot parse value {text!r} as YAML") from None
        _set_dotted(cfg, key.strip(), value, f"--set {key}")
    return cfg


def apply_values(cfg: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``cfg`` with each dotted key of ``values`` set to its (Python) value; a mapping
    for a whole section replaces it, as with `apply_overrides`."""
    cfg = copy.deepcopy(cfg)
    for key, value in values.items():
        _set_dotted(cfg, str(key), copy.deepcopy(value), str(key))
    return cfg


def _set_dotted(cfg: dict[str, Any], key: str, value: Any, where: str) -> None:
    """``cfg[a][b] = value`` for ``key = "a.b"``, creating sections; ValueError if a prefix is a value."""
    parts = key.split(".")
    node = cfg
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"{where}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def load(path: str | Path, overrides: Iterable[str] = (),
         values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """YAML file + dotted-key ``values`` + ``--set`` overrides → the validated, fully resolved config."""
    return resolve(apply_overrides(apply_values(load_yaml(path), values or {}), overrides))


# -------------------------------------------------------------------------------------------- checking
def _unknown(key: str, allowed: Iterable[str], what: str) -> ValueError:
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ValueError(f"{key}: unknown {what}; {hint}allowed: {', '.join(allowed)}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_type(key: str, value: Any, expected: Any, nullable: bool = False) -> Any:
    """``value`` if it has the type of ``expected`` (a default value or a type), or is None and
    ``nullable``; else ValueError. ``expected`` None (an owner-checked key) accepts anything."""
    kind = expected if isinstance(expected, type) else type(expected)
    if expected is None or (nullable and value is None):
        return value
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        if isinstance(value, str) and _FLOAT_STRING.match(value):
            value = float(value)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    elif kind is tuple:  # a fixed-length default (Adam's betas): YAML and JSON give a list
        size = len(expected) if isinstance(expected, tuple) else None
        ok = isinstance(value, list | tuple) and (size is None or len(value) == size)
        if ok and size is not None:
            return [_check_type(f"{key}[{i}]", v, expected[i]) for i, v in enumerate(value)]
        if not ok:
            like = f" like {list(expected)}" if isinstance(expected, tuple) else ""
            raise ValueError(f"{key}: expected a list of {size or 'some'} values{like}, "
                             f"got {_type_name(value)} {value!r}")
        return list(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ValueError(f"{key}: expected {kind.__name__}, got {_type_name(value)} {value!r}")
    return value


def _merge_section(
    section: str, given: Any, defaults: Mapping[str, Any], what: str,
    nullable: Mapping[str, type] | None = None,
) -> dict[str, Any]:
    """``{**defaults, **given}`` with every key type-checked against its default. A key whose default is
    null takes null or the type declared for it (``nullable``: key → type, else `NULLABLE`)."""
    types = {**{k.split(".", 1)[1]: t for k, t in NULLABLE.items() if k.startswith(f"{section}.")},
             **(nullable or {})}
    if not isinstance(given, dict):
        raise ValueError(f"{section}: expected a mapping, got {_type_name(given)} {given!r}")
    for key in given:
        if key not in defaults:
            raise _unknown(f"{section}.{key}", defaults, what)
    merged = {**copy.deepcopy(dict(defaults)), **given}
    for key, value in merged.items():
        dotted = f"{section}.{key}"
        owner_checked = OWNER_CHECKED.get(dotted, ...) == defaults[key]
        expected = None if owner_checked else types.get(key, defaults[key])
        merged[key] = _check_type(dotted, value, expected, nullable=key in types)
    return merged


def _require(key: str, ok: bool, what: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"{key}: must be {what}, got {value!r}")


def _name(section: str, given: Mapping[str, Any], names: Iterable[str]) -> str:
    name = given.get("name", DEFAULTS[section]["name"])
    names = tuple(names)
    if name not in names:
        raise ValueError(f"{section}.name: unknown {section} {name!r}; valid: {', '.join(names)}")
    return name


def _resolve_optimizer(given: dict[str, Any]) -> dict[str, Any]:
    import stepsize.optim as optim

    name = _name("optimizer", given, optim.NAMES)
    merged = _merge_section("optimizer", given, {**DEFAULTS["optimizer"], **optim.DEFAULTS[name]},
                            f"{name} option")
    merged["name"] = name
    _require("optimizer.lr", merged["lr"] > 0, "> 0", merged["lr"])
    kwargs = {k: v for k, v in merged.items() if k not in ("name", "lr")}
    optim.validate(name, merged["lr"], **kwargs)  # its own one-line errors ("optimizer 'adam': ...")
    return merged


def _resolve_schedule(given: dict[str, Any], steps: int) -> dict[str, Any]:
    import stepsize.schedules as schedules

    name = _name("schedule", given, schedules.NAMES)
    merged = _merge_section("schedule", given, {**DEFAULTS["schedule"], **schedules.DEFAULTS[name]},
                            f"{name} parameter")
    merged["name"] = name
    params = {k: v for k, v in merged.items() if k != "name"}
    try:
        schedules.validate(name, steps, **params)
    except ValueError as err:
        raise ValueError(f"schedule ({name}): {' '.join(str(err).split())}") from None
    return merged


def _check_swa(swa: dict[str, Any]) -> None:
    variants = swa["variants"]
    bad = [v for v in variants if v not in SWA_VARIANTS]
    _require("swa.variants", not bad and len(set(variants)) == len(variants),
             f"a list of distinct names from {list(SWA_VARIANTS)}", variants)
    _require("swa.start", 0 <= swa["start"] <= 1, "a fraction in [0, 1]", swa["start"])
    _require("swa.period", swa["period"] >= 1, "an integer >= 1", swa["period"])
    _require("swa.swalr_lr", swa["swalr_lr"] > 0, "> 0", swa["swalr_lr"])
    fraction = swa["swalr_fraction"]
    _require("swa.swalr_fraction", fraction is None or 0 < fraction <= 1, "null or in (0, 1]", fraction)
    _require("swa.anneal_steps", swa["anneal_steps"] >= 0, "an integer >= 0", swa["anneal_steps"])
    _require("swa.ema_decay", 0 <= swa["ema_decay"] <= 1, "in [0, 1]", swa["ema_decay"])
    _require("swa.poly_gamma", swa["poly_gamma"] >= 0, ">= 0", swa["poly_gamma"])
    running = swa["running"]
    _require("swa.running", running in (None, "off") or (running in variants and running != "swalr"),
             "null, off or one of swa.variants other than swalr", running)
    bn = swa["bn_batches"]
    _require("swa.bn_batches", bn is None or bn >= 1, "null or an integer >= 1", bn)


def _check_train(train: dict[str, Any]) -> None:
    _require("train.seed", 0 <= train["seed"] < 2**31, "an integer in [0, 2^31)", train["seed"])
    device = train["device"]
    _require("train.device", re.fullmatch(r"auto|cpu|cuda(:\d+)?", device) is not None,
             "auto, cpu, cuda or cuda:N", device)
    _require("train.amp", train["amp"] in AMP_MODES, f"one of {list(AMP_MODES)}", train["amp"])
    ls = train["label_smoothing"]
    _require("train.label_smoothing", 0 <= ls < 1, "in [0, 1)", ls)
    clip = train["grad_clip"]
    _require("train.grad_clip", clip is None or clip > 0, "null or > 0", clip)
    threads = train["threads"]
    _require("train.threads", threads is None or threads >= 1, "null or an integer >= 1", threads)
    _require("train.checkpoint_every", train["checkpoint_every"] >= 0, "an integer >= 0",
             train["checkpoint_every"])
    log_every = train["log_every"]
    _require("train.log_every", log_every is None or log_every >= 1, "null or an integer >= 1", log_every)
    factor = train["divergence_factor"]
    _require("train.divergence_factor", factor is None or factor > 1, "null or a number > 1", factor)


def _check_eval(ev: dict[str, Any]) -> None:
    fractions = ev["at_fractions"]
    _require("eval.at_fractions", all(isinstance(f, int | float) and not isinstance(f, bool) and 0 < f <= 1
                                      for f in fractions), "a list of fractions in (0, 1]", fractions)
    for key in ("along", "final", "averages"):
        splits = ev[key]
        _require(f"eval.{key}", all(s in EVAL_SPLITS for s in splits) and len(set(splits)) == len(splits)
                 and (key == "along" or splits), f"a list of distinct splits from {list(EVAL_SPLITS)}"
                 + (" (at least one)" if key == "final" else ""), splits)


def resolve(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` (sections → keys) and return the full resolved config (a new dict)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"config: expected a mapping of sections, got {_type_name(raw)}")
    for section in raw:
        if section not in DEFAULTS:
            raise _unknown(str(section), DEFAULTS, "config section")
    given = {s: copy.deepcopy(raw.get(s, {})) for s in DEFAULTS}
    for section, value in given.items():
        if not isinstance(value, dict):
            raise ValueError(f"{section}: expected a mapping, got {_type_name(value)} {value!r}")
    amp = given["train"].get("amp")
    if isinstance(amp, bool):  # YAML reads on/off/true/false as booleans
        given["train"]["amp"] = "bf16" if amp else "off"
    if given["swa"].get("running") is False:  # the same for a bare `swa.running: off`
        given["swa"]["running"] = "off"
    cfg: dict[str, Any] = {}
    for section in ("budget", "swa", "eval", "train"):
        cfg[section] = _merge_section(section, given[section], DEFAULTS[section], f"{section} key")
    steps = cfg["budget"]["steps"]
    _require("budget.steps", steps >= 1, "an integer >= 1", steps)
    _check_swa(cfg["swa"])
    _check_eval(cfg["eval"])
    _check_train(cfg["train"])

    import stepsize.data as data
    import stepsize.models as models

    data_name = _name("data", given["data"], data.NAMES)
    cfg["data"] = _merge_section("data", given["data"], data.builder_defaults(data_name),
                                 f"{data_name} data key", data.builder_nullable(data_name))
    cfg["data"]["name"] = data_name
    model_name = _name("model", given["model"], models.NAMES)
    cfg["model"] = _merge_section("model", given["model"], {"name": model_name, **models.DEFAULTS},
                                  "model key")
    _require("model.width", cfg["model"]["width"] is None or cfg["model"]["width"] >= 1,
             "null or an integer >= 1", cfg["model"]["width"])
    cfg["optimizer"] = _resolve_optimizer(given["optimizer"])
    if cfg["swa"]["swalr_fraction"] is not None:  # SWALR at a fixed fraction of the (tuned) peak
        cfg["swa"]["swalr_lr"] = cfg["swa"]["swalr_fraction"] * cfg["optimizer"]["lr"]
    if cfg["swa"]["ema_from_window"]:
        cfg["swa"]["ema_decay"] = ema_decay_for_window(cfg["swa"]["start"], steps)
    cfg["schedule"] = _resolve_schedule(given["schedule"], steps)
    return {section: _json_native(cfg[section]) for section in DEFAULTS}


def ema_decay_for_window(start: float, steps: int) -> float:
    """d = 1 − 2/(W + 1), W = the averaging window in updates (`stepsize.averaging.start_step`): an EMA
    with this decay puts its centre of mass (W − 1)/2 updates back, as the equal-weight average of the
    last W iterates does (the "span" convention of exponential smoothing)."""
    from stepsize.averaging import start_step

    window = steps - start_step(start, steps)
    return 1.0 - 2.0 / (window + 1.0)


def _json_native(obj: Any) -> Any:
    """``obj`` with every tuple made a list, recursively: the resolved config equals itself read back
    from ``run.json`` (a tuple default such as Adam's ``betas`` would otherwise never compare equal)."""
    if isinstance(obj, dict):
        return {k: _json_native(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_native(v) for v in obj]
    return obj
