"""theory/: the CLI writes valid files, the benchmark protocol, and one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from theory import __main__ as cli
from theory.bench import BENCH_COLUMNS, CURVE_COLUMNS, run_method
from theory.bench_methods import method_specs
from theory.checks import CheckResult
from theory.protocols import PROJECT


@pytest.fixture(scope="module", autouse=True)
def _single_thread_blas():
    with threadpool_limits(1):
        yield


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("STEPSIZE_THEORY_CACHE", str(tmp_path_factory.getbasetemp() / "theory-cli-cache"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("theory-cli")
    cache = root / "cache"
    rc_check = cli.main(
        [
            "check",
            "--out",
            str(root / "check"),
            "--size",
            "smoke",
            "--cache-dir",
            str(cache),
            "--only",
            "ratio_chaining",
            "superlinear",
            "uba_chebyshev",
        ]
    )
    rc_bench = cli.main(
        [
            "bench",
            "--out",
            str(root / "bench"),
            "--size",
            "smoke",
            "--cache-dir",
            str(cache),
            "--problems",
            "quadratic-scaled",
            "colt_ls-0.1",
        ]
    )
    return root, rc_check, rc_bench


def test_check_writes_valid_json(outputs):
    root, rc_check, _ = outputs
    assert rc_check == 0
    payload = json.loads((root / "check" / "checks.json").read_text())
    assert [c["name"] for c in payload["checks"]] == ["ratio_chaining", "superlinear", "uba_chebyshev"]
    assert all(
        set(c) == {"name", "passed", "summary", "cases", "numbers"} and c["passed"] for c in payload["checks"]
    )
    for check in payload["checks"]:
        assert check["cases"] and {"case", "formula", "formula_tex", "lhs", "rhs", "margin", "passed"} <= set(
            check["cases"][0]
        )
    assert payload["wall_time_s"] > 0 and payload["size"] == "smoke"
    assert set(json.loads((root / "check" / "check_data.json").read_text())) == {
        "ratio_chaining",
        "superlinear",
        "uba_chebyshev",
    }


def test_bench_writes_the_protocol_table(outputs):
    root, _, rc_bench = outputs
    assert rc_bench == 0
    table = pd.read_csv(root / "bench" / "bench.csv")
    curves = pd.read_csv(root / "bench" / "curves.csv")
    assert list(table.columns) == BENCH_COLUMNS and list(curves.columns) == CURVE_COLUMNS
    assert set(table["problem"]) == {"quadratic-scaled", "colt_ls-0.1"}
    assert set(table["method"]) == set(PROJECT.methods)  # quadratics get GD-OptDiag too
    assert set(table["protocol"]) == {"project"}
    assert (table["grad_calls"] <= 1000).all() and (table["grad_calls"] > 0).all()
    assert (table.loc[table["converged"], "final_grad_inf"] < 1e-4).all()
    assert table.set_index(["problem", "method"]).loc[("quadratic-scaled", "HDM-Best"), "converged"]
    for (problem, method), group in curves.groupby(["problem", "method"]):
        row = table[(table["problem"] == problem) & (table["method"] == method)].iloc[0]
        assert group["grad_calls"].max() == row["grad_calls"]


def test_figures_have_stable_names(outputs):
    root, _, _ = outputs
    assert (
        cli.main(
            [
                "figures",
                "--checks",
                str(root / "check"),
                "--bench",
                str(root / "bench"),
                "--out",
                str(root / "fig"),
            ]
        )
        == 0
    )
    names = {p.name for p in (root / "fig").iterdir()}
    for stem in (
        "theory_check_ratio_chaining",
        "theory_check_superlinear",
        "theory_check_uba_chebyshev",
        "theory_bench_quadratic-scaled",
        "theory_bench_colt_ls-0.1",
        "theory_summary",
    ):
        assert {f"{stem}.pdf", f"{stem}.png"} <= names


def test_benching_problems_in_two_processes_gives_the_same_tables(tmp_path):
    from theory.bench import run_benchmark

    problems = ["quadratic-scaled", "colt_ls-0.1", "breast_cancer-svm"]
    kwargs = {"size": "smoke", "cache_dir": tmp_path / "cache"}
    one, one_curves = run_benchmark(problems, **kwargs)
    two, two_curves = run_benchmark(problems, jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one.drop(columns="wall_s"), two.drop(columns="wall_s"))
    pd.testing.assert_frame_equal(one_curves, two_curves)
    assert list(two["problem"].unique()) == problems
    with pytest.raises(ValueError, match="jobs: must be a positive integer, got 0"):
        run_benchmark(problems, jobs=0, **kwargs)


def test_out_defaults_to_a_results_folder_named_by_command_and_protocol(tmp_path, monkeypatch):
    """``python -m theory bench --protocol official --problems ...`` needs no ``--out``."""
    monkeypatch.chdir(tmp_path)
    args = ["bench", "--protocol", "official", "--problems", "a1a:svm", "--methods", "BFGS"]
    assert cli.main(args) == 0
    assert pd.read_csv(tmp_path / "results/theory/bench-official/bench.csv")["method"].tolist() == ["BFGS"]
    failing = CheckResult("uba_chebyshev", False, "forced failure", {"x": 1.0})
    monkeypatch.setattr("theory.checks.run_checks", lambda size, names, cache_dir: [failing])
    assert cli.main(["check", "--size", "smoke"]) == 1
    assert (tmp_path / "results/theory/check/checks.json").is_file()


def test_a_failing_check_gives_exit_status_one(tmp_path, monkeypatch):
    failing = CheckResult("uba_chebyshev", False, "forced failure", {"x": 1.0})
    monkeypatch.setattr("theory.checks.run_checks", lambda size, names, cache_dir: [failing])
    assert cli.main(["check", "--out", str(tmp_path), "--size", "smoke"]) == 1
    assert json.loads((tmp_path / "checks.json").read_text())["checks"][0]["passed"] is False


def _specs(name: str, grid: str):
    bench_problem = PROJECT.build(name, "smoke")
    return bench_problem.problem, {s.name: s for s in method_specs(bench_problem, PROJECT, grid)}


def test_grid_search_reports_the_best_setting_and_its_calls_only():
    problem, specs = _specs("quadratic-scaled", "full")
    spec = specs["HDM-Best"]
    best = run_method(problem, spec, 0.0)
    assert best.row["converged"] and len(spec.settings) == 20
    singles = [run_method(problem, type(spec)(spec.name, [setting]), 0.0).row for setting in spec.settings]
    fewest = min(r["grad_calls"] for r in singles if r["converged"])
    assert best.row["grad_calls"] == fewest
    assert best.row["setting"] == next(
        r["setting"] for r in singles if r["converged"] and r["grad_calls"] == fewest
    )


def test_adaptive_ratio_feedback_never_uses_fstar():
    """OSGM-R (adaptive f*) end to end: the known f* only labels the curves, never changes the run."""
    problem, specs = _specs("colt_ls-0.1", "reduced")
    spec = specs["OSGM-R (adaptive f*)"]
    right, wrong = run_method(problem, spec, 0.0), run_method(problem, spec, -5.0)
    assert right.row["converged"] and right.row["final_grad_inf"] < 1e-4
    for key in ("grad_calls", "func_calls", "setting"):
        assert right.row[key] == wrong.row[key]
    assert wrong.row["final_gap"] == pytest.approx(right.row["final_gap"] + 5.0)


def test_mini_and_full_bench_the_whole_colt_sigma_sweep():
    for size in ("mini", "full"):
        sweep = [p for p in PROJECT.problems(size) if p.startswith("colt_ls-")]
        assert sweep == ["colt_ls-0.0001", "colt_ls-0.001", "colt_ls-0.01", "colt_ls-0.1"]
    assert PROJECT.size_grid["mini"] == "full"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "--out", "{tmp}", "--problems", "bogus-problem"], "unknown problem 'bogus-problem'"),
        (
            ["bench", "--out", "{tmp}", "--problems", "quadratic-scaled", "--methods", "Newton"],
            "unknown method(s) Newton",
        ),
        (["figures", "--checks", "{tmp}/none", "--bench", "{tmp}", "--out", "{tmp}/fig"], "missing input"),
        (["bench", "--out", "{tmp}", "--protocol", "paper"], "unknown protocol 'paper'"),
        (
            ["bench", "--out", "{tmp}", "--protocol", "official", "--problems", "a1a:svm", "digits-svm"],
            "unknown problem 'digits-svm' for protocol 'official'",
        ),
        (["bench", "--out", "{tmp}", "--problems", "a1a:svm"], "unknown problem 'a1a:svm'"),
        (
            ["bench", "--out", "{tmp}", "--protocol", "official", "--methods", "OSGM-H"],
            "unknown method(s) OSGM-H for protocol 'official'",
        ),
        (
            ["bench", "--out", "{tmp}", "--problems", "svmlight:{tmp}/corrupt.svm:svm"],
            "corrupt.svm is not valid",
        ),
    ],
)
def test_bad_input_gives_a_one_line_error(argv, message, tmp_path, capsys):
    (tmp_path / "corrupt.svm").write_text("+1 1:0.5 2:x\n")
    assert cli.main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bench.csv").exists()  # nothing ran, nothing half-written


def test_module_entry_point_reports_errors_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "theory",
            "bench",
            "--out",
            str(tmp_path),
            "--problems",
            f"svmlight:{tmp_path}/missing.txt:svm",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: svmlight file not found: {tmp_path}/missing.txt"]


def test_json_is_written_atomically_through_unique_temporaries(tmp_path):
    """Two writers of the same file never share a temporary: each reader sees one whole payload."""
    target = tmp_path / "checks.json"
    payloads = [json.dumps({"writer": i, "pad": "x" * 200_000}) for i in range(2)]

    def write(i: int) -> None:
        for _ in range(20):
            cli.write_atomic(target, payloads[i])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_text() in payloads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checks.json"]


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["check", "--out", "x", "--size", "bogus"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "invalid choice: 'bogus'" in err and len(err.splitlines()) == 1
