"""The one training loop every chapter uses.

    history = fit(model, batches, steps=500, lr=1e-3)
    history.plot()

`fit` is AdamW (weight decay on matrices only) with linear warmup then cosine decay,
gradient clipping, mixed precision on a GPU (bf16, or float16 with a gradient scaler on GPUs
without bf16), gradient accumulation, a tqdm progress bar, a `History` of every logged
value, and optional checkpoints. It is short on purpose: read it top to bottom.

The same call trains on several GPUs when the script is launched with
`torchrun --nproc_per_node=N script.py`: each process trains a replica wrapped in
DistributedDataParallel on its share of every batch, gradients are averaged across processes
once per update, and only process 0 shows progress, saves checkpoints and runs `eval_fn`.

A batch is a dict of tensors (passed as `model(**batch)`), a tuple/list of tensors
(`model(*batch)`) or a single tensor (`model(batch)`). `loss_fn(model, batch)` returns the
scalar loss, or a dict holding "loss" and any scalar metrics to log (e.g. "acc"). Without
a `loss_fn` the model's own output is used: a tensor, or anything with `.loss` / `["loss"]`.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import itertools
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "History",
    "fit",
    "AmpChoice",
    "amp_choice",
    "distributed_info",
    "is_main_process",
    "lr_at",
    "make_optimizer",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_config",
]


# ----------------------------------------------------------------------------- history


class History:
    """Everything `fit` logged: one record `(step, name, value, split)` per metric per step.

    `split` is "train" or "eval". A train metric is looked up by its name ("loss", "acc",
    "lr", "grad_norm"), an eval metric by "eval_" + its name ("eval_loss", "eval_acc").
    `step` counts optimizer updates done, so the first train record is at step 1.

        h = fit(model, batches, steps=100, eval_fn=..., eval_every=20)
        h["loss"][-1], h.steps("eval_acc"), h.last("eval_acc"), h.final, h.plot()
    """

    def __init__(self, records: Iterable = ()):
        self.records: list[tuple[int, str, float, str]] = []
        self._series: dict[str, tuple[list[int], list[float]]] = {}
        for step, name, value, split in records:
            self.log(step, name, value, split)

    @staticmethod
    def key(name: str, split: str = "train") -> str:
        """The lookup key of a metric: `name` for train, "eval_" + `name` for eval."""
        if split == "train" or name.startswith(split + "_"):
            return name
        return f"{split}_{name}"

    def log(self, step: int, name: str, value: float, split: str = "train") -> None:
        """Record one value. Example: `h.log(10, "loss", 2.3)`; `h.log(10, "acc", 0.9, "eval")`."""
        if split not in ("train", "eval"):
            raise ValueError(f'split must be "train" or "eval", got {split!r}')
        record = (int(step), str(name), float(value), split)
        self.records.append(record)
        steps, values = self._series.setdefault(self.key(name, split), ([], []))
        steps.append(record[0])
        values.append(record[2])

    def _get(self, key: str) -> tuple[list[int], list[float]]:
        if key not in self._series:
            raise KeyError(f"history has no metric {key!r}; it has {self.keys()}")
        return self._series[key]

    def __getitem__(self, key: str) -> list[float]:
        """The values of one metric in step order. Example: `h["loss"]`."""
        return list(self._get(key)[1])

    def __contains__(self, key: str) -> bool:
        return key in self._series

    def __len__(self) -> int:
        return len(self.records)

    def keys(self) -> list[str]:
        """The lookup keys, e.g. ['loss', 'lr', 'grad_norm', 'eval_loss']."""
        return list(self._series)

    def steps(self, key: str) -> list[int]:
        """The steps at which a metric was recorded. Example: `h.steps("eval_loss")`."""
        return list(self._get(key)[0])

    def last(self, key: str) -> float:
        """The latest value of a metric. Example: `h.last("eval_acc")`."""
        return self._get(key)[1][-1]

    @property
    def step(self) -> int:
        """The last step recorded (0 for an empty history); a continued `fit` starts after it."""
        return max((r[0] for r in self.records), default=0)

    @property
    def final(self) -> dict[str, float]:
        """The latest value of every metric, e.g. {'loss': 0.12, 'eval_acc': 0.97, ...}."""
        return {k: v[-1] for k, (_, v) in self._series.items()}

    def curves(self) -> dict[str, tuple[list[int], list[float]]]:
        """{key: (steps, values)} for every metric; what `lmnotes.viz.plot_curves` draws."""
        return {k: (list(s), list(v)) for k, (s, v) in self._series.items()}

    def to_dict(self) -> dict:
        """Plain lists (JSON- and checkpoint-safe): {"records": [[step, name, value, split], ...]}."""
        return {"records": [list(r) for r in self.records]}

    @classmethod
    def from_dict(cls, d: Mapping) -> History:
        """Inverse of `to_dict`. Example: `History.from_dict(h.to_dict())`."""
        return cls(d["records"])

    def plot(self, names=None, ax=None, smooth: float = 0.8, **kwargs):
        """Draw the curves in the house style (train solid, eval dashed with markers).

        names: a metric name or list of them (default: "loss"); eval curves of the same name
        come along. smooth: exponential smoothing of train curves in [0, 1). Returns the Axes.
        Example: `h.plot()`, `h.plot("acc")`, `h.plot(["loss"], logy=True)`.
        """
        from lmnotes.viz import plot_curves

        return plot_curves(self, names=names, ax=ax, smooth=smooth, **kwargs)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.final.items())
        return f"History(step={self.step}: {shown})"


# ----------------------------------------------------------------------------- optimizer and schedule


def make_optimizer(
    model: nn.Module, lr: float = 3e-4, weight_decay: float = 0.1, betas: tuple[float, float] = (0.9, 0.95)
) -> torch.optim.AdamW:
    """AdamW with weight decay on every parameter with ndim >= 2 (weight matrices and
    embeddings) and none on biases and norm gains (ndim < 2): shrinking a LayerNorm gain or
    a bias toward 0 regularises nothing useful. Fused AdamW when all parameters are on CUDA.

    Example: `opt = make_optimizer(model, lr=1e-3)`; `opt.param_groups[0]` is the decayed group.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters that require grad; nothing to train")
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = all(p.is_cuda for p in params)
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), fused=fused or None)


