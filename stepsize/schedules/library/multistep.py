"""Multi-step decay (torch ``MultiStepLR``): f = γ^{#milestones reached}.

``milestones`` are budget fractions; fraction q is reached at local step ceil(q · (n − 1)).
Budget-scaled milestones as in Li, Yumer & Ramanan (ICLR 2020); 50 %/75 % is the CIFAR habit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from stepsize.schedules.spec import Param, ScheduleSpec, fraction_to_step, gamma_check, milestones_check


def multistep(s: NDArray[np.int64], n: int, *, milestones: Sequence[float],
              gamma: float) -> NDArray[np.float64]:
    """f = γ^{number of milestones q with s >= ceil(q · (n − 1))}."""
    reached = sum((s >= fraction_to_step(q, n)).astype(np.int64) for q in milestones)
    return gamma ** np.asarray(reached, dtype=np.float64) * np.ones(s.shape)


SPEC = ScheduleSpec(
    name="multistep", label="Step", core=multistep,
    params={"milestones": Param([0.5, 0.75], milestones_check), "gamma": Param(0.1, gamma_check)},
    source="torch MultiStepLR; budget-scaled as in Li, Yumer & Ramanan, ICLR 2020", bibkey="li2020budgeted",
    decays=True,
    end_value=lambda p, n: float(multistep(np.array([n - 1]), n, milestones=p["milestones"],
                                           gamma=p["gamma"])[0]),
)
