"""Exercises for the challenges chapter's induction notebook."""

from __future__ import annotations

import torch

from .. import Wrong, exercise, question


def _close(a, b, tol=1e-4):
    return abs(a - b) <= tol


def _causal_map(T, g):
    """A random (T, T) causal attention map: row t sums to 1 over keys 0 .. t."""
    scores = torch.randn(T, T, generator=g) * 2
    scores = scores.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf"))
    return scores.softmax(-1)


def _score(attn, tokens, key_of, queries="repeated"):
    """Mean over queries of the attention on key_of(t, j) for the earlier occurrences j of tokens[t]."""
    total, n = 0.0, 0
    for t in range(len(tokens)):
        earlier = [j for j in range(t) if tokens[j] == tokens[t]]
        if queries == "repeated" and not earlier:
            continue
        total += sum(float(attn[t, k]) for k in key_of(t, earlier) if 0 <= k <= t)
        n += 1
    return total / n


_VARIANTS = [
    (
        lambda t, e: e,
        "you score the attention on the earlier occurrence itself (position j); an induction head attends to "
        "the token *after* it, position j + 1, because that token is the prediction",
    ),
    (
        lambda t, e: [j - 1 for j in e],
        "you score the attention on the token *before* the earlier occurrence (j - 1); an induction head "
        "attends to the token after it, j + 1",
    ),
    (
        lambda t, e: [j + 2 for j in e],
        "off by one: you score position j + 2; the token after the earlier occurrence j is at j + 1",
    ),
    (
        lambda t, e: [t - 1],
        "that is the attention on the previous position (t - 1): a previous-token score, not an induction score",
    ),
    (
        lambda t, e: [e[0] + 1] if e else [],
        "when a token occurred more than once before, add up the attention on the position after *every* "
        "earlier occurrence, not only the first",
    ),
    (
        lambda t, e: [e[-1] + 1] if e else [],
        "when a token occurred more than once before, add up the attention on the position after *every* "
        "earlier occurrence, not only the last",
    ),
]


def _cases():
    g = torch.Generator().manual_seed(0)
    tokens_a = [5, 1, 7, 3, 9, 2, 5, 1, 7, 3, 6, 5, 1]  # 5 occurs three times
    tokens_b = [4, 8, 2, 6, 0, 4, 8, 2, 6, 1]
    return [(_causal_map(len(tk), g), tk) for tk in (tokens_a, tokens_b, tokens_a)]


@exercise(
    "induction_score",
    hint="for each query position t, find the earlier positions j < t holding the same token as t; add up the "
    "attention of row t on the columns j + 1; average those sums over the queries that had an earlier "
    "occurrence",
)
def check_induction_score(fn):
    tokens = [3, 8, 5, 3, 8, 5]
    perfect = torch.zeros(6, 6)
    perfect[0, 0] = perfect[1, 0] = perfect[2, 0] = 1.0  # nothing earlier to look at: attend to the start
    for t, k in ((3, 1), (4, 2), (5, 3)):
        perfect[t, k] = 1.0
    cases = _cases() + [(perfect, tokens)]  # random maps first: they tell the mistakes apart
    for i, (attn, tk) in enumerate(cases):
        want = _score(attn, tk, lambda t, e: [j + 1 for j in e])
        got = fn(attn.clone(), list(tk))
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = float(got)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise Wrong(f"return one number (a float), got {type(got).__name__}")
        if _close(got, want):
            continue
        matches = [why for key_of, why in _VARIANTS if _close(got, _score(attn, tk, key_of))]
        if len(set(matches)) == 1:  # name a mistake only when this map tells it apart from the others
            raise Wrong(matches[0])
        if _close(got, _score(attn, tk, lambda t, e: [j + 1 for j in e], queries="all")):
            raise Wrong(
                "average only over the queries whose token occurred before; positions with nothing to "
                "look back at are not part of the score"
            )
        if i == len(cases) - 1:
            raise Wrong(
                f"a head that always attends to the token after the earlier occurrence scores 1, yours gives "
                f"{got:.3f} (tokens {tokens}; row 3 attends to column 1, row 4 to 2, row 5 to 3)"
            )
        raise Wrong(f"for tokens {tk} the induction score is {want:.4f}, yours is {got:.4f}")
    T = 8
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]
    want = sum(1 / (t + 1) for t in range(4, 8)) / 4
    got = float(fn(uniform.clone(), [0, 1, 2, 3, 0, 1, 2, 3]))
    if not _close(got, want):
        raise Wrong(
            f"a head attending uniformly (row t: 1/(t+1) on each key) scores {want:.4f}, yours {got:.4f}"
        )


@check_induction_score.reference
def induction_score(attn, tokens):
    total, queries = 0.0, 0
    for t in range(len(tokens)):
        earlier = [j for j in range(t) if tokens[j] == tokens[t]]  # where this token occurred before
        if earlier:
            total += sum(float(attn[t, j + 1]) for j in earlier)  # the token after each earlier occurrence
            queries += 1
    return total / queries


question(
    "one_layer_induction",
    answer="b",
    choices={
        "a": "it has too few parameters: two heads cannot store the rule",
        "b": "a key at position j carries only token j and position j, so no query can ask for "
        "'the position whose previous token is my token'; that needs an earlier layer to copy the previous "
        "token into each position",
        "c": "the causal mask hides the earlier occurrence of the token from the query",
        "d": "softmax attention cannot put almost all of its weight on one position",
    },
    mistakes={
        "a": "the one-layer model has the same heads and width as one layer of the two-layer model; what it "
        "lacks is a second step, not capacity",
        "c": "the earlier occurrence is before the query, so the causal mask lets the query see it",
        "d": "a head can make one score much larger than the others; the previous-token heads of layer 0 do "
        "exactly that",
    },
    explanation="In one layer a query can find the earlier copy of its own token, but the answer is the token "
    "after it, and nothing at that position says 'my previous token was yours'. A first-layer head that attends "
    "to the previous token writes it into the residual stream; a second-layer head's key then carries it. "
    "With one fixed offset the position alone would do, which is why the offset is random.",
)

question(
    "ablation_reading",
    answer="c",
    choices={
        "a": "the head is the only place in the model where the copied token is known",
        "b": "the head's attention map explains every prediction of the model",
        "c": "the model's induction behaviour depends on that head's output: without it, the rest of the model "
        "does not do the task",
        "d": "no other head of the model attends to earlier tokens",
    },
    mistakes={
        "a": "ablation shows that the output depends on the head, not that the information is nowhere else: "
        "the value it copies is also in the residual stream of the earlier position",
        "b": "the ablation is about one behaviour (repeated tokens); and an attention map shows where a head "
        "reads, not what the model does with it",
        "d": "the previous-token heads of layer 0 attend to earlier tokens too; ablating one of them also hurts",
    },
    explanation="Zeroing one head's output and measuring the loss is an intervention: it shows that this "
    "behaviour goes through the head in this model. It says nothing about other behaviours, and a model with "
    "several redundant heads could lose one without harm, so a small effect would not show the head is unused.",
)
