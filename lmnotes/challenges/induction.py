"""Induction heads in a tiny attention-only Transformer (Olsson et al., 2022), and the tools to find them.

An *induction head* completes a pattern seen before: at a token ``A`` it looks back to where ``A`` occurred
earlier, attends to the token that followed it there (``B``), and predicts ``B`` again (``[A][B] … [A] → [B]``).
It needs two layers: a head of the first layer writes "my previous token was ``A``" into each position, and
a head of the second layer uses it, its query (the current token ``A``) matching the key of the position after
the earlier ``A``.

Read top to bottom:

* :class:`AttentionOnlyTransformer` — embeddings, ``n_layer`` attention layers (the shared
  :class:`~lmnotes.models.transformer.MultiHeadAttention`), no feed-forward network, an unembedding;
* :func:`train_induction_model` — trained through ``lmnotes.train.fit`` on fresh
  :func:`~lmnotes.data.challenges.induction.repeated_sequences` at every step;
* :func:`repeated_token_loss` — the loss on the tokens only induction can predict;
* :func:`attention_maps`, :func:`induction_score`, :func:`previous_token_score`, :func:`head_scores` — what
  each head attends to;
* :func:`ablate_head` — zero one head's output and see what goes with it.

Example::

    from lmnotes.challenges import induction
    from lmnotes.data.challenges.induction import repeated_sequences
    model, history = induction.train_induction_model(n_layer=2, steps=1000, seed=0)
    data = repeated_sequences(256, seed=1)
    induction.repeated_token_loss(model, data), induction.head_scores(model, data["tokens"])["induction"]
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.challenges.induction import repeated_sequences
from ..models.transformer import MultiHeadAttention
from ..train import fit
from ..utils import eval_mode

__all__ = [
    "INDUCTION_MODEL",
    "AttentionOnlyTransformer",
    "train_induction_model",
    "repeated_token_loss",
    "attention_maps",
    "induction_score",
    "previous_token_score",
    "head_scores",
    "ablate_head",
]

# Small enough to train in well under a minute on one CPU thread.
INDUCTION_MODEL = {
    "vocab_size": 64,
    "seq_len": 32,
    "repeat_len": 12,
    "n_layer": 2,
    "n_head": 2,
    "d_model": 64,
}


class AttentionOnlyTransformer(nn.Module):
    """Token and position embeddings, ``n_layer`` pre-norm attention layers with residuals, an unembedding.

    No feed-forward network: whatever the model computes, it computes by moving information between positions,
    which is what makes its heads readable. ``forward(tokens)``: (B, T) → logits (B, T, V); with
    ``return_weights=True`` also the attention weights, a list of ``n_layer`` tensors (B, n_head, T, T).

    Example: ``AttentionOnlyTransformer(vocab_size=64, seq_len=32, n_layer=2)(torch.zeros(1, 5, dtype=torch.long))``
    """

    def __init__(self, vocab_size: int, seq_len: int, n_layer: int = 2, n_head: int = 4, d_model: int = 64):
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("seq_len", seq_len),
            ("n_layer", n_layer),
            ("n_head", n_head),
            ("d_model", d_model),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.seq_len, self.n_layer, self.n_head = seq_len, n_layer, n_head
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(seq_len, d_model)
        self.ln = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layer))
        self.attn = nn.ModuleList(MultiHeadAttention(d_model, n_head, bias=False) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(d_model)
        self.unembed = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, tokens: torch.Tensor, return_weights: bool = False):
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (batch, time), got {tuple(tokens.shape)}")
        B, T = tokens.shape
        if T > self.seq_len:
            raise ValueError(f"a row of {T} tokens is longer than the model's {self.seq_len} positions")
        x = self.tok_emb(tokens) + self.pos_emb(torch.arange(T, device=tokens.device))  # (B, T, C)
        weights = []
        for ln, attn in zip(self.ln, self.attn):
            a, w = (
                attn(ln(x), causal=True, return_weights=True)
                if return_weights
                else (attn(ln(x), causal=True), None)
            )
            x = x + a  # the residual stream: each layer adds what its heads read
            weights.append(w)
        logits = self.unembed(self.ln_f(x))  # (B, T, V)
        return (logits, weights) if return_weights else logits


def _device(model):
    return next(model.parameters()).device


def _check_data(data):
    if not isinstance(data, dict) or not {"tokens", "predictable"} <= set(data):
        raise TypeError(
            "data must be the dict repeated_sequences(...) returns, with 'tokens' and 'predictable'"
        )


def repeated_token_loss(model: nn.Module, data: dict, batch_size: int = 512) -> float:
    """Mean cross-entropy (nats) on the tokens only induction can predict: ``data["predictable"]``, the copy
    after its first token. Knowing nothing gives ``log(vocab_size)``; knowing only that the token is one of those
    seen so far, about the log of their number (near 3 nats for rows of 32); an induction head brings it towards 0.

    Example: ``repeated_token_loss(model, repeated_sequences(256, seed=1))``
    """
    _check_data(data)
    total, count = 0.0, 0
    with torch.no_grad(), eval_mode(model):
        for s in range(0, len(data["tokens"]), batch_size):
            x = data["tokens"][s : s + batch_size].to(_device(model))
            mask = data["predictable"][s : s + batch_size, 1:].to(x.device)  # targets at positions 1 .. T-1
            lp = model(x)[:, :-1].float().log_softmax(-1)  # (B, T - 1, V): prediction of the next token
            nll = -lp.gather(-1, x[:, 1:, None])[..., 0]  # (B, T - 1)
            total, count = total + float(nll[mask].sum()), count + int(mask.sum())
    if count == 0:
        raise ValueError("data has no predictable token: its repeats must be at least 2 tokens long")
    return total / count


@torch.no_grad()
def attention_maps(model: AttentionOnlyTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """(B, n_layer, n_head, T, T): every head's attention weights, row ``t`` (query) over keys ``0 .. t``.

    Example: ``attention_maps(model, data["tokens"][:8])[0, 1, 2]`` — the map of layer 1, head 2, on row 0
    """
    if not torch.is_tensor(tokens) or tokens.dim() != 2:
        raise TypeError("tokens must be a (batch, time) tensor of token ids")
    with eval_mode(model):
        _, weights = model(tokens.to(_device(model)), return_weights=True)
    return torch.stack(weights, dim=1).float().cpu()


def _check_maps(weights, tokens):
    if not torch.is_tensor(weights) or not torch.is_tensor(tokens):
        raise TypeError("weights and tokens must be tensors")
    if tokens.dim() == 1:
        tokens = tokens[None]
    T = tokens.shape[-1]
    if weights.dim() < 2 or weights.shape[-2:] != (T, T):
        raise ValueError(
            f"weights must end in (T, T) = ({T}, {T}) for rows of {T} tokens, got {tuple(weights.shape)}"
        )
    if weights.shape[0] != tokens.shape[0] and weights.dim() > 2:
        raise ValueError(
            f"weights are for {weights.shape[0]} rows, tokens has {tokens.shape[0]}: the first dims must agree"
        )
    return tokens


def _mean_over_queries(weights, tokens, target):
    """Mean attention mass on ``target`` (B, T, T) bool, over the queries that have at least one target key."""
    extra = weights.dim() - 3 if weights.dim() > 2 else 0
    if weights.dim() == 2:
        weights = weights[None]
    target = target.view(target.shape[0], *([1] * extra), *target.shape[1:])  # broadcast over heads
    mass = (weights.float() * target).sum(-1)  # (B, ..., T)
    has = target.any(-1).expand_as(mass)  # queries with a target
    if not has.any():
        raise ValueError("no token in these rows occurs twice, so there is no query to score")
    mass = torch.where(has, mass, torch.zeros_like(mass))
    return mass.sum(dim=(0, -1)) / has.sum(dim=(0, -1)) if extra else mass.sum() / has.sum()


def induction_score(weights: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """How much a head attends like an induction head: at each query ``t`` whose token occurred earlier, at
    ``j < t``, the attention on position ``j + 1`` (the token *after* the earlier occurrence), averaged over those
    queries. 1 for a perfect induction head; a head spreading its attention uniformly scores the mean of
    ``1 / (t + 1)``.

    ``weights``: (T, T), (B, T, T) or (B, H, T, T) (one score per head); ``tokens``: (T,) or (B, T).
    Example: ``induction_score(attention_maps(model, x)[:, 1], x)`` → one score per head of layer 1
    """
    tokens = _check_maps(weights, tokens)
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, T, T): token t equals token j
    earlier = torch.tril(torch.ones_like(same), diagonal=-1)  # j < t
    target = torch.zeros_like(same)
    target[:, :, 1:] = (same & earlier)[:, :, :-1]  # key j + 1 for each earlier occurrence j
    return _mean_over_queries(weights, tokens, target)


def previous_token_score(weights: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean attention of each query ``t >= 1`` on position ``t - 1``: 1 for a *previous-token head*, the first
    half of an induction circuit. Shapes as in :func:`induction_score`.

    Example: ``previous_token_score(attention_maps(model, x)[:, 0], x)`` → one score per head of layer 0
    """
    tokens = _check_maps(weights, tokens)
    T = tokens.shape[-1]
    target = torch.diag(torch.ones(T - 1, dtype=torch.bool), -1).expand(tokens.shape[0], T, T)
    return _mean_over_queries(weights, tokens, target)


