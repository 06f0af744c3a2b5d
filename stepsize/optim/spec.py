"""One record per optimizer (`OptimizerSpec`) and the checks its keyword arguments pass.

An optimizer is a builder ``build(params, lr, **kw) -> torch.optim.Optimizer`` with its allowed keyword
arguments and their defaults. `stepsize.optim.registry` collects every ``SPEC``/``SPECS`` of the modules
in `stepsize.optim.library`; config validation, the report's labels and the generic tests derive from
them. Checks run without building anything (building a ``torch.optim`` optimizer imports
``torch._dynamo``, two seconds that a config check must not cost).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor
from torch.optim import Optimizer

Params = Iterable[Tensor] | Iterable[dict[str, Any]]
Build = Callable[..., Optimizer]


class MissingOptimizerPackage(ValueError):
    """The pip package an optimizer comes from is not installed."""


def require(module: str, package: str, name: str) -> Any:
    """Import ``module`` of pip package ``package`` for optimizer ``name``; one-line error if missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingOptimizerPackage(f"optimizer {name!r} needs the pip package {package!r} "
                                      f"(pinned in requirements.txt): pip install {package}") from None


def number(where: str, key: str, value: Any) -> float:
    """A finite number (not a bool); ValueError naming ``key`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def check_range(where: str, key: str, value: Any, low: float, high: float, *, low_open: bool = False,
                high_open: bool = False) -> None:
    """``low (<|<=) value (<|<=) high``."""
    v = number(where, key, value)
    ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{where}: {key} must be in {interval}, got {value!r}")


def common_checks(where: str, kw: dict[str, Any]) -> None:
    """Checks shared by every optimizer: weight decay >= 0, momentum in (0, 1) when numeric, betas."""
    if "weight_decay" in kw:
        check_range(where, "weight_decay", kw["weight_decay"], 0.0, math.inf)
    if "betas" in kw:
        betas = kw["betas"]
        if not isinstance(betas, list | tuple) or len(betas) != 2:
            raise ValueError(f"{where}: betas must be two numbers in [0, 1), got {betas!r}")
        for i, b in enumerate(betas):
            check_range(where, f"betas[{i}]", b, 0.0, 1.0, high_open=True)
        kw["betas"] = tuple(float(b) for b in betas)
    if "eps" in kw:
        check_range(where, "eps", kw["eps"], 0.0, math.inf, low_open=True)


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything the library knows about one optimizer.

    ``build(params, lr, **kw)``: the optimizer, given every keyword argument of ``defaults``.
    ``lr``: what ``optimizer.lr`` means for it (a learning rate, or a multiplier of a learned step).
    ``modes``: the optimizer has ``train()``/``eval()`` that move the weights between the training point
    and the evaluation point (Schedule-Free): the trainer calls them, evaluates and averages at the
    evaluation point, and saves checkpoints there. ``check(where, kw)``: its own checks.
    """

    name: str
    label: str
    build: Build
    defaults: Mapping[str, Any]
    source: str
    lr: str = "learning rate"
    modes: bool = False
    check: Callable[[str, dict[str, Any]], None] | None = None
    bibkey: str | None = None
    options: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", dict(self.defaults))

    def resolve(self, lr: Any, kw: Mapping[str, Any]) -> dict[str, Any]:
        """Every keyword argument (defaults filled in), checked; ValueError naming the bad key."""
        where = f"optimizer {self.name!r}"
        unknown = sorted(set(kw) - set(self.defaults))
        if unknown:
            raise ValueError(f"{where}: unknown parameter {unknown[0]!r}; valid parameters: "
                             f"{sorted(self.defaults)}")
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"{where}: lr must be a finite number >= 0, got {lr!r}")
        full = {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in self.defaults.items()}, **kw}
        common_checks(where, full)
        if self.check is not None:
            self.check(where, full)
        return full

    def create(self, params: Params, lr: float, kw: Mapping[str, Any]) -> Optimizer:
        """Build the optimizer; the underlying class's own range errors become one line naming it."""
        full = self.resolve(lr, kw)
        try:
            return self.build(params, lr, **full)
        except ValueError as err:
            if isinstance(err, MissingOptimizerPackage):
                raise
            raise ValueError(f"optimizer {self.name!r}: {' '.join(str(err).split())}") from None
