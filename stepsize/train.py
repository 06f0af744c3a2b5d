"""Train one model under a fixed iteration budget and write ``DIR/run.json`` (design.md §4–5).

    python -m stepsize.train CONFIG --out DIR [--set key=value ...]
    torchrun --nproc_per_node=2 -m stepsize.train CONFIG --out DIR      # DDP (gloo on CPU, nccl on CUDA)
    python -m stepsize.batch PLAN.json                                  # many runs in one process

The loop: config → seeds → data → model (channels_last) → optimizer/scheduler from `stepsize.optim` /
`stepsize.schedules` → optional ``torch.compile`` and DDP → ``budget.steps`` updates, each
``loss = CE_smooth(model(x), y)`` (bf16 autocast on CUDA), ``backward``, optional clipping,
``optimizer.step()``, ``scheduler.step()``. The averages of `stepsize.averaging` share the run:
``tail``/``ema``/``poly`` average the base trajectory; ``swalr`` forks at the averaging start and runs
after the base run on the same later batches (Izmailov et al., UAI 2018).

Every evaluation recomputes BatchNorm statistics on ``swa.bn_batches`` training batches first (raw model:
``eval.recompute_bn``, default on; every average: always), so that all contenders are judged alike.
Optimizers with an evaluation point (Schedule-Free, `stepsize.optim.modes`) are evaluated, averaged and
checkpointed at that point; their training point is restored bit for bit afterwards, so evaluating never
changes the trajectory.

Faults: a run *diverges* at the first update whose training loss is non-finite or exceeds
``train.divergence_factor`` × the mean loss of its first curve window (default 3: a cross-entropy of
2.3 at initialisation becomes 6.9), or whose last update leaves non-finite weights; it stops with
``status: diverged`` (exit 0). The losses stay on the device and are checked when the curve window is
flushed (every ``log_every`` updates: one host sync). Periodic checkpoints (``train.checkpoint_every``)
are atomic; rerunning the same command resumes and ends with bit-identical metrics on CPU. The output
folder is locked for the run (`stepsize.run_dir`) and checked writable before any compute. Config,
data and file-system errors print one line and exit 1. ``run.json`` is written atomically by rank 0.

This file is longer than the project's other modules on purpose: the loop reads top-down in one place, as
nanoGPT's ``train.py`` does; what is not the loop lives in `stepsize.averaging`, `stepsize.evaluation`,
`stepsize.checkpoint`, `stepsize.run_record`, `stepsize.run_dir` and `stepsize.distributed` (design.md).
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import copy  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from contextlib import AbstractContextManager, nullcontext  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from stepsize import averaging, checkpoint, config, distributed, run_dir, run_record  # noqa: E402
from stepsize.evaluation import evaluate_splits  # noqa: E402
from stepsize.models import as_input  # noqa: E402
from stepsize.optim.modes import evaluation_point, has_modes, restore_training_point  # noqa: E402

#: Fault injection for the resume tests: the process SIGKILLs itself after this many updates (base
#: updates, then SWALR-branch updates, counted together).
KILL_ENV = "STEPSIZE_FAULT_KILL_AT"
#: The averages of the base trajectory, in the order the anytime evaluation prefers them.
BASE_AVERAGES = ("tail", "ema", "poly")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (third-party code may use the global state)
    torch.manual_seed(seed)


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` and one inter-op thread (no-op for None)."""
    if threads is None:
        return
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started in this process
        pass


def amp_enabled(mode: str, device: torch.device) -> bool:
    """Whether ``train.amp`` (auto | bf16 | off) means bf16 autocast on ``device`` (auto: on CUDA only)."""
    return mode == "bf16" or (mode == "auto" and device.type == "cuda")


def input_dtype(amp: bool, model: nn.Module) -> torch.dtype | None:
    """The dtype batches are cast to before they enter ``model``: None under autocast (it casts for each
    op, so FFCV's fp16 CUDA batches go in as they are), else the dtype of the model's parameters (fp16
    batches meet fp32 weights as fp32 instead of failing with a dtype mismatch)."""
    return None if amp else next(model.parameters()).dtype


