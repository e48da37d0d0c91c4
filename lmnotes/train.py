"""The one training loop every chapter uses.

    history = fit(model, batches, steps=500, lr=1e-3)
    history.plot()

`fit` is AdamW (weight decay on matrices only) with linear warmup then cosine decay,
gradient clipping, bf16 autocast on CUDA, a tqdm progress bar, a `History` of every
logged value, and optional checkpoints. It is short on purpose: read it top to bottom.

A batch is a dict of tensors (passed as `model(**batch)`), a tuple/list of tensors
(`model(*batch)`) or a single tensor (`model(batch)`). `loss_fn(model, batch)` returns the
scalar loss, or a dict holding "loss" and any scalar metrics to log (e.g. "acc"). Without
a `loss_fn` the model's own output is used: a tensor, or anything with `.loss` / `["loss"]`.
"""

from __future__ import annotations

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
    "evaluate",
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


def make_optimizer(model: nn.Module, lr: float = 3e-4, weight_decay: float = 0.1,
                   betas: tuple[float, float] = (0.9, 0.95)) -> torch.optim.AdamW:
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
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    fused = all(p.is_cuda for p in params)
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), fused=fused or None)


def _warmup_steps(warmup: float, steps: int) -> int:
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not (
            0 <= warmup < 1 or (warmup >= 1 and warmup == int(warmup) and warmup <= steps)):
        raise ValueError(f"warmup must be a fraction of steps in [0, 1) or a whole number of steps "
                         f"in [1, steps={steps}], got {warmup!r}")
    return int(warmup * steps) if warmup < 1 else int(warmup)


def lr_at(step: int, steps: int, lr: float = 3e-4, warmup: float = 0.1,
          min_lr_ratio: float = 0.1) -> float:
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
        return type(batch)(_to_device(v, device) for v in batch) if not hasattr(batch, "_fields") \
            else type(batch)(*(_to_device(v, device) for v in batch))
    return batch


def _batch_stream(batches) -> Callable[[int], object]:
    """A get_batch(step) for a callable, or for an iterable cycled when exhausted."""
    if isinstance(batches, Iterable) and not torch.is_tensor(batches):
        state = {"it": iter(batches), "seen": 0}

        def get_batch(step):
            try:
                batch = next(state["it"])
            except StopIteration:
                state["it"] = iter(batches)  # a DataLoader reshuffles here
                try:
                    batch = next(state["it"])
                except StopIteration:
                    if state["seen"] == 0:
                        raise ValueError("batches is empty; pass a non-empty list, a DataLoader "
                                         "or a get_batch(step) function") from None
                    raise ValueError(f"batches ran out after {state['seen']} batches and cannot be "
                                     "re-iterated (a generator?); pass a list, a DataLoader or a "
                                     "get_batch(step) function") from None
            state["seen"] += 1
            return batch

        return get_batch
    if callable(batches):
        return batches
    raise TypeError(f"batches must be an iterable of batches or a function get_batch(step), "
                    f"got {type(batches).__name__}")


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
        raise ValueError(f"the model returned a tensor of shape {tuple(out.shape)}, not a loss; "
                         "pass loss_fn(model, batch) -> loss, or let the model return a loss")
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
        raise TypeError(f"loss_fn must return a scalar tensor or a dict with 'loss', got "
                        f"{type(out).__name__}; without loss_fn the model must return one (or .loss)")
    for name, v in metrics.items():
        if torch.is_tensor(v) and v.numel() != 1:
            raise ValueError(f"loss_fn's {name!r} must be a scalar, got shape {tuple(v.shape)}; "
                             "reduce it (e.g. .mean()) before returning it")
        if not torch.is_tensor(v) and not isinstance(v, (int, float)):
            raise TypeError(f"loss_fn's {name!r} must be a scalar tensor or a number, "
                            f"got {type(v).__name__}")
    if not torch.is_tensor(metrics["loss"]):
        raise TypeError(f"the loss must be a tensor (so it can be backpropagated), "
                        f"got {type(metrics['loss']).__name__}")
    return metrics


