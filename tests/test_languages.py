"""The world's second language, language mixes, tokenizer fertility and perplexity per word, and the exercises."""

import math

import pytest
import torch

from lmnotes import challenges as ch
from lmnotes.challenges import languages as lang
from lmnotes.data.challenges import _world_words
from lmnotes.data.challenges import languages as dl
from lmnotes.data.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer
from lmnotes.exercises import EXERCISES, names, reference, run_check

# ---------------------------------------------------------------------------------------------- the language


def test_translate_examples():
    assert dl.translate("the cat saw a dog .") == "κατον σαω δογεν ."
    assert dl.translate("a robin is a bird .") == "ροβινεν ις βιρδεν ."
    assert dl.translate("the children loved the film .") == "χιλδρενον λοβεδ φιλμον ."
    assert dl.translate("an owl has feathers .") == "οωλεν ηας φεαθερς ."


def test_transliterate_letters_digraphs_and_final_sigma():
    assert dl.transliterate("birds") == "βιρδς"  # final s is written ς
    assert dl.transliterate("six") == "σιξ"
    assert dl.transliterate("these") == "θεσε"  # σ inside a word stays σ
    assert (
        dl.transliterate("phonics") == "φονικς" and dl.transliterate("books") == "βοοξ"
    )  # ph, ks: one letter
    assert dl.transliterate(".") == "." and dl.transliterate("42") == "42"
    assert dl.transliterate("") == ""


def test_articles_only_fuse_with_a_following_word():
    assert dl.translate("the .") == "θε ."  # no word follows: the article stays a word
    assert dl.translate("a") == "α"
    assert dl.translate("the the cat") == "θεον κατ"  # fused with the next word, whatever it is
    assert dl.translate("  the   cat  ") == "κατον"  # whitespace normalised


def test_the_second_language_keeps_distinct_words_and_sentences_distinct():
    words = sorted(w for w in _world_words() if len(w) > 1)  # single letters c, k, q are all κ
    assert len(words) > 200
    assert len({dl.transliterate(w) for w in words}) == len(words)
    data = dl.bilingual_corpus(n=1500, share=0.0, n_parallel=500, seed=0)
    first = data["parallel"]["first"] + data["texts"]
    assert len({dl.translate(t) for t in first}) == len(set(first))


def test_translate_rejects_bad_input():
    with pytest.raises(TypeError, match="must be a str"):
        dl.translate(["the cat ."])
    with pytest.raises(ValueError, match="lower-case"):
        dl.translate("The cat .")
    with pytest.raises(ValueError, match="one word"):
        dl.transliterate("the cat")
    with pytest.raises(TypeError, match="must be a str"):
        dl.transliterate(3)


def test_alphabet_holds_every_character_both_languages_write():
    a = dl.alphabet()
    assert a == "".join(sorted(set(a)))
    data = dl.bilingual_corpus(n=300, share=0.5, n_parallel=50, seed=1)
    used = {c for t in data["texts"] + data["parallel"]["second"] for c in t if not c.isspace()}
    assert used <= set(a)
    assert set("abcdefghijklmnopqrstuvwxyz") <= set(a) and "ς" in a


# ---------------------------------------------------------------------------------------------- mixes


def test_mix_languages_translates_the_share_and_keeps_the_order():
    texts = [f"the cat saw {n} dogs ." for n in range(40)]
    mix = dl.mix_languages(texts, share=0.25, seed=3)
    assert sum(mix["second"]) == 10
    for t, m, s in zip(texts, mix["texts"], mix["second"]):
        assert m == (dl.translate(t) if s else t)
    assert dl.mix_languages(texts, share=0.25, seed=3) == mix
    assert dl.mix_languages(texts, share=0.25, seed=4)["second"] != mix["second"]
    assert not any(dl.mix_languages(texts, share=0.0)["second"])
    assert all(dl.mix_languages(texts, share=1.0)["second"])
    assert sum(dl.mix_languages(texts, share=0.01)["second"]) == 0  # round(0.4) translates none


@pytest.mark.parametrize("share", [-0.1, 1.5, "0.5", True, None])
def test_mix_languages_rejects_bad_share(share):
    with pytest.raises(ValueError, match="share must be a number in"):
        dl.mix_languages(["the cat ."], share=share)


