"""Tests of lmnotes.data.tokenizers: round trips, unknowns, specials, saving, BPE merges."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from lmnotes.data.batching import pad_batch
from lmnotes.data.tokenizers import SPECIAL_TOKENS, BPETokenizer, CharTokenizer, Tokenizer, WordTokenizer

SENTENCES = [
    "the robin can fly .",
    "the clerk put money in the bank .",
    "the fisher sat on the bank of the river .",
    "a penguin is a bird .",
    "a penguin can not fly .",
    "the cat sat on the mat .",
    "the robin sat on the branch .",
    "birds can fly and fish can swim .",
]

# Texts every tokenizer trained on SENTENCES can represent: seen characters and words.
HELD_OUT = ["the cat can fly .", "a robin is a bird .", "the clerk sat on the bank of the river ."]


def trained(kind: str) -> Tokenizer:
    if kind == "char":
        return CharTokenizer().train(SENTENCES)
    if kind == "word":
        return WordTokenizer().train(SENTENCES)
    return BPETokenizer().train(SENTENCES, vocab_size=80)


KINDS = ["char", "word", "bpe"]


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_on_sentences(kind):
    tok = trained(kind)
    for text in SENTENCES + HELD_OUT:
        ids = tok.encode(text)
        assert all(isinstance(i, int) and 0 <= i < tok.vocab_size for i in ids)
        assert tok.unk_id not in ids, (text, tok.tokenize(text))
        assert tok.decode(ids) == text


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_round_trip_normalises_whitespace(kind):
    tok = trained(kind)
    assert tok.decode(tok.encode("  the cat\tsat \n on the mat .  ")) == "the cat sat on the mat ."


def test_char_round_trip_is_exact_including_spaces():
    tok = CharTokenizer().train(["ab  c\nd"])
    assert tok.decode(tok.encode("d  cab\n")) == "d  cab\n"


@pytest.mark.parametrize("kind", KINDS)
def test_specials_have_fixed_ids(kind):
    tok = trained(kind)
    assert tok.vocab[:7] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id, tok.bos_id, tok.eos_id) == tuple(
        range(7)
    )
    for i, token in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(token) == i
        assert tok.id_to_token(i) == token
    assert tok.vocab_size == len(tok.vocab) == len(set(tok.vocab))
    assert tok.token_to_id("no-such-token") == tok.unk_id


@pytest.mark.parametrize("kind", KINDS)
def test_specials_written_in_text_are_recognised(kind):
    tok = trained(kind)
    ids = tok.encode("the [MASK] sat on the mat .")
    assert ids.count(tok.mask_id) == 1
    assert tok.decode(ids) == "the [MASK] sat on the mat ."
    assert tok.tokenize("[CLS] the cat [SEP]")[0] == "[CLS]"
    assert tok.tokenize("[CLS] the cat [SEP]")[-1] == "[SEP]"


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_input_maps_to_unk(kind):
    tok = trained(kind)
    # "z" and "q" are never seen in SENTENCES, so neither is the word "zq"
    ids = tok.encode("the zq sat .")
    assert tok.unk_id in ids
    assert "[UNK]" in tok.decode(ids)
    assert tok.decode(ids) != "the zq sat ."


def test_word_unknown_word_is_one_unk():
    tok = trained("word")
    assert tok.tokenize("the zebra sat .") == ["the", "[UNK]", "sat", "."]


def test_bpe_unknown_character_stays_inside_its_word():
    tok = trained("bpe")
    assert tok.decode(tok.encode("the zat sat .")) == "the [UNK]at sat ."


@pytest.mark.parametrize("kind", KINDS)
def test_add_special_tokens_wraps_in_bos_eos(kind):
    tok = trained(kind)
    plain = tok.encode("the cat sat .")
    wrapped = tok.encode("the cat sat .", add_special_tokens=True)
    assert wrapped == [tok.bos_id] + plain + [tok.eos_id]
    assert tok.decode(wrapped, skip_special_tokens=True) == "the cat sat ."


def test_encode_pair_is_bert_style():
    tok = trained("word")
    ids, segments = tok.encode_pair("the cat sat .", "a robin can fly .")
    a, b = tok.encode("the cat sat ."), tok.encode("a robin can fly .")
    assert ids == [tok.cls_id] + a + [tok.sep_id] + b + [tok.sep_id]
    assert segments == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    ids, segments = tok.encode_pair("the cat sat .")
    assert ids == [tok.cls_id] + a + [tok.sep_id] and segments == [0] * len(ids)


def test_skip_special_tokens_keeps_unk():
    tok = trained("word")
    ids = [tok.cls_id, tok.token_to_id("the"), tok.unk_id, tok.sep_id, tok.pad_id]
    assert tok.decode(ids) == "[CLS] the [UNK] [SEP] [PAD]"
    assert tok.decode(ids, skip_special_tokens=True) == "the [UNK]"


def test_decode_accepts_tensors_and_batches():
    tok = trained("bpe")
    ids = tok.encode("the cat sat .")
    assert tok.decode(torch.tensor(ids)) == "the cat sat ."
    batch = pad_batch(tok.batch_encode(["the cat sat .", "a bird ."])["input_ids"], pad_id=tok.pad_id)
    assert tok.batch_decode(batch["input_ids"], skip_special_tokens=True) == ["the cat sat .", "a bird ."]


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_gives_an_equal_tokenizer(kind, tmp_path):
    tok = trained(kind)
    path = tmp_path / "tok.json"
    tok.save(path)
    loaded = Tokenizer.load(path)
    assert type(loaded) is type(tok)
    assert loaded == tok
    assert loaded.vocab == tok.vocab
    for text in SENTENCES + HELD_OUT + ["the zq [MASK] sat ."]:
        assert loaded.encode(text) == tok.encode(text)
    assert type(loaded).load(path) == tok  # the subclass's own load works too


def test_load_refuses_other_files(tmp_path):
    not_json = tmp_path / "notes.txt"
    not_json.write_text("the robin can fly .")
    with pytest.raises(ValueError, match="not a tokenizer saved by lmnotes"):
        Tokenizer.load(not_json)
    other_json = tmp_path / "config.json"
    other_json.write_text(json.dumps({"n_layer": 2}))
    with pytest.raises(ValueError, match="not a tokenizer saved by lmnotes"):
        Tokenizer.load(other_json)
    path = tmp_path / "char.json"
    trained("char").save(path)
    with pytest.raises(ValueError, match="holds a CharTokenizer, not a BPETokenizer"):
        BPETokenizer.load(path)


def test_word_min_freq_and_max_size():
    texts = ["a a a b b c"]
    assert WordTokenizer().train(texts).vocab[7:] == ["a", "b", "c"]  # most frequent first
    assert WordTokenizer().train(texts, min_freq=2).vocab[7:] == ["a", "b"]
    assert WordTokenizer().train(texts, max_size=8).vocab[7:] == ["a"]
    assert WordTokenizer().train(texts, max_size=9).vocab_size == 9


def test_char_vocab_is_the_characters_seen():
    tok = CharTokenizer().train(["ba c", "[MASK] a"])
    assert tok.vocab[7:] == [" ", "a", "b", "c"]  # a special in training text is not learned from


def naive_bpe_merges(texts: list[str], n_merges: int) -> list[tuple[str, str]]:
    """Reference BPE: recount every pair over the whole corpus before each merge."""
    words = Counter(w for t in texts for w in t.split())
    corpus = [(["▁", *w], f) for w, f in sorted(words.items())]
    merges = []
    for _ in range(n_merges):
        counts = Counter()
        for syms, f in corpus:
            for pair in zip(syms, syms[1:]):
                counts[pair] += f
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))  # most frequent, ties to the smaller pair
        if counts[best] < 2:
            break
        merges.append(best)
        new_corpus = []
        for syms, f in corpus:
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best:
                    out.append(syms[i] + syms[i + 1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            new_corpus.append((out, f))
        corpus = new_corpus
    return merges


def test_bpe_merges_match_a_naive_recount():
    tok = BPETokenizer().train(SENTENCES, vocab_size=70)
    assert len(tok.merges) > 10
    assert tok.merges == naive_bpe_merges(SENTENCES, len(tok.merges))


def test_bpe_learns_merges_that_shorten_the_encoding():
    bpe = BPETokenizer().train(SENTENCES, vocab_size=80)
    char = CharTokenizer().train(SENTENCES)
    assert "▁the" in bpe.vocab  # the most frequent word becomes one token
    n_bpe = sum(len(bpe.encode(t)) for t in SENTENCES)
    n_char = sum(len(char.encode(t)) for t in SENTENCES)
    assert n_bpe < 0.6 * n_char, (n_bpe, n_char)
    assert bpe.vocab_size <= 80


def test_bpe_vocab_size_is_reached_when_the_corpus_allows():
    texts = [" ".join(f"w{i}x{j}" for j in range(20)) for i in range(20)]
    tok = BPETokenizer().train(texts, vocab_size=40)
    assert tok.vocab_size == 40


def test_bpe_training_does_not_depend_on_text_order():
    a = BPETokenizer().train(SENTENCES, vocab_size=60)
    b = BPETokenizer().train(SENTENCES[::-1], vocab_size=60)
    assert a == b


def test_batch_encode_for_dataset_map():
    tok = trained("word")
    out = tok.batch_encode(["the cat sat .", "a bird ."], max_length=3)
    assert out == {"input_ids": [tok.encode("the cat sat .")[:3], tok.encode("a bird .")]}
    assert len(out["input_ids"][0]) == 3


@pytest.mark.parametrize("cls", [CharTokenizer, WordTokenizer, BPETokenizer])
def test_bad_training_input_is_named(cls):
    with pytest.raises(ValueError, match="texts is empty"):
        cls().train([])
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        cls().train("the robin can fly .")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        cls().train(["the robin", 3])


@pytest.mark.parametrize("cls", [CharTokenizer, WordTokenizer, BPETokenizer])
def test_encode_before_train_is_an_error(cls):
    with pytest.raises(ValueError, match=r"not been trained yet; call .train\(texts\) first"):
        cls().encode("the robin")


def test_encode_needs_a_str():
    with pytest.raises(TypeError, match="text must be a str, got list"):
        trained("char").encode(["the", "cat"])


def test_bad_sizes_name_the_argument_and_range():
    with pytest.raises(ValueError, match=r"vocab_size must be >= \d+ .* got 10"):
        BPETokenizer().train(SENTENCES, vocab_size=10)
    with pytest.raises(ValueError, match="min_freq must be an integer >= 1, got 0"):
        WordTokenizer().train(SENTENCES, min_freq=0)
    with pytest.raises(ValueError, match="max_size must be an integer >= 8"):
        WordTokenizer().train(SENTENCES, max_size=7)
    with pytest.raises(ValueError, match=r"id must be in 0\.\.\d+"):
        trained("word").decode([10_000])
