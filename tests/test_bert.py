import pytest
import torch

from lmnotes.analysis import word_features
from lmnotes.data import IGNORE_INDEX, BPETokenizer
from lmnotes.models.bert import Bert, BertConfig, BertForPreTraining
from lmnotes.recipes.bert import (
    fill_mask,
    mask_tokens,
    next_sentence_pairs,
    pretraining_batches,
    truncate_pair,
)

SMALL = dict(vocab_size=60, max_position=32, d_model=32, n_layer=2, n_head=4, d_ff=64, dropout=0.0)
CLS, SEP, PAD, MASK = 2, 3, 0, 4
SPECIAL = range(7)  # [PAD] [UNK] [CLS] [SEP] [MASK] [BOS] [EOS]


def _batch(B=4, T=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(7, 60, (B, T), generator=g)
    ids[:, 0] = CLS
    ids[:, T // 2] = SEP
    ids[:, -1] = SEP
    seg = torch.zeros_like(ids)
    seg[:, T // 2 + 1 :] = 1
    return ids, seg


# ------------------------------------------------------------------ masking


def test_mask_statistics_over_many_draws():
    ids = torch.randint(7, 500, (2000, 128), generator=torch.Generator().manual_seed(0))
    masked, labels = mask_tokens(
        ids, mask_id=MASK, special_ids=SPECIAL, vocab_size=500, generator=torch.Generator().manual_seed(1)
    )
    picked = labels != IGNORE_INDEX
    n = picked.sum().item()
    assert abs(n / ids.numel() - 0.15) < 0.003
    assert torch.equal(labels[picked], ids[picked])
    frac_mask = (masked[picked] == MASK).float().mean().item()
    frac_same = (masked[picked] == ids[picked]).float().mean().item()
    frac_rand = 1 - frac_mask - frac_same
    assert abs(frac_mask - 0.8) < 0.01
    assert abs(frac_same - 0.1) < 0.01  # a random token equal to the original is rare with 493 choices
    assert abs(frac_rand - 0.1) < 0.01
    assert torch.equal(masked[~picked], ids[~picked])
    assert masked.min() >= 0 and masked.max() < 500


def test_special_tokens_and_padding_never_masked():
    ids, _ = _batch(B=200, T=16)
    ids[:, 10:12] = PAD
    masked, labels = mask_tokens(
        ids,
        mask_id=MASK,
        special_ids=SPECIAL,
        vocab_size=60,
        prob=0.9,
        generator=torch.Generator().manual_seed(0),
    )
    special = (ids == CLS) | (ids == SEP) | (ids == PAD)
    assert (labels[special] == IGNORE_INDEX).all()
    assert torch.equal(masked[special], ids[special])
    assert (labels[~special] != IGNORE_INDEX).float().mean() > 0.85
    # random replacements are ordinary tokens, never a special one
    replaced = (labels != IGNORE_INDEX) & (masked != MASK) & (masked != ids)
    assert replaced.any() and (masked[replaced] >= 7).all()


# ------------------------------------------------------------------ next-sentence pairs


class _Tok:
    """A tiny word-level stand-in: each sentence 'dD sS w...' encodes to distinct ids."""

    pad_id, cls_id, sep_id, mask_id = PAD, CLS, SEP, MASK

    def encode(self, s):
        return [7 + int(w) for w in s.split()]


def _docs(n=60):
    # document d, sentence i -> words "d*10+i" repeated, so every sentence is identifiable
    return [[" ".join([str(d * 10 + i)] * (3 + i)) for i in range(4)] for d in range(n)]


def test_next_sentence_pairs_labels_and_document_boundaries():
    docs = _docs(60)
    p = next_sentence_pairs(docs, _Tok(), max_length=16, seed=0)
    N = len(p["nsp_labels"])
    assert N == 60 * 3
    frac = p["nsp_labels"].float().mean().item()
    assert 0.4 < frac < 0.6
    same = p["doc_a"] == p["doc_b"]
    assert torch.equal(same, p["nsp_labels"] == 0)  # label 0: B from A's own document; 1: from another one
    for n in range(N):
        ids = p["input_ids"][n][p["attention_mask"][n].bool()].tolist()
        seg = p["segment_ids"][n][: len(ids)].tolist()
        assert ids[0] == CLS and ids[-1] == SEP and ids.count(SEP) == 2
        first_sep = ids.index(SEP)
        assert seg == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
        a_id, b_id = ids[1] - 7, ids[first_sep + 1] - 7
        assert a_id // 10 == p["doc_a"][n] and b_id // 10 == p["doc_b"][n]
        if p["nsp_labels"][n] == 0:
            assert b_id == a_id + 1  # the true next sentence


@pytest.mark.parametrize("random_prob", [1.5, -0.1, "half"])
def test_next_sentence_pairs_refuses_a_probability_outside_0_1(random_prob):
    with pytest.raises(ValueError, match="random_prob"):
        next_sentence_pairs(_docs(4), _Tok(), random_prob=random_prob)


def test_mask_tokens_reads_the_special_ids_from_the_tokenizer():
    tok = BPETokenizer().train(["the robin can fly .", "the cat sat ."], vocab_size=30)
    ids = torch.tensor([[tok.cls_id] + tok.encode("the robin can fly .") * 4 + [tok.sep_id, tok.pad_id]])
    masked, labels = mask_tokens(ids, tok, prob=1.0, generator=torch.Generator().manual_seed(0))
    special = torch.isin(ids, torch.tensor(tok.special_ids))
    assert (labels[special] == IGNORE_INDEX).all() and (labels[~special] == ids[~special]).all()
    assert (masked[~special] == tok.mask_id).any() and ((masked < tok.vocab_size) & (masked >= 0)).all()
    with pytest.raises(ValueError, match="tokenizer"):
        mask_tokens(ids, vocab_size=30)


def test_next_sentence_pairs_truncate_to_max_length():
    docs = [[" ".join(["1"] * 30), " ".join(["2"] * 30)], [" ".join(["3"] * 5), "4 4"]]
    p = next_sentence_pairs(docs, _Tok(), max_length=20, seed=0)
    assert p["input_ids"].shape[1] <= 20
    assert p["attention_mask"].sum(1).max() == 20
    assert truncate_pair([1, 2, 3, 4], [5, 6], 4) == ([1, 2], [5, 6])
    with pytest.raises(ValueError, match="at least 2 documents"):
        next_sentence_pairs(docs[:1], _Tok())


# ------------------------------------------------------------------ the model


def test_explicit_and_fused_attention_agree():
    torch.manual_seed(0)
    model = Bert(BertConfig(**SMALL)).eval()
    ids, seg = _batch()
    m = torch.ones_like(ids)
    m[1, 8:] = 0
    a = model(ids, seg, m, explicit=True).last_hidden_state
    b = model(ids, seg, m).last_hidden_state
    c = model(ids, seg, m, output_attentions=True)
    assert torch.allclose(a, b, atol=1e-5)
    assert len(c.attentions) == 2 and c.attentions[0].shape == (4, 4, 12, 12)
    assert torch.allclose(c.attentions[0].sum(-1), torch.ones(4, 4, 12), atol=1e-5)


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**SMALL)).eval()
    ids, seg = _batch(B=1, T=10)
    short = model(ids, seg).last_hidden_state
    padded = torch.cat([ids, torch.zeros(1, 5, dtype=torch.long)], 1)
    seg_p = torch.cat([seg, torch.zeros(1, 5, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 10 + [0] * 5])
    long = model(padded, seg_p, mask).last_hidden_state
    assert torch.allclose(short, long[:, :10], atol=1e-5)


def test_window_limits_what_a_token_sees():
    torch.manual_seed(0)
    model = Bert(BertConfig(**{**SMALL, "window": 1, "n_layer": 1})).eval()
    ids, seg = _batch(B=1, T=12)
    ids2 = ids.clone()
    ids2[0, 8] = 9 if ids[0, 8] != 9 else 10
    a, b = model(ids, seg).last_hidden_state, model(ids2, seg).last_hidden_state
    assert torch.allclose(a[0, :7], b[0, :7], atol=1e-6)  # more than one hop away: unchanged
    assert not torch.allclose(a[0, 7], b[0, 7], atol=1e-4)


def test_mlm_head_is_tied_and_loss_is_sum_of_means():
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**SMALL))
    assert model.mlm.token_embedding.weight is model.bert.embeddings.token.weight
    ids, seg = _batch()
    masked, labels = mask_tokens(
        ids,
        mask_id=MASK,
        special_ids=SPECIAL,
        vocab_size=60,
        prob=0.5,
        generator=torch.Generator().manual_seed(0),
    )
    nsp = torch.tensor([0, 1, 0, 1])
    out = model(masked, seg, mlm_labels=labels, nsp_labels=nsp)
    assert out.mlm_logits is None  # with labels only the masked positions go through the output layer
    full = model(masked, seg).mlm_logits  # (B, T, V)
    sel = labels != IGNORE_INDEX
    mlm = torch.nn.functional.cross_entropy(full[sel], labels[sel])
    nsp_loss = torch.nn.functional.cross_entropy(out.nsp_logits, nsp)
    assert torch.allclose(out.loss, mlm + nsp_loss, atol=1e-5)
    out.loss.backward()
    assert model.bert.embeddings.token.weight.grad is not None


