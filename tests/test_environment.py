"""The conda environment (environment.yml) offers the pinned stack of requirements.txt."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# requirements.txt names that conda-forge spells differently or that only pip provides
CONDA_NAMES = {"opencv-python": "opencv"}
UNPINNED_IN_CONDA = {"opencv"}   # the solver picks the C library; FFCV builds against its headers


def requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def conda_environment() -> dict[str, str | None]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins: dict[str, str | None] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for item in dep.get("pip", []):
                name, _, version = item.partition("==")
                pins[name.lower()] = version or None
        else:
            name, _, version = str(dep).partition("=")
            pins[name.lower()] = version or None
    return pins


def test_conda_environment_pins_what_requirements_pin():
    conda = conda_environment()
    for name, version in requirements().items():
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"environment.yml lacks {conda_name} (requirements: {name}=={version})"
        if conda_name not in UNPINNED_IN_CONDA:
            assert conda[conda_name] == version, f"{conda_name}: environment.yml has {conda[conda_name]}"


def test_conda_channels_provide_the_workflow_packages():
    channels = yaml.safe_load((ROOT / "environment.yml").read_text())["channels"]
    assert channels[0] == "conda-forge" and "bioconda" in channels, "snakemake's SLURM plugin is on bioconda"


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_optimizers_extra_pins_what_requirements_pin():
    pins = requirements()
    extra = dict(item.split("==") for item in _pyproject()["project"]["optional-dependencies"]["optimizers"])
    names = ("schedulefree", "prodigyopt", "dadaptation", "dog-optimizer")
    assert extra == {name: pins[name] for name in names}


def test_the_package_data_exists_and_every_package_has_a_py_typed_marker():
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]
    assert set(package_data) == {"stepsize", "report", "theory"}
    for package, patterns in package_data.items():
        assert "py.typed" in patterns and (ROOT / package / "py.typed").is_file(), package
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}: {pattern} matches no file"
    assert len(list((ROOT / "theory").glob("data/libsvm/a?a"))) == 3


def test_the_wheel_carries_the_data_files_the_code_reads(tmp_path):
    """Built from a clone-like copy (the build writes build/ and *.egg-info beside the sources)."""
    import subprocess
    import sys
    import zipfile

    from factories import repository_copy

    source = repository_copy(tmp_path / "src")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(tmp_path / "wheel"), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("stepsize-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"stepsize/py.typed", "report/py.typed", "theory/py.typed", "theory/README.md",
                "theory/data/libsvm/README.md", "theory/data/libsvm/a1a", "theory/data/libsvm/a2a",
                "theory/data/libsvm/a3a", "stepsize/schedules/library/uba.py", "report/claims/base.py"}
    assert expected <= names, sorted(expected - names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "Provides-Extra: optimizers" in metadata
    assert 'schedulefree==1.4.1; extra == "optimizers"' in metadata
