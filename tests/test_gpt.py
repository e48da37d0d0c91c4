"""The GPT: causality, cached = uncached generation, sampling filters, stop tokens, bad input, HF parity, training."""

import pytest
import torch

from lmnotes.models.gpt import GPT, GPTConfig, top_k_filter, top_p_filter


def tiny(**kw):
    torch.manual_seed(0)
    cfg = dict(vocab_size=50, block_size=16, n_layer=2, n_head=2, d_model=32)
    cfg.update(kw)
    return GPT(GPTConfig(**cfg)).eval()


def test_shapes_and_outputs():
    m = tiny()
    x = torch.randint(0, 50, (3, 10))
    out = m(x)
    assert out.logits.shape == (3, 10, 50) and out.loss is None
    assert out.hidden_states is None and out.attentions is None
    out2 = m(x, targets=x)
    assert torch.equal(out.logits, out2.logits) and out2.loss.ndim == 0
    # the last hidden states are those after the final layer norm: the tied head turns them into the logits
    assert out.last_hidden_state.shape == (3, 10, 32)
    assert torch.allclose(out.last_hidden_state @ m.wte.weight.T, out.logits, atol=1e-5)
    assert m.lm_head.weight is m.wte.weight
    # one contract: every field keeps its shape whatever else is asked for
    full = m(x, targets=x, output_hidden_states=True, output_attentions=True)
    assert full.logits.shape == (3, 10, 50) and torch.allclose(full.loss, out2.loss, atol=1e-5)
    assert len(full.hidden_states) == 3 and all(h.shape == (3, 10, 32) for h in full.hidden_states)
    assert torch.allclose(full.hidden_states[-1], out.last_hidden_state, atol=1e-5)
    assert len(full.attentions) == 2 and full.attentions[0].shape == (3, 2, 10, 10)
    assert torch.allclose(m.next_token_logits(x), out.logits[:, -1], atol=1e-5)


def test_ignore_index():
    m = tiny()
    x = torch.randint(0, 50, (2, 8))
    y = x.clone()
    y[:, :4] = -100
    loss = m(x, targets=y).loss
    logits = m(x).logits
    ref = torch.nn.functional.cross_entropy(logits[:, 4:].reshape(-1, 50), x[:, 4:].reshape(-1))
    assert torch.allclose(loss, ref, atol=1e-5)


def test_gpt2_init_scales_residual_projections():
    m = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=8, n_head=2, d_model=256))
    std_proj = m.blocks[0].attn.proj.weight.std().item()
    std_fc = m.blocks[0].mlp.fc.weight.std().item()
    assert abs(std_fc - 0.02) < 0.002
    assert abs(std_proj - 0.02 / (2 * 8) ** 0.5) < 0.001


@pytest.mark.parametrize("explicit", [False, True])
def test_causality(explicit):
    m = tiny()
    x = torch.randint(0, 50, (2, 12))
    y = x.clone()
    y[:, 7:] = (y[:, 7:] + 1) % 50  # change only later tokens
    a = m(x, explicit=explicit).logits
    b = m(y, explicit=explicit).logits
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(a[:, 7:], b[:, 7:])


def test_explicit_and_fused_agree_and_attention_is_causal():
    m = tiny()
    x = torch.randint(0, 50, (2, 12))
    fused = m(x).logits
    out = m(x, explicit=True, output_attentions=True)
    assert torch.allclose(fused, out.logits, atol=1e-5)
    w = out.attentions[0]  # (B, nh, T, T)
    assert w.shape == (2, 2, 12, 12)
    future = ~torch.ones(12, 12, dtype=torch.bool).tril()  # key j after query i
    assert torch.all(w.masked_select(future) == 0)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 12), atol=1e-5)


