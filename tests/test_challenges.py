"""The challenges chapter's measurements: exposure, n-gram contamination, membership AUC, calibration, and the tiny
GPTs they score (trained through the package's GPT and fit)."""

import math

import pytest
import torch

from lmnotes import challenges as ch
from lmnotes.data.tokenizers import WordTokenizer
from lmnotes.models.gpt import GPT, GPTConfig

# ---------------------------------------------------------------------------------------------- exposure


def test_exposure_of_the_top_and_bottom_ranks():
    assert ch.exposure(1, 10_000) == pytest.approx(math.log2(10_000))
    assert ch.exposure(10_000, 10_000) == pytest.approx(0.0)
    assert ch.exposure([1, 100], 10_000) == pytest.approx([math.log2(10_000), math.log2(100)])
    assert ch.exposure(torch.tensor([2]), 8) == pytest.approx([2.0])


def test_exposure_of_uniform_ranks_is_about_log2_e():
    n = 10_000
    mean = sum(ch.exposure(list(range(1, n + 1)), n)) / n
    assert mean == pytest.approx(math.log2(math.e), abs=0.01)


@pytest.mark.parametrize("rank, n", [(0, 10), (11, 10), (1.5, 10), (1, 0), (1, 2.0)])
def test_exposure_rejects_bad_input(rank, n):
    with pytest.raises(ValueError):
        ch.exposure(rank, n)


def test_rank_of_counts_strictly_better_candidates():
    lp = torch.tensor([-1.0, -3.0, -2.0, -1.0])
    assert [ch.rank_of(lp, i) for i in range(4)] == [1, 4, 3, 1]
    with pytest.raises(ValueError, match="index"):
        ch.rank_of(lp, 4)
    with pytest.raises(ValueError, match="1-D"):
        ch.rank_of(lp[None], 0)


# ---------------------------------------------------------------------------------------------- n-grams


def test_ngrams_and_index():
    assert ch.ngrams("a b c".split(), 2) == {("a", "b"), ("b", "c")}
    assert ch.ngrams(["a"], 2) == set()
    assert ch.ngram_index(["a b c", "b c d"], 2) == {("a", "b"), ("b", "c"), ("c", "d")}
    with pytest.raises(TypeError, match="split"):
        ch.ngrams("a b c", 2)
    with pytest.raises(ValueError, match="n must be"):
        ch.ngrams(["a"], 0)
    with pytest.raises(TypeError, match="wrap"):
        ch.ngram_index("a b", 1)


def test_contaminated_flags_items_sharing_an_ngram():
    corpus = ["the cat sat on the mat .", "a robin can fly ."]
    items = ["the cat sat on a chair", "my robin can run", "x y"]
    assert ch.contaminated(items, corpus, 3) == [True, False, False]
    assert ch.contaminated(items, corpus, 2) == [True, True, False]  # "robin can" is in the corpus
    assert ch.contaminated(items, corpus, 7) == [False, False, False]  # shorter than n: never flagged


def test_contaminated_short_ngrams_collide_long_ones_do_not():
    # two items of one template: short n-grams are shared, the whole item is not
    corpus = ["question : where does kalo live ? answer : rome"]
    clean = ["question : where does miru live ? answer : oslo"]
    assert ch.contaminated(clean, corpus, 3) == [True]
    assert ch.contaminated(clean, corpus, 5) == [False]


# ---------------------------------------------------------------------------------------------- AUC, Min-K%


def test_auc_values():
    assert ch.auc([3, 2], [1, 2]) == pytest.approx(0.875)
    assert ch.auc([1, 2], [3, 4]) == 0.0
    assert ch.auc([5], [5]) == 0.5
    g = torch.Generator().manual_seed(0)
    same = ch.auc(torch.randn(2000, generator=g).tolist(), torch.randn(2000, generator=g).tolist())
    assert abs(same - 0.5) < 0.03


@pytest.mark.parametrize("pos, neg", [([], [1.0]), ([1.0], []), ([float("nan")], [1.0]), ([[1.0]], [1.0])])
def test_auc_rejects_bad_input(pos, neg):
    with pytest.raises(ValueError):
        ch.auc(pos, neg)


def test_min_k_score():
    lp = torch.tensor([-0.1, -5.0, -0.2, -3.0])
    assert ch.min_k_score(lp, 0.5) == pytest.approx(-4.0)
    assert ch.min_k_score(lp, 0.01) == pytest.approx(-5.0)  # at least one token
    assert ch.min_k_score(lp, 1.0) == pytest.approx(float(lp.mean()))
    with pytest.raises(ValueError, match="k must be"):
        ch.min_k_score(lp, 0)
    with pytest.raises(ValueError, match="non-empty"):
        ch.min_k_score(torch.tensor([]), 0.2)


# ---------------------------------------------------------------------------------------------- calibration


def test_entropy():
    assert float(ch.entropy(torch.tensor([0.5, 0.5]))) == pytest.approx(math.log(2))
    assert float(ch.entropy(torch.tensor([1.0, 0.0]))) == pytest.approx(0.0)
    assert ch.entropy(torch.full((3, 4), 0.25)).tolist() == pytest.approx([math.log(4)] * 3)
    with pytest.raises(ValueError, match="softmax"):
        ch.entropy(torch.tensor([2.0, -1.0]))
    with pytest.raises(TypeError):
        ch.entropy([0.5, 0.5])