def _warmup_steps(warmup: float, steps: int) -> int:
    if (
        isinstance(warmup, bool)
        or not isinstance(warmup, (int, float))
        or not (0 <= warmup < 1 or (warmup >= 1 and warmup == int(warmup) and warmup <= steps))
    ):
        raise ValueError(
            f"warmup must be a fraction of steps in [0, 1) or a whole number of steps "
            f"in [1, steps={steps}], got {warmup!r}"
        )
    return int(warmup * steps) if warmup < 1 else int(warmup)


def lr_at(step: int, steps: int, lr: float = 3e-4, warmup: float = 0.1, min_lr_ratio: float = 0.1) -> float:
    """The learning rate for update `step` (0 .. steps-1): linear warmup then cosine decay.

    With w warmup steps (warmup * steps if warmup < 1, else warmup): step 0 gets lr / w,
    step w-1 and w the peak lr, and the last step (steps-1) exactly min_lr_ratio * lr.
    Example: `lr_at(0, 100, lr=1e-3, warmup=10) == 1e-4`.
    """
    w = _warmup_steps(warmup, steps)
    if step < w:
        return lr * (step + 1) / w
    min_lr = min_lr_ratio * lr
    ratio = min(1.0, (step - w) / max(1, steps - 1 - w))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


# ----------------------------------------------------------------------------- batches and loss


def _to_device(batch, device: torch.device):
    """Move every tensor in a (nested) dict / list / tuple to `device`."""
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return (
            type(batch)(_to_device(v, device) for v in batch)
            if not hasattr(batch, "_fields")
            else type(batch)(*(_to_device(v, device) for v in batch))
        )
    return batch


