"""The benchmark's method names (the ``method`` column of ``bench.csv``), in the order tables and figures
show them. The one list of them: the bench, the figures and the report read it from here.

- ``METHOD_ORDER``: every method of the project protocol.
- ``OFFICIAL_METHODS``: the methods of the official scripts (udellgroup/osgm-best-hypergrad,
  ``exp_svm.py`` / ``exp_logistic.py`` and, for ``OSGM``, ``exp_svm_osgm.py`` / ``exp_logistic_osgm.py``),
  run by the official protocol.
- ``FEATURED``: the methods the papers are about (drawn thicker in the figures).
"""

from __future__ import annotations

METHOD_ORDER = (
    "HDM-Best",
    "OSGM",
    "OSGM-H",
    "OSGM-R (adaptive f*)",
    "L-BFGS-M10",
    "L-BFGS-M5",
    "L-BFGS-M3",
    "L-BFGS-M1",
    "BFGS",
    "Adam",
    "AdaGrad",
    "GD",
    "GD-HB",
    "AGD-CVX",
    "AGD-SCVX",
    "GD-OptDiag",
)
OFFICIAL_METHODS = tuple(m for m in METHOD_ORDER if m not in ("OSGM-H", "OSGM-R (adaptive f*)", "GD-OptDiag"))
FEATURED = ("HDM-Best", "OSGM")


def ordered(names: object) -> list[str]:
    """The given method names in METHOD_ORDER, unknown names last in their given order."""
    names = list(dict.fromkeys(names))  # type: ignore[call-overload]
    known = [m for m in METHOD_ORDER if m in names]
    return known + [m for m in names if m not in METHOD_ORDER]
