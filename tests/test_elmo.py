"""ELMo (the model, its recipe and analyses): shapes, both causality properties, the shared softmax, ScalarMix,
training."""

from __future__ import annotations

import math

import pytest
import torch

from lmnotes.analysis import contextual_vectors, nearest_neighbours, ngram_perplexity
from lmnotes.data.tokenizers import ELMoTokenizer
from lmnotes.models.elmo import BiLM, CharCNN, ELMoConfig, ScalarMix, lm_targets, reverse_padded
from lmnotes.recipes.elmo import lm_batches, perplexity

TEXTS = [
    "the river bank was old .",
    "the money was near the big bank .",
    "the children watch the birds .",
    "the watch was old .",
    "a robin is a bird .",
    "birds can fly .",
]


@pytest.fixture(scope="module")
def tok():
    return ELMoTokenizer().train(TEXTS)


@pytest.fixture()
def model(tok):
    torch.manual_seed(0)
    return BiLM(
        ELMoConfig(
            vocab_size=tok.vocab_size,
            n_chars=tok.n_chars,
            d=16,
            filters=((1, 8), (2, 8), (3, 8)),
            dropout=0.0,
        )
    ).eval()


def test_tokenizer_shapes_and_marks(tok):
    chars, ids = tok.encode("the bank was old .")
    assert chars.shape == (7, 16) and ids.shape == (7,)
    assert ids[0] == tok.words.bos_id and ids[-1] == tok.words.eos_id
    assert chars[0, 1] == tok.bos_char and chars[-1, 1] == tok.eos_char
    assert chars[1, 0] == tok.bow_char and chars[1, 4] == tok.eow_char  # "the": bow t h e eow
    b = tok.batch(["the bank .", "the river bank was old ."])
    assert b["char_ids"].shape == (2, 8, 16) and b["word_ids"].shape == (2, 8)
    assert b["lengths"].tolist() == [5, 8]
    assert (b["char_ids"][0, 5:] == 0).all() and (b["word_ids"][0, 5:] == 0).all()


def test_long_words_are_truncated_to_the_character_window(tok):
    chars = tok.word_to_chars("x" * 40)
    assert len(chars) == tok.max_word_len
    assert chars[0] == tok.bow_char and chars[-1] == tok.eow_char  # max_word_len - 2 characters kept
    assert tok.word_to_chars("b" * 14 + "zzz") == tok.word_to_chars("b" * 14 + "q")


def test_unseen_characters_map_to_the_unknown_id(tok):
    chars = tok.word_to_chars("bé!")
    assert chars[1] == tok._char_id["b"]
    assert chars[2] == tok.unk_char and chars[3] == tok.unk_char
    _, ids = tok.encode("the zebra")
    assert ids[2] == tok.words.unk_id


@pytest.mark.parametrize("bad", ["", "   ", []])
def test_empty_sentence_is_a_clear_error(tok, bad):
    with pytest.raises(ValueError, match="empty"):
        tok.encode(bad)


def test_layers_shapes(tok, model):
    b = tok.batch(TEXTS[:3])
    h = model.layers(b["char_ids"])
    B, T = b["word_ids"].shape
    assert h.shape == (3, B, T, 2 * 16)
    assert torch.equal(h[0, ..., :16], h[0, ..., 16:])  # the token layer, duplicated
    s = model.states(b["char_ids"])
    assert torch.equal(h[2, ..., :16], s["forward"][1]) and torch.equal(h[1, ..., 16:], s["backward"][0])
    assert CharCNN(model.config)(b["char_ids"]).shape == (B, T, 16)


def test_padding_does_not_change_a_sentence(tok, model):
    alone = model.layers(tok.batch([TEXTS[0]])["char_ids"])[:, 0]
    padded = model.layers(tok.batch([TEXTS[0], TEXTS[1]])["char_ids"])[:, 0, : alone.shape[1]]
    assert torch.allclose(alone, padded, atol=1e-5)