def _batch_stream(batches) -> Callable[[int], object]:
    """A get_batch(step) for a callable, or for an iterable cycled when exhausted."""
    if isinstance(batches, Iterable) and not torch.is_tensor(batches):
        state = {"it": iter(batches), "seen": 0, "epoch": 0}

        def get_batch(step):
            try:
                batch = next(state["it"])
            except StopIteration:
                state["epoch"] += 1
                set_epoch = getattr(getattr(batches, "sampler", None), "set_epoch", None)
                if set_epoch is not None:  # a DistributedSampler reshuffles only when told the epoch
                    set_epoch(state["epoch"])
                state["it"] = iter(batches)  # a DataLoader reshuffles here
                try:
                    batch = next(state["it"])
                except StopIteration:
                    if state["seen"] == 0:
                        raise ValueError(
                            "batches is empty; pass a non-empty list, a DataLoader "
                            "or a get_batch(step) function"
                        ) from None
                    raise ValueError(
                        f"batches ran out after {state['seen']} batches and cannot be "
                        "re-iterated (a generator?); pass a list, a DataLoader or a "
                        "get_batch(step) function"
                    ) from None
            state["seen"] += 1
            return batch

        return get_batch
    if callable(batches):
        return batches
    raise TypeError(
        f"batches must be an iterable of batches or a function get_batch(step), got {type(batches).__name__}"
    )


def _default_loss(model: nn.Module, batch):
    """The model's own loss: model(**batch) / model(*batch) / model(batch), then its
    scalar output, its .loss or its ["loss"] (other outputs such as logits are dropped)."""
    if isinstance(batch, Mapping):
        out = model(**batch)
    elif isinstance(batch, (list, tuple)):
        out = model(*batch)
    else:
        out = model(batch)
    if isinstance(out, Mapping) and "loss" in out:
        return out["loss"]
    if not torch.is_tensor(out) and getattr(out, "loss", None) is not None:
        return out.loss
    if torch.is_tensor(out) and out.numel() != 1:
        raise ValueError(
            f"the model returned a tensor of shape {tuple(out.shape)}, not a loss; "
            "pass loss_fn(model, batch) -> loss, or let the model return a loss"
        )
    return out


def _as_metrics(out) -> dict:
    """Turn what loss_fn (or the model) returned into {"loss": scalar tensor, **metrics}."""
    if torch.is_tensor(out):
        metrics = {"loss": out}
    elif isinstance(out, Mapping):
        if "loss" not in out:
            raise ValueError(f"loss_fn returned a dict without a 'loss' key (keys: {list(out)})")
        metrics = dict(out)
    elif getattr(out, "loss", None) is not None:
        metrics = {"loss": out.loss}
    else:
        raise TypeError(
            f"loss_fn must return a scalar tensor or a dict with 'loss', got "
            f"{type(out).__name__}; without loss_fn the model must return one (or .loss)"
        )
    for name, v in metrics.items():
        if torch.is_tensor(v) and v.numel() != 1:
            raise ValueError(
                f"loss_fn's {name!r} must be a scalar, got shape {tuple(v.shape)}; "
                "reduce it (e.g. .mean()) before returning it"
            )
        if not torch.is_tensor(v) and not isinstance(v, (int, float)):
            raise TypeError(f"loss_fn's {name!r} must be a scalar tensor or a number, got {type(v).__name__}")
    if not torch.is_tensor(metrics["loss"]):
        raise TypeError(
            f"the loss must be a tensor (so it can be backpropagated), got {type(metrics['loss']).__name__}"
        )
    return metrics


# ----------------------------------------------------------------------------- mixed precision