def test_bad_input_gets_a_clear_error():
    model = Bert(BertConfig(**SMALL))
    with pytest.raises(ValueError, match="longer than the model's 32 positions"):
        model(torch.full((1, 40), 7))
    with pytest.raises(ValueError, match=r"outside the vocabulary.*0\.\.59"):
        model(torch.tensor([[2, 60, 3]]))
    with pytest.raises(ValueError, match=r"outside the vocabulary"):
        model(torch.tensor([[2, -1, 3]]))
    with pytest.raises(ValueError, match="segment_ids must have the same shape"):
        model(torch.tensor([[2, 8, 3]]), torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask must have the same shape"):
        model(torch.tensor([[2, 8, 3]]), attention_mask=torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"segment ids must be in 0\.\.1"):
        model(torch.tensor([[2, 8, 3]]), torch.tensor([[0, 2, 1]]))
    with pytest.raises(ValueError, match="divisible"):
        BertConfig(d_model=30, n_head=4)


def test_tiny_pretraining_learns_and_fills_masks():
    from lmnotes.recipes.bert import pretraining_loss
    from lmnotes.train import fit

    docs = [
        ["the robin is a bird .", "the robin can fly ."],
        ["the cod is a fish .", "the cod can swim ."],
        ["the cat is a mammal .", "the cat has fur ."],
    ] * 10
    tok = BPETokenizer().train([s for d in docs for s in d], vocab_size=60)
    pairs = next_sentence_pairs(docs, tok, max_length=24, seed=0)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(**{**SMALL, "vocab_size": tok.vocab_size}))
    h = fit(
        model,
        pretraining_batches(pairs, tok, 32, prob=0.3),
        pretraining_loss,
        steps=150,
        lr=3e-3,
        progress=False,
    )
    assert h.last("mlm_acc") > 0.5
    top = fill_mask(model, tok, "the robin can [MASK] .", k=3)
    assert len(top) == 1 and len(top[0]) == 3 and abs(sum(p for _, p in top[0])) <= 1.0
    feats = word_features(model, tok, [["the", "robin", "can", "fly", "."]], [1])
    assert len(feats) == 3 and feats[0].shape == (1, 32)


