"""BERT pretraining (MLM + NSP) against Hugging Face ``transformers``' ``BertForPreTraining``: tokens/s.

Both models are built from the same config with random weights (nothing is downloaded), loaded with the
same weights, and trained on the same batch in this process: bf16 autocast and fused attention on CUDA,
float32 on CPU. One step = forward, loss (15% of the tokens masked, an NSP label per pair), backward,
AdamW. Our MLM head computes logits only at the masked positions (as the original BERT did); the
Hugging Face model computes them at every position and lets the loss ignore most of them.
"""

from __future__ import annotations

import torch

from ..data.tokenizers import SPECIAL_TOKENS, Tokenizer
from ..models.bert import BertForPreTraining
from ..recipes.bert import mask_tokens
from ..train import amp_choice
from . import Result, timeit


def _sizes(device, quick: bool) -> dict:
    if quick or torch.device(device).type != "cuda":
        return dict(
            vocab_size=1024,
            max_position=128,
            d_model=128,
            n_layer=2,
            n_head=4,
            d_ff=512,
            batch=8,
            T=64,
            steps=2 if quick else 5,
        )
    # bert-base, batch 32 x 512 (the design's performance anchor)
    return dict(
        vocab_size=30522,
        max_position=512,
        d_model=768,
        n_layer=12,
        n_head=12,
        d_ff=3072,
        batch=32,
        T=512,
        steps=10,
    )


def _models(s, device):
    import transformers

    hc = transformers.BertConfig(
        vocab_size=s["vocab_size"],
        hidden_size=s["d_model"],
        num_hidden_layers=s["n_layer"],
        num_attention_heads=s["n_head"],
        intermediate_size=s["d_ff"],
        max_position_embeddings=s["max_position"],
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    try:
        hf = transformers.BertForPreTraining._from_config(hc, attn_implementation="sdpa")
    except (TypeError, ValueError):
        hf = transformers.BertForPreTraining(hc)
    ours = BertForPreTraining.from_hf(hf)
    return ours.to(device).train(), hf.to(device).train()


def run(device, quick: bool = False) -> list[Result]:
    """Pretraining tokens/s (batch × T per step), ours vs ``transformers.BertForPreTraining``."""
    device = torch.device(device)
    s = _sizes(device, quick)
    torch.manual_seed(0)
    ours, hf = _models(s, device)
    B, T = s["batch"], s["T"]
    n_special = len(
        SPECIAL_TOKENS
    )  # ids 0 .. n_special - 1 are the special tokens of every lmnotes tokenizer
    ids = torch.randint(n_special, s["vocab_size"], (B, T))
    # [CLS] A [SEP] B [SEP]
    ids[:, 0], ids[:, T // 2], ids[:, -1] = Tokenizer.cls_id, Tokenizer.sep_id, Tokenizer.sep_id
    seg = torch.zeros_like(ids)
    seg[:, T // 2 + 1 :] = 1
    masked, labels = mask_tokens(
        ids,
        mask_id=Tokenizer.mask_id,
        vocab_size=s["vocab_size"],
        special_ids=range(n_special),
        generator=torch.Generator().manual_seed(0),
    )
    nsp = torch.randint(0, 2, (B,))
    masked, labels, seg, nsp = (t.to(device) for t in (masked, labels, seg, nsp))
    mask = torch.ones_like(masked)
    fused = device.type == "cuda"

    def step_fn(model, hf_model: bool):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=fused or None)

        def step():
            with amp_choice(device).autocast(device):  # the training loop's mixed precision
                if hf_model:
                    loss = model(
                        input_ids=masked,
                        token_type_ids=seg,
                        attention_mask=mask,
                        labels=labels,
                        next_sentence_label=nsp,
                    ).loss
                else:
                    loss = model(masked, seg, mask, mlm_labels=labels, nsp_labels=nsp).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        return step

    secs = {
        "ours": timeit(step_fn(ours, False), device, warmup=2, repeat=s["steps"]),
        "hf": timeit(step_fn(hf, True), device, warmup=2, repeat=s["steps"]),
    }
    tok_s = {k: B * T / v for k, v in secs.items()}
    detail = f"{s['n_layer']}L d={s['d_model']} batch {B}x{T}, MLM+NSP" + (
        ", bf16" if device.type == "cuda" else ""
    )
    return [
        Result(
            "bert pretraining", tok_s["ours"], tok_s["hf"], "tok/s", "transformers BertForPreTraining", detail
        )
    ]
