"""The bias notebook's pieces: the skewed corpus, WEAT and its permutation test, the preference rate, the exercises."""

import math

import pytest
import torch

from lmnotes import challenges
from lmnotes.challenges import bias
from lmnotes.data.challenges.bias import (
    FEMALE_WORDS,
    MALE_WORDS,
    OCCUPATIONS,
    TEMPLATES,
    minimal_pairs,
    render,
    skewed_corpus,
)
from lmnotes.exercises import EXERCISES, names, reference, run_check
from lmnotes.wordvectors import WordVectors

# ---------------------------------------------------------------------------------------------- the corpus knob


def _pronoun_counts(data, occupation):
    """Count he-forms and she-forms in the sentences that name ``occupation`` (read from the text itself)."""
    he = she = 0
    for t in data["texts"]:
        words = t.split()
        if occupation in words:
            he += sum(w in MALE_WORDS for w in words)
            she += sum(w in FEMALE_WORDS for w in words)
    return he, she


@pytest.mark.parametrize("p", [0.5, 0.7, 0.9, 1.0])
def test_skew_is_what_was_asked(p):
    data = skewed_corpus(p, per_template=20, n_filler=50, seed=3)
    assert len(data["he_occupations"]) == len(data["she_occupations"]) == 6
    assert not set(data["he_occupations"]) & set(data["she_occupations"])
    for occ in data["he_occupations"]:
        he, she = _pronoun_counts(data, occ)
        assert he / (he + she) == pytest.approx(p, abs=1e-9)
        assert data["he_share"][occ] == pytest.approx(p)
    for occ in data["she_occupations"]:
        he, she = _pronoun_counts(data, occ)
        assert she / (he + she) == pytest.approx(p, abs=1e-9)
    # both pronouns equally frequent overall, whatever p
    words = " ".join(data["texts"]).split()
    assert words.count("he") == words.count("she")


def test_skew_rounds_to_whole_sentences_and_is_seeded():
    data = skewed_corpus(0.7, per_template=24, n_filler=0, seed=0)
    assert data["he_share"][data["he_occupations"][0]] == pytest.approx(17 / 24)  # round(0.7 * 24) = 17
    assert (
        skewed_corpus(0.7, n_filler=20, seed=0)["texts"] == skewed_corpus(0.7, n_filler=20, seed=0)["texts"]
    )
    groups = {tuple(skewed_corpus(0.7, n_filler=0, seed=s)["he_occupations"]) for s in range(4)}
    assert len(groups) > 1  # the seed decides which occupations lean which way
    assert len(skewed_corpus(0.7, n_filler=30, seed=0)["texts"]) == 12 * len(TEMPLATES) * 24 + 30


def test_cda_adds_the_swapped_copy_of_each_sentence():
    plain = skewed_corpus(0.9, per_template=10, n_filler=0, seed=1)
    data = skewed_corpus(0.9, per_template=10, n_filler=0, cda=True, seed=1)
    assert len(data["texts"]) == 2 * len(plain["texts"])
    originals = [s for s in data["sentences"] if not s["counterfactual"]]
    copies = [s for s in data["sentences"] if s["counterfactual"]]
    assert [s["text"] for s in originals] == [s["text"] for s in plain["sentences"]]
    swap = {"he": "she", "him": "her", "his": "her", "she": "he"}
    for o, c in zip(originals, copies):
        a, b = o["text"].split(), c["text"].split()
        differ = [(x, y) for x, y in zip(a, b) if x != y]
        assert len(a) == len(b) and len(differ) == 1, (o, c)
        x, y = differ[0]
        assert swap.get(x, None) == y or (x == "her" and y in ("him", "his")), (o, c)
    assert set(data["he_share"].values()) == {0.5}