# ------------------------------------------------------------------ Hugging Face parity


def _hf_config(**kw):
    transformers = pytest.importorskip("transformers")
    return transformers.BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=40,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        attn_implementation="eager",
        **kw,
    )


def _inputs():
    ids = torch.randint(7, 99, (3, 14), generator=torch.Generator().manual_seed(0))
    seg = torch.zeros_like(ids)
    seg[:, 7:] = 1
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0
    mask[2, 5:] = 0
    return ids, seg, mask


def test_hf_parity_bert_model():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hf = transformers.BertModel(_hf_config()).eval()
    ours = Bert.from_hf(hf)
    assert not ours.training
    ids, seg, mask = _inputs()
    with torch.no_grad():
        h = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask, output_hidden_states=True)
        o = ours(ids, seg, mask, output_hidden_states=True)
    real = mask.bool()
    for a, b in zip(h.hidden_states, o.hidden_states):
        assert (a[real] - b[real]).abs().max() < 1e-4
    assert (h.pooler_output - o.pooled).abs().max() < 1e-4


def test_hf_parity_pretraining_heads_and_loss():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(1)
    hf = transformers.BertForPreTraining(_hf_config()).eval()
    ours = BertForPreTraining.from_hf(hf)
    ids, seg, mask = _inputs()
    labels = torch.full_like(ids, IGNORE_INDEX)
    labels[:, 3] = ids[:, 3]
    labels[0, 9] = ids[0, 9]
    nsp = torch.tensor([0, 1, 1])
    with torch.no_grad():
        h = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask, labels=labels, next_sentence_label=nsp)
        full = ours(ids, seg, mask)
        o = ours(ids, seg, mask, mlm_labels=labels, nsp_labels=nsp)
    assert (h.prediction_logits - full.mlm_logits).abs().max() < 1e-4
    assert (h.seq_relationship_logits - o.nsp_logits).abs().max() < 1e-4
    assert abs(h.loss.item() - o.loss.item()) < 1e-4


