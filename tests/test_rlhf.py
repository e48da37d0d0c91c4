"""Unit tests of the RLHF pieces that need no language model: losses, GAE, KL, whitening, the labeller."""

import math

import pytest
import torch

from lmnotes.rlhf import (
    Labeller,
    bradley_terry_loss,
    dpo_loss,
    gae,
    kl_penalty,
    per_token_rewards,
    positive_and_well_formed,
    ppo_losses,
    ranking_loss,
    sentiment,
    token_logprobs,
    well_formed,
    whiten,
)
from lmnotes.rlhf.labeller import check_ranking, ranking_pairs
from lmnotes.rlhf.ppo import AdaptiveKLController, masked_mean
from lmnotes.rlhf.rollouts import Rollout


# ------------------------------------------------------------------------------------------- GAE
def test_gae_hand_computed():
    r = torch.tensor([[1.0, 0.0, 2.0]])
    v = torch.tensor([[0.5, 1.0, 1.5]])
    gamma, lam = 0.9, 0.5
    # δ_2 = 2 - 1.5 = 0.5 (terminal); δ_1 = 0 + .9*1.5 - 1 = 0.35; δ_0 = 1 + .9*1 - .5 = 1.4
    a2 = 0.5
    a1 = 0.35 + gamma * lam * a2
    a0 = 1.4 + gamma * lam * a1
    adv, ret = gae(r, v, gamma=gamma, lam=lam)
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2]]))
    assert torch.allclose(ret, adv + v)


def test_gae_lambda_zero_is_td_error():
    torch.manual_seed(0)
    r, v = torch.randn(3, 5), torch.randn(3, 5)
    adv, _ = gae(r, v, gamma=0.9, lam=0.0)
    v_next = torch.cat([v[:, 1:], torch.zeros(3, 1)], 1)
    assert torch.allclose(adv, r + 0.9 * v_next - v)


def test_gae_lambda_gamma_one_is_returns_minus_values():
    torch.manual_seed(1)
    r, v = torch.randn(2, 6), torch.randn(2, 6)
    adv, ret = gae(r, v, gamma=1.0, lam=1.0)
    returns = r.flip(1).cumsum(1).flip(1)  # sum of future rewards
    assert torch.allclose(adv, returns - v, atol=1e-6)
    assert torch.allclose(ret, returns, atol=1e-6)


def test_gae_mask_ends_the_episode_and_ignores_prompt_and_padding():
    # positions: prompt (0), actions (1, 2), padding (3)
    r = torch.tensor([[9.0, 0.0, 1.0, 7.0]])
    v = torch.tensor([[5.0, 0.2, 0.4, 3.0]])
    m = torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    adv, ret = gae(r, v, m, gamma=1.0, lam=1.0)
    assert torch.allclose(adv, torch.tensor([[0.0, 1.0 - 0.2, 1.0 - 0.4, 0.0]]))
    assert torch.allclose(ret, torch.tensor([[0.0, 1.0, 1.0, 0.0]]))


def test_gae_bad_input():
    with pytest.raises(ValueError, match="gamma"):
        gae(torch.zeros(1, 2), torch.zeros(1, 2), gamma=1.5)
    with pytest.raises(ValueError, match="batch, time"):
        gae(torch.zeros(2), torch.zeros(2))


# ------------------------------------------------------------------------------------------- KL and rewards
def test_kl_penalty_zero_when_equal_and_signs():
    lp = torch.randn(2, 4)
    for kind in ("k1", "k2", "k3"):
        assert torch.equal(kl_penalty(lp, lp.clone(), kind), torch.zeros(2, 4))
    assert torch.allclose(kl_penalty(torch.tensor([-1.0]), torch.tensor([-2.0])), torch.tensor([1.0]))
    assert (kl_penalty(torch.randn(50), torch.randn(50), "k3") >= 0).all()
    with pytest.raises(ValueError, match="kind"):
        kl_penalty(lp, lp, "k4")


