"""How the book pretrains ELMo's biLM on the world: batches of sentences, perplexity, the elmo-world recipe.

Example::

    model, tok = pretrain({**ELMO_WORLD, "steps": 50})
    perplexity(model, tok, ds["validation"]["text"])        # {"forward": ..., "backward": ...}
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data import corpus
from ..data.tokenizers import ELMoTokenizer
from ..models.elmo import BiLM, ELMoConfig, lm_targets
from ..train import fit
from ..utils import eval_mode
from ..zoo import register

# ---------------------------------------------------------------------------------------------
# Batches and perplexity
# ---------------------------------------------------------------------------------------------


def lm_batches(tok: ELMoTokenizer, sentences, batch_size: int = 64, seed: int = 0):
    """``get_batch(step) -> {"char_ids", "word_ids", "lengths"}`` over ``sentences``, for :func:`lmnotes.train.fit`.

    Sentences are encoded once; each step draws ``batch_size`` of them (a fresh shuffle every epoch,
    fixed by ``seed``) and trims the padding to the longest one.
    Example: ``fit(model, lm_batches(tok, texts), steps=100)``
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    data = tok.batch(list(sentences))
    n = len(data["lengths"])
    g = torch.Generator().manual_seed(seed)
    per_epoch = max(1, n // batch_size)
    orders: dict[int, torch.Tensor] = {}

    def get_batch(step: int) -> dict:
        epoch, i = divmod(step, per_epoch)
        if epoch not in orders:
            orders.clear()
            orders[epoch] = torch.randperm(n, generator=g)
        idx = orders[epoch][i * batch_size : (i + 1) * batch_size]
        T = int(data["lengths"][idx].max())
        return {
            "char_ids": data["char_ids"][idx, :T],
            "word_ids": data["word_ids"][idx, :T],
            "lengths": data["lengths"][idx],
        }

    return get_batch


@torch.no_grad()
def perplexity(model: BiLM, tok: ELMoTokenizer, sentences, batch_size: int = 256) -> dict[str, float]:
    """Token-level perplexity of each direction on ``sentences``: ``{"forward": .., "backward": ..}``.

    Every word and the sentence end (forward) or start (backward) are predicted once.
    Example: ``perplexity(model, tok, ds["validation"]["text"])``
    """
    device = next(model.parameters()).device
    sentences = list(sentences)
    total = {"forward": 0.0, "backward": 0.0}
    count = 0
    with eval_mode(model):
        for i in range(0, len(sentences), batch_size):
            b = tok.batch(sentences[i : i + batch_size])
            out = model(b["char_ids"].to(device), lengths=b["lengths"].to(device))
            f_logits, b_logits = out.forward_logits, out.backward_logits  # (B, T, V) each
            f_t, b_t = (t.to(device) for t in lm_targets(b["word_ids"]))
            V = f_logits.shape[-1]
            total["forward"] += F.cross_entropy(
                f_logits.float().reshape(-1, V), f_t.reshape(-1), ignore_index=0, reduction="sum"
            ).item()
            total["backward"] += F.cross_entropy(
                b_logits.float().reshape(-1, V), b_t.reshape(-1), ignore_index=0, reduction="sum"
            ).item()
            count += int((f_t != 0).sum())
    return {k: math.exp(v / count) for k, v in total.items()}


# ---------------------------------------------------------------------------------------------
# The pretrained biLM the chapter reuses
# ---------------------------------------------------------------------------------------------


ELMO_WORLD = {"n_sentences": 4000, "d": 64, "steps": 600, "batch_size": 32, "lr": 3e-3, "seed": 0}


def pretrain(config: dict, progress: bool = True):
    """Train a :class:`BiLM` on the world's general corpus; returns ``(model, tokenizer)``.

    The model carries ``model.history`` (the training curves, a ``History.to_dict()``) and
    ``model.perplexity`` (validation perplexity of each direction). Deterministic for a given config.
    Example: ``model, tok = pretrain({**ELMO_WORLD, "steps": 50})``
    """
    torch.manual_seed(config["seed"])
    ds = corpus(config["n_sentences"], seed=config["seed"])
    tok = ELMoTokenizer().train(ds["train"]["text"])
    model = BiLM(
        ELMoConfig(
            vocab_size=tok.vocab_size, n_chars=tok.n_chars, max_word_len=tok.max_word_len, d=config["d"]
        )
    )
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    model.to(device)
    val = ds["validation"]["text"]

    def eval_fn(m):
        ppl = perplexity(m, tok, val)
        return {"forward_ppl": ppl["forward"], "backward_ppl": ppl["backward"]}

    history = fit(
        model,
        lm_batches(tok, ds["train"]["text"], config["batch_size"], config["seed"]),
        steps=config["steps"],
        lr=config["lr"],
        weight_decay=0.01,
        warmup=0.05,
        eval_fn=eval_fn,
        eval_every=max(1, config["steps"] // 8),
        progress=progress,
        desc="biLM pretraining",
    )
    model.history = history.to_dict()
    model.perplexity = perplexity(model, tok, val)
    return model.cpu().eval(), tok


register("elmo-world", config=ELMO_WORLD)(pretrain)
