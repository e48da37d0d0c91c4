"""Exercises of the representation-learning chapter: PPMI from counts, skip-gram's negative-sampling loss,
one point of a learning curve, and questions to answer before the cell that measures the answer."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import Wrong, exercise, question


def _close(a, b, tol=1e-5) -> bool:
    return (
        torch.is_tensor(a)
        and a.shape == b.shape
        and bool(torch.allclose(a.float(), b.float(), atol=tol, rtol=tol))
    )


# ---------------------------------------------------------------------------------------------
# PPMI from a co-occurrence matrix
# ---------------------------------------------------------------------------------------------

# Rows are words, columns contexts; not symmetric, so a mix-up of rows and columns shows.
_COUNTS = torch.tensor([[4.0, 1.0, 0.0, 2.0], [2.0, 0.0, 3.0, 1.0], [0.0, 5.0, 1.0, 0.0]])


def _pmi_parts(C):
    N = C.sum()
    return N, C.sum(1, keepdim=True), C.sum(0, keepdim=True)


@exercise(
    "ppmi",
    hint="compare how often a word and a context meet with how often they would meet if they "
    "were independent; a pair that never met has no information, not minus infinity",
)
def check_ppmi(fn):
    C = _COUNTS.clone()
    out = fn(C.clone())
    want = ppmi(C)
    if not torch.is_tensor(out):
        raise Wrong(f"return a tensor, got {type(out).__name__}")
    if out.shape != C.shape:
        raise Wrong(
            f"return one value per (word, context) pair, shape {tuple(C.shape)}; got {tuple(out.shape)}"
        )
    if not torch.isfinite(out).all():
        raise Wrong(
            "your matrix has -inf or nan where a pair was never seen (log 0); PPMI sets those entries to 0"
        )
    if _close(out, want):
        return
    if _close(out, want / math.log(2)):
        return  # the same PMI measured in bits: fine
    N, rows, cols = _pmi_parts(C)
    seen = C > 0

    def masked(x):
        return torch.where(seen, x, torch.zeros_like(x))

    pmi = masked(torch.log(C * N / (rows * cols)))
    cond = masked(torch.log(C / rows))  # log P(c | w): the context given the word
    no_n = masked(torch.log(C / (rows * cols)))  # counts used as if they were probabilities
    if _close(out, pmi):
        raise Wrong(
            "some of your values are negative: that is PMI; PPMI keeps only the positive part, max(PMI, 0)"
        )
    if _close(out, cond):
        raise Wrong(
            "that is log P(c | w), which is never positive: divide P(w, c) by P(w) AND by P(c); PMI asks "
            "how much more often the pair occurs than if w and c were independent"
        )
    if _close(out, no_n):
        raise Wrong(
            "you left out the total count N: P(w, c) = #(w, c) / N, P(w) = #(w) / N, P(c) = #(c) / N, "
            "so PMI = log(#(w, c) · N / (#(w) · #(c)))"
        )
    if (out < -1e-6).any():
        raise Wrong("some of your values are negative; PPMI is never below 0: clip at 0 after the log")
    if _close(out, torch.zeros_like(C)):
        raise Wrong(
            "all your values are 0: either the ratio inside the log is never above 1 (divide P(w, c) by "
            "P(w) · P(c), with every count turned into a probability by the same total N), or you "
            "clipped before taking the log"
        )
    i, j = (out - want).abs().argmax() // C.shape[1], (out - want).abs().argmax() % C.shape[1]
    raise Wrong(
        f"for the counts {C.tolist()} the PPMI of row {int(i)}, column {int(j)} should be "
        f"{float(want[i, j]):.4f}, yours is {float(out[i, j]):.4f}"
    )


@check_ppmi.reference
def ppmi(counts):
    """counts (V, C): #(w, c) -> PPMI (V, C) = max(0, log P(w, c) / (P(w) P(c))), 0 where #(w, c) = 0."""
    N = counts.sum()
    p_wc = counts / N
    p_w = counts.sum(dim=1, keepdim=True) / N  # (V, 1): how often each word occurs
    p_c = counts.sum(dim=0, keepdim=True) / N  # (1, C): how often each context occurs
    pmi = torch.log(p_wc / (p_w * p_c))  # -inf where a pair never occurred
    return torch.where(counts > 0, pmi, torch.zeros_like(pmi)).clamp(min=0)