def test_mix_languages_rejects_bad_texts_and_seed():
    with pytest.raises(TypeError, match="wrap it in a list"):
        dl.mix_languages("the cat .", share=0.5)
    with pytest.raises(ValueError, match="empty"):
        dl.mix_languages([], share=0.5)
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        dl.mix_languages(["the cat .", 3], share=0.5)
    with pytest.raises(TypeError, match="list of strings"):
        dl.mix_languages(5, share=0.5)
    with pytest.raises(ValueError, match="seed must be"):
        dl.mix_languages(["the cat ."], share=0.5, seed=-1)
    with pytest.raises(ValueError, match="lower-case"):
        dl.mix_languages(["The cat ."], share=0.0)


def test_parallel_texts():
    par = dl.parallel_texts(["the cat saw a dog .", "birds can fly ."])
    assert par["second"] == ["κατον σαω δογεν .", "βιρδς καν φλυ ."]
    assert par["words"] == [6, 4]
    with pytest.raises(TypeError):
        dl.parallel_texts("the cat .")
    with pytest.raises(ValueError, match="empty"):
        dl.parallel_texts([])


def test_bilingual_corpus_is_seeded_and_holds_out_parallel_text():
    a = dl.bilingual_corpus(n=200, share=0.1, n_parallel=20, seed=0)
    assert len(a["texts"]) == len(a["second"]) == 200 and sum(a["second"]) == 20
    assert len(a["parallel"]["first"]) == len(a["parallel"]["second"]) == 20
    assert a["parallel"]["second"] == [dl.translate(t) for t in a["parallel"]["first"]]
    assert dl.bilingual_corpus(n=200, share=0.1, n_parallel=20, seed=0) == a
    assert dl.bilingual_corpus(n=200, share=0.1, n_parallel=20, seed=1)["texts"] != a["texts"]


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n=0), "n must be"),
        (dict(n=2.5), "n must be"),
        (dict(share=2), "share must be"),
        (dict(n_parallel=0), "n_parallel must be"),
        (dict(seed=-1), "seed must be"),
    ],
)
def test_bilingual_corpus_rejects_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        dl.bilingual_corpus(**{"n": 50, "n_parallel": 5, **kwargs})


# ---------------------------------------------------------------------------------------------- tokenizers

TEXTS = ["the cat saw a dog .", "a robin is a bird .", "the dog saw the cat ."]


def test_mix_tokenizer_knows_every_letter_of_both_scripts():
    tok = lang.train_mix_tokenizer(TEXTS, vocab_size=120)  # trained on the first language only
    assert isinstance(tok, BPETokenizer)
    assert all(c in tok.vocab for c in dl.alphabet())
    assert lang.tokenizer_stats(tok, [dl.translate(t) for t in TEXTS])["unk_rate"] == 0
    with pytest.raises(TypeError, match="wrap it in a list"):
        lang.train_mix_tokenizer("the cat .")


def test_fertility_counts_tokens_per_word():
    words = WordTokenizer().train(TEXTS)
    assert lang.fertility(words, TEXTS) == 1.0
    # BPE without merges: every word is the marker plus its characters
    chars = BPETokenizer().train(TEXTS, vocab_size=7 + len(set("".join(TEXTS).replace(" ", ""))) + 1)
    assert chars.merges == []
    n_words = sum(len(t.split()) for t in TEXTS)
    n_chars = sum(len(t.replace(" ", "")) for t in TEXTS)
    assert lang.fertility(chars, TEXTS) == pytest.approx((n_chars + n_words) / n_words)


def test_bytes_per_token_counts_two_bytes_per_greek_letter():
    greek = [dl.translate(t) for t in TEXTS]
    words = WordTokenizer().train(TEXTS + greek)
    n_tokens = sum(len(t.split()) for t in greek)
    assert lang.bytes_per_token(words, greek) == pytest.approx(sum(len(t.encode()) for t in greek) / n_tokens)
    assert lang.bytes_per_token(words, ["κατ ."]) == pytest.approx(8 / 2)  # 3 letters * 2 + space + "."


