"""Tests of lmnotes.train: the loop learns, the schedule and weight-decay groups are right,
clipping works, the history records and plots, checkpoints round-trip atomically, and bad
input is refused with the argument named."""

from __future__ import annotations

import dataclasses
import os

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmnotes import train
from lmnotes.train import (
    History,
    checkpoint_config,
    fit,
    load_checkpoint,
    lr_at,
    make_optimizer,
    save_checkpoint,
)

# ----------------------------------------------------------------------------- small problems


def regression_data(n=256, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, 1, generator=g)
    return x, x @ w + 0.3


def mse(model, batch):
    x, y = batch
    return F.mse_loss(model(x), y)


@dataclasses.dataclass
class TinyConfig:
    vocab_size: int = 10
    n_embd: int = 8
    n_layer: int = 2


class TinyClassifier(nn.Module):
    """Embedding -> mean over positions -> LayerNorm -> Linear: every kind of parameter."""

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        self.emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.layers = nn.ModuleList(nn.Linear(config.n_embd, config.n_embd) for _ in range(config.n_layer))
        self.norm = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, 2)

    def forward(self, ids, labels=None):  # ids (B, T) -> logits (B, 2)
        h = self.emb(ids).mean(1)
        for layer in self.layers:
            h = h + torch.relu(layer(h))
        logits = self.head(self.norm(h))
        if labels is None:
            return logits
        return {"loss": F.cross_entropy(logits, labels), "logits": logits}


def classification_batches(n_batches=8, batch=32, seed=0):
    """Label = whether token 0 appears in the sequence."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        ids = torch.randint(1, 10, (batch, 6), generator=g)
        labels = torch.randint(0, 2, (batch,), generator=g)
        ids[labels == 1, 0] = 0
        out.append({"ids": ids, "labels": labels})
    return out


def tiny_model(**kw):
    torch.manual_seed(0)
    return TinyClassifier(TinyConfig(**kw))


def accuracy_loss(model, batch):
    logits = model(batch["ids"])
    return {
        "loss": F.cross_entropy(logits, batch["labels"]),
        "acc": (logits.argmax(-1) == batch["labels"]).float().mean(),
    }


# ----------------------------------------------------------------------------- fit learns


def test_fit_regression_loss_drops_a_lot():
    torch.manual_seed(0)
    x, y = regression_data()
    model = nn.Linear(8, 1)
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 256, 32)]
    before = mse(model, (x, y)).item()
    history = fit(model, batches, mse, steps=200, lr=3e-2, weight_decay=0.0, progress=False)
    after = mse(model, (x, y)).item()
    assert after < before / 100, (before, after)
    assert len(history["loss"]) == 200 and history.steps("loss") == list(range(1, 201))


def _mean_metrics(model, batches, loss_fn) -> dict[str, float]:
    """What an eval_fn returns: the mean of loss_fn's values over the batches."""
    with torch.no_grad():
        outs = [loss_fn(model, b) for b in batches]
    return {k: sum(float(o[k]) for o in outs) / len(outs) for k in outs[0]}


def test_fit_classification_default_loss_and_metrics():
    model = tiny_model()
    batches = classification_batches()
    h = fit(model, batches, steps=150, lr=1e-2, progress=False)  # default loss: model(**batch)["loss"]
    assert h["loss"][-1] < h["loss"][0] / 3
    acc = _mean_metrics(model, batches, accuracy_loss)
    assert acc["acc"] > 0.95 and set(acc) == {"loss", "acc"}


def test_fit_with_get_batch_function_and_eval_fn():
    model = tiny_model()
    batches = classification_batches()
    seen = []

    def get_batch(step):
        seen.append(step)
        return batches[step % len(batches)]

    modes = []

    def eval_fn(m):
        modes.append((m.training, torch.is_grad_enabled()))
        return _mean_metrics(m, batches[:2], accuracy_loss)

    h = fit(
        model, get_batch, accuracy_loss, steps=30, lr=1e-2, eval_every=10, eval_fn=eval_fn, progress=False
    )
    assert seen == list(range(30))
    assert h.steps("eval_acc") == [10, 20, 30] and h.steps("eval_loss") == [10, 20, 30]
    assert "acc" in h and h.last("eval_acc") == h["eval_acc"][-1]
    assert modes == [(False, False)] * 3  # eval mode and no grad inside eval_fn
    assert model.training  # train mode restored


