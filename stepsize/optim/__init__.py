"""Optimizers: a factory over ``torch.optim`` and the online-scaled :class:`OSGM` optimizer.

``NAMES``, ``DEFAULTS[name]`` (allowed keyword arguments and defaults), ``create(name, params, lr, **kw)``
and ``validate(name, lr, **kw)``. For ``osgm`` the param group's ``lr`` multiplies the learned step,
so LR schedulers and ``torch.optim.swa_utils.SWALR`` compose with it (lr = 1.0: the learned step).
"""

from stepsize.optim.factory import DEFAULTS, NAMES, create, validate
from stepsize.optim.osgm import OSGM

__all__ = ["DEFAULTS", "NAMES", "OSGM", "create", "validate"]
