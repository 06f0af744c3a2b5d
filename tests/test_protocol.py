"""The protocol fixed before the runs (report.protocol): its hash and its history, validated and quoted."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from factories import PROFILE

from report import grid, protocol
from report.macros import MacroBook

ROOT = Path(__file__).resolve().parents[1]
HISTORY = [
    {"date": "2026-12-02", "change": "10 seeds at the 10 % budget", "seen_results": True},
    {"date": "2026-12-07", "change": "targets from the tuned reference_cosine", "seen_results": False},
]


def test_hash_is_stable_under_key_order_and_json_round_trip():
    reordered = dict(reversed(list(PROFILE.items())))
    reordered["strategies"] = dict(reversed(list(PROFILE["strategies"].items())))
    assert protocol.protocol_hash(reordered) == protocol.protocol_hash(PROFILE)
    assert protocol.protocol_hash(json.loads(json.dumps(PROFILE))) == protocol.protocol_hash(PROFILE)
    assert len(protocol.protocol_hash(PROFILE)) == 12 and int(protocol.protocol_hash(PROFILE), 16) >= 0


def test_hash_changes_with_the_protocol_only():
    base = protocol.protocol_hash(PROFILE)
    changed = copy.deepcopy(PROFILE)
    changed["strategies"]["cosine"]["tune"]["optimizer.lr"] = [0.05, 0.2]
    assert protocol.protocol_hash(changed) != base
    assert protocol.protocol_hash({**PROFILE, "seeds": [0, 1, 3]}) != base
    assert protocol.protocol_hash({**PROFILE, "report": {"equivalence_margin_pp": 0.25}}) != base
    # how the runs are batched, where they run, the description, the anytime figure and the history: not
    for aside in ({"batching": {"by": "count", "max_runs": 3}}, {"resources": {"train": {"threads": 2}}},
                  {"description": "another text"}, {"report": {"anytime_strategies": ["cosine"]}},
                  {"protocol_history": HISTORY}):
        assert protocol.protocol_hash({**PROFILE, **aside}) == base, aside


def test_seeds_by_budget_hash_the_same_from_yaml_and_profile_json():
    raw = {**PROFILE, "seeds_by_budget": {25: [0, 1, 2, 3], 100: [0, 1, 2, 4]}}
    assert protocol.protocol_hash(raw) == protocol.protocol_hash(json.loads(json.dumps(raw)))


def test_the_grid_carries_hash_and_history():
    g = grid.from_dict({**PROFILE, "protocol_history": HISTORY})
    assert g.protocol_hash == protocol.protocol_hash(PROFILE)
    assert [e["date"] for e in g.protocol_history] == ["2026-12-02", "2026-12-07"]
    assert grid.from_dict(PROFILE).protocol_history == []


@pytest.mark.parametrize(
    "history, message",
    [
        ("changed", "protocol_history: must be a list"),
        (["x"], "protocol_history[0]: must be a mapping"),
        ([{**HISTORY[0], "when": "today"}], "protocol_history[0].when: unknown key"),
        ([{"date": "2026-12-02", "change": "x"}], "protocol_history[0].seen_results: missing"),
        ([HISTORY[0], {**HISTORY[1], "date": "7 Dec"}], "protocol_history[1].date: must be a date"),
        ([{**HISTORY[0], "change": " "}], "protocol_history[0].change: must be a non-empty string"),
        ([{**HISTORY[0], "seen_results": "yes"}], "protocol_history[0].seen_results: must be true or false"),
        ([HISTORY[1], HISTORY[0]], "protocol_history[1].date: 2026-12-02 is before"),
    ],
)
def test_a_bad_history_entry_is_one_line_naming_the_key(history, message):
    with pytest.raises(grid.ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")) as err:
        grid.from_dict({**PROFILE, "protocol_history": history}, source="unit.yaml")
    assert "\n" not in str(err.value) and str(err.value).startswith("unit.yaml: ")


def test_unquoted_yaml_dates_are_refused_in_one_line():
    """YAML reads an unquoted 2026-12-02 as a date, which the workflow's profile.json cannot hold."""
    import datetime as dt

    message = r"protocol_history\[0\]\.date: must be a quoted string"
    with pytest.raises(grid.ProfileError, match=message) as err:
        grid.from_dict({**PROFILE, "protocol_history": [{**HISTORY[0], "date": dt.date(2026, 12, 2)}]})
    assert "\n" not in str(err.value)


def test_macros_quote_the_hash_and_the_escaped_history():
    g = grid.from_dict({**PROFILE, "protocol_history": HISTORY})
    book = MacroBook("unit")
    protocol.protocol_macros(book, g)
    values = book.values()
    assert values["protocolHash"] == f"\\texttt{{{g.protocol_hash}}}"
    history = values["protocolHistory"]
    assert history.startswith("\\begin{itemize}") and history.count("\\item ") == 2
    assert "10 \\% budget" in history and "reference\\_cosine" in history
    assert "(after results had been seen)" in history and "(before results had been seen)" in history
    assert values["protocolChangesSeen"] == "1"
    empty = MacroBook("unit")
    protocol.protocol_macros(empty, grid.from_dict(PROFILE))
    assert "\\item" not in empty.values()["protocolHistory"]


def test_mini_records_its_changes_after_results_were_seen():
    g = grid.load(ROOT / "experiments/mini.yaml")
    assert len(g.protocol_history) >= 4 and all(e["seen_results"] for e in g.protocol_history)
    assert g.protocol_history[-1]["date"] == "2026-12-07"
