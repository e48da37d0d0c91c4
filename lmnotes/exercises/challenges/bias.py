"""Exercises for the challenges chapter's bias notebook: a WEAT effect size with its permutation test, and what a
language model trained on a skewed world predicts."""

from __future__ import annotations

import itertools
import math

import torch

from .. import Wrong, exercise, question


def _cos(u, v):
    return float(u @ v / (u.norm() * v.norm()))


def _dot(u, v):
    return float(u @ v)


def _assoc(w, A, B, sim=_cos):
    return sum(sim(w, a) for a in A) / len(A) - sum(sim(w, b) for b in B) / len(B)


def _splits_p(s, k, observed, keep):
    """Share of the splits of s into k and len(s) - k values whose gap passes ``keep(gap, observed)``."""
    n, hits, total = len(s), 0, 0
    for chosen in itertools.combinations(range(n), k):
        inside = sum(s[i] for i in chosen) / k
        outside = (sum(s) - sum(s[i] for i in chosen)) / (n - k)
        hits += keep(inside - outside, observed)
        total += 1
    return hits, total


def _cases():
    t = lambda rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731
    A, B = t([[1.0, 0.0], [2.0, 0.5]]), t([[0.0, 1.0], [0.3, 2.0]])
    return [
        # X clearly on A's side: the observed split is the most extreme of all 20
        (t([[2.0, 0.1], [1.0, 0.4], [3.0, 1.5]]), t([[0.2, 1.0], [0.5, 3.0], [1.0, 1.2]]), A, B),
        # a weak, mixed grouping: several splits beat it
        (t([[2.0, 0.1], [0.5, 3.0], [1.0, 1.2]]), t([[0.2, 1.0], [1.0, 0.4], [3.0, 1.5]]), A, B),
        # three attribute words on one side, one on the other; unequal norms everywhere
        (
            t([[1.0, 0.2, 0.0], [4.0, 1.0, 1.0], [0.5, 0.5, 0.1]]),
            t([[0.1, 1.0, 0.3], [0.2, 0.3, 2.0], [1.0, 1.0, 1.0]]),
            t([[1.0, 0.0, 0.0], [3.0, 0.5, 0.2], [0.8, 0.1, 0.4]]),
            t([[0.0, 1.0, 1.0]]),
        ),
    ]