def own_library_modules(cfg: dict[str, Any]) -> set[str]:
    """The schedule and optimizer spec modules a run uses (the other specs it imports do not count in
    its code provenance, `run_record.code_provenance`)."""
    import stepsize.optim
    import stepsize.schedules

    return {stepsize.schedules.spec(cfg["schedule"]["name"]).core.__module__,
            stepsize.optim.spec(cfg["optimizer"]["name"]).build.__module__}


class Run:
    """One training run: the objects it needs and its record. `execute` does the work."""

    def __init__(self, cfg: dict[str, Any], out_dir: Path, started: float | None = None) -> None:
        import stepsize.data
        import stepsize.models
        import stepsize.optim
        import stepsize.schedules

        self.cfg, self.out_dir = cfg, out_dir
        self.started = _START if started is None else started  # perf_counter() at this run's start
        tcfg = cfg["train"]
        self.steps = cfg["budget"]["steps"]
        self.procs = distributed.from_environment()
        self.device = distributed.resolve_device(tcfg["device"], self.procs)
        distributed.init(self.procs, self.device)
        set_threads(tcfg["threads"])
        seed_everything(tcfg["seed"])
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")
        amp = amp_enabled(tcfg["amp"], self.device)
        self.autocast: Callable[[], AbstractContextManager] = (
            (lambda: torch.autocast(self.device.type, dtype=torch.bfloat16)) if amp else nullcontext
        )
        self.channels_last = tcfg["channels_last"]
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format

        self.data = stepsize.data.build(
            cfg["data"], device=self.device, seed=tcfg["seed"], rank=self.procs.rank,
            world_size=self.procs.world_size,
        )
        wanted = {*cfg["eval"]["along"], *cfg["eval"]["final"], *cfg["eval"]["averages"]}
        missing = sorted(s for s in wanted if s not in self.data.splits)
        if missing:
            raise ValueError(f"eval: split {missing[0]!r} is not in the data (splits: "
                             f"{', '.join(self.data.splits)}; a validation split needs data.val_size > 0)")
        mcfg = {k: v for k, v in cfg["model"].items() if k != "name"}
        self.net = stepsize.models.create(
            cfg["model"]["name"], self.data.num_classes, self.data.in_channels, **mcfg
        ).to(self.device, memory_format=memory_format)
        self.input_dtype = input_dtype(amp, self.net)
        ocfg = {k: v for k, v in cfg["optimizer"].items() if k not in ("name", "lr")}
        self.optimizer = stepsize.optim.create(
            cfg["optimizer"]["name"], self.net.parameters(), cfg["optimizer"]["lr"], **ocfg
        )
        self.modes = has_modes(self.optimizer)  # Schedule-Free: a training and an evaluation point
        if self.modes:
            self.optimizer.train()
        scfg = {k: v for k, v in cfg["schedule"].items() if k != "name"}
        self.scheduler = stepsize.schedules.create(
            cfg["schedule"]["name"], self.optimizer, self.steps, **scfg
        )
        fast = torch.compile(self.net) if tcfg["compile"] else self.net
        self.fast = fast  # evaluation (compiled, not DDP-wrapped)
        if self.procs.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            fast = nn.parallel.DistributedDataParallel(fast, device_ids=ids)
        self.model = fast  # the training forward
        self.criterion = nn.CrossEntropyLoss(label_smoothing=tcfg["label_smoothing"])
        self.grad_clip = tcfg["grad_clip"]
        self.divergence_factor = tcfg["divergence_factor"]
        self.reference_loss: float | None = None  # mean loss of the first curve window

        swa = cfg["swa"]
        self.variants = list(swa["variants"])
        self.fork_step = averaging.start_step(swa["start"], self.steps)
        self.averagers = {
            kind: averaging.Averager(kind, self.net, start=self.fork_step, period=swa["period"],
                                     ema_decay=swa["ema_decay"], poly_gamma=swa["poly_gamma"])
            for kind in BASE_AVERAGES if kind in self.variants
        }
        self.fork: dict[str, Any] | None = None  # model/optimizer state at the averaging start (swalr)
        self.swalr: Any = None  # (SWALR scheduler) during the branch
        self.swalr_avg: averaging.Averager | None = None
        self.eval_steps = {max(1, round(f * self.steps)): f for f in sorted(cfg["eval"]["at_fractions"])}
        self.along, self.final_splits = tuple(cfg["eval"]["along"]), tuple(cfg["eval"]["final"])
        self.average_splits = tuple(cfg["eval"]["averages"])
        self.log_every = tcfg["log_every"] or math.ceil(self.steps / 200)
        self.checkpoint_every = tcfg["checkpoint_every"]
        self.kill_at = int(os.environ.get(KILL_ENV, "0") or 0)
        self.record = run_record.new_record(cfg)
        self.phase, self.done = "base", 0  # the phase and the updates done in it (the branch counts from 0)
        self.window: list[torch.Tensor] = []  # losses since the last curve point
        self.grad_window: list[torch.Tensor] = []  # squared gradient norms since the last curve point
        self.elapsed_before = 0.0  # wall time of earlier (interrupted) processes of this run
        self.timings = {"startup_s": 0.0, "setup_s": 0.0, "train_s": 0.0, "eval_s": 0.0}
        self.bar: Any = None

    # ------------------------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / checkpoint.FILENAME

    def state(self, train_point: list[torch.Tensor] | None) -> dict[str, Any]:
        """Everything a resume needs; the model at its evaluation point, ``train_point`` beside it."""
        return {
            "config": self.cfg,
            "phase": self.phase,
            "done": self.done,
            "elapsed_s": self.elapsed_before + time.perf_counter() - self.started,
            "model": self.net.state_dict(),
            "train_point": train_point,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "swalr": None if self.swalr is None else self.swalr.state_dict(),
            "averagers": {k: a.state_dict() for k, a in self.averagers.items()},
            "swalr_average": None if self.swalr_avg is None else self.swalr_avg.state_dict(),
            "fork": self.fork,
            "window": [float(v) for v in self.window],
            "grad_window": [float(v) for v in self.grad_window],
            "reference_loss": self.reference_loss,
            "rng": checkpoint.rng_states(),
            "record": self.record,
        }

    def save_checkpoint(self) -> None:
        """Atomic checkpoint, saved at the evaluation point (Schedule-Free: x, as its README asks)."""
        if self.procs.is_main:
            with evaluation_point(self.optimizer) as train_point:
                checkpoint.save(self.checkpoint_path, self.state(train_point))
        distributed.barrier(self.procs)

    def resume(self) -> bool:
        """Load ``DIR/checkpoint.pt`` if present (same config), returning whether it did."""
        state = checkpoint.load_matching(self.checkpoint_path, self.cfg)
        if state is None:
            return False
        self.phase, self.done, self.fork = state["phase"], state["done"], state["fork"]
        self.elapsed_before, self.record = state["elapsed_s"], state["record"]
        self.reference_loss = state["reference_loss"]
        self.net.load_state_dict(state["model"])
        for kind, avg_state in state["averagers"].items():
            self.averagers[kind].load_state_dict(avg_state)
        if self.phase == "swalr":
            self._start_swalr_branch(from_fork=False)
            self.swalr_avg.load_state_dict(state["swalr_average"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state["train_point"] is not None:
            restore_training_point(self.optimizer, state["train_point"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.swalr is not None:
            self.swalr.load_state_dict(state["swalr"])
        self.window = [torch.tensor(v, dtype=torch.float32, device=self.device) for v in state["window"]]
        self.grad_window = [torch.tensor(v, dtype=torch.float32, device=self.device)
                            for v in state.get("grad_window", [])]
        checkpoint.set_rng_states(state["rng"])
        return True

    # ------------------------------------------------------------------------------------ training
    def _fault_injection(self) -> None:
        work = self.done if self.phase == "base" else self.steps + self.done
        if self.kill_at and work == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        distributed.raise_injected_fault(self.procs, work)

    def _first_bad(self, values: list[float], n_updates: int) -> int | None:
        """The update (1-based) of the first loss that is non-finite or above the divergence band."""
        limit = math.inf
        if self.divergence_factor is not None and self.reference_loss is not None:
            limit = self.divergence_factor * self.reference_loss
        first = n_updates - len(values) + 1
        return next((first + i for i, v in enumerate(values) if not math.isfinite(v) or v > limit), None)

    def _flush_window(self, n_updates: int, lr: float) -> int | None:
        """Append a curve point (step = updates done, mean loss since the last point) in the base phase;
        return the update number of the first diverging loss on any rank, or None. At the budget's end,
        weights made non-finite by the last update count as diverging there."""
        values = torch.stack(self.window).tolist()
        grad_sq = torch.stack(self.grad_window).tolist() if self.grad_window else []
        self.window.clear()
        self.grad_window.clear()
        bad = self._first_bad(values, n_updates)
        if bad is None and self.reference_loss is None and self.phase == "base":
            self.reference_loss = sum(values) / len(values)
        if bad is None and n_updates == self.steps and not all(
                bool(torch.isfinite(p).all()) for p in self.net.parameters()):
            bad = n_updates
        bad = distributed.earliest(self.procs, bad, self.device)
        if bad is not None:
            return bad
        if self.phase == "base":
            curve = self.record["curve"]
            curve["step"].append(n_updates)
            curve["lr"].append(lr)
            curve["loss"].append(sum(values) / len(values))
            # the root mean square of ‖g_t‖ over the window: the G_t of the last-iterate bound (theory/)
            rms = math.sqrt(sum(grad_sq) / len(grad_sq)) if grad_sq else math.nan
            curve["grad_norm"].append(rms if math.isfinite(rms) else None)
            if self.bar is not None:
                self.bar.set_postfix(lr=f"{lr:.4g}", loss=f"{curve['loss'][-1]:.4f}", refresh=False)
        return None

    def _update(self, x: torch.Tensor, y: torch.Tensor, scheduler: Any) -> float:
        """One optimizer update on batch (x, y); returns the LR it used."""
        with self.autocast():
            loss = self.criterion(self.model(as_input(x, self.channels_last, self.input_dtype)), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # ‖g_t‖² of the minibatch gradient before clipping, kept on the device until the curve point
        grads = [p.grad for p in self.net.parameters() if p.grad is not None]
        if grads:
            self.grad_window.append(torch.stack(torch._foreach_norm(grads)).float().pow(2).sum())
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        scheduler.step()
        self.window.append(loss.detach())
        return lr

    def _average(self, averagers: list[averaging.Averager], n_updates: int) -> None:
        """Add the iterate after ``n_updates`` updates (its evaluation point) to the averages due."""
        due = [a for a in averagers if a.due(n_updates)]
        if due:
            with evaluation_point(self.optimizer):
                for avg in due:
                    avg.update(self.net)

    def _train(self) -> int | None:
        """Run the current phase from ``self.done`` to the budget; return the diverged step or None."""
        base = self.phase == "base"
        first = self.done if base else self.fork_step + self.done
        scheduler = self.scheduler if base else self.swalr
        averagers = list(self.averagers.values()) if base else [self.swalr_avg]
        self.data.set_progress(first / self.steps)  # before taking batch `first` (design.md §3)
        batches = self.data.train_batches(first)
        for step in range(first, self.steps):
            if base and step == self.fork_step and "swalr" in self.variants:
                self.fork = self._snapshot()
            x, y = next(batches)
            lr = self._update(x, y, scheduler)
            self.done += 1
            n_updates = step + 1
            self.data.set_progress(n_updates / self.steps)
            self._average(averagers, n_updates)
            if self.bar is not None:
                self.bar.update()
            if self.done % self.log_every == 0 or n_updates == self.steps:
                bad = self._flush_window(n_updates, lr)
                if bad is not None:
                    return bad
            if base and n_updates in self.eval_steps and n_updates < self.steps:
                self._evaluate_at(n_updates)
            if self.checkpoint_every and self.done % self.checkpoint_every == 0:
                self.save_checkpoint()
            self._fault_injection()
        return None

    def _timed_train(self) -> int | None:
        """`_train`, its time added to ``train_s`` less the anytime evaluations inside it (``eval_s``)."""
        t, eval_before = time.perf_counter(), self.timings["eval_s"]
        bad = self._train()
        self.timings["train_s"] += time.perf_counter() - t - (self.timings["eval_s"] - eval_before)
        return bad

    def _snapshot(self) -> dict[str, Any]:
        return {
            "model": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def _start_swalr_branch(self, from_fork: bool) -> None:
        """Switch to the SWALR branch: fork state, ``SWALR(swalr_lr, anneal_steps)``, a fresh average."""
        from torch.optim.swa_utils import SWALR

        swa = self.cfg["swa"]
        if from_fork:
            self.net.load_state_dict(self.fork["model"])
            self.optimizer.load_state_dict(self.fork["optimizer"])
            self.phase, self.done = "swalr", 0
        self.swalr = SWALR(self.optimizer, swa_lr=swa["swalr_lr"], anneal_epochs=swa["anneal_steps"],
                           anneal_strategy="cos")
        self.swalr_avg = averaging.Averager("swalr", self.net, start=self.fork_step, period=swa["period"],
                                            ema_decay=swa["ema_decay"])

    # ------------------------------------------------------------------------------------ evaluation
    def _evaluate(self, model: nn.Module, splits: tuple[str, ...]) -> dict[str, float]:
        return evaluate_splits(model, self.data, splits, fold_bn=self.cfg["eval"]["fold_bn"],
                               autocast=self.autocast, channels_last=self.channels_last,
                               dtype=self.input_dtype)

    def _recompute_bn(self, model: nn.Module) -> None:
        averaging.recompute_bn(model, self.data.bn_batches(self.cfg["swa"]["bn_batches"]), self.autocast,
                               self.channels_last, self.input_dtype)

    def _raw_metrics(self, splits: tuple[str, ...]) -> dict[str, float]:
        """The raw model on ``splits``, at its evaluation point, BatchNorm statistics recomputed there
        (``eval.recompute_bn``; always for an optimizer with an evaluation point, as Schedule-Free's README
        asks). Why for every optimizer: running statistics lag fast-moving weights (Wu & Johnson 2021,
        "Rethinking 'Batch' in BatchNorm"); at 30 updates they cost a constant-LR SGD run 22 points of test
        accuracy on average over 10 seeds (`benchmarks/bn_statistics.py`), and an averaged or Schedule-Free
        model, which is always recomputed, would be judged against a handicapped raw one."""
        with evaluation_point(self.optimizer):
            if self.modes or self.cfg["eval"]["recompute_bn"]:
                self._recompute_bn(self.net)
            return self._evaluate(self.fast, splits)

    def _averaged_metrics(self, avg: averaging.Averager, splits: tuple[str, ...]) -> dict[str, Any]:
        if avg.n_averaged == 0:
            return {**run_record.null_metrics(splits), **avg.summary()}
        self._recompute_bn(avg.model)
        return {**self._evaluate(avg.model, splits), **avg.summary()}

    def _running_average(self) -> str | None:
        """The base average the anytime evaluation reports (``swa.running``, else tail, else ema, else
        poly), or None (also for ``swa.running: off``: the anytime evaluations cover the raw model only)."""
        chosen = self.cfg["swa"]["running"]
        if chosen == "off":
            return None
        if chosen in self.averagers:
            return chosen
        return next((k for k in BASE_AVERAGES if k in self.averagers), None)

    def _evaluate_at(self, step: int) -> None:
        """Anytime evaluation during the base run (rank 0): raw model, and the running average if started."""
        if self.procs.is_main:
            t = time.perf_counter()
            variant, averaged = self._running_average(), None
            if variant is not None and self.averagers[variant].n_averaged > 0:
                averaged = self._averaged_metrics(self.averagers[variant], self.along)
            entry = {"step": step, "fraction": self.eval_steps[step], **self._raw_metrics(self.along),
                     "averaged": averaged, "averaged_variant": variant if averaged else None}
            self.record["evals"].append(entry)
            self.timings["eval_s"] += time.perf_counter() - t
        distributed.barrier(self.procs)

    def _finish_base(self) -> None:
        """Final raw evaluation, base averages (BN recomputed), the eval entry at the budget's end."""
        if self.procs.is_main:
            t = time.perf_counter()
            self.record["final"] = self._raw_metrics(self.final_splits)
            for kind, avg in self.averagers.items():
                self.record["averaged"][kind] = self._averaged_metrics(avg, self.average_splits)
            if self.steps in self.eval_steps:
                self.record["evals"].append(self._last_eval_entry())
            self.timings["eval_s"] += time.perf_counter() - t
        distributed.barrier(self.procs)

    def _last_eval_entry(self) -> dict[str, Any]:
        """The anytime entry at the budget's end, from the final metrics (evaluating only the ``along``
        splits that the final evaluation did not cover)."""
        keys = list(run_record.null_metrics(self.along))
        extra = tuple(s for s in self.along if s not in self.final_splits)
        raw = {**self.record["final"], **(self._raw_metrics(extra) if extra else {})}
        variant = self._running_average()
        averaged = None
        if variant is not None and self.averagers[variant].n_averaged > 0:
            missing = tuple(s for s in self.along if s not in self.average_splits)
            found = {**self.record["averaged"][variant],
                     **(self._averaged_metrics(self.averagers[variant], missing) if missing else {})}
            averaged = {k: found[k] for k in keys}
        return {"step": self.steps, "fraction": self.eval_steps[self.steps], **{k: raw[k] for k in keys},
                "averaged": averaged, "averaged_variant": variant if averaged is not None else None}

    def _finish_swalr(self) -> None:
        if self.procs.is_main:
            t = time.perf_counter()
            self.record["averaged"]["swalr"] = {**self._averaged_metrics(self.swalr_avg, self.average_splits),
                                                "swa_lr": self.cfg["swa"]["swalr_lr"]}
            self.timings["eval_s"] += time.perf_counter() - t
        distributed.barrier(self.procs)

    def _diverged(self, step: int) -> None:
        """Record a divergence at update ``step``. Detection waits for the next curve flush, so anytime
        evaluations at ``step`` or later saw the diverged weights: they are dropped."""
        nulls = run_record.null_metrics(self.final_splits)
        if self.phase == "base":
            self.record.update(status="diverged", diverged_step=step, final=nulls)
            self.record["averaged"] = {v: run_record.null_metrics(self.average_splits) for v in self.variants}
            self.record["evals"] = [e for e in self.record["evals"] if e["step"] < step]
        else:  # the SWALR branch diverged; the base run and its other averages stand
            self.record["averaged"]["swalr"] = {**run_record.null_metrics(self.average_splits),
                                                "diverged_step": step}

    # ------------------------------------------------------------------------------------ the run
    def execute(self, claimed: bool = False) -> dict[str, Any]:
        """Train (resuming if a matching checkpoint exists), evaluate, and return the run record.
        ``claimed``: the caller already holds the output folder (`stepsize.run_dir.claim`)."""
        own = self.procs.is_main and not claimed
        with run_dir.claim(self.out_dir) if own else nullcontext(self.out_dir):
            distributed.barrier(self.procs)
            return self._execute()

    def _execute(self) -> dict[str, Any]:
        self.resume()
        total = self.steps + (self.steps - self.fork_step if "swalr" in self.variants else 0)
        progress = self.cfg["train"]["progress"] and self.procs.is_main and sys.stderr.isatty()
        if progress:
            from tqdm import tqdm

            done = self.done if self.phase == "base" else self.steps + self.done
            self.bar = tqdm(total=total, initial=done, desc="train", dynamic_ncols=True, leave=False)
        if self.phase == "base":
            bad = self._timed_train()
            if bad is not None:
                self._diverged(bad)
                return self._close()
            self._finish_base()
            if "swalr" in self.variants:
                self._start_swalr_branch(from_fork=True)
                if self.checkpoint_every:
                    self.save_checkpoint()
        if self.phase == "swalr":
            bad = self._timed_train()
            if bad is not None:
                self._diverged(bad)
            else:
                self._finish_swalr()
        return self._close()

    def _close(self) -> dict[str, Any]:
        if self.bar is not None:
            self.bar.close()
        self.record.update(run_record.environment(self.device, self.procs.world_size))
        self.record["divergence"] = {"factor": self.divergence_factor, "reference_loss": self.reference_loss}
        self.record["num_classes"] = int(self.data.num_classes)  # chance level, 1/K (report.runs: at chance)
        self.record["code"] = {"modules": run_record.code_provenance(own_library_modules(self.cfg))}
        self.record["wall_time_s"] = self.elapsed_before + time.perf_counter() - self.started
        self.record["timings_s"] = {k: round(v, 4) for k, v in self.timings.items()}
        if self.procs.is_main:
            run_record.write_json_atomic(self.out_dir / "run.json", self.record)
            if not self.cfg["train"]["keep_checkpoint"]:
                self.checkpoint_path.unlink(missing_ok=True)
        distributed.barrier(self.procs)
        return self.record


def train(cfg: dict[str, Any], out_dir: str | Path, started: float | None = None,
          claimed: bool = False, keep_group: bool = False) -> dict[str, Any]:
    """Run the resolved config ``cfg`` and write ``out_dir/run.json``; return the record.

    ``started``: ``time.perf_counter()`` when this run began (default: when this module was imported).
    ``claimed``: the caller holds the output folder already (the batch runner).
    ``keep_group``: leave the process group (torchrun) up for the caller's next run: re-joining a group
    after destroying it hangs under torchrun's rendezvous store, so a batch joins once.
    """
    t = time.perf_counter()
    run = Run(cfg, Path(out_dir), started)
    run.timings["startup_s"] = t - run.started
    run.timings["setup_s"] = time.perf_counter() - t
    try:
        return run.execute(claimed)
    finally:
        if not keep_group:
            distributed.shutdown(run.procs)


def one_line(err: BaseException) -> str:
    """An error as one line (its type named when the message alone would not say what it is)."""
    text = " ".join(str(err).split())
    if isinstance(err, OSError) and err.strerror and not isinstance(err, run_dir.RunDirError):
        where = f": {err.filename}" if getattr(err, "filename", None) else ""
        return f"{err.strerror}{where}"  # a system error (disk full, permission): its reason and file
    return text


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors a run reports as one line (config, data, resume, output folder, disk, a missing
    optional package), never a traceback."""
    from stepsize.data.base import MissingDependencyError

    return (ValueError, OSError, MissingDependencyError)


def summary_line(record: dict[str, Any], out: str | Path) -> str:
    """``ok: test_acc=... tail=... wall=...s -> DIR/run.json``."""
    status = record["status"]
    extra = f" at step {record['diverged_step']}" if status == "diverged" else ""
    metrics = " ".join(f"{k}={v}" for k, v in record["final"].items() if k.endswith("_acc"))
    averaged = " ".join(f"{k}={v.get('test_acc', v.get('val_acc'))}" for k, v in record["averaged"].items())
    wall = f"wall={record['wall_time_s']:.1f}s"
    return f"{status}{extra}: {metrics} {averaged} {wall} -> {Path(out) / 'run.json'}"


def run_command(config_path: str, out: str, overrides: list[str], started: float | None = None) -> int:
    """One run as the CLI does it: 0 for ok/diverged, 1 (one line on stderr) for a config, data, resume,
    output-folder or disk error and a missing optional dependency (ffcv, an optimizer's package)."""
    try:
        if not str(out).strip():  # Path("") is ".": the run would write into the current folder
            raise ValueError("--out: an empty path; name the run's output folder")
        cfg = config.load(config_path, overrides)
        record = train(cfg, out, started)
    except user_errors() as err:  # config, data, resume, output folder, disk: one line
        print(distributed.error_line(err, message=one_line(err)), file=sys.stderr)
        return 1
    except Exception as err:  # a DDP rank that raises: one line; torchrun's agent stops the other ranks
        if not distributed.from_environment().distributed:
            raise
        print(distributed.error_line(err, unexpected=True), file=sys.stderr, flush=True)
        return 1
    if distributed.from_environment().is_main:
        print(summary_line(record, out), flush=True)
    return 0


PARSER = argparse.ArgumentParser(prog="python -m stepsize.train", description=__doc__.split("\n")[0])
PARSER.add_argument("config", help="training config (YAML)")
PARSER.add_argument("--out", required=True, help="output folder (run.json, checkpoint.pt)")
PARSER.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                    help="dotted-key override, value parsed as YAML")


def main(argv: list[str] | None = None) -> int:
    args = PARSER.parse_args(argv)
    return run_command(args.config, args.out, args.overrides)


if __name__ == "__main__":
    sys.exit(main())
