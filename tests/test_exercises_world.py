"""The world chapter's exercises: each reference passes, and typical wrong answers get their message."""

from lmnotes.exercises import reference, run_check


def _wrong(name, value, words):
    status, msg = run_check(name, value)
    assert status == "wrong" and words in msg, msg


def test_references_pass():
    for name in ("tag_shares", "unk_rate", "bpe_merge", "unseen_word"):
        assert run_check(name, reference(name))[0] == "correct"


def test_bpe_merge_overlapping_pairs():
    _wrong(
        "bpe_merge",
        lambda s, p, n: ["aa", "aa"] if s == ["a", "a", "a"] else reference("bpe_merge")(s, p, n),
        "overlapping pairs",
    )


def test_unk_rate_known_share():
    _wrong("unk_rate", lambda sents, vocab: 1 - reference("unk_rate")(sents, vocab), "KNOWN words")


def test_unseen_word_question_agrees_with_the_tokenizers():
    from lmnotes import data

    texts = data.corpus(2000, seed=0)["train"]["text"]
    unseen = "the zebra was near the old bank ."
    char_tok, word_tok = data.CharTokenizer().train(texts), data.WordTokenizer().train(texts)
    bpe_tok = data.BPETokenizer().train(texts, vocab_size=400)
    assert word_tok.unk_id in word_tok.encode(unseen)
    for tok in (char_tok, bpe_tok):
        assert tok.decode(tok.encode(unseen)) == unseen
    _wrong("unseen_word", "a", "z, e, b, r and a")
    _wrong("unseen_word", "c", "smaller pieces")
    _wrong("unseen_word", "d", "whole words")
