"""RLHF on a tiny GPT trained for a few seconds on the world's reviews: reward model, PPO, DPO, padding, bad input."""

import math
import random

import pytest
import torch

from lmnotes.data.batching import pad_batch
from lmnotes.data.tokenizers import WordTokenizer
from lmnotes.data.world import World
from lmnotes.models.gpt import GPT, GPTConfig
from lmnotes.rlhf import (
    Labeller,
    PPOConfig,
    PPOTrainer,
    RewardModel,
    collect_rankings,
    dpo_loss,
    pairwise_accuracy,
    positive_and_well_formed,
    preference_pairs,
    review_prompts,
    sequence_logprobs,
    token_logprobs,
    train_dpo,
    train_reward_model,
)
from lmnotes.rlhf.rollouts import Rollout


@pytest.fixture(scope="module")
def lm():
    """A 1-layer GPT that has read 2000 reviews for 150 steps: it writes review-like sentences."""
    torch.manual_seed(0)
    w = World(0)
    texts = [w.review()["text"] for _ in range(2000)]
    tok = WordTokenizer().train(texts + [w.sentence()["text"] for _ in range(500)])
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, d_model=48))
    ids = [tok.encode(t, add_special_tokens=True) for t in texts]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(0)
    for _ in range(150):
        b = pad_batch(rng.sample(ids, 32), pad_id=tok.pad_id)
        x, am = b["input_ids"], b["attention_mask"]
        y = x[:, 1:].clone()
        y[am[:, 1:] == 0] = -100
        loss = model(x[:, :-1], targets=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), tok


@pytest.fixture(scope="module")
def preferences(lm):
    model, tok = lm
    lab = Labeller(tau=0.3, seed=0)
    prompts = review_prompts(160, seed=1)
    gens = {f"T={t}": (model, t) for t in (0.7, 1.0, 1.5, 2.0)}
    data = collect_rankings(prompts, gens, tok, lab, max_new_tokens=10, seed=0)
    return data[:100], data[100:], lab


@pytest.fixture(scope="module")
def reward_model(lm, preferences):
    model, tok = lm
    train, _, _ = preferences
    rm = RewardModel(model, tok)
    train_reward_model(rm, train, steps=80, lr=1e-3, batch_size=16)
    return rm


def test_rankings_have_the_lecture_shape(preferences):
    train, _, _ = preferences
    r = train[0]
    assert len(r["continuations"]) == 4 and sorted(r["order"]) == [0, 1, 2, 3]
    assert len(set(r["sources"])) == 4
    assert max(r["scores"]) == 1.0 and min(r["scores"]) == 0.0
    assert r["scores"][r["order"][0]] == 1.0


def test_reward_model_beats_chance_and_not_the_ceiling(reward_model, preferences):
    _, test, lab = preferences
    acc, ceiling = pairwise_accuracy(reward_model, test), lab.ceiling(test)
    n_pairs = len(test) * 6
    noise = 3 * math.sqrt(0.25 / n_pairs)
    assert acc > 0.5 + noise, f"reward model accuracy {acc:.3f} is not above chance"
    assert acc <= ceiling + noise, (
        f"accuracy {acc:.3f} beats the labeller's ceiling {ceiling:.3f} by more than noise"
    )


def test_padding_changes_neither_scores_nor_logprobs(lm, reward_model):
    model, tok = lm
    texts = ["the film was great .", "i loved the story and the music was fun ."]
    together = reward_model.score(texts)
    alone = torch.cat([reward_model.score([t]) for t in texts])
    assert torch.allclose(together, alone, atol=1e-5)
    ids = [[tok.bos_id] + tok.encode(t) for t in texts]
    b = pad_batch(ids, pad_id=tok.pad_id)
    lp = token_logprobs(model, b["input_ids"], b["attention_mask"])
    lp0 = token_logprobs(model, torch.tensor([ids[0]]), torch.ones(1, len(ids[0]), dtype=torch.long))
    n = len(ids[0]) - 1
    assert torch.allclose(lp[0, :n], lp0[0], atol=1e-5)
    assert (lp[0, n:] == 0).all()


def test_kl_exactly_zero_and_ratio_exactly_one_before_the_first_update(lm, reward_model):
    model, tok = lm
    trainer = PPOTrainer(
        model,
        reward_model,
        tok,
        review_prompts(20, seed=3),
        PPOConfig(beta=0.1, batch_size=16, minibatch_size=8, ppo_epochs=1, max_new_tokens=8),
    )
    stats = trainer.step()
    assert stats["kl"] == 0.0
    assert stats["first_ratio"] == 1.0


class GoldReward(torch.nn.Module):
    """The labeller's hidden gold preference, used as the reward: PPO's optimisation without a learned proxy."""

    def __init__(self, tokenizer, gold):
        super().__init__()
        self.tokenizer, self.gold = tokenizer, gold

    def forward(self, tokens, attention_mask):
        return torch.tensor(
            [
                self.gold(self.tokenizer.decode(t[m.bool()].tolist(), skip_special_tokens=True))
                for t, m in zip(tokens, attention_mask)
            ]
        )


def test_short_ppo_run_raises_the_gold_reward(lm):
    # Measured with seeds 0/1/2 (two CPU threads): gold rose from about 0.0 to 0.79 / 0.74 / 0.83.
    model, tok = lm
    trainer = PPOTrainer(
        model,
        GoldReward(tok, positive_and_well_formed),
        tok,
        review_prompts(100, seed=3),
        PPOConfig(
            beta=0.1,
            batch_size=32,
            minibatch_size=16,
            lr=1e-3,
            max_new_tokens=10,
            seed=0,
            normalise_reward=False,
        ),
        gold=positive_and_well_formed,
    )
    before = trainer.evaluate(128)
    h = trainer.train(15)
    after = trainer.evaluate(128)
    assert after["gold"] > before["gold"] + 0.3, (
        f"gold reward did not rise: {before['gold']} -> {after['gold']}"
    )
    assert h.steps("kl")[-1] == 15