def test_per_token_rewards_put_the_score_on_the_last_action():
    lp = torch.tensor([[0.0, -1.0, -1.0, 0.0]])
    ref = torch.tensor([[0.0, -2.0, -1.5, 0.0]])
    m = torch.tensor([[0.0, 1.0, 1.0, 0.0]])
    r, kl = per_token_rewards(torch.tensor([3.0]), lp, ref, m, beta=0.1)
    assert torch.allclose(kl, torch.tensor([[0.0, 1.0, 0.5, 0.0]]))
    assert torch.allclose(r, torch.tensor([[0.0, -0.1, 3.0 - 0.05, 0.0]]))
    with pytest.raises(ValueError, match="at least one continuation token"):
        per_token_rewards(torch.tensor([1.0]), lp, ref, torch.zeros(1, 4), beta=0.1)


# ------------------------------------------------------------------------------------------- PPO losses
def test_ppo_losses_known_values():
    lp_old = torch.zeros(1, 3)
    lp = torch.log(torch.tensor([[1.5, 0.5, 1.1]]))  # ratios 1.5, 0.5, 1.1
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    v = torch.tensor([[1.0, 0.0, 0.0]])
    v_old = torch.zeros(1, 3)
    ret = torch.tensor([[2.0, 0.0, 0.0]])
    out = ppo_losses(lp, lp_old, adv, v, v_old, ret, clip=0.2, clip_value=0.2)
    # per token: min(ρA, clip(ρ)A): 1.2 (clipped), 0.5 (unclipped, pessimistic), -1.1 -> loss = -(1.2+0.5-1.1)/3
    assert math.isclose(out["policy_loss"].item(), -(1.2 + 0.5 - 1.1) / 3, rel_tol=1e-5)
    # value: token 0: max((1-2)², (0.2-2)²) = 3.24, others 0 -> ½·3.24/3
    assert math.isclose(out["value_loss"].item(), 0.5 * 3.24 / 3, rel_tol=1e-5)
    assert math.isclose(out["clip_frac"].item(), 1 / 3, rel_tol=1e-5)
    assert math.isclose(out["ratio"].item(), (1.5 + 0.5 + 1.1) / 3, rel_tol=1e-5)


def test_ppo_losses_ratio_one_when_policy_unchanged():
    lp = torch.randn(4, 5)
    out = ppo_losses(
        lp, lp.clone(), torch.randn(4, 5), torch.zeros(4, 5), torch.zeros(4, 5), torch.zeros(4, 5)
    )
    assert out["ratio"].item() == 1.0 and out["approx_kl"].item() == 0.0 and out["clip_frac"].item() == 0.0


def test_whiten_and_masked_mean():
    x = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    m = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    w = whiten(x, m)
    assert w[0, 3] == 0
    assert abs(masked_mean(w, m).item()) < 1e-6
    assert math.isclose(masked_mean(w**2, m).item(), 1.0, rel_tol=1e-4)


def test_adaptive_kl_controller_moves_towards_target():
    c = AdaptiveKLController(0.1, target=2.0, horizon=100)
    assert c.update(kl=10.0, n_steps=10) > 0.1  # too far: β grows
    c = AdaptiveKLController(0.1, target=2.0, horizon=100)
    assert c.update(kl=0.5, n_steps=10) < 0.1  # too close: β shrinks
    with pytest.raises(ValueError, match="target"):
        AdaptiveKLController(0.1, target=0.0)


# ------------------------------------------------------------------------------------------- preference losses
def test_bradley_terry_loss():
    assert math.isclose(bradley_terry_loss(torch.zeros(3), torch.zeros(3)).item(), math.log(2), rel_tol=1e-6)
    assert math.isclose(
        bradley_terry_loss(torch.tensor([2.0]), torch.tensor([0.0])).item(),
        math.log(1 + math.exp(-2)),
        rel_tol=1e-6,
    )
    with pytest.raises(ValueError, match="same shape"):
        bradley_terry_loss(torch.zeros(2), torch.zeros(3))