def test_attention_mask_right_padding_does_not_change_real_positions():
    m = tiny()
    x = torch.randint(1, 50, (1, 6))
    padded = torch.cat([x, torch.zeros(1, 3, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 6 + [0] * 3])
    assert torch.allclose(m(x).logits, m(padded, attention_mask=mask).logits[:, :6], atol=1e-5)


def test_cache_forward_matches_full_forward():
    m = tiny()
    x = torch.randint(0, 50, (2, 10))
    full = m(x).logits
    cache = m.new_cache(2)
    first = m(x[:, :6], cache=cache).logits
    steps = [m(x[:, t : t + 1], cache=cache).logits for t in range(6, 10)]
    assert torch.allclose(torch.cat([first] + steps, 1), full, atol=1e-5)


def test_greedy_cached_equals_uncached():
    m = tiny()
    x = torch.randint(0, 50, (3, 5))
    a = m.generate(x, 9, temperature=0.0, use_cache=True)
    b = m.generate(x, 9, temperature=0.0, use_cache=False)
    assert a.shape == (3, 14) and torch.equal(a, b)
    assert torch.equal(a[:, :5], x)


@pytest.mark.parametrize(
    "kw", [dict(), dict(top_k=5), dict(top_p=0.8), dict(temperature=1.5, top_k=10, top_p=0.9)]
)
def test_sampling_cached_equals_uncached_with_same_seed(kw):
    m = tiny()
    x = torch.randint(0, 50, (2, 3))
    a = m.generate(x, 20, use_cache=True, generator=torch.Generator().manual_seed(7), **kw)
    b = m.generate(x, 20, use_cache=False, generator=torch.Generator().manual_seed(7), **kw)
    assert torch.equal(a, b)
    c = m.generate(x, 20, use_cache=True, generator=torch.Generator().manual_seed(8), **kw)
    assert not torch.equal(a, c)


def test_generation_past_the_context_slides_the_window():
    m = tiny(block_size=8)
    x = torch.randint(0, 50, (2, 5))
    a = m.generate(x, 12, temperature=0.0, use_cache=True)
    b = m.generate(x, 12, temperature=0.0, use_cache=False)
    assert a.shape == (2, 17) and torch.equal(a, b)


def test_long_prompt_is_cropped_or_refused():
    m = tiny(block_size=8)
    x = torch.randint(0, 50, (1, 12))
    out = m.generate(x, 3, temperature=0.0)
    # cropping keeps the last block_size tokens: same continuation as from the cropped prompt
    assert torch.equal(out[:, 12:], m.generate(x[:, -8:], 3, temperature=0.0)[:, 8:])
    with pytest.raises(ValueError, match="context is 8"):
        m.generate(x, 3, crop=False)
    with pytest.raises(ValueError, match="longer than the model's context"):
        m(x)


@pytest.mark.parametrize("bad", [50, 77, -1])
def test_out_of_range_token_ids_get_a_clear_error(bad):
    m = tiny()
    x = torch.randint(0, 50, (2, 6))
    x[1, 3] = bad
    for call in (
        lambda: m(x),
        lambda: m.generate(x, 2),
        lambda: m.next_token_logits(x),
        lambda: m.next_token_probs(x),
    ):
        with pytest.raises(ValueError, match=rf"token id {bad} is outside the vocabulary.*0\.\.49"):
            call()
    with pytest.raises(ValueError, match="integer token ids"):
        m(x.float())


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(temperature=-1.0), "temperature must be >= 0"),
        (dict(top_p=0.0), "top_p must be in"),
        (dict(top_p=1.5), "top_p must be in"),
        (dict(top_k=0), "top_k must be an integer >= 1"),
    ],
)
def test_bad_sampling_arguments(kw, msg):
    m = tiny()
    with pytest.raises(ValueError, match=msg):
        m.generate(torch.zeros(1, 2, dtype=torch.long), 3, **kw)


def test_top_k_keeps_exactly_the_k_largest():
    logits = torch.tensor([[0.1, 2.0, -1.0, 3.0, 0.5], [5.0, 4.0, 3.0, 2.0, 1.0]])
    kept = top_k_filter(logits, 2).isfinite()
    assert kept.tolist() == [[False, True, False, True, False], [True, True, False, False, False]]
    assert top_k_filter(logits, 100).isfinite().all()


def test_top_p_keeps_the_smallest_nucleus():
    probs = torch.tensor([[0.1, 0.5, 0.3, 0.1]])
    logits = probs.log()
    # (exact boundaries such as 0.8 = 0.5 + 0.3 are avoided: the sum is not exact in floating point)
    assert top_p_filter(logits, 0.45).isfinite().tolist() == [[False, True, False, False]]
    assert top_p_filter(logits, 0.7).isfinite().tolist() == [[False, True, True, False]]
    assert top_p_filter(logits, 0.75).isfinite().tolist() == [[False, True, True, False]]
    assert top_p_filter(logits, 0.85).isfinite().sum().item() == 3
    assert top_p_filter(logits, 1.0).isfinite().all()
    assert top_p_filter(logits, 0.01).isfinite().tolist() == [[False, True, False, False]]


def test_next_token_probs_respect_filters():
    m = tiny()
    x = torch.randint(0, 50, (1, 4))
    p = m.next_token_probs(x, top_k=3)
    assert (p > 0).sum().item() == 3 and torch.allclose(p.sum(), torch.tensor(1.0))
    g = m.next_token_probs(x, temperature=0.0)
    assert g.max().item() == 1.0


def test_stop_token_stops():
    m = tiny()
    x = torch.randint(0, 50, (1, 3))
    greedy = m.generate(x, 10, temperature=0.0)
    stop = greedy[0, 5].item()  # a token greedy decoding produces third
    first = (greedy[0, 3:] == stop).nonzero()[0].item()
    out = m.generate(x, 10, temperature=0.0, stop_token=stop)
    assert out.shape[1] == 3 + first + 1 and out[0, -1].item() == stop
    # in a batch, a finished sequence keeps producing the stop token until all have stopped
    xb = torch.randint(0, 50, (4, 3))
    outb = m.generate(xb, 10, temperature=1.0, stop_token=stop, generator=torch.Generator().manual_seed(0))
    for row in outb[:, 3:]:
        hits = (row == stop).nonzero()
        if len(hits):
            assert (row[hits[0].item() :] == stop).all()