@dataclasses.dataclass(frozen=True)
class AmpChoice:
    """What `fit` runs the forward pass in: `dtype` (None: float32, no autocast), whether a
    gradient scaler guards float16's small range, and a sentence saying why."""

    dtype: torch.dtype | None
    scaler: bool
    why: str

    def autocast(self, device: torch.device):
        """The autocast context for `device` (a no-op context when `dtype` is None)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.dtype)


_AMP_NAMES = {
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def amp_choice(device, amp: bool | str | torch.dtype = True) -> AmpChoice:
    """Pick the mixed precision for `device`.

    amp=True (the default) chooses: on a CUDA GPU with compute capability >= 8.0 (A100, H100,
    RTX 30xx and later) bfloat16, which has float32's exponent range and needs no scaling; on an
    older GPU (a T4 is 7.5: no bfloat16 tensor cores) float16 with a `torch.amp.GradScaler`,
    which multiplies the loss so small gradients do not round to zero in float16 and skips
    the update when a gradient overflows; on a CPU or Apple GPU nothing (float32).
    amp=False: float32. amp="bfloat16" / "float16" (or a torch dtype): that dtype on any device,
    the CPU included (float16 always with a scaler).
    Example: `amp_choice(torch.device("cuda"))  # AmpChoice(dtype=torch.bfloat16, scaler=False, ...)`
    """
    device = torch.device(device)
    if amp is False or amp is None:
        return AmpChoice(None, False, "float32 (amp=False)")
    if isinstance(amp, str):
        if amp.lower() not in _AMP_NAMES:
            raise ValueError(f"amp must be True, False, 'bfloat16' or 'float16', got {amp!r}")
        amp = _AMP_NAMES[amp.lower()]
    if isinstance(amp, torch.dtype):
        if amp not in (torch.bfloat16, torch.float16):
            raise ValueError(f"amp must be torch.bfloat16 or torch.float16, got {amp}")
        scaler = amp == torch.float16
        return AmpChoice(
            amp,
            scaler,
            f"{str(amp)[6:]} autocast on {device.type} (asked for)"
            + (" with a gradient scaler" if scaler else ""),
        )
    if amp is not True:
        raise ValueError(f"amp must be True, False, 'bfloat16' or 'float16', got {amp!r}")
    if device.type != "cuda":
        return AmpChoice(None, False, f"float32 on {device.type} (mixed precision is used on CUDA GPUs)")
    major, minor = torch.cuda.get_device_capability(device)
    if (major, minor) >= (8, 0):
        return AmpChoice(
            torch.bfloat16, False, f"bfloat16 autocast (GPU compute capability {major}.{minor} >= 8.0)"
        )
    return AmpChoice(
        torch.float16,
        True,
        f"float16 autocast with a gradient scaler (GPU compute capability "
        f"{major}.{minor} < 8.0 has no bfloat16 tensor cores)",
    )


def _autocast(device: torch.device, amp=True):
    return amp_choice(device, amp).autocast(device)


_ANNOUNCED: set[str] = set()


def _announce(choice: AmpChoice) -> None:
    """Say once per process which precision training uses (when it is not plain float32)."""
    if choice.dtype is not None and choice.why not in _ANNOUNCED:
        _ANNOUNCED.add(choice.why)
        print(f"lmnotes.train: {choice.why}")


# ----------------------------------------------------------------------------- several processes (torchrun)


def distributed_info() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) of this process: (0, 1, 0) unless launched by torchrun
    (which sets RANK, WORLD_SIZE and LOCAL_RANK) or inside an initialised process group.

    Example: `rank, world, local = distributed_info()`
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """True in process 0 (or when not distributed): where to print, plot and save.

    Example: `if is_main_process(): torch.save(model.state_dict(), "model.pt")`
    """
    return distributed_info()[0] == 0


def _init_distributed(device: torch.device) -> None:
    """Join the process group torchrun describes (once per process): NCCL on GPUs, gloo on CPUs."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch has no torch.distributed; run one process")
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ValueError(
            f"WORLD_SIZE is {os.environ['WORLD_SIZE']} but {', '.join(missing)} is not set; launch "
            "with `torchrun --nproc_per_node=N script.py`, or unset WORLD_SIZE to train in one process"
        )
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    atexit.register(_destroy_distributed)


def _destroy_distributed() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


class _LossModule(nn.Module):
    """What DistributedDataParallel wraps: the model with its loss function, so that a `loss_fn`
    calling any method of the model still runs inside DDP's forward (and its gradients sync)."""

    def __init__(self, model: nn.Module, loss_fn: Callable):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch):
        return self.loss_fn(self.model, batch)


def _batch_rows(batch) -> int | None:
    """The leading dimension of the first tensor in a (nested) batch: its number of rows."""
    if torch.is_tensor(batch):
        return batch.shape[0] if batch.dim() else None
    values = (
        batch.values() if isinstance(batch, Mapping) else batch if isinstance(batch, (list, tuple)) else ()
    )
    for v in values:
        rows = _batch_rows(v)
        if rows is not None:
            return rows
    return None