def test_short_ppo_run_raises_the_learned_reward(lm, reward_model):
    # Against a reward model learned from 100 rankings the score always rises (seeds 0/1/2: -0.3 -> 1.7 to 2.1);
    # whether the gold reward follows depends on the run: the small reward model can be exploited (see ppo.ipynb).
    model, tok = lm
    trainer = PPOTrainer(
        model,
        reward_model,
        tok,
        review_prompts(100, seed=3),
        PPOConfig(beta=0.1, batch_size=32, minibatch_size=16, lr=1e-3, max_new_tokens=10, seed=0),
        gold=positive_and_well_formed,
    )
    before = trainer.evaluate(128)
    trainer.train(15)
    after = trainer.evaluate(128)
    assert after["score"] > before["score"] + 0.5, (
        f"learned reward did not rise: {before['score']} -> {after['score']}"
    )


def test_dpo_starts_at_log2_and_learns_the_preferences(lm, preferences):
    model, tok = lm
    train, _, _ = preferences
    policy, h = train_dpo(model, train, tok, beta=0.5, steps=20, lr=1e-3, batch_size=16, log_every=1)
    assert h["loss"][0] == pytest.approx(math.log(2), abs=1e-6)  # the first step: policy == reference

    def full_loss(pol):  # the DPO loss over every training pair
        pairs = preference_pairs(train, tok)
        ro = Rollout.build(
            [p for p, _, _ in pairs] * 2, [c for _, c, _ in pairs] + [r for _, _, r in pairs], tok.pad_id
        )
        with torch.no_grad():
            lp = sequence_logprobs(pol, ro.tokens, ro.attention_mask, ro.mask)
            ref = sequence_logprobs(model, ro.tokens, ro.attention_mask, ro.mask)
        n = len(pairs)
        return dpo_loss(lp[:n], lp[n:], ref[:n], ref[n:], beta=0.5)[0].item()

    assert full_loss(model) == pytest.approx(math.log(2), abs=1e-6)
    assert full_loss(policy) < math.log(2) - 0.02
    ro = Rollout.build([[tok.bos_id]], [tok.encode("the film was great .")], tok.pad_id)
    lp = sequence_logprobs(model, ro.tokens, ro.attention_mask, ro.mask)
    assert dpo_loss(lp, lp, lp, lp)[0].item() == pytest.approx(math.log(2))


def test_bad_input_gets_clear_errors(lm, reward_model):
    model, tok = lm
    with pytest.raises(ValueError, match="longer than the model's context of 32"):
        PPOTrainer(model, reward_model, tok, ["the film was " + "very " * 40], PPOConfig(max_new_tokens=8))
    other = WordTokenizer().train(["a completely different vocabulary ."])
    with pytest.raises(ValueError, match="different tokenizer"):
        PPOTrainer(model, reward_model, other, ["the film was"], PPOConfig(max_new_tokens=8))
    with pytest.raises(ValueError, match="empty"):
        train_reward_model(reward_model, [], steps=1)
    with pytest.raises(ValueError, match="ties"):
        train_reward_model(
            reward_model, [{"prompt": "x", "continuations": ["a", "b"], "order": [1, 1]}], steps=1
        )
    with pytest.raises(ValueError, match="prompts is empty"):
        PPOTrainer(model, reward_model, tok, [], PPOConfig(max_new_tokens=8))


def test_adaptive_kl_controller_in_the_trainer(lm, reward_model):
    model, tok = lm
    trainer = PPOTrainer(
        model,
        reward_model,
        tok,
        review_prompts(20, seed=3),
        PPOConfig(
            beta=0.1,
            target_kl=0.5,
            kl_horizon=10,
            batch_size=16,
            minibatch_size=8,
            ppo_epochs=1,
            max_new_tokens=8,
            lr=3e-3,
        ),
    )
    h = trainer.train(3)
    assert h["beta"][0] == 0.1 and h["beta"][-1] != 0.1  # β moves with the measured KL
    for name in ("score", "kl", "objective", "entropy", "clip_frac", "approx_kl", "ratio"):
        assert name in h.keys(), name


def test_the_reward_model_is_registered():
    import lmnotes

    assert "reward-world" in lmnotes.zoo.available()


def test_rollouts_sample_through_generate_and_stop_at_eos():
    from lmnotes.rlhf.rollouts import encode_prompts, sample_continuations

    tok = WordTokenizer().train(["the film was good .", "i loved the film .", "a robin can fly ."])
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, d_model=32))
    prompts = encode_prompts(
        tok, ["the film was", "i loved the film", "the film was"], gpt.config.block_size, 6
    )
    conts = sample_continuations(
        gpt, prompts, 6, eos_id=tok.eos_id, generator=torch.Generator().manual_seed(3)
    )
    assert len(conts) == 3 and all(1 <= len(c) <= 6 for c in conts)
    assert all(tok.eos_id not in c[:-1] for c in conts)  # cut right after [EOS]
    # the same draws as GPT.generate on each group of prompts of one length, shortest first
    g = torch.Generator().manual_seed(3)
    short = gpt.generate(torch.tensor([prompts[0], prompts[2]]), 6, stop_token=tok.eos_id, generator=g)
    for row, i in zip(short[:, len(prompts[0]) :].tolist(), (0, 2)):
        assert row[: len(conts[i])] == conts[i]
    with pytest.raises(ValueError, match="context"):
        sample_continuations(gpt, prompts, 14)