def head_scores(model: AttentionOnlyTransformer, tokens: torch.Tensor) -> dict:
    """``{"induction": (n_layer, n_head), "previous": (n_layer, n_head)}``: both scores for every head.

    Example: ``head_scores(model, data["tokens"][:128])["induction"].argmax()``
    """
    maps = attention_maps(model, tokens)  # (B, L, H, T, T)
    tokens = tokens.cpu()
    return {
        "induction": torch.stack([induction_score(maps[:, i], tokens) for i in range(maps.shape[1])]),
        "previous": torch.stack([previous_token_score(maps[:, i], tokens) for i in range(maps.shape[1])]),
    }


@contextlib.contextmanager
def ablate_head(model: AttentionOnlyTransformer, layer: int, head: int):
    """Within the block, head ``head`` of layer ``layer`` writes nothing: its output (its slice of the input to
    the layer's output projection) is set to zero. Every other head computes exactly what it did.

    Example: ``with ablate_head(model, 1, 2): loss = repeated_token_loss(model, data)``
    """
    if not isinstance(layer, int) or not 0 <= layer < model.n_layer:
        raise ValueError(f"layer must be an int in [0, {model.n_layer - 1}], got {layer!r}")
    if not isinstance(head, int) or not 0 <= head < model.n_head:
        raise ValueError(f"head must be an int in [0, {model.n_head - 1}], got {head!r}")
    attn = model.attn[layer]
    cols = slice(
        head * attn.d_head, (head + 1) * attn.d_head
    )  # heads sit side by side: (B, T, n_head * d_head)

    def zero_head(module, args):
        y = args[0].clone()
        y[..., cols] = 0
        return (y,)

    handle = attn.proj.register_forward_pre_hook(zero_head)
    try:
        yield model
    finally:
        handle.remove()