def _slice_rows(batch, rows: int, a: int, b: int):
    """Rows a:b of every tensor in `batch` whose leading dimension is `rows`; the rest as is."""
    if torch.is_tensor(batch):
        return batch[a:b] if batch.dim() and batch.shape[0] == rows else batch
    if isinstance(batch, Mapping):
        return {k: _slice_rows(v, rows, a, b) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        parts = [_slice_rows(v, rows, a, b) for v in batch]
        return type(batch)(*parts) if hasattr(batch, "_fields") else type(batch)(parts)
    return batch


def split_batch(batch, n: int) -> list[tuple[object, int]]:
    """Split a batch into `n` consecutive parts by rows: [(part, rows), ...]; the first
    `rows % n` parts get one row more. Every tensor whose leading dimension is the batch's
    number of rows (that of its first tensor) is sliced; other values are shared.

    Example: `split_batch({"x": torch.zeros(5, 3)}, 2)` → parts of 3 and 2 rows.
    """
    if n == 1:
        return [(batch, _batch_rows(batch) or 1)]
    rows = _batch_rows(batch)
    if rows is None:
        raise ValueError(
            "cannot split a batch that holds no tensor with a batch dimension; with several "
            "processes or accumulate > 1 each batch must be tensors of shape (batch, ...)"
        )
    if rows < n:
        raise ValueError(
            f"a batch of {rows} rows cannot be split into {n} parts (processes x accumulate); "
            f"use batches of at least {n} rows, fewer processes or a smaller accumulate"
        )
    sizes = [rows // n + (i < rows % n) for i in range(n)]
    starts = list(itertools.accumulate([0] + sizes))
    return [(_slice_rows(batch, rows, starts[i], starts[i + 1]), sizes[i]) for i in range(n)]


def _uses_distributed_sampler(batches) -> bool:
    from torch.utils.data.distributed import DistributedSampler

    sampler = getattr(batches, "sampler", None)
    batch_sampler = getattr(batches, "batch_sampler", None)
    return isinstance(sampler, DistributedSampler) or isinstance(
        getattr(batch_sampler, "sampler", None), DistributedSampler
    )


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


# ----------------------------------------------------------------------------- the loop


def _check_args(
    steps,
    lr,
    weight_decay,
    betas,
    warmup,
    min_lr_ratio,
    clip,
    eval_every,
    eval_fn,
    log_every,
    checkpoint,
    checkpoint_every,
    accumulate=1,
):
    def whole(name, v, lo):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")

    whole("steps", steps, 1)
    whole("log_every", log_every, 1)
    whole("accumulate", accumulate, 1)
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    _warmup_steps(warmup, steps)
    if not 0 <= min_lr_ratio <= 1:
        raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio!r}")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be > 0 (the max gradient norm) or None for no clipping, got {clip!r}")
    if eval_every is not None:
        whole("eval_every", eval_every, 1)
        if eval_fn is None:
            raise ValueError("eval_every is set but eval_fn is None; pass eval_fn(model) -> dict")
    if checkpoint_every is not None:
        whole("checkpoint_every", checkpoint_every, 1)
        if checkpoint is None:
            raise ValueError("checkpoint_every is set but checkpoint is None; pass checkpoint=path")