def test_calibration_bins_and_ece():
    conf = [0.95, 0.85, 0.9, 0.3, 0.2]
    correct = [True, True, False, False, True]
    bins = ch.calibration_bins(conf, correct, n_bins=2)
    assert [b["n"] for b in bins] == [2, 3]
    assert bins[1]["accuracy"] == pytest.approx(2 / 3) and bins[1]["confidence"] == pytest.approx(0.9)
    assert bins[0]["accuracy"] == pytest.approx(0.5) and bins[0]["confidence"] == pytest.approx(0.25)
    ece = ch.expected_calibration_error(conf, correct, n_bins=2)
    assert ece == pytest.approx((2 * 0.25 + 3 * abs(2 / 3 - 0.9)) / 5)
    assert ch.expected_calibration_error([0.9, 0.9], [True, False]) == pytest.approx(0.4)
    assert ch.calibration_bins([1.0], [True], n_bins=10)[0]["hi"] == 1.0  # confidence 1 lands in the top bin


@pytest.mark.parametrize(
    "conf, correct, n_bins",
    [([0.5], [True, False], 10), ([1.5], [True], 10), ([], [], 10), ([0.5], [True], 0)],
)
def test_calibration_rejects_bad_input(conf, correct, n_bins):
    with pytest.raises(ValueError):
        ch.calibration_bins(conf, correct, n_bins)


def test_selective_accuracy():
    out = ch.selective_accuracy([0.1, 2.0, 0.5, 3.0], [True, False, True, True], [0.0, 0.5, 10.0])
    assert [o["coverage"] for o in out] == [0.0, 0.5, 1.0]
    assert math.isnan(out[0]["accuracy"]) and out[1]["accuracy"] == 1.0 and out[2]["accuracy"] == 0.75
    assert [o["wrong"] for o in out] == [0.0, 0.0, 0.25]
    with pytest.raises(ValueError, match="one length"):
        ch.selective_accuracy([0.1], [True, False], [1.0])


# ---------------------------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def memorised():
    """A tiny GPT that has read two facts many times."""
    texts = ["the code of kalo is 1 2 .", "the partner of kalo is miru ."] * 40
    model, tok, history = ch.train_tiny_gpt(
        texts, seed=0, vocab_texts=["0 3 4 5 6 7 8 9 tofu"], steps=150, d_model=32, n_head=2, block_size=12
    )
    return model, tok, history


def test_train_tiny_gpt_learns_and_is_seeded(memorised):
    model, tok, history = memorised
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert isinstance(model, GPT) and not model.training
    assert tok.token_to_id("tofu") != tok.unk_id  # vocab_texts reach the tokenizer
    again, _, _ = ch.train_tiny_gpt(
        ["the code of kalo is 1 2 .", "the partner of kalo is miru ."] * 40,
        seed=0,
        vocab_texts=["0 3 4 5 6 7 8 9 tofu"],
        steps=150,
        d_model=32,
        n_head=2,
        block_size=12,
    )
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_train_tiny_gpt_runs_eval_fn_with_the_tokenizer():
    seen = []

    def probe(model, tok):
        seen.append(tok.token_to_id("miru"))
        return {
            "recall": float(ch.answer_report(model, tok, ["the partner of kalo is"], ["miru"])["correct"][0])
        }

    _, tok, history = ch.train_tiny_gpt(
        ["the partner of kalo is miru ."] * 20,
        steps=20,
        eval_fn=probe,
        eval_every=10,
        d_model=16,
        n_head=2,
        block_size=8,
    )
    assert history.steps("eval_recall") == [9, 19] or len(history["eval_recall"]) == 2
    assert seen and all(i == tok.token_to_id("miru") for i in seen)
    with pytest.raises(TypeError, match="eval_fn"):
        ch.train_tiny_gpt(["a b c d e f g h i j"] * 5, steps=1, eval_fn="recall", block_size=4)


def test_train_tiny_gpt_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        ch.train_tiny_gpt([])
    with pytest.raises(TypeError, match="wrap"):
        ch.train_tiny_gpt("a robin can fly .")
    with pytest.raises(ValueError, match="unknown settings"):
        ch.train_tiny_gpt(["a b c"], n_layers=3)
    with pytest.raises(ValueError, match="too few"):
        ch.train_tiny_gpt(["a b"], steps=1)


def test_answer_report_and_greedy(memorised):
    model, tok, _ = memorised
    r = ch.answer_report(model, tok, ["the partner of kalo is", "the code of kalo is"], ["miru", "1"])
    assert r["predicted"] == ["miru", "1"] and r["correct"] == [True, True]
    assert all(0.5 < c <= 1 for c in r["confidence"]) and r["p_answer"] == pytest.approx(r["confidence"])
    assert all(e >= 0 for e in r["entropy"])
    assert ch.greedy_answers(model, tok, ["the code of kalo is"], max_new_tokens=4, suffix="") == ["1 2 ."]
    with pytest.raises(ValueError, match="one answer per prompt"):
        ch.answer_report(model, tok, ["a"], ["b", "c"])
    with pytest.raises(ValueError, match="not one word"):
        ch.answer_report(model, tok, ["the partner of kalo is"], ["miru kalo"])


