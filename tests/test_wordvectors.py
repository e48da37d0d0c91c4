"""Static word vectors: co-occurrence counts, PPMI, SVD, skip-gram with negative sampling, and the two
measurements against the world's ground truth (taxonomy agreement, sense separation)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lmnotes import wordvectors as W
from lmnotes.data.world import World

SENTS = [
    ["the", "robin", "can", "fly", "."],
    ["the", "sparrow", "can", "fly", "."],
    ["the", "trout", "can", "swim", "."],
    ["the", "salmon", "can", "swim", "."],
]


# ------------------------------------------------------------------------------------ counting


def test_build_vocab_orders_by_count_then_alphabet():
    words, counts = W.build_vocab([["b", "a", "c", "a"], "c b a"])
    assert words == ["a", "b", "c"] and counts == [3, 2, 2]
    assert W.build_vocab(SENTS, min_count=2) == ([".", "can", "the", "fly", "swim"], [4, 4, 4, 2, 2])
    with pytest.raises(ValueError, match="min_count"):
        W.build_vocab(SENTS, min_count=0)
    with pytest.raises(ValueError, match="lower min_count"):
        W.build_vocab(SENTS, min_count=100)
    with pytest.raises(TypeError, match="wrap it in a list"):
        W.build_vocab("the robin can fly")
    with pytest.raises(ValueError, match="empty"):
        W.build_vocab([])


def test_cooccurrence_counts_by_hand():
    C, words = W.cooccurrence_matrix([["a", "b", "c", "a"]], window=1, vocab=["a", "b", "c"])
    # pairs within one position: (a,b) (b,c) (c,a), each both ways
    want = torch.tensor([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=torch.float)
    assert words == ["a", "b", "c"] and torch.equal(C, want)
    C2, _ = W.cooccurrence_matrix([["a", "b", "c", "a"]], window=2, vocab=["a", "b", "c"])
    assert C2[0, 0] == 0 and C2[0, 2] == 2  # a..c at distance 2 and c,a at distance 1
    assert torch.equal(C2, C2.T)
    C3, _ = W.cooccurrence_matrix([["a", "b"], ["b", "c"]], window=5, vocab=["a", "b", "c"])
    assert C3[0, 2] == 0  # never across sentences
    with pytest.raises(ValueError, match="window"):
        W.cooccurrence_matrix(SENTS, window=0)


def test_ppmi_by_hand():
    C = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    N = 4.0
    want = torch.tensor(
        [
            [math.log((2 / N) / ((2 / N) * (3 / N))), 0.0],
            [max(0.0, math.log((1 / N) / ((2 / N) * (3 / N)))), math.log((1 / N) / ((2 / N) * (1 / N)))],
        ]
    )
    got = W.ppmi(C)
    assert torch.allclose(got, want.clamp_min(0), atol=1e-6)
    assert (got >= 0).all() and got[0, 1] == 0  # a pair never seen is 0, not -inf
    # a row of zeros (a word with no company) stays zero rather than nan
    Z = W.ppmi(torch.tensor([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    assert torch.isfinite(Z).all() and (Z[2] == 0).all()
    # context smoothing lowers the PMI of a rare context
    C = torch.tensor([[5.0, 1.0], [5.0, 0.0], [5.0, 0.0]])
    assert W.ppmi(C, alpha=0.75)[0, 1] < W.ppmi(C)[0, 1]


@pytest.mark.parametrize(
    "bad, match",
    [
        (torch.ones(3), "2-D"),
        (-torch.ones(2, 2), "non-negative"),
        (torch.zeros(2, 2), "all zero"),
        (torch.tensor([[1.0, float("nan")], [1.0, 1.0]]), "finite"),
    ],
)
def test_ppmi_refuses_bad_counts(bad, match):
    with pytest.raises(ValueError, match=match):
        W.ppmi(bad)
    with pytest.raises(ValueError, match="alpha"):
        W.ppmi(torch.ones(2, 2), alpha=0)


def test_svd_vectors_reconstruct_and_check_dim():
    g = torch.Generator().manual_seed(0)
    M = torch.randn(6, 2, generator=g) @ torch.randn(2, 6, generator=g)  # rank 2
    U = W.svd_vectors(M, dim=2, power=1.0)
    _, S, Vh = torch.linalg.svd(M)
    assert U.shape == (6, 2)
    # U S spans M's column space: projecting M on it loses nothing
    Q, _ = torch.linalg.qr(U.double())
    assert torch.allclose(Q @ (Q.T @ M.double()), M.double(), atol=1e-5)
    assert torch.allclose(U.norm(dim=0), S[:2].float(), atol=1e-4)
    assert torch.allclose(W.svd_vectors(M, 2, power=0.5).norm(dim=0), S[:2].float().sqrt(), atol=1e-4)
    with pytest.raises(ValueError, match="dim"):
        W.svd_vectors(M, dim=7)
    with pytest.raises(ValueError, match="2-D"):
        W.svd_vectors(torch.ones(3), dim=1)


# ------------------------------------------------------------------------------------ skip-gram


def test_skipgram_pairs_both_directions_within_window():
    c, o = W.skipgram_pairs([["a", "b", "c"]], ["a", "b", "c"], window=1)
    assert sorted(zip(c.tolist(), o.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    c, o = W.skipgram_pairs([["a", "x", "c"]], ["a", "c"], window=2)  # x is skipped
    assert sorted(zip(c.tolist(), o.tolist())) == [(0, 1), (1, 0)]


def test_noise_distribution_is_unigram_to_three_quarters():
    p = W.noise_distribution(torch.tensor([16.0, 1.0]))
    assert torch.allclose(p, torch.tensor([8.0, 1.0]) / 9)
    with pytest.raises(ValueError):
        W.noise_distribution(torch.zeros(3))


def test_negative_sampling_loss_matches_the_formula():
    g = torch.Generator().manual_seed(0)
    v, u, n = (
        torch.randn(4, 3, generator=g),
        torch.randn(4, 3, generator=g),
        torch.randn(4, 2, 3, generator=g),
    )
    want = torch.stack(
        [
            -torch.log(torch.sigmoid(u[b] @ v[b])) - torch.log(torch.sigmoid(-(n[b] @ v[b]))).sum()
            for b in range(4)
        ]
    ).mean()
    assert torch.allclose(W.negative_sampling_loss(v, u, n), want, atol=1e-6)
    # huge scores neither overflow nor give nan
    big = W.negative_sampling_loss(1e4 * v, u, n)
    assert torch.isfinite(big)
    with pytest.raises(ValueError, match="u_negative"):
        W.negative_sampling_loss(v, u, torch.randn(4, 3))
    with pytest.raises(ValueError, match="u_context"):
        W.negative_sampling_loss(v, u[:2], n)


def test_skipgram_model_starts_with_zero_output_vectors():
    m = W.SkipGram(10, 4)
    assert (m.context.weight == 0).all() and m.center.weight.abs().max() <= 0.5 / 4
    loss = m(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([[5, 6], [7, 8]]))
    assert torch.allclose(loss, torch.tensor(3 * math.log(2.0)))  # all scores 0: -log(1/2) per word
    with pytest.raises(ValueError):
        W.SkipGram(1, 4)


def test_train_skipgram_learns_who_keeps_company():
    world = World(0)
    sents = []
    for _ in range(150):
        for cat, verb in (("bird", "flew"), ("fish", "swam")):
            x = world.rng.choice(world.members(cat))
            sents.append(["the", x, verb, "over" if cat == "bird" else "under", "the", "lake", "."])
    wv = W.train_skipgram(sents, dim=8, window=2, epochs=5, lr=0.05, subsample=0, seed=0)
    assert wv.history[-1] < wv.history[0]
    birds, fish = world.members("bird"), world.members("fish")
    b = wv.lookup(birds)
    f = wv.lookup(fish)
    within = F.cosine_similarity(b[:, None], b[None], dim=-1).mean()
    across = F.cosine_similarity(b[:, None], f[None], dim=-1).mean()
    assert within > across + 0.3, (within, across)
    once = W.train_skipgram(sents[:50], dim=8, epochs=1, seed=3)
    assert torch.equal(
        once.vectors, W.train_skipgram(sents[:50], dim=8, epochs=1, seed=3).vectors
    )  # deterministic
    with pytest.raises(ValueError, match="negatives"):
        W.train_skipgram(sents, negatives=0)
    with pytest.raises(ValueError, match="subsample"):
        W.train_skipgram(sents, subsample=-1)
    with pytest.raises(ValueError, match="two distinct"):
        W.train_skipgram([["a", "a"]])


# ------------------------------------------------------------------------------------ word vectors


def test_word_vectors_lookup_and_nearest():
    wv = W.WordVectors(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
    assert "a" in wv and "z" not in wv and len(wv) == 3
    assert torch.equal(wv["c"], torch.tensor([0.0, 1.0]))
    assert [w for w, _ in wv.nearest("a", k=2)] == ["b", "c"]
    assert wv.nearest("a", k=1, among=["c"])[0][0] == "c"
    assert wv.similarity("a", "c") == pytest.approx(0.0)
    with pytest.raises(KeyError, match="not in the vocabulary"):
        wv["z"]
    with pytest.raises(ValueError, match="k must be"):
        wv.nearest("a", k=0)
    with pytest.raises(ValueError, match="shape"):
        W.WordVectors(["a"], torch.zeros(2, 2))
    with pytest.raises(ValueError, match="distinct"):
        W.WordVectors(["a", "a"], torch.zeros(2, 2))


def test_ppmi_svd_on_a_tiny_corpus():
    wv = W.ppmi_svd(SENTS * 5, dim=3, window=2)
    assert wv.vectors.shape == (len(wv.words), 3)
    assert wv.similarity("robin", "sparrow") > wv.similarity("robin", "trout")


# ------------------------------------------------------------------------------------ measurements


def _taxonomy_vectors(noise: float, seed: int = 0):
    world = World(0)
    g = torch.Generator().manual_seed(seed)
    centres = {c: torch.randn(16, generator=g) for c in world.categories}
    ents = world.entities
    X = torch.stack([centres[world.category_of(e)] + noise * torch.randn(16, generator=g) for e in ents])
    return W.WordVectors(ents, X)


def test_taxonomy_agreement_perfect_chance_and_bad_input():
    assert W.taxonomy_agreement(_taxonomy_vectors(0.01), k=3) == 1.0
    # random vectors: about (n_c - 1) / (N - 1) = 0.15 on average
    chance = sum(W.taxonomy_agreement(_taxonomy_vectors(100.0, s), k=3) for s in range(20)) / 20
    assert 0.08 < chance < 0.25, chance
    with pytest.raises(ValueError, match="know 2 of the 37"):
        W.taxonomy_agreement(W.WordVectors(["robin", "oak"], torch.randn(2, 4)), k=3)
    with pytest.raises(ValueError, match="k must"):
        W.taxonomy_agreement(_taxonomy_vectors(0.1), k=0)


def test_neighbour_agreement_by_hand():
    wv = W.WordVectors(
        ["good", "great", "bad", "awful", "oak"],
        torch.tensor([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0], [0.1, 1.0], [1.0, 1.0]]),
    )
    labels = {"good": "+", "great": "+", "bad": "-", "awful": "-", "zebra": "-"}  # zebra: unknown, left out
    assert W.neighbour_agreement(wv, labels, k=1) == 1.0
    assert W.neighbour_agreement(wv, labels, k=2) == pytest.approx(0.5)  # the other pair comes second
    with pytest.raises(ValueError, match="at least k"):
        W.neighbour_agreement(wv, labels, k=4)


def test_sense_agreement_is_a_coin_toss_for_one_vector_per_form():
    v = torch.tensor([1.0, 2.0, 3.0])
    # every occurrence ties with the 3 others, 1 of which has its sense
    assert W.sense_agreement(v.repeat(4, 1), ["river", "money", "river", "money"]) == pytest.approx(1 / 3)
    X = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    assert W.sense_agreement(X, ["river", "river", "money", "money"]) == 1.0
    assert W.sense_agreement(X, ["river", "money", "river", "money"]) == 0.0
    # per word: the mean over words
    both = W.sense_agreement(
        torch.cat([X, v[:2].repeat(4, 1)]), ["r", "r", "m", "m"] * 2, groups=["bank"] * 4 + ["bat"] * 4
    )
    assert both == pytest.approx((1.0 + 1 / 3) / 2)
    with pytest.raises(ValueError, match="only one sense"):
        W.sense_agreement(X, ["river"] * 4)
    with pytest.raises(ValueError, match="N = len"):
        W.sense_agreement(X, ["river"])
    with pytest.raises(ValueError, match="groups"):
        W.sense_agreement(X, ["r", "r", "m", "m"], groups=["bank"])


def test_window_average_reads_the_neighbours_only():
    wv = W.WordVectors(["the", "river", "bank", "was"], torch.eye(4))
    out = W.window_average(wv, [["the", "river", "bank", "was", "old"]], [2], window=1)
    assert torch.allclose(out[0], torch.tensor([0.0, 0.5, 0.0, 0.5]))  # river and was; bank itself left out
    out = W.window_average(wv, [["old", "bank", "old"]], [1], window=1)
    assert torch.equal(out[0], torch.zeros(4))  # no known neighbour
    with pytest.raises(ValueError, match="outside"):
        W.window_average(wv, [["the", "bank"]], [5])
    with pytest.raises(ValueError, match="one position per sentence"):
        W.window_average(wv, [["the", "bank"]], [0, 1])