def _swap(tok, sentence, k, word):
    words = sentence.split()
    words[k] = word
    return tok.batch([" ".join(words)])["char_ids"]


def test_forward_direction_never_sees_the_right(tok, model):
    s = "the money was near the big bank ."
    a, b = tok.batch([s])["char_ids"], _swap(tok, s, 5, "river")  # word 5 = position 6 after <S>
    sa, sb = model.states(a), model.states(b)
    for j in range(2):
        assert torch.allclose(sa["forward"][j][:, :6], sb["forward"][j][:, :6], atol=1e-6)
        assert not torch.allclose(sa["forward"][j][:, 6:], sb["forward"][j][:, 6:], atol=1e-4)


def test_backward_direction_never_sees_the_left(tok, model):
    s = "the money was near the big bank ."
    a, b = tok.batch([s])["char_ids"], _swap(tok, s, 1, "river")  # position 2
    sa, sb = model.states(a), model.states(b)
    for j in range(2):
        assert torch.allclose(sa["backward"][j][:, 3:], sb["backward"][j][:, 3:], atol=1e-6)
        assert not torch.allclose(sa["backward"][j][:, :3], sb["backward"][j][:, :3], atol=1e-4)


def test_one_softmax_shared_by_both_directions(tok, model):
    V, d = model.config.vocab_size, model.config.d
    outputs = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == V]
    assert outputs == [model.softmax]
    b = tok.batch(TEXTS)
    for name in ("forward_loss", "backward_loss"):
        model.zero_grad()
        out = model(b["char_ids"])
        f_logits, b_logits = out.forward_logits, out.backward_logits
        ft, bt = lm_targets(b["word_ids"])
        logits, t = (f_logits, ft) if name == "forward_loss" else (b_logits, bt)
        torch.nn.functional.cross_entropy(logits.reshape(-1, V), t.reshape(-1), ignore_index=0).backward()
        assert model.softmax.weight.grad is not None and model.softmax.weight.grad.abs().sum() > 0
    assert model.softmax.weight.shape == (V, d)


def test_each_direction_has_its_own_two_layer_stack(model):
    lstms = [m for m in model.modules() if isinstance(m, torch.nn.LSTM)]
    assert len(lstms) == 4 and all(m.num_layers == 1 and not m.bidirectional for m in lstms)
    assert set(map(id, model.forward_lstms)).isdisjoint(map(id, model.backward_lstms))


def test_lm_targets():
    f, b = lm_targets(torch.tensor([[5, 9, 8, 6], [5, 7, 6, 0]]))
    assert f.tolist() == [[9, 8, 6, 0], [7, 6, 0, 0]]
    assert b.tolist() == [[0, 5, 9, 8], [0, 5, 7, 0]]


def test_reverse_padded():
    x = torch.arange(8).reshape(2, 4, 1).float()
    assert reverse_padded(x, torch.tensor([4, 2]))[..., 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]


def test_scalar_mix_normalisation():
    mix = ScalarMix(3)
    assert torch.allclose(mix.weights, torch.full((3,), 1 / 3)) and mix.gamma.item() == 1.0
    layers = torch.randn(3, 2, 5, 4)
    assert torch.allclose(mix(layers), layers.mean(0), atol=1e-6)
    with torch.no_grad():
        mix.w.copy_(torch.tensor([2.0, -1.0, 0.5]))
        mix.gamma.fill_(3.0)
    assert math.isclose(mix.weights.sum().item(), 1.0, rel_tol=1e-6)
    s = torch.softmax(torch.tensor([2.0, -1.0, 0.5]), 0)
    assert torch.allclose(mix(list(layers)), 3 * (s[:, None, None, None] * layers).sum(0), atol=1e-5)
    with pytest.raises(ValueError, match="3 layers"):
        mix(torch.randn(2, 4))


