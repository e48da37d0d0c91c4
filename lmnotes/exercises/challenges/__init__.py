"""Exercises for "Challenges": exposure from ranks, an n-gram contamination check, a membership-inference AUC."""

from __future__ import annotations

import math

from .. import Wrong, exercise


def _close(a, b, tol=1e-6):
    return isinstance(a, (int, float)) and not isinstance(a, bool) and abs(a - b) <= tol


@exercise(
    "exposure",
    hint="exposure counts in bits how far up the ranking the secret is: log2 of the number of "
    "candidates minus log2 of the secret's rank (rank 1 = the most likely)",
)
def check_exposure(fn):
    n = 10_000
    cases = [(1, n), (100, n), (10_000, n), (37, n), (1, 8), (2, 8)]
    for rank, cands in cases:
        got = fn(rank, cands)
        want = math.log2(cands) - math.log2(rank)
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise Wrong(f"return a number (the exposure in bits), got {type(got).__name__}")
        if _close(got, want):
            continue
        if _close(got, math.log(cands) - math.log(rank)):
            raise Wrong("exposure is measured in bits: use log base 2 (math.log2), not the natural log")
        if _close(got, -want):
            raise Wrong(
                f"for rank {rank} of {cands} your exposure is {got:.2f}: the sign is flipped; the most likely "
                "secret (rank 1) has the highest exposure, log2(n_candidates)"
            )
        off_by_one = [math.log2(cands) - math.log2(rank + 1)] + (
            [math.log2(cands) - math.log2(rank - 1)] if rank > 1 else []
        )
        if any(_close(got, v) for v in off_by_one):
            raise Wrong(
                "ranks start at 1 (the most likely candidate has rank 1): use the rank as it is given"
            )
        if _close(got, math.log2(rank)):
            raise Wrong(
                "that is log2 of the rank alone; exposure subtracts it from log2 of the number of candidates"
            )
        if _close(got, (cands - rank) / cands) or _close(got, 1 - rank / cands):
            raise Wrong(
                "exposure is not a share of the candidates: it is log2(n_candidates) - log2(rank), in bits"
            )
        raise Wrong(
            f"for rank {rank} among {cands} candidates the exposure is {want:.3f} bits, yours is {got!r}"
        )


@check_exposure.reference
def exposure(rank, n_candidates):
    return math.log2(n_candidates) - math.log2(rank)  # bits; rank 1 gives the most, log2(n_candidates)


@exercise(
    "ngram_contamination",
    hint="split the item and each training text into words; an item is contaminated "
    "when one of its runs of n consecutive words also occurs, in order, in some "
    "training text",
)
def check_ngram_contamination(fn):
    corpus = [
        "a robin can fly .",
        "the partner of kalo is miru .",
        "question : where does lemi live ? answer : rome",
        "the old cats sat by the pond .",
    ]
    cases = [
        ("the partner of kalo is miru .", 4, True, "an item copied verbatim"),
        ("we read that the partner of kalo is someone", 5, True, "an item that shares 5 words in a row"),
        (
            "question : where does sino live ? answer : oslo",
            5,
            False,
            "an item of the same template with other words (5-grams differ)",
        ),
        (
            "question : where does sino live ? answer : oslo",
            3,
            True,
            "the same template at n=3 ('question : where' is shared)",
        ),
        (
            "fly . the partner",
            3,
            False,
            "an item whose 3-grams only exist across the end of one text and the start of the next",
        ),
        ("robin can", 3, False, "an item shorter than n"),
        ("kalo is miru", 3, True, "an item of exactly n words that occurs in the corpus"),
        ("a robin flies", 2, True, "an item whose first 2 words occur in the corpus"),
        ("we saw the old cat", 3, False, "an item with different words ('cat' is not 'cats')"),
    ]
    for item, n, want, what in cases:
        got = fn(item, list(corpus), n)
        if not isinstance(got, bool):
            raise Wrong(f"return True or False, got {type(got).__name__} ({got!r})")
        if got == want:
            continue
        if "across the end" in what:
            raise Wrong(
                "your check joins the training texts into one, so an n-gram can run across the end of one "
                "text into the next; look for n-grams within each text"
            )
        if "shorter than n" in what:
            raise Wrong("an item with fewer than n words has no n-gram and cannot be flagged")
        if "exactly n words" in what:
            raise Wrong(
                "you miss the last n-gram of a text: a text of L words has L - n + 1 n-grams "
                "(range(len(words) - n + 1)), so an item of exactly n words has one"
            )
        if "'cats'" in what:
            raise Wrong(
                "compare whole words, not characters: 'the old cat' is inside 'the old cats sat' as text, "
                "but the word 'cat' is not the word 'cats'"
            )
        if "shares 5 words" in what:
            raise Wrong(
                "the item is not in the corpus as a whole, but 5 of its words are, in a row: an n-gram "
                "check flags any shared n-gram, not only whole items"
            )
        raise Wrong(f"{what}, with n={n}: expected {want}, got {got} (item {item!r})")


