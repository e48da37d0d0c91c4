"""Rollouts: prompts in, sampled continuations out, and the batches PPO and DPO score them in.

Sampling goes through :meth:`lmnotes.models.gpt.GPT.generate` (its key/value cache included); this module only
groups the prompts, cuts each continuation after ``[EOS]`` and pads the results.

* :func:`encode_prompts` — ``[BOS] prompt`` ids, checked against the model's context;
* :func:`sample_continuations` — one continuation per prompt;
* :class:`Rollout` — prompt + continuation, right-padded, with the mask of the *actions* (the continuation tokens);
* :func:`token_logprobs` — ``log π`` of every next token under a causal LM;
* :func:`collect_rankings`, :func:`preference_data` — the data-collection step: continuations from several LMs,
  ranked by a :class:`~lmnotes.rlhf.labeller.Labeller`.

Example::

    ids = encode_prompts(tok, ["the film was"], block_size=64, max_new_tokens=12)
    conts = sample_continuations(gpt, ids, 12, eos_id=tok.eos_id)
    ro = Rollout.build(ids, conts, tok.pad_id)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.batching import pad_batch
from .labeller import Labeller, positive_and_well_formed, review_prompts

__all__ = [
    "encode_prompts",
    "sample_continuations",
    "Rollout",
    "token_logprobs",
    "collect_rankings",
    "preference_data",
]


# ---------------------------------------------------------------------------------------------------------
# Prompts and continuations
# ---------------------------------------------------------------------------------------------------------


def encode_prompts(
    tokenizer, prompts, block_size: int | None = None, max_new_tokens: int = 0
) -> list[list[int]]:
    """``[BOS] prompt`` ids for each prompt, checked against the model's context.

    Raises a ValueError naming the prompt when ``len(prompt) + max_new_tokens`` exceeds ``block_size``.
    Example: ``encode_prompts(tok, ["the film was"], block_size=64, max_new_tokens=12)  # [[5, ...]]``
    """
    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    if not prompts:
        raise ValueError("prompts is empty; pass at least one prompt string")
    out = []
    for p in prompts:
        if not isinstance(p, str):
            raise TypeError(f"each prompt must be a string, got {type(p).__name__}")
        ids = [tokenizer.bos_id] + tokenizer.encode(p)
        if block_size is not None and len(ids) + max_new_tokens > block_size:
            raise ValueError(
                f"prompt {p[:40]!r}... has {len(ids)} tokens ([BOS] included); with max_new_tokens="
                f"{max_new_tokens} that is longer than the model's context of {block_size}; shorten the "
                "prompt or lower max_new_tokens"
            )
        out.append(ids)
    return out


@torch.no_grad()
def sample_continuations(
    model: nn.Module,
    prompt_ids: list[list[int]],
    max_new_tokens: int,
    temperature: float = 1.0,
    eos_id: int | None = None,
    generator: torch.Generator | None = None,
    batch_size: int = 256,
) -> list[list[int]]:
    """Plain sampling (no top-k, no nucleus) through :meth:`~lmnotes.models.gpt.GPT.generate` and its key/value
    cache: one continuation per prompt, cut after ``eos_id``.

    ``prompt_ids``: B lists of ids (any lengths; prompts of one length are sampled together, shortest first).
    Returns B lists of continuation ids (the ``eos_id`` included when it was drawn).
    Example: ``conts = sample_continuations(gpt, encode_prompts(tok, ["the film was"]), 10, eos_id=tok.eos_id)``
    """
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 for sampling, got {temperature}")
    longest = max(len(p) for p in prompt_ids)
    if longest + max_new_tokens > model.config.block_size:
        raise ValueError(
            f"a prompt of {longest} tokens plus max_new_tokens={max_new_tokens} is longer than the "
            f"model's context of {model.config.block_size}"
        )
    device = next(model.parameters()).device
    out: list[list[int] | None] = [None] * len(prompt_ids)
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prompt_ids):
        groups.setdefault(len(p), []).append(i)
    for length in sorted(groups):
        members = groups[length]
        for s in range(0, len(members), batch_size):
            rows = members[s : s + batch_size]
            x = torch.tensor([prompt_ids[i] for i in rows], device=device)  # (G, L)
            y = model.generate(
                x, max_new_tokens, temperature=temperature, stop_token=eos_id, generator=generator
            )
            for r, i in enumerate(rows):
                cont = y[r, length:].tolist()
                if eos_id is not None and eos_id in cont:
                    cont = cont[: cont.index(eos_id) + 1]
                out[i] = cont
    return out  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------------
# Rollouts and their log-probabilities
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    """A batch of prompt + continuation sequences, right-padded.

    ``tokens``, ``attention_mask``: (B, L); ``mask``: (B, L-1), 1 at position ``t`` when token ``t+1`` is a
    continuation token (an action); ``texts``: the decoded continuations; ``prompts``: the prompt strings.
    """

    tokens: torch.Tensor
    attention_mask: torch.Tensor
    mask: torch.Tensor
    prompts: list[str]
    texts: list[str]

    @classmethod
    def build(
        cls,
        prompt_ids: list[list[int]],
        continuations: list[list[int]],
        pad_id: int,
        prompts=None,
        texts=None,
        device=None,
    ) -> Rollout:
        if len(prompt_ids) != len(continuations):
            raise ValueError(f"{len(prompt_ids)} prompts but {len(continuations)} continuations")
        if any(len(c) == 0 for c in continuations):
            raise ValueError("a continuation is empty; every continuation needs at least one token")
        batch = pad_batch(
            [list(p) + list(c) for p, c in zip(prompt_ids, continuations)], pad_id=pad_id
        )  # (B, L)
        L = batch["input_ids"].shape[1]
        # position t predicts token t+1: the actions are the positions len(p) - 1 .. len(p) + len(c) - 2
        actions = [[0] * (len(p) - 1) + [1] * len(c) for p, c in zip(prompt_ids, continuations)]
        mask = pad_batch(actions, pad_id=0, max_length=L - 1)["input_ids"].float()  # (B, L - 1)
        return cls(
            batch["input_ids"].to(device),
            batch["attention_mask"].to(device),
            mask.to(device),
            list(prompts or []),
            list(texts or []),
        )

    def __len__(self) -> int:
        return self.tokens.shape[0]


def _logits(model: nn.Module, idx: torch.Tensor, attention_mask: torch.Tensor | None):
    return model(idx, attention_mask=attention_mask).logits


def token_logprobs(
    model_or_logits, idx: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Log-probability of every next token: ``out[b, t] = log p(idx[b, t+1] | idx[b, :t+1])``.

    ``model_or_logits``: a causal LM (called as ``model(idx, attention_mask=...)``) or its logits (B, T, V).
    ``idx``: (B, T) token ids, right-padded; ``attention_mask``: (B, T), 1 on real tokens.
    Returns (B, T-1), with 0 where the predicted token is padding. Right padding never changes the
    log-probability of a real token: a causal model's position ``t`` only sees positions ``<= t``.
    Example: ``lp = token_logprobs(gpt, batch["input_ids"], batch["attention_mask"])  # (B, T-1)``
    """
    if idx.dim() != 2:
        raise ValueError(f"idx must be (batch, time), got shape {tuple(idx.shape)}")
    logits = (
        model_or_logits
        if isinstance(model_or_logits, torch.Tensor)
        else _logits(model_or_logits, idx, attention_mask)
    )
    logp = F.log_softmax(logits[:, :-1].float(), dim=-1)  # (B, T-1, V): position t predicts token t+1
    out = logp.gather(-1, idx[:, 1:].unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    if attention_mask is not None:
        out = out * attention_mask[:, 1:].to(out.dtype)
    return out


# ---------------------------------------------------------------------------------------------------------
# Collecting preferences
# ---------------------------------------------------------------------------------------------------------


def collect_rankings(
    prompts: list[str],
    generators: dict,
    tokenizer,
    labeller: Labeller,
    max_new_tokens: int = 12,
    seed: int = 0,
) -> list[dict]:
    """The data-collection step: for every prompt, one continuation from each LM, ranked by the labeller.

    ``generators``: ``{name: (model, temperature)}`` — several LMs (checkpoints, or one model at several
    temperatures). Returns one dict per prompt: ``prompt``, ``continuations`` (K texts), ``ids`` (K id
    lists), ``sources`` (K names), ``order`` (best first), ``scores`` (a scalar per continuation: 1 for the best,
    0 for the worst, evenly spaced) and ``gold`` (the hidden preference, for measuring only).
    Example: ``data = collect_rankings(prompts, {"T=0.7": (gpt, 0.7), "T=1.5": (gpt, 1.5)}, tok, Labeller())``
    """
    if len(generators) < 2:
        raise ValueError(f"generators needs at least 2 LMs to rank against each other, got {len(generators)}")
    prompts = list(prompts)
    names = list(generators)
    conts = {}
    g = torch.Generator().manual_seed(seed)
    for name in names:
        model, temperature = generators[name]
        ids = encode_prompts(tokenizer, prompts, model.config.block_size, max_new_tokens)
        conts[name] = sample_continuations(
            model, ids, max_new_tokens, temperature, tokenizer.eos_id, generator=g
        )
    out = []
    for i, p in enumerate(prompts):
        ids = [conts[n][i] for n in names]
        texts = [tokenizer.decode(c, skip_special_tokens=True) for c in ids]
        order = labeller.rank([f"{p} {t}" for t in texts])
        k = len(names)
        scores = [0.0] * k
        for rank, j in enumerate(order):
            scores[j] = 1.0 - rank / (k - 1)
        out.append(
            {
                "prompt": p,
                "continuations": texts,
                "ids": ids,
                "sources": names,
                "order": order,
                "scores": scores,
                "gold": [labeller.gold(f"{p} {t}") for t in texts],
            }
        )
    return out


def preference_data(
    gpt,
    tokenizer,
    n_train: int = 150,
    n_test: int = 100,
    temperatures=(0.7, 1.0, 1.5, 2.0),
    tau: float = 0.3,
    max_new_tokens: int = 12,
    seed: int = 0,
    gold=positive_and_well_formed,
):
    """The chapter's preference data in one call: ``(train, test, labeller)``.

    Review openings as prompts, one continuation per temperature of ``gpt`` (the "several LMs"), ranked by a
    :class:`Labeller` with noise ``tau``. ``train`` and ``test`` hold different prompts' rankings.
    Example: ``train, test, labeller = preference_data(gpt, tok, n_train=150)``
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train} and {n_test}")
    labeller = Labeller(gold, tau=tau, seed=seed)
    prompts = review_prompts(n_train + n_test, seed=seed + 1)
    gens = {f"T={t}": (gpt, t) for t in temperatures}
    data = collect_rankings(prompts, gens, tokenizer, labeller, max_new_tokens=max_new_tokens, seed=seed)
    return data[:n_train], data[n_train:], labeller
