"""PPO with a per-token KL penalty: fine-tune a language model against a learned reward.

The pieces, in the order one PPO iteration uses them (Ziegler et al., 2019; Ouyang et al., 2022):

1. **rollouts** sampled from the policy (:mod:`~lmnotes.rlhf.rollouts`, through ``GPT.generate``): a prompt
   ``x`` and a continuation ``y = (y_1 .. y_n)``;
2. **log-probabilities** of every continuation token under the policy (``log π``) and under the frozen
   reference model (``log π_ref``): :func:`~lmnotes.rlhf.rollouts.token_logprobs`;
3. **per-token rewards**: ``r_t = -β (log π(y_t) - log π_ref(y_t))`` (:func:`kl_penalty`), plus the reward
   model's score ``R(x, y)`` on the last token of ``y`` (:func:`per_token_rewards`);
4. **advantages** by generalised advantage estimation from a value head (:func:`gae`), whitened
   (:func:`whiten`);
5. a few epochs of the **clipped policy and value losses** (:func:`ppo_losses`) on those rollouts.

Tensors along a continuation are ``(B, T)``: ``B`` rollouts, ``T`` positions, and a ``mask`` that is 1 on the
positions that hold continuation tokens (the *actions*) and 0 on the prompt and on padding.

Example::

    trainer = PPOTrainer(gpt, reward_model, tokenizer, prompts, PPOConfig(beta=0.1))  # copies gpt: policy and reference
    history = trainer.train(steps=40)
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..train import History
from ..utils import eval_mode
from .reward import check_same_tokenizer
from .rollouts import Rollout, encode_prompts, sample_continuations, token_logprobs

__all__ = [
    "masked_mean",
    "masked_var",
    "whiten",
    "kl_penalty",
    "per_token_rewards",
    "gae",
    "ppo_losses",
    "FixedKLController",
    "AdaptiveKLController",
    "PolicyWithValue",
    "PolicyOutput",
    "PPOConfig",
    "PPOTrainer",
    "evaluate_policy",
]


# ---------------------------------------------------------------------------------------------------------
# Masked statistics
# ---------------------------------------------------------------------------------------------------------


def _mask_like(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return torch.ones_like(x)
    if mask.shape != x.shape:
        raise ValueError(f"mask must have the shape of the values {tuple(x.shape)}, got {tuple(mask.shape)}")
    return mask.to(x.dtype)


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None = None, dim=None) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` is 1 (all of them when ``mask`` is None).

    Example: ``masked_mean(torch.tensor([1., 2., 9.]), torch.tensor([1, 1, 0]))  # 1.5``
    """
    m = _mask_like(x, mask)
    if dim is None:
        return (x * m).sum() / m.sum().clamp(min=1)
    return (x * m).sum(dim) / m.sum(dim).clamp(min=1)


