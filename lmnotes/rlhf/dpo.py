"""Direct preference optimisation (Rafailov et al., 2023): the same preferences, no reward model, no sampling.

The KL-regularised objective ``max E[r] - β KL(π ‖ π_ref)`` has the closed-form optimum
``π*(y|x) ∝ π_ref(y|x) exp(r(x, y)/β)``, so ``r(x, y) = β log π*(y|x)/π_ref(y|x) + const``. Putting that
reward into the Bradley–Terry loss gives a loss on the policy itself::

    L = -log σ( β [log π(y_w|x) - log π_ref(y_w|x)] - β [log π(y_l|x) - log π_ref(y_l|x)] )

Example::

    policy = train_dpo(gpt, rankings, tok, beta=0.1, steps=100)[0]
"""

from __future__ import annotations

import copy
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..train import History
from .labeller import check_rankings
from .rollouts import Rollout, token_logprobs

__all__ = ["dpo_loss", "sequence_logprobs", "preference_pairs", "train_dpo"]


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The DPO loss from (N,) sequence log-probabilities of the chosen and rejected continuations.

    Returns ``(loss, chosen_reward, rejected_reward)``, the rewards being the implicit
    ``β (log π - log π_ref)`` (N,). When the policy equals the reference the loss is exactly log 2.
    Example: ``loss, rw, rl = dpo_loss(lp_w, lp_l, ref_w, ref_l, beta=0.1)``
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    shapes = {tuple(t.shape) for t in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)}
    if len(shapes) != 1:
        raise ValueError(f"the four log-probability tensors must have one shape, got {sorted(shapes)}")
    chosen = beta * (policy_chosen - ref_chosen)
    rejected = beta * (policy_rejected - ref_rejected)
    loss = -F.logsigmoid(chosen - rejected).mean()
    return loss, chosen.detach(), rejected.detach()


def sequence_logprobs(
    model: nn.Module, idx: torch.Tensor, attention_mask: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """``log π(y|x)``: the sum of the token log-probabilities where ``mask`` (B, T-1) is 1 (the continuation).
    Example: ``lp = sequence_logprobs(gpt, ro.tokens, ro.attention_mask, ro.mask)  # (B,)``"""
    return (token_logprobs(model, idx, attention_mask) * mask).sum(1)


def preference_pairs(rankings: list[dict], tokenizer) -> list[tuple[list[int], list[int], list[int]]]:
    """(prompt ids, chosen ids, rejected ids) for every pair of every ranking, the prompt as ``[BOS] prompt``."""
    rankings = check_rankings(rankings)
    out = []
    for r in rankings:
        prompt = [tokenizer.bos_id] + tokenizer.encode(r["prompt"])
        ids = r.get("ids") or [tokenizer.encode(c) for c in r["continuations"]]
        o = r["order"]
        for i in range(len(o)):
            for j in range(i + 1, len(o)):
                if list(ids[o[i]]) != list(ids[o[j]]):  # two identical continuations carry no preference
                    out.append((prompt, list(ids[o[i]]), list(ids[o[j]])))
    if not out:
        raise ValueError("the rankings hold no pair of different continuations")
    return out


def train_dpo(
    gpt: nn.Module,
    rankings: list[dict],
    tokenizer,
    beta: float = 0.1,
    steps: int = 100,
    lr: float = 1e-4,
    batch_size: int = 32,
    seed: int = 0,
    log_every: int = 5,
    callback=None,
):
    """Fine-tune a copy of ``gpt`` with DPO on every pair of ``rankings``; the reference is a frozen copy.

    Returns ``(policy, history)``; the history logs ``loss``, ``acc`` (share of pairs whose implicit reward
    ranks the chosen one higher) and ``margin``. ``callback(step, policy)`` may return a dict of extra values
    to log (e.g. the gold reward of samples) every ``log_every`` steps.
    Example: ``policy, h = train_dpo(gpt, rankings, tok, beta=0.1, steps=100)``
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    pairs = preference_pairs(rankings, tokenizer)
    device = next(gpt.parameters()).device
    policy, ref = copy.deepcopy(gpt), copy.deepcopy(gpt)
    for p in ref.parameters():
        p.requires_grad_(False)
    policy.eval(), ref.eval()  # dropout off
    opt = torch.optim.AdamW(policy.parameters(), lr=lr, weight_decay=0.0)
    rng = random.Random(seed)
    hist = History()
    for step in range(1, steps + 1):
        batch = rng.sample(pairs, min(batch_size, len(pairs)))
        prompts = [b[0] for b in batch] * 2
        conts = [b[1] for b in batch] + [b[2] for b in batch]
        ro = Rollout.build(prompts, conts, tokenizer.pad_id, device=device)
        lp = sequence_logprobs(policy, ro.tokens, ro.attention_mask, ro.mask)
        with torch.no_grad():
            ref_lp = sequence_logprobs(ref, ro.tokens, ro.attention_mask, ro.mask)
        n = len(batch)
        loss, rw, rl = dpo_loss(lp[:n], lp[n:], ref_lp[:n], ref_lp[n:], beta)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        if step % log_every == 0 or step == steps or step == 1:
            hist.log(step, "loss", loss.item())
            hist.log(step, "acc", (rw > rl).float().mean().item())
            hist.log(step, "margin", (rw - rl).mean().item())
            if callback is not None:
                for k, v in (callback(step, policy) or {}).items():
                    hist.log(step, k, v)
    return policy, hist
