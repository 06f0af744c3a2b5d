"""The README's generated block: what a profile's last complete DAG run measured, from generated files.

    python -m report readme --profile mini [--readme README.md] [--root .]

Replaces the text between ``<!-- generated:<profile> begin -->`` and ``<!-- generated:<profile> end -->``
in the README with a summary built only from generated files:

- ``results/<profile>/macros.tex``: the LaTeX macros the paper quotes (winners, wall times, hardware);
- ``results/<profile>/tables/claims.csv``: the claims table with its verdicts;
- the Snakemake log (``.snakemake/log/*.snakemake.log``) of the latest run with this profile's config
  that ran the whole DAG (every training job, ``train_<batch>``, of the plan in its job stats) and
  finished it (``N of N steps (100%) done``): its elapsed time and job count. Partial reruns are skipped.

So the README never carries a typed number: rerun the DAG, then this command, and commit the block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from report import dag_time
from report.claims import registry

MACRO = re.compile(r"^\\newcommand\{\\(\w+)\}\{(.*)\}\s*$")
DONE = re.compile(r"^(\d+) of (\d+) steps \(100%\) done")
ELAPSED = re.compile(r"^Elapsed time: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
CONFIG = re.compile(r"Config file\(s\): \[(.*)\]")
DATE = re.compile(r"^\s*Date: (\S+ \S+)")
TRAIN_JOB = re.compile(r"^train_\w+\s+(\d+)\s*$", re.M)


class ReadmeError(ValueError):
    """A generated input is missing or the README lacks the block's markers; the message names it."""


@dataclass(frozen=True)
class DagRun:
    """One complete Snakemake run of a profile's DAG, as its log records it."""

    log: Path
    date: str
    jobs: int
    elapsed_s: float


def read_macros(path: Path) -> dict[str, str]:
    """``\\newcommand{\\name}{value}`` lines of a generated macros file -> {name: value}."""
    if not path.is_file():
        raise ReadmeError(f"macros file not found: {path} (run the DAG of this profile first)")
    return {m.group(1): m.group(2) for line in path.read_text().splitlines() if (m := MACRO.match(line))}


def tex_to_text(tex: str) -> str:
    """The LaTeX of a generated macro as plain Markdown text (the few constructs the macros use)."""
    text = tex.replace(r"\varphi", "φ").replace("{=}", "=").replace(r"\%", "%").replace(r"\_", "_")
    text = text.replace(r"\sqrt{\cdot}", "√·").replace(r"\cdot", "·").replace(r"\delta", "δ")
    symbols = ((r"\Omega", "Ω"), (r"^\star", "\\*"), (r"\star", "\\*"), (r"\sum", "Σ"), (r"\eta", "η"),
               (r"\geq", "≥"), (r"\approx", "≈"), (r"\rho", "ρ"))  # a star escaped: no Markdown emphasis
    for command, symbol in symbols:
        text = text.replace(command, symbol)
    text = re.sub(r"\$([^$]*)\$", r"\1", text)
    text = text.replace(r"\times", "×").replace("10^{", "10^").replace("}", "").replace("{", "")
    return text.replace("~", " ").replace("\\", "").replace("Ω*", "Ω\\*")


def _profile_of(log_text: str) -> str | None:
    m = CONFIG.search(log_text)
    if not m:
        return None
    files = [f.strip().strip("'\"") for f in m.group(1).split(",") if f.strip()]
    return Path(files[-1]).stem if files else None


def last_complete_run(log_dir: Path, profile: str, train_jobs: int) -> DagRun:
    """The latest Snakemake log of ``profile`` (its ``experiments/<profile>.yaml`` config) that ran all
    ``train_jobs`` training jobs (one per batch of runs) and finished."""
    logs = sorted(log_dir.glob("*.snakemake.log")) if log_dir.is_dir() else []
    for log in reversed(logs):
        text = log.read_text(errors="replace")
        if _profile_of(text) != profile:
            continue
        lines = text.splitlines()
        done = [m for line in lines if (m := DONE.match(line))]
        elapsed = [m for line in lines if (m := ELAPSED.match(line))]
        if not done or not elapsed or done[-1].group(1) != done[-1].group(2):
            continue
        stats = text.split("Job stats:", 1)[1].split("\n\n", 1)[0] if "Job stats:" in text else ""
        if sum(int(n) for n in TRAIN_JOB.findall(stats)) != train_jobs:
            continue
        h, mnt, sec = elapsed[-1].groups()
        date = next((m.group(1) for line in lines if (m := DATE.match(line))), log.name[:10])
        return DagRun(log, date, int(done[-1].group(2)), 3600 * int(h) + 60 * int(mnt) + float(sec))
    raise ReadmeError(f"no finished Snakemake run of the whole DAG of profile {profile!r} under {log_dir} "
                      f"(one that ran all {train_jobs} training jobs; rerun the whole DAG of {profile})")


