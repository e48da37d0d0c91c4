"""Frozen features, baselines and learning curves (lmnotes.transfer), with tiny untrained encoders so that
nothing is pretrained here; and the learning-curve plot and widget figure that show them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from lmnotes import transfer as T
from lmnotes import viz, widgets
from lmnotes.analysis import contextual_vectors, word_features
from lmnotes.data import BPETokenizer, ELMoTokenizer, WordTokenizer
from lmnotes.models.bert import Bert, BertConfig
from lmnotes.models.elmo import BiLM, ELMoConfig
from lmnotes.models.gpt import GPT, GPTConfig
from lmnotes.wordvectors import WordVectors

SENTS = [
    ["the", "river", "bank", "was", "old", "."],
    ["they", "watch", "the", "birds", "."],
    ["the", "watch", "was", "old", "."],
]
TEXTS = [" ".join(s) for s in SENTS]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------------ tasks


@pytest.mark.parametrize("name", T.TASKS)
def test_task_data_shapes_and_labels(name):
    task = T.task_data(name, n=80, seed=0)
    assert task.name == name and task.level == ("sentence" if name == "sentiment" else "word")
    for ex in (task.pool, task.test):
        assert len(ex.words) == len(ex.index) == len(ex.labels) > 0
        assert all(0 <= j < len(w) for w, j in zip(ex.words, ex.index))
        assert int(ex.labels.max()) < len(task.label_names)
    if name == "sentiment":
        assert task.label_names == ["negative", "positive"] and len(task.test) == 20
        assert all(w[j] == "." for w, j in zip(task.pool.words, task.pool.index))
    if name == "part of speech":
        assert task.label_names == ["NOUN", "VERB"]
    if name == "word sense":
        assert len(task.label_names) == 8


def test_taxonomy_test_words_are_never_in_the_pool():
    task = T.task_data("taxonomy", seed=0)
    pool = {w[1] for w in task.pool.words}
    test = {w[1] for w in task.test.words}
    assert not pool & test and len(test) == 12 and len(pool) == 25
    assert torch.bincount(task.test.labels).tolist() == [2] * 6  # two of each category
    assert {w[1] for w in T.task_data("taxonomy", seed=1).test.words} != test  # the seed picks them


def test_task_data_refuses_bad_input():
    with pytest.raises(ValueError, match="unknown task"):
        T.task_data("topic")
    with pytest.raises(ValueError, match="n must be"):
        T.task_data("sentiment", n=5)
    with pytest.raises(ValueError, match="test_share"):
        T.task_data("sentiment", test_share=1.0)


def test_examples_select_keeps_rows_together():
    ex = T.Examples(SENTS, [2, 1, 1], torch.tensor([0, 1, 0]))
    sub = ex.select(torch.tensor([2, 0]))
    assert sub.words == [SENTS[2], SENTS[0]] and sub.index == [1, 2] and sub.labels.tolist() == [0, 0]


# ------------------------------------------------------------------------------------ features


def test_static_features_word_and_sentence():
    wv = WordVectors(["the", "watch", "old"], torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]))
    ex = T.Examples([["the", "watch", "zebra"]], [1], torch.tensor([0]))
    assert torch.equal(T.features(wv, None, ex, "word"), torch.tensor([[[0.0, 1.0]]]))
    assert torch.allclose(T.features(wv, None, ex, "sentence"), torch.tensor([[[0.5, 0.5]]]))  # zebra unknown
    unknown = T.Examples([["zebra"]], [0], torch.tensor([0]))
    assert torch.equal(T.features(wv, None, unknown), torch.zeros(1, 1, 2))


def _tiny_gpt():
    tok = WordTokenizer().train(TEXTS)
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2, d_model=8)), tok


def test_gpt_features_read_the_model_hidden_states():
    model, tok = _tiny_gpt()
    X = T.gpt_features(model, tok, SENTS, [2, 1, 1])
    assert X.shape == (3, 3, 8)
    ids = torch.tensor([[tok.bos_id] + tok.encode(TEXTS[0])])
    hs = model(ids, output_hidden_states=True).hidden_states
    for layer in range(3):
        assert torch.allclose(
            X[layer, 0], hs[layer][0, 3], atol=1e-5
        )  # word 2 sits after [BOS] at position 3
    # causal: changing words after the one read changes nothing
    other = [["the", "river", "bank", "birds", "watch", "the", "."]]
    assert torch.allclose(T.gpt_features(model, tok, other, [2])[:, 0], X[:, 0], atol=1e-5)
    # without index: the mean over the words
    mean = T.gpt_features(model, tok, SENTS[:1])
    each = T.gpt_features(model, tok, SENTS[:1] * 6, list(range(6)))
    assert torch.allclose(mean[:, 0], each.mean(1), atol=1e-5)
    with pytest.raises(ValueError, match="outside"):
        T.gpt_features(model, tok, SENTS[:1], [9])
    with pytest.raises(ValueError, match="one position per sentence"):
        T.gpt_features(model, tok, SENTS, [0])


def test_features_route_each_encoder_and_average_sentences():
    ex = T.Examples(SENTS, [2, 1, 1], torch.tensor([0, 1, 0]))
    etok = ELMoTokenizer().train(TEXTS)
    torch.manual_seed(0)
    bilm = BiLM(
        ELMoConfig(
            vocab_size=etok.vocab_size,
            n_chars=etok.n_chars,
            max_word_len=etok.max_word_len,
            d=8,
            filters=((1, 4), (2, 4)),
        )
    )
    assert torch.equal(T.features(bilm, etok, ex), contextual_vectors(bilm, etok, ex.words, index=ex.index))
    per_word = contextual_vectors(bilm, etok, ex.words)
    assert torch.allclose(T.features(bilm, etok, ex, "sentence")[:, 1], per_word[1].mean(1), atol=1e-6)

    btok = BPETokenizer().train(TEXTS, vocab_size=40)
    bert = Bert(
        BertConfig(
            vocab_size=btok.vocab_size, max_position=32, d_model=8, n_layer=2, n_head=2, d_ff=16, dropout=0.0
        )
    ).eval()
    assert torch.equal(T.features(bert, btok, ex), word_features(bert, btok, ex.words, ex.index))
    words = SENTS[1]
    each = word_features(bert, btok, [words] * len(words), list(range(len(words))))  # (L, n, C)
    assert torch.allclose(T.features(bert, btok, ex, "sentence")[:, 1], each.mean(1), atol=1e-5)

    with pytest.raises(TypeError, match="WordVectors, an ELMo BiLM"):
        T.features(torch.nn.Linear(2, 2), None, ex)
    with pytest.raises(ValueError, match="level"):
        T.features(bilm, etok, ex, "paragraph")


def test_flat_puts_layers_side_by_side():
    x = torch.arange(12.0).reshape(3, 2, 2)  # (L, N, D)
    assert T.flat(x).tolist() == [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    with pytest.raises(ValueError, match="L, N, D"):
        T.flat(torch.zeros(2, 2))


def test_bag_of_words_counts_pool_words_only():
    pool = T.Examples([["the", "film", "was", "good", "and", "good"]], [5], torch.tensor([1]))
    test = T.Examples([["the", "zebra", "was", "good"]], [3], torch.tensor([1]))
    P, Q = T.bag_of_words(pool, test)
    vocab = sorted(set(pool.words[0]))
    assert P.shape == Q.shape == (1, len(vocab))
    assert P[0, vocab.index("good")] == 2 and Q.sum() == 3  # zebra has no column


# ------------------------------------------------------------------------------------ learning curves


def test_balanced_draw():
    y = torch.tensor([0] * 10 + [1] * 5 + [2] * 5)
    rows = T.balanced_draw(y, 6, seed=0)
    assert len(set(rows.tolist())) == 6 and torch.bincount(y[rows]).tolist() == [2, 2, 2]
    assert torch.equal(rows, T.balanced_draw(y, 6, seed=0))
    assert not torch.equal(rows, T.balanced_draw(y, 6, seed=1))
    with pytest.raises(ValueError, match="multiple of the 3 classes"):
        T.balanced_draw(y, 4)
    with pytest.raises(ValueError, match="has 5 examples"):
        T.balanced_draw(y, 18)
    with pytest.raises(ValueError, match="non-empty"):
        T.balanced_draw(torch.tensor([]), 2)


def test_learning_curve_calls_the_score_per_budget_and_seed():
    y = torch.tensor([0, 1] * 20)
    seen = []

    def score(rows, seed):
        seen.append((len(rows), seed))
        return len(rows) / 100

    curve = T.learning_curve(score, y, budgets=[2, 8], seeds=[3, 4])
    assert curve == {2: [0.02, 0.02], 8: [0.08, 0.08]}
    assert seen == [(2, 3), (2, 4), (8, 3), (8, 4)]
    with pytest.raises(ValueError, match="at least one"):
        T.learning_curve(score, y, budgets=[], seeds=[0])


def test_probe_score_learns_from_few_labels_with_pool_statistics():
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1] * 100)
    X = torch.randn(200, 5, generator=g) + 3 * y[:, None].float()
    y_test = torch.tensor([0, 1] * 50)
    X_test = torch.randn(100, 5, generator=g) + 3 * y_test[:, None].float()
    score = T.probe_score(X, y, X_test, y_test)
    assert score(T.balanced_draw(y, 4, 0), 0) > 0.9
    with pytest.raises(ValueError, match="same D"):
        T.probe_score(X, y, X_test[:, :3], y_test)
    with pytest.raises(ValueError, match="labels"):
        T.probe_score(X, y[:10], X_test, y_test)


def test_scratch_score_knows_only_pool_words():
    task = T.task_data("taxonomy", seed=0)
    acc = T.scratch_score(task, steps=20)(T.balanced_draw(task.pool.labels, 6, 0), 0)
    # every test word is unknown to it: the same input for every test example, one answer for all
    assert acc == pytest.approx(2 / 12)


# ------------------------------------------------------------------------------------ plot and widget

CURVES = {
    "taxonomy": {
        "gpt-world": {6: [0.9, 1.0], 12: [1.0, 1.0]},
        "scratch": {6: [0.17, 0.17], 12: [0.17, 0.17]},
        "bag of words": {6: [0.17, 0.17], 12: [0.17, 0.17]},
    }
}


def test_plot_learning_curves():
    ax = viz.plot_learning_curves(CURVES["taxonomy"], chance=1 / 6, highlight=["gpt-world"], title="t")
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["gpt-world", "scratch", "bag of words", "chance"]
    assert list(lines[0].get_ydata()) == pytest.approx([0.95, 1.0])
    assert ax.get_xscale() == "log" and ax.get_title() == "t"
    with pytest.raises(ValueError, match="empty"):
        viz.plot_learning_curves({})
    with pytest.raises(ValueError, match="at least one accuracy"):
        viz.plot_learning_curves({"a": {8: []}})


def test_transfer_figure_and_explorer():
    ax = widgets.transfer_figure(CURVES, "taxonomy", "gpt-world", 6)
    assert ax.get_title() == "taxonomy, 6 labels: gpt-world 0.95, scratch 0.17, bag of words 0.17"
    with pytest.raises(ValueError, match="unknown task"):
        widgets.transfer_figure(CURVES, "sentiment", "gpt-world", 6)
    with pytest.raises(ValueError, match="no curve"):
        widgets.transfer_figure(CURVES, "taxonomy", "elmo-world", 6)
    with pytest.raises(ValueError, match="was not measured"):
        widgets.transfer_figure(CURVES, "taxonomy", "gpt-world", 7)
    ui = widgets.transfer_explorer(CURVES)
    assert ui.children[0].children[1].options == ("gpt-world",)  # baselines are not offered as encoders


# ------------------------------------------------------------------------------------ the chapter's place in the book


def test_the_chapter_comes_first_in_the_toc_and_the_intro_links_it():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parent.parent
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    chapters = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    numbered = [c for c in chapters if c.split("/")[1][:2].isdigit() and not c.startswith("book/00-")]
    assert numbered[0] == "book/01-representation-learning/index", numbered
    part = next(p for p in toc["parts"] if p["chapters"][0]["file"] == numbered[0])
    sections = [s["file"].rsplit("/", 1)[1] for s in part["chapters"][0]["sections"]]
    assert sections == ["task-specific-model", "word-vectors", "transfer"]
    for name in sections:
        assert (root / "book" / "01-representation-learning" / f"{name}.ipynb").is_file()
    intro = (root / "book" / "intro.md").read_text()
    assert (
        "<01-representation-learning/index>`" in intro and "Representation learning *(planned)*" not in intro
    )
