"""ELMo: biLM training throughput against a plain stack of ``torch.nn.LSTM`` of the same sizes.

The reference is the ceiling for this architecture: an embedding table, one ``nn.LSTM`` with two
bidirectional layers (cuDNN runs both directions and both layers in one call) and a softmax. Ours
adds what ELMo needs on top: a character CNN with highways instead of a lookup table, separate
forward and backward stacks with a residual connection, and padding-aware reversal. The ratio says
what those cost. Tokens/s counts every position of every batch (padding included, the same for both).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.elmo import BiLM, ELMoConfig, lm_targets
from ..train import amp_choice
from . import Result, timeit


class PlainBiLSTMLM(nn.Module):
    """Embedding -> nn.LSTM(2 layers, bidirectional) -> one shared softmax; the same loss as :class:`BiLM`."""

    def __init__(self, vocab_size: int, d: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d)
        self.lstm = nn.LSTM(d, d, num_layers=2, bidirectional=True, batch_first=True)
        self.softmax = nn.Linear(d, vocab_size)

    def forward(self, word_ids):
        h, _ = self.lstm(self.embedding(word_ids))  # (B, T, 2d)
        d = h.shape[-1] // 2
        f_t, b_t = lm_targets(word_ids)
        V = self.softmax.out_features
        f = F.cross_entropy(self.softmax(h[..., :d]).float().reshape(-1, V), f_t.reshape(-1), ignore_index=0)
        b = F.cross_entropy(self.softmax(h[..., d:]).float().reshape(-1, V), b_t.reshape(-1), ignore_index=0)
        return (f + b) / 2


def run(device, quick: bool = False) -> list[Result]:
    device = torch.device(device)
    cuda = device.type == "cuda"
    if quick:
        B, T, d, V = 16, 12, 32, 200
    elif cuda:
        B, T, d, V = 128, 64, 512, 10000
    else:
        B, T, d, V = 32, 20, 128, 2000
    W = 16
    g = torch.Generator().manual_seed(0)
    word_ids = torch.randint(7, V, (B, T), generator=g)
    word_ids[:, 0], word_ids[:, -1] = 5, 6
    # one distinct character spelling per word id, so the CharCNN sees as many distinct words as the table
    spell = torch.randint(6, 40, (V, W), generator=g)
    spell[:, 0], spell[:, -1] = 2, 3
    char_ids = spell[word_ids]
    word_ids, char_ids = word_ids.to(device), char_ids.to(device)

    ours = BiLM(ELMoConfig(vocab_size=V, n_chars=40, max_word_len=W, d=d, dropout=0.0)).to(device)
    theirs = PlainBiLSTMLM(V, d).to(device)
    amp = amp_choice(device).autocast(device)  # the training loop's mixed precision: bf16 on a recent GPU

    def step(model, opt, *args):
        def go():
            with amp:
                out = model(*args)
            loss = (
                out if torch.is_tensor(out) else out.loss
            )  # ours returns a BiLMOutput, the reference a loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        return go

    opt_o = torch.optim.AdamW(ours.parameters(), lr=1e-3)
    opt_t = torch.optim.AdamW(theirs.parameters(), lr=1e-3)
    repeat = 3 if quick else 10
    t_ours = timeit(step(ours, opt_o, char_ids, word_ids), device, warmup=2, repeat=repeat)
    t_theirs = timeit(step(theirs, opt_t, word_ids), device, warmup=2, repeat=repeat)
    tokens = B * T
    return [
        Result(
            "elmo biLM training",
            tokens / t_ours,
            tokens / t_theirs,
            "tok/s",
            "torch.nn.LSTM stack (2 layers, bidirectional)",
            f"B={B} T={T} d={d} V={V}{' bf16' if cuda else ''}",
        )
    ]