def test_ranking_loss_averages_all_pairs():
    s = torch.tensor([[0.0, 1.0, 3.0]])
    order = torch.tensor([[2, 1, 0]])  # best first: 3 > 1 > 0
    pairs = [(3.0, 1.0), (3.0, 0.0), (1.0, 0.0)]
    want = sum(math.log(1 + math.exp(-(a - b))) for a, b in pairs) / 3
    assert math.isclose(ranking_loss(s, order).item(), want, rel_tol=1e-6)


def test_dpo_loss_is_log2_when_policy_is_reference():
    lp = torch.randn(5)
    lq = torch.randn(5)
    loss, rw, rl = dpo_loss(lp, lq, lp.clone(), lq.clone(), beta=0.1)
    assert math.isclose(loss.item(), math.log(2), rel_tol=1e-6)
    assert torch.equal(rw, torch.zeros(5)) and torch.equal(rl, torch.zeros(5))
    loss2, _, _ = dpo_loss(lp + 1, lq, lp, lq, beta=0.5)  # chosen more likely than under the reference
    assert loss2.item() < math.log(2)
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(lp, lq, lp, lq, beta=0.0)


# ------------------------------------------------------------------------------------------- log-probs and padding
def test_token_logprobs_from_logits_and_padding_zeroed():
    logits = torch.randn(1, 3, 5)
    idx = torch.tensor([[1, 2, 0]])
    am = torch.tensor([[1, 1, 0]])
    lp = token_logprobs(logits, idx, am)
    assert lp.shape == (1, 2)
    assert math.isclose(lp[0, 0].item(), torch.log_softmax(logits[0, 0], -1)[2].item(), rel_tol=1e-6)
    assert lp[0, 1].item() == 0.0


def test_rollout_masks_the_continuation():
    ro = Rollout.build([[5, 7], [5, 7, 8]], [[9, 6], [9]], pad_id=0)
    assert ro.tokens.tolist() == [[5, 7, 9, 6], [5, 7, 8, 9]]
    assert ro.mask.tolist() == [[0, 1, 1], [0, 0, 1]]
    with pytest.raises(ValueError, match="empty"):
        Rollout.build([[5]], [[]], pad_id=0)


# ------------------------------------------------------------------------------------------- labeller
def test_gold_functions():
    assert sentiment("the film was not bad .") == 1.0
    assert sentiment("the film was great and the music was great .") == 1.0  # saturates
    assert sentiment("i hated the plot .") == -1.0
    assert well_formed("the film was good .") == 1.0
    assert well_formed("good good good") == 0.0
    assert positive_and_well_formed("the film was great .") > positive_and_well_formed(
        "great great great great"
    )


def test_labeller_matches_bradley_terry():
    lab = Labeller(tau=0.5, seed=0)
    a, b = "the film was great .", "the film was dull ."
    p = lab.prob(a, b)
    assert math.isclose(p, 1 / (1 + math.exp(-2 / 0.5)))
    wins = sum(lab.rank([a, b])[0] == 0 for _ in range(4000)) / 4000
    assert abs(wins - p) < 0.02  # Plackett–Luce ranks give the Bradley–Terry pair probability
    assert lab.ceiling([{"prompt": "", "continuations": [a, b], "order": [0, 1]}]) == pytest.approx(p)


def test_labeller_swappable_gold():
    lab = Labeller(gold=lambda t: -len(t.split()), tau=0.1, seed=0)
    assert lab.rank(["a b c d e f", "a b"])[0] == 1


def test_bad_rankings_get_clear_errors():
    with pytest.raises(ValueError, match="at least 2"):
        check_ranking({"prompt": "x", "continuations": [], "order": []})
    with pytest.raises(ValueError, match="ties"):
        check_ranking({"prompt": "x", "continuations": ["a", "b", "c"], "order": [0, 0, 1]})
    with pytest.raises(ValueError, match="permutation"):
        check_ranking({"prompt": "x", "continuations": ["a", "b"], "order": [0, 2]})
    with pytest.raises(ValueError, match="tau"):
        Labeller(tau=0)
    assert len(ranking_pairs({"prompt": "p", "continuations": ["a", "b", "c"], "order": [2, 0, 1]})) == 3
