"""In-context learning, measured two ways: a Transformer that learns linear functions from its prompt, and a
language model prompted with ``k`` solved examples.

Read top to bottom:

* **the regression Transformer** — :class:`InContextRegressor` reads ``x_1, y_1, …, x_k, y_k, x_{k+1}`` as
  vectors (no vocabulary) and predicts ``y`` at every ``x`` (Garg et al., 2022); :func:`regression_batches`
  draws a fresh ``w`` for every prompt, and :func:`train_regressor` trains it with ``lmnotes.train.fit``;
* **the baselines** — :func:`least_squares_predictions` (minimum-norm least squares on the first ``k``
  pairs), :func:`averaging_predictions`, :func:`nearest_neighbour_predictions`, and the zero predictor;
* **the curve** — :func:`error_by_shots`: the mean squared error at each ``k``, divided by the dimension;
* **prompting a language model** — :func:`kshot_accuracy` (accuracy against ``k`` with the book's
  ``draw_shots``), with the controls :func:`mismatched_shots` (each example given a wrong answer of its
  task) and :func:`flipped_shots` (yes and no swapped: a task the examples define and training never showed).

Example::

    from lmnotes.challenges import incontext
    model, history = incontext.train_regressor(dim=2, steps=600, seed=0)
    p = linear_regression_prompts(1000, 8, 2, seed=1)
    incontext.error_by_shots(incontext.regressor_predictions(model, p["xs"], p["ys"]), p["ys"], dim=2)
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

from ..data.challenges.incontext import linear_regression_prompts
from ..models.transformer import Block
from ..recipes.gpt import answer_accuracy, draw_shots
from ..train import fit
from ..utils import eval_mode

__all__ = [
    "REGRESSOR",
    "InContextRegressor",
    "interleave",
    "regression_batches",
    "train_regressor",
    "regressor_predictions",
    "least_squares_predictions",
    "averaging_predictions",
    "nearest_neighbour_predictions",
    "error_by_shots",
    "mismatched_shots",
    "flipped_shots",
    "kshot_accuracy",
]

# Dimension 2 learns in well under a minute on one CPU thread; the notebook scales it up on a GPU.
REGRESSOR = {
    "n_points": 8,
    "n_layer": 3,
    "n_head": 4,
    "d_model": 64,
    "steps": 1500,
    "batch_size": 64,
    "lr": 1e-3,
}


# ---------------------------------------------------------------------- the regression Transformer


def _check_prompts(xs, ys):
    if not isinstance(xs, torch.Tensor) or not isinstance(ys, torch.Tensor):
        raise TypeError(
            f"xs and ys must be tensors, got {type(xs).__name__} and {type(ys).__name__} "
            "(linear_regression_prompts makes them)"
        )
    if xs.dim() != 3 or ys.dim() != 2 or xs.shape[:2] != ys.shape:
        raise ValueError(
            f"xs must be (prompts, points, dim) and ys (prompts, points) with the same first two sizes, got "
            f"{tuple(xs.shape)} and {tuple(ys.shape)}"
        )


def interleave(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """The prompt as one sequence of vectors: ``x_1, y_1, x_2, y_2, …`` → (B, 2n, dim + 1).

    An ``x`` is ``(x, 0)``, a ``y`` is ``(0, …, 0, y)``: the last coordinate says which one a position holds
    (Garg et al. pad ``y`` with zeros in the same way). Example: ``interleave(xs, ys)[:, 0::2]`` are the x's.
    """
    _check_prompts(xs, ys)
    B, n, d = xs.shape
    z = xs.new_zeros(B, n, 2, d + 1)
    z[:, :, 0, :d] = xs  # x-positions: (x, 0)
    z[:, :, 1, d] = ys  # y-positions: (0, …, 0, y)
    return z.view(B, 2 * n, d + 1)


class InContextRegressor(nn.Module):
    """A causal Transformer over vectors: read-in ``Linear(dim + 1, d_model)`` plus learned positions, the
    package's pre-norm :class:`~lmnotes.models.transformer.Block` s, a final layer norm, and a read-out
    ``Linear(d_model, 1)`` at every x-position: the prediction of ``y_i`` from ``x_1, y_1, …, x_i``.

    ``forward(xs, ys)`` returns the predictions (B, n) and, as the loss, their mean squared error against
    ``ys`` (every prefix length at once, as in training). ``ys[:, i]`` is never seen by the prediction at ``i``.
    """

    def __init__(self, dim: int, n_points: int, n_layer: int = 3, n_head: int = 4, d_model: int = 64):
        super().__init__()
        for name, v in (("dim", dim), ("n_points", n_points), ("n_layer", n_layer), ("n_head", n_head)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        self.dim, self.n_points = dim, n_points
        self.read_in = nn.Linear(dim + 1, d_model)
        self.pos = nn.Parameter(torch.zeros(2 * n_points, d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(
            Block(d_model, n_head, 4 * d_model, norm_first=True) for _ in range(n_layer)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.read_out = nn.Linear(d_model, 1)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor):
        _check_prompts(xs, ys)
        if xs.shape[2] != self.dim or xs.shape[1] > self.n_points:
            raise ValueError(
                f"this model reads up to {self.n_points} points of dimension {self.dim}, got "
                f"{xs.shape[1]} points of dimension {xs.shape[2]}"
            )
        z = interleave(xs, ys)  # (B, 2n, d + 1)
        h = self.read_in(z) + self.pos[: z.shape[1]]  # (B, 2n, C)
        for block in self.blocks:
            h = block(h, causal=True)  # position t sees positions <= t only
        pred = self.read_out(self.ln_f(h[:, 0::2])).squeeze(-1)  # at the x-positions: (B, n)
        return pred, F.mse_loss(pred, ys)


def regression_batches(dim: int, n_points: int, batch_size: int, seed: int = 0):
    """``get_batch(step) -> (xs, ys)`` for ``fit``: a fresh batch of prompts (and of ``w``'s) at every step,
    reproducible from ``seed``. Example: ``xs, ys = regression_batches(2, 8, 64)(0)``
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")

    def get_batch(step: int):
        p = linear_regression_prompts(batch_size, n_points, dim, seed=seed * 1_000_003 + step)
        return p["xs"], p["ys"]

    get_batch(0)  # checks the sizes now, not at the first step of training
    return get_batch


def train_regressor(dim: int = 2, seed: int = 0, device=None, progress: bool = False, **config):
    """Train an :class:`InContextRegressor` on fresh prompts of dimension ``dim``; returns ``(model, history)``.

    ``config`` overrides entries of :data:`REGRESSOR` (``n_points``, ``n_layer``, ``n_head``, ``d_model``,
    ``steps``, ``batch_size``, ``lr``). Example: ``model, history = train_regressor(dim=2, steps=300)``
    """
    bad = sorted(set(config) - set(REGRESSOR))
    if bad:
        raise ValueError(f"unknown settings {bad}; train_regressor takes {sorted(REGRESSOR)}")
    c = {**REGRESSOR, **config}
    torch.manual_seed(seed)
    model = InContextRegressor(dim, c["n_points"], c["n_layer"], c["n_head"], c["d_model"])
    batches = regression_batches(dim, c["n_points"], c["batch_size"], seed=seed)
    history = fit(
        model, batches, lambda m, b: m(*b)[1], steps=c["steps"], lr=c["lr"], device=device, progress=progress
    )
    return model.eval(), history


@torch.no_grad()
def regressor_predictions(model: InContextRegressor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """The model's prediction of every ``y_i`` from the ``i`` pairs before it and ``x_i``: (B, n)."""
    device = next(model.parameters()).device
    with eval_mode(model):
        return model(xs.to(device), ys.to(device))[0].float().cpu()


# ---------------------------------------------------------------------- the baselines


def least_squares_predictions(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Predict ``y_i`` with the minimum-norm least-squares ``ŵ`` of the ``i`` pairs before it: (B, n).

    ``ŵ = pinv(X) y`` over the first ``i`` pairs: the exact ``w`` once ``i ≥ dim`` (without noise), and for
    ``i < dim`` the smallest ``ŵ`` that fits them; ``ŵ = 0`` (predicting 0) at ``i = 0``.
    """
    _check_prompts(xs, ys)
    B, n, d = xs.shape
    out = torch.zeros(B, n, dtype=xs.dtype)
    for i in range(1, n):
        w_hat = torch.linalg.pinv(xs[:, :i].double()) @ ys[:, :i, None].double()  # (B, d, 1)
        out[:, i] = (xs[:, i : i + 1].double() @ w_hat)[:, 0, 0].to(xs.dtype)
    return out


def averaging_predictions(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Predict ``y_i`` with ``ŵ = mean_j (y_j x_j)`` over the pairs before it (Garg et al.'s averaging
    baseline: unbiased for ``w`` when ``x`` is standard normal, but noisy): (B, n)."""
    _check_prompts(xs, ys)
    yx = torch.cumsum(ys[..., None] * xs, dim=1)  # (B, n, d): sum of y_j x_j up to and including j
    count = torch.arange(1, xs.shape[1] + 1, dtype=xs.dtype)[None, :, None]
    w_hat = torch.zeros_like(xs)
    w_hat[:, 1:] = (yx / count)[:, :-1]  # only the pairs before i
    return (w_hat * xs).sum(-1)


def nearest_neighbour_predictions(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Predict ``y_i`` with the ``y`` of the nearest earlier ``x`` (Euclidean), 0 at ``i = 0``: (B, n)."""
    _check_prompts(xs, ys)
    B, n, _ = xs.shape
    out = torch.zeros(B, n, dtype=xs.dtype)
    for i in range(1, n):
        dist = (xs[:, :i] - xs[:, i : i + 1]).norm(dim=-1)  # (B, i)
        out[:, i] = ys[:, :i].gather(1, dist.argmin(1, keepdim=True))[:, 0]
    return out


def error_by_shots(predictions: torch.Tensor, ys: torch.Tensor, dim: int) -> list[float]:
    """Mean squared error of the prediction of ``y_{k+1}`` after ``k`` examples, for ``k = 0 … n - 1``, divided
    by ``dim`` (so the zero predictor scores about 1 when ``x`` and ``w`` are standard normal, as in Garg et
    al.). Example: ``error_by_shots(least_squares_predictions(xs, ys), ys, 2)[:3]`` → ``[~1, ~0.5, 0.0]``
    """
    if not isinstance(predictions, torch.Tensor) or not isinstance(ys, torch.Tensor):
        raise TypeError("predictions and ys must be tensors of shape (prompts, points)")
    if predictions.shape != ys.shape or ys.dim() != 2:
        raise ValueError(
            f"predictions and ys must both be (prompts, points), got {tuple(predictions.shape)} and "
            f"{tuple(ys.shape)}"
        )
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be an int >= 1 (the dimension of x), got {dim!r}")
    return ((predictions.double() - ys.double()) ** 2).mean(0).div(dim).tolist()


# ---------------------------------------------------------------------- prompting a language model


def _check_shots(shots):
    if not isinstance(shots, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in shots):
        raise TypeError(
            "shots must be a list with one list of solved examples per question (draw_shots makes it)"
        )


def mismatched_shots(shots, pool, seed: int = 0) -> list[list[dict]]:
    """The same examples, each with a wrong answer: another answer of its task, drawn from ``pool``.

    The control for k-shot prompting: a model that learns the task from the examples should suffer; one that
    only recognises the task from their format should not. Example: ``mismatched_shots(shots, train)``
    """
    _check_shots(shots)
    rng = random.Random(seed)
    answers: dict = {}
    for d in pool:
        answers.setdefault(d["task"], set()).add(d["answer"])
    out = []
    for s in shots:
        row = []
        for d in s:
            others = sorted(answers.get(d["task"], set()) - {d["answer"]})
            if not others:
                raise ValueError(
                    f"the pool has no other answer for task {d['task']!r} than {d['answer']!r}; "
                    "give a larger pool"
                )
            row.append({**d, "answer": rng.choice(others)})
        out.append(row)
    return out


def flipped_shots(shots) -> list[list[dict]]:
    """The same yes/no examples with ``yes`` and ``no`` swapped: a task that only the examples define.

    Example: ``flipped_shots([[{"prompt": "is a robin a bird ?", "answer": "yes"}]])`` → answer ``no``.
    """
    _check_shots(shots)
    swap = {"yes": "no", "no": "yes"}
    for s in shots:
        for d in s:
            if d["answer"] not in swap:
                raise ValueError(f"flipped_shots swaps yes and no; this example answers {d['answer']!r}: {d}")
    return [[{**d, "answer": swap[d["answer"]]} for d in s] for s in shots]


def kshot_accuracy(model, tok, rows, pool, ks, seed: int = 0, transform=None, target=None) -> list[float]:
    """Accuracy of a language model on ``rows`` with ``k`` solved examples from ``pool`` before each, for each
    ``k`` in ``ks`` (the examples of :func:`~lmnotes.recipes.gpt.draw_shots`: same task, same phrasing).

    ``transform(shots)`` changes the examples first (:func:`mismatched_shots`, :func:`flipped_shots`);
    ``target(row)`` is the answer counted as right (default: the row's own). Examples that do not fit the
    model's context are left out, the earliest first. Example: ``kshot_accuracy(lm, tok, test, train, [0, 1, 2])``
    """
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: there is nothing to evaluate")
    ks = list(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 0 for k in ks):
        raise ValueError(f"ks must be a non-empty list of ints >= 0 (numbers of examples), got {ks!r}")
    scored = rows if target is None else [{**r, "answer": target(r)} for r in rows]
    out = []
    for k in ks:
        shots = draw_shots(rows, pool, k, seed=seed)
        if transform is not None and k:
            shots = transform(shots)
        out.append(answer_accuracy(model, tok, scored, shots=shots if k else None))
    return out