def test_p_half_is_unskewed_and_filler_has_no_pronoun():
    data = skewed_corpus(0.5, per_template=6, n_filler=200, seed=2)
    assert set(data["he_share"].values()) == {0.5}
    occupation_texts = {s["text"] for s in data["sentences"]}
    for t in data["texts"]:
        if t not in occupation_texts:
            assert not set(t.split()) & set(MALE_WORDS + FEMALE_WORDS), t


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(p=1.2), ValueError),
        (dict(p=-0.1), ValueError),
        (dict(p="0.9"), ValueError),
        (dict(p=True), ValueError),
        (dict(per_template=0), ValueError),
        (dict(n_occupations=5), ValueError),
        (dict(n_occupations=14), ValueError),
        (dict(n_filler=-1), ValueError),
        (dict(cda="yes"), TypeError),
        (dict(seed=-1), ValueError),
    ],
)
def test_skewed_corpus_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        skewed_corpus(**kwargs)


def test_render_and_minimal_pairs():
    assert render(TEMPLATES[1], "pilot", "she") == f"the pilot took her {OCCUPATIONS['pilot']} ."
    assert (
        render(TEMPLATES[3], "nurse", "he")
        == f"we gave the nurse the {OCCUPATIONS['nurse']} and thanked him ."
    )
    with pytest.raises(ValueError, match="pronoun"):
        render(TEMPLATES[0], "pilot", "they")
    with pytest.raises(ValueError, match="occupation"):
        render(TEMPLATES[0], "wizard", "he")
    pairs = minimal_pairs(["pilot"], ["nurse"], per_template=2, seed=0)
    assert len(pairs) == 2 * len(TEMPLATES) * 2
    for q in pairs:
        a, b = q["stereotype"].split(), q["anti"].split()
        assert sum(x != y for x, y in zip(a, b)) == 1
        lean = MALE_WORDS if q["occupation"] == "pilot" else FEMALE_WORDS
        assert set(a) & set(lean) and not set(b) & set(lean)
    with pytest.raises(ValueError, match="both ways"):
        minimal_pairs(["pilot"], ["pilot"])
    with pytest.raises(ValueError, match="at least one"):
        minimal_pairs([], ["nurse"])


# ---------------------------------------------------------------------------------------------- WEAT

T = lambda rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731
# A hand-computed example: with A = {(1, 0)} and B = {(0, 1)} the associations are 1, 0 for X and -1, -1 for Y.
X, Y, A, B = T([[1, 0], [1, 1]]), T([[0, 1], [0, 2]]), T([[1, 0]]), T([[0, 1]])


def test_associations_by_hand():
    assert bias.associations(torch.cat([X, Y]), A, B).tolist() == pytest.approx([1, 0, -1, -1])


def test_effect_size_by_hand():
    # difference of means 0.5 - (-1) = 1.5; sample std of (1, 0, -1, -1) = sqrt(2.75 / 3)
    assert bias.weat_effect_size(X, Y, A, B) == pytest.approx(1.5 / math.sqrt(2.75 / 3))


def test_effect_size_flips_sign_when_targets_or_attributes_swap():
    g = torch.Generator().manual_seed(0)
    x, y, a, b = (torch.randn(n, 5, generator=g) for n in (4, 4, 3, 2))
    d = bias.weat_effect_size(x, y, a, b)
    assert bias.weat_effect_size(y, x, a, b) == pytest.approx(-d)
    assert bias.weat_effect_size(x, y, b, a) == pytest.approx(-d)
    assert bias.weat_effect_size(x * 3.0, y * 0.5, a, b) == pytest.approx(d)  # cosine: lengths do not matter


def test_p_value_by_hand_and_its_behaviour():
    # 6 splits of four words into two pairs; only the observed one reaches a gap of 1.5
    assert bias.weat_p_value(X, Y, A, B) == pytest.approx(1 / 6)
    assert bias.weat_p_value(Y, X, A, B) == pytest.approx(1.0)  # the strongest grouping the other way
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(3, 8, generator=g), torch.randn(3, 8, generator=g)
    x = a.mean(0) + 0.3 * torch.randn(6, 8, generator=g)  # near A
    y = b.mean(0) + 0.3 * torch.randn(6, 8, generator=g)  # near B
    assert bias.weat_p_value(x, y, a, b) == pytest.approx(
        1 / math.comb(12, 6)
    )  # exact test: the most extreme
    assert bias.weat_effect_size(x, y, a, b) > 1.5
    sampled = bias.weat_p_value(x, y, a, b, n_permutations=500, seed=0)
    assert sampled == pytest.approx(1 / 501)  # sampled test: the observed split is counted once
    # no association at all: mixed sets give a large p-value
    mixed_x, mixed_y = torch.cat([x[:3], y[:3]]), torch.cat([x[3:], y[3:]])
    assert bias.weat_p_value(mixed_x, mixed_y, a, b) > 0.05
    assert bias.weat_p_value(x, y, a, b, n_permutations=200, seed=3) == bias.weat_p_value(
        x, y, a, b, n_permutations=200, seed=3
    )