def test_dataloader_like_iterable_is_reiterated():
    class Reshuffling:
        def __init__(self):
            self.epochs = 0

        def __iter__(self):
            self.epochs += 1
            return iter(classification_batches(n_batches=3, seed=self.epochs))

    data = Reshuffling()
    fit(tiny_model(), data, accuracy_loss, steps=10, progress=False)
    assert data.epochs == 4  # 3 + 3 + 3 + 1 batches


def test_batches_moved_to_model_device(monkeypatch):
    moved = []
    real = torch.Tensor.to

    def spy(self, *args, **kwargs):
        moved.append(args[0] if args else kwargs.get("device"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "to", spy)
    fit(tiny_model(), classification_batches(n_batches=1), steps=1, progress=False)
    assert torch.device("cpu") in moved


def test_continuing_a_history_counts_steps_on():
    model = tiny_model()
    batches = classification_batches()
    h = fit(model, batches, steps=5, progress=False)
    h2 = fit(model, batches, steps=5, progress=False, history=h)
    assert h2 is h and h.steps("loss") == list(range(1, 11))


def test_passed_optimizer_is_used_and_scheduled():
    model = tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    h = fit(
        model, classification_batches(), steps=10, warmup=0, min_lr_ratio=0.1, optimizer=opt, progress=False
    )
    assert h["lr"][0] == pytest.approx(0.5) and h["lr"][-1] == pytest.approx(0.05)
    fit(model, classification_batches(), steps=2, warmup=0, optimizer=opt, progress=False)
    assert opt.param_groups[0]["peak_lr"] == 0.5  # a second fit starts again from the peak


# ----------------------------------------------------------------------------- optimizer and schedule


def test_weight_decay_only_on_matrices_and_embeddings():
    model = tiny_model()
    opt = make_optimizer(model, lr=1e-3, weight_decay=0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    plain = {names[id(p)] for g in opt.param_groups if g["weight_decay"] == 0 for p in g["params"]}
    assert decayed == {"emb.weight", "layers.0.weight", "layers.1.weight", "head.weight"}
    assert plain == {"layers.0.bias", "layers.1.bias", "norm.weight", "norm.bias", "head.bias"}
    assert all(g["weight_decay"] == 0.1 for g in opt.param_groups if g["weight_decay"] > 0)
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["betas"] == (0.9, 0.95)


def test_frozen_parameters_are_not_optimized():
    model = tiny_model()
    model.emb.weight.requires_grad_(False)
    opt = make_optimizer(model)
    assert all(p is not model.emb.weight for g in opt.param_groups for p in g["params"])


def test_lr_schedule_warmup_peak_and_end():
    lr, steps = 1e-3, 100
    assert lr_at(0, steps, lr, warmup=10) == pytest.approx(1e-4)  # warmup start: lr / w
    assert lr_at(4, steps, lr, warmup=10) == pytest.approx(5e-4)
    assert lr_at(9, steps, lr, warmup=10) == pytest.approx(lr)  # peak at the end of warmup
    assert lr_at(10, steps, lr, warmup=10) == pytest.approx(lr)
    mid = 10 + (99 - 10) / 2
    assert lr_at(int(mid), steps, lr, warmup=10) == pytest.approx(0.55e-3, rel=0.02)  # half way
    assert lr_at(99, steps, lr, warmup=10, min_lr_ratio=0.1) == pytest.approx(1e-4)  # ends at min
    assert lr_at(0, steps, lr, warmup=0.1) == lr_at(0, steps, lr, warmup=10)  # fraction form
    lrs = [lr_at(s, steps, lr, warmup=10) for s in range(steps)]
    assert all(a <= b for a, b in zip(lrs[:10], lrs[1:11]))  # rises
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # then only falls
    assert lr_at(0, steps, lr, warmup=0) == pytest.approx(lr)  # no warmup: start at the peak


def test_fit_follows_the_schedule():
    h = fit(tiny_model(), classification_batches(), steps=20, lr=1e-2, warmup=5, progress=False)
    assert h["lr"] == pytest.approx([lr_at(s, 20, 1e-2, 5) for s in range(20)])


def test_clipping_bounds_the_update_and_logs_the_norm():
    torch.manual_seed(0)
    x, y = regression_data()
    y = y * 1000  # huge gradients
    model = nn.Linear(8, 1)
    before = model.weight.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    h = fit(model, [(x, y)], mse, steps=1, warmup=0, clip=0.5, optimizer=opt, progress=False)
    assert h["grad_norm"][0] > 100  # the norm before clipping is logged
    # SGD with lr 1 applies the clipped gradient itself, whose norm is at most 0.5
    assert (model.weight - before).norm() <= 0.5 + 1e-4
    # without clipping the same step is enormous
    torch.manual_seed(0)
    model2 = nn.Linear(8, 1)
    fit(
        model2,
        [(x, y)],
        mse,
        steps=1,
        warmup=0,
        clip=None,
        progress=False,
        optimizer=torch.optim.SGD(model2.parameters(), lr=1.0),
    )
    assert (model2.weight - before).norm() > 100


# ----------------------------------------------------------------------------- history


def test_history_records_lookup_and_round_trip():
    h = History()
    h.log(1, "loss", 2.0)
    h.log(2, "loss", 1.0)
    h.log(2, "acc", 0.5, "eval")
    assert h["loss"] == [2.0, 1.0] and h.steps("loss") == [1, 2]
    assert h["eval_acc"] == [0.5] and h.last("eval_acc") == 0.5
    assert h.records[-1] == (2, "acc", 0.5, "eval")
    assert h.final == {"loss": 1.0, "eval_acc": 0.5} and h.step == 2
    again = History.from_dict(h.to_dict())
    assert again.records == h.records and again["eval_acc"] == [0.5]
    with pytest.raises(KeyError, match="eval_loss"):
        h["eval_loss"]
    with pytest.raises(ValueError, match="split"):
        h.log(3, "loss", 1.0, "test")


def test_history_plot_draws_train_and_eval():
    import matplotlib.pyplot as plt

    model = tiny_model()
    batches = classification_batches()
    h = fit(
        model,
        batches,
        accuracy_loss,
        steps=20,
        eval_every=10,
        progress=False,
        eval_fn=lambda m: _mean_metrics(m, batches[:1], accuracy_loss),
    )
    ax = h.plot(smooth=0)
    assert len(ax.get_lines()) == 2  # loss (train), loss (eval)
    ax = h.plot("acc", smooth=0.5)
    assert len(ax.get_lines()) == 3  # faint raw acc, smoothed acc, eval acc
    plt.close("all")


# ----------------------------------------------------------------------------- checkpoints


def test_checkpoint_round_trip_same_outputs(tmp_path):
    model = tiny_model()
    opt = make_optimizer(model)
    fit(model, classification_batches(), steps=5, optimizer=opt, progress=False)
    path = save_checkpoint(tmp_path / "sub" / "tiny.pt", model, opt, step=5, extra={"note": "hi"})
    ids = classification_batches(n_batches=1)[0]["ids"]

    torch.manual_seed(1)
    other = TinyClassifier(TinyConfig())
    assert not torch.allclose(other(ids), model(ids))
    opt2 = make_optimizer(other)
    ckpt = load_checkpoint(path, other, opt2)
    assert torch.equal(other(ids), model(ids))
    assert ckpt["step"] == 5 and ckpt["extra"] == {"note": "hi"}
    assert ckpt["model_class"].endswith("TinyClassifier")
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    assert checkpoint_config(path) == {"vocab_size": 10, "n_embd": 8, "n_layer": 2}


def test_mismatched_config_is_refused_naming_the_field(tmp_path):
    path = save_checkpoint(tmp_path / "tiny.pt", tiny_model(n_layer=4))
    with pytest.raises(ValueError) as err:
        load_checkpoint(path, tiny_model(n_layer=2))
    msg = str(err.value)
    assert "n_layer=4" in msg and "n_layer=2" in msg and "checkpoint_config" in msg
    assert "n_embd" not in msg  # only the differing field


def test_missing_checkpoint_is_a_clear_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt", tiny_model())


def test_interrupted_save_keeps_the_good_checkpoint(tmp_path, monkeypatch):
    good = tiny_model()
    path = save_checkpoint(tmp_path / "tiny.pt", good, step=1)
    good_bytes = path.read_bytes()
    real_save = torch.save

    def dying_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")  # some bytes reach the disk, then the save dies
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, tiny_model(n_embd=4), step=2)
    assert path.read_bytes() == good_bytes
    assert os.listdir(tmp_path) == ["tiny.pt"]  # no temp file left behind

    monkeypatch.setattr(torch, "save", real_save)

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, tiny_model(n_embd=4), step=2)
    monkeypatch.undo()
    assert path.read_bytes() == good_bytes and os.listdir(tmp_path) == ["tiny.pt"]
    assert load_checkpoint(path, tiny_model())["step"] == 1


