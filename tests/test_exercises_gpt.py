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
        return (
            torch.softmax(att, -1) @ v_cache,
            torch.cat([k_cache, k_new], 2),
            torch.cat([v_cache, v_new], 2),
        )

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


PROMPT, ANSWER, BOS, EOS = [21, 22, 23, 8, 9], [31, 32], 5, 6


def test_instruction_example_reference():
    inputs, targets = reference("instruction_example")(PROMPT, ANSWER, BOS, EOS)
    assert inputs == [BOS] + PROMPT + ANSWER and targets == [-100] * 5 + ANSWER + [EOS]
    assert status("instruction_example", reference("instruction_example"))[0] == "correct"


def _ids(p, a, bos, eos):
    return [bos] + p + a + [eos]


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            lambda p, a, bos, eos: (_ids(p, a, bos, eos)[:-1], _ids(p, a, bos, eos)[1:]),
            "trained to write the prompt",
        ),
        (lambda p, a, bos, eos: (_ids(p, a, bos, eos)[:-1], [-100] * (len(p) + 1) + a), "not shifted"),
        (
            lambda p, a, bos, eos: (_ids(p, a, bos, eos)[:-1], [-100] * (len(p) + 1) + a[1:] + [eos]),
            "first answer token is never predicted",
        ),
        (
            lambda p, a, bos, eos: (_ids(p, a, bos, eos)[:-1], [-100] * (len(p) - 1) + [p[-1]] + a + [eos]),
            "one prompt token is still a target",
        ),
        (
            lambda p, a, bos, eos: (_ids(p, a, bos, eos), [-100] * len(p) + a + [eos, -100]),
            "drop the last token",
        ),
        (lambda p, a, bos, eos: (_ids(p, a, bos, eos)[:-1], [-100] * len(p) + a + [-100]), "[EOS]"),
        (lambda p, a, bos, eos: (_ids(p, a, bos, eos)[:-1], [-100] * len(p) + a), "one entry per position"),
    ],
)
def test_instruction_example_mistakes(wrong, words):
    s, msg = status("instruction_example", wrong)
    assert s == "wrong" and words in msg, msg


def test_instruction_example_agrees_with_the_package():
    """The exercise's targets are the ones `instruction_batches` trains on."""
    from lmnotes.data import WordTokenizer
    from lmnotes.recipes.gpt import instruction_batches

    row = {"prompt": "is a robin a bird ?", "answer": "yes", "text": "is a robin a bird ? answer : yes"}
    tok = WordTokenizer().train([row["text"]])
    x, y, m = instruction_batches([row], tok, batch_size=1)(0)
    prompt = tok.encode(row["prompt"] + " answer :")
    inputs, targets = reference("instruction_example")(
        prompt, tok.encode(row["answer"]), tok.bos_id, tok.eos_id
    )
    assert x[0].tolist() == inputs and y[0].tolist() == targets


def test_gpt_questions():
    assert status("temperature_truth", "c")[0] == "correct"
    s, msg = status("temperature_truth", "a")
    assert s == "wrong" and "unlikely words" in msg
    assert status("multitask_vs_specialists", "a")[0] == "correct"
    s, msg = status("multitask_vs_specialists", "b")
    assert s == "wrong" and "a fifth of the steps" in msg