def _autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


# ----------------------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(model: nn.Module, batches, loss_fn: Callable | None = None,
             max_batches: int | None = None) -> dict[str, float]:
    """Mean of loss_fn's values over `batches` (one pass), under no_grad and eval mode.

    batches: an iterable of batches, or get_batch(i) with max_batches set. Each batch counts
    equally. The model's train/eval mode is restored afterwards.
    Example: `evaluate(model, val_batches, loss_fn)  # {'loss': 1.93, 'acc': 0.41}`
    """
    if max_batches is not None and (isinstance(max_batches, bool) or max_batches < 1):
        raise ValueError(f"max_batches must be >= 1 or None, got {max_batches!r}")
    if isinstance(batches, Iterable) and not torch.is_tensor(batches):
        stream = iter(batches)
    elif callable(batches):
        if max_batches is None:
            raise ValueError("evaluate with a get_batch function needs max_batches (how many to draw)")
        stream = (batches(i) for i in range(max_batches))
    else:
        raise TypeError(f"batches must be an iterable of batches or get_batch(i), got {type(batches).__name__}")
    loss_fn = loss_fn or _default_loss
    device = _model_device(model)
    was_training = model.training
    model.eval()
    sums: dict[str, torch.Tensor | float] = {}
    n = 0
    try:
        for batch in itertools.islice(stream, max_batches):
            with _autocast(device, True):
                metrics = _as_metrics(loss_fn(model, _to_device(batch, device)))
            for k, v in metrics.items():
                v = v.detach().float().reshape(()) if torch.is_tensor(v) else float(v)
                sums[k] = sums.get(k, 0.0) + v
            n += 1
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate got no batches; batches is empty")
    return {k: float(v) / n for k, v in sums.items()}


# ----------------------------------------------------------------------------- the loop


def _check_args(steps, lr, weight_decay, betas, warmup, min_lr_ratio, clip, eval_every, eval_fn,
                log_every, checkpoint, checkpoint_every):
    def whole(name, v, lo):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be a whole number >= {lo}, got {v!r}")

    whole("steps", steps, 1)
    whole("log_every", log_every, 1)
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