def test_fit_saves_checkpoints_periodically_and_at_the_end(tmp_path, monkeypatch):
    saved_steps = []
    real = train.save_checkpoint

    def spy(path, model, optimizer=None, step=None, extra=None):
        saved_steps.append(step)
        return real(path, model, optimizer, step, extra)

    monkeypatch.setattr(train, "save_checkpoint", spy)
    path = tmp_path / "run.pt"
    model = tiny_model()
    fit(model, classification_batches(), steps=25, checkpoint=path, checkpoint_every=10, progress=False)
    assert saved_steps == [10, 20, 25]
    ckpt = load_checkpoint(path, tiny_model())
    assert ckpt["step"] == 25 and History.from_dict(ckpt["extra"]["history"]).step == 25


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"lr": 0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"clip": 0}, "clip"),
        ({"warmup": -0.1}, "warmup"),
        ({"warmup": 11}, "warmup"),
        ({"warmup": 2.5}, "warmup"),
        ({"min_lr_ratio": 1.5}, "min_lr_ratio"),
        ({"betas": (0.9, 1.0)}, "betas"),
        ({"log_every": 0}, "log_every"),
        ({"eval_every": 5}, "eval_fn"),
        ({"checkpoint_every": 5}, "checkpoint"),
    ],
)
def test_bad_arguments_are_named(kwargs, word):
    args = {"steps": 10, **kwargs}
    with pytest.raises(ValueError, match=word):
        fit(tiny_model(), classification_batches(), progress=False, **args)