def fit(
    model: nn.Module,
    batches,
    loss_fn: Callable | None = None,
    *,
    steps: int,
    lr: float = 3e-4,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.95),
    warmup: float = 0.1,
    min_lr_ratio: float = 0.1,
    clip: float | None = 1.0,
    eval_every: int | None = None,
    eval_fn: Callable | None = None,
    device=None,
    amp: bool | str | torch.dtype = True,
    accumulate: int = 1,
    shard: bool | None = None,
    log_every: int = 10,
    progress: bool = True,
    desc: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    history: History | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> History:
    """Train `model` for `steps` optimizer updates and return the `History`.

    batches: an iterable of batches (cycled; re-iterated when exhausted, so a DataLoader
        reshuffles) or get_batch(step) -> batch. Batches are moved to the model's device.
    loss_fn(model, batch) -> scalar Tensor | {"loss": Tensor, "acc": ..., ...}; default:
        the model's output on the batch (a tensor, `.loss` or `["loss"]`).
    lr: peak learning rate; warmup: fraction of steps (< 1) or a number of steps; then cosine
        decay to min_lr_ratio * lr (see `lr_at`). clip: max global gradient norm (None: off).
    eval_fn(model) -> {name: float}: run every eval_every steps and at the end, under no_grad
        and eval mode; logged as "eval_" + name.
    device: move the model there first (default: where the model is).
    amp: True picks the precision for the device (see `amp_choice`: bf16 on GPUs of compute
        capability >= 8.0, float16 with a gradient scaler on older ones, float32 on a CPU) and
        says which; False: float32; "bfloat16" / "float16": that autocast dtype on any device.
        With a scaler, "loss_scale" is logged too.
    accumulate: split each batch into this many micro-batches, run forward and backward on
        each in turn and update once: the same update with 1/accumulate of the activation
        memory. Each part's loss is weighted by its share of the batch's rows.
    shard: under torchrun (several processes), True splits every batch's rows among the
        processes, so each process builds the same batches and the update equals one process
        training on the whole batch; False when each process already draws its own share (a
        DataLoader with a DistributedSampler). Default: True, unless such a sampler is found.
        Gradients are averaged across processes once per update (`no_sync` on the other
        micro-batches); logged values are averaged too. Only process 0 shows progress, runs
        eval_fn (eval values are in its History only) and saves checkpoints.
    log_every: how often the progress bar is refreshed (and values are copied off the GPU);
        every step's values are recorded.
    checkpoint: path saved every checkpoint_every steps and at the end (history in "extra").
    history: continue this History (steps count on from history.step). optimizer: use this
        one (e.g. to keep Adam's state across calls) instead of make_optimizer(...); the
        schedule then scales each group's own lr.

    Example: `h = fit(model, [(x, y)], lambda m, b: F.mse_loss(m(b[0]), b[1]), steps=200, lr=1e-2)`
    """
    _check_args(
        steps,
        lr,
        weight_decay,
        betas,
        warmup,
        min_lr_ratio,
        clip,
        eval_every,
        eval_fn,
        log_every,
        checkpoint,
        checkpoint_every,
        accumulate,
    )
    from tqdm.auto import tqdm

    rank, world, local_rank = distributed_info()
    main = rank == 0
    if device is not None:
        device = torch.device(device)
        if world > 1 and device.type == "cuda":  # straight to this process's GPU, not through GPU 0
            device = torch.device("cuda", local_rank)
        model.to(device)
    device = _model_device(model)
    if world > 1:
        if device.type == "cuda":  # one GPU per process, whatever device the script named
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
            model.to(device)
        _init_distributed(device)
    precision = amp_choice(device, amp)
    scaler = torch.amp.GradScaler(device.type) if precision.scaler else None
    if main:
        _announce(precision)
    if shard is None:
        shard = not _uses_distributed_sampler(batches)
    get_batch = _batch_stream(batches)
    loss_fn = loss_fn or _default_loss
    if optimizer is None:
        optimizer = make_optimizer(model, lr, weight_decay, betas)
        peak = [lr for _ in optimizer.param_groups]
    else:  # remember each group's own peak lr once, so a second fit does not start from min_lr
        peak = [g.setdefault("peak_lr", g["lr"]) for g in optimizer.param_groups]
    history = History() if history is None else history
    start = history.step
    params = [p for g in optimizer.param_groups for p in g["params"]]
    max_norm = float("inf") if clip is None else clip  # inf: never clip, still measure the norm
    ddp = None
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        # DDP copies process 0's weights to every process here, then averages gradients in backward.
        ddp = DistributedDataParallel(
            _LossModule(model, loss_fn), device_ids=[device] if device.type == "cuda" else None
        )
    # Each process takes its `accumulate` consecutive parts of the batch (or of its own batch).
    n_parts = accumulate * (world if shard else 1)
    first_part = rank * accumulate if shard else 0

    was_training = model.training
    # (step, loss_fn's values, the loop's own values) still on the device, copied every log_every
    pending: list[tuple[int, dict, dict]] = []
    smoothed = None
    bar = tqdm(total=steps, desc=desc, disable=not (progress and main), dynamic_ncols=True)

    def flush():
        nonlocal smoothed
        if not pending:
            return
        if world > 1:  # each process saw its share of the batch: average loss_fn's values (one all-reduce)
            import torch.distributed as dist

            total = torch.stack(
                [
                    torch.as_tensor(v, dtype=torch.float32, device=device).detach().reshape(())
                    for _, m, _ in pending
                    for v in m.values()
                ]
            )
            dist.all_reduce(total)
            averaged = iter(total / world)
            for _, m, _ in pending:
                m.update({name: next(averaged) for name in m})
        records = [(step, {**m, **own}) for step, m, own in pending]
        tensors = [
            v.detach().float().reshape(()).to(device)
            for _, m in records
            for v in m.values()
            if torch.is_tensor(v)
        ]
        values = iter(torch.stack(tensors).tolist() if tensors else [])  # one device sync
        for step, metrics in records:
            for name, v in metrics.items():
                x = next(values) if torch.is_tensor(v) else float(v)
                if name == "loss" and not math.isfinite(x):
                    bar.close()
                    model.train(was_training)
                    raise ValueError(
                        f"loss became {x} at step {step}; try a lower lr (now {lr:g}), keep "
                        f"clip on (now {clip}), and check the batches for inf/nan or labels out of range"
                    )
                history.log(step, name, x)
                if name == "loss":
                    smoothed = x if smoothed is None else 0.9 * smoothed + 0.1 * x
        bar.update(len(pending))
        pending.clear()
        bar.set_postfix(loss=f"{smoothed:.4g}", refresh=False)

    def run_eval(step):
        model.eval()
        with torch.no_grad():
            results = eval_fn(model)
        model.train()
        if not isinstance(results, Mapping):
            raise TypeError(f"eval_fn must return a dict of floats, got {type(results).__name__}")
        for name, v in results.items():
            history.log(step, name, float(v), "eval")
        bar.set_postfix(
            {
                "loss": f"{smoothed:.4g}",
                **{History.key(k, "eval"): f"{float(v):.4g}" for k, v in results.items()},
            }
        )

    def save(step):
        save_checkpoint(checkpoint, model, optimizer, step=step, extra={"history": history.to_dict()})

    model.train()
    try:
        for i in range(steps):
            step = start + i + 1  # updates done after this iteration
            scale = lr_at(i, steps, 1.0, warmup, min_lr_ratio)
            for group, group_peak in zip(optimizer.param_groups, peak):
                group["lr"] = group_peak * scale

            batch = get_batch(start + i)
            if n_parts > 1:
                rows = _batch_rows(batch)
                parts = split_batch(batch, n_parts)[first_part : first_part + accumulate]
            else:
                rows, parts = 1, [(batch, 1)]
            metrics = {}
            for j, (part, n) in enumerate(parts):
                # Weight each part's loss by its share of the batch's rows, so the update is the
                # batch's mean; DDP then divides the summed gradients by the number of processes,
                # so with a shared (sharded) batch the weight is multiplied by it.
                weight = n / rows * (world if shard else 1)
                last = j == len(parts) - 1
                # no_sync: gradients of all but the last micro-batch stay local (no all-reduce)
                with ddp.no_sync() if ddp is not None and not last else contextlib.nullcontext():
                    with precision.autocast(device):
                        part = _to_device(part, device)
                        out = _as_metrics(ddp(part) if ddp is not None else loss_fn(model, part))
                    loss = out["loss"].reshape(())
                    if not loss.requires_grad:
                        raise ValueError(
                            "the loss does not require grad: was it computed under "
                            "torch.no_grad(), detached, or from frozen parameters only?"
                        )
                    if n_parts > 1:
                        loss = loss * weight
                    (scaler.scale(loss) if scaler is not None else loss).backward()
                for name, v in out.items():  # logged: the batch's row-weighted mean
                    v = v.detach() if torch.is_tensor(v) else v
                    if n_parts > 1:
                        v = v * weight  # summed here, averaged over the processes in flush()
                    metrics[name] = v if name not in metrics else metrics[name] + v
            if scaler is not None:
                scaler.unscale_(optimizer)  # clip (and log) the true gradient, not the scaled one
            grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            own = {"lr": optimizer.param_groups[0]["lr"], "grad_norm": grad_norm}
            if scaler is not None:
                own["loss_scale"] = scaler.get_scale()  # the scale this step's gradients were made with
                scaler.step(optimizer)  # skipped when a gradient overflowed float16
                scaler.update()  # halve the scale after an overflow, double it after 2000 clean steps
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            pending.append((step, metrics, own))
            if (i + 1) % log_every == 0 or i + 1 == steps:
                flush()
            if eval_fn is not None and ((eval_every and (i + 1) % eval_every == 0) or i + 1 == steps):
                flush()
                if main:
                    run_eval(step)
            if checkpoint is not None and (
                (checkpoint_every and (i + 1) % checkpoint_every == 0) or i + 1 == steps
            ):
                flush()
                if main:
                    save(step)
    finally:
        bar.close()
        model.train(was_training)
    return history


