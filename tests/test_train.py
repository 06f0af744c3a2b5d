"""The training loop end to end on tiny problems: the run record, SWA variants, options, faults."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from stepsize import config, schedules
from stepsize.train import main, train

TINY = {
    "data": {"name": "synthetic", "in_channels": 1, "image_size": 12, "train_size": 512, "test_size": 256,
             "batch_size": 32, "eval_batch_size": 128, "augment": False, "noise": 64.0},
    "model": {"name": "mini_resnet", "width": 4},
    "optimizer": {"name": "momentum", "lr": 0.05, "momentum": 0.9, "weight_decay": 5.0e-4},
    "schedule": {"name": "cosine"},
    "budget": {"steps": 40},
    "swa": {"variants": [], "start": 0.5, "period": 4, "swalr_lr": 0.02, "bn_batches": 4},
    "train": {"device": "cpu", "threads": 1, "progress": False, "channels_last": False},
}


def tiny(*overrides: str) -> dict:
    return config.resolve(config.apply_overrides(TINY, overrides))


def run(tmp_path, *overrides: str, name: str = "run") -> dict:
    return train(tiny(*overrides), tmp_path / name)


def write_tiny_yaml(tmp_path) -> str:
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return str(path)


def test_the_cli_writes_the_record_of_design_5_without_heavy_imports(tmp_path):
    """Real Fashion-MNIST subset through the CLI entry point, in a fresh interpreter."""
    out = tmp_path / "out"
    args = ["experiments/base/fashion_mnist.yaml", "--out", str(out), "--set", "budget.steps=30",
            "data.train_subset=2000", "data.test_subset=500", f"data.cache_dir={tmp_path / 'cache'}",
            "swa.variants=[tail, swalr, ema]", "eval.at_fractions=[0.5, 1.0]"]
    code = (
        "import sys; from stepsize.train import main; rc = main(sys.argv[1:]); "
        "heavy = [m for m in ('torchvision', 'pandas', 'scipy', 'matplotlib', 'ffcv', 'report', "
        "'schedulefree', 'prodigyopt', 'dadaptation', 'dog') if m in sys.modules]; "
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    record = json.loads((out / "run.json").read_text())
    assert {"schema", "status", "diverged_step", "error", "config", "seed", "budget_steps", "curve", "evals",
            "final", "averaged", "wall_time_s", "versions", "git_commit", "device", "code",
            "divergence"} <= set(record)
    assert record["status"] == "ok" and record["diverged_step"] is None and record["budget_steps"] == 30
    assert record["config"]["data"]["train_subset"] == 2000
    assert set(record["versions"]) == {"python", "torch", "numpy"}
    assert [e["step"] for e in record["evals"]] == [15, 30]
    assert record["evals"][-1]["test_acc"] == record["final"]["test_acc"]
    assert set(record["averaged"]) == {"tail", "swalr", "ema"}
    assert record["averaged"]["swalr"]["swa_lr"] == 0.05
    assert record["divergence"]["factor"] == 3.0 and record["divergence"]["reference_loss"] > 1.0
    assert record["final"]["test_acc"] > 0.4  # 10 classes: chance is 0.1
    assert not (out / "checkpoint.pt").exists()
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]  # no temporary files left behind


def test_learning_happens_and_the_curve_records_the_scheduled_lr(tmp_path):
    record = run(tmp_path, "train.log_every=7")
    assert record["final"]["test_acc"] > 0.6
    curve = record["curve"]
    assert curve["step"] == [7, 14, 21, 28, 35, 40]
    expected = 0.05 * schedules.multiplier("cosine", np.array(curve["step"]) - 1, 40)
    np.testing.assert_allclose(curve["lr"], expected, rtol=1e-12)
    assert curve["loss"][-1] < curve["loss"][0]
    assert len(curve["grad_norm"]) == len(curve["step"]) and all(g > 0 for g in curve["grad_norm"])


def test_the_curve_records_the_gradient_norm_before_clipping(tmp_path):
    """curve.grad_norm is the root mean square of ‖g_t‖ over each curve window (the G_t of the last-iterate
    bound), measured before clipping: a clipped run's first window has the same norm as the plain run."""
    base = run(tmp_path, "budget.steps=4", "train.log_every=1", name="base")
    clipped = run(tmp_path, "budget.steps=4", "train.log_every=1", "train.grad_clip=0.01", name="clip")
    assert clipped["curve"]["grad_norm"][0] == base["curve"]["grad_norm"][0] > 0.01
    pairs = run(tmp_path, "budget.steps=4", "train.log_every=2", name="pairs")
    rms = np.sqrt((np.array(base["curve"]["grad_norm"][:2]) ** 2).mean())
    assert pairs["curve"]["grad_norm"][0] == pytest.approx(rms, rel=1e-5)


