"""stepsize.discovery: a library package's specs by module name, with import-time errors for a module
without a spec and for a name defined twice (the schedule and optimizer registries rely on both)."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass

import pytest

from stepsize.discovery import discover


@dataclass(frozen=True)
class Spec:
    name: str


def make_package(tmp_path, monkeypatch, modules: dict[str, str]):
    """A fresh package ``lib_<n>`` on sys.path whose modules have the given sources."""
    name = f"lib_{len(list(tmp_path.iterdir()))}_{abs(hash(tmp_path)) % 10**6}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "test_discovery_spec", sys.modules[__name__])
    return importlib.import_module(name)


SPEC_OF = "from test_discovery_spec import Spec\n"


def test_specs_are_found_in_module_name_order_with_spec_or_specs(tmp_path, monkeypatch):
    package = make_package(tmp_path, monkeypatch, {
        "b_two": SPEC_OF + "SPECS = (Spec('beta'), Spec('gamma'))\n",
        "a_one": SPEC_OF + "SPEC = Spec('alpha')\n",
    })
    found = discover(package, Spec, "thing")
    assert list(found) == ["alpha", "beta", "gamma"]
    assert all(isinstance(s, Spec) for s in found.values())


def test_a_module_without_a_spec_is_an_error_naming_it(tmp_path, monkeypatch):
    package = make_package(tmp_path, monkeypatch, {"lonely": "VALUE = 1\n"})
    with pytest.raises(TypeError, match=r"lonely defines no SPEC/SPECS of Spec"):
        discover(package, Spec, "thing")


def test_a_spec_of_another_type_is_an_error(tmp_path, monkeypatch):
    package = make_package(tmp_path, monkeypatch, {"wrong": "SPEC = 'not a spec'\n"})
    with pytest.raises(TypeError, match="wrong defines no SPEC"):
        discover(package, Spec, "thing")


def test_a_name_defined_twice_is_an_error_naming_the_kind_and_module(tmp_path, monkeypatch):
    package = make_package(tmp_path, monkeypatch, {
        "first": SPEC_OF + "SPEC = Spec('same')\n",
        "second": SPEC_OF + "SPEC = Spec('same')\n",
    })
    with pytest.raises(ValueError, match=r"thing name 'same' is defined twice \(.*second\)"):
        discover(package, Spec, "thing")