def test_weat_on_word_vectors_and_bad_input():
    wv = WordVectors(["x1", "x2", "y1", "y2", "a", "b"], torch.cat([X, Y, A, B]).float())
    out = bias.weat(wv, ["x1", "x2"], ["y1", "y2"], ["a"], ["b"])
    assert out["d"] == pytest.approx(1.5 / math.sqrt(2.75 / 3), rel=1e-5)
    assert out["p_value"] == pytest.approx(1 / 6)
    assert out["s_x"] == pytest.approx([1, 0], abs=1e-6) and out["s_y"] == pytest.approx([-1, -1], abs=1e-6)
    with pytest.raises(TypeError, match="WordVectors"):
        bias.weat({"a": 1}, ["x1"], ["y1"], ["a"], ["b"])
    with pytest.raises(TypeError, match="list of words"):
        bias.weat(wv, "x1", ["y1"], ["a"], ["b"])
    with pytest.raises(ValueError, match="share"):
        bias.weat(wv, ["x1", "x2"], ["x2", "y1"], ["a"], ["b"])
    with pytest.raises(KeyError):
        bias.weat(wv, ["x1", "zz"], ["y1", "y2"], ["a"], ["b"])
    with pytest.raises(TypeError, match="tensor"):
        bias.weat_effect_size([[1.0, 0.0]], Y, A, B)
    with pytest.raises(ValueError, match="dimension"):
        bias.weat_effect_size(X, Y, A, T([[1, 0, 0]]))
    with pytest.raises(ValueError, match="three words"):
        bias.weat_effect_size(X[:1], Y[:1], A, B)
    with pytest.raises(ValueError, match="same association"):
        bias.weat_effect_size(T([[1, 0], [2, 0]]), T([[3, 0], [1, 0]]), A, B)
    with pytest.raises(ValueError, match="n_permutations"):
        bias.weat_p_value(X, Y, A, B, n_permutations=0)


# ---------------------------------------------------------------------------------------------- preference rate


@pytest.fixture(scope="module")
def skewed_model():
    data = skewed_corpus(1.0, per_template=12, n_occupations=4, n_filler=0, seed=0)
    pairs = minimal_pairs(data["he_occupations"], data["she_occupations"], seed=0)
    vocab = [q["anti"] for q in pairs]  # every animal of the pairs is a word of the vocabulary
    model, tok, _ = challenges.train_tiny_gpt(data["texts"], seed=0, vocab_texts=vocab, steps=200)
    return data, model, tok


def test_preference_rate_follows_a_fully_skewed_corpus(skewed_model):
    data, model, tok = skewed_model
    pairs = minimal_pairs(data["he_occupations"], data["she_occupations"], seed=0)
    out = bias.preference_rate(model, tok, pairs)
    assert out["rate"] >= 0.9 and len(out["gap"]) == len(pairs)
    # the same pairs read the other way round: the rate is its complement
    flipped = [{"stereotype": q["anti"], "anti": q["stereotype"]} for q in pairs]
    assert bias.preference_rate(model, tok, flipped)["rate"] == pytest.approx(1 - out["rate"])
    # a pair of identical sentences is a tie, counted one half
    same = [{"stereotype": pairs[0]["stereotype"], "anti": pairs[0]["stereotype"]}]
    assert bias.preference_rate(model, tok, same)["rate"] == 0.5


def test_preference_rate_gap_is_the_log_likelihood_difference(skewed_model):
    data, model, tok = skewed_model
    q = minimal_pairs(data["he_occupations"], data["she_occupations"], per_template=1, seed=1)[0]
    lp = challenges.token_log_probs(model, tok, [q["stereotype"], q["anti"]])
    gap = bias.preference_rate(model, tok, [q])["gap"][0]
    assert gap == pytest.approx(float(lp[0].sum() - lp[1].sum()), abs=1e-5)


