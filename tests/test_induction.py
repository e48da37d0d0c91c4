"""Induction heads: the repeated-sequence generator, the attention-only model, the head scores, ablation, and the
exercise's checker."""

import math

import pytest
import torch

from lmnotes.challenges import induction as ind
from lmnotes.data.challenges.induction import repeated_sequences
from lmnotes.exercises import EXERCISES, names, reference, run_check

# ---------------------------------------------------------------------------------------------- the data


def test_rows_repeat_a_stretch_at_a_random_offset():
    d = repeated_sequences(200, seq_len=32, repeat_len=8, vocab_size=64, seed=3)
    x, src = d["tokens"], d["source"]
    assert x.shape == src.shape == d["predictable"].shape == (200, 32)
    for r in range(200):
        a, o = int(d["start"][r]), int(d["offset"][r])
        assert torch.equal(x[r, a + o : a + o + 8], x[r, a : a + 8])
        assert src[r, a + o : a + o + 8].tolist() == list(range(a, a + 8))
        assert (src[r] >= 0).sum() == 8
        assert d["predictable"][r].nonzero()[:, 0].tolist() == list(range(a + o + 1, a + o + 8))
    assert int(d["offset"].min()) >= 8 and int(d["offset"].max()) <= 24
    assert len(set(d["offset"].tolist())) >= 10  # the offset varies
    assert len(set(d["start"].tolist())) >= 5
    assert int(x.min()) >= 0 and int(x.max()) < 64


def test_fixed_offset_and_seeding():
    d = repeated_sequences(50, seq_len=20, repeat_len=5, vocab_size=30, seed=1, min_offset=9, max_offset=9)
    assert set(d["offset"].tolist()) == {9}
    again = repeated_sequences(
        50, seq_len=20, repeat_len=5, vocab_size=30, seed=1, min_offset=9, max_offset=9
    )
    assert torch.equal(d["tokens"], again["tokens"])
    other = repeated_sequences(
        50, seq_len=20, repeat_len=5, vocab_size=30, seed=2, min_offset=9, max_offset=9
    )
    assert not torch.equal(d["tokens"], other["tokens"])


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(n=0), "n must be"),
        (dict(seq_len=3), "seq_len must be"),
        (dict(repeat_len=1), "repeat_len must be"),
        (dict(vocab_size=1), "vocab_size must be"),
        (dict(seed=-1), "seed must be"),
        (dict(n=2.5), "n must be"),
        (dict(repeat_len=20, seq_len=32), "does not fit"),
        (dict(min_offset=4, repeat_len=8), "overlap"),
        (dict(min_offset=20, max_offset=10), "larger than max_offset"),
        (dict(max_offset=30), "does not fit"),
    ],
)
def test_generator_rejects_bad_input(kw, words):
    args = dict(n=4, seq_len=32, repeat_len=8, vocab_size=64, seed=0) | kw
    with pytest.raises(ValueError, match=words):
        repeated_sequences(**args)


# ---------------------------------------------------------------------------------------------- the model


def _model(n_layer=2, seed=0):
    torch.manual_seed(seed)
    return ind.AttentionOnlyTransformer(
        vocab_size=20, seq_len=12, n_layer=n_layer, n_head=2, d_model=16
    ).eval()


def test_model_is_causal():
    m = _model()
    x = torch.randint(0, 20, (3, 12), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, 7:] = (y[:, 7:] + 1) % 20  # change the future from position 7 on
    with torch.no_grad():
        a, b = m(x), m(y)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(a[:, 7:], b[:, 7:])
    maps = ind.attention_maps(m, x)
    assert maps.shape == (3, 2, 2, 12, 12)
    assert torch.all(maps.triu(1) == 0)
    assert torch.allclose(maps.sum(-1), torch.ones(3, 2, 2, 12), atol=1e-5)


def test_weights_path_gives_the_same_logits():
    m = _model()
    x = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        fused = m(x)
        explicit, weights = m(x, return_weights=True)
    assert torch.allclose(fused, explicit, atol=1e-5)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 12, 12)


