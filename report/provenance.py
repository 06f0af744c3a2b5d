"""``python -m report trace \\macroName``: where a number of the paper comes from.

`report.macros.MacroBook` writes ``results/<profile>/provenance.json`` beside ``macros.tex``: for each
macro its value, the table (or file) it is read from and the run folders behind it. Tracing prints
that chain, and the Snakemake rule that made each link (aggregate from the tables, train jobs from the
runs), so a reader goes from a number in the PDF to the ``run.json`` files in one command.
"""

from __future__ import annotations

import json
from pathlib import Path

from report.grid import ProfileError


def trace(macro: str, profile: str, root: str | Path = ".") -> str:
    """The provenance of ``macro`` (backslash optional) as text; ProfileError (one line) if unknown."""
    name = macro.lstrip("\\")
    path = Path(root) / "results" / profile / "provenance.json"
    try:
        entries = json.loads(path.read_text())["macros"]
    except (OSError, ValueError, KeyError) as err:
        raise ProfileError(
            f"{path}: no provenance to trace ({type(err).__name__}); run the workflow first"
        ) from None
    if name not in entries:
        raise ProfileError(
            f"\\{name}: no such macro in {path} ({len(entries)} macros; e.g. "
            f"{', '.join(sorted(entries)[:3])})"
        )
    e = entries[name]
    lines = [
        f"\\{name} = {e['value']}",
        f"  made by rule aggregate (python -m report aggregate) into results/{profile}/macros.tex",
        f"  from: {e['source']}",
    ]
    if e["runs"]:
        lines.append(
            f"  runs ({len(e['runs'])}, each <folder>/run.json, made by a train_* rule of the Snakefile):"
        )
        lines += [f"    {run}" for run in e["runs"]]
    return "\n".join(lines)
