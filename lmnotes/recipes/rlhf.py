"""The RLHF chapter's reward model, trained once and shared: ``lmnotes.pretrained("reward-world")``.

Its trunk is ``gpt-world`` (:mod:`lmnotes.recipes.gpt`); its preference data are ``gpt-world``'s continuations
at several temperatures, ranked by a simulated labeller (:func:`lmnotes.rlhf.preference_data`).

Example::

    rm, tok = lmnotes.pretrained("reward-world")
    rm.accuracy, rm.ceiling          # held-out pairwise accuracy, and the labeller's own ceiling
"""

from __future__ import annotations

import torch

from ..rlhf.reward import RewardModel, pairwise_accuracy, train_reward_model
from ..rlhf.rollouts import preference_data
from ..zoo import pretrained, register

REWARD_CONFIG = {
    "base": "gpt-world",
    "n_train": 150,
    "n_test": 100,
    "temperatures": [0.7, 1.0, 1.5, 2.0],
    "tau": 0.3,
    "max_new_tokens": 12,
    "steps": 150,
    "lr": 1e-3,
    "batch_size": 16,
    "seed": 0,
}


def build_reward_model(config: dict):
    """The chapter's reward model: ``gpt-world`` as the trunk, trained on :func:`preference_data` rankings.

    Returns ``(reward_model, tokenizer)``; ``reward_model.accuracy`` and ``reward_model.ceiling`` hold its
    held-out pairwise accuracy and the labeller's ceiling on the same pairs.
    Example: ``rm, tok = lmnotes.pretrained("reward-world")``
    """
    c = {**REWARD_CONFIG, **config}
    gpt, tok = pretrained(c["base"])
    torch.manual_seed(c["seed"])
    train, test, labeller = preference_data(
        gpt,
        tok,
        c["n_train"],
        c["n_test"],
        tuple(c["temperatures"]),
        c["tau"],
        c["max_new_tokens"],
        c["seed"],
    )
    rm = RewardModel(gpt, tok)
    train_reward_model(rm, train, steps=c["steps"], lr=c["lr"], batch_size=c["batch_size"], seed=c["seed"])
    rm.accuracy = pairwise_accuracy(rm, test)
    rm.ceiling = labeller.ceiling(test)
    return rm.eval(), tok


# version 2: the preference data are sampled through GPT.generate and its key/value cache
register("reward-world", config=REWARD_CONFIG, version=2)(build_reward_model)