def time_line(results: Path, run: DagRun) -> list[str]:
    """Where the run's time went (`report.dag_time`), when its orchestrator record is this run's."""
    o = dag_time.orchestrator(results)
    row = dag_time.split(dag_time.job_times(results))
    if o is None or o.get("log") != run.log.name or row is None:
        return []
    return [
        f"- Time ({o['cpu']}, {o['cores']} cores): the training jobs spent {row['train']:.0f}% of their "
        f"wall time training, {row['eval']:.0f}% evaluating and {row['startup']:.0f}% setting runs up; "
        f"the Snakemake process used {o['cpu_s']:.0f} CPU seconds, {o['share']:.1f}% of the machine's CPU "
        "time (`benchmarks/bench_engine.py --dag`)."
    ]


def block(profile: str, root: Path) -> str:
    """The Markdown block for ``profile`` from its generated files under ``root``."""
    res = root / "results" / profile
    m = read_macros(res / "macros.tex")
    claims_path = res / "tables" / "claims.csv"
    if not claims_path.is_file():
        raise ReadmeError(f"claims table not found: {claims_path} (run the DAG of this profile first)")
    claims = pd.read_csv(claims_path)
    t = {k: tex_to_text(v) for k, v in m.items()}
    run = last_complete_run(root / ".snakemake" / "log", profile, int(t["numTrainJobs"]))
    lines = [
        f"Measured by the last complete run of the `{profile}` DAG ({run.date}, device {t['deviceName']}, "
        f"PyTorch {t['torchVersion']}, commit `{t['gitCommit']}`): "
        f"**{run.elapsed_s / 60:.1f} minutes** wall time for {run.jobs} jobs "
        f"({t['numRuns']} training runs of {t['modelName']} on {t['datasetName']} in {t['numTrainJobs']} "
        f"training jobs: {t['numTuningRuns']} tuning, {t['numFinalRuns']} final "
        f"({t['numStrategies']} strategies × {t['numBudgets']} budgets × {t['seedCount']}), "
        f"{t['numPlateauRuns']} plateau; then the theory checks and benchmarks, tables, figures, the paper "
        "and the notebooks).",
        "",
        f"- Full budget ({t['fullBudgetSteps']} iterations): best mean test accuracy {t['bestFullName']} "
        f"({t['bestFullAcc']}%), cosine {t['cosineFullAcc']}%. Smallest budget "
        f"({t['smallestBudgetPercent']}%): {t['bestSmallName']} ({t['bestSmallAcc']}%). Best average rank: "
        f"{t['topRankName']} ({t['topRankValue']}); best AlgoPerf performance-profile score: "
        f"{t['topProfileName']} ({t['topProfileScore']}), then {t['secondProfileName']} "
        f"({t['secondProfileScore']}).",
        f"- Plateau ({t['plateauStrategy']} at {t['plateauMultiple']}× the full budget): {t['plateauAcc']}%; "
        f"{t['plateauSentence']}.",
        f"- {t['ubaPhiSentence']}",
        f"- {t['swaFullSentence']}",
        f"- Claims decided after Holm's correction (reproduced, exceeded or not reproduced): "
        f"{t['numClaimsDecided']} of {t['numEmpiricalClaims']} empirical claims ({t['decidedPercent']}%); of "
        f"the {t['numFamilyRows']} rows that decide them, {t['numRowsDecidedRaw']} are decided on their raw "
        f"intervals and {t['numRowsDecidedHolm']} ({t['rowsDecidedHolmPercent']}%) after the correction, "
        f"{t['numRowsRobustHolm']} with a margin of at least a third of a half-width.",
        f"- What the convex bound predicts: Spearman's ρ between −Ω\\*_T and the tuned SGD schedules' test "
        f"accuracy {t['boundRankConstant']}; the LR area at the smallest budget {t['smallBudgetAreaRho']}.",
        f"- Theory: {t['theoryChecksPassed']} of {t['theoryChecksTotal']} bound checks pass; official "
        f"OSGM/HDM benchmark: {t['hdmOfficialSentence']}",
        f"- Runs diverged: {t['numDiverged']} of {t['numFinalRuns']} final runs; failed: {t['numFailed']}.",
        *time_line(res, run),
        "",
        "| claim | verdict |",
        "|---|---|",
    ]
    for claim_id, rows in claims.groupby("claim_id", sort=False):
        verdict = m.get(registry.by_id(str(claim_id)).verdict_macro)
        lines.append(f"| {tex_to_text(str(rows['claim'].iloc[0]))} | {verdict or rows['verdict'].iloc[-1]} |")
    return "\n".join(lines)


def update(readme: Path, profile: str, root: Path) -> None:
    """Rewrite the block of ``profile`` in ``readme`` (between its markers), nothing else."""
    begin, end = f"<!-- generated:{profile} begin -->", f"<!-- generated:{profile} end -->"
    if not readme.is_file():
        raise ReadmeError(f"README not found: {readme}")
    text = readme.read_text()
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ReadmeError(f"{readme}: needs exactly one '{begin}' ... '{end}' pair of markers")
    new = block(profile, root)
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    readme.write_text(f"{head}{begin}\n{new}\n{end}{tail}")