def test_hf_loading_checks_keys_and_shapes():
    transformers = pytest.importorskip("transformers")
    hf = transformers.BertModel(_hf_config())
    sd = hf.state_dict()
    from lmnotes.models.bert import state_dict_from_hf
    from lmnotes.models.common import load_exact

    bad = dict(sd)
    bad["encoder.layer.0.output.dense.weight"] = torch.zeros(3, 3)
    with pytest.raises(ValueError, match="shape of blocks.0.mlp.proj.weight"):
        load_exact(Bert.from_hf(hf), state_dict_from_hf(bad, heads=False))
    bad = dict(sd)
    bad["encoder.layer.0.extra.weight"] = torch.zeros(3)
    with pytest.raises(KeyError, match="not used"):
        state_dict_from_hf(bad, heads=False)
    bad = {k: v for k, v in sd.items() if "pooler" not in k}
    with pytest.raises(KeyError, match="pooler"):
        load_exact(Bert.from_hf(hf), state_dict_from_hf(bad, heads=False))
    bad = {k: v for k, v in sd.items() if "attention.self.value" not in k}
    with pytest.raises(KeyError, match="value"):
        state_dict_from_hf(bad, heads=False)


def test_hf_loading_refuses_other_architectures():
    transformers = pytest.importorskip("transformers")
    with pytest.raises(ValueError, match="is_decoder"):
        Bert.from_hf(transformers.BertModel(_hf_config(is_decoder=True)))
    with pytest.raises(ValueError, match="is_decoder"):
        BertForPreTraining.from_hf(transformers.BertForPreTraining(_hf_config(is_decoder=True)))
    gpt2 = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(vocab_size=50, n_positions=16, n_embd=32, n_layer=1, n_head=2)
    )
    with pytest.raises(ValueError, match="BertForPreTraining.*'gpt2'"):
        BertForPreTraining.from_hf(gpt2)
    with pytest.raises(ValueError, match="BertModel.*'gpt2'"):
        Bert.from_hf(gpt2)


def test_hf_pretraining_heads_must_be_tied():
    transformers = pytest.importorskip("transformers")
    hf = transformers.BertForPreTraining(_hf_config(tie_word_embeddings=False))
    with torch.no_grad():
        hf.cls.predictions.decoder.weight.add_(1.0)
    with pytest.raises(ValueError, match="tied"):
        BertForPreTraining.from_hf(hf)


# ------------------------------------------------------------------ fine-tuning heads


def test_encode_words_labels_first_subword_only():
    from lmnotes.recipes.bert import encode_words

    tok = BPETokenizer().train(["the robin can fly .", "the cat sat ."], vocab_size=30)
    batch = encode_words(tok, [["the", "robin", "."], ["cat"]], [[0, 1, 2], [1]])
    ids, labels, mask = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert ids.shape == labels.shape == mask.shape
    assert ids[0, 0] == tok.cls_id and labels[0, 0] == IGNORE_INDEX
    first = labels[0][labels[0] != IGNORE_INDEX].tolist()
    assert first == [0, 1, 2]  # one label per word, whatever the number of sub-words
    assert mask[1].sum() == 2 + len(tok.encode("cat")) and (labels[1][mask[1] == 0] == IGNORE_INDEX).all()


def test_classifier_and_tagger_heads():
    from lmnotes.models.bert import BertClassifier, BertTagger

    torch.manual_seed(0)
    bert = Bert(BertConfig(**SMALL))
    ids, seg = _batch()
    clf = BertClassifier(bert, 3)
    out = clf(ids, seg, labels=torch.tensor([0, 1, 2, 0]))
    assert out.logits.shape == (4, 3) and out.loss.dim() == 0 and 0 <= out.acc <= 1
    assert (
        out.last_hidden_state.shape == (4, 12, 32) and out.mlm_logits is None
    )  # the one BertOutput contract
    assert clf(ids, seg).loss is None and clf(ids, seg).logits.shape == (4, 3)
    tags = torch.full_like(ids, IGNORE_INDEX)
    tags[:, 1:4] = 2
    tagger = BertTagger(bert, 5)
    out = tagger(ids, seg, labels=tags)
    assert out.logits.shape == (4, 12, 5) and out.loss.dim() == 0
    from lmnotes.recipes.bert import finetuning_loss

    assert set(finetuning_loss(tagger, {"input_ids": ids, "segment_ids": seg, "labels": tags})) == {
        "loss",
        "acc",
    }