def test_averaging_windows_and_anytime_evals(tmp_path):
    record = run(tmp_path, "swa.variants=[tail, ema]", "eval.at_fractions=[0.25, 0.75, 1.0]")
    assert record["averaged"]["tail"]["n_averaged"] == 5  # updates 24, 28, 32, 36, 40
    assert record["averaged"]["ema"]["n_averaged"] == 20  # updates 21..40
    assert record["averaged"]["tail"]["start_step"] == 20
    first, middle, last = record["evals"]
    assert (first["step"], first["averaged"]) == (10, None)
    assert middle["step"] == 30 and middle["averaged_variant"] == "tail"
    assert middle["averaged"]["test_acc"] > 0.1
    assert last["averaged"]["test_acc"] == record["averaged"]["tail"]["test_acc"]
    assert last["test_acc"] == record["final"]["test_acc"]
    # swa.running: off -- the anytime evaluations cover the raw model only; the averages stay, and the
    # raw model's anytime numbers are the same evaluations
    raw_only = run(tmp_path, "swa.variants=[tail, ema]", "eval.at_fractions=[0.25, 0.75, 1.0]",
                   "swa.running=off", name="off")
    assert [e["averaged"] for e in raw_only["evals"]] == [None] * 3
    assert [e["test_acc"] for e in raw_only["evals"]] == [e["test_acc"] for e in record["evals"]]
    assert raw_only["averaged"] == record["averaged"]


def test_tail_and_ema_do_not_change_the_trajectory(tmp_path):
    plain = run(tmp_path, name="plain")
    averaged = run(tmp_path, "swa.variants=[tail, ema]", name="averaged")
    assert plain["final"] == averaged["final"] and plain["curve"] == averaged["curve"]


def test_a_swalr_branch_at_the_base_lr_retraces_the_base_run(tmp_path):
    """Constant schedule at 0.02 and SWALR at 0.02: the branch repeats the base updates exactly, so its
    average equals the tail average; SWALR at a fraction of the peak sets its rate from optimizer.lr."""
    record = run(tmp_path, "schedule.name=constant", "optimizer.lr=0.02", "swa.variants=[tail, swalr]")
    swalr, tail = record["averaged"]["swalr"], record["averaged"]["tail"]
    assert (swalr["test_acc"], swalr["test_loss"], swalr["n_averaged"]) == (
        tail["test_acc"], tail["test_loss"], tail["n_averaged"])
    other = run(tmp_path, "schedule.name=constant", "optimizer.lr=0.02", "swa.variants=[swalr]",
                "swa.swalr_fraction=0.5", name="other")
    assert other["averaged"]["swalr"]["swa_lr"] == 0.01 and other["config"]["swa"]["swalr_lr"] == 0.01
    assert other["averaged"]["swalr"]["test_loss"] != swalr["test_loss"]


def test_runs_are_deterministic_and_seeds_matter(tmp_path):
    a = run(tmp_path, name="a")
    b = run(tmp_path, name="b")
    c = run(tmp_path, "train.seed=1", name="c")
    assert a["curve"] == b["curve"] and a["final"] == b["final"]
    assert a["curve"]["loss"] != c["curve"]["loss"]


def test_label_smoothing_grad_clipping_and_bf16_autocast_take_effect(tmp_path):
    base = run(tmp_path, "budget.steps=10", name="base")
    smooth = run(tmp_path, "budget.steps=10", "train.label_smoothing=0.2", name="smooth")
    clipped = run(tmp_path, "budget.steps=10", "train.grad_clip=0.01", name="clipped")
    bf16 = run(tmp_path, "budget.steps=10", "train.amp=bf16", name="bf16")
    assert smooth["curve"]["loss"][0] != base["curve"]["loss"][0]  # same first batch, different loss
    assert clipped["curve"]["loss"][0] == base["curve"]["loss"][0]  # clipping acts after the first loss
    assert clipped["curve"]["loss"][-1] != base["curve"]["loss"][-1]
    assert bf16["status"] == "ok" and bf16["curve"]["loss"][0] != base["curve"]["loss"][0]
    assert abs(bf16["curve"]["loss"][0] - base["curve"]["loss"][0]) < 0.05


