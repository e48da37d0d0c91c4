"""Exercises for "RLHF": the Bradley–Terry loss, the per-token KL penalty, GAE on a short trajectory."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Wrong, exercise


def _close(a, b, tol=1e-5) -> bool:
    return torch.is_tensor(a) and a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=tol, rtol=1e-4)


# ------------------------------------------------------------------------------------------------- Bradley–Terry
@exercise("bradley_terry_loss", hint="the probability that the chosen text wins is σ(r_chosen - r_rejected); the loss "
                                     "is the mean of its negative log: -F.logsigmoid(r_chosen - r_rejected).mean()")
def check_bradley_terry_loss(fn):
    rc = torch.tensor([2.0, 0.5, -1.0, 30.0])
    rr = torch.tensor([0.0, 1.5, -1.0, -30.0])
    got = fn(rc.clone(), rr.clone())
    want = -F.logsigmoid(rc - rr).mean()
    if not torch.is_tensor(got):
        raise Wrong(f"return a tensor (the loss), got {type(got).__name__}")
    if got.dim() != 0:
        raise Wrong(f"return one number, the mean over the pairs; yours has shape {tuple(got.shape)}")
    if _close(got, want):
        eq = fn(torch.zeros(3), torch.zeros(3))
        if not math.isclose(float(eq), math.log(2), rel_tol=1e-4):
            raise Wrong(f"with equal rewards the loss must be log 2 = 0.693, yours is {float(eq):.4f}")
        big = fn(torch.tensor([-200.0]), torch.tensor([0.0]))
        if not torch.isfinite(big):
            raise Wrong("when the rejected text scores far higher, your loss is not finite; use F.logsigmoid, not log(sigmoid(...))")
        return
    if _close(got, -F.logsigmoid(rr - rc).mean()):
        raise Wrong("your loss rewards preferring the rejected text: the margin is r_chosen - r_rejected")
    if _close(got, -F.logsigmoid(rc - rr).sum()):
        raise Wrong("take the mean over the pairs, not the sum")
    if _close(got, F.logsigmoid(rc - rr).mean()):
        raise Wrong("the loss is the NEGATIVE log-probability of the labeller's choice; yours has the wrong sign")
    if _close(got, -torch.log(torch.sigmoid(rc) / (torch.sigmoid(rc) + torch.sigmoid(rr))).mean(), 1e-3):
        raise Wrong("Bradley–Terry compares the rewards through their difference: σ(r_chosen - r_rejected)")
    raise Wrong(f"for r_chosen={rc.tolist()} and r_rejected={rr.tolist()} the loss is {want.item():.4f}, "
                f"yours is {float(got):.4f}")


@check_bradley_terry_loss.reference
def bradley_terry_loss(r_chosen, r_rejected):
    # -log P(chosen ≻ rejected) under Bradley–Terry, averaged over the pairs
    return -F.logsigmoid(r_chosen - r_rejected).mean()


# ------------------------------------------------------------------------------------------------- per-token KL
@exercise("per_token_rewards", hint="r_t = -β (log π_t - log π_ref_t) on every continuation token (mask 1), and the "
                                    "score is added on the last token where the mask is 1 only")
def check_per_token_rewards(fn):
    lp = torch.tensor([[0.0, -1.0, -0.5, -2.0, 0.0], [0.0, 0.0, -1.0, -1.0, -3.0]])
    ref = torch.tensor([[0.0, -2.0, -0.5, -1.0, 0.0], [0.0, 0.0, -1.5, -1.0, -1.0]])
    mask = torch.tensor([[0.0, 1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0, 1.0]])
    score = torch.tensor([2.0, -1.0])
    beta = 0.5
    want = -beta * (lp - ref) * mask
    want[0, 3] += 2.0
    want[1, 4] += -1.0
    got = fn(score.clone(), lp.clone(), ref.clone(), mask.clone(), beta)
    if not torch.is_tensor(got) or got.shape != lp.shape:
        raise Wrong(f"return a (B, T) tensor of per-token rewards, shape {tuple(lp.shape)}")
    if _close(got, want):
        return
    if (got * (1 - mask)).abs().sum() > 0:
        raise Wrong("positions outside the mask (the prompt and the padding) must get reward 0")
    no_kl = torch.zeros_like(lp)
    no_kl[0, 3], no_kl[1, 4] = 2.0, -1.0
    if _close(got, no_kl):
        raise Wrong("you placed the score but forgot the KL term -β (log π - log π_ref) on every token")
    flipped = beta * (lp - ref) * mask
    flipped[0, 3] += 2.0
    flipped[1, 4] += -1.0
    if _close(got, flipped):
        raise Wrong("the KL term is a penalty: subtract β (log π - log π_ref), do not add it")
    if _close(got[0], want[0]) and not _close(got[1], want[1]):
        raise Wrong("the score goes on each row's own last continuation token; rows end at different positions")
    first = -beta * (lp - ref) * mask
    first[0, 1] += 2.0
    first[1, 2] += -1.0
    if _close(got, first):
        raise Wrong("the score belongs to the LAST continuation token (the end of the sequence), not the first")
    raise Wrong(f"expected\n{want}\ngot\n{got}")


@check_per_token_rewards.reference
def per_token_rewards(score, logprobs, ref_logprobs, mask, beta):
    rewards = -beta * (logprobs - ref_logprobs) * mask  # the per-token KL penalty
    last = (torch.arange(mask.shape[1]) * mask).argmax(dim=1)  # each row's last continuation token
    rewards[torch.arange(mask.shape[0]), last] += score  # the reward model's score at the end
    return rewards


# ------------------------------------------------------------------------------------------------- GAE
@exercise("gae", hint="go backwards: δ_t = r_t + γ V_{t+1} - V_t (with V_T = 0 after the last step), "
                      "A_t = δ_t + γ λ A_{t+1}")
def check_gae(fn):
    r = torch.tensor([0.0, 0.0, 1.0])
    v = torch.tensor([0.2, 0.5, 0.4])
    gamma, lam = 0.9, 0.8
    d = [r[0] + gamma * v[1] - v[0], r[1] + gamma * v[2] - v[1], r[2] - v[2]]
    a2 = d[2]
    a1 = d[1] + gamma * lam * a2
    a0 = d[0] + gamma * lam * a1
    want = torch.tensor([a0, a1, a2])
    got = fn(r.clone(), v.clone(), gamma, lam)
    if not torch.is_tensor(got) or got.shape != want.shape:
        raise Wrong(f"return a tensor of one advantage per step, shape {tuple(want.shape)}")
    if _close(got, want):
        td = fn(r.clone(), v.clone(), gamma, 0.0)
        if not _close(td, torch.tensor(d)):
            raise Wrong("with λ = 0 the advantages must be the TD errors δ_t; check how λ enters")
        return
    if _close(got, torch.tensor(d)):
        raise Wrong("these are the TD errors δ_t alone; add γλ A_{t+1} to each, going backwards from the end")
    ret = torch.tensor([gamma ** 2, gamma, 1.0])
    if _close(got, ret - v):
        raise Wrong("these are the Monte-Carlo advantages (λ = 1); use λ to blend the TD errors")
    d_wrong = [r[0] + gamma * v[1] - v[0], r[1] + gamma * v[2] - v[1], r[2] + gamma * v[2] - v[2]]
    if _close(got[2], torch.tensor(d_wrong[2])):
        raise Wrong("after the last step there is no next state: use V_T = 0, not the last value again")
    raise Wrong(f"for rewards {r.tolist()}, values {v.tolist()}, γ={gamma}, λ={lam} the advantages are "
                f"{[round(x, 4) for x in want.tolist()]}, yours are {[round(x, 4) for x in got.tolist()]}")


@check_gae.reference
def gae(rewards, values, gamma, lam):
    T = len(rewards)
    adv = torch.zeros(T)
    last = 0.0
    for t in reversed(range(T)):
        v_next = values[t + 1] if t + 1 < T else 0.0  # the episode ends after the last step
        delta = rewards[t] + gamma * v_next - values[t]  # the TD error
        last = delta + gamma * lam * last
        adv[t] = last
    return adv