def fit(model: nn.Module, batches, loss_fn: Callable | None = None, *, steps: int,
        lr: float = 3e-4, weight_decay: float = 0.1, betas: tuple[float, float] = (0.9, 0.95),
        warmup: float = 0.1, min_lr_ratio: float = 0.1, clip: float | None = 1.0,
        eval_every: int | None = None, eval_fn: Callable | None = None, device=None,
        amp: bool = True, log_every: int = 10, progress: bool = True, desc: str | None = None,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        history: History | None = None, optimizer: torch.optim.Optimizer | None = None) -> History:
    """Train `model` for `steps` optimizer updates and return the `History`.

    batches: an iterable of batches (cycled; re-iterated when exhausted, so a DataLoader
        reshuffles) or get_batch(step) -> batch. Batches are moved to the model's device.
    loss_fn(model, batch) -> scalar Tensor | {"loss": Tensor, "acc": ..., ...}; default:
        the model's output on the batch (a tensor, `.loss` or `["loss"]`).
    lr: peak learning rate; warmup: fraction of steps (< 1) or a number of steps; then cosine
        decay to min_lr_ratio * lr (see `lr_at`). clip: max global gradient norm (None: off).
    eval_fn(model) -> {name: float}: run every eval_every steps and at the end, under no_grad
        and eval mode; logged as "eval_" + name.
    device: move the model there first (default: where the model is). amp: bf16 autocast on CUDA.
    log_every: how often the progress bar is refreshed (and values are copied off the GPU);
        every step's values are recorded.
    checkpoint: path saved every checkpoint_every steps and at the end (history in "extra").
    history: continue this History (steps count on from history.step). optimizer: use this
        one (e.g. to keep Adam's state across calls) instead of make_optimizer(...); the
        schedule then scales each group's own lr.

    Example: `h = fit(model, [(x, y)], lambda m, b: F.mse_loss(m(b[0]), b[1]), steps=200, lr=1e-2)`
    """
    _check_args(steps, lr, weight_decay, betas, warmup, min_lr_ratio, clip, eval_every, eval_fn,
                log_every, checkpoint, checkpoint_every)
    from tqdm.auto import tqdm

    if device is not None:
        model.to(device)
    device = _model_device(model)
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

    was_training = model.training
    pending: list[tuple[int, dict]] = []  # values still on the device, copied every log_every
    smoothed = None
    bar = tqdm(total=steps, desc=desc, disable=not progress, dynamic_ncols=True)

    def flush():
        nonlocal smoothed
        if not pending:
            return
        tensors = [v.detach().float().reshape(()).to(device) for _, m in pending for v in m.values() if torch.is_tensor(v)]
        values = iter(torch.stack(tensors).tolist() if tensors else [])  # one device sync
        for step, metrics in pending:
            for name, v in metrics.items():
                x = next(values) if torch.is_tensor(v) else float(v)
                if name == "loss" and not math.isfinite(x):
                    bar.close()
                    model.train(was_training)
                    raise ValueError(
                        f"loss became {x} at step {step}; try a lower lr (now {lr:g}), keep "
                        f"clip on (now {clip}), and check the batches for inf/nan or labels out of range")
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
        bar.set_postfix({"loss": f"{smoothed:.4g}", **{History.key(k, "eval"): f"{float(v):.4g}"
                                                      for k, v in results.items()}})

    def save(step):
        save_checkpoint(checkpoint, model, optimizer, step=step, extra={"history": history.to_dict()})

    model.train()
    try:
        for i in range(steps):
            step = start + i + 1  # updates done after this iteration
            scale = lr_at(i, steps, 1.0, warmup, min_lr_ratio)
            for group, group_peak in zip(optimizer.param_groups, peak):
                group["lr"] = group_peak * scale

            batch = _to_device(get_batch(start + i), device)
            with _autocast(device, amp):
                metrics = _as_metrics(loss_fn(model, batch))
            loss = metrics["loss"].reshape(())
            if not loss.requires_grad:
                raise ValueError("the loss does not require grad: was it computed under "
                                 "torch.no_grad(), detached, or from frozen parameters only?")
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

            pending.append((step, {**metrics, "lr": optimizer.param_groups[0]["lr"], "grad_norm": grad_norm}))
            if (i + 1) % log_every == 0 or i + 1 == steps:
                flush()
            if eval_fn is not None and ((eval_every and (i + 1) % eval_every == 0) or i + 1 == steps):
                flush()
                run_eval(step)
            if checkpoint is not None and ((checkpoint_every and (i + 1) % checkpoint_every == 0)
                                           or i + 1 == steps):
                flush()
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


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer=None, step: int | None = None,
                    extra: dict | None = None) -> Path:
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
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}; save one with "
                                "lmnotes.train.save_checkpoint(path, model) or fit(..., checkpoint=path)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ValueError(f"{str(path)!r} is not an lmnotes checkpoint (no 'state_dict'); "
                         "it was not written by lmnotes.train.save_checkpoint")
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
        raise ValueError(f"checkpoint was saved with {was} but this model has {now}; build the model "
                         f"with the checkpoint's config (lmnotes.train.checkpoint_config({str(path)!r}))")
    m.load_state_dict(ckpt["state_dict"], strict=strict)
    if optimizer is not None:
        if ckpt["optimizer"] is None:
            raise ValueError(f"checkpoint {str(path)!r} holds no optimizer state; "
                             "save it with save_checkpoint(path, model, optimizer)")
        optimizer.load_state_dict(ckpt["optimizer"])
    return ckpt