# ----------------------------------------------------------------------------- checkpoints


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "_orig_mod", model)  # a torch.compile'd model wraps the original


def _config_dict(model: nn.Module) -> dict | None:
    config = getattr(_unwrap(model), "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    return None


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer=None,
    step: int | None = None,
    extra: dict | None = None,
) -> Path:
    """Save model (and optimizer) atomically to `path`; returns the Path.

    The file holds {"config": asdict(model.config) or None, "model_class", "state_dict",
    "optimizer", "step", "extra"}. It is written to a temporary file in the same folder,
    flushed to disk and renamed over `path`, so an interrupted save leaves the previous
    checkpoint intact. `extra` must hold plain Python values (dict/list/str/number) and tensors.
    Example: `save_checkpoint("ckpt/gpt.pt", model, step=1000)`
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    m = _unwrap(model)
    ckpt = {
        "config": _config_dict(m),
        "model_class": f"{type(m).__module__}.{type(m).__qualname__}",
        "state_dict": m.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "step": step,
        "extra": extra,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(ckpt, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    return path


def _read(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {str(path)!r}; save one with "
            "lmnotes.train.save_checkpoint(path, model) or fit(..., checkpoint=path)"
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(
            f"{str(path)!r} is not an lmnotes checkpoint (no 'state_dict'); "
            "it was not written by lmnotes.train.save_checkpoint"
        )
    return ckpt


def checkpoint_config(path: str | os.PathLike) -> dict | None:
    """The model config stored in a checkpoint, as a dict (None if the model had none).

    Example: `model = GPT(GPTConfig(**checkpoint_config("gpt.pt")))`
    """
    return _read(path)["config"]


def load_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, strict: bool = True) -> dict:
    """Load a checkpoint written by `save_checkpoint` into `model` (and `optimizer`).

    Refuses (ValueError) when the stored config differs from `model.config`, naming each
    field; `strict` is passed to `load_state_dict`. Returns the checkpoint dict (its "step"
    and "extra" are there). Example: `load_checkpoint("ckpt/gpt.pt", model)["step"]`
    """
    ckpt = _read(path)
    m = _unwrap(model)
    saved, ours = ckpt["config"], _config_dict(m)
    if saved is not None and ours is not None and saved != ours:
        fields = [k for k in {**saved, **ours} if saved.get(k, "<missing>") != ours.get(k, "<missing>")]
        was = ", ".join(f"{k}={saved.get(k, '<missing>')!r}" for k in fields)
        now = ", ".join(f"{k}={ours.get(k, '<missing>')!r}" for k in fields)
        raise ValueError(
            f"checkpoint was saved with {was} but this model has {now}; build the model "
            f"with the checkpoint's config (lmnotes.train.checkpoint_config({str(path)!r}))"
        )
    m.load_state_dict(ckpt["state_dict"], strict=strict)
    if optimizer is not None:
        if ckpt["optimizer"] is None:
            raise ValueError(
                f"checkpoint {str(path)!r} holds no optimizer state; "
                "save it with save_checkpoint(path, model, optimizer)"
            )
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt
