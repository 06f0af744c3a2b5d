"""Optimizers: one spec per optimizer (``library/``), over ``torch.optim``, the OSGM optimizer of this
project, and the learning-rate-free and schedule-free optimizers of their authors' pip packages.

``NAMES``, ``SPECS[name]`` (builder, defaults, label, source, whether it has train/eval modes),
``DEFAULTS[name]`` (allowed keyword arguments and defaults), ``create(name, params, lr, **kw)`` and
``validate(name, lr, **kw)``. For ``osgm`` the param group's ``lr`` multiplies the learned step (and for
Prodigy, D-Adaptation and DoG the estimated one), so LR schedulers and
``torch.optim.swa_utils.SWALR`` compose with every optimizer.
"""

from stepsize.optim.modes import evaluation_point, has_modes
from stepsize.optim.osgm import OSGM
from stepsize.optim.registry import DEFAULTS, LABELS, NAMES, SPECS, create, spec, validate
from stepsize.optim.spec import OptimizerSpec

__all__ = ["DEFAULTS", "LABELS", "NAMES", "OSGM", "SPECS", "OptimizerSpec", "create", "evaluation_point",
           "has_modes", "spec", "validate"]