def test_model_rejects_bad_input():
    m = _model()
    with pytest.raises(ValueError, match="longer than"):
        m(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(ValueError, match="batch, time"):
        m(torch.zeros(12, dtype=torch.long))
    with pytest.raises(ValueError, match="n_head must be"):
        ind.AttentionOnlyTransformer(vocab_size=20, seq_len=12, n_head=0)


# ---------------------------------------------------------------------------------------------- scores


def _perfect_maps(tokens):
    """(B, T, T) maps of a perfect induction head: each query whose token occurred before attends to the
    token after that occurrence; the others attend to position 0."""
    B, T = tokens.shape
    w = torch.zeros(B, T, T)
    w[:, :, 0] = 1.0
    for b in range(B):
        for t in range(T):
            earlier = [j for j in range(t) if tokens[b, j] == tokens[b, t]]
            if earlier:
                w[b, t] = 0.0
                w[b, t, earlier[-1] + 1] = 1.0
    return w


def test_perfect_induction_map_scores_one():
    d = repeated_sequences(16, seq_len=24, repeat_len=6, vocab_size=200, seed=4)
    w = _perfect_maps(d["tokens"])
    assert math.isclose(float(ind.induction_score(w, d["tokens"])), 1.0, abs_tol=1e-6)
    prev = torch.diag(torch.ones(23), -1).expand(16, 24, 24).clone()
    prev[:, 0, 0] = 1.0
    assert float(ind.previous_token_score(prev, d["tokens"])) == pytest.approx(1.0)
    assert float(ind.induction_score(prev, d["tokens"])) < 0.2  # a previous-token head is no induction head
    assert float(ind.previous_token_score(w, d["tokens"])) < 0.3


def test_uniform_map_scores_the_mean_of_one_over_t_plus_one():
    tokens = torch.tensor([[4, 5, 6, 7, 4, 5, 6, 7, 9]])
    T = tokens.shape[1]
    uniform = torch.tril(torch.ones(T, T)) / torch.arange(1, T + 1)[:, None]
    want = sum(1 / (t + 1) for t in range(4, 8)) / 4  # queries 4..7 have an earlier occurrence
    assert float(ind.induction_score(uniform[None], tokens)) == pytest.approx(want)
    assert float(ind.induction_score(uniform, tokens[0])) == pytest.approx(want)
    want_prev = sum(1 / (t + 1) for t in range(1, T)) / (T - 1)
    assert float(ind.previous_token_score(uniform[None], tokens)) == pytest.approx(want_prev)


def test_scores_per_head():
    d = repeated_sequences(8, seq_len=16, repeat_len=4, vocab_size=100, seed=0)
    w = _perfect_maps(d["tokens"])
    uniform = torch.tril(torch.ones(16, 16)) / torch.arange(1, 17)[:, None]
    both = torch.stack([w, uniform.expand(8, 16, 16)], dim=1)  # (B, H=2, T, T)
    s = ind.induction_score(both, d["tokens"])
    assert s.shape == (2,) and float(s[0]) == pytest.approx(1.0) and float(s[1]) < 0.2


def test_scores_reject_bad_input():
    with pytest.raises(ValueError, match="must end in"):
        ind.induction_score(torch.ones(2, 5, 5), torch.zeros(2, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="first dims"):
        ind.induction_score(torch.ones(3, 5, 5), torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="occurs twice"):
        ind.induction_score(torch.ones(1, 4, 4), torch.arange(4)[None])
    with pytest.raises(TypeError, match="tensors"):
        ind.induction_score([[1.0]], torch.zeros(1, 1))


# ---------------------------------------------------------------------------------------------- ablation


def test_ablation_changes_outputs_only_through_that_head():
    m = _model(n_layer=2)
    x = torch.randint(0, 20, (4, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        base, base_w = m(x, return_weights=True)
        with ind.ablate_head(m, 1, 0):
            abl, abl_w = m(x, return_weights=True)
        after = m(x)
    assert torch.allclose(after, base, atol=1e-5)  # the hook is removed on leaving the block
    assert not torch.allclose(abl, base)
    for a, b in zip(base_w, abl_w):  # ablating a head of the last layer changes no attention pattern
        assert torch.allclose(a, b)
    # the logits change by exactly that head's contribution: its slice of the output projection
    attn, ln = m.attn[1], m.ln[1]
    with torch.no_grad():
        h = m.tok_emb(x) + m.pos_emb(torch.arange(12))
        h = h + m.attn[0](m.ln[0](h), causal=True)
        _, w = attn(ln(h), causal=True, return_weights=True)
        q, k, v = attn.qkv(ln(h)).split(16, dim=2)
        v0 = v.view(4, 12, 2, 8)[:, :, 0]  # head 0's values (B, T, d_head)
        head0 = (w[:, 0] @ v0) @ attn.proj.weight[:, :8].T  # what head 0 adds to the residual stream
        full = h + attn(ln(h), causal=True)
        assert torch.allclose(m.unembed(m.ln_f(full - head0)), abl, atol=1e-5)


def test_ablating_a_first_layer_head_changes_the_second_layer_pattern_only_downstream():
    m = _model(n_layer=2)
    x = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        _, base_w = m(x, return_weights=True)
        with ind.ablate_head(m, 0, 1):
            _, abl_w = m(x, return_weights=True)
    assert torch.allclose(base_w[0], abl_w[0])  # layer 0 computes what it did
    assert not torch.allclose(base_w[1], abl_w[1])  # layer 1 reads a changed residual stream


def test_ablate_head_rejects_bad_input():
    m = _model()
    with pytest.raises(ValueError, match="layer must be"):
        with ind.ablate_head(m, 2, 0):
            pass
    with pytest.raises(ValueError, match="head must be"):
        with ind.ablate_head(m, 0, 2):
            pass


# ---------------------------------------------------------------------------------------------- training


def test_training_runs_and_logs_the_phase_change_metrics():
    model, history = ind.train_induction_model(
        n_layer=2, steps=20, seed=0, batch_size=8, eval_every=10, seq_len=16, repeat_len=4, d_model=16
    )
    assert history.steps("eval_repeated_loss") == [10, 20]
    assert len(history["eval_induction"]) == 2
    d = repeated_sequences(32, seq_len=16, repeat_len=4, seed=5)
    loss = ind.repeated_token_loss(model, d)
    assert 0 < loss < 2 * math.log(64)
    assert ind.head_scores(model, d["tokens"])["induction"].shape == (2, 2)


def test_training_and_loss_reject_bad_input():
    with pytest.raises(ValueError, match="unknown settings"):
        ind.train_induction_model(steps=1, n_heads=2)
    with pytest.raises(ValueError, match="does not fit"):
        ind.train_induction_model(steps=1, seq_len=16, repeat_len=12)
    with pytest.raises(TypeError, match="repeated_sequences"):
        ind.repeated_token_loss(_model(), torch.zeros(2, 12, dtype=torch.long))


# ---------------------------------------------------------------------------------------------- the exercise


def test_exercise_registered_in_the_chapter():
    assert {"induction_score", "one_layer_induction", "ablation_reading"} <= set(names())
    for name in ("induction_score", "one_layer_induction", "ablation_reading"):
        assert EXERCISES[name].chapter == "challenges"
    assert run_check("induction_score", reference("induction_score"))[0] == "correct"
    assert run_check("one_layer_induction", "b")[0] == "correct"
    assert run_check("ablation_reading", "c")[0] == "correct"
    assert run_check("one_layer_induction", "a")[0] == "wrong"


def test_reference_agrees_with_the_package():
    d = repeated_sequences(1, seq_len=20, repeat_len=6, vocab_size=8, seed=7)  # chance repeats too
    w = torch.rand(20, 20, generator=torch.Generator().manual_seed(0)).tril()
    w = w / w.sum(-1, keepdim=True)
    got = reference("induction_score")(w, d["tokens"][0].tolist())
    assert got == pytest.approx(float(ind.induction_score(w[None], d["tokens"])))


def _earlier(tokens, t):
    return [j for j in range(t) if tokens[j] == tokens[t]]


def _make(key_of, queries="repeated"):
    def fn(attn, tokens):
        total, n = 0.0, 0
        for t in range(len(tokens)):
            e = _earlier(tokens, t)
            if queries == "repeated" and not e:
                continue
            total += sum(float(attn[t, k]) for k in key_of(t, e) if 0 <= k <= t)
            n += 1
        return total / n

    return fn


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_make(lambda t, e: e), "token *after* it"),
        (_make(lambda t, e: [j - 1 for j in e]), "*before* the earlier occurrence"),
        (_make(lambda t, e: [j + 2 for j in e]), "j + 2"),
        (_make(lambda t, e: [t - 1]), "previous-token score"),
        (_make(lambda t, e: [e[0] + 1] if e else []), "not only the first"),
        (_make(lambda t, e: [e[-1] + 1] if e else []), "not only the last"),
        (_make(lambda t, e: [j + 1 for j in e], queries="all"), "average only over the queries"),
        (lambda attn, tokens: [1.0], "return one number"),
        (lambda attn, tokens: 0.9, "the induction score is"),
    ],
)
def test_exercise_rejects_typical_mistakes(wrong, words):
    status, msg = run_check("induction_score", wrong)
    assert status == "wrong" and words in msg, msg
