"""Exercises for "Generative language models": the causal mask, top-p filtering, one cached decoding step, the
targets of an instruction (loss on the answer only); questions on temperature and on multitask training."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Wrong, exercise, question


@exercise(
    "causal_mask",
    hint="row i is the query: it may look at the columns j that are not in its future, "
    "itself included. Which triangle of the matrix is that?",
)
def check_causal_mask(fn):
    for T in (1, 4, 7):
        got = fn(T)
        if not torch.is_tensor(got):
            raise Wrong(f"return a tensor, got {type(got).__name__}")
        if tuple(got.shape) != (T, T):
            raise Wrong(f"for T={T} the mask should have shape ({T}, {T}), yours has {tuple(got.shape)}")
        if got.dtype != torch.bool:
            raise Wrong(
                f"return a boolean mask (True = may attend), yours has dtype {got.dtype}; "
                "compare, or call .bool()"
            )
        want = torch.ones(T, T, dtype=torch.bool).tril()
        if torch.equal(got, want):
            continue
        if torch.equal(got, want.T):
            raise Wrong(
                "your mask is transposed: row i is the query, and it must see the columns j <= i "
                "(the past), not j >= i (the future)"
            )
        if torch.equal(got, want & ~torch.eye(T, dtype=torch.bool)):
            raise Wrong("each position must be allowed to look at itself: keep the diagonal")
        if got.all():
            raise Wrong("your mask allows everything: position i must not see positions after it")
        raise Wrong(f"for T={T} the mask should be\n{want.int()}\nyours is\n{got.int()}")


@check_causal_mask.reference
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril()  # row i (query) sees columns j <= i


@exercise(
    "top_p_filter",
    hint="think of the tokens from the most to the least likely: a token belongs to the "
    "nucleus while the tokens more likely than it have not yet reached p. The answer "
    "must come back in the original token order",
)
def check_top_p_filter(fn):
    cases = [
        ([0.1, 0.5, 0.3, 0.1], 0.45, [False, True, False, False]),
        ([0.1, 0.5, 0.3, 0.1], 0.7, [False, True, True, False]),
        ([0.1, 0.5, 0.3, 0.1], 0.85, None),  # three tokens, the tie at 0.1 broken either way
        ([0.25, 0.25, 0.5], 1.0, [True, True, True]),
        ([0.05, 0.9, 0.05], 0.2, [False, True, False]),
    ]
    for probs, p, want in cases:
        logits = torch.tensor([probs]).log()
        got = fn(logits.clone(), p)
        if not torch.is_tensor(got) or got.shape != logits.shape:
            raise Wrong(
                f"return logits of the same shape {tuple(logits.shape)}, with -inf for the dropped tokens"
            )
        if (got.isfinite() & (got != logits)).any():
            raise Wrong(
                "change only the dropped tokens (to -inf); the kept ones must keep their logits "
                "(did you return probabilities?)"
            )
        kept = got.isfinite()[0].tolist()
        if want is None:
            if sum(kept) != 3 or not kept[1] or not kept[2]:
                raise Wrong(
                    f"with probabilities {probs} and p={p} three tokens are needed (0.5 + 0.3 < {p}); "
                    f"you kept {kept}"
                )
            continue
        if kept != want:
            n_want, n_got = sum(want), sum(kept)
            if n_got == n_want - 1:
                raise Wrong(
                    f"with probabilities {probs} and p={p} you kept {kept}: you dropped the token that "
                    "takes the sum past p; keep it (the nucleus is the smallest set whose mass is >= p)"
                )
            if n_got == 0:
                raise Wrong("you dropped every token: the most likely one must always be kept")
            raise Wrong(
                f"with probabilities {probs} and p={p} the kept tokens should be {want}, yours are {kept} "
                "(sort by probability first, and put the decisions back in the original order)"
            )
    batch = torch.tensor([[0.6, 0.3, 0.1], [0.1, 0.3, 0.6]]).log()
    if fn(batch.clone(), 0.8).isfinite().tolist() != [[True, True, False], [False, True, True]]:
        raise Wrong("on a batch (B, V) each row must be filtered on its own (sort along the last dimension)")


@check_top_p_filter.reference
def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    before = probs.cumsum(-1) - probs  # mass of the more likely tokens
    drop = (before >= p).scatter(-1, order, before >= p)  # back to the original order
    return logits.masked_fill(drop, float("-inf"))


def _attention(q, k, v):
    att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return F.softmax(att, dim=-1) @ v


@exercise(
    "cached_attention_step",
    hint="the newest token attends to every earlier position and to itself: where "
    "must its own key and value be before attention is computed? And is there "
    "any future it could see?",
)
def check_cached_attention_step(fn):
    g = torch.Generator().manual_seed(0)
    B, nh, T, hs = 2, 3, 6, 8
    q, k, v = (torch.randn(B, nh, T, hs, generator=g) for _ in range(3))
    # what full causal attention gives at the last position
    full = F.scaled_dot_product_attention(q, k, v, is_causal=True)[:, :, -1:]  # (B, nh, 1, hs)
    out = fn(q[:, :, -1:], k[:, :, -1:], v[:, :, -1:], k[:, :, :-1].clone(), v[:, :, :-1].clone())
    if not isinstance(out, tuple) or len(out) != 3:
        raise Wrong(
            "return three things: the output (B, nh, 1, hs), and the keys and values with the new "
            "position appended"
        )
    y, K, V = out
    if tuple(K.shape) != (B, nh, T, hs) or tuple(V.shape) != (B, nh, T, hs):
        raise Wrong(
            f"the updated cache should hold {T} positions: shape {(B, nh, T, hs)}, yours has keys "
            f"{tuple(K.shape)} and values {tuple(V.shape)} (append along dim=2)"
        )
    if not torch.allclose(K, k) or not torch.allclose(V, v):
        raise Wrong("the updated keys/values should be the old ones followed by the new ones (in that order)")
    if tuple(y.shape) != (B, nh, 1, hs):
        raise Wrong(f"the output should have shape {(B, nh, 1, hs)}, yours has {tuple(y.shape)}")
    if torch.allclose(y, full, atol=1e-5):
        return
    if torch.allclose(y, _attention(q[:, :, -1:], k[:, :, :-1], v[:, :, :-1]), atol=1e-5):
        raise Wrong(
            "your query attends to the cached positions only: append the new key/value first, the token "
            "must also see itself"
        )
    if torch.allclose(y, F.softmax(q[:, :, -1:] @ k.transpose(-2, -1), -1) @ v, atol=1e-5):
        raise Wrong("divide the scores by sqrt(hs) before the softmax")
    if torch.allclose(y, v[:, :, :1], atol=1e-5):
        raise Wrong(
            "your query sees only the first position: a causal mask for the new token is all True "
            "(it comes last), not the first row of tril"
        )
    raise Wrong("the output differs from full causal attention at the last position")


@check_cached_attention_step.reference
def cached_attention_step(q, k_new, v_new, k_cache, v_cache):
    K = torch.cat([k_cache, k_new], dim=2)  # (B, nh, t + 1, hs)
    V = torch.cat([v_cache, v_new], dim=2)
    att = (
        q @ K.transpose(-2, -1) / math.sqrt(q.shape[-1])
    )  # (B, nh, 1, t + 1): the newest token sees everything
    return torch.softmax(att, dim=-1) @ V, K, V


# ------------------------------------------------------------------------------- the targets of an instruction
_BOS, _EOS, _IGN = 5, 6, -100


@exercise(
    "instruction_example",
    hint="the model reads [BOS] prompt answer and predicts, at each position, the "
    "token after it; only the predictions of the answer's tokens, and of the end, "
    "should count",
)
def check_instruction_example(fn):
    prompt, answer = [21, 22, 23, 8, 9], [31, 32]  # `is a robin a bird ? answer :` and `yes` (ids)
    out = fn(list(prompt), list(answer), _BOS, _EOS)
    if not isinstance(out, tuple) or len(out) != 2:
        raise Wrong("return a pair (inputs, targets)")
    inputs, targets = (list(map(int, torch.as_tensor(x).tolist())) for x in out)
    ids = [_BOS] + prompt + answer + [_EOS]
    want_in, want_tg = instruction_example(prompt, answer, _BOS, _EOS)
    if len(inputs) != len(targets):
        raise Wrong(
            f"inputs and targets must have one entry per position; yours have {len(inputs)} and "
            f"{len(targets)}"
        )
    if inputs == ids:
        raise Wrong(
            "the inputs end with [EOS], but nothing comes after [EOS] to predict: the inputs drop the "
            "last token"
        )
    if inputs != want_in:
        raise Wrong(f"the model reads [BOS], the prompt and the answer: inputs {want_in}, yours are {inputs}")
    if targets == want_tg:
        return
    if _IGN not in targets:
        raise Wrong(
            "every target is a real token, so the model is also trained to write the prompt; set the "
            "targets of the prompt's positions to -100 so the loss is on the answer only"
        )
    unshifted = [_IGN] * (len(prompt) + 1) + answer
    if targets == unshifted or targets[len(prompt) + 1 :] == answer:
        raise Wrong(
            "your targets are not shifted: target t is the token AFTER input t, so the position of the "
            "last prompt token (`:`) must predict the first answer token"
        )
    if targets == [_IGN] * (len(prompt) + 1) + answer[1:] + [_EOS]:
        raise Wrong(
            "the first answer token is never predicted: the position of the last prompt token (`:`) "
            "predicts it, so its target must count"
        )
    if targets == [_IGN] * (len(prompt) - 1) + [prompt[-1]] + answer + [_EOS]:
        raise Wrong(
            "one prompt token is still a target: the position before the last prompt token predicts "
            "the prompt, not the answer; mask it too"
        )
    if targets[-1] != _EOS:
        raise Wrong("the last target must be [EOS]: the model learns to stop after its answer")
    raise Wrong(
        f"for prompt {prompt} and answer {answer} the targets should be {want_tg}, yours are {targets}"
    )


@check_instruction_example.reference
def instruction_example(prompt_ids, answer_ids, bos_id, eos_id):
    """-> (inputs, targets): the model reads [BOS] prompt answer; target t is token t + 1, -100 on the prompt."""
    ids = [bos_id] + prompt_ids + answer_ids + [eos_id]
    inputs = ids[:-1]  # nothing comes after [EOS]
    targets = [-100] * len(prompt_ids) + answer_ids + [eos_id]  # the prompt's next tokens are not learned
    return inputs, targets


# ------------------------------------------------------------------------------------------------- questions
question(
    "temperature_truth",
    "c",
    "Dividing the logits by a temperature above 1 flattens the distribution: words from the tail (`a robin is "
    "a reptile .`) are drawn more often, so more of the stated facts are false, and at T = 2 many samples are "
    "not sentences at all. A low temperature concentrates the samples on the words the model finds likely, "
    "which here are mostly true.",
    choices={"a": "it rises", "b": "it stays about the same", "c": "it falls"},
    mistakes={
        "a": "a higher temperature gives the unlikely words more probability: are they more often true?",
        "b": "the temperature changes which words are drawn; are the tail's words as often right as the "
        "head's?",
    },
)

question(
    "multitask_vs_specialists",
    "a",
    "With the same data and the same total number of steps, the one multitask model learns the words and the "
    "format `... answer : <word>` once for all five tasks, and each task's steps also train what the others "
    "share; each specialist has to learn all of it alone, in a fifth of the steps.",
    choices={
        "a": "the one multitask model is more accurate on average",
        "b": "the five specialists are more accurate on average",
        "c": "about the same",
    },
    mistakes={
        "b": "each specialist sees only its own task, for a fifth of the steps; what do the five tasks "
        "have in common that one model could learn once?",
        "c": "the budgets are equal, but is what the tasks share learned once or five times?",
    },
)