def test_empty_and_exhausted_batches():
    with pytest.raises(ValueError, match="batches is empty"):
        fit(tiny_model(), [], steps=3, progress=False)
    once = iter(classification_batches(n_batches=2))
    with pytest.raises(ValueError, match="ran out after 2 batches"):
        fit(tiny_model(), once, steps=3, progress=False)
    with pytest.raises(TypeError, match="batches"):
        fit(tiny_model(), 42, steps=3, progress=False)


def test_non_scalar_and_non_tensor_losses_are_refused():
    per_example = lambda m, b: F.cross_entropy(m(b["ids"]), b["labels"], reduction="none")  # noqa: E731
    with pytest.raises(ValueError, match=r"scalar.*shape \(32,\)"):
        fit(tiny_model(), classification_batches(), per_example, steps=2, progress=False)
    with pytest.raises(TypeError, match="loss"):
        fit(tiny_model(), classification_batches(), lambda m, b: 1.0, steps=2, progress=False)
    with pytest.raises(ValueError, match="'loss' key"):
        fit(tiny_model(), classification_batches(), lambda m, b: {"acc": 1.0}, steps=2, progress=False)
    detached = lambda m, b: accuracy_loss(m, b)["loss"].detach()  # noqa: E731
    with pytest.raises(ValueError, match="does not require grad"):
        fit(tiny_model(), classification_batches(), detached, steps=2, progress=False)


def test_nan_loss_is_detected_with_step_and_lr():
    calls = []

    def loss_fn(model, batch):
        calls.append(1)
        loss = accuracy_loss(model, batch)["loss"]
        return loss * float("nan") if len(calls) == 37 else loss

    with pytest.raises(ValueError) as err:
        fit(tiny_model(), classification_batches(), loss_fn, steps=50, lr=3e-2, log_every=10, progress=False)
    msg = str(err.value)
    assert "nan at step 37" in msg and "lower lr (now 0.03)" in msg