def test_next_word_probs_is_the_same_batched_or_alone(memorised):
    model, tok, _ = memorised
    prompts = ["the partner of kalo is", "the code", "the code of kalo is 1"]
    together = ch.next_word_probs(model, tok, prompts)
    alone = torch.cat([ch.next_word_probs(model, tok, [p]) for p in prompts])
    assert together.shape == (3, tok.vocab_size)
    assert torch.allclose(together, alone, atol=1e-5)
    assert torch.allclose(together.sum(-1), torch.ones(3))


def test_token_log_probs_match_the_loss(memorised):
    model, tok, _ = memorised
    text = "the partner of kalo is miru ."
    lp = ch.token_log_probs(model, tok, [text, "the code"])
    assert lp[0].shape == (len(text.split()),) and lp[1].shape == (2,)
    ids = torch.tensor([[tok.bos_id] + tok.encode(text)])
    with torch.no_grad():
        loss = model(ids[:, :-1], targets=ids[:, 1:]).loss
    assert float(-lp[0].mean()) == pytest.approx(float(loss), abs=1e-4)


def test_secret_log_probs_enumerates_every_candidate(memorised):
    model, tok, _ = memorised
    lp = ch.secret_log_probs(model, tok, "the code of kalo is", n_digits=2)
    assert lp.shape == (100,)
    assert int(lp.argmax()) == 12 and ch.rank_of(lp, 12) == 1  # the secret "1 2" memorised
    # each candidate's log-probability is the sum over its digits, as a direct computation gives
    for cand in (12, 7, 93):
        text = f"the code of kalo is {cand // 10} {cand % 10}"
        direct = ch.token_log_probs(model, tok, [text])[0][-2:].sum()
        assert float(lp[cand]) == pytest.approx(float(direct), abs=1e-4)
    assert (
        float(torch.logsumexp(ch.secret_log_probs(model, tok, "the code of kalo is", n_digits=1), 0)) <= 1e-5
    )
    with pytest.raises(ValueError, match="n_digits"):
        ch.secret_log_probs(model, tok, "the code of kalo is", n_digits=0)
    with pytest.raises(ValueError, match="vocabulary"):
        ch.secret_log_probs(model, tok, "the code of kalo is", alphabet="ab")


def test_train_answer_gpt_puts_the_loss_on_the_answer():
    rows = [{"prompt": "jump twice", "answer": "JUMP JUMP"}, {"prompt": "walk", "answer": "WALK"}] * 10
    model, tok, history = ch.train_answer_gpt(rows, seed=0, steps=80, d_model=32, n_head=2)
    assert ch.greedy_answers(model, tok, ["jump twice", "walk"]) == ["JUMP JUMP", "WALK"]
    with pytest.raises(ValueError, match="block_size"):
        ch.train_answer_gpt(rows, block_size=4)
    with pytest.raises(ValueError, match="prompt"):
        ch.train_answer_gpt([{"question": "x"}])


def test_an_untrained_model_gives_a_near_uniform_distribution():
    tok = WordTokenizer().train(["a b c d"])
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=1, d_model=16)).eval()
    r = ch.answer_report(model, tok, ["a b"])
    assert r["entropy"][0] == pytest.approx(math.log(tok.vocab_size), abs=0.05)


def test_masked_word_probs_reads_a_pair_as_bert_does():
    from lmnotes.models.bert import BertConfig, BertForPreTraining

    tok = WordTokenizer().train(["a robin is a bird .", "a salmon is a fish ."])
    torch.manual_seed(0)
    bert = BertForPreTraining(
        BertConfig(
            vocab_size=tok.vocab_size, max_position=32, d_model=16, n_layer=1, n_head=2, d_ff=32, dropout=0.0
        )
    ).eval()
    alone = ch.masked_word_probs(bert, tok, ["a robin is a [MASK] ."])
    paired = ch.masked_word_probs(
        bert, tok, ["a robin is a [MASK] .", "a robin is a [MASK] ."], ["a salmon is a fish .", None]
    )
    assert alone.shape == (1, tok.vocab_size) and torch.allclose(alone.sum(-1), torch.ones(1))
    assert torch.allclose(paired[1], alone[0], atol=1e-6)  # None: read alone
    ids, seg = tok.encode_pair("a salmon is a fish .", "a robin is a [MASK] .")
    x = torch.tensor([ids])
    want = bert(x, torch.tensor([seg])).mlm_logits[0, ids.index(tok.mask_id)].softmax(-1)
    assert torch.allclose(paired[0], want, atol=1e-6)
    with pytest.raises(ValueError, match="exactly one"):
        ch.masked_word_probs(bert, tok, ["a robin is a bird ."])
    with pytest.raises(ValueError, match="one context"):
        ch.masked_word_probs(bert, tok, ["a [MASK] ."], ["x", "y"])
