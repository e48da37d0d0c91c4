"""The reward model: a GPT trunk with a scalar head, trained on rankings with the Bradley–Terry loss.

``r(x, y)`` is read from the hidden state of the *last real token* of ``[BOS] x y`` (right padding, so
padding never changes it). For a ranking of ``K`` continuations every one of its ``K(K-1)/2`` pairs
``(y_w ≻ y_l)`` adds ``-log σ(r(x, y_w) - r(x, y_l))`` (Ouyang et al., 2022). After training, the scores are
shifted and scaled so that samples of the reference model score 0 on average with spread 1.

Example::

    rm = RewardModel(gpt, tokenizer)
    history = train_reward_model(rm, rankings, steps=200)
    pairwise_accuracy(rm, held_out)            # compare with Labeller.ceiling(held_out)
"""

from __future__ import annotations

import copy
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.batching import pad_batch
from ..train import History
from ..utils import eval_mode
from .labeller import check_rankings

__all__ = [
    "bradley_terry_loss",
    "ranking_loss",
    "RewardModel",
    "train_reward_model",
    "pairwise_accuracy",
    "check_same_tokenizer",
]


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Pairwise loss ``mean(-log σ(r_chosen - r_rejected))`` over (N,) scores of preferred and rejected texts.

    It is the negative log-likelihood of the labeller's choices under Bradley–Terry; equal scores give log 2.
    Example: ``bradley_terry_loss(torch.tensor([2.0]), torch.tensor([0.0]))  # 0.1269``
    """
    if r_chosen.shape != r_rejected.shape:
        raise ValueError(
            f"r_chosen {tuple(r_chosen.shape)} and r_rejected {tuple(r_rejected.shape)} must have the "
            "same shape"
        )
    if r_chosen.numel() == 0:
        raise ValueError("no pairs: r_chosen is empty")
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def ranking_loss(scores: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Bradley–Terry over every pair of a batch of rankings: ``scores`` (N, K), ``order`` (N, K) best first.

    Each ranking contributes its ``K(K-1)/2`` pairs with weight ``1 / (K(K-1)/2)`` (one ranking, one unit).
    Example: ``ranking_loss(torch.tensor([[0., 1.]]), torch.tensor([[1, 0]]))  # -log σ(1)``
    """
    if scores.shape != order.shape or scores.dim() != 2:
        raise ValueError(
            f"scores and order must both be (rankings, K), got {tuple(scores.shape)} and {tuple(order.shape)}"
        )
    K = scores.shape[1]
    if K < 2:
        raise ValueError(f"a ranking needs K >= 2 continuations, got {K}")
    ranked = scores.gather(1, order)  # (N, K), best first
    i, j = torch.triu_indices(K, K, offset=1)
    return bradley_terry_loss(ranked[:, i].reshape(-1), ranked[:, j].reshape(-1))


def check_same_tokenizer(a, b, what: str = "the reward model", other: str = "the policy") -> None:
    """Raise a ValueError when two tokenizers differ (ids would mean different words)."""
    if a is None or b is None:
        return
    if type(a) is not type(b) or getattr(a, "vocab", None) != getattr(b, "vocab", None):
        raise ValueError(
            f"{what} was built on a different tokenizer ({a!r}) than {other} ({b!r}); the same ids "
            "would mean different words. Build both from the same pretrained model and tokenizer"
        )


