"""RLHF in three parts: a simulated labeller, a reward model, and PPO with a KL penalty (plus DPO).

    from lmnotes.rlhf import Labeller, collect_rankings, RewardModel, train_reward_model, PPOTrainer, PPOConfig

See ``book/05-rlhf`` for the chapter that runs them.
"""
from .labeller import (Labeller, preference_data, check_ranking, collect_rankings, positive_and_well_formed, ranking_pairs,
                       review_prompts, sentiment, well_formed, world_bigrams)
from .ppo import (AdaptiveKLController, FixedKLController, PolicyWithValue, PPOConfig, PPOTrainer, Rollout,
                  encode_prompts, evaluate_policy, gae, kl_penalty, masked_mean, per_token_rewards, ppo_losses, sample,
                  token_logprobs, whiten)
from .reward import (REWARD_CONFIG, RewardModel, build_reward_model, bradley_terry_loss, check_same_tokenizer, pairwise_accuracy, ranking_loss,
                     train_reward_model)
from .dpo import dpo_loss, preference_pairs, sequence_logprobs, train_dpo

__all__ = ["preference_data", "REWARD_CONFIG", "build_reward_model", "Labeller", "check_ranking", "collect_rankings", "positive_and_well_formed", "ranking_pairs",
           "review_prompts", "sentiment", "well_formed", "world_bigrams", "AdaptiveKLController", "FixedKLController",
           "PolicyWithValue", "PPOConfig", "PPOTrainer", "Rollout", "encode_prompts", "evaluate_policy", "gae", "kl_penalty",
           "masked_mean", "per_token_rewards", "ppo_losses", "sample", "token_logprobs", "whiten", "RewardModel",
           "bradley_terry_loss", "check_same_tokenizer", "pairwise_accuracy", "ranking_loss", "train_reward_model",
           "dpo_loss", "preference_pairs", "sequence_logprobs", "train_dpo"]