@check_ngram_contamination.reference
def ngram_contamination(item, corpus, n):
    def grams(words):
        return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}

    seen = set()
    for text in corpus:  # n-grams within each text, never across two
        seen |= grams(text.split())
    return bool(grams(item.split()) & seen)


@exercise(
    "membership_auc",
    hint="compare every member score with every non-member score: count 1 when the member "
    "scores higher, 1/2 for a tie, 0 otherwise, and average over all pairs",
)
def check_membership_auc(fn):
    cases = [
        ([0.1, 0.9, 0.8], [0.7, 0.2], 4 / 6),
        ([3.0, 2.0], [1.0, 2.0], 0.875),
        ([1.0, 2.0], [3.0, 4.0], 0.0),
        ([5.0], [5.0], 0.5),
        ([-1.0, -2.0, -0.5, -3.0], [-2.5, -1.5], 5 / 8),
    ]
    for members, non, want in cases:
        got = fn(list(members), list(non))
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise Wrong(f"return a number between 0 and 1, got {type(got).__name__}")
        if _close(got, want):
            continue
        if _close(got, 1 - want):
            raise Wrong(
                f"for members {members} and non-members {non} you return {got:.3f} = 1 - AUC: count the pairs "
                "where the member scores higher (higher score = 'looks like a member')"
            )
        ties = [(m, x) for m in members for x in non if m == x]
        if ties:
            pairs = len(members) * len(non)
            wins = sum(m > x for m in members for x in non)
            if _close(got, wins / pairs):
                raise Wrong("a tie between a member and a non-member counts one half, not 0")
            if _close(got, (wins + len(ties)) / pairs):
                raise Wrong("a tie between a member and a non-member counts one half, not 1")
        mean_m, mean_n = sum(members) / len(members), sum(non) / len(non)
        if got in (0, 1) and want not in (0, 1) and (got == 1) == (mean_m > mean_n):
            raise Wrong(
                "the AUC is not whether the mean member score is higher: it is the share of "
                "(member, non-member) pairs that the score orders correctly"
            )
        zipped = [(m > x) + 0.5 * (m == x) for m, x in zip(members, non)]
        if _close(got, sum(zipped) / len(zipped)):
            raise Wrong(
                "you compare members and non-members in pairs by position; compare every member with every "
                "non-member (len(members) * len(non_members) pairs)"
            )
        raise Wrong(f"for members {members} and non-members {non} the AUC is {want:.3f}, yours is {got!r}")
    if not _close(fn([1.0] * 3, [0.0] * 5), 1.0):
        raise Wrong("with unequal group sizes, average over all len(members) * len(non_members) pairs")


@check_membership_auc.reference
def membership_auc(members, non_members):
    pairs = [(m > x) + 0.5 * (m == x) for m in members for x in non_members]
    return sum(pairs) / len(pairs)  # P(a random member scores above a random non-member)


# The second half of the chapter: one module per notebook.
from . import bias, defaults, forgetting, incontext, induction, languages  # noqa: E402, F401