# ---------------------------------------------------------------------------------------------
# Skip-gram's negative-sampling loss
# ---------------------------------------------------------------------------------------------


@exercise(
    "skipgram_loss",
    hint="the true context word should get a high score and each noise word a low one; "
    "σ(-x) = 1 - σ(x), and the loss is the negative log-likelihood, averaged over pairs",
)
def check_skipgram_loss(fn):
    g = torch.Generator().manual_seed(0)
    B, K, D = 5, 3, 4
    v = torch.randn(B, D, generator=g)
    u = torch.randn(B, D, generator=g)
    n = torch.randn(B, K, D, generator=g)
    out = fn(v.clone(), u.clone(), n.clone())
    want = skipgram_loss(v, u, n)
    if not torch.is_tensor(out):
        raise Wrong(f"return a tensor (the loss, a number), got {type(out).__name__}")
    if out.numel() != 1:
        raise Wrong(f"return one number, the loss averaged over the {B} pairs; got shape {tuple(out.shape)}")
    out = out.reshape(())
    if _close(out, want):
        return
    pos = (u * v).sum(-1)  # (B,)
    neg = torch.einsum("bkd,bd->bk", n, v)  # (B, K)
    ls = F.logsigmoid
    if _close(out, -want):
        raise Wrong("your value is the log-likelihood to maximise; the loss is its negative")
    if _close(out, (-ls(pos) - ls(neg).sum(-1)).mean()):
        raise Wrong(
            "your noise words are pushed UP: a noise word's term is log σ(-u_k · v_c), with a minus "
            "inside, so that a high score for a noise word costs"
        )
    if _close(out, (-ls(pos)).mean()):
        raise Wrong(
            "you left out the noise words: without them every vector can score high against every "
            "other, and nothing is learned"
        )
    if _close(out, (-ls(pos) - ls(-neg).sum(-1)).sum()):
        raise Wrong(
            f"you summed over the {B} pairs; average over them, so the loss does not grow with the batch"
        )
    if _close(out, (-ls(pos) - ls(-neg).mean(-1)).mean()):
        raise Wrong(
            f"you averaged the {K} noise terms; Mikolov et al. sum them: each noise word adds its own term"
        )
    if _close(out, (-torch.sigmoid(pos) - torch.sigmoid(-neg).sum(-1)).mean()):
        raise Wrong("take the log of the sigmoids: the loss is the negative LOG-likelihood")
    if _close(out, F.cross_entropy(torch.cat([pos[:, None], neg], 1), torch.zeros(B, dtype=torch.long))):
        raise Wrong(
            "that is a softmax over the true word and the noise words; negative sampling scores each word "
            "on its own with a sigmoid (a yes/no question: did this word occur next to v_c?)"
        )
    raise Wrong(f"for these vectors the loss should be {float(want):.4f}, yours is {float(out):.4f}")


@check_skipgram_loss.reference
def skipgram_loss(v_center, u_context, u_negative):
    """v_center (B, D), u_context (B, D), u_negative (B, K, D) -> mean of -log σ(u_o·v) - Σ_k log σ(-u_k·v)."""
    pos = (u_context * v_center).sum(dim=-1)  # (B,): score of the word seen in the window
    neg = torch.einsum("bkd,bd->bk", u_negative, v_center)  # (B, K): scores of the noise words
    return (-F.logsigmoid(pos) - F.logsigmoid(-neg).sum(dim=-1)).mean()


# ---------------------------------------------------------------------------------------------
# One point of a learning curve
# ---------------------------------------------------------------------------------------------