def test_tokenizer_stats_agree_and_count_unknowns():
    tok = WordTokenizer().train(["a b"])
    st = lang.tokenizer_stats(tok, ["a c", "b"])
    assert st == {
        "words": 3,
        "tokens": 3,
        "fertility": 1.0,
        "bytes_per_token": 4 / 3,
        "chars_per_token": 4 / 3,
        "unk_rate": 1 / 3,
    }
    bpe = lang.train_mix_tokenizer(TEXTS, vocab_size=120)
    st = lang.tokenizer_stats(bpe, TEXTS)
    assert st["fertility"] == lang.fertility(bpe, TEXTS)
    assert st["bytes_per_token"] == lang.bytes_per_token(bpe, TEXTS)


def test_length_ratio_on_parallel_text():
    tok = CharTokenizer().train(["abcdef "])
    r = lang.length_ratio(tok, ["abcd", "ab"], ["ab", "a"])
    assert r["ratio"] == pytest.approx(6 / 3)
    assert r["per_sentence"] == [2.0, 2.0]
    with pytest.raises(ValueError, match="parallel lists"):
        lang.length_ratio(tok, ["ab", "a"], ["ab"])
    with pytest.raises(ValueError, match="no tokens"):
        lang.length_ratio(tok, ["ab"], [""])


def test_tokenizer_metrics_reject_bad_input():
    tok = WordTokenizer().train(TEXTS)
    for fn in (lang.fertility, lang.bytes_per_token, lang.tokenizer_stats):
        with pytest.raises(TypeError, match="trained lmnotes tokenizer"):
            fn("not a tokenizer", TEXTS)
        with pytest.raises(ValueError, match="not been trained"):
            fn(BPETokenizer(), TEXTS)
        with pytest.raises(TypeError, match="wrap it in a list"):
            fn(tok, "the cat .")
        with pytest.raises(ValueError, match="empty"):
            fn(tok, [])
        with pytest.raises(ValueError, match="no words"):
            fn(tok, ["  "])
    with pytest.raises(TypeError, match="trained lmnotes tokenizer"):
        lang.length_ratio(None, TEXTS, TEXTS)


# ---------------------------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def trained():
    texts = TEXTS * 30
    tok = lang.train_mix_tokenizer(texts, vocab_size=80)
    model, history = lang.train_gpt_on(texts, tok, seed=0, steps=60, block_size=24, d_model=32, n_head=2)
    return model, tok, history


def _uniform_model(tok, block_size=8):
    """A GPT whose every output is the uniform distribution: all weights zero."""
    model = ch._new_model(tok, ch._config(dict(block_size=block_size)), seed=0)
    for p in model.parameters():
        torch.nn.init.zeros_(p)
    return model.eval()


def test_train_gpt_on_learns_and_is_seeded(trained):
    model, tok, history = trained
    assert not model.training
    assert model.config.vocab_size == tok.vocab_size and model.config.block_size == 24
    loss = history["loss"]
    assert sum(loss[-5:]) / 5 < loss[0] - 1.0
    _, again = lang.train_gpt_on(TEXTS * 30, tok, seed=0, steps=60, block_size=24, d_model=32, n_head=2)
    assert again["loss"] == pytest.approx(loss)


def test_train_gpt_on_rejects_bad_input():
    tok = WordTokenizer().train(TEXTS)
    with pytest.raises(ValueError, match="too few"):
        lang.train_gpt_on(TEXTS[:1], tok, block_size=16, steps=1)
    with pytest.raises(ValueError, match="unknown settings"):
        lang.train_gpt_on(TEXTS, tok, layers=2)
    with pytest.raises(ValueError, match="seed must be"):
        lang.train_gpt_on(TEXTS, tok, seed=-1)
    with pytest.raises(ValueError, match="not been trained"):
        lang.train_gpt_on(TEXTS, WordTokenizer())
    with pytest.raises(TypeError, match="wrap it in a list"):
        lang.train_gpt_on("the cat .", tok)


def test_text_nll_is_the_sum_of_token_losses(trained):
    model, tok, _ = trained
    texts = ["the cat saw a dog .", dl.translate("the cat saw a dog .")]
    got = lang.text_nll(model, tok, texts)
    want = [-float(lp.sum()) for lp in ch.token_log_probs(model, tok, texts)]
    assert got == pytest.approx(want, rel=1e-5)
    assert got[1] > got[0]  # the model never read the second language


def test_text_nll_scores_every_token_of_a_long_text_once():
    tok = WordTokenizer().train(["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9"])
    model = _uniform_model(tok, block_size=4)
    for n in (1, 3, 4, 5, 9, 10):  # shorter than, as long as and longer than the context of 4
        text = " ".join(f"w{i}" for i in range(n))
        assert lang.text_nll(model, tok, [text]) == pytest.approx([n * math.log(tok.vocab_size)], rel=1e-5)


