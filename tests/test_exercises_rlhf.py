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
