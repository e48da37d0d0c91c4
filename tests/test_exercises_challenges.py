"""Each challenges-chapter exercise: the reference passes, a typical mistake gets its specific message."""

import math

import pytest

from lmnotes.exercises import EXERCISES, names, reference, run_check

NAMES = ["exposure", "ngram_contamination", "membership_auc"]


def status(name, fn):
    return run_check(name, fn)


def test_registered_under_the_chapter():
    assert set(NAMES) <= set(names())
    assert {EXERCISES[n].chapter for n in NAMES} == {"challenges"}


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes(name):
    assert status(name, reference(name)) == ("correct", f"{name}: Correct!")


@pytest.mark.parametrize("name", NAMES)
def test_unattempted_stub(name):
    def stub(*args):
        raise NotImplementedError

    assert status(name, stub)[0] == "not attempted"


# ---------------------------------------------------------------------------------------------- exposure


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda r, n: math.log(n) - math.log(r), "log base 2"),
        (lambda r, n: math.log2(r) - math.log2(n), "sign is flipped"),
        (lambda r, n: math.log2(n) - math.log2(r + 1), "ranks start at 1"),
        (lambda r, n: math.log2(r), "log2 of the rank alone"),
        (lambda r, n: 1 - r / n, "not a share"),
        (lambda r, n: [math.log2(n) - math.log2(r)], "return a number"),
        (lambda r, n: math.log2(n) - math.log2(r) + 1, "exposure is"),
    ],
)
def test_exposure_mistakes(wrong, words):
    s, msg = status("exposure", wrong)
    assert s == "wrong" and words in msg, msg


# ---------------------------------------------------------------------------------------------- n-gram check


def _grams(words, n):
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def joined(item, corpus, n):  # n-grams across text boundaries
    return bool(_grams(item.split(), n) & _grams(" ".join(corpus).split(), n))


def whole_item(item, corpus, n):  # only verbatim copies
    return any(item in t for t in corpus)


def off_by_one(item, corpus, n):  # misses each text's last n-gram
    g = lambda w: {tuple(w[i : i + n]) for i in range(len(w) - n)}  # noqa: E731
    return bool(g(item.split()) & set().union(*(g(t.split()) for t in corpus)))


def characters(item, corpus, n):  # substring search on characters
    words = item.split()
    return any(" ".join(words[i : i + n]) in t for t in corpus for i in range(len(words) - n + 1))


def short_items_flagged(item, corpus, n):
    words = item.split()
    if len(words) < n:
        return any(item in t for t in corpus)
    return reference("ngram_contamination")(item, corpus, n)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (joined, "across the end"),
        (whole_item, "any shared n-gram"),
        (off_by_one, "last n-gram"),
        (characters, "whole words"),
        (short_items_flagged, "fewer than n words"),
        (lambda item, corpus, n: 1, "True or False"),
    ],
)
def test_ngram_contamination_mistakes(wrong, words):
    s, msg = status("ngram_contamination", wrong)
    assert s == "wrong" and words in msg, msg


# ---------------------------------------------------------------------------------------------- AUC


def flipped(members, non):
    pairs = [(m < x) + 0.5 * (m == x) for m in members for x in non]
    return sum(pairs) / len(pairs)


def ties_zero(members, non):
    pairs = [float(m > x) for m in members for x in non]
    return sum(pairs) / len(pairs)


def ties_one(members, non):
    pairs = [float(m >= x) for m in members for x in non]
    return sum(pairs) / len(pairs)


def means(members, non):
    return float(sum(members) / len(members) > sum(non) / len(non))


def first_pairs_only(members, non):  # zips instead of all pairs
    pairs = [(m > x) + 0.5 * (m == x) for m, x in zip(members, non)]
    return sum(pairs) / len(pairs)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (flipped, "1 - AUC"),
        (ties_zero, "one half, not 0"),
        (ties_one, "one half, not 1"),
        (means, "mean member score"),
        (first_pairs_only, "by position"),
        (lambda m, n: "0.5", "return a number"),
    ],
)
def test_membership_auc_mistakes(wrong, words):
    s, msg = status("membership_auc", wrong)
    assert s == "wrong" and words in msg, msg