def train_induction_model(
    n_layer: int = 2,
    steps: int = 1000,
    seed: int = 0,
    batch_size: int = 64,
    lr: float = 3e-3,
    eval_every: int | None = None,
    eval_data: dict | None = None,
    device=None,
    progress: bool = False,
    **config,
):
    """Train an :class:`AttentionOnlyTransformer` on fresh :func:`repeated_sequences` every step (next-token
    loss at every position), through ``lmnotes.train.fit``.

    ``config`` overrides :data:`INDUCTION_MODEL` (``vocab_size``, ``seq_len``, ``repeat_len``, ``n_head``,
    ``d_model``, and ``min_offset`` / ``max_offset`` for the data). With ``eval_every``, the history holds every
    ``eval_every`` steps ``eval_repeated_loss`` and ``eval_induction`` (the best head's :func:`induction_score`)
    on ``eval_data`` (default: 256 rows drawn from another seed). Returns ``(model, history)``, the model in
    eval mode.

    Example: ``model, history = train_induction_model(n_layer=1, steps=500, seed=0)``
    """
    offsets = {k: config.pop(k) for k in ("min_offset", "max_offset") if k in config}
    unknown = set(config) - set(INDUCTION_MODEL)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; the model takes {sorted(INDUCTION_MODEL)}")
    c = {**INDUCTION_MODEL, **config, "n_layer": n_layer}
    data_kw = dict(seq_len=c["seq_len"], repeat_len=c["repeat_len"], vocab_size=c["vocab_size"], **offsets)
    repeated_sequences(1, seed=0, **data_kw)  # fail early, with the generator's message, on bad sizes
    torch.manual_seed(seed)
    model = AttentionOnlyTransformer(c["vocab_size"], c["seq_len"], n_layer, c["n_head"], c["d_model"])
    if eval_data is None:
        eval_data = repeated_sequences(256, seed=seed + 10_000, **data_kw)

    def batch(step):  # a fresh draw each step: the model never sees a row twice
        return repeated_sequences(batch_size, seed=seed * 100_003 + step, **data_kw)["tokens"]

    def loss_fn(m, x):
        logits = m(x)
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), x[:, 1:].flatten())

    def evaluate(m):
        maps = attention_maps(m, eval_data["tokens"][:128])
        best = max(
            float(induction_score(maps[:, i], eval_data["tokens"][:128]).max()) for i in range(n_layer)
        )
        return {"repeated_loss": repeated_token_loss(m, eval_data), "induction": best}

    history = fit(
        model,
        batch,
        loss_fn,
        steps=steps,
        lr=lr,
        warmup=0.05,
        device=device,
        progress=progress,
        eval_fn=evaluate if eval_every else None,
        eval_every=eval_every,
    )
    return model.eval(), history