class _Spy:
    """A stand-in for the probe: records what it was trained and tested on, returns a known accuracy."""

    def __init__(self):
        self.calls = []

    def __call__(self, train_X, train_y, test_X, test_y, **kwargs):
        self.calls.append(
            (
                torch.as_tensor(train_X).clone(),
                torch.as_tensor(train_y).clone(),
                torch.as_tensor(test_X).clone(),
                torch.as_tensor(test_y).clone(),
            )
        )
        return 0.5 + len(self.calls) / 1000  # a value the student's function must hand back unchanged


def _pool(n_per_class=20, n_classes=2):
    """Features whose first column is the row number, labels sorted by class (the first rows all class 0)."""
    N = n_per_class * n_classes
    X = torch.stack(
        [torch.arange(N, dtype=torch.float), torch.randn(N, generator=torch.Generator().manual_seed(1))], 1
    )
    y = torch.arange(N) // n_per_class
    return X, y


@exercise(
    "learning_curve_point",
    hint="a budget of n labels is n examples drawn at random from the labelled "
    "pool, as many of each class; the probe learns from those alone and is "
    "scored on the held-out set",
)
def check_learning_curve_point(fn):
    X, y = _pool(20, 2)
    Xt = torch.stack([1000 + torch.arange(10, dtype=torch.float), torch.zeros(10)], 1)
    yt = torch.tensor([0, 1] * 5)
    spy = _Spy()
    out = fn(X, y, Xt, yt, 8, 0, spy)
    if len(spy.calls) != 1:
        raise Wrong(
            f"call fit exactly once (it trains the probe and returns its test accuracy); you called it "
            f"{len(spy.calls)} times"
        )
    Xtr, ytr, Xte, yte = spy.calls[0]
    try:
        out = float(out)
    except (TypeError, ValueError):
        raise Wrong(f"return the accuracy fit gives back (a number), got {type(out).__name__}") from None
    if Xte.shape != Xt.shape or not torch.equal(Xte, Xt.float()) or not torch.equal(yte, yt):
        if Xte.shape[0] and (Xte[:, 0] < 1000).all():
            raise Wrong(
                "you scored the probe on training examples; score it on the held-out set (test_X, test_y), "
                "all of it"
            )
        raise Wrong("pass the whole held-out set (test_X, test_y), unchanged, to fit")
    if Xtr.dim() != 2 or Xtr.shape[1] != X.shape[1]:
        raise Wrong(f"train_X for fit must be (n, D) rows of the pool, got shape {tuple(Xtr.shape)}")
    if len(Xtr) == len(X):
        raise Wrong(f"you trained on the whole pool of {len(X)} labelled examples; the budget is 8 labels")
    if len(Xtr) != 8 or len(ytr) != 8:
        raise Wrong(f"with a budget of 8 labels, train on exactly 8 examples; you passed {len(Xtr)}")
    if (Xtr[:, 0] >= 1000).any():
        raise Wrong(
            "some training examples come from the held-out set; draw them from the labelled pool only"
        )
    rows = Xtr[:, 0].long()
    if not torch.equal(Xtr, X[rows]):
        raise Wrong("the training rows must be rows of train_X, unchanged")
    if not torch.equal(ytr, y[rows]):
        raise Wrong(
            "each training example must keep its own label: index train_y with the same rows as train_X"
        )
    if len(set(rows.tolist())) != len(rows):
        raise Wrong("you drew an example more than once; draw without replacement")
    counts = torch.bincount(ytr, minlength=2).tolist()
    if counts != [4, 4]:
        if rows.tolist() == list(range(8)):
            raise Wrong(
                "you took the first 8 examples of the pool; in this pool they are all of class 0 (pools are "
                "often sorted). Draw at random, half of each class"
            )
        raise Wrong(
            f"draw as many labels of each class (4 and 4 for a budget of 8); your classes count {counts}"
        )
    if abs(out - (0.5 + 1 / 1000)) > 1e-9:
        raise Wrong("return the accuracy that fit returns, unchanged")
    if sorted(rows.tolist()) == [0, 1, 2, 3, 20, 21, 22, 23]:
        raise Wrong(
            "you took the first examples of each class; draw them at random (with the seed), so that "
            "different seeds give different draws"
        )
    again = _Spy()
    fn(X, y, Xt, yt, 8, 0, again)
    if not torch.equal(again.calls[0][0], Xtr):
        raise Wrong("the same seed must give the same draw (make a torch.Generator and seed it with `seed`)")
    other = _Spy()
    fn(X, y, Xt, yt, 8, 1, other)
    if set(other.calls[0][0][:, 0].tolist()) == set(Xtr[:, 0].tolist()):
        raise Wrong("seeds 0 and 1 gave the same examples: the draw must depend on the seed")
    three = _Spy()
    X3, y3 = _pool(10, 3)
    fn(X3, y3, Xt, yt, 6, 0, three)
    if torch.bincount(three.calls[0][1], minlength=3).tolist() != [2, 2, 2]:
        raise Wrong(
            "with three classes and 6 labels, draw 2 of each class: count the classes in train_y rather "
            "than assuming two"
        )


