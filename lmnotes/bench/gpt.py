"""GPT against Hugging Face ``transformers``' ``GPT2LMHeadModel``: training tokens/s and greedy decoding tokens/s.

Both models are built from the same config with random weights (nothing is downloaded) and run in this
process on the same device: bf16 autocast and fused attention on CUDA, float32 on CPU. Set
``LMNOTES_BENCH_COMPILE=1`` to ``torch.compile`` both models for the training comparison (and our static-cache
decode step). ``LMNOTES_BENCH_DECODE`` picks our decoding: ``dynamic`` (``GPT.generate``, the default),
``static`` (``GPT.decoder``: a static key/value cache, its step compiled and captured as a CUDA graph with
``LMNOTES_BENCH_COMPILE=1`` on a GPU) or ``both``.
"""

from __future__ import annotations

import os

import torch

from ..train import amp_choice
from . import Result, sync, timeit

# A100/H100/H200 dense bf16 peak, for the MFU figure (per GPU).
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def _peak(device) -> float | None:
    if torch.device(device).type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_FLOPS.items() if k in name), None)


def _sizes(device, quick: bool) -> dict:
    if quick or torch.device(device).type != "cuda":
        # tiny: a smoke test on CPU (the ratio still compares like with like)
        return dict(
            vocab_size=1024,
            block_size=128,
            n_layer=2,
            n_head=4,
            d_model=128,
            batch=8,
            T=64,
            gen_prompt=8,
            gen_new=24 if quick else 64,
            gen_batch=16,
            steps=2 if quick else 5,
        )
    return dict(
        vocab_size=50304,
        block_size=1024,
        n_layer=12,
        n_head=12,
        d_model=768,
        batch=16,
        T=1024,
        gen_prompt=16,
        gen_new=256,
        gen_batch=64,
        steps=10,
    )


def _autocast(device):
    # the training loop's choice, for both models: bf16 on a recent GPU, float32 on a CPU
    return amp_choice(torch.device(device)).autocast(torch.device(device))


def _models(s, device):
    from transformers import GPT2Config, GPT2LMHeadModel

    from ..models.gpt import GPT

    hc = GPT2Config(
        vocab_size=s["vocab_size"],
        n_positions=s["block_size"],
        n_embd=s["d_model"],
        n_layer=s["n_layer"],
        n_head=s["n_head"],
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    kw = {"attn_implementation": "sdpa"}
    try:
        hf = GPT2LMHeadModel._from_config(hc, **kw)
    except TypeError:
        hf = GPT2LMHeadModel(hc)
    hf = hf.to(device)
    ours = GPT.from_hf(hf).to(device)
    return ours, hf


def _train_step_fn(model, opt, x, y, device, hf: bool):
    def step():
        with _autocast(device):
            if hf:
                loss = model(input_ids=x, labels=x).loss
            else:
                loss = model(x, targets=y).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def run(device, quick: bool = False, compile: bool | None = None, decode: str | None = None) -> list[Result]:
    """Training tokens/s (batch × T) and greedy generation tokens/s (batch 1 and a large batch), ours vs HF."""
    device = torch.device(device)
    if compile is None:
        compile = os.environ.get("LMNOTES_BENCH_COMPILE", "0") == "1"
    decode = decode or os.environ.get("LMNOTES_BENCH_DECODE", "dynamic")
    if decode not in ("dynamic", "static", "both"):
        raise ValueError(f"decode must be 'dynamic', 'static' or 'both', got {decode!r}")
    s = _sizes(device, quick)
    torch.manual_seed(0)
    ours, hf = _models(s, device)
    B, T = s["batch"], s["T"]
    x = torch.randint(0, s["vocab_size"], (B, T + 1), device=device)
    x, y = x[:, :-1].contiguous(), x[:, 1:].contiguous()
    results = []

    # ---- training: one AdamW step per call (fused AdamW on CUDA for both)
    fused = device.type == "cuda"
    steps = {}
    for name, model in (("ours", ours), ("hf", hf)):
        model.train()
        m = torch.compile(model) if compile else model
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=fused or None)
        fn = _train_step_fn(m, opt, x, y, device, hf=name == "hf")
        steps[name] = timeit(fn, device, warmup=2 if not compile else 3, repeat=s["steps"])
        del opt
    tok_s = {k: B * T / v for k, v in steps.items()}
    n_params = ours.num_params()
    flops_per_token = 6 * n_params + 12 * s["n_layer"] * s["d_model"] * T  # the PaLM formula (matmuls only)
    peak = _peak(device)
    detail = f"{s['n_layer']}L d={s['d_model']} batch {B}x{T}" + (", compiled" if compile else "")
    if peak:
        mfu = {k: v * flops_per_token / peak for k, v in tok_s.items()}
        detail += (
            f", MFU ours {mfu['ours']:.0%} vs {mfu['hf']:.0%} (FLOPs/token = 6N + 12·L·H·Q·T = "
            f"{flops_per_token / 1e9:.2f} G, peak {peak / 1e12:.0f} TFLOP/s)"
        )
    results.append(
        Result("gpt training", tok_s["ours"], tok_s["hf"], "tok/s", "transformers GPT2LMHeadModel", detail)
    )

    # ---- greedy decoding with a key/value cache
    ours.eval(), hf.eval()
    n_new = s["gen_new"]
    for batch in (1, s["gen_batch"]):
        prompt = torch.randint(0, s["vocab_size"], (batch, s["gen_prompt"]), device=device)
        mask = torch.ones_like(prompt)

        @torch.no_grad()
        def gen_ours():
            with _autocast(device):
                ours.generate(prompt, n_new, temperature=0.0)

        @torch.no_grad()
        def gen_hf():
            with _autocast(device):
                hf.generate(
                    prompt,
                    attention_mask=mask,
                    max_new_tokens=n_new,
                    min_new_tokens=n_new,
                    do_sample=False,
                    pad_token_id=0,
                )

        t_hf = timeit(gen_hf, device, warmup=1, repeat=3)
        what = f"{s['gen_prompt']} + {n_new} tokens"
        if decode in ("dynamic", "both"):
            t_ours = timeit(gen_ours, device, warmup=1, repeat=3)
            results.append(
                Result(
                    f"gpt greedy decoding, batch {batch}",
                    batch * n_new / t_ours,
                    batch * n_new / t_hf,
                    "tok/s",
                    "transformers generate",
                    what,
                )
            )
        if decode in ("static", "both"):
            # The cache (in the autocast dtype) and the compiled step are made once, outside the timing.
            dec = ours.decoder(
                batch,
                max_len=s["gen_prompt"] + n_new,
                compile=compile,
                dtype=torch.bfloat16 if device.type == "cuda" else None,
            )

            @torch.no_grad()
            def gen_static():
                with _autocast(device):
                    return dec.generate(prompt, n_new)

            t_static = timeit(gen_static, device, warmup=2 if compile else 1, repeat=3)
            with torch.no_grad(), _autocast(device):
                same = torch.equal(gen_static(), ours.generate(prompt, n_new, temperature=0.0))
            name = f"gpt greedy decoding, batch {batch}, static cache" + (", compiled" if compile else "")
            results.append(
                Result(
                    name,
                    batch * n_new / t_static,
                    batch * n_new / t_hf,
                    "tok/s",
                    "transformers generate",
                    f"{what}; tokens equal generate's: {same}",
                )
            )
    sync(device)
    return results
