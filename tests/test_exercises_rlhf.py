"""The RLHF exercises: each reference passes, and typical wrong answers get their specific message."""

import torch
import torch.nn.functional as F

from lmnotes.exercises import reference, run_check


def _msg(name, fn):
    status, msg = run_check(name, fn)
    assert status == "wrong", msg
    return msg


def test_references_pass():
    for name in ("bradley_terry_loss", "per_token_rewards", "gae"):
        status, msg = run_check(name, reference(name))
        assert status == "correct", msg


def test_stub_is_not_attempted():
    def stub(*a):
        raise NotImplementedError

    assert run_check("gae", stub)[0] == "not attempted"


def test_bradley_terry_wrong_answers():
    assert "rejected" in _msg("bradley_terry_loss", lambda c, r: -F.logsigmoid(r - c).mean())
    assert "mean" in _msg("bradley_terry_loss", lambda c, r: -F.logsigmoid(c - r).sum())
    assert "logsigmoid" in _msg("bradley_terry_loss", lambda c, r: -torch.log(torch.sigmoid(c - r)).mean())


def test_per_token_rewards_wrong_answers():
    def no_kl(score, lp, ref, mask, beta):
        out = torch.zeros_like(lp)
        last = (torch.arange(mask.shape[1]) * mask).argmax(1)
        out[torch.arange(len(score)), last] += score
        return out

    def plus(score, lp, ref, mask, beta):
        out = beta * (lp - ref) * mask
        last = (torch.arange(mask.shape[1]) * mask).argmax(1)
        out[torch.arange(len(score)), last] += score
        return out

    def first(score, lp, ref, mask, beta):
        out = -beta * (lp - ref) * mask
        out[torch.arange(len(score)), mask.argmax(1)] += score
        return out

    assert "forgot the KL" in _msg("per_token_rewards", no_kl)
    assert "subtract" in _msg("per_token_rewards", plus)
    assert "LAST" in _msg("per_token_rewards", first)


def test_gae_wrong_answers():
    def td_only(r, v, gamma, lam):
        v_next = torch.cat([v[1:], torch.zeros(1)])
        return r + gamma * v_next - v

    def mc(r, v, gamma, lam):
        T = len(r)
        return torch.tensor([sum(gamma ** (k - t) * r[k] for k in range(t, T)) for t in range(T)]) - v

    assert "TD errors" in _msg("gae", td_only)
    assert "Monte-Carlo" in _msg("gae", mc)


def test_dpo_reference_matches_the_package():
    from lmnotes.rlhf import dpo_loss as package_dpo_loss

    g = torch.Generator().manual_seed(0)
    pw, pl, rw, rl = (torch.randn(8, generator=g) * 3 for _ in range(4))
    ours = reference("dpo_loss")(pw, pl, rw, rl, 0.2)
    assert torch.allclose(ours, package_dpo_loss(pw, pl, rw, rl, beta=0.2)[0])
    assert run_check("dpo_loss", reference("dpo_loss"))[0] == "correct"


def test_dpo_wrong_answers():
    def m(a, b, c, d, k):
        return k * ((a - c) - (b - d))

    assert "subtract the reference" in _msg(
        "dpo_loss", lambda a, b, c, d, k: -F.logsigmoid(k * (a - b)).mean()
    )
    assert "favours the rejected" in _msg(
        "dpo_loss", lambda a, b, c, d, k: -F.logsigmoid(-m(a, b, c, d, k)).mean()
    )
    assert "β is missing" in _msg("dpo_loss", lambda a, b, c, d, k: -F.logsigmoid(m(a, b, c, d, 1.0)).mean())
    assert "do not divide" in _msg(
        "dpo_loss", lambda a, b, c, d, k: -F.logsigmoid(m(a, b, c, d, 1 / k)).mean()
    )
    assert "mean over the pairs" in _msg(
        "dpo_loss", lambda a, b, c, d, k: -F.logsigmoid(m(a, b, c, d, k)).sum()
    )
    assert "policy's log-probability first" in _msg(
        "dpo_loss", lambda a, b, c, d, k: -F.logsigmoid(m(c, d, a, b, k)).mean()
    )
    assert "logsigmoid" in _msg(
        "dpo_loss", lambda a, b, c, d, k: -torch.log(torch.sigmoid(m(a, b, c, d, k))).mean()
    )


def test_labeller_question_matches_the_package():
    from lmnotes.exercises.rlhf import LABELLER_PAIR
    from lmnotes.rlhf import Labeller, positive_and_well_formed

    a, b, tau = LABELLER_PAIR
    p = Labeller(positive_and_well_formed, tau=tau, seed=0).prob(a, b)
    assert abs(reference("labeller_probability") - p) < 0.001, p
    assert run_check("labeller_probability", p)[0] == "correct"
    assert "divide the difference by τ" in _msg("labeller_probability", 0.583)
    assert "prefers b" in _msg("labeller_probability", 1 - p)
    assert "strengths" in _msg("labeller_probability", 0.6)


def test_rlhf_questions():
    assert run_check("unpenalised_gold", "b")[0] == "correct"
    assert "what stops it" in _msg("unpenalised_gold", "c")
    assert run_check("dpo_start_loss", 0.693)[0] == "correct"
    assert "negative log" in _msg("dpo_start_loss", 0.5)
    assert "σ(0) = 1/2, not 1" in _msg("dpo_start_loss", 0)


def test_hints_point_at_the_idea():
    from lmnotes.exercises import EXERCISES

    for name in ("bradley_terry_loss", "per_token_rewards", "gae", "dpo_loss"):
        hint = EXERCISES[name].hint
        assert "F.logsigmoid" not in hint and "δ_t =" not in hint and "r_t =" not in hint, hint