@check_learning_curve_point.reference
def learning_curve_point(train_X, train_y, test_X, test_y, n_labels, seed, fit):
    """Draw n_labels examples from the pool (the same number per class, at random), fit, return test accuracy."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(train_y)
    per_class = n_labels // len(classes)
    picks = []
    for c in classes:
        rows = torch.nonzero(train_y == c).flatten()
        picks.append(rows[torch.randperm(len(rows), generator=g)[:per_class]])
    rows = torch.cat(picks)
    return fit(train_X[rows], train_y[rows], test_X, test_y)


# ---------------------------------------------------------------------------------------------
# Questions: predict, then run
# ---------------------------------------------------------------------------------------------

question(
    "topic_after_sentiment",
    "c",
    "Training on sentiment rewards only what separates positive from negative reviews. The hidden state of the "
    "trained model keeps that and lets the rest fade, so the topic of a review is harder to read from it than "
    "from the same network with random weights, which passes on a little of everything it reads.",
    choices={
        "a": "easier than from the untrained network: training improves the representation",
        "b": "about as easy as from the untrained network",
        "c": "harder than from the untrained network",
    },
    mistakes={
        "a": "training improves the representation for the task it is trained on; look at what the "
        "loss rewards, and whether the topic is part of it",
        "b": "the loss is indifferent to the topic, but the weights are not left alone: they are shaped "
        "for sentiment",
    },
)

question(
    "static_sense",
    "a",
    "Every occurrence of `bank` gets the same vector, river bank or money bank, so the probe sees one input with "
    "two labels. The best it can do is to answer one sense every time: its accuracy is the share of that sense "
    "in the test sentences, however many labels it is given and however good the vectors are for other words.",
    choices={
        "a": "about 0.5: no better than always guessing the same sense",
        "b": "about 0.75: the vector knows some of the sense",
        "c": "close to 1.0: skip-gram vectors place river words and money words apart",
    },
    mistakes={
        "b": "ask what the probe's input is for `the river bank` and for `the money bank`",
        "c": "the vectors do place `river` and `money` apart, but the probe reads the vector of `bank` "
        "itself: what is it for each occurrence?",
    },
)

question(
    "unseen_entities",
    "b",
    "The held-out animals and plants never occur in a labelled example. A bag of words (or a model trained from "
    "scratch) knows nothing about a word it was never shown with a label, so it can only guess, about one "
    "category in six. Pretrained vectors place `sparrow` near `robin` from unlabelled text alone, and a probe "
    "that learned where birds lie puts an unseen bird there too.",
    choices={
        "a": "the bag of words, which has nothing to unlearn",
        "b": "the pretrained features",
        "c": "neither: no model can name the category of a word it was never taught",
    },
    mistakes={
        "a": "the bag of words gives an unseen word a column that is zero in every training example: "
        "what can the classifier learn about it?",
        "c": "no model was taught these words with a label, but one of them read them in unlabelled text",
    },
)