def masked_var(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Variance (population, no Bessel correction) of ``x`` over the masked positions."""
    mean = masked_mean(x, mask)
    return masked_mean((x - mean) ** 2, mask)


def whiten(
    x: torch.Tensor, mask: torch.Tensor | None = None, shift_mean: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """Advantage whitening: ``(x - mean) / std`` over the masked positions; masked-out positions become 0.

    Whitening keeps the size of a policy update the same whatever the scale of the reward.
    Example: ``whiten(torch.tensor([1., 2., 3.]))  # tensor([-1.2247, 0., 1.2247])``
    """
    m = _mask_like(x, mask)
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    out = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * m


# ---------------------------------------------------------------------------------------------------------
# Log-probabilities and the KL penalty
# ---------------------------------------------------------------------------------------------------------


def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, kind: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(π ‖ π_ref) at the sampled tokens, (B, T) -> (B, T).

    ``kind="k1"``: ``log π - log π_ref`` (unbiased, can be negative token by token; the PPO reward uses it);
    ``"k2"``: ``½ (log π - log π_ref)²``; ``"k3"``: ``(r - 1) - log r`` with ``r = π_ref / π`` (unbiased and
    never negative). All three are exactly 0 where the policy equals the reference.
    Example: ``kl_penalty(torch.tensor([-1.0]), torch.tensor([-2.0]))  # tensor([1.])``
    """
    if logprobs.shape != ref_logprobs.shape:
        raise ValueError(
            f"logprobs {tuple(logprobs.shape)} and ref_logprobs {tuple(ref_logprobs.shape)} "
            "must have the same shape"
        )
    d = logprobs - ref_logprobs
    if kind == "k1":
        return d
    if kind == "k2":
        return 0.5 * d**2
    if kind == "k3":
        return torch.expm1(-d) + d
    raise ValueError(f"kind must be 'k1', 'k2' or 'k3', got {kind!r}")


def per_token_rewards(
    scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reward PPO maximises, token by token: ``r_t = -β KL_t``, plus the score ``R(x, y)`` on the last action.

    ``scores``: (B,) reward-model scores; ``logprobs``, ``ref_logprobs``, ``mask``: (B, T).
    Returns ``(rewards, kl)``, both (B, T) and 0 outside the mask.
    Example: ``r, kl = per_token_rewards(torch.tensor([1.]), lp, lp, torch.ones(1, 3), beta=0.1)  # r = [[0,0,1]]``
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    m = mask.to(logprobs.dtype)
    if (m.sum(1) == 0).any():
        raise ValueError("every rollout needs at least one continuation token (a row of mask is all 0)")
    kl = kl_penalty(logprobs, ref_logprobs) * m
    rewards = -beta * kl
    # The last action of each row: the highest position where the mask is 1.
    pos = torch.arange(m.shape[1], device=m.device).expand_as(m)
    last = (pos * m).argmax(dim=1)  # (B,)
    rewards = rewards.clone()
    rewards[torch.arange(m.shape[0], device=m.device), last] += scores.to(rewards.dtype)
    return rewards, kl


# ---------------------------------------------------------------------------------------------------------
# Generalised advantage estimation and the PPO losses
# ---------------------------------------------------------------------------------------------------------


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor | None = None,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al., 2016), (B, T) -> (advantages, returns), both (B, T).

    ``δ_t = r_t + γ V_{t+1} - V_t`` and ``A_t = δ_t + γλ A_{t+1}``; the episode ends after the last position
    where ``mask`` is 1 (there ``V_{t+1} = 0``). ``returns = advantages + values`` are the value targets.
    ``λ = 0`` gives the TD errors ``δ_t``; ``λ = γ = 1`` gives (sum of future rewards) - ``V_t``.
    Positions outside the mask get 0. Example: ``A, R = gae(torch.tensor([[0., 1.]]), torch.zeros(1, 2))``
    """
    if rewards.shape != values.shape or rewards.dim() != 2:
        raise ValueError(
            f"rewards and values must both be (batch, time), got {tuple(rewards.shape)} and "
            f"{tuple(values.shape)}"
        )
    if not 0 <= gamma <= 1:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if not 0 <= lam <= 1:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    m = _mask_like(rewards, mask)
    values = values * m
    T = rewards.shape[1]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])  # A_{t+1}
    for t in reversed(range(T)):
        nxt = m[:, t + 1] if t + 1 < T else torch.zeros_like(last)  # 0 past the end of the continuation
        v_next = values[:, t + 1] * nxt if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * v_next - values[:, t]
        last = (delta + gamma * lam * last * nxt) * m[:, t]
        adv[:, t] = last
    return adv, (adv + values) * m


def ppo_losses(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor | None = None,
    clip: float = 0.2,
    clip_value: float = 0.2,
) -> dict:
    """The clipped PPO losses (Schulman et al., 2017) on (B, T) tensors, averaged over the masked positions.

    policy: ``-min(ρ A, clip(ρ, 1-ε, 1+ε) A)`` with ``ρ = exp(log π - log π_old)``;
    value: ``½ max((V - R)², (clip(V, V_old ± ε_v) - R)²)``.
    Returns a dict of scalars: ``policy_loss``, ``value_loss``, ``clip_frac`` (share of clipped ratios),
    ``approx_kl`` (``½ E[(log ρ)²]``), ``ratio`` (mean ρ).
    Example: ``out = ppo_losses(lp, lp.detach(), A, V, V.detach(), R, mask)  # out["ratio"] == 1``
    """
    if clip <= 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    if clip_value <= 0:
        raise ValueError(f"clip_value must be > 0, got {clip_value}")
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    pg1 = -advantages * ratio
    pg2 = -advantages * torch.clamp(ratio, 1 - clip, 1 + clip)
    policy_loss = masked_mean(torch.max(pg1, pg2), mask)
    v_clipped = old_values + torch.clamp(values - old_values, -clip_value, clip_value)
    vf = torch.max((values - returns) ** 2, (v_clipped - returns) ** 2)
    value_loss = 0.5 * masked_mean(vf, mask)
    with torch.no_grad():
        clip_frac = masked_mean((pg2 > pg1).float(), mask)
        approx_kl = 0.5 * masked_mean(log_ratio**2, mask)
        ratio_mean = masked_mean(ratio, mask)
    return {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "clip_frac": clip_frac,
        "approx_kl": approx_kl,
        "ratio": ratio_mean,
    }


# ---------------------------------------------------------------------------------------------------------
# KL controllers
# ---------------------------------------------------------------------------------------------------------


class FixedKLController:
    """A constant KL coefficient β."""

    def __init__(self, beta: float):
        if beta < 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        self.value = float(beta)

    def update(self, kl: float, n_steps: int) -> float:
        return self.value


class AdaptiveKLController:
    """Ziegler et al. (2019): move β so that the measured KL tracks a ``target``.

    ``e = clip(KL / target - 1, -0.2, 0.2)`` and ``β ← β (1 + e n / horizon)``: β grows while the policy
    drifts further than the target from the reference, and shrinks while it stays closer.
    Example: ``c = AdaptiveKLController(0.1, target=2.0, horizon=1000); c.update(kl=4.0, n_steps=64)``
    """

    def __init__(self, beta: float, target: float, horizon: float = 10_000):
        if beta <= 0:
            raise ValueError(f"beta must be > 0 for the adaptive controller, got {beta}")
        if target <= 0:
            raise ValueError(f"target KL must be > 0, got {target}")
        if horizon <= 0:
            raise ValueError(f"horizon must be > 0, got {horizon}")
        self.value, self.target, self.horizon = float(beta), float(target), float(horizon)

    def update(self, kl: float, n_steps: int) -> float:
        e = max(-0.2, min(0.2, kl / self.target - 1))
        self.value *= 1 + e * n_steps / self.horizon
        return self.value


# ---------------------------------------------------------------------------------------------------------
# The policy, its value head, and the trainer
# ---------------------------------------------------------------------------------------------------------


@dataclass
class PolicyOutput:
    """What :class:`PolicyWithValue` returns: the language model's ``logits`` (B, T, V) and the value head's
    ``values`` (B, T), ``values[:, t]`` the return expected from the state that ends at token ``t``."""

    logits: torch.Tensor
    values: torch.Tensor


class PolicyWithValue(nn.Module):
    """The policy (a copy of a GPT) and a value head ``V(s_t) = w · h_t + b`` on the same trunk.

    ``forward(idx, attention_mask) -> PolicyOutput(logits (B, T, V), values (B, T))``.
    Example: ``policy = PolicyWithValue(gpt)``
    """

    def __init__(self, gpt: nn.Module):
        super().__init__()
        self.lm = copy.deepcopy(gpt)
        self.config = getattr(gpt, "config", None)
        d = int(self.config.d_model)
        self.value_head = nn.Linear(d, 1)
        nn.init.zeros_(self.value_head.weight)  # V = 0 at the start: the first advantages are the rewards
        nn.init.zeros_(self.value_head.bias)

    def forward(self, idx: torch.Tensor, attention_mask: torch.Tensor | None = None) -> PolicyOutput:
        out = self.lm(idx, attention_mask=attention_mask)  # logits (B, T, V), last_hidden_state (B, T, C)
        return PolicyOutput(
            out.logits, self.value_head(out.last_hidden_state).squeeze(-1)
        )  # (B, T, V), (B, T)


@dataclass
class PPOConfig:
    """Everything a PPO run needs. ``beta``: the KL coefficient β (0 turns the penalty off); ``target_kl``: when
    set, β adapts to keep the KL near it (:class:`AdaptiveKLController`)."""

    beta: float = 0.1
    target_kl: float | None = None
    kl_horizon: float = 1000.0
    batch_size: int = 64  # rollouts per iteration
    minibatch_size: int = 32
    ppo_epochs: int = 4
    lr: float = 5e-4
    max_new_tokens: int = 12
    temperature: float = 1.0
    gamma: float = 1.0
    lam: float = 0.95
    clip: float = 0.2
    clip_value: float = 0.2
    vf_coef: float = 0.1
    max_grad_norm: float = 1.0
    whiten_advantages: bool = True
    normalise_reward: bool = True
    sample_every: int = 5  # keep a few samples every this many iterations (for the sample browser)
    seed: int = 0

    def __post_init__(self):
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if self.target_kl is not None and self.target_kl <= 0:
            raise ValueError(f"target_kl must be > 0 or None, got {self.target_kl}")
        for name in ("batch_size", "minibatch_size", "ppo_epochs", "max_new_tokens", "sample_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.minibatch_size:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be a multiple of minibatch_size ({self.minibatch_size})"
            )


def _entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits[:, :-1].float(), dim=-1)
    return masked_mean(-(logp.exp() * logp).sum(-1), mask)


class PPOTrainer:
    """PPO against a reward model with a per-token KL penalty to a frozen reference model.

    ``gpt``: the starting language model (the policy and the reference are copies of it); ``reward_model``: a
    :class:`~lmnotes.rlhf.reward.RewardModel` on the same tokenizer; ``prompts``: strings; ``gold``: optional
    ``gold(text) -> float`` logged as ``gold`` (the true reward, which real RLHF never sees).
    :meth:`step` runs one iteration and returns its statistics; :meth:`train` runs many into a History with
    ``score``, ``kl``, ``objective`` (score - β·KL), ``entropy``, ``clip_frac``, ``approx_kl``, ``ratio``,
    ``value_loss``, ``beta``, ``length`` and ``gold``. ``samples`` keeps (iteration, prompt, continuation, score, gold).
    Example: ``trainer = PPOTrainer(gpt, rm, tok, prompts, PPOConfig(beta=0.1)); h = trainer.train(30)``
    """

    def __init__(
        self,
        gpt: nn.Module,
        reward_model: nn.Module,
        tokenizer,
        prompts: list[str],
        config: PPOConfig | None = None,
        gold=None,
    ):
        self.config = config = config or PPOConfig()
        check_same_tokenizer(getattr(reward_model, "tokenizer", None), tokenizer)
        self.tokenizer, self.gold = tokenizer, gold
        self.device = next(gpt.parameters()).device
        self.policy = PolicyWithValue(gpt).to(self.device)
        self.ref = copy.deepcopy(gpt).to(self.device)
        for p in self.ref.parameters():
            p.requires_grad_(False)
        self.rm = reward_model
        for p in self.rm.parameters():
            p.requires_grad_(False)
        (
            self.policy.eval(),
            self.ref.eval(),
            self.rm.eval(),
        )  # dropout off everywhere: log π must be deterministic
        bs = int(self.config.max_new_tokens)
        self.prompts = list(prompts)
        self.prompt_ids = encode_prompts(tokenizer, self.prompts, gpt.config.block_size, bs)
        self.kl_ctl = (
            AdaptiveKLController(max(config.beta, 1e-3), config.target_kl, config.kl_horizon)
            if config.target_kl is not None
            else FixedKLController(config.beta)
        )
        self.opt = torch.optim.AdamW(self.policy.parameters(), lr=config.lr, weight_decay=0.0)
        self.rng = random.Random(config.seed)
        self.gen = torch.Generator().manual_seed(config.seed)
        self.iteration = 0
        self.samples: list[dict] = []
        self.history = None
        if config.normalise_reward:
            self._normalise()

    def _normalise(self, n: int = 256):
        idx = [self.rng.randrange(len(self.prompts)) for _ in range(n)]
        conts = sample_continuations(
            self.ref,
            [self.prompt_ids[i] for i in idx],
            self.config.max_new_tokens,
            self.config.temperature,
            self.tokenizer.eos_id,
            generator=self.gen,
        )
        self.rm.normalise([self._full(self.prompts[i], c) for i, c in zip(idx, conts)])

    def _full(self, prompt: str, cont: list[int]) -> str:
        return f"{prompt} {self.tokenizer.decode(cont, skip_special_tokens=True)}".strip()

    @torch.no_grad()
    def rollout(self, n: int | None = None) -> tuple[Rollout, list[int]]:
        """Sample ``n`` prompts (with replacement) and one continuation each from the current policy."""
        n = n or self.config.batch_size
        idx = [self.rng.randrange(len(self.prompts)) for _ in range(n)]
        pids = [self.prompt_ids[i] for i in idx]
        conts = sample_continuations(
            self.policy.lm,
            pids,
            self.config.max_new_tokens,
            self.config.temperature,
            self.tokenizer.eos_id,
            generator=self.gen,
        )
        texts = [self._full(self.prompts[i], c) for i, c in zip(idx, conts)]
        ro = Rollout.build(
            pids, conts, self.tokenizer.pad_id, [self.prompts[i] for i in idx], texts, self.device
        )
        return ro, idx

    def step(self) -> dict:
        """One PPO iteration: rollouts, rewards, advantages, then ``ppo_epochs`` passes of minibatch updates."""
        c = self.config
        ro, _ = self.rollout()
        B, mb = len(ro), c.minibatch_size
        chunks = [slice(s, s + mb) for s in range(0, B, mb)]
        beta = self.kl_ctl.value
        with torch.no_grad():
            # Computed in the same minibatches the update uses, so before the first update the ratio is exactly 1.
            old_lp, old_v, ref_lp = [], [], []
            for sl in chunks:
                out = self.policy(ro.tokens[sl], ro.attention_mask[sl])
                old_lp.append(token_logprobs(out.logits, ro.tokens[sl], ro.attention_mask[sl]))
                old_v.append(out.values[:, :-1])
                ref_lp.append(token_logprobs(self.ref, ro.tokens[sl], ro.attention_mask[sl]))
            old_lp, old_v, ref_lp = torch.cat(old_lp), torch.cat(old_v), torch.cat(ref_lp)
            scores = self.rm(ro.tokens, ro.attention_mask).float()
            rewards, kl = per_token_rewards(scores, old_lp, ref_lp, ro.mask, beta)
            old_v = old_v * ro.mask
            adv, returns = gae(rewards, old_v, ro.mask, c.gamma, c.lam)
            if c.whiten_advantages:
                adv = whiten(adv, ro.mask)
        stats = {k: [] for k in ("policy_loss", "value_loss", "clip_frac", "approx_kl", "ratio", "entropy")}
        for epoch in range(c.ppo_epochs):
            order = list(range(B)) if epoch == 0 else self.rng.sample(range(B), B)
            for sl in chunks:
                rows = torch.tensor(order[sl], device=self.device)
                tok, am, m = ro.tokens[rows], ro.attention_mask[rows], ro.mask[rows]
                pol = self.policy(tok, am)
                logits = pol.logits
                lp = token_logprobs(logits, tok, am)
                out = ppo_losses(
                    lp,
                    old_lp[rows],
                    adv[rows],
                    pol.values[:, :-1] * m,
                    old_v[rows],
                    returns[rows],
                    m,
                    c.clip,
                    c.clip_value,
                )
                loss = out["policy_loss"] + c.vf_coef * out["value_loss"]
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), c.max_grad_norm)
                self.opt.step()
                for k in ("policy_loss", "value_loss", "clip_frac", "approx_kl", "ratio"):
                    stats[k].append(out[k].item())
                with torch.no_grad():
                    stats["entropy"].append(float(_entropy(logits, m)))
        kl_seq = kl.sum(1).mean().item()  # KL of a whole continuation, summed over its tokens
        self.kl_ctl.update(kl_seq, B)
        self.iteration += 1
        result = {
            "score": scores.mean().item(),
            "kl": kl_seq,
            "objective": scores.mean().item() - beta * kl_seq,
            "beta": beta,
            "length": ro.mask.sum(1).mean().item(),
            "first_ratio": stats["ratio"][0],
        }
        result.update({k: sum(v) / len(v) for k, v in stats.items()})
        if self.gold is not None:
            result["gold"] = sum(self.gold(t) for t in ro.texts) / B
        if (self.iteration - 1) % c.sample_every == 0:
            for i in range(min(4, B)):
                self.samples.append(
                    {
                        "iteration": self.iteration,
                        "text": ro.texts[i],
                        "score": scores[i].item(),
                        "gold": self.gold(ro.texts[i]) if self.gold else float("nan"),
                    }
                )
        return result

    def evaluate(self, n: int = 128) -> dict:
        """:func:`evaluate_policy` of the current policy on this trainer's prompts.
        Example: ``trainer.evaluate(256)``"""
        return evaluate_policy(
            self.policy.lm,
            self.ref,
            self.tokenizer,
            self.prompts,
            self.rm,
            self.gold,
            n,
            self.config.max_new_tokens,
            self.config.temperature,
            generator=self.gen,
        )

    def train(self, steps: int, progress: bool = False):
        """Run ``steps`` iterations; returns (and keeps as ``self.history``) a :class:`lmnotes.train.History`."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.history = self.history or History()
        it = range(steps)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=f"PPO β={self.config.beta}")
        for _ in it:
            r = self.step()
            for k, v in r.items():
                self.history.log(self.iteration, k, v)
        return self.history