def test_a_short_training_run_lowers_the_loss():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=12, block_size=16, n_layer=1, n_head=2, d_model=32)).train()
    # a repeating pattern is perfectly predictable from the left context
    seq = torch.arange(12).repeat(4)[None, :17].repeat(8, 1)
    x, y = seq[:, :-1], seq[:, 1:]
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = m(x, targets=y).loss
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first


def test_fit_trains_it_without_a_loss_fn():
    from lmnotes.train import fit

    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=12, block_size=16, n_layer=1, n_head=2, d_model=32))
    seq = torch.arange(12).repeat(4)[None, :17].repeat(8, 1)
    h = fit(m, [(seq[:, :-1], seq[:, 1:])], steps=40, lr=3e-3, progress=False)
    assert h["loss"][-1] < 0.5 * h["loss"][0]


def test_hf_parity():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hc = transformers.GPT2Config(
        vocab_size=97,
        n_positions=32,
        n_embd=48,
        n_layer=3,
        n_head=4,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    hf = transformers.GPT2LMHeadModel(hc).eval()
    # randomise the biases and layer norms too, so a transposed or misplaced weight cannot hide
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "ln" in name or name.endswith("bias"):
                p.normal_(0.0, 0.5)
    ours = GPT.from_hf(hf).eval()
    x = torch.randint(0, 97, (2, 20))
    with torch.no_grad():
        ref = hf(x).logits
        got = ours(x).logits
    assert (got - ref).abs().max().item() < 1e-4
    # generation agrees with Hugging Face's greedy decoding
    with torch.no_grad():
        ref_gen = hf.generate(
            x[:1, :5],
            max_new_tokens=8,
            do_sample=False,
            pad_token_id=0,
            attention_mask=torch.ones(1, 5, dtype=torch.long),
        )
    assert torch.equal(ours.generate(x[:1, :5], 8, temperature=0.0), ref_gen)


def test_hf_model_is_returned_in_eval_mode():
    transformers = pytest.importorskip("transformers")
    hf = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(vocab_size=50, n_positions=16, n_embd=32, n_layer=1, n_head=2)
    ).train()
    assert not GPT.from_hf(hf).training


@pytest.mark.parametrize(
    "option, msg",
    [
        (dict(scale_attn_weights=False), "scale_attn_weights"),
        (dict(scale_attn_by_inverse_layer_idx=True), "inverse_layer_idx"),
    ],
)
def test_hf_refuses_attention_options_it_does_not_implement(option, msg):
    transformers = pytest.importorskip("transformers")
    hf = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(vocab_size=50, n_positions=16, n_embd=32, n_layer=2, n_head=2, **option)
    )
    with pytest.raises(ValueError, match=msg):
        GPT.from_hf(hf)


def test_hf_refuses_another_family():
    transformers = pytest.importorskip("transformers")
    bert = transformers.BertForPreTraining(
        transformers.BertConfig(
            vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        )
    )
    with pytest.raises(ValueError, match="GPT2LMHeadModel.*'bert'"):
        GPT.from_hf(bert)


def test_hf_rejects_a_mismatched_state():
    transformers = pytest.importorskip("transformers")
    hf = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(
            vocab_size=50, n_positions=16, n_embd=32, n_layer=1, n_head=2, activation_function="relu"
        )
    )
    with pytest.raises(ValueError, match="tanh GELU"):
        GPT.from_hf(hf)


def test_bad_config():
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=10, d_model=30, n_head=4)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        GPTConfig(vocab_size=0)


def _world_tok():
    from lmnotes.data import WordTokenizer, facts, instructions

    rows = list(instructions(200, seed=0)["train"])
    tok = WordTokenizer().train([r["text"] for r in rows] + list(facts(0)["test"]["text"]))
    return tok, rows


def test_instruction_batches_put_the_loss_on_the_answer_only():
    from lmnotes.recipes.gpt import instruction_batches

    tok, rows = _world_tok()
    x, y, m = instruction_batches(rows[:1], tok, batch_size=2, seed=0)(0)
    r = rows[0]
    n_prompt = len(tok.encode(r["prompt"] + " answer :"))
    assert x[0, 0].item() == tok.bos_id and m[0].sum().item() == x.shape[1]
    assert (y[0, :n_prompt] == -100).all()
    assert y[0, n_prompt:].tolist() == tok.encode(r["answer"]) + [tok.eos_id]
    assert x[0, n_prompt].item() == tok.token_to_id(":")  # the answer is predicted right after "answer :"


def test_answer_accuracy_and_sample_facts_run_on_an_untrained_model():
    from lmnotes.recipes.gpt import answer_accuracy, sample_facts

    tok, rows = _world_tok()
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, d_model=32))
    acc = answer_accuracy(m, tok, rows[:20])
    assert 0.0 <= acc <= 1.0
    s = sample_facts(m, tok, temperature=0.0, n_per_entity=1)
    assert s["n"] == 37 and 0.0 <= s["true"] <= 1.0 and s["distinct"] <= 1.0