def test_preference_rate_and_embeddings_bad_input(skewed_model):
    data, model, tok = skewed_model
    with pytest.raises(ValueError, match="empty"):
        bias.preference_rate(model, tok, [])
    with pytest.raises(ValueError, match="'stereotype' and 'anti'"):
        bias.preference_rate(model, tok, [("a", "b")])
    with pytest.raises(ValueError, match="vocabulary"):
        bias.preference_rate(model, tok, [{"stereotype": "the wizard took his wand .", "anti": "x"}])
    wv = bias.input_embeddings(model, tok)
    assert "[BOS]" not in wv.words and "he" in wv and wv.vectors.shape[1] == model.config.d_model
    with pytest.raises(TypeError, match="GPT"):
        bias.input_embeddings(object(), tok)


# ---------------------------------------------------------------------------------------------- exercises


def test_exercises_registered_under_the_chapter():
    names()  # loads every chapter's exercises
    assert EXERCISES["weat_test"].chapter == "challenges"
    assert EXERCISES["skewed_probability"].chapter == "challenges"


def test_weat_exercise_reference_passes_and_matches_the_package():
    assert run_check("weat_test", reference("weat_test")) == ("correct", "weat_test: Correct!")
    d, p = reference("weat_test")(X, Y, A, B)
    assert d == pytest.approx(bias.weat_effect_size(X, Y, A, B)) and p == pytest.approx(
        bias.weat_p_value(X, Y, A, B)
    )


def _weat_variant(std="sample", normalise=True, sim="cos", count="ge", sides=1, sums=False):
    import itertools

    import torch.nn.functional as F

    def fn(X, Y, A, B):
        def s(w):
            f = (lambda u, V: F.cosine_similarity(u[None], V)) if sim == "cos" else (lambda u, V: V @ u)
            return f(w, A).mean() - f(w, B).mean()

        assoc = torch.stack([s(w) for w in torch.cat([X, Y])])
        k = len(X)
        obs = assoc[:k].mean() - assoc[k:].mean()
        top = assoc[:k].sum() - assoc[k:].sum() if sums else obs
        d = top / assoc.std(unbiased=(std == "sample")) if normalise else obs
        gaps = []
        for chosen in itertools.combinations(range(len(assoc)), k):
            inside = torch.zeros(len(assoc), dtype=torch.bool)
            inside[list(chosen)] = True
            gaps.append(assoc[inside].mean() - assoc[~inside].mean())
        gaps = torch.stack(gaps)
        if sides == 2:
            p = (gaps.abs() >= obs.abs() - 1e-12).double().mean()
        elif count == "gt":
            p = (gaps > obs + 1e-12).double().mean()
        else:
            p = (gaps >= obs - 1e-12).double().mean()
        return float(d), float(p)

    return fn


@pytest.mark.parametrize(
    "variant, words",
    [
        (dict(std="population"), "population standard deviation"),
        (dict(normalise=False), "divides it by the"),
        (dict(sim="dot"), "cosine similarity, not the dot product"),
        (dict(sums=True), "SUMS"),
        (dict(count="gt"), "observed split included"),
        (dict(sides=2), "two-sided"),
    ],
)
def test_weat_exercise_names_the_mistake(variant, words):
    status, msg = run_check("weat_test", _weat_variant(**variant))
    assert status == "wrong" and words in msg, msg


def test_weat_exercise_rejects_a_wrong_shape_of_answer():
    status, msg = run_check("weat_test", lambda X, Y, A, B: 1.0)
    assert status == "wrong" and "pair (d, p_value)" in msg
    status, msg = run_check("weat_test", lambda X, Y, A, B: (-reference("weat_test")(X, Y, A, B)[0], 0.05))
    assert status == "wrong" and "wrong sign" in msg


def test_skewed_probability_question():
    assert run_check("skewed_probability", 0.9)[0] == "correct"
    status, msg = run_check("skewed_probability", 1.0)
    assert status == "wrong" and "preference rate" in msg
    assert "counterfactual" in run_check("skewed_probability", 0.5)[1]
    assert run_check("skewed_probability", None)[0] == "not attempted"