@torch.no_grad()
def evaluate_policy(
    lm: nn.Module,
    ref: nn.Module,
    tokenizer,
    prompts: list[str],
    reward_model=None,
    gold=None,
    n: int = 128,
    max_new_tokens: int = 12,
    temperature: float = 1.0,
    seed: int = 0,
    generator: torch.Generator | None = None,
) -> dict:
    """Sample ``n`` continuations of random ``prompts`` from ``lm`` and measure them: ``kl`` (the summed per-token
    log-ratio to ``ref`` at the sampled tokens, an unbiased estimate of KL(π ‖ π_ref) of a continuation), and the
    mean ``score`` (reward model) and ``gold`` when given. Also returns the ``texts``.
    Example: ``evaluate_policy(policy, gpt, tok, prompts, rm, positive_and_well_formed)["gold"]``
    """
    g = generator or torch.Generator().manual_seed(seed)
    rng = random.Random(seed if generator is None else int(torch.randint(0, 2**31, (1,), generator=g)))
    idx = [rng.randrange(len(prompts)) for _ in range(n)]
    pids = encode_prompts(tokenizer, [prompts[i] for i in idx], lm.config.block_size, max_new_tokens)
    conts = sample_continuations(lm, pids, max_new_tokens, temperature, tokenizer.eos_id, generator=g)
    texts = [
        f"{prompts[i]} {tokenizer.decode(c, skip_special_tokens=True)}".strip() for i, c in zip(idx, conts)
    ]
    device = next(lm.parameters()).device
    ro = Rollout.build(pids, conts, tokenizer.pad_id, texts=texts, device=device)
    with eval_mode(lm):
        lp = torch.cat(
            [
                token_logprobs(lm, ro.tokens[s : s + 64], ro.attention_mask[s : s + 64])
                for s in range(0, n, 64)
            ]
        )
    ref_lp = torch.cat(
        [token_logprobs(ref, ro.tokens[s : s + 64], ro.attention_mask[s : s + 64]) for s in range(0, n, 64)]
    )
    out = {"kl": (kl_penalty(lp, ref_lp) * ro.mask).sum(1).mean().item(), "texts": texts}
    if reward_model is not None:
        out["score"] = (
            torch.cat(
                [
                    reward_model(ro.tokens[s : s + 64], ro.attention_mask[s : s + 64]).float()
                    for s in range(0, n, 64)
                ]
            )
            .mean()
            .item()
        )
    if gold is not None:
        out["gold"] = sum(gold(t) for t in texts) / n
    return out
