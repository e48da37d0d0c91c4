"""Decoding with a static key/value cache (`GPT.decoder`): the tokens equal `GPT.generate`'s (its dynamic
cache), for batch 1, a batch, and prompts of different lengths; the decode step compiles into one graph that
is reused at every step (what CUDA graphs need); bad input is refused with what to do."""

from __future__ import annotations

import pytest
import torch

from lmnotes.models.gpt import GPT, GPTConfig
from lmnotes.models.transformer import StaticKVCache


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=97, block_size=64, n_layer=2, n_head=4, d_model=32)).eval()
    with torch.no_grad():
        m.wte.weight.mul_(
            20
        )  # spread the logits: random-init logits are nearly tied, so argmax would be fragile
    return m


PROMPTS = [[1, 2, 3, 4, 5, 6], [7, 8], [9, 10, 11, 12], [13]]


def dynamic(model, prompt, n, **kw):
    return model.generate(torch.tensor([prompt]), n, temperature=kw.pop("temperature", 0.0), **kw)[0].tolist()


def test_batch_1_greedy_equals_generate(model):
    idx = torch.tensor([[5, 17, 42]])
    out = model.decoder(batch=1).generate(idx, 40)
    assert out.shape == (1, 43)
    assert torch.equal(out, model.generate(idx, 40, temperature=0.0))


def test_a_batch_of_equal_prompts_equals_generate(model):
    idx = torch.randint(0, 97, (4, 5), generator=torch.Generator().manual_seed(1))
    assert torch.equal(model.decoder(batch=4).generate(idx, 30), model.generate(idx, 30, temperature=0.0))


def test_prompts_of_different_lengths_each_equal_their_own_generate(model):
    dec = model.decoder(batch=len(PROMPTS))
    out = dec.generate(PROMPTS, 25)
    assert out == [dynamic(model, p, 25) for p in PROMPTS]
    assert dec.generate(PROMPTS, 25) == out  # the cache is reused: a second call starts afresh


def test_sampling_with_a_generator_draws_the_same_tokens(model):
    idx = torch.tensor([[3, 1, 4], [1, 5, 9]])
    kw = dict(temperature=1.0, top_k=20)
    a = model.decoder(batch=2).generate(idx, 20, generator=torch.Generator().manual_seed(7), **kw)
    b = model.generate(idx, 20, generator=torch.Generator().manual_seed(7), **kw)
    assert torch.equal(a, b)


def test_stop_token_ends_rows_as_generate_does(model):
    prompt = [1, 2, 3]
    free = dynamic(model, prompt, 30)
    stop = free[len(prompt) + 4]  # a token the greedy continuation produces
    out = model.decoder(batch=1).generate(torch.tensor([prompt]), 30, stop_token=stop)
    assert torch.equal(out, model.generate(torch.tensor([prompt]), 30, temperature=0.0, stop_token=stop))
    assert out[0, -1].item() == stop


def test_compiled_step_is_one_graph_reused_at_every_step(model):
    graphs = []

    def counting_backend(gm, example_inputs):  # what torch.compile hands a backend: one graph per compilation
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    dec = model.decoder(batch=len(PROMPTS), compile=True, backend=counting_backend)
    out = dec.generate(PROMPTS, 25)
    assert out == [dynamic(model, p, 25) for p in PROMPTS]
    dec.generate(PROMPTS, 12)
    assert len(graphs) == 1, f"the decode step was compiled {len(graphs)} times; its shapes must not change"
    torch._dynamo.reset()


def test_static_cache_keeps_its_shapes_and_each_rows_position(model):
    cache = model.new_cache(2, max_len=16, static=True)
    assert isinstance(cache, StaticKVCache)
    k_before = cache.k
    with torch.no_grad():
        model(torch.tensor([[1, 2, 3], [4, 5, 6]]), cache=cache)
        cache.pos.copy_(torch.tensor([3, 1]))  # the second row's prompt was one token long
        model(torch.tensor([[7], [8]]), cache=cache)
    assert cache.k is k_before and cache.k.shape == (2, 2, 4, 16, 8)
    assert cache.pos.tolist() == [4, 2]
    assert cache.visible(1)[1, 0, 0].tolist() == [True] * 3 + [False] * 13  # the next token, at 2, sees 0..2


def test_bad_use_is_refused_with_what_to_do(model):
    dec = model.decoder(batch=2, max_len=16)
    with pytest.raises(ValueError, match=r"built for batch 2.*decoder\(batch=1\)"):
        dec.generate(torch.tensor([[1, 2]]), 3)
    with pytest.raises(ValueError, match="longer than the static cache"):
        dec.generate(torch.tensor([[1, 2], [3, 4]]), 15)
    with pytest.raises(ValueError, match="at least one token"):
        dec.generate([[1], []], 3)
    with pytest.raises(ValueError, match="max_len"):
        model.decoder(batch=1, max_len=65)
    with pytest.raises(ValueError, match="causal attention only"):
        model(torch.tensor([[1, 2]]), attention_mask=torch.ones(1, 2), cache=model.new_cache(1, static=True))