def test_text_nll_of_a_long_text_adds_to_its_first_window(trained):
    model, tok, _ = trained
    long = " ".join(TEXTS * 2)
    assert len(tok.encode(long)) + 1 > model.config.block_size
    ids = tok.encode(long)[: model.config.block_size - 1]
    prefix = tok.decode(ids)
    assert tok.encode(prefix) == ids
    whole, first = lang.text_nll(model, tok, [long, prefix])
    assert whole > first > 0


def test_perplexity_per_word():
    tok = WordTokenizer().train(["a b c d"])
    model = _uniform_model(tok)
    v = tok.vocab_size
    assert lang.perplexity_per_word(model, tok, ["a b c", "d"]) == pytest.approx(v, rel=1e-5)
    # the same probability, counted over half as many words: squared
    assert lang.perplexity_per_word(model, tok, ["a b", "c d"], [1, 1]) == pytest.approx(v**2, rel=1e-5)
    with pytest.raises(ValueError, match="one count per text"):
        lang.perplexity_per_word(model, tok, ["a b"], [1, 2])
    with pytest.raises(ValueError, match="ints >= 0"):
        lang.perplexity_per_word(model, tok, ["a b"], [-1])
    with pytest.raises(TypeError, match="list of ints"):
        lang.perplexity_per_word(model, tok, ["a b"], 2)
    with pytest.raises(ValueError, match="no words"):
        lang.perplexity_per_word(model, tok, ["a b"], [0])
    with pytest.raises(TypeError, match="trained lmnotes tokenizer"):
        lang.perplexity_per_word(model, "tok", ["a b"])


# ---------------------------------------------------------------------------------------------- exercises


def test_exercises_registered_under_the_chapter():
    assert {"tokenizer_fertility", "per_word_perplexity"} <= set(names())
    assert EXERCISES["tokenizer_fertility"].chapter == "challenges"
    assert EXERCISES["per_word_perplexity"].chapter == "challenges"


def test_fertility_reference_passes_and_agrees_with_the_package():
    assert run_check("tokenizer_fertility", reference("tokenizer_fertility"))[0] == "correct"
    tok = lang.train_mix_tokenizer(TEXTS, vocab_size=100)
    assert reference("tokenizer_fertility")(tok.tokenize, TEXTS) == pytest.approx(lang.fertility(tok, TEXTS))


def _total(tokenize, texts):
    return sum(len(tokenize(t)) for t in texts)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda tk, ts: sum(len(t.split()) for t in ts) / _total(tk, ts), "words per token"),
        (lambda tk, ts: _total(tk, ts) / len(ts), "tokens per text"),
        (lambda tk, ts: _total(tk, ts) / sum(len(t) for t in ts), "tokens per character"),
        (lambda tk, ts: sum(len(tk(t)) / len(t.split()) for t in ts) / len(ts), "average the fertility"),
        (lambda tk, ts: sum(len(t.split()) for t in ts) / _total(tk, ts) > 1, "return a number"),
        (
            lambda tk, ts: sum(len(w) for t in ts for w in t.split()) / sum(len(t.split()) for t in ts),
            "fertility",
        ),
        (
            lambda tk, ts: (
                sum(len(t.split()) + len(t.split()) // 3 for t in ts) / sum(len(t.split()) for t in ts)
            ),
            "the fertility is",
        ),
    ],
)
def test_fertility_mistakes_are_named(wrong, words):
    status, msg = run_check("tokenizer_fertility", wrong)
    assert status == "wrong" and words in msg, msg


def test_fertility_stub_is_not_attempted():
    def stub(tokenize, texts):
        raise NotImplementedError

    assert run_check("tokenizer_fertility", stub)[0] == "not attempted"


def test_per_word_perplexity_question():
    assert run_check("per_word_perplexity", 256)[0] == "correct"
    assert run_check("per_word_perplexity", None)[0] == "not attempted"
    for wrong, words in [(4, "per token"), (16, "power 4"), (13.45, "first language"), (100, "too low")]:
        status, msg = run_check("per_word_perplexity", wrong)
        assert status == "wrong" and words in msg, msg