class RewardModel(nn.Module):
    """A GPT trunk and a scalar head ``r = w · h_last + b`` read at the last real token.

    ``gpt``: a causal LM whose ``gpt(idx, attention_mask=...)`` has a ``last_hidden_state`` (a GPT); it is
    copied, so the language model passed in is left as it was. ``tokenizer`` is kept to score texts and to refuse a
    policy built on another tokenizer. ``offset`` and ``scale`` normalise the score (see :meth:`normalise`).
    Example: ``rm = RewardModel(gpt, tok); rm.score(["the film was great ."])  # tensor of 1 score``
    """

    def __init__(self, gpt: nn.Module, tokenizer=None):
        super().__init__()
        self.trunk = copy.deepcopy(gpt)
        self.config = getattr(gpt, "config", None)
        d = self._width()
        self.head = nn.Linear(d, 1)
        nn.init.normal_(self.head.weight, std=1.0 / d**0.5)
        nn.init.zeros_(self.head.bias)
        self.tokenizer = tokenizer
        self.register_buffer("offset", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))

    def _width(self) -> int:
        for name in ("n_embd", "d_model", "hidden_size"):
            if self.config is not None and getattr(self.config, name, None):
                return int(getattr(self.config, name))
        with torch.no_grad():
            p = next(self.trunk.parameters())
            h = self.trunk(torch.zeros(1, 2, dtype=torch.long, device=p.device)).last_hidden_state
        return h.shape[-1]

    def forward(self, idx: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T) ids, right-padded, and their (B, T) mask -> (B,) normalised scores."""
        if attention_mask is None:
            attention_mask = torch.ones_like(idx)
        if (attention_mask.sum(1) == 0).any():
            raise ValueError("a sequence has no real token (its attention_mask row is all 0)")
        h = self.trunk(idx, attention_mask=attention_mask).last_hidden_state  # (B, T, C)
        last = attention_mask.long().sum(1) - 1  # index of the last real token, (B,)
        h_last = h[torch.arange(idx.shape[0], device=idx.device), last]  # (B, C)
        r = self.head(h_last).squeeze(-1)  # (B,)
        return (r - self.offset) / self.scale

    def encode(self, texts: list[str]) -> dict:
        """``[BOS] text`` ids, right-padded: ``{"input_ids", "attention_mask"}`` on the model's device."""
        if self.tokenizer is None:
            raise ValueError("this reward model has no tokenizer; build it as RewardModel(gpt, tokenizer)")
        if isinstance(texts, str):
            texts = [texts]
        ids = [[self.tokenizer.bos_id] + self.tokenizer.encode(t) for t in texts]
        bs = getattr(self.config, "block_size", None)
        for t, seq in zip(texts, ids):
            if bs is not None and len(seq) > bs:
                raise ValueError(
                    f"text {t[:40]!r}... has {len(seq)} tokens, longer than the reward model's context "
                    f"of {bs}"
                )
        dev = next(self.parameters()).device
        return {k: v.to(dev) for k, v in pad_batch(ids, pad_id=self.tokenizer.pad_id).items()}

    @torch.no_grad()
    def score(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        """(N,) normalised scores of full texts (prompt and continuation).
        Example: ``rm.score(["the film was fun ."])``"""
        out = []
        with eval_mode(self):
            for s in range(0, len(texts), batch_size):
                b = self.encode(list(texts[s : s + batch_size]))
                out.append(self(b["input_ids"], b["attention_mask"]).float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def normalise(self, texts: list[str]) -> tuple[float, float]:
        """Shift and scale the scores so that ``texts`` (samples of the reference model) score mean 0, std 1."""
        self.offset.zero_()
        self.scale.fill_(1.0)
        s = self.score(texts)
        self.offset.fill_(s.mean().item())
        self.scale.fill_(max(s.std().item(), 1e-6))
        return self.offset.item(), self.scale.item()


def _ranking_batch(rankings: list[dict], tokenizer, device) -> tuple[dict, torch.Tensor, int]:
    K = len(rankings[0]["continuations"])
    seqs = []
    for r in rankings:
        if len(r["continuations"]) != K:
            raise ValueError(
                f"rankings in one batch must have the same number of continuations, got {K} and "
                f"{len(r['continuations'])}"
            )
        prompt = [tokenizer.bos_id] + tokenizer.encode(r["prompt"])
        for j, c in enumerate(r["continuations"]):
            cont = r["ids"][j] if "ids" in r else tokenizer.encode(c)
            seqs.append(prompt + list(cont))
    batch = pad_batch(seqs, pad_id=tokenizer.pad_id)
    order = torch.tensor([list(r["order"]) for r in rankings], device=device)
    return {k: v.to(device) for k, v in batch.items()}, order, K


def train_reward_model(
    rm: RewardModel,
    rankings: list[dict],
    steps: int = 200,
    lr: float = 3e-4,
    batch_size: int = 16,
    weight_decay: float = 0.0,
    seed: int = 0,
    log_every: int = 10,
):
    """Fit the reward model on rankings with :func:`ranking_loss`; returns a :class:`lmnotes.train.History`
    with ``loss`` and ``acc`` (the share of pairs of the batch ordered right). Dropout is off.
    Example: ``history = train_reward_model(rm, rankings, steps=200)``
    """
    rankings = check_rankings(rankings)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    device = next(rm.parameters()).device
    tok = rm.tokenizer
    rng = random.Random(seed)
    opt = torch.optim.AdamW(rm.parameters(), lr=lr, weight_decay=weight_decay)
    hist = History()
    rm.eval()  # dropout off: the same text must get the same score in every pass
    for step in range(1, steps + 1):
        batch_r = rng.sample(rankings, min(batch_size, len(rankings)))
        batch, order, K = _ranking_batch(batch_r, tok, device)
        scores = rm(batch["input_ids"], batch["attention_mask"]).view(-1, K)  # (N, K)
        loss = ranking_loss(scores, order)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rm.parameters(), 1.0)
        opt.step()
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                ranked = scores.gather(1, order)
                i, j = torch.triu_indices(K, K, offset=1)
                acc = (ranked[:, i] > ranked[:, j]).float().mean().item()
            hist.log(step, "loss", loss.item())
            hist.log(step, "acc", acc)
    return hist


@torch.no_grad()
def pairwise_accuracy(rm: RewardModel, rankings: list[dict], batch_size: int = 64) -> float:
    """Share of the pairs of ``rankings`` that the reward model orders as the labeller did (ties count as wrong).
    Example: ``pairwise_accuracy(rm, held_out)  # 0.7``"""
    rankings = check_rankings(rankings)
    device = next(rm.parameters()).device
    rm.eval()
    right = total = 0
    for s in range(0, len(rankings), batch_size):
        chunk = rankings[s : s + batch_size]
        batch, order, K = _ranking_batch(chunk, rm.tokenizer, device)
        scores = rm(batch["input_ids"], batch["attention_mask"]).view(-1, K)
        ranked = scores.gather(1, order)
        i, j = torch.triu_indices(K, K, offset=1)
        right += (ranked[:, i] > ranked[:, j]).sum().item()
        total += ranked[:, i].numel()
    return right / total
