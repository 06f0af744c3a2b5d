"""The study's protocol, fixed before the runs: its block of the profile, a hash of it, and the history of
its changes (``protocol_history:``), quoted by the paper.

A pre-registration states the design and the verdict rule before the data are seen and records every
later change, with whether results had been seen (Nosek et al. 2018, "The preregistration revolution",
PNAS 115(11); for machine learning, the NeurIPS 2020-21 pre-registration workshops). Here:

- the *protocol block* (`protocol_block`) is what defines the experiment and its verdicts: the base
  config, the budgets, the seeds, the tuning protocol, the plateau runs, the common overrides, the
  strategies and the report's margins and claim strategy names (`PROTOCOL_KEYS`). Batching, resources,
  the description, the theory check's size, the anytime evaluations and the anytime figure's strategies
  change how or what is shown, never a verdict, and are left out;
- `protocol_hash` is the first 12 hex digits of the SHA-256 of the block's canonical JSON (sorted keys,
  mapping keys as strings, so the YAML profile and the ``profile.json`` Snakemake writes agree);
- ``protocol_history`` lists ``{date: YYYY-MM-DD, change: text, seen_results: bool}`` entries, oldest
  first (`history` validates it; `protocol_macros` writes ``\\protocolHash`` and ``\\protocolHistory``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

from report.grid_schema import ProfileError

if TYPE_CHECKING:
    from report.grid import Grid
    from report.macros import MacroBook

#: Top-level profile keys of the protocol block (the budgets under whichever keys the profile uses).
PROTOCOL_KEYS = ("train_config", "full_budget_steps", "budget_fractions", "budget_epochs", "steps_per_epoch",
                 "seeds", "seeds_by_budget", "tuning", "plateau", "common", "strategies", "report")
#: ``report`` keys that only choose what a figure shows, not part of the protocol.
PRESENTATION_REPORT_KEYS = ("anytime_strategies",)
HISTORY_KEYS = ("date", "change", "seen_results")
HASH_LENGTH = 12


def protocol_block(raw_profile: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``raw_profile`` that define the experiment and the verdict rule (`PROTOCOL_KEYS`),
    mapping keys as strings (JSON's); a key left out, null or an empty mapping (the defaults) is absent."""
    block = {k: raw_profile[k] for k in PROTOCOL_KEYS if raw_profile.get(k) is not None}
    if isinstance(block.get("report"), dict):
        block["report"] = {k: v for k, v in block["report"].items() if k not in PRESENTATION_REPORT_KEYS}
    block = {k: v for k, v in block.items() if v != {}}
    return json.loads(json.dumps(block, default=str))


def protocol_hash(raw_profile: dict[str, Any]) -> str:
    """First `HASH_LENGTH` hex digits of the SHA-256 of the protocol block's canonical JSON."""
    canonical = json.dumps(protocol_block(raw_profile), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:HASH_LENGTH]


def _entry(raw: Any, i: int, source: str) -> dict[str, Any]:
    """One history entry, checked; ProfileError (one line) naming ``protocol_history[i].<key>``."""
    where = f"protocol_history[{i}]"

    def fail(key: str, message: str) -> ProfileError:
        return ProfileError(f"{source}: {where}{'.' + key if key else ''}: {message}")

    if not isinstance(raw, dict):
        raise fail("", f"must be a mapping with keys {list(HISTORY_KEYS)}, got {raw!r}")
    unknown = sorted(set(raw) - set(HISTORY_KEYS))
    if unknown:
        raise fail(unknown[0], f"unknown key (known: {list(HISTORY_KEYS)})")
    for key in HISTORY_KEYS:
        if key not in raw:
            raise fail(key, "missing")
    date = raw["date"]
    if isinstance(date, dt.date):  # YAML reads an unquoted 2026-12-07 as a date, which JSON cannot write
        raise fail("date", f'must be a quoted string "YYYY-MM-DD", got the unquoted date {date.isoformat()}')
    try:
        date = dt.date.fromisoformat(str(date)).isoformat()
    except ValueError:
        raise fail("date", f"must be a date YYYY-MM-DD, got {raw['date']!r}") from None
    if not isinstance(raw["change"], str) or not raw["change"].strip():
        raise fail("change", f"must be a non-empty string, got {raw['change']!r}")
    if not isinstance(raw["seen_results"], bool):
        raise fail("seen_results", f"must be true or false, got {raw['seen_results']!r}")
    return {"date": date, "change": " ".join(raw["change"].split()), "seen_results": raw["seen_results"]}


def history(raw: Any, source: str = "<dict>") -> list[dict[str, Any]]:
    """The validated ``protocol_history`` (dates as ``YYYY-MM-DD`` strings), oldest first; [] if absent."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ProfileError(f"{source}: protocol_history: must be a list of {{date, change, seen_results}}, "
                           f"got {raw!r}")
    entries = [_entry(e, i, source) for i, e in enumerate(raw)]
    for i in range(1, len(entries)):
        if entries[i]["date"] < entries[i - 1]["date"]:
            raise ProfileError(f"{source}: protocol_history[{i}].date: {entries[i]['date']} is before the "
                               f"previous entry's {entries[i - 1]['date']} (oldest first)")
    return entries


def history_latex(entries: list[dict[str, Any]]) -> str:
    """The history as a LaTeX itemize (text escaped), or a sentence saying the protocol never changed."""
    from report.latex import escape

    if not entries:
        return "The protocol has not changed since it was fixed."
    items = [
        f"\\item {e['date']}: {escape(e['change'])} "
        f"({'after' if e['seen_results'] else 'before'} results had been seen)."
        for e in entries
    ]
    return "\\begin{itemize}" + " ".join(items) + "\\end{itemize}"


def protocol_macros(book: MacroBook, grid: Grid) -> None:
    """``\\protocolHash``, ``\\protocolHistory`` and ``\\protocolChangesSeen`` (how many changes were made
    after results had been seen), from the profile (`Grid.protocol_hash`, `Grid.protocol_history`)."""
    book.add("protocolHash", f"\\texttt{{{grid.protocol_hash}}}", "profile.json: protocol_hash")
    book.add("protocolHistory", history_latex(grid.protocol_history), "profile.json: protocol_history")
    seen = sum(e["seen_results"] for e in grid.protocol_history)
    book.add("protocolChangesSeen", str(seen), "profile.json: protocol_history (seen_results)")