@exercise(
    "weat_test",
    hint="s(w) = mean cosine with A minus mean cosine with B; d = (mean s over X - mean s over Y) divided by "
    "the sample standard deviation of s over all of X and Y; p = the share of the ways of splitting X ∪ Y "
    "into two sets of the sizes of X and Y whose difference of means is at least the observed one",
)
def check_weat_test(fn):
    for X, Y, A, B in _cases():
        got = fn(X.clone(), Y.clone(), A.clone(), B.clone())
        if not isinstance(got, tuple) or len(got) != 2:
            raise Wrong(f"return a pair (d, p_value), got {type(got).__name__}")
        try:
            d, p = float(got[0]), float(got[1])
        except (TypeError, ValueError):
            raise Wrong(
                "return two numbers, (d, p_value); turn a tensor into a number with float(...)"
            ) from None
        s = [_assoc(w, A, B) for w in torch.cat([X, Y])]
        k, n = len(X), len(X) + len(Y)
        mean = sum(s) / n
        ss = sum((v - mean) ** 2 for v in s)
        gap = sum(s[:k]) / k - sum(s[k:]) / (n - k)
        want_d = gap / math.sqrt(ss / (n - 1))
        close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))  # noqa: E731
        if not close(d, want_d):
            if close(d, gap / math.sqrt(ss / n)):
                raise Wrong(
                    "your d divides by the population standard deviation (dividing the squares by n); WEAT's "
                    "effect size uses the sample standard deviation (n - 1): torch's .std() does that, numpy's "
                    "np.std needs ddof=1"
                )
            if close(d, gap):
                raise Wrong(
                    "your d is the difference of the mean associations; the effect size divides it by the "
                    "standard deviation of the associations of all the target words (X and Y together)"
                )
            if close(d, -want_d):
                raise Wrong(
                    "your d has the wrong sign: s(w) is the mean cosine with A MINUS that with B, and d is "
                    "X's mean minus Y's"
                )
            if close(d, (sum(s[:k]) - sum(s[k:])) / math.sqrt(ss / (n - 1))):
                raise Wrong("you take the difference of the SUMS of the associations; d uses their means")
            sd = [_assoc(w, A, B, _dot) for w in torch.cat([X, Y])]
            md = sum(sd) / n
            gd = sum(sd[:k]) / k - sum(sd[k:]) / (n - k)
            if close(d, gd / math.sqrt(sum((v - md) ** 2 for v in sd) / (n - 1))):
                raise Wrong("use the cosine similarity, not the dot product: the vectors are not of length 1")
            sx = s[:k]
            mx = sum(sx) / k
            if k > 1 and close(d, gap / math.sqrt(sum((v - mx) ** 2 for v in sx) / (k - 1))):
                raise Wrong(
                    "the standard deviation is over all the target words, X and Y together, not X alone"
                )
            raise Wrong(f"for this example d = {want_d:.4f}, yours is {d:.4f}")
        hits, total = _splits_p(s, k, gap, lambda g, o: g >= o - 1e-12)
        want_p = hits / total
        if close(p, want_p):
            continue
        if close(p, (hits - 1) / total) or close(p, (hits - 1) / (total - 1)):
            raise Wrong(
                "your p-value leaves out the observed split (or counts only splits strictly above it); count "
                "every split whose difference is at least the observed one, the observed split included"
            )
        two, _ = _splits_p(s, k, gap, lambda g, o: abs(g) >= abs(o) - 1e-12)
        if close(p, two / total) or close(p, min(1.0, 2 * want_p)):
            raise Wrong(
                "that is a two-sided p-value; Caliskan et al.'s test is one-sided: splits whose "
                "difference is at least the observed one (not in absolute value)"
            )
        below, _ = _splits_p(s, k, gap, lambda g, o: g <= o + 1e-12)
        if close(p, below / total) or close(p, 1 - want_p):
            raise Wrong(
                "your p-value counts the splits on the wrong side: count those whose difference of means "
                "is AT LEAST the observed one"
            )
        raise Wrong(
            f"for this example the one-sided p-value is {want_p:.4f} ({hits} of {total} splits), "
            f"yours is {p:.4f}"
        )


@check_weat_test.reference
def weat_test(X, Y, A, B):
    import itertools

    import torch
    import torch.nn.functional as F

    def s(w):  # association of one word: mean cosine with A minus mean cosine with B
        return F.cosine_similarity(w[None], A).mean() - F.cosine_similarity(w[None], B).mean()

    assoc = torch.stack([s(w) for w in torch.cat([X, Y])])  # (|X| + |Y|,)
    observed = assoc[: len(X)].mean() - assoc[len(X) :].mean()
    d = observed / assoc.std()  # sample standard deviation (n - 1) over all target words
    gaps = []
    for chosen in itertools.combinations(range(len(assoc)), len(X)):  # every split into |X| and |Y| words
        inside = torch.zeros(len(assoc), dtype=torch.bool)
        inside[list(chosen)] = True
        gaps.append(assoc[inside].mean() - assoc[~inside].mean())
    p_value = (torch.stack(gaps) >= observed - 1e-12).double().mean()  # one-sided, observed split included
    return float(d), float(p_value)


question(
    "skewed_probability",
    0.9,
    "A language model is trained to match the conditional distribution of its text, and in the text 90% of the "
    "pilot's sentences use he: a model that fits the text says he with probability about 0.9. The preference "
    "rate of minimal pairs is about 1.0 all the same, because it only asks which pronoun is MORE likely, so it "
    "reaches 1 as soon as the model leans at all; that is why the two numbers must not be confused.",
    tol=0.03,
    mistakes={
        1.0: "that is the preference rate (which sentence is more likely), not the probability the model gives "
        "to he; a model that fits its text reproduces the 90/10 split",
        0.5: "that is what a model trained with counterfactual data augmentation says, or one that learned "
        "nothing about the pilot; this model read the skewed text",
        0.1: "that is the probability of she",
    },
)