def test_short_training_lowers_the_loss(tok):
    from lmnotes.train import fit

    torch.manual_seed(0)
    model = BiLM(ELMoConfig(vocab_size=tok.vocab_size, n_chars=tok.n_chars, d=16, filters=((1, 8), (2, 8))))
    before = perplexity(model, tok, TEXTS)
    fit(model, lm_batches(tok, TEXTS * 4, batch_size=8), steps=40, lr=1e-2, progress=False)
    after = perplexity(model, tok, TEXTS)
    assert after["forward"] < 0.6 * before["forward"] and after["backward"] < 0.6 * before["backward"]


def test_ngram_baseline():
    uni = ngram_perplexity(TEXTS, TEXTS, n=1)
    bi = ngram_perplexity(TEXTS, TEXTS, n=2)
    assert bi < uni
    assert ngram_perplexity(TEXTS, TEXTS, n=2, direction="backward") < uni
    with pytest.raises(ValueError, match="n must be"):
        ngram_perplexity(TEXTS, TEXTS, n=3)


def test_contextual_vectors_and_neighbours(tok, model):
    v = contextual_vectors(model, tok, TEXTS[:2], index=[2, 6])
    assert v.shape == (3, 2, 32)
    per = contextual_vectors(model, tok, TEXTS[:2])
    assert [t.shape for t in per] == [(3, 6, 32), (3, 8, 32)]
    assert torch.allclose(per[1][:, 6], v[:, 1], atol=1e-5)
    nn_ = nearest_neighbours(model, tok, "the river bank was old .", 2, TEXTS, k=3)
    assert len(nn_) == 3 and all(len(r) == 3 for r in nn_)
    assert nn_[0][0][1] in ("the river [bank] was old .", "the money was near the big [bank] .")
    assert nn_[0][0][0] == pytest.approx(1.0, abs=1e-5)  # the token layer: every "bank" is the same vector
    with pytest.raises(ValueError, match="index"):
        contextual_vectors(model, tok, TEXTS[:1], index=[9])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_cuda_under_autocast(tok, model):
    model = model.cuda().train()
    b = {k: v.cuda() for k, v in tok.batch(TEXTS).items()}
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(b["char_ids"], b["word_ids"])
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_fit_scalar_mix_learns_from_few_labels_and_drops_an_empty_layer():
    from lmnotes.analysis import fit_scalar_mix, predict_scalar_mix

    g = torch.Generator().manual_seed(0)
    y = torch.arange(208) % 2
    signal = torch.randn(208, 16, generator=g) * 0.1
    signal[:, 0] += 2.0 * y - 1.0  # one feature of layer 1 decides the label
    noise = torch.randn(208, 16, generator=g) * 1e-4  # layer 2: noise only (on a tiny scale)
    layers = torch.stack([torch.ones(208, 16), signal, noise])  # layer 0 is the same for every example
    mix, clf = fit_scalar_mix(layers[:, :8], y[:8])
    assert mix.layer_scale.shape == (3, 1, 1)
    assert (predict_scalar_mix(mix, clf, layers[:, 8:]) == y[8:]).float().mean() > 0.8  # 8 labels
    assert mix.weights[0] < 1 / 3 < mix.weights[1]
    with pytest.raises(ValueError, match="N = len"):
        fit_scalar_mix(layers, y[:5])


def test_forward_returns_one_output_contract(tok, model):
    b = tok.batch(TEXTS[:2])
    B, T = b["word_ids"].shape
    V = model.config.vocab_size
    out = model(b["char_ids"])
    assert out.forward_logits.shape == out.backward_logits.shape == (B, T, V)
    assert out.loss is None and out.hidden_states is None
    out = model(b["char_ids"], b["word_ids"], output_hidden_states=True)
    assert out.forward_logits.shape == (B, T, V) and out.loss.ndim == 0
    assert torch.allclose(out.loss, (out.forward_loss + out.backward_loss) / 2)
    assert torch.equal(out.hidden_states, model.layers(b["char_ids"]))
