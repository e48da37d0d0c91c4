"""What the chapters measure: linear probes, and the per-layer features they read.

Every per-layer feature function returns one shape, ``(L, N, D)``: ``L`` layers (layer 0 is the
context-free token layer), ``N`` words, ``D`` features, on the CPU in float32; ``features[j]`` is
layer ``j``'s ``(N, D)`` matrix, ready for :func:`probe_accuracy`.

A probe is logistic regression on frozen features. A high held-out accuracy says the property is
*linearly decodable* from that layer; comparing layers says where it is easiest to read. Because a
rich probe can memorise labels by itself, Hewitt & Liang (2019) compare with a *control task*: the
same words given random labels (one random label per word type). Selectivity = accuracy on the real
task minus accuracy on the control task; a good probe is selective.

Example::

    X_train = word_features(model, tok, ds["train"]["words"], ds["train"]["target_index"])   # (L, N, D)
    acc = probe_accuracy(X_train[2], y_train, X_test[2], y_test)                             # one layer
    accs = layer_probe({"layer 0": (Xtr0, Xte0), "layer 1": (Xtr1, Xte1)}, ytr, yte)
"""
from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .models.bert import Bert, BertForPreTraining


# ---------------------------------------------------------------------------------------------
# Linear probes and the control task
# ---------------------------------------------------------------------------------------------



def _as_labels(y, name: str) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.dim() != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integer labels, got shape {tuple(y.shape)}")
    if y.is_floating_point():
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    return y.long()


def probe_accuracy(
    train_X,
    train_y,
    test_X,
    test_y,
    *,
    epochs: int = 200,
    lr: float = 0.05,
    weight_decay: float = 1e-3,
    standardize: bool = True,
    device=None,
    seed: int = 0,
) -> float:
    """Fit a logistic-regression probe on ``train_X`` (N, D) -> ``train_y`` (N,); return test accuracy.

    Full-batch AdamW on the cross-entropy; features are standardised with the training mean and
    standard deviation (so one learning rate suits every layer). Runs on ``device`` (default: the
    features' device).

    Example: ``acc = probe_accuracy(torch.randn(100, 8), torch.randint(0, 2, (100,)), Xte, yte)``
    """
    Xtr = torch.as_tensor(train_X).detach().float()
    Xte = torch.as_tensor(test_X).detach().float()
    ytr = _as_labels(train_y, "train_y")
    yte = _as_labels(test_y, "test_y")
    if Xtr.dim() != 2 or Xte.dim() != 2:
        raise ValueError(f"features must be 2-D (N, D), got train_X {tuple(Xtr.shape)} and test_X {tuple(Xte.shape)}")
    if Xtr.shape[1] != Xte.shape[1]:
        raise ValueError(f"train_X has {Xtr.shape[1]} features but test_X has {Xte.shape[1]}")
    if len(Xtr) != len(ytr) or len(Xte) != len(yte):
        raise ValueError(
            f"features and labels must have the same length: train {len(Xtr)} vs {len(ytr)}, test {len(Xte)} vs {len(yte)}"
        )
    if len(Xtr) == 0 or len(Xte) == 0:
        raise ValueError("train and test sets must not be empty")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device) if device is not None else Xtr.device
    Xtr, Xte, ytr, yte = Xtr.to(device), Xte.to(device), ytr.to(device), yte.to(device)
    if standardize:
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
        Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
    n_classes = int(max(ytr.max(), yte.max())) + 1
    g = torch.Generator().manual_seed(seed)
    W = (torch.randn(Xtr.shape[1], n_classes, generator=g) * 0.01).to(device).requires_grad_()
    b = torch.zeros(n_classes, device=device, requires_grad=True)
    opt = torch.optim.AdamW([W, b], lr=lr, weight_decay=weight_decay)
    with torch.enable_grad():
        for _ in range(epochs):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(Xtr @ W + b, ytr).backward()
            opt.step()
    with torch.no_grad():
        return float(((Xte @ W + b).argmax(-1) == yte).float().mean())


