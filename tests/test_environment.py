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
