"""What the notebooks read (`report.explorer`): a profile's tables, curves and grid from paths relative to
the repository root, cut down to the chosen strategies plus the reference; one-line errors that name the
missing file relative to the root."""

from __future__ import annotations

import json

import pytest
from factories import PROFILE, write_study

from report.aggregate import aggregate, read_theory
from report.explorer import STUDY_TABLES, load_study, load_theory, subset
from report.grid import ProfileError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A repository-like folder with results/unit/ as the workflow leaves it (profile, records, tables)."""
    root = tmp_path_factory.mktemp("explorer")
    g = write_study(root)
    results = root / "results" / g.profile
    (results / "profile.json").write_text(json.dumps(PROFILE))
    theory = results / "theory"
    aggregate(g, root, read_theory(theory / "checks.json", theory / "bench.csv"), results / "tables",
              results / "macros.tex")
    return root


def test_a_study_holds_every_table_and_the_final_runs_curves(root):
    study = load_study("unit", root=root)
    assert list(study.grid.strategies) == list(PROFILE["strategies"])
    assert set(study.tables) == set(STUDY_TABLES)
    assert study.reference == "cosine"
    assert set(study["final"]["strategy"]) == set(PROFILE["strategies"])
    assert set(study.curves["strategy"]) == set(PROFILE["strategies"]) and len(study.curves)


def test_a_subset_keeps_the_chosen_strategies_and_the_reference_in_profile_order(root):
    study = load_study("unit", ["uba", "linear"], root=root)
    assert list(study.grid.strategies) == ["cosine", "linear", "uba"]
    for name, table in study.tables.items():
        if "strategy" in table.columns:
            assert set(table["strategy"]) <= {"cosine", "linear", "uba"}, name
    assert set(study.curves["strategy"]) == {"cosine", "linear", "uba"}
    other = load_study("unit", ["uba"], reference="linear", root=root)
    assert list(other.grid.strategies) == ["linear", "uba"] and other.reference == "linear"


def test_an_unknown_strategy_is_one_line_naming_the_known_ones(root):
    g = load_study("unit", root=root).grid
    known = r"\(known: multistep, cosine, linear, uba\)"
    with pytest.raises(ProfileError, match=r"unknown strategy 'sgd' " + known):
        subset(g, ["cosine", "sgd"])
    with pytest.raises(ProfileError, match="unknown strategy 'sgd'"):
        load_study("unit", reference="sgd", root=root)


def test_missing_outputs_are_named_relative_to_the_root(root):
    with pytest.raises(FileNotFoundError, match=r"^results/none/profile\.json: no such file") as err:
        load_study("none", root=root)
    assert str(root) not in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"^results/unit/theory/check_data\.json: no such file"):
        load_theory("unit", root=root)


def test_theory_outputs_load_with_one_row_per_check_case(root):
    theory = root / "results/unit/theory"
    (theory / "check_data.json").write_text(json.dumps({"ratio_identity": {}}))
    try:
        t = load_theory("unit", root=root)
    finally:
        (theory / "check_data.json").unlink()
    assert [c["name"] for c in t.checks["checks"]] == ["ratio_identity", "regret_bound"]
    assert t.cases.empty and t.check_data == {"ratio_identity": {}}
    assert {"svm_a1a", "logreg"} <= set(t.bench["problem"]) and t.official is None