def layer_probe(features_by_layer: dict, train_y, test_y, **kwargs) -> dict[str, float]:
    """Probe every layer: ``{name: (train_X (N, D), test_X (M, D))}`` -> ``{name: test accuracy}``.

    Keyword arguments go to :func:`probe_accuracy`.

    Example: ``layer_probe({"layer 0": (Xtr0, Xte0), "layer 1": (Xtr1, Xte1)}, ytr, yte)``
    """
    if not features_by_layer:
        raise ValueError("features_by_layer is empty; give at least one layer as name -> (train_X, test_X)")
    out = {}
    for name, pair in features_by_layer.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"features_by_layer[{name!r}] must be a pair (train_X, test_X)")
        out[name] = probe_accuracy(pair[0], train_y, pair[1], test_y, **kwargs)
    return out


def control_labels(words: Sequence[str], labels: Sequence, seed: int = 0) -> list:
    """A control task (Hewitt & Liang, 2019): each word *type* gets one random label, kept everywhere.

    The labels are drawn from the set of real labels, so the control task has the same label set;
    a probe that scores well on it is memorising word identity, not reading the property.

    Example: ``control_labels(["bank", "bat", "bank"], [0, 1, 1], seed=0)  # e.g. [1, 0, 1]``
    """
    if len(words) != len(labels):
        raise ValueError(f"words and labels must have the same length, got {len(words)} and {len(labels)}")
    labels = [x.item() if hasattr(x, "item") else x for x in labels]
    choices = sorted(set(labels), key=repr)
    rng = random.Random(seed)
    by_word: dict[str, object] = {}
    for w in sorted(set(words)):
        by_word[w] = rng.choice(choices)
    return [by_word[w] for w in words]


# ---------------------------------------------------------------------------------------------
# Per-layer features
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def word_features(model: Bert | BertForPreTraining, tokenizer, sentences: Sequence[Sequence[str]],
                  indices: Sequence[int], batch_size: int = 256) -> torch.Tensor:
    """Hidden states of one word per sentence at every layer of a BERT: (n_layer + 1, N, C), on the CPU.

    ``sentences``: lists of words; ``indices``: which word of each (its first sub-word is read).
    Layer 0 is the embedding layer. The model reads ``[CLS] words [SEP]``.
    Example: ``feats = word_features(model, tok, ds["words"], ds["target_index"])``
    """
    bert = getattr(model, "bert", model)
    device = next(bert.parameters()).device
    was = bert.training
    bert.eval()
    layers: list[list[torch.Tensor]] = []
    for s in range(0, len(sentences), batch_size):
        ids, pos = [], []
        for words, j in zip(sentences[s:s + batch_size], indices[s:s + batch_size]):
            seq, where = [tokenizer.cls_id], None
            for w_i, w in enumerate(words):
                if w_i == j:
                    where = len(seq)
                seq += tokenizer.encode(w)
            if where is None:
                raise ValueError(f"index {j} is outside a sentence of {len(words)} words")
            ids.append(seq + [tokenizer.sep_id])
            pos.append(where)
        T = max(map(len, ids))
        x = torch.full((len(ids), T), tokenizer.pad_id, dtype=torch.long)
        m = torch.zeros_like(x)
        for n, seq in enumerate(ids):
            x[n, :len(seq)] = torch.tensor(seq)
            m[n, :len(seq)] = 1
        out = bert(x.to(device), attention_mask=m.to(device), output_hidden_states=True)
        rows = torch.arange(len(ids))
        for layer, h in enumerate(out.hidden_states):
            if len(layers) <= layer:
                layers.append([])
            layers[layer].append(h[rows, torch.tensor(pos)].float().cpu())
    bert.train(was)
    return torch.stack([torch.cat(x) for x in layers])  # (L, N, C)