def test_a_nan_loss_stops_the_run_as_diverged_with_exit_0(tmp_path, capsys):
    out = tmp_path / "diverged"
    rc = main([write_tiny_yaml(tmp_path), "--out", str(out), "--set", "optimizer.lr=1.0e+6",
               "swa.variants=[tail, swalr]", "train.log_every=5"])
    assert rc == 0
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "diverged" and 1 <= record["diverged_step"] <= 40
    assert record["final"] == {"test_acc": None, "test_loss": None}
    assert record["averaged"] == {"tail": {"test_acc": None, "test_loss": None},
                                  "swalr": {"test_acc": None, "test_loss": None}}
    assert all(math.isfinite(v) for v in record["curve"]["loss"])
    assert "diverged at step" in capsys.readouterr().out


def test_an_empty_out_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    yaml_path = write_tiny_yaml(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([yaml_path, "--out", "", "--set", "budget.steps=2"]) == 1
    err = capsys.readouterr().err
    assert "--out: an empty path" in err and err.count("\n") == 1
    assert not (tmp_path / "run.json").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["optimizer.lrr=0.1"],
         "stepsize.train: error: optimizer.lrr: unknown momentum option; did you mean 'lr'?"),
        (["data.name=fashion_mnist", "data.root=/nonexistent"], "apt-get install dataset-fashion-mnist"),
        (["budget.steps=-3"], "budget.steps: must be an integer >= 1, got -3"),
    ],
)
def test_config_and_data_errors_print_one_line_and_exit_1(tmp_path, capsys, overrides, message):
    yaml_path = write_tiny_yaml(tmp_path)
    if overrides[0].startswith("data.name"):  # a different dataset: replace the data section
        overrides = ["data={name: fashion_mnist, root: /nonexistent}"]
    assert main([yaml_path, "--out", str(tmp_path / "o"), "--set", *overrides]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o" / "run.json").exists()


def test_a_checkpoint_from_another_config_is_refused(tmp_path, capsys):
    yaml_path = write_tiny_yaml(tmp_path)
    out = str(tmp_path / "o")
    keep = ["train.checkpoint_every=10", "train.keep_checkpoint=true"]
    assert main([yaml_path, "--out", out, "--set", *keep]) == 0
    assert (tmp_path / "o" / "checkpoint.pt").exists()
    assert main([yaml_path, "--out", out, "--set", "optimizer.lr=0.1"]) == 1
    err = capsys.readouterr().err
    assert "checkpoint.pt was written with a different config" in err
    assert "(differs in optimizer.lr)" in err, "thread count, progress and checkpoint period may change"


def test_a_torn_checkpoint_is_one_line_naming_it_and_is_not_overwritten(tmp_path, capsys):
    yaml_path = write_tiny_yaml(tmp_path)
    out = tmp_path / "o"
    keep = ["train.checkpoint_every=10", "train.keep_checkpoint=true"]
    assert main([yaml_path, "--out", str(out), "--set", *keep]) == 0
    torn = (out / "checkpoint.pt").read_bytes()[:1000]  # a disk fault or a copy cut short
    (out / "checkpoint.pt").write_bytes(torn)
    capsys.readouterr()
    assert main([yaml_path, "--out", str(out), "--set", *keep]) == 1
    err = capsys.readouterr().err
    assert f"{out / 'checkpoint.pt'}: unreadable checkpoint" in err
    assert "delete it to start the run over" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (out / "checkpoint.pt").read_bytes() == torn, "the evidence is left for the user to look at"


class _Planted:
    """A pickle that runs a shell command when it is unpickled (``__reduce__``)."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_a_planted_checkpoint_cannot_run_code_and_is_one_line_naming_it(tmp_path, capsys):
    import torch

    yaml_path = write_tiny_yaml(tmp_path)
    out, marker = tmp_path / "o", tmp_path / "pwned"
    out.mkdir()
    torch.save({"config": _Planted(marker), "state": _Planted(marker)}, out / "checkpoint.pt")
    assert main([yaml_path, "--out", str(out)]) == 1
    assert not marker.exists(), "loading the checkpoint ran the planted command"
    err = capsys.readouterr().err
    assert f"{out / 'checkpoint.pt'}: refused an unsafe checkpoint" in err and "posix.system" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_checkpoints_hold_only_what_the_safe_unpickler_loads_and_restore_numpy_arrays(tmp_path):
    import random

    import torch

    from stepsize import checkpoint

    cfg = tiny("train.checkpoint_every=5", "train.keep_checkpoint=true", "budget.steps=10",
               "optimizer={name: adamw, lr: 0.001}", "swa.variants=[swalr]")
    train(cfg, tmp_path / "o")
    torch.load(tmp_path / "o" / "checkpoint.pt", weights_only=True)  # raises on any unsafe global
    state = checkpoint.load_matching(tmp_path / "o" / "checkpoint.pt", cfg)
    assert isinstance(state["rng"]["numpy"][1], np.ndarray) and state["rng"]["numpy"][1].dtype == np.uint32
    checkpoint.set_rng_states(state["rng"])
    drawn = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    checkpoint.set_rng_states(state["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == drawn  # noqa: NPY002
    with pytest.raises(TypeError, match=r"state\['bad'\]\[0\] is a builtins.object"):
        checkpoint.save(tmp_path / "x.pt", {"bad": [object()]})
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.parametrize("message", [
    "[enforce fail at inline_container.cc:672] . unexpected pos 4480 vs 4374",
    "[enforce fail at inline_container.cc:858] . PytorchStreamWriter failed writing file data/3: file write "
    "failed",
])
def test_a_full_disk_while_checkpointing_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch, message):
    import errno

    import torch

    from stepsize import checkpoint

    def full(*args, **kwargs):
        raise RuntimeError(message)

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError) as caught:
        checkpoint.save(tmp_path / "c.pt", {"a": 1})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "c.pt")
    assert list(tmp_path.iterdir()) == [], "the temporary file is removed"
    out = tmp_path / "o"
    assert main([write_tiny_yaml(tmp_path), "--out", str(out), "--set", "train.checkpoint_every=5"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and str(out / "checkpoint.pt") in err
    assert err.count("\n") == 1 and "Traceback" not in err and "unexpected pos" not in err


def test_a_finite_blow_up_is_a_divergence_too(tmp_path, capsys):
    """OSGM at a multiplier of 1e4: the loss leaves the band (3 x its first window) long before it could
    settle at a finite, useless value (it used to be recorded ok at chance accuracy)."""
    out = tmp_path / "osgm"
    rc = main([write_tiny_yaml(tmp_path), "--out", str(out), "--set", "optimizer={name: osgm, lr: 10000.0}",
               "schedule.name=constant", "train.log_every=2"])
    assert rc == 0
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "diverged" and record["diverged_step"] > 2
    reference = record["divergence"]["reference_loss"]
    assert all(v <= 3 * reference for v in record["curve"]["loss"])
    off = run(tmp_path, "optimizer={name: osgm, lr: 10000.0}", "schedule.name=constant",
              "train.divergence_factor=null", name="no_band")
    assert off["divergence"]["factor"] is None


def test_the_thread_count_may_change_between_a_run_and_its_resume(tmp_path):
    yaml_path = write_tiny_yaml(tmp_path)
    out = str(tmp_path / "o")
    assert main([yaml_path, "--out", out, "--set", "train.checkpoint_every=10", "train.keep_checkpoint=true",
                 "budget.steps=20"]) == 0
    assert main([yaml_path, "--out", out, "--set", "train.checkpoint_every=10", "train.keep_checkpoint=true",
                 "budget.steps=20", "train.threads=2"]) == 0


def test_run_records_write_non_finite_metrics_as_null_and_leave_no_temp_file(tmp_path):
    import json

    from stepsize import run_record

    path = tmp_path / "run.json"
    run_record.write_json_atomic(path, {"final": {"test_loss": float("nan"), "test_acc": 0.1},
                                     "curve": {"loss": [1.0, float("inf")]}})
    assert json.loads(path.read_text()) == {"final": {"test_loss": None, "test_acc": 0.1},
                                            "curve": {"loss": [1.0, None]}}
    with pytest.raises(TypeError):
        run_record.write_json_atomic(path, {"bad": object()})
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_missing_ffcv_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    for name in ("ffcv", "ffcv.fields", "ffcv.loader", "ffcv.writer"):
        monkeypatch.setitem(sys.modules, name, None)  # `import ffcv` now raises ImportError
    for name in ("train.beton", "val.beton"):
        (tmp_path / name).write_bytes(b"")
    yaml_path = write_tiny_yaml(tmp_path)
    data = f"data={{name: ffcv, train_path: {tmp_path / 'train.beton'}, val_path: {tmp_path / 'val.beton'}}}"
    assert main([yaml_path, "--out", str(tmp_path / "o"), "--set", data]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stepsize.train: error: ffcv is not importable") and err.count("\n") == 1
    assert "pip install ffcv==1.0.2" in err and "Traceback" not in err


def test_amp_modes_and_the_input_dtype_they_imply():
    import torch

    from stepsize.train import amp_enabled, input_dtype

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert [amp_enabled(m, cpu) for m in ("auto", "bf16", "off")] == [False, True, False]
    assert [amp_enabled(m, cuda) for m in ("auto", "bf16", "off")] == [True, True, False]
    model = torch.nn.Linear(2, 2)
    assert input_dtype(True, model) is None  # autocast casts per op: fp16 FFCV batches go in unchanged
    assert input_dtype(False, model) == torch.float32
    assert input_dtype(False, model.double()) == torch.float64


class HalfImages:
    """A `Data` whose images are float16, like FFCVData's on CUDA (simulated here on the CPU)."""

    def __init__(self, data):
        self.data = data
        for key in ("num_classes", "in_channels", "image_size", "train_size", "batch_size", "splits"):
            setattr(self, key, getattr(data, key))

    def train_batches(self, start_step=0):
        return ((x.half(), y) for x, y in self.data.train_batches(start_step))

    def eval_batches(self, split="test"):
        return ((x.half(), y) for x, y in self.data.eval_batches(split))

    def bn_batches(self, max_batches=None):
        return (x.half() for x in self.data.bn_batches(max_batches))

    def set_progress(self, fraction):
        self.data.set_progress(fraction)


def test_fp16_batches_without_autocast_are_cast_where_they_enter_the_fp32_model(tmp_path, monkeypatch):
    """train.amp=off with fp16 batches (FFCV on CUDA): training, evaluation and BN recomputation of the
    averages all see fp32 inputs (before the fix: 'Input type (Half) and bias type (float)...')."""
    import stepsize.data

    build = stepsize.data.build
    monkeypatch.setattr(stepsize.data, "build", lambda *a, **kw: HalfImages(build(*a, **kw)))
    half = run(tmp_path, "budget.steps=12", "train.amp=off", "swa.variants=[tail, swalr]",
               "eval.at_fractions=[0.5, 1.0]", name="half")
    monkeypatch.setattr(stepsize.data, "build", build)
    full = run(tmp_path, "budget.steps=12", "train.amp=off", "swa.variants=[tail, swalr]",
               "eval.at_fractions=[0.5, 1.0]", name="full")
    assert half["status"] == "ok" and half["averaged"]["tail"]["test_acc"] is not None
    assert half["averaged"]["swalr"]["test_acc"] is not None
    assert abs(half["final"]["test_loss"] - full["final"]["test_loss"]) < 0.05  # fp16 rounding of inputs


def test_a_nan_loss_is_recorded_at_its_exact_update_and_later_evals_are_dropped(tmp_path):
    """The losses are checked only when the window is flushed (update 14 here), but diverged_step names
    the first non-finite one (update 10); the anytime eval at update 12 saw diverged weights."""
    from stepsize.train import Run

    cfg = tiny("train.log_every=7", "eval.at_fractions=[0.2, 0.3, 1.0]", "swa.variants=[tail]")
    run_ = Run(cfg, tmp_path / "nan")
    criterion, calls = run_.criterion, []

    def poisoned(out, y):
        calls.append(1)
        loss = criterion(out, y)
        return loss * float("nan") if len(calls) == 10 else loss

    run_.criterion = poisoned
    record = run_.execute()
    assert record["status"] == "diverged" and record["diverged_step"] == 10
    assert len(calls) == 14 and record["curve"]["step"] == [7]
    assert [e["step"] for e in record["evals"]] == [8]  # the eval at update 12 is dropped
    assert record["final"] == {"test_acc": None, "test_loss": None}


def test_compile_true_trains_evaluates_and_averages_the_uncompiled_module(tmp_path):
    """train.compile=true on the CPU (inductor + gcc): the run works, matches eager closely, and the
    average is built from the plain module (state-dict keys without the compiled wrapper's prefix)."""
    import torch

    from stepsize.train import Run

    overrides = ("budget.steps=6", "data.eval_batch_size=32", "swa.variants=[tail]", "swa.period=1",
                 "swa.bn_batches=2", "eval.at_fractions=[0.5, 1.0]")
    try:
        compiled = Run(tiny(*overrides, "train.compile=true"), tmp_path / "compiled")
        record = compiled.execute()
    except Exception as err:  # a broken inductor toolchain must fail loudly here, not be skipped
        pytest.fail(f"train.compile=true failed on the CPU: {type(err).__name__}: {err}")
    eager = run(tmp_path, *overrides, name="eager")
    assert isinstance(compiled.fast, torch._dynamo.eval_frame.OptimizedModule)
    averaged = compiled.averagers["tail"].model.module
    assert not isinstance(averaged, torch._dynamo.eval_frame.OptimizedModule)
    assert not any("_orig_mod" in k for k in averaged.state_dict())
    assert record["status"] == "ok" and [e["step"] for e in record["evals"]] == [3, 6]
    tail = record["averaged"]["tail"]
    assert tail["n_averaged"] == 3 and tail["test_acc"] is not None
    np.testing.assert_allclose(record["curve"]["loss"], eager["curve"]["loss"], rtol=1e-3)
    assert abs(record["final"]["test_loss"] - eager["final"]["test_loss"]) < 1e-2


def test_the_raw_model_is_judged_with_batchnorm_recomputed_without_changing_the_trajectory(tmp_path):
    """``eval.recompute_bn`` (default on): the raw model's BatchNorm statistics are recomputed at each
    evaluation, as every average's are. An EMA with decay 0 is the last iterate itself, evaluated through the
    averages' own update_bn path: the recomputed raw model must match it; the running statistics must not."""
    common = ("eval.at_fractions=[0.5, 1.0]", "swa.variants=[ema]", "swa.ema_decay=0.0", "optimizer.lr=0.2",
              "schedule.name=constant")
    precise = run(tmp_path, *common, name="precise")
    running = run(tmp_path, *common, "eval.recompute_bn=false", name="running")
    assert precise["curve"] == running["curve"]  # evaluating never changes the trajectory
    assert precise["averaged"]["ema"]["test_loss"] == pytest.approx(running["averaged"]["ema"]["test_loss"])
    last_iterate = precise["averaged"]["ema"]
    assert precise["final"]["test_acc"] == last_iterate["test_acc"]
    assert precise["final"]["test_loss"] == pytest.approx(last_iterate["test_loss"], rel=1e-4)
    assert running["final"]["test_loss"] != pytest.approx(last_iterate["test_loss"], rel=1e-3)
    assert [e["test_loss"] for e in precise["evals"]] != [e["test_loss"] for e in running["evals"]]
    with pytest.raises(ValueError, match=r"^eval\.recompute_bn: expected bool"):
        tiny("eval.recompute_bn=3")


def test_timings_count_each_second_once(tmp_path):
    """Anytime evaluations happen inside the training loop: they count in ``eval_s``, not in ``train_s``."""
    fractions = "eval.at_fractions=[" + ", ".join(str(i / 20) for i in range(1, 21)) + "]"
    record = run(tmp_path, fractions, "data.eval_batch_size=16")
    t = record["timings_s"]
    assert 0 < t["train_s"] and 0 < t["eval_s"]
    assert t["startup_s"] + t["setup_s"] + t["train_s"] + t["eval_s"] <= record["wall_time_s"]
