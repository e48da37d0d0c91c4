"""Exercises for "RLHF": the Bradley–Terry loss, the per-token KL penalty, GAE on a short trajectory, the DPO
loss; questions on the labeller, on PPO without a penalty and on DPO's first step; an open question on noticing
over-optimisation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Wrong, discussion, exercise, question


def _close(a, b, tol=1e-5) -> bool:
    return (
        torch.is_tensor(a)
        and a.shape == b.shape
        and torch.allclose(a.float(), b.float(), atol=tol, rtol=1e-4)
    )


# ------------------------------------------------------------------------------------------------- Bradley–Terry
@exercise(
    "bradley_terry_loss",
    hint="under Bradley–Terry the chance that the chosen text wins depends only on how "
    "much higher its reward is; the loss is the negative log of that chance, "
    "averaged over the pairs. Keep it finite when one reward is far higher",
)
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
            raise Wrong(
                "when the rejected text scores far higher, your loss is not finite; use F.logsigmoid, not log(sigmoid(...))"  # noqa: E501
            )
        return
    if _close(got, -F.logsigmoid(rr - rc).mean()):
        raise Wrong("your loss rewards preferring the rejected text: the margin is r_chosen - r_rejected")
    if _close(got, -F.logsigmoid(rc - rr).sum()):
        raise Wrong("take the mean over the pairs, not the sum")
    if _close(got, F.logsigmoid(rc - rr).mean()):
        raise Wrong(
            "the loss is the NEGATIVE log-probability of the labeller's choice; yours has the wrong sign"
        )
    if _close(got, -torch.log(torch.sigmoid(rc) / (torch.sigmoid(rc) + torch.sigmoid(rr))).mean(), 1e-3):
        raise Wrong("Bradley–Terry compares the rewards through their difference: σ(r_chosen - r_rejected)")
    raise Wrong(
        f"for r_chosen={rc.tolist()} and r_rejected={rr.tolist()} the loss is {want.item():.4f}, "
        f"yours is {float(got):.4f}"
    )


@check_bradley_terry_loss.reference
def bradley_terry_loss(r_chosen, r_rejected):
    # -log P(chosen ≻ rejected) under Bradley–Terry, averaged over the pairs
    return -F.logsigmoid(r_chosen - r_rejected).mean()


# ------------------------------------------------------------------------------------------------- per-token KL
@exercise(
    "per_token_rewards",
    hint="two parts: every continuation token pays for moving away from the "
    "reference, and the reward model's score comes once, at the end of each "
    "row's own continuation",
)
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
        raise Wrong(
            "the score goes on each row's own last continuation token; rows end at different positions"
        )
    first = -beta * (lp - ref) * mask
    first[0, 1] += 2.0
    first[1, 2] += -1.0
    if _close(got, first):
        raise Wrong(
            "the score belongs to the LAST continuation token (the end of the sequence), not the first"
        )
    raise Wrong(f"expected\n{want}\ngot\n{got}")


@check_per_token_rewards.reference
def per_token_rewards(score, logprobs, ref_logprobs, mask, beta):
    rewards = -beta * (logprobs - ref_logprobs) * mask  # the per-token KL penalty
    last = (torch.arange(mask.shape[1]) * mask).argmax(dim=1)  # each row's last continuation token
    rewards[torch.arange(mask.shape[0]), last] += score  # the reward model's score at the end
    return rewards


# ------------------------------------------------------------------------------------------------- GAE
@exercise(
    "gae",
    hint="work backwards from the last step: an advantage is the step's own TD error plus a "
    "share (γλ) of the next step's advantage; after the last step there is no next state",
)
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
    ret = torch.tensor([gamma**2, gamma, 1.0])
    if _close(got, ret - v):
        raise Wrong("these are the Monte-Carlo advantages (λ = 1); use λ to blend the TD errors")
    d_wrong = [r[0] + gamma * v[1] - v[0], r[1] + gamma * v[2] - v[1], r[2] + gamma * v[2] - v[2]]
    if _close(got[2], torch.tensor(d_wrong[2])):
        raise Wrong("after the last step there is no next state: use V_T = 0, not the last value again")
    raise Wrong(
        f"for rewards {r.tolist()}, values {v.tolist()}, γ={gamma}, λ={lam} the advantages are "
        f"{[round(x, 4) for x in want.tolist()]}, yours are {[round(x, 4) for x in got.tolist()]}"
    )


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


# ------------------------------------------------------------------------------------------------- DPO
@exercise(
    "dpo_loss",
    hint="DPO is the Bradley–Terry loss with a reward read off the policy: how much more "
    "likely the policy makes a text than the reference does, scaled by β",
)
def check_dpo_loss(fn):
    pw = torch.tensor([-10.0, -8.0, -12.0, -5.0])  # log π(y_w | x), summed over the continuation
    pl = torch.tensor([-11.0, -7.0, -12.5, -9.0])  # log π(y_l | x)
    rw = torch.tensor([-10.5, -8.5, -11.0, -6.0])  # log π_ref(y_w | x)
    rl = torch.tensor([-10.0, -7.5, -12.0, -8.0])  # log π_ref(y_l | x)
    beta = 0.5
    got = fn(pw.clone(), pl.clone(), rw.clone(), rl.clone(), beta)
    if not torch.is_tensor(got):
        raise Wrong(f"return the loss as a tensor, got {type(got).__name__}")
    if got.dim() != 0:
        raise Wrong(f"return one number, the mean over the pairs; yours has shape {tuple(got.shape)}")
    want = dpo_loss(pw, pl, rw, rl, beta)
    if _close(got, want):
        same = fn(pw.clone(), pl.clone(), pw.clone(), pl.clone(), beta)
        if not math.isclose(float(same), math.log(2), rel_tol=1e-4):
            raise Wrong(
                f"when the policy is the reference the loss must be log 2 = 0.693, yours is {float(same):.4f}"
            )
        far = fn(torch.tensor([-500.0]), torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([0.0]), 1.0)
        if not torch.isfinite(far):
            raise Wrong(
                "when the policy strongly prefers the rejected text your loss is not finite; use "
                "F.logsigmoid, not log(sigmoid(...))"
            )
        return
    margin = lambda a, b, c, d, k: k * ((a - c) - (b - d))  # noqa: E731
    if _close(got, -F.logsigmoid(beta * (pw - pl)).mean()):
        raise Wrong(
            "your reward is β log π alone: DPO's reward is β log π/π_ref, so subtract the reference's "
            "log-probabilities (otherwise the loss does not even start at log 2)"
        )
    if _close(got, -F.logsigmoid(-margin(pw, pl, rw, rl, beta)).mean()):
        raise Wrong(
            "your loss favours the rejected text: the margin is (chosen reward) - (rejected reward), each "
            "reward being β (log π - log π_ref), the policy's log-probability first"
        )
    if _close(got, -F.logsigmoid(margin(pw, pl, rw, rl, 1.0)).mean()):
        raise Wrong("β is missing: the implicit reward is β (log π - log π_ref)")
    if _close(got, -F.logsigmoid(margin(pw, pl, rw, rl, 1 / beta)).mean()):
        raise Wrong("multiply by β, do not divide: the implicit reward is β (log π - log π_ref)")
    if _close(got, -F.logsigmoid(margin(pw, pl, rw, rl, beta)).sum()):
        raise Wrong("take the mean over the pairs, not the sum")
    if _close(got, F.logsigmoid(margin(pw, pl, rw, rl, beta)).mean()):
        raise Wrong(
            "the loss is the NEGATIVE log-probability that the chosen text wins; yours has the wrong sign"
        )
    raise Wrong(f"the loss should be {want.item():.4f}, yours is {float(got):.4f}")


@check_dpo_loss.reference
def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    chosen = beta * (policy_chosen - ref_chosen)  # the implicit rewards β log π/π_ref
    rejected = beta * (policy_rejected - ref_rejected)
    return -F.logsigmoid(chosen - rejected).mean()  # Bradley–Terry on them


# ------------------------------------------------------------------------------------------------- questions
# The labeller notebook's pair: gold 1.0 for "the film was great ." and 2/3 for "the film was fine and",
# τ = 0.3 (tests/test_exercises_rlhf.py checks these against the package).
LABELLER_PAIR = ("the film was great .", "the film was fine and", 0.3)
_P = 1 / (1 + math.exp(-(1.0 - 2 / 3) / 0.3))

question(
    "labeller_probability",
    round(_P, 3),
    f"σ((g(a) - g(b)) / τ) = σ((1.00 - 0.67) / 0.3) = σ(1.11) = {_P:.3f}. The labeller is noisy: it picks the "
    "better text three times in four. A smaller τ makes it more decisive.",
    tol=0.01,
    mistakes={
        round(1 / (1 + math.exp(-1 / 3)), 3): "you forgot to divide the difference by τ",
        round(
            1 / 3, 3
        ): "that is the difference of the gold rewards; the probability is σ of it, divided by τ",
        0.6: "that is g(a) / (g(a) + g(b)), a Bradley–Terry model with the gold rewards as strengths; here "
        "the strengths are exp(g / τ)",
        round(1 - _P, 3): "that is the probability that the labeller prefers b, the worse text",
        0.5: "the two texts are not equally good",
        1.0: "the labeller is noisy: it sometimes picks the worse text",
    },
)

question(
    "unpenalised_gold",
    "b",
    "With β = 0 nothing holds the policy near the reference. What it gains first is what the reward model and "
    "the labeller agree on; then it drifts to texts no ranked continuation resembled, where the reward model's "
    "scores are guesses: the learned reward keeps rising while the gold reward falls (over-optimisation, which "
    "Gao et al. measured at scale). In this book's default run the fall is asserted; over three pretraining runs "
    "it showed in two, and in the third the unpenalised run stopped near its peak: 40 short iterations leave "
    "room for chance.",
    choices={
        "a": "it rises with the learned reward until the end",
        "b": "it peaks and then falls, while the learned reward keeps rising",
        "c": "it stays where it started: without a penalty the policy does not move",
    },
    mistakes={
        "a": "the reward model was trained on a few hundred rankings; is it right about texts far from them?",
        "c": "the penalty is what holds the policy back; with β = 0 what stops it from moving?",
    },
)

question(
    "dpo_start_loss",
    round(math.log(2), 4),
    "At the first step the policy is the reference, so both implicit rewards β log π/π_ref are 0, the margin is "
    "0, and the loss is -log σ(0) = log 2 ≈ 0.693, for every pair.",
    tol=0.005,
    mistakes={
        0.0: "the loss is -log σ(margin); at the start the margin is 0 and σ(0) = 1/2, not 1",
        0.5: "σ(0) = 0.5 is the probability that the chosen text wins; the loss is its negative log",
        1.0: "the loss is a negative log-probability; at the start the probability is σ(0) = 1/2",
    },
)

discussion(
    "noticing_overoptimisation",
    """
    In this chapter the gold reward is known, so over-optimisation shows as a gold curve that falls while the
    learned reward rises. Without it, signs to watch:

    - the KL to the reference: a run whose KL keeps growing has left the region the reward model was trained
      on; compare runs at equal KL rather than at equal steps;
    - fresh human (or held-out) preferences on samples from several checkpoints: the only direct measure of the
      true reward;
    - disagreement between reward models trained on different parts of the data (an ensemble): where they
      disagree, the score is a guess;
    - reading samples: repetition, strings of the words the reward model likes, texts that stop being
      sentences;
    - scores far outside the range the reward model gave to the ranked continuations.

    The remedies are the ones the chapter shows (a KL penalty, early stopping) and more data where the policy
    now writes: new rankings of its own samples, then a new reward model.
    """,
)
