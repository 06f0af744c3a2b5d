"""The ``lr_schedules`` figure draws every schedule, the strategies configured otherwise and UBA's φ sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from report import grid as grid_module
from report.schedule_figure import (
    DEFAULT_PHIS,
    configured_curves,
    default_curves,
    lr_schedules,
    phi_curves,
    uba_params,
)
from stepsize import schedules as S

TOTAL = 120


def _grid(common: dict | None = None, strategies: dict | None = None) -> grid_module.Grid:
    return grid_module.from_dict(
        {
            "profile": "figure_unit",
            "train_config": "experiments/base/fashion_mnist.yaml",
            "full_budget_steps": TOTAL,
            "budget_fractions": [0.5, 1.0],
            "seeds": [0, 1],
            "tuning": {"seed": 1000, "grid_size": 2},
            "common": {"optimizer.name": "momentum", **(common or {})},
            "strategies": strategies
            or {
                "multistep": {"schedule.name": "multistep", "schedule.milestones": [0.5, 0.75]},
                "cosine_floor": {"schedule.name": "cosine", "schedule.min_ratio": 0.1},
                "uba_phi0.7": {"schedule.name": "uba", "schedule.phi": 0.7},
                "uba_phi3": {"schedule.name": "uba", "schedule.phi": 3.0},
                "osgm": {"optimizer": {"name": "osgm", "lr": 1.0}, "schedule.name": "constant"},
            },
        }
    )


def test_every_schedule_is_drawn_with_its_defaults() -> None:
    curves = default_curves(TOTAL)
    assert [c.schedule for c in curves] == list(S.NAMES)
    for curve in curves:
        np.testing.assert_array_equal(curve.values, S.multiplier(curve.schedule, np.arange(TOTAL), TOTAL))


def test_strategies_configured_otherwise_are_added() -> None:
    grid = _grid()
    labels = [c.label for c in configured_curves(grid, TOTAL)]
    # multistep with default milestones is the default curve; UBA strategies differing only in φ are
    # in the φ panel; the cosine floor and OSGM (another optimizer) are not drawn elsewhere
    assert labels == ["Cosine (as trained)", "OSGM (as trained, × learned step)"]
    floor = configured_curves(grid, TOTAL)[0]
    np.testing.assert_array_equal(
        floor.values, S.multiplier("cosine", np.arange(TOTAL), TOTAL, min_ratio=0.1)
    )
    phis = [float(c.label.split("=")[1].split()[0]) for c in phi_curves(grid, TOTAL)]
    assert phis == sorted({*DEFAULT_PHIS, 0.7, 3.0})


def test_a_common_warmup_is_drawn_as_trained() -> None:
    grid = _grid(common={"schedule.warmup_steps": 10})
    assert uba_params(grid, TOTAL) == {"min_ratio": 0.0, "warmup_steps": 10, "warmup_fraction": 0.0}
    labels = [c.label for c in configured_curves(grid, TOTAL)]
    assert labels == ["Step (as trained)", "Cosine (as trained)", "OSGM (as trained, × learned step)"]
    for curve in phi_curves(grid, TOTAL):
        assert curve.values[0] == pytest.approx(1 / 11)  # the warmup ramp of every UBA curve


def test_lr_schedules_writes_the_figure(tmp_path: Path) -> None:
    lr_schedules(_grid(), tmp_path)
    for ext in ("pdf", "png"):
        assert (tmp_path / f"lr_schedules.{ext}").stat().st_size > 5_000
