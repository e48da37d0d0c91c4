"""Each generative-chapter exercise: the reference passes, a typical mistake gets its specific message."""
import math

import pytest
import torch

from lmnotes.exercises import reference, run_check


def status(name, fn):
    return run_check(name, fn)


@pytest.mark.parametrize("name", ["causal_mask", "top_p_filter", "cached_attention_step"])
def test_reference_passes(name):
    assert status(name, reference(name)) == ("correct", f"{name}: Correct!")


@pytest.mark.parametrize("name", ["causal_mask", "top_p_filter", "cached_attention_step"])
def test_unattempted_stub(name):
    def stub(*args):
        raise NotImplementedError

    assert status(name, stub)[0] == "not attempted"


def test_causal_mask_transposed():
    s, msg = status("causal_mask", lambda T: torch.ones(T, T, dtype=torch.bool).triu())
    assert s == "wrong" and "transposed" in msg


def test_causal_mask_without_diagonal():
    s, msg = status("causal_mask", lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1))
    assert s == "wrong" and "itself" in msg


def test_causal_mask_float():
    s, msg = status("causal_mask", lambda T: torch.ones(T, T).tril())
    assert s == "wrong" and "boolean" in msg


def test_top_p_drops_the_crossing_token():
    def wrong(logits, p):
        sl, order = torch.sort(logits, dim=-1, descending=True)
        cum = torch.softmax(sl, -1).cumsum(-1)
        drop = cum > p  # drops the token that crosses p
        drop[..., 0] = False
        return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))

    s, msg = status("top_p_filter", wrong)
    assert s == "wrong" and "takes the sum past p" in msg


def test_top_p_returns_probabilities():
    s, msg = status("top_p_filter", lambda logits, p: torch.softmax(logits, -1))
    assert s == "wrong" and "probabilities" in msg


def test_top_p_unsorted():
    def wrong(logits, p):  # cumulative sum in the original order
        probs = torch.softmax(logits, -1)
        before = probs.cumsum(-1) - probs
        return logits.masked_fill(before >= p, float("-inf"))

    s, msg = status("top_p_filter", wrong)
    assert s == "wrong" and "sort" in msg


def test_cached_step_forgets_the_new_key():
    def wrong(q, k_new, v_new, k_cache, v_cache):
        att = q @ k_cache.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return torch.softmax(att, -1) @ v_cache, torch.cat([k_cache, k_new], 2), torch.cat([v_cache, v_new], 2)

    s, msg = status("cached_attention_step", wrong)
    assert s == "wrong" and "see itself" in msg


def test_cached_step_without_scaling():
    def wrong(q, k_new, v_new, k_cache, v_cache):
        K, V = torch.cat([k_cache, k_new], 2), torch.cat([v_cache, v_new], 2)
        return torch.softmax(q @ K.transpose(-2, -1), -1) @ V, K, V

    s, msg = status("cached_attention_step", wrong)
    assert s == "wrong" and "sqrt" in msg


def test_cached_step_wrong_order():
    def wrong(q, k_new, v_new, k_cache, v_cache):
        K, V = torch.cat([k_new, k_cache], 2), torch.cat([v_new, v_cache], 2)
        return torch.softmax(q @ K.transpose(-2, -1) / math.sqrt(q.shape[-1]), -1) @ V, K, V

    s, msg = status("cached_attention_step", wrong)
    assert s == "wrong" and "old ones followed by the new" in msg
