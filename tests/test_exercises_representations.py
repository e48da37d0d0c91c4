"""The representation-learning exercises: each reference passes, and each typical wrong answer gets its own
message (what is wrong, not only that something is)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lmnotes import wordvectors
from lmnotes.exercises import EXERCISES, names, reference, run_check

FUNCTIONS = ("ppmi", "skipgram_loss", "learning_curve_point")
QUESTIONS = ("topic_after_sentiment", "static_sense", "unseen_entities")


def _wrong(name, fn, words):
    status, msg = run_check(name, fn)
    assert status == "wrong" and words in msg, msg


def test_registered_under_the_chapter():
    for name in FUNCTIONS + QUESTIONS:
        assert name in names() and EXERCISES[name].chapter == "representations"


def test_references_pass():
    for name in FUNCTIONS:
        assert run_check(name, reference(name))[0] == "correct", run_check(name, reference(name))
    for name in QUESTIONS:
        assert run_check(name, reference(name))[0] == "correct"


def test_not_attempted():
    def stub(*a):
        raise NotImplementedError

    for name in FUNCTIONS:
        assert run_check(name, stub)[0] == "not attempted"
    assert run_check("static_sense", None)[0] == "not attempted"


def test_the_package_agrees_with_the_references():
    counts = torch.tensor([[4.0, 1.0, 0.0], [2.0, 0.0, 3.0], [0.0, 5.0, 1.0]])
    assert torch.allclose(wordvectors.ppmi(counts), reference("ppmi")(counts))
    g = torch.Generator().manual_seed(0)
    v, u, n = (
        torch.randn(3, 4, generator=g),
        torch.randn(3, 4, generator=g),
        torch.randn(3, 2, 4, generator=g),
    )
    assert torch.allclose(wordvectors.negative_sampling_loss(v, u, n), reference("skipgram_loss")(v, u, n))
    assert run_check("ppmi", wordvectors.ppmi)[0] == "correct"
    assert run_check("skipgram_loss", wordvectors.negative_sampling_loss)[0] == "correct"


# ------------------------------------------------------------------------------------ PPMI


def _masked(C, x):
    return torch.where(C > 0, x, torch.zeros_like(x))


def test_ppmi_mistakes():
    def pmi(C):
        N = C.sum()
        return _masked(C, torch.log(C * N / (C.sum(1, keepdim=True) * C.sum(0, keepdim=True))))

    _wrong("ppmi", pmi, "that is PMI")
    _wrong(
        "ppmi",
        lambda C: torch.log(C * C.sum() / (C.sum(1, keepdim=True) * C.sum(0, keepdim=True))),
        "-inf or nan",
    )
    # clipping after the log also turns log 0 = -inf into 0: right
    assert (
        run_check(
            "ppmi",
            lambda C: torch.log(C * C.sum() / (C.sum(1, keepdim=True) * C.sum(0, keepdim=True))).clamp_min(0),
        )[0]
        == "correct"
    )
    _wrong("ppmi", lambda C: _masked(C, torch.log(C / C.sum(1, keepdim=True))), "P(c | w)")
    _wrong(
        "ppmi",
        lambda C: _masked(C, torch.log(C / (C.sum(1, keepdim=True) * C.sum(0, keepdim=True)))),
        "total count N",
    )
    _wrong(
        "ppmi",
        lambda C: _masked(C, torch.log(C / C.sum(1, keepdim=True))).clamp_min(0),
        "all your values are 0",
    )
    _wrong("ppmi", lambda C: C, "should be")
    _wrong("ppmi", lambda C: C[:2], "shape")
    _wrong("ppmi", lambda C: C.tolist(), "return a tensor")


def test_ppmi_in_bits_is_accepted():
    assert run_check("ppmi", lambda C: reference("ppmi")(C) / math.log(2))[0] == "correct"


# ------------------------------------------------------------------------------------ skip-gram loss


def _scores(v, u, n):
    return (u * v).sum(-1), torch.einsum("bkd,bd->bk", n, v)


def test_skipgram_loss_mistakes():
    ls = F.logsigmoid

    def sign(v, u, n):
        p, q = _scores(v, u, n)
        return (-ls(p) - ls(q).sum(-1)).mean()

    def no_noise(v, u, n):
        return (-ls(_scores(v, u, n)[0])).mean()

    def summed(v, u, n):
        p, q = _scores(v, u, n)
        return (-ls(p) - ls(-q).sum(-1)).sum()

    def mean_noise(v, u, n):
        p, q = _scores(v, u, n)
        return (-ls(p) - ls(-q).mean(-1)).mean()

    def no_log(v, u, n):
        p, q = _scores(v, u, n)
        return (-torch.sigmoid(p) - torch.sigmoid(-q).sum(-1)).mean()

    def softmax(v, u, n):
        p, q = _scores(v, u, n)
        return F.cross_entropy(torch.cat([p[:, None], q], 1), torch.zeros(len(p), dtype=torch.long))

    def per_pair(v, u, n):
        p, q = _scores(v, u, n)
        return -ls(p) - ls(-q).sum(-1)

    _wrong("skipgram_loss", sign, "pushed UP")
    _wrong("skipgram_loss", no_noise, "left out the noise words")
    _wrong("skipgram_loss", summed, "average over them")
    _wrong("skipgram_loss", mean_noise, "sum them")
    _wrong("skipgram_loss", no_log, "LOG-likelihood")
    _wrong("skipgram_loss", softmax, "softmax")
    _wrong("skipgram_loss", lambda v, u, n: -reference("skipgram_loss")(v, u, n), "its negative")
    _wrong("skipgram_loss", per_pair, "one number")


# ------------------------------------------------------------------------------------ learning-curve point


def _draw(train_y, n, seed, per_class=True):
    g = torch.Generator().manual_seed(seed)
    if not per_class:
        return torch.randperm(len(train_y), generator=g)[:n]
    classes = torch.unique(train_y)
    return torch.cat(
        [
            torch.nonzero(train_y == c).flatten()[
                torch.randperm(int((train_y == c).sum()), generator=g)[: n // len(classes)]
            ]
            for c in classes
        ]
    )


def test_learning_curve_point_mistakes():
    ref = reference("learning_curve_point")
    _wrong("learning_curve_point", lambda X, y, Xt, yt, n, s, fit: fit(X, y, Xt, yt), "whole pool")
    _wrong("learning_curve_point", lambda X, y, Xt, yt, n, s, fit: fit(X[:n], y[:n], Xt, yt), "first 8")

    def on_train(X, y, Xt, yt, n, s, fit):
        i = _draw(y, n, s)
        return fit(X[i], y[i], X[i], y[i])

    _wrong("learning_curve_point", on_train, "held-out set")

    def unbalanced(X, y, Xt, yt, n, s, fit):
        g = torch.Generator().manual_seed(s)
        i = torch.randperm(len(y), generator=g)
        i = torch.cat([i[y[i] == 0][: n - 1], i[y[i] == 1][:1]])
        return fit(X[i], y[i], Xt, yt)

    _wrong("learning_curve_point", unbalanced, "as many labels of each class")

    def with_replacement(X, y, Xt, yt, n, s, fit):
        i = torch.cat(
            [torch.nonzero(y == c).flatten()[torch.zeros(n // 2, dtype=torch.long)] for c in (0, 1)]
        )
        return fit(X[i], y[i], Xt, yt)

    _wrong("learning_curve_point", with_replacement, "more than once")

    def shuffled_labels(X, y, Xt, yt, n, s, fit):
        i = _draw(y, n, s)
        return fit(X[i], y[i].flip(0), Xt, yt)

    _wrong("learning_curve_point", shuffled_labels, "its own label")

    def no_seed(X, y, Xt, yt, n, s, fit):
        return ref(X, y, Xt, yt, n, 0, fit)

    _wrong("learning_curve_point", no_seed, "must depend on the seed")

    def first_per_class(X, y, Xt, yt, n, s, fit):
        i = torch.cat([torch.nonzero(y == c).flatten()[: n // 2] for c in (0, 1)])
        return fit(X[i], y[i], Xt, yt)

    _wrong("learning_curve_point", first_per_class, "at random")

    def two_classes_only(X, y, Xt, yt, n, s, fit):
        g = torch.Generator().manual_seed(s)
        i = torch.cat(
            [
                torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()), generator=g)[: n // 2]]
                for c in (0, 1)
            ]
        )
        return fit(X[i], y[i], Xt, yt)

    _wrong("learning_curve_point", two_classes_only, "three classes")

    def rounded(X, y, Xt, yt, n, s, fit):
        return round(ref(X, y, Xt, yt, n, s, fit), 1)

    _wrong("learning_curve_point", rounded, "unchanged")

    def twice(X, y, Xt, yt, n, s, fit):
        ref(X, y, Xt, yt, n, s, fit)
        return ref(X, y, Xt, yt, n, s, fit)

    _wrong("learning_curve_point", twice, "exactly once")


# ------------------------------------------------------------------------------------ questions


@pytest.mark.parametrize(
    "name, wrong",
    [
        ("topic_after_sentiment", "a"),
        ("topic_after_sentiment", "b"),
        ("static_sense", "b"),
        ("static_sense", "c"),
        ("unseen_entities", "a"),
        ("unseen_entities", "c"),
    ],
)
def test_questions_explain_wrong_choices(name, wrong):
    status, msg = run_check(name, wrong)
    assert status == "wrong" and f"you chose ({wrong})" in msg, msg
    assert run_check(name, "z")[0] == "wrong"
