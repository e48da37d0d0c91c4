"""RLHF in four parts: a simulated labeller, rollouts, a reward model, and PPO with a KL penalty (plus DPO).

    from lmnotes.rlhf import Labeller, preference_data, RewardModel, train_reward_model, PPOTrainer, PPOConfig

The modules, in the order the data flows: :mod:`~lmnotes.rlhf.labeller` (a preference over texts; no model),
:mod:`~lmnotes.rlhf.rollouts` (sampling through ``GPT.generate``, rankings), :mod:`~lmnotes.rlhf.reward`,
:mod:`~lmnotes.rlhf.ppo`, :mod:`~lmnotes.rlhf.dpo`. This namespace holds what the chapter's reader calls; the
building blocks (KL controllers, the rollout batch, the value head, ...) are in the modules.
See ``book/05-rlhf`` for the chapter that runs them.
"""

from .dpo import dpo_loss, preference_pairs, sequence_logprobs, train_dpo
from .labeller import Labeller, positive_and_well_formed, review_prompts, sentiment, well_formed
from .ppo import (
    PPOConfig,
    PPOTrainer,
    evaluate_policy,
    gae,
    kl_penalty,
    per_token_rewards,
    ppo_losses,
    whiten,
)
from .reward import RewardModel, bradley_terry_loss, pairwise_accuracy, ranking_loss, train_reward_model
from .rollouts import collect_rankings, preference_data, sample_continuations, token_logprobs

__all__ = [
    # the labeller
    "Labeller",
    "sentiment",
    "well_formed",
    "positive_and_well_formed",
    "review_prompts",
    # rollouts and preference data
    "sample_continuations",
    "token_logprobs",
    "collect_rankings",
    "preference_data",
    # the reward model
    "RewardModel",
    "bradley_terry_loss",
    "ranking_loss",
    "train_reward_model",
    "pairwise_accuracy",
    # PPO
    "PPOConfig",
    "PPOTrainer",
    "evaluate_policy",
    "kl_penalty",
    "per_token_rewards",
    "gae",
    "whiten",
    "ppo_losses",
    # DPO
    "dpo_loss",
    "sequence_logprobs",
    "preference_pairs",
    "train_dpo",
]
